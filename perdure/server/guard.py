"""Who may talk to `perdure serve`: the Host, Origin and Content-Type checks, and SigV4.

Pure functions over a request's method, raw path, raw query, headers and body, so every
rule is testable without a socket; `perdure.server.http` calls `Guard.admit` once the
headers are read and `Guard.verify_signature` with what `admit` returned once the whole
body has arrived. The Authorization header is parsed and its date window checked once, at
admission: a body that takes a while to arrive does not expire its signature. A refusal
is a `ServiceError` (the codes AWS uses), raised here and answered by the socket layer.

- Host: a web page that rebinds its own DNS name to 127.0.0.1 sends its own name as
  `Host`; only the allowed names are served (the bound address, the loopback names, and
  what `allowed_hosts` adds).
- Origin and Content-Type: a browser marks a cross-site request with `Origin`; one that is
  not the server's own is refused. A POST with a Content-Type a browser may send
  cross-site without a preflight is refused too (boto3 sends `application/json`, or none).
- SigV4: with credentials configured, every request must carry an AWS Signature Version 4
  `Authorization` header made with them, for the service `lambda`, dated within five
  minutes of now (AWS's window). The signature is rebuilt by `perdure.server.sigv4` (the
  one SigV4 implementation, which perdure's client signs with) and compared in constant time.

Imports only the standard library, `perdure.server.errors` (wire errors) and `.sigv4`.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import (
    AccessDeniedError,
    IncompleteSignatureError,
    InvalidSignatureError,
    MissingAuthenticationTokenError,
    UnrecognizedClientError,
)
from .sigv4 import AMZ_DATE_FORMAT, SERVICE, Credentials, canonical_request, signature

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
SIMPLE_CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
"""Content-Types a browser sends cross-site without asking first (a CORS "simple request")."""
CLOCK_SKEW = timedelta(minutes=5)
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*"
)


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) reaches only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str:
    """The name in a `Host` (or an Origin's netloc) value: no port, IPv6 without brackets, lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    name, _, _port = value.partition(":") if value.count(":") == 1 else (value, "", "")
    return name.rstrip(".")


class Guard:
    """The checks for one server.

    Args:
        bound_host: the address the server listens on (allowed as a Host name).
        allowed_hosts: more Host names to serve; `*` serves any name.
        credentials: when given, every request must be SigV4-signed with them.
        now: the clock for the signature's date window.
    """

    def __init__(
        self,
        bound_host: str,
        allowed_hosts: Iterable[str] = (),
        credentials: Credentials | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        names = {host_name(n) for n in (*LOOPBACK_NAMES, *allowed_hosts)}
        names.add(host_name(bound_host))  # also a wildcard (0.0.0.0), as clients may use it
        self.any_host = "*" in names
        self.allowed_hosts = frozenset(names - {"*"})
        self.credentials = credentials
        self._now = now

    def admit(self, method: str, headers: Mapping[str, str], *, signed: bool = True) -> Authorization | None:
        """Refuse a request from the wrong place, before its body is read.

        Args:
            headers: lower-case names.
            signed: check the signature's presence and date (when credentials are
                configured). False for a request the console's login admits instead.

        Returns:
            The parsed Authorization header, for `verify_signature`; None when no
            signature is checked.

        Raises:
            AccessDeniedError: a Host not served, a foreign Origin, a browser-simple
                Content-Type on a POST.
            MissingAuthenticationTokenError, UnrecognizedClientError,
            IncompleteSignatureError, InvalidSignatureError: credentials are configured and
                the signature is missing, for another key, malformed or out of its window.
        """
        host = headers.get("host")
        if host is None:
            raise AccessDeniedError("the request has no Host header")
        if not self.any_host and host_name(host) not in self.allowed_hosts:
            raise AccessDeniedError(
                f"Host {host!r} is not served here (allowed: {', '.join(sorted(self.allowed_hosts))};"
                " perdure serve --allow-host NAME adds one)"
            )
        origin = headers.get("origin")
        if origin is not None and origin.partition("://")[2].lower() != host.strip().lower():
            raise AccessDeniedError(f"cross-origin requests are refused (Origin {origin!r}, Host {host!r})")
        if method not in ("GET", "HEAD"):
            media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            if media_type in SIMPLE_CONTENT_TYPES:
                raise AccessDeniedError(
                    f"Content-Type {media_type} is refused on {method} (send application/json or none)"
                )
        if signed and self.credentials is not None:
            return self._check_authorization_header(headers)
        return None

    def _check_authorization_header(self, headers: Mapping[str, str]) -> Authorization:
        assert self.credentials is not None
        value = headers.get("authorization")
        if value is None:
            raise MissingAuthenticationTokenError("Missing Authentication Token")
        found = _AUTH.fullmatch(value)
        if found is None:
            raise IncompleteSignatureError(
                "Authorization header is not 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'"
            )
        scope = found["credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise IncompleteSignatureError(
                f"Credential {found['credential']!r} is not KEY/DATE/REGION/SERVICE/aws4_request"
            )
        key, date, region, service, _ = scope
        if not hmac.compare_digest(key.encode(), self.credentials.access_key_id.encode()):
            raise UnrecognizedClientError("The security token included in the request is invalid.")
        if service != SERVICE:
            raise InvalidSignatureError(f"Credential should be scoped to correct service: '{SERVICE}'.")
        amz_date = headers.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise IncompleteSignatureError(f"X-Amz-Date {amz_date!r} is not YYYYMMDDTHHMMSSZ") from None
        if date != amz_date[:8]:
            raise InvalidSignatureError(f"Credential date {date} is not the X-Amz-Date day {amz_date[:8]}")
        now = self._now()
        if abs(now - signed_at) > CLOCK_SKEW:
            raise InvalidSignatureError(
                f"Signature expired: {amz_date} is now earlier than or later than"
                f" {(now - CLOCK_SKEW).strftime(AMZ_DATE_FORMAT)} .. {(now + CLOCK_SKEW).strftime(AMZ_DATE_FORMAT)}"
                " (five minutes of skew)"
            )
        signed = found["signed"].split(";")
        if "host" not in signed or any(name not in headers for name in signed):
            raise InvalidSignatureError(
                "SignedHeaders must include host and name only headers the request has"
            )
        return Authorization(date, region, signed, found["signature"], amz_date)

    def verify_signature(
        self,
        authorization: Authorization | None,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Check the SigV4 signature over the whole request (nothing when no credentials).

        Args:
            authorization: what `admit` returned for this request (its date was checked then).

        Raises:
            MissingAuthenticationTokenError: credentials are configured and the request was
                not admitted as a signed one.
            InvalidSignatureError: the signature does not match the request.
        """
        if self.credentials is None:
            return
        if authorization is None:
            raise MissingAuthenticationTokenError("Missing Authentication Token")
        auth = authorization
        canonical = canonical_request(method, raw_path, raw_query, headers, auth.signed_headers, body)
        expected = signature(self.credentials.secret_access_key, auth.amz_date, auth.region, canonical)
        if not hmac.compare_digest(expected, auth.signature):
            raise InvalidSignatureError(
                "The request signature we calculated does not match the signature you provided."
                " Check your AWS Secret Access Key and signing method."
            )


@dataclass(frozen=True)
class Authorization:
    """A request's parsed SigV4 Authorization header (and its X-Amz-Date), as `admit` found it."""

    date: str
    region: str
    signed_headers: list[str]
    signature: str
    amz_date: str
