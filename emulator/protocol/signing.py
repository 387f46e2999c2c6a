"""Marketplace-side signatures and their verifiers (PROTOCOL §2a, §2b, §2c, §2e).

All functions are pure except ``new_nonce`` and ``wall_clock_ms``. Payloads
are the exact bytes that enter the HMAC; callers produce them with
``emulator.protocol.canonical``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from urllib.parse import quote

from .canonical import canonical_body, top_level_sorted_body

__all__ = [
    "BODY_SIGN_HEADER",
    "MSG_BODY_SIGN_EMPTY",
    "MSG_BODY_SIGN_BAD_FORMAT",
    "NONCE_ALPHABET",
    "append_query",
    "basic_canonical_string",
    "basic_inner_hmac",
    "basic_signature",
    "basic_signed_query",
    "body_sign_signature",
    "body_sign_value",
    "check_body_sign",
    "kit_x_sign",
    "new_nonce",
    "usage_push_signature",
    "usage_push_string_to_sign",
    "v1_auth_string",
    "v1_auth_token",
    "v1_signed_query",
    "v1_timestamp",
    "verify_basic_signature",
    "verify_kit_x_sign",
    "verify_response_x_sign",
    "verify_usage_push_signature",
    "verify_v1_auth_token",
    "wall_clock_ms",
]

NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

BODY_SIGN_HEADER = "Body-Sign"
MSG_BODY_SIGN_EMPTY = "http header->bodySign is empty."
MSG_BODY_SIGN_BAD_FORMAT = "http header->sign_type is not equals HMAC-SHA256 or signature is empty."
_MSG_BODY_SIGN_MISMATCH = "Failed to verify the HTTP Body signature. Expected signature value: {expected}"
_BODY_SIGN_RE = re.compile(r'sign_type\s*=\s*"([^"]*)"\s*,\s*signature\s*=\s*"([^"]*)"')


# -- helpers ---------------------------------------------------------------


def _hmac_sha256(key: str | bytes, msg: bytes) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).digest()


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two strings (any characters)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _same_ignore_case(a: str, b: str) -> bool:
    return _same(a.lower(), b.lower())


def new_nonce(length: int = 16) -> str:
    """Random nonce drawn from [A-Za-z0-9] with a CSPRNG (§2a)."""
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(length))


def wall_clock_ms() -> str:
    """Real wall-clock epoch milliseconds as a decimal string (never the emulator clock)."""
    return str(time.time_ns() // 1_000_000)


# -- §2a basic V2 URL-parameter signature -----------------------------------


def basic_inner_hmac(access_key: str, payload: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of the payload keyed with the access key (§2a)."""
    return _hmac_sha256(access_key, payload).hex()


def basic_canonical_string(access_key: str, nonce: str, timestamp: str, inner_hex: str) -> str:
    """The string signed by the outer HMAC: accessKey + nonce + timestamp + inner (§2a)."""
    return access_key + nonce + timestamp + inner_hex


def basic_signature(
    access_key: str, nonce: str, timestamp: str, payload: bytes, upper: bool = False
) -> str:
    """URL ``signature`` parameter of §2a; lower-case hex unless ``upper``."""
    canonical = basic_canonical_string(access_key, nonce, timestamp, basic_inner_hmac(access_key, payload))
    sig = _hmac_sha256(access_key, canonical.encode("utf-8")).hex()
    return sig.upper() if upper else sig


def verify_basic_signature(
    access_key: str, nonce: str, timestamp: str, payload: bytes, signature: str
) -> bool:
    """Check a §2a signature, ignoring hex case."""
    return _same_ignore_case(basic_signature(access_key, nonce, timestamp, payload), signature)


def basic_signed_query(signature: str, timestamp: str, nonce: str) -> str:
    """Query fragment appended to the production URL (§2a)."""
    return f"signature={signature}&timestamp={timestamp}&nonce={nonce}"


def append_query(url: str, query: str) -> str:
    """Append a query fragment, keeping any query the URL already has."""
    return url + ("&" if "?" in url else "?") + query


# -- §2b kit x-sign ---------------------------------------------------------


def kit_x_sign(kit_key: str, nonce: str, timestamp: str, payload: bytes, upper: bool = False) -> str:
    """``x-sign`` header: HMAC(kitKey, kitKey + nonce + timestamp + payload) in hex (§2b)."""
    msg = (kit_key + nonce + timestamp).encode("utf-8") + payload
    sig = _hmac_sha256(kit_key, msg).hex()
    return sig.upper() if upper else sig


def verify_kit_x_sign(kit_key: str, nonce: str, timestamp: str, payload: bytes, x_sign: str) -> bool:
    """Check a §2b ``x-sign``, ignoring hex case."""
    return _same_ignore_case(kit_x_sign(kit_key, nonce, timestamp, payload), x_sign)


# -- §2c V1 authToken ------------------------------------------------------


def v1_timestamp(dt: datetime | None = None) -> str:
    """``yyyyMMddHHmmssSSS`` in UTC; naive datetimes are taken as UTC; None means now."""
    if dt is None:
        dt = datetime.now(timezone.utc)
    elif dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y%m%d%H%M%S") + f"{dt.microsecond // 1000:03d}"


def _v1_params(params: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != "authToken"}


def v1_auth_string(params: Mapping[str, str]) -> str:
    """``name=value`` pairs sorted by name, joined with ``&``; authToken excluded (§2c)."""
    p = _v1_params(params)
    return "&".join(f"{name}={p[name]}" for name in sorted(p))


def v1_auth_token(access_key: str, params: Mapping[str, str]) -> str:
    """base64(HMAC-SHA256(accessKey + timeStamp, auth string)) (§2c)."""
    try:
        ts = params["timeStamp"]
    except KeyError:
        raise ValueError("V1 params must include timeStamp") from None
    return base64.b64encode(_hmac_sha256(access_key + ts, v1_auth_string(params).encode("utf-8"))).decode("ascii")


def v1_signed_query(access_key: str, params: Mapping[str, str]) -> str:
    """Query string for a V1 GET: sorted params, then authToken, all RFC 3986 encoded (§2c)."""
    p = _v1_params(params)
    pairs = [(name, p[name]) for name in sorted(p)]
    pairs.append(("authToken", v1_auth_token(access_key, p)))
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def verify_v1_auth_token(access_key: str, params: Mapping[str, str]) -> bool:
    """Check ``params["authToken"]`` against the other (already URL-decoded) params."""
    token = params.get("authToken")
    if not token or "timeStamp" not in params:
        return False
    return _same(v1_auth_token(access_key, params), token)


# -- §2c V1 response Body-Sign -------------------------------------------------


def body_sign_signature(access_key: str, body: bytes) -> str:
    """base64(HMAC-SHA256(accessKey, raw body bytes)) (§2c)."""
    return base64.b64encode(_hmac_sha256(access_key, body)).decode("ascii")


def body_sign_value(access_key: str, body: bytes) -> str:
    """Full ``Body-Sign`` header value for a response body (§2c)."""
    return f'sign_type="HMAC-SHA256", signature="{body_sign_signature(access_key, body)}"'


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def check_body_sign(
    access_key: str, raw_headers: Iterable[tuple[bytes | str, bytes | str]], body: bytes
) -> str | None:
    """Debugger check of a response's ``Body-Sign`` (§2c); None when valid, else its message.

    The header name must match ``Body-Sign`` exactly; the first occurrence counts.
    """
    value: str | None = None
    for name, raw_value in raw_headers:
        if _text(name) == BODY_SIGN_HEADER:
            value = _text(raw_value)
            break
    if value is None or not value.strip():
        return MSG_BODY_SIGN_EMPTY
    m = _BODY_SIGN_RE.search(value)
    if m is None or m.group(1) != "HMAC-SHA256" or not m.group(2):
        return MSG_BODY_SIGN_BAD_FORMAT
    expected = body_sign_signature(access_key, body)
    if not _same(expected, m.group(2)):
        return _MSG_BODY_SIGN_MISMATCH.format(expected=expected)
    return None


# -- §2c V2 response x-sign (response_sign_check = x-sign) ----------------------


def _header_lookup(headers: Mapping[str, str] | Iterable[tuple[bytes | str, bytes | str]], name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    wanted = name.lower()
    for k, v in items:
        if _text(k).lower() == wanted:
            return _text(v)
    return None


def verify_response_x_sign(
    key: str,
    headers: Mapping[str, str] | Iterable[tuple[bytes | str, bytes | str]],
    body: bytes,
) -> str | None:
    """Check ``x-sign``/``x-timestamp``/``x-nonce`` on a V2 response; None when valid, else why.

    Header names are matched case-insensitively; the signature case is ignored.
    """
    found = {n: _header_lookup(headers, n) for n in ("x-sign", "x-timestamp", "x-nonce")}
    missing = [n for n, v in found.items() if not v]
    if missing:
        return "response header " + ", ".join(missing) + " is missing or empty."
    expected = kit_x_sign(key, found["x-nonce"] or "", found["x-timestamp"] or "", body)
    if not _same_ignore_case(expected, found["x-sign"] or ""):
        return f"Failed to verify the response x-sign. Expected signature value: {expected}"
    return None


# -- §2e usage-push header signature -------------------------------------------


def usage_push_string_to_sign(ts: str, nonce: str, payload: bytes) -> bytes:
    """``ts=<ts>&nonce=<nonce>&body=<payload>`` as bytes (§2e)."""
    return f"ts={ts}&nonce={nonce}&body=".encode("utf-8") + payload


def usage_push_signature(key: str, ts: str, nonce: str, payload: bytes) -> str:
    """``signature`` header of a usage push: standard base64 HMAC-SHA256 (§2e)."""
    return base64.b64encode(_hmac_sha256(key, usage_push_string_to_sign(ts, nonce, payload))).decode("ascii")


def verify_usage_push_signature(key: str, ts: str, nonce: str, body: bytes, signature: str) -> str | None:
    """Lenient §2e step 3: the name of the first matching candidate payload, or None.

    Candidates, in order: ``raw`` body bytes, ``canonical`` re-serialisation
    (keys sorted at every level), ``top_level`` (only top-level keys sorted).
    The last two are tried only when the body parses as JSON.
    """
    candidates: list[tuple[str, bytes]] = [("raw", body)]
    try:
        parsed = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        parsed = None
    else:
        candidates.append(("canonical", canonical_body(parsed)))
        candidates.append(("top_level", top_level_sorted_body(parsed)))
    for name, payload in candidates:
        if _same(usage_push_signature(key, ts, nonce, payload), signature):
            return name
    return None
