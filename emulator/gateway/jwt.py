"""The HS256 JWT the gateway adds in AK/SK mode (PROTOCOL §14.1).

Header ``{"alg":"HS256","sign_type":"SIGN"}``, payload ``api_key`` (the AK) and ``timestamp``
(milliseconds), compact JSON, base64url without padding. Written here with the standard library:
the emulator has no JWT dependency, and the test backend checks the result with PyJWT.

Every call gets its own token (its own ``timestamp``); what does not change from call to call is
prepared once: the encoded header, and the payload's JSON up to the timestamp.
"""

from __future__ import annotations

import base64
import hmac
import json
from functools import lru_cache
from typing import Any

HEADER = {"alg": "HS256", "sign_type": "SIGN"}
VALIDITY_S = 300  # §14.1: valid 5 minutes from ``timestamp``


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _segment(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


_HEADER_SEGMENT = _segment(HEADER) + "."


@lru_cache(maxsize=256)
def _payload_head(access_key: str) -> bytes:
    """``{"api_key":"<AK>","timestamp":`` as the compact JSON of the whole payload begins."""
    return b'{"api_key":' + json.dumps(access_key, ensure_ascii=False).encode("utf-8") + b',"timestamp":'


@lru_cache(maxsize=256)
def _secret(secret_key: str) -> bytes:
    return secret_key.encode("utf-8")


def agents_jwt(access_key: str, secret_key: str, timestamp_ms: int, exp_claim: bool = False) -> str:
    """The token for one forwarded call; ``exp_claim`` adds ``exp`` (seconds) = timestamp + 300 s
    (``agents_jwt_exp_claim``, an assumption of §14.1)."""
    tail = b'}' if not exp_claim else b',"exp":%d}' % (timestamp_ms // 1000 + VALIDITY_S)
    payload = _payload_head(access_key) + b"%d" % timestamp_ms + tail
    signing_input = _HEADER_SEGMENT + _b64url(payload)
    signature = hmac.digest(_secret(secret_key), signing_input.encode("ascii"), "sha256")
    return f"{signing_input}.{_b64url(signature)}"
