"""perdure.sdk.offload: inline vs reference, blob integrity, idempotent keys, previews, stores."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perdure.sdk.errors import RetryableSerDesError, SerDesError
from perdure.sdk.offload import (
    DEFAULT_THRESHOLD_BYTES,
    BlobNotFoundError,
    BlobReference,
    BlobStore,
    LocalDirectoryBlobStore,
    OffloadSerDes,
    blob_key,
    default_blob_directory,
)
from perdure.sdk.serdes import (
    EXTENDED_TYPES_SERDES,
    JsonSerDes,
    PassThroughSerDes,
    SerDesContext,
    deserialize,
    serialize,
)
from perdure.wire.limits import MAX_OPERATION_PAYLOAD_BYTES

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST/durable-execution/run-7/abc123"
CTX = SerDesContext(operation_id="op-1", durable_execution_arn=ARN)


class MemoryStore:
    """A `BlobStore` by shape: a dict, counting calls."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.puts = 0
        self.gets = 0
        self.lock = threading.Lock()

    def put(self, key: str, data: bytes) -> str:
        with self.lock:
            self.puts += 1
            self.blobs[f"mem://{key}"] = data
        return f"mem://{key}"

    def get(self, ref: str) -> bytes:
        with self.lock:
            self.gets += 1
            try:
                return self.blobs[ref]
            except KeyError:
                raise BlobNotFoundError(ref) from None

    def delete(self, ref: str) -> None:
        self.blobs.pop(ref, None)


def _fresh(serdes: OffloadSerDes[Any]) -> OffloadSerDes[Any]:
    """Another serdes over the same store (no per-thread cache of the last write)."""
    return OffloadSerDes(serdes.inner, serdes.store, threshold_bytes=serdes.threshold_bytes)


def _big(n: int = 300_000) -> dict[str, Any]:
    return {"rows": ["x" * 100] * (n // 100), "id": 7}


# ------------------------------------------------------------------- inline / offload


def test_small_values_stay_inline_exactly_as_the_inner_serdes_writes_them(tmp_path: Path) -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=LocalDirectoryBlobStore(tmp_path))
    for value in (1, "two", [1, 2], {"a": 1}, None, b"bytes"):
        payload = serdes.serialize(value, CTX)
        assert payload == EXTENDED_TYPES_SERDES.serialize(value, CTX)
        assert serdes.deserialize(payload, CTX) == value
    assert not any(tmp_path.iterdir())


def test_a_large_value_is_offloaded_and_read_back(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store)
    value = _big()
    payload = serdes.serialize(value, CTX)
    reference = BlobReference.from_payload(payload)
    assert reference is not None
    assert len(payload) < 400
    record = json.loads(payload)
    assert list(record) == ["perdure.blob", "sha256", "size"]
    text = EXTENDED_TYPES_SERDES.serialize(value, CTX)
    assert record["size"] == len(text.encode())
    assert (tmp_path / reference.ref).read_text() == text
    assert reference.ref.startswith("orders/run-7-") and "/op-1/" in reference.ref
    assert _fresh(serdes).deserialize(payload, CTX) == value
    assert serdes.deserialize(payload, CTX) == value


def test_threshold_is_inclusive_and_measured_in_utf8_bytes() -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(PassThroughSerDes(), store, threshold_bytes=10)
    assert serdes.serialize("a" * 10, CTX) == "a" * 10
    assert BlobReference.from_payload(serdes.serialize("a" * 11, CTX)) is not None
    assert BlobReference.from_payload(serdes.serialize("é" * 6, CTX)) is not None  # 12 bytes
    assert serdes.serialize("é" * 5, CTX) == "é" * 5  # 10 bytes


def test_default_threshold_leaves_room_under_the_payload_limit() -> None:
    assert DEFAULT_THRESHOLD_BYTES == MAX_OPERATION_PAYLOAD_BYTES - 1024
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(PassThroughSerDes(), store)
    assert serdes.serialize("a" * DEFAULT_THRESHOLD_BYTES, CTX) == "a" * DEFAULT_THRESHOLD_BYTES
    assert store.puts == 0
    serdes.serialize("a" * (DEFAULT_THRESHOLD_BYTES + 1), CTX)
    assert store.puts == 1


def test_always_offloads_every_value() -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store, always=True)
    payload = serdes.serialize(5, CTX)
    assert payload.startswith('{"perdure.blob":')
    assert _fresh(serdes).deserialize(payload, CTX) == 5
    assert store.gets == 1


def test_none_from_a_pass_through_serdes_is_not_stored() -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(PassThroughSerDes(), store, always=True)
    assert serdes.serialize(None, CTX) is None
    assert serdes.deserialize(None, CTX) is None  # type: ignore[arg-type]
    assert store.puts == 0


def test_the_round_trip_right_after_a_write_does_not_read_the_store_again() -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store)
    payload = serdes.serialize(_big(), CTX)
    assert serdes.deserialize(payload, CTX) == _big()
    assert store.gets == 0
    assert serdes.deserialize(payload, CTX) == _big()  # the cache is read once
    assert store.gets == 1


# ---------------------------------------------------------------------- idempotency


def test_a_retried_write_of_the_same_value_uses_the_same_key(tmp_path: Path) -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=LocalDirectoryBlobStore(tmp_path))
    first = serdes.serialize(_big(), CTX)
    second = serdes.serialize(_big(), CTX)
    assert first == second
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1
    assert not files[0].name.startswith(".tmp-")


def test_keys_differ_by_execution_operation_and_content() -> None:
    digest = "0" * 64
    other_arn = ARN.replace("run-7", "run-8")
    keys = {
        blob_key(ARN, "op-1", digest),
        blob_key(other_arn, "op-1", digest),
        blob_key(ARN, "op-2", digest),
        blob_key(ARN, "op-1", "1" * 64),
    }
    assert len(keys) == 4
    assert blob_key(ARN, "op-1", digest) == blob_key(ARN, "op-1", digest)


def test_keys_for_unparsed_arns_and_odd_operation_ids_are_still_safe() -> None:
    key = blob_key("not an arn", "a/../b", "f" * 64)
    segments = key.split("/")
    assert segments[0] == "_"
    assert all(s not in ("", ".", "..") for s in segments)
    LocalDirectoryBlobStore("/nonexistent")._file(key)  # a valid key


def test_the_local_store_refuses_keys_that_escape_its_directory(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)
    for key in ("../x", "a/../../x", "/abs", "a//b", ""):
        with pytest.raises(ValueError):
            store.put(key, b"x")
    with pytest.raises(ValueError):
        store.get("../etc/passwd")


def test_the_local_store_deletes_and_reports_missing_blobs(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path, fsync=False)
    ref = store.put("a/b/c", b"data")
    assert store.get(ref) == b"data"
    store.delete(ref)
    store.delete(ref)
    with pytest.raises(BlobNotFoundError):
        store.get(ref)


def test_stores_satisfy_the_protocol_by_shape(tmp_path: Path) -> None:
    assert isinstance(LocalDirectoryBlobStore(tmp_path), BlobStore)
    assert isinstance(MemoryStore(), BlobStore)


def test_the_default_store_is_a_local_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERDURE_BLOB_DIR", str(tmp_path / "blobs"))
    assert default_blob_directory() == (tmp_path / "blobs").resolve()
    serdes: OffloadSerDes[Any] = OffloadSerDes(always=True)
    assert isinstance(serdes.store, LocalDirectoryBlobStore)
    assert serdes.store.path == (tmp_path / "blobs").resolve()
    monkeypatch.delenv("PERDURE_BLOB_DIR")
    monkeypatch.chdir(tmp_path)
    assert default_blob_directory() == (tmp_path / ".perdure" / "blobs").resolve()


# ------------------------------------------------------------------------ integrity


def test_a_missing_blob_is_a_serdes_error_naming_the_reference_and_the_operation(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store)
    payload = serdes.serialize(_big(), CTX)
    reference = BlobReference.from_payload(payload)
    assert reference is not None
    store.delete(reference.ref)
    with pytest.raises(SerDesError) as caught:
        _fresh(serdes).deserialize(payload, CTX)
    message = str(caught.value)
    assert reference.ref in message and "op-1" in message and "missing" in message


def test_an_altered_blob_is_a_serdes_error_never_a_wrong_value(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store)
    payload = serdes.serialize(_big(), CTX)
    reference = BlobReference.from_payload(payload)
    assert reference is not None
    path = tmp_path / reference.ref
    original = path.read_text()
    path.write_text(original.replace('"id":{"t":"i","v":7}', '"id":{"t":"i","v":8}'))
    assert len(path.read_bytes()) == reference.size  # same size, different content
    with pytest.raises(SerDesError) as caught:
        _fresh(serdes).deserialize(payload, CTX)
    message = str(caught.value)
    assert "altered" in message and reference.ref in message and "op-1" in message
    assert reference.sha256 in message


def test_a_truncated_blob_is_detected_by_its_size() -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store, always=True)
    payload = serdes.serialize("value", CTX)
    (ref,) = store.blobs
    store.blobs[ref] = store.blobs[ref][:-1]
    with pytest.raises(SerDesError, match="altered"):
        _fresh(serdes).deserialize(payload, CTX)


def test_errors_through_the_operation_helpers_name_the_operation() -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store, always=True)
    payload = serialize(serdes, {"k": 1}, "op-9", ARN)
    store.blobs.clear()
    with pytest.raises(SerDesError, match="op-9"):
        deserialize(_fresh(serdes), payload, "op-9", ARN)


def test_a_malformed_reference_is_a_serdes_error() -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=MemoryStore())
    for payload in ('{"perdure.blob":1,"sha256":"x","size":1}', '{"perdure.blob":"r"}', '{"perdure.blob":'):
        with pytest.raises(SerDesError, match="malformed blob reference"):
            serdes.deserialize(payload, CTX)


# ----------------------------------------------------------------- unambiguous forms


@pytest.mark.parametrize(
    "value",
    [
        {"perdure.blob": "orders/x", "sha256": "0" * 64, "size": 3},
        {"perdure.inline": "1"},
        {"perdure.inline": '{"perdure.blob":"x"}'},
    ],
)
def test_values_that_look_like_references_stay_values(value: dict[str, Any]) -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(JsonSerDes(), store, threshold_bytes=1000)
    payload = serdes.serialize(value, CTX)
    assert BlobReference.from_payload(payload) is None
    assert serdes.deserialize(payload, CTX) == value
    assert store.puts == 0


def test_non_json_text_that_starts_like_a_reference_round_trips() -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(PassThroughSerDes(), MemoryStore(), threshold_bytes=1000)
    for text in ('{"perdure.blob": broken', '{"perdure.inline":', "plain"):
        payload = serdes.serialize(text, CTX)
        assert serdes.deserialize(payload, CTX) == text


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=40),
        st.builds(lambda s: '{"perdure.blob":' + s, st.text(max_size=20)),
        st.builds(lambda s: '{"perdure.inline":' + s, st.text(max_size=20)),
    ),
    threshold=st.integers(0, 60),
    always=st.booleans(),
)
def test_every_text_round_trips_whatever_the_mode(text: str, threshold: int, always: bool) -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(
        PassThroughSerDes(), store, threshold_bytes=threshold, always=always
    )
    payload = serdes.serialize(text, CTX)
    assert _fresh(serdes).deserialize(payload, CTX) == text
    assert (BlobReference.from_payload(payload) is not None) == (store.puts == 1)


# ---------------------------------------------------------------------------- preview


def test_a_preview_is_recorded_in_the_reference() -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(
        store=MemoryStore(), preview=lambda v: {"id": v["id"], "rows": len(v["rows"])}
    )
    payload = serdes.serialize(_big(), CTX)
    reference = BlobReference.from_payload(payload)
    assert reference is not None
    assert reference.preview == {"id": 7, "rows": 3000}
    assert reference.preview_error is None


def test_a_preview_over_budget_or_failing_is_left_out_with_the_reason() -> None:
    def boom(value: Any) -> Any:
        raise KeyError("nope")

    for preview, reason in ((lambda v: "p" * 5000, "over the 4096-byte budget"), (boom, "KeyError")):
        serdes: OffloadSerDes[Any] = OffloadSerDes(store=MemoryStore(), always=True, preview=preview)
        payload = serdes.serialize(1, CTX)
        reference = BlobReference.from_payload(payload)
        assert reference is not None and reference.preview is None
        assert reason in (reference.preview_error or "")
        assert _fresh(serdes).deserialize(payload, CTX) == 1


def test_a_preview_is_not_computed_for_inline_values() -> None:
    calls: list[Any] = []
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=MemoryStore(), preview=calls.append)
    serdes.serialize({"small": True}, CTX)
    assert calls == []


# --------------------------------------------------------------------- store failures


class FailingStore(MemoryStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def put(self, key: str, data: bytes) -> str:
        raise self.error

    def get(self, ref: str) -> bytes:
        raise self.error


def test_a_store_may_ask_for_a_retry() -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(
        store=FailingStore(RetryableSerDesError("throttled")), always=True
    )
    with pytest.raises(RetryableSerDesError):
        serdes.serialize(1, CTX)
    with pytest.raises(RetryableSerDesError):
        serdes.deserialize('{"perdure.blob":"r","sha256":"x","size":1}', CTX)


def test_other_store_failures_are_permanent_serdes_errors() -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=FailingStore(OSError("disk full")), always=True)
    with pytest.raises(SerDesError, match=r"could not write blob .*op-1.*disk full"):
        serdes.serialize(1, CTX)
    with pytest.raises(SerDesError, match=r"could not read blob 'r' of operation 'op-1'.*disk full"):
        serdes.deserialize('{"perdure.blob":"r","sha256":"x","size":1}', CTX)


def test_a_huge_reference_from_a_store_is_refused() -> None:
    class LongRefStore(MemoryStore):
        def put(self, key: str, data: bytes) -> str:
            return "r" * MAX_OPERATION_PAYLOAD_BYTES

    serdes: OffloadSerDes[Any] = OffloadSerDes(store=LongRefStore(), always=True)
    with pytest.raises(SerDesError, match="blob reference"):
        serdes.serialize(1, CTX)


# ------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("threshold", [-1, MAX_OPERATION_PAYLOAD_BYTES + 1])
def test_threshold_out_of_range_is_refused(threshold: int) -> None:
    with pytest.raises(ValueError, match="threshold_bytes"):
        OffloadSerDes(store=MemoryStore(), threshold_bytes=threshold)


def test_concurrent_writers_share_one_store(tmp_path: Path) -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=LocalDirectoryBlobStore(tmp_path, fsync=False))
    results: dict[int, Any] = {}

    def work(i: int) -> None:
        ctx = SerDesContext(f"op-{i}", ARN)
        value = {"i": i, "data": "y" * 270_000}
        payload = serdes.serialize(value, ctx)
        results[i] = (
            serdes.deserialize(payload, ctx) == value and _fresh(serdes).deserialize(payload, ctx) == value
        )

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == dict.fromkeys(range(8), True)


# ------------------------------------------------------- values crossing executions


@pytest.mark.parametrize("value", [5, "small", {"a": (1, 2)}, _big()])
def test_dump_and_load_carry_a_value_through_parsed_json(value: Any) -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store)
    dumped = serdes.dump(value)
    # What an invoke payload/result or an execution result goes through.
    received = json.loads(json.dumps(dumped))
    assert len(json.dumps(received)) < 100_000
    assert _fresh(serdes).load(received) == value
    # A reference written with json.dumps' default separators is still a reference.
    assert _fresh(serdes).deserialize(json.dumps(dumped), CTX) == value


def test_dump_needs_an_inner_serdes_that_writes_json() -> None:
    serdes: OffloadSerDes[Any] = OffloadSerDes(PassThroughSerDes(), MemoryStore())
    with pytest.raises(SerDesError, match="JSON"):
        serdes.dump("not json")


def test_a_reference_is_recognised_with_or_without_spaces_after_its_first_key() -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=store, always=True)
    payload = serdes.serialize({"k": "v"}, CTX)
    spaced = json.dumps(json.loads(payload))
    assert spaced.startswith('{"perdure.blob": ')
    assert BlobReference.from_payload(spaced) == BlobReference.from_payload(payload)
    assert _fresh(serdes).deserialize(spaced, CTX) == {"k": "v"}


def test_a_json_value_with_a_similar_first_key_is_not_escaped() -> None:
    store = MemoryStore()
    serdes: OffloadSerDes[Any] = OffloadSerDes(JsonSerDes(), store, threshold_bytes=1000)
    for value in ({"perdure.blobby": 1}, {"perdure": {"blob": 1}}):
        payload = serdes.serialize(value, CTX)
        assert payload == json.dumps(value)
        assert serdes.deserialize(payload, CTX) == value
