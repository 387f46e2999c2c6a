"""SDK-HMAC-SHA256 request signing, as used by Huawei's API gateway (PROTOCOL §2d).

``verify_request`` is what the emulator's open APIs run on every inbound call;
``sign_request`` is a client-side signer for tests and the merchant stub.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "ALGORITHM",
    "APIGW_ERROR_CODE",
    "APIGW_HTTP_STATUS",
    "AuthorizationFormatError",
    "EMPTY_BODY_SHA256",
    "MSG_NO_AUTHORIZATION",
    "MSG_VERIFY_FAIL",
    "MissingSignedHeaderError",
    "SDK_DATE_FORMAT",
    "UNSIGNED_PAYLOAD",
    "VerifyResult",
    "authorization_value",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "msg_unknown_ak",
    "parse_authorization",
    "sign_request",
    "sign_string",
    "string_to_sign",
    "verify_request",
]

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

APIGW_ERROR_CODE = "APIGW.0301"
APIGW_HTTP_STATUS = 401
MSG_NO_AUTHORIZATION = "Incorrect IAM authentication information: x-auth-token not found"
MSG_VERIFY_FAIL = "Incorrect IAM authentication information: verify aksk signature fail"

_HEADER_DATE = "x-sdk-date"
_HEADER_CONTENT_SHA256 = "x-sdk-content-sha256"
_SDK_DATE_RE = re.compile(r"\d{8}T\d{6}Z")
_AUTH_RE = re.compile(r"(\S+)\s+(.+)", re.DOTALL)
_AUTH_PARAMS = ("Access", "SignedHeaders", "Signature")


def msg_unknown_ak(ak: str) -> str:
    """APIGW.0301 message for an AK that has no secret (§2d, check 2)."""
    return f"Incorrect IAM authentication information: Get secretKey failed,ak:{ak},err:ak not exist"


class AuthorizationFormatError(ValueError):
    """The Authorization header is not ``<alg> Access=.., SignedHeaders=.., Signature=..``."""


class MissingSignedHeaderError(ValueError):
    """A header listed in SignedHeaders is absent from the request."""


# -- canonical request --------------------------------------------------------


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding: only ``A-Z a-z 0-9 - _ . ~`` stay literal."""
    return quote(text, safe="~")


@functools.lru_cache(maxsize=1024)  # the open APIs have a handful of paths
def canonical_uri(path: str) -> str:
    """Decode the path, re-encode each segment, and make sure it ends in ``/``."""
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query: str) -> str:
    """Sorted, re-encoded ``k=v`` pairs of a raw query string ('+' stays a literal plus)."""
    pairs: list[tuple[str, str]] = []
    for part in raw_query.lstrip("?").split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    pairs.sort()
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names; the first occurrence wins for multi-dicts."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        out.setdefault(name.lower(), value)
    return out


def canonical_request(
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    """The CanonicalRequest of §2d; raises MissingSignedHeaderError if a signed header is absent."""
    lower = _lower_headers(headers)
    lines = []
    for name in signed_headers:
        value = lower.get(name.lower())
        if value is None:
            raise MissingSignedHeaderError(f"signed header {name!r} is not present in the request")
        lines.append(f"{name.lower()}:{value.strip()}\n")
    signed_lower = {n.lower() for n in signed_headers}
    if _HEADER_CONTENT_SHA256 in signed_lower:
        payload_hash = lower[_HEADER_CONTENT_SHA256]
    else:
        payload_hash = hashlib.sha256(body).hexdigest()
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(raw_query),
            "".join(lines),
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(sdk_date: str, canonical_request: str) -> str:
    """``SDK-HMAC-SHA256\\n<date>\\n<sha256 hex of the canonical request>``."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def sign_string(sk: str, string_to_sign: str) -> str:
    """Lower-case hex HMAC-SHA256 of the string to sign, keyed with the SK."""
    return hmac.new(sk.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_value(ak: str, signed_headers: list[str], signature: str) -> str:
    return f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(signed_headers)}, Signature={signature}"


# -- client side ----------------------------------------------------------------


def sign_request(
    ak: str,
    sk: str,
    method: str,
    url_or_path: str,
    headers: Mapping[str, str],
    body: bytes | str = b"",
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign like the official SDK and return the headers to add (Authorization included).

    Adds ``X-Sdk-Date`` (from ``now`` or the wall clock) when missing, ``Host``
    from an absolute URL when missing, and ``X-Sdk-Content-Sha256:
    UNSIGNED-PAYLOAD`` for a non-empty body whose Content-Type is set and is
    not JSON/BSON. Every header is signed except ``Authorization`` and names
    containing ``_``. ``url_or_path`` carries the query exactly as it will be sent.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    parts = urlsplit(url_or_path)
    lower = _lower_headers(headers)
    added: dict[str, str] = {}
    if _HEADER_DATE not in lower:
        moment = now or datetime.now(timezone.utc)
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc)
        added["X-Sdk-Date"] = moment.strftime(SDK_DATE_FORMAT)
    if "host" not in lower and parts.netloc:
        added["Host"] = parts.netloc
    content_type = lower.get("content-type", "")
    if (
        body
        and content_type
        and not content_type.startswith(("application/json", "application/bson"))
        and _HEADER_CONTENT_SHA256 not in lower
    ):
        added["X-Sdk-Content-Sha256"] = UNSIGNED_PAYLOAD

    all_headers = {**dict(headers.items()), **added}
    signed = sorted({n.lower() for n in all_headers if "_" not in n and n.lower() != "authorization"})
    creq = canonical_request(method, parts.path or "/", parts.query, all_headers, signed, body)
    sdk_date = _lower_headers(all_headers)[_HEADER_DATE].strip()
    signature = sign_string(sk, string_to_sign(sdk_date, creq))
    added["Authorization"] = authorization_value(ak, signed, signature)
    return added


# -- server side ------------------------------------------------------------------


def parse_authorization(value: str) -> tuple[str, str, list[str], str]:
    """Split ``<alg> Access=<ak>, SignedHeaders=<h1;h2>, Signature=<hex>``.

    Returns (algorithm, ak, signed_headers, signature); the algorithm is not
    checked here. Raises AuthorizationFormatError.
    """
    m = _AUTH_RE.fullmatch(value.strip())
    if m is None:
        raise AuthorizationFormatError(
            "Authorization must look like 'SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>'"
        )
    algorithm, rest = m.groups()
    params: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, val = item.strip().partition("=")
        if not sep:
            raise AuthorizationFormatError(f"Authorization parameter {item.strip()!r} has no '='")
        if name not in _AUTH_PARAMS:
            raise AuthorizationFormatError(
                f"unknown Authorization parameter {name!r}; expected Access, SignedHeaders and Signature"
            )
        if name in params:
            raise AuthorizationFormatError(f"Authorization parameter {name!r} appears twice")
        params[name] = val.strip()
    for name in _AUTH_PARAMS:
        if not params.get(name):
            raise AuthorizationFormatError(f"Authorization parameter {name!r} is missing or empty")
    signed_headers = params["SignedHeaders"].split(";")
    if any(not h.strip() for h in signed_headers):
        raise AuthorizationFormatError(f"SignedHeaders {params['SignedHeaders']!r} has an empty name")
    return algorithm, params["Access"], [h.strip() for h in signed_headers], params["Signature"]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify_request``.

    ``error_msg`` is the APIGW.0301 message for the response body; ``detail``
    explains the failed check for the emulator's log and UI only. Neither ever holds
    the signature the emulator expected (the real gateway never reveals it): a
    mismatch is explained with the canonical request and the string to sign. ``reason``
    is the short code of the ``X-Sandbox-Auth-Error`` header (§12.2).
    """

    ok: bool
    error_msg: str
    detail: str
    ak: str | None = None
    canonical_request: str | None = None
    reason: str = ""


def _fail(msg: str, reason: str, detail: str, ak: str | None = None, creq: str | None = None) -> VerifyResult:
    return VerifyResult(False, msg, detail, ak, creq, reason)


def _parse_sdk_date(sdk_date: str) -> datetime:
    """``yyyyMMddTHHmmssZ`` (already matched by ``_SDK_DATE_RE``); strptime costs ten times more."""
    return datetime(int(sdk_date[0:4]), int(sdk_date[4:6]), int(sdk_date[6:8]), int(sdk_date[9:11]),
                    int(sdk_date[11:13]), int(sdk_date[13:15]), tzinfo=timezone.utc)


def verify_request(
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup_secret: Callable[[str], str | None],
    now: datetime,
    max_skew_s: int = 900,
) -> VerifyResult:
    """Check an inbound request in the order of §2d's error table.

    ``path`` is the request path as received (percent-encoded, no query),
    ``raw_query`` the undecoded query string, ``now`` the real wall clock
    (naive values are taken as UTC).
    """
    lower = _lower_headers(headers)
    auth = lower.get("authorization")
    if auth is None or not auth.strip():
        return _fail(MSG_NO_AUTHORIZATION, "no-authorization", "the request has no Authorization header")

    try:
        algorithm, ak, signed_headers, signature = parse_authorization(auth)
    except AuthorizationFormatError as exc:
        return _fail(MSG_VERIFY_FAIL, "bad-authorization-format", f"Authorization header unparseable: {exc}")

    secret = lookup_secret(ak)
    if secret is None:
        return _fail(msg_unknown_ak(ak), "unknown-ak", f"no secret key is configured for AK {ak!r}", ak)

    if algorithm != ALGORITHM:
        return _fail(
            MSG_VERIFY_FAIL,
            "bad-authorization-format",
            f"algorithm {algorithm!r} is not accepted; only {ALGORITHM} is",
            ak,
        )

    sdk_date = lower.get(_HEADER_DATE)
    if sdk_date is None:
        return _fail(MSG_VERIFY_FAIL, "bad-date", "the X-Sdk-Date header is missing", ak)
    sdk_date = sdk_date.strip()
    try:
        if not _SDK_DATE_RE.fullmatch(sdk_date):
            raise ValueError
        signed_at = _parse_sdk_date(sdk_date)
    except ValueError:
        return _fail(
            MSG_VERIFY_FAIL, "bad-date", f"X-Sdk-Date {sdk_date!r} is not in the form yyyyMMddTHHmmssZ (UTC)", ak
        )
    if _HEADER_DATE not in {h.lower() for h in signed_headers}:
        return _fail(
            MSG_VERIFY_FAIL, "bad-date", f"x-sdk-date is not listed in SignedHeaders ({';'.join(signed_headers)})", ak
        )
    now_utc = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    skew = (now_utc - signed_at).total_seconds()
    if abs(skew) > max_skew_s:
        return _fail(
            MSG_VERIFY_FAIL,
            "date-skew",
            f"X-Sdk-Date {sdk_date} is {skew:+.0f} s from the server clock "
            f"({now_utc.strftime(SDK_DATE_FORMAT)}); at most {max_skew_s} s is allowed",
            ak,
        )

    try:
        creq = canonical_request(method, path, raw_query, headers, signed_headers, body)
    except MissingSignedHeaderError as exc:
        return _fail(MSG_VERIFY_FAIL, "signature-mismatch", str(exc), ak)
    sts = string_to_sign(sdk_date, creq)
    expected = sign_string(secret, sts)
    if not hmac.compare_digest(expected.encode("utf-8"), signature.encode("utf-8")):
        return _fail(
            MSG_VERIFY_FAIL,
            "signature-mismatch",
            f"signature mismatch: the Signature sent ({signature}) is not lowercase hex "
            f"HMAC-SHA256(SK, string to sign) for the string to sign below\n"
            f"canonical request:\n{creq}\n"
            f"string to sign:\n{sts}",
            ak,
            creq,
        )
    return VerifyResult(True, "", "signature verified", ak, creq, "")
