"""Offloading serdes: large values go to a blob store, the checkpoint keeps a reference.

Owns `OffloadSerDes`, the `BlobStore` Protocol, `LocalDirectoryBlobStore` (the default
store), `BlobReference` and `BlobNotFoundError`. Imports only `perdure.wire`, the other
`perdure.sdk` modules and the standard library; a store for object storage is a small
class that satisfies `BlobStore` by shape (docs/large-payloads.md sketches one for S3).

A checkpoint payload written by `OffloadSerDes` is one of three forms, told apart by
their first characters, so no value can be mistaken for a reference:

- the inner serdes' text, unchanged (a small value: the common case);
- ``{"perdure.blob":"<ref>","sha256":"<hex>","size":<n>,"preview":...}``: a reference to
  a blob holding the inner serdes' text (UTF-8), its content hash and size, and an
  optional small JSON preview for people reading the history;
- ``{"perdure.inline":"<text>"}``: an inline value whose own text happens to start like
  one of these two forms (only then), escaped.

The prefixes are ``{"perdure.blob"`` and ``{"perdure.inline"`` without what follows, so
a reference survives a `json.loads`/`json.dumps` round trip (an invoke payload or result,
an execution input or result): `OffloadSerDes.dump` and `load` carry values across those.

Reading a reference fetches the blob and checks its size and SHA-256 before the inner
serdes sees it: a missing or altered blob raises `SerDesError` naming the reference and
the operation, never a wrong value. Blob keys are derived from the execution ARN, the
operation id and the content hash, so a retried write of the same value is idempotent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from perdure.wire.fast_init import value_type
from perdure.wire.limits import MAX_OPERATION_PAYLOAD_BYTES, size_over
from perdure.wire.types import DurableExecutionArn

from .errors import RetryableSerDesError, SerDesError
from .serdes import EXTENDED_TYPES_SERDES, SerDes, SerDesContext

T = TypeVar("T")

DEFAULT_THRESHOLD_BYTES = MAX_OPERATION_PAYLOAD_BYTES - 1024
"""Inline values up to 255 KiB; the 1 KiB reserve keeps escaping and envelopes under 256 KiB."""

DEFAULT_MAX_PREVIEW_BYTES = 4096
"""The budget for a preview's compact JSON; a larger preview is left out of the reference."""

BLOB_DIR_ENV = "PERDURE_BLOB_DIR"
"""Overrides the default blob directory (`.perdure/blobs` under the working directory)."""

_REF_KEY = "perdure.blob"
_INLINE_KEY = "perdure.inline"
# Without the colon: `json.dumps` with its default separators writes `{"perdure.blob": ...`.
_REF_PREFIX = '{"perdure.blob"'
_INLINE_PREFIX = '{"perdure.inline"'
_COMPACT = (",", ":")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_.-]{1,255}")


class BlobNotFoundError(LookupError):
    """Raised by `BlobStore.get` when no blob exists for the reference."""


@runtime_checkable
class BlobStore(Protocol):
    """Where offloaded values live: a local directory, object storage, a database...

    Implementations must be safe to call from several threads (map and parallel branches
    serialize concurrently). `put` must be idempotent for the same key and data: a step
    that is retried, or an invocation that is re-run, writes the same key again. To have a
    failure retried with the invocation instead of failing the operation for good (a
    throttled or unreachable service), raise `RetryableSerDesError`; any other exception
    becomes a permanent `SerDesError`.
    """

    def put(self, key: str, data: bytes) -> str:
        """Store `data` under `key` (segments of ``[A-Za-z0-9_.-]`` joined by ``/``).

        Returns:
            The reference to record in the checkpoint (at most a few hundred characters).
        """
        ...

    def get(self, ref: str) -> bytes:
        """The data stored for `ref`.

        Raises:
            BlobNotFoundError: there is no such blob.
        """
        ...

    def delete(self, ref: str) -> None:
        """Remove the blob for `ref`; removing a missing blob is not an error."""
        ...


class LocalDirectoryBlobStore:
    """A `BlobStore` in a local directory: one file per blob, written atomically.

    A write goes to a temporary file in the target directory, is flushed to disk
    (unless `fsync` is off) and renamed over the final name, so a reader sees either no
    blob or the whole blob. The reference is the key itself, relative to `path`, so the
    directory can be moved or mounted elsewhere.

    Note that a directory only serves the machines that mount it: on AWS Lambda use a
    shared file system (EFS) or object storage, never ``/tmp``.

    Args:
        path: the directory (created on first write).
        fsync: flush each blob and its directory entry to disk before the checkpoint that
            references it is written. Turning it off risks a checkpoint that survives a
            power loss while its blob does not.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path).resolve()
        self.fsync = fsync

    def __repr__(self) -> str:
        return f"LocalDirectoryBlobStore({str(self.path)!r})"

    def _file(self, key: str) -> Path:
        segments = key.split("/")
        if not all(_SAFE_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments):
            raise ValueError(f"not a valid blob key: {key!r}")
        return self.path.joinpath(*segments)

    def put(self, key: str, data: bytes) -> str:
        """Write `data` under `key` atomically and return `key` as the reference."""
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        if self.fsync:
            _fsync_directory(target.parent)
        return key

    def get(self, ref: str) -> bytes:
        """The blob for `ref`.

        Raises:
            BlobNotFoundError: no file exists for `ref`.
        """
        try:
            return self._file(ref).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(f"no blob {ref!r} in {self.path}") from None

    def delete(self, ref: str) -> None:
        """Remove the blob for `ref` (a missing blob is ignored)."""
        self._file(ref).unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is; not every platform lets a
    # directory be opened for this (Windows), and there the file's own fsync must do.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@value_type
class BlobReference:
    """What a checkpoint records for an offloaded value.

    Attributes:
        ref: the blob store's reference.
        sha256: the hex SHA-256 of the blob (the inner serdes' text, UTF-8).
        size: the blob's size in bytes.
        preview: the optional JSON preview of the value.
        preview_error: why the preview was left out, if it was.
    """

    ref: str
    sha256: str
    size: int
    preview: Any = None
    preview_error: str | None = None

    def to_payload(self) -> str:
        """The checkpoint payload (compact JSON; the reference member comes first)."""
        record: dict[str, Any] = {_REF_KEY: self.ref, "sha256": self.sha256, "size": self.size}
        if self.preview is not None:
            record["preview"] = self.preview
        if self.preview_error is not None:
            record["preview_error"] = self.preview_error
        return json.dumps(record, separators=_COMPACT, ensure_ascii=False)

    @classmethod
    def from_payload(cls, payload: str | None) -> BlobReference | None:
        """The reference in `payload`, or None when `payload` holds an inline value.

        Raises:
            SerDesError: `payload` starts like a reference but is not a valid one.
        """
        if payload is None or not payload.startswith(_REF_PREFIX):
            return None
        try:
            record = json.loads(payload)
            ref, digest, size = record[_REF_KEY], record["sha256"], record["size"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SerDesError(f"malformed blob reference ({exc}): {payload[:200]}") from None
        if not (isinstance(ref, str) and isinstance(digest, str) and type(size) is int):
            raise SerDesError(f"malformed blob reference: {payload[:200]}")
        error = record.get("preview_error")
        return cls(ref, digest, size, record.get("preview"), error if isinstance(error, str) else None)


def default_blob_directory() -> Path:
    """`$PERDURE_BLOB_DIR`, else `.perdure/blobs` under the working directory."""
    return Path(os.environ.get(BLOB_DIR_ENV) or Path(".perdure") / "blobs").resolve()


def blob_key(durable_execution_arn: str, operation_id: str, digest: str) -> str:
    """The key of a blob: ``<function>/<execution name>-<arn hash>/<operation id>/<sha256>``.

    Readable where the ARN parses (so an execution's blobs share a prefix), unique per
    ARN through the ARN's hash, and the same for the same value, so writes are idempotent.
    """
    arn_hash = hashlib.sha256(durable_execution_arn.encode()).hexdigest()
    try:
        parsed = DurableExecutionArn.parse(durable_execution_arn)
        execution = f"{parsed.function_name}/{parsed.execution_name}-{arn_hash[:16]}"
    except ValueError:
        execution = f"_/{arn_hash[:32]}"
    op = (
        operation_id
        if _SAFE_ID.fullmatch(operation_id)
        else hashlib.sha256(operation_id.encode()).hexdigest()
    )
    return f"{execution}/{op}/{digest}"


class OffloadSerDes(SerDes[T]):
    """A serdes that stores large values in a `BlobStore` and checkpoints a reference.

    Wraps another serdes: a value whose inner serialization is larger than
    `threshold_bytes` (UTF-8), or every value with `always`, is written to `store`, and
    the checkpoint payload becomes a small JSON reference with the blob's SHA-256, its
    size and an optional preview. Smaller values stay inline, exactly as the inner serdes
    wrote them. Use it wherever a `serdes` is accepted (`StepConfig`, `ChildConfig`,
    map/parallel configs, callbacks, invoke), e.g.
    ``StepConfig(serdes=OffloadSerDes(store=LocalDirectoryBlobStore("/mnt/efs/blobs")))``.

    Args:
        inner: serializes the value to text (default: the extended-types serdes).
        store: where blobs go (default: `LocalDirectoryBlobStore(default_blob_directory())`).
        threshold_bytes: values whose text is larger than this are offloaded; at most
            256 KiB (the checkpoint payload limit). Default: 255 KiB.
        always: offload every value, whatever its size.
        preview: builds a small JSON-serializable preview of an offloaded value (e.g. a
            few identifying fields); it is recorded in the reference, for the history.
        max_preview_bytes: the budget for the preview's JSON; a larger preview (or one
            that fails) is left out and the reason recorded as ``preview_error``.

    Raises:
        ValueError: `threshold_bytes` or `max_preview_bytes` is out of range.
    """

    def __init__(
        self,
        inner: SerDes[T] | None = None,
        store: BlobStore | None = None,
        *,
        threshold_bytes: int = DEFAULT_THRESHOLD_BYTES,
        always: bool = False,
        preview: Callable[[T], Any] | None = None,
        max_preview_bytes: int = DEFAULT_MAX_PREVIEW_BYTES,
    ) -> None:
        if not 0 <= threshold_bytes <= MAX_OPERATION_PAYLOAD_BYTES:
            raise ValueError(
                f"threshold_bytes={threshold_bytes} is outside 0..{MAX_OPERATION_PAYLOAD_BYTES} "
                "(a larger inline value would break the checkpoint payload limit)"
            )
        if not 0 <= max_preview_bytes <= MAX_OPERATION_PAYLOAD_BYTES // 4:
            raise ValueError(
                f"max_preview_bytes={max_preview_bytes} is outside 0..{MAX_OPERATION_PAYLOAD_BYTES // 4}"
            )
        self.inner: SerDes[Any] = inner if inner is not None else EXTENDED_TYPES_SERDES
        self.store: BlobStore = (
            store if store is not None else LocalDirectoryBlobStore(default_blob_directory())
        )
        self.threshold_bytes = threshold_bytes
        self.always = always
        self.preview = preview
        self.max_preview_bytes = max_preview_bytes
        # serialize() is followed at once, on the same thread, by deserialize() of its
        # output (operations return the round-tripped value): keep the last blob written
        # by this thread so that read costs no trip to the store.
        self._recent = threading.local()

    def __repr__(self) -> str:
        mode = "always" if self.always else f"over {self.threshold_bytes} bytes"
        return f"OffloadSerDes({self.inner!r}, {self.store!r}, {mode})"

    # ---------------------------------------------------------------- serialize

    def serialize(self, value: T, serdes_context: SerDesContext | None = None) -> str:
        context = serdes_context or SerDesContext()
        text = self.inner.serialize(value, context)
        if not isinstance(text, str):  # a pass-through serdes given None: nothing to store
            return text
        inline = _escape(text)
        if not self.always and size_over(inline, self.threshold_bytes) is None:
            return inline
        data = text.encode()
        digest = hashlib.sha256(data).hexdigest()
        key = blob_key(context.durable_execution_arn, context.operation_id or "operation", digest)
        try:
            ref = self.store.put(key, data)
        except RetryableSerDesError:
            raise
        except Exception as exc:
            raise SerDesError(
                f"could not write blob {key!r} for operation {context.operation_id!r} to {self.store!r}: {exc}"
            ) from exc
        preview, preview_error = self._preview(value)
        reference = BlobReference(ref, digest, len(data), preview, preview_error)
        payload = reference.to_payload()
        if size_over(payload, MAX_OPERATION_PAYLOAD_BYTES) is not None:
            raise SerDesError(
                f"the blob reference for operation {context.operation_id!r} is over "
                f"{MAX_OPERATION_PAYLOAD_BYTES} bytes: the store returned a reference of {len(ref)} characters"
            )
        self._recent.entry = (ref, digest, text)
        return payload

    def _preview(self, value: T) -> tuple[Any, str | None]:
        if self.preview is None:
            return None, None
        try:
            preview = self.preview(value)
            size = len(json.dumps(preview, separators=_COMPACT, ensure_ascii=False).encode())
        except Exception as exc:
            return None, f"the preview failed: {type(exc).__name__}: {exc}"
        if size > self.max_preview_bytes:
            return None, f"the preview is {size} bytes, over the {self.max_preview_bytes}-byte budget"
        return preview, None

    # -------------------------------------------------------------- deserialize

    def deserialize(self, data: str, serdes_context: SerDesContext | None = None) -> T:
        context = serdes_context or SerDesContext()
        if not isinstance(data, str):
            return self._inner_deserialize(data, context)
        if data.startswith(_INLINE_PREFIX):
            return self._inner_deserialize(_unescape(data), context)
        reference = BlobReference.from_payload(data)
        if reference is None:
            return self._inner_deserialize(data, context)
        return self._inner_deserialize(self.read(reference, context), context)

    def read(self, reference: BlobReference, serdes_context: SerDesContext | None = None) -> str:
        """The inner serdes' text stored for `reference`, checked against its hash.

        Raises:
            SerDesError: the blob is missing, altered, or cannot be read.
            RetryableSerDesError: the store asked for a retry.
        """
        op = (serdes_context or SerDesContext()).operation_id
        recent = getattr(self._recent, "entry", None)
        if recent is not None and recent[0] == reference.ref and recent[1] == reference.sha256:
            self._recent.entry = None  # read once: do not keep a large value alive
            text: str = recent[2]
            return text
        where = f"blob {reference.ref!r} of operation {op!r} in {self.store!r}"
        try:
            data = self.store.get(reference.ref)
        except RetryableSerDesError:
            raise
        except BlobNotFoundError:
            raise SerDesError(
                f"{where} is missing; the checkpoint references a value that is no longer stored"
            ) from None
        except Exception as exc:
            raise SerDesError(f"could not read {where}: {exc}") from exc
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != reference.size or digest != reference.sha256:
            raise SerDesError(
                f"{where} was altered: expected {reference.size} bytes with sha256 {reference.sha256}, "
                f"found {len(data)} bytes with sha256 {digest}"
            )
        try:
            return data.decode()
        except UnicodeDecodeError as exc:  # pragma: no cover - the hash matched what we wrote
            raise SerDesError(f"{where} is not UTF-8 text: {exc}") from None

    # ------------------------------------------------ values crossing an execution

    def dump(self, value: T, serdes_context: SerDesContext | None = None) -> Any:
        """`value` as a JSON-compatible object: a small reference when it is offloaded.

        For values that leave an execution as JSON rather than through a serdes: return
        ``offload.dump(value)`` from a handler invoked with ``context.invoke(...,
        config=InvokeConfig(serdes_result=offload))``, or as an execution result too
        large for the service. The inner serdes must write JSON (the default does).

        Raises:
            SerDesError: the value cannot be serialized or stored, or the inner serdes
                does not write JSON.
        """
        payload = self.serialize(value, serdes_context)
        try:
            return json.loads(payload)
        except ValueError as exc:
            raise SerDesError(f"dump() needs an inner serdes that writes JSON: {exc}") from None

    def load(self, obj: Any, serdes_context: SerDesContext | None = None) -> T:
        """The value that `dump` (or `serialize`, once parsed as JSON) turned into `obj`.

        For values that arrive as parsed JSON: ``offload.load(event)`` in a handler invoked
        with ``context.invoke(..., config=InvokeConfig(serdes_payload=offload))``.

        Raises:
            SerDesError: the blob is missing or altered, or `obj` cannot be read.
        """
        text = json.dumps(obj, separators=_COMPACT, ensure_ascii=False)
        return self.deserialize(text, serdes_context)

    def _inner_deserialize(self, text: str, context: SerDesContext) -> T:
        value: T = self.inner.deserialize(text, context)
        return value


def _escape(text: str) -> str:
    """`text`, wrapped when it could be read as a reference or as an escaped value."""
    if text.startswith(_REF_PREFIX) or text.startswith(_INLINE_PREFIX):
        return json.dumps({_INLINE_KEY: text}, separators=_COMPACT, ensure_ascii=False)
    return text


def _unescape(payload: str) -> str:
    try:
        record = json.loads(payload)
        text = record[_INLINE_KEY]
    except (ValueError, KeyError, TypeError) as exc:
        raise SerDesError(f"malformed escaped inline value ({exc}): {payload[:200]}") from None
    if not isinstance(text, str) or len(record) != 1:
        raise SerDesError(f"malformed escaped inline value: {payload[:200]}")
    return text


__all__ = [
    "BLOB_DIR_ENV",
    "DEFAULT_MAX_PREVIEW_BYTES",
    "DEFAULT_THRESHOLD_BYTES",
    "BlobNotFoundError",
    "BlobReference",
    "BlobStore",
    "LocalDirectoryBlobStore",
    "OffloadSerDes",
    "blob_key",
    "default_blob_directory",
]
