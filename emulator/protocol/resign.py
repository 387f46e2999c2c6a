"""An attempt's exact request signed again now: the same body and address, a new nonce and
wall-clock timestamp, signed with the merchant's key of today.

A merchant that enforces the signature window (§2a: 60 s) and refuses replayed nonces rejects a
copy of the original request; the re-signed one is what the marketplace would send now.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ..store.tables import Merchant
from .outbound import SignedRequest
from .signing import (append_query, basic_signature, basic_signed_query, kit_x_sign, new_nonce, v1_signed_query,
                      v1_timestamp, wall_clock_ms)

BASIC_PARAMS = ("signature", "timestamp", "nonce")
KIT_HEADERS = ("x-sign", "x-timestamp", "x-nonce")


def _without_query(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="")), parse_qsl(parts.query, keep_blank_values=True)


def resign(merchant: Merchant, method: str, url: str, headers: Mapping[str, str], body: bytes) -> SignedRequest:
    """The request signed as it was first signed: kit ``x-sign`` headers (§2b), the V1 authToken
    of a GET (§2c) or the §2a URL signature."""
    lowered = {name.lower() for name in headers}
    if "x-sign" in lowered:
        nonce, timestamp = new_nonce(), wall_clock_ms()
        fresh = {"x-sign": kit_x_sign(merchant.kit_key or "", nonce, timestamp, body,
                                      upper=merchant.kit_sign_hex_case == "upper"),
                 "x-timestamp": timestamp, "x-nonce": nonce}
        kept = {k: v for k, v in headers.items() if k.lower() not in KIT_HEADERS}
        return SignedRequest(method, url, {**kept, **fresh}, body)
    base, params = _without_query(url)
    names = {name for name, _ in params}
    if method == "GET" and "authToken" in names:
        values = {name: value for name, value in params if name != "authToken"}
        values["timeStamp"] = v1_timestamp()
        return SignedRequest(method, append_query(base, v1_signed_query(merchant.access_key, values)),
                             dict(headers), body)
    # The production URL's own parameters are kept as they were written, only the signature's replaced.
    kept = [pair for pair in urlsplit(url).query.split("&") if pair and pair.split("=", 1)[0] not in BASIC_PARAMS]
    timestamp, nonce = wall_clock_ms(), new_nonce()
    signature = basic_signature(merchant.access_key, nonce, timestamp, body,
                                upper=merchant.signature_hex_case == "upper")
    address = base + ("?" + "&".join(kept) if kept else "")
    return SignedRequest(method, append_query(address, basic_signed_query(signature, timestamp, nonce)),
                         dict(headers), body)
