"""Outbound faults: what the live marketplace produces now and then, injected per merchant.

A merchant's ``faults`` setting maps each kind to a rate (a probability per attempt). Whether a
fault applies is decided from (kind, delivery id, attempt number) alone, so a rate of 1.0 or 0.0
is certain and a run can be reproduced. This module holds the decisions and the request
mutations; the dispatcher and the claims apply them.

- ``stale_timestamp``, ``wrong_signature``: a probe, signed wrongly, is sent as an extra attempt
  before the real one; a correct merchant refuses it, and it never uses a slot of the schedule.
- ``duplicate``: the real attempt's call is delivered a second time, as an extra attempt right
  after it: the same body (and businessId), signed again with a new nonce and timestamp.
- ``slow_send``: the real attempt is held back ``slow_send_s`` seconds before it leaves.
- ``out_of_order``: a due delivery lets a later delivery of its instance go first (``claims``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Optional
from urllib.parse import quote, unquote

from ..protocol.outbound import SignedRequest
from ..protocol.signing import (
    append_query, basic_signature, basic_signed_query, kit_x_sign, new_nonce, v1_signed_query, v1_timestamp,
)
from ..store.tables import Merchant

DUPLICATE, OUT_OF_ORDER, STALE_TIMESTAMP, WRONG_SIGNATURE, SLOW_SEND = (
    "duplicate", "out_of_order", "stale_timestamp", "wrong_signature", "slow_send")
KINDS = (DUPLICATE, OUT_OF_ORDER, STALE_TIMESTAMP, WRONG_SIGNATURE, SLOW_SEND)
PROBES = (STALE_TIMESTAMP, WRONG_SIGNATURE)  # sent before the real attempt, in this order
STALE_BY = timedelta(minutes=10)
DEFAULT_SLOW_SEND_S = 3.0
MAX_SLOW_SEND_S = 4.5
UNFAULTED_KINDS = frozenset({"dial_test"})  # deliveries that are not a merchant's normal traffic

_BASIC_TAIL = re.compile(r"signature=[0-9A-Fa-f]*&timestamp=(\d*)&nonce=([A-Za-z0-9]*)$")
_AUTH_TOKEN = re.compile(r"(&authToken=)([^&]*)$")


def chance(kind: str, delivery_id: int, number: int) -> float:
    """A number in [0, 1) fixed by the kind, the delivery and the attempt number."""
    digest = hashlib.sha256(f"{kind}:{delivery_id}:{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def applies(rates: Optional[Mapping[str, Any]], kind: str, delivery_id: int, number: int) -> bool:
    """Does the fault ``kind`` hit this attempt, at the merchant's rate?"""
    rate = float((rates or {}).get(kind, 0.0))
    return rate > 0 and chance(kind, delivery_id, number) < rate


@dataclass(frozen=True)
class Plan:
    """The faults of one attempt: probes before it, its own faults, repeats after it."""

    probes: tuple[str, ...] = ()
    own: tuple[str, ...] = ()
    repeats: tuple[str, ...] = ()
    hold_s: float = 0.0

    @property
    def extra(self) -> int:
        """Attempts added to the real one."""
        return len(self.probes) + len(self.repeats)


NO_FAULTS = Plan()


def plan(merchant: Merchant, delivery_id: int, number: int) -> Plan:
    """Which faults hit attempt ``number`` of this delivery (``out_of_order`` is decided by the claim)."""
    rates = merchant.faults or {}
    if not rates:
        return NO_FAULTS
    slow = applies(rates, SLOW_SEND, delivery_id, number)
    return Plan(probes=tuple(k for k in PROBES if applies(rates, k, delivery_id, number)),
                own=(SLOW_SEND,) if slow else (),
                repeats=(DUPLICATE,) if applies(rates, DUPLICATE, delivery_id, number) else (),
                hold_s=min(merchant.slow_send_s, MAX_SLOW_SEND_S) if slow else 0.0)


def label(kinds: tuple[str, ...]) -> Optional[str]:
    """The value of ``Attempt.fault``: the kinds, comma-separated, or None."""
    return ",".join(kinds) or None


# -- request mutations ---------------------------------------------------------------------
def probe(request: SignedRequest, kind: str, merchant: Merchant) -> SignedRequest:
    """The request of a probe: signed 10 minutes in the past, or with a corrupted signature."""
    if kind == STALE_TIMESTAMP:
        return stale(request, merchant, datetime.now(timezone.utc) - STALE_BY)
    if kind == WRONG_SIGNATURE:
        return wrong_signature(request)
    raise ValueError(f"{kind} is not a probe")


def stale(request: SignedRequest, merchant: Merchant, moment: datetime) -> SignedRequest:
    """The same request signed again with the wall-clock ``moment`` as its timestamp (§2a, §2b, §2c)."""
    return _resigned(request, merchant, moment)


def duplicate(request: SignedRequest, merchant: Merchant) -> SignedRequest:
    """The same call delivered once more: the same body (and businessId), signed again now with a new
    nonce, so that a merchant guarding against replays (§2a) still has to answer it idempotently."""
    return _resigned(request, merchant, datetime.now(timezone.utc), new_nonce())


def _resigned(request: SignedRequest, merchant: Merchant, moment: datetime, nonce: Optional[str] = None
              ) -> SignedRequest:
    """``request`` signed again at ``moment``, with its own nonce unless ``nonce`` is given."""
    millis = str(int(moment.timestamp() * 1000))
    if "x-sign" in request.headers:  # kit sync (§2b)
        nonce = nonce or request.headers["x-nonce"]
        sign = kit_x_sign(merchant.kit_key or "", nonce, millis, request.body,
                          upper=merchant.kit_sign_hex_case == "upper")
        return replace(request, headers={**request.headers, "x-timestamp": millis, "x-nonce": nonce, "x-sign": sign})
    prefix = append_query(merchant.production_url, "")
    if not request.url.startswith(prefix):
        raise ValueError("the request was not made for this merchant's production URL")
    if _AUTH_TOKEN.search(request.url):  # V1 GET (§2c): no nonce, a new timeStamp
        params = _query_params(request.url[len(prefix):])
        params["timeStamp"] = v1_timestamp(moment)
        return replace(request, url=prefix + v1_signed_query(merchant.access_key, params))
    found = _BASIC_TAIL.search(request.url)  # §2a
    if found is None:
        raise ValueError("the request carries no §2a signature")
    nonce = nonce or found.group(2)
    signature = basic_signature(merchant.access_key, nonce, millis, request.body,
                                upper=merchant.signature_hex_case == "upper")
    return replace(request, url=prefix + basic_signed_query(signature, millis, nonce))


def wrong_signature(request: SignedRequest) -> SignedRequest:
    """The same request with one character of its signature (``signature``, ``x-sign`` or
    ``authToken``) changed."""
    if "x-sign" in request.headers:
        return replace(request, headers={**request.headers, "x-sign": _flip(request.headers["x-sign"])})
    token = _AUTH_TOKEN.search(request.url)
    if token is not None:
        corrupted = quote(_flip(unquote(token.group(2))), safe="")
        return replace(request, url=request.url[:token.start(2)] + corrupted)
    found = re.search(r"([?&]signature=)([0-9A-Fa-f]+)", request.url)
    if found is None:
        raise ValueError("the request carries no §2a signature")
    return replace(request, url=request.url[:found.start(2)] + _flip(found.group(2)) + request.url[found.end(2):])


def _flip(text: str) -> str:
    """Change the first character (to another one of the hex and base64 alphabets)."""
    return ("1" if text[:1] == "0" else "0") + text[1:]


def _query_params(query: str) -> dict[str, str]:
    """The decoded members of a V1 query, ``authToken`` left out."""
    pairs = (part.partition("=") for part in query.split("&") if part)
    return {unquote(name): unquote(value) for name, _, value in pairs if unquote(name) != "authToken"}


# -- explanations ----------------------------------------------------------------------------
_WHAT = {
    STALE_TIMESTAMP: "signed with a timestamp 10 minutes in the past",
    WRONG_SIGNATURE: "sent with a corrupted signature",
    DUPLICATE: "a repeat of the attempt before it (the same body, a new nonce and timestamp)",
}


def explain(kind: str, passed: bool) -> str:
    """The warning sentence of a faulted extra attempt, given whether the merchant accepted it."""
    head = (f"outbound fault {kind}: this request was deliberately {_WHAT[kind]}; it uses no slot of the "
            "schedule, and the real attempt is sent as well")
    if kind == DUPLICATE:
        return head + ": an idempotent merchant answers it as it answered the first (PROTOCOL §4 R1)"
    if not passed:
        return head + ": refusing it is the correct behaviour (PROTOCOL §2a)"
    if kind == STALE_TIMESTAMP:
        return head + (": the merchant accepted it, yet a V2 merchant is expected to refuse a timestamp more than "
                       "60 s away (PROTOCOL §2a, §2b; V1 documents no window, §2c)")
    return head + ": the merchant accepted it, yet a correct merchant refuses it (PROTOCOL §2a, §2b, §2c)"
