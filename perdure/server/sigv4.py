"""AWS Signature Version 4 for the service `lambda`: the one implementation perdure signs
and verifies with.

`Guard` (the server) rebuilds a request's signature with `signature` and compares it;
`HttpServiceClient` (perdure's own client) adds the headers `sign` makes. Both build the
canonical request as botocore does for a REST-JSON service: the method, the path
percent-encoded once more after removing dot segments, the query pairs sorted as sent,
the signed headers (lower-case names, values with runs of whitespace folded), and the
body's SHA-256. `Credentials` is the one access key a server accepts or a client signs
with; `credentials_from_environment` finds a client's. Imports only the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

SERVICE = "lambda"
ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
ACCESS_KEY_ENV = "PERDURE_ACCESS_KEY_ID"
SECRET_KEY_ENV = "PERDURE_SECRET_ACCESS_KEY"
"""Where `perdure serve` and perdure's client look for their key."""
AWS_KEY_ENVS: tuple[str, str] = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
"""Where the client looks next (the server does not: AWS keys in a shell must not make it
demand signatures)."""


@dataclass(frozen=True)
class Credentials:
    """An access key (any region; service `lambda`)."""

    access_key_id: str
    secret_access_key: str

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.secret_access_key:
            raise ValueError("both an access key id and a secret access key are needed")

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key=<hidden>)"


def credentials_from_environment(
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    variables: Sequence[tuple[str, str]] = ((ACCESS_KEY_ENV, SECRET_KEY_ENV), AWS_KEY_ENVS),
) -> Credentials | None:
    """The key given (`--access-key-id`, `--secret-access-key`), else the first pair of
    `variables` set in `environ`: for a client `$PERDURE_ACCESS_KEY_ID` and
    `$PERDURE_SECRET_ACCESS_KEY` (the variables `perdure serve` reads), then
    `$AWS_ACCESS_KEY_ID` and `$AWS_SECRET_ACCESS_KEY`. None when there is none.

    Raises:
        ValueError: only one half of a key was given, naming the half that is missing.
    """
    env = os.environ if environ is None else environ
    for key_id, secret, names in (
        (access_key_id, secret_access_key, ("--access-key-id", "--secret-access-key")),
        *((env.get(key), env.get(value), (f"${key}", f"${value}")) for key, value in variables),
    ):
        if key_id and secret:
            return Credentials(key_id, secret)
        if key_id or secret:
            missing = names[1] if key_id else names[0]
            raise ValueError(f"{' and '.join(names)} go together; {missing} is missing")
    return None


def canonical_request(
    method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], signed: list[str], body: bytes
) -> str:
    """The SigV4 canonical request, as botocore builds it for a REST-JSON service.

    Args:
        raw_path, raw_query: as they travel (still percent-encoded).
        headers: lower-case names.
        signed: the names of the signed headers.
    """
    path = quote(_remove_dot_segments(raw_path) or "/", safe="/~")
    pairs = sorted(pair.partition("=")[::2] for pair in raw_query.split("&")) if raw_query else []
    query = "&".join(f"{key}={value}" for key, value in pairs)
    names = sorted(signed)
    lines = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names)
    return "\n".join((method, path, query, lines, ";".join(names), _sha256(body)))


def signing_key(secret: str, date: str, region: str) -> bytes:
    """The key derived for one day (`YYYYMMDD`) and region."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(secret: str, amz_date: str, region: str, canonical: str) -> str:
    """The hex signature of a canonical request made at `amz_date` (`YYYYMMDDTHHMMSSZ`)."""
    date = amz_date[:8]
    scope = f"{date}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join((ALGORITHM, amz_date, scope, _sha256(canonical.encode())))
    return hmac.new(signing_key(secret, date, region), to_sign.encode(), hashlib.sha256).hexdigest()


def sign(
    credentials: Credentials,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    region: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The `X-Amz-Date` and `Authorization` headers that sign a request.

    Args:
        headers: every header to sign, `host` among them (any case; sent as given).
        now: the signing time (default: the clock).
    """
    lower = {name.lower(): value for name, value in headers.items()}
    if "host" not in lower:
        raise ValueError("a SigV4 signature covers the Host header; it is missing")
    amz_date = (now or datetime.now(UTC)).astimezone(UTC).strftime(AMZ_DATE_FORMAT)
    lower["x-amz-date"] = amz_date
    signed = sorted(lower)
    canonical = canonical_request(method, raw_path, raw_query, lower, signed, body)
    scope = f"{amz_date[:8]}/{region}/{SERVICE}/aws4_request"
    authorization = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, SignedHeaders={';'.join(signed)},"
        f" Signature={signature(credentials.secret_access_key, amz_date, region, canonical)}"
    )
    return {"X-Amz-Date": amz_date, "Authorization": authorization}


def _remove_dot_segments(path: str) -> str:
    # As botocore normalises before signing: "." and empty segments go, ".." pops one.
    if not path:
        return ""
    kept: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
        else:
            kept.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and kept else ""
    return first + "/".join(kept) + last


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
