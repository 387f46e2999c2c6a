"""The export of a merchant's traffic: one JSON object per attempt that got a reply, oldest first,
with the request as the merchant saw it minus what signed it (PROTOCOL §2a, §2b, §2c)."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence
from urllib.parse import unquote

from sqlalchemy import or_
from sqlmodel import Session, col, select

from ..delivery.faults import PROBES
from ..store import Store
from ..store.tables import Attempt, Delivery, Merchant

SIGNING_QUERY = frozenset({"signature", "timestamp", "nonce", "authToken"})  # §2a URL, §2c authToken
V1_SIGNING = frozenset({"authToken", "timeStamp"})  # regenerated on every V1 request (§2c)
V1_COMMON = frozenset({"activity", "testFlag", "businessId"})  # V1 members added to the delivery's params
SIGNING_HEADERS = frozenset({"x-sign", "x-timestamp", "x-nonce"})  # §2b
DEFAULT_FAMILY = "saas_v2_slim"
MAX_LIMIT = 1000


async def read_traffic(store: Store, merchant_id: str, since_id: int = 0,
                       limit: int = MAX_LIMIT) -> Optional[list[dict[str, Any]]]:
    """The export lines of the merchant's answered attempts with an id above ``since_id``, at most
    ``limit`` of them; None when the merchant does not exist."""
    return await store.run_read(lambda session: _read(session, merchant_id, since_id, limit))


def _read(session: Session, merchant_id: str, since_id: int, limit: int) -> Optional[list[dict[str, Any]]]:
    if session.get(Merchant, merchant_id) is None:
        return None
    return [traffic_line(attempt, delivery) for attempt, delivery in _page(session, merchant_id, since_id, limit)]


def _page(session: Session, merchant_id: str, since_id: int, limit: int) -> Sequence[tuple[Attempt, Delivery]]:
    """A keyset page by attempt id: the cost does not grow with the depth of the export. Probes of the
    outbound faults (signed wrongly on purpose) are left out: replayed, re-signed, they would differ."""
    probe = or_(*(col(Attempt.fault).like(f"%{kind}%") for kind in PROBES))
    query = (select(Attempt, Delivery)
             .join(Delivery, col(Attempt.delivery_id) == col(Delivery.id))
             .where(col(Delivery.merchant_id) == merchant_id, col(Attempt.id) > since_id,
                    col(Attempt.response_status).is_not(None), or_(col(Attempt.fault).is_(None), ~probe))
             .order_by(col(Attempt.id))
             .limit(limit))
    return session.exec(query).all()


def traffic_line(attempt: Attempt, delivery: Delivery) -> dict[str, Any]:
    """One attempt as an export line."""
    line: dict[str, Any] = {
        "id": attempt.id, "delivery_id": delivery.id, "attempt": attempt.number, "activity": delivery.activity,
        "family": delivery.family or DEFAULT_FAMILY, "method": attempt.method,
        "headers": unsigned_headers(attempt.request_headers or {}), "body": attempt.request_body,
        "response": {"status": attempt.response_status, "body": attempt.response_body},
        "sent_at": _iso(attempt),
    }
    if attempt.method == "GET":
        names = set(delivery.params or {}) | V1_COMMON | V1_SIGNING
        line["url"], line["params"] = split_v1_url(attempt.url, names)
    else:
        line["url"] = unsigned_url(attempt.url)
    return line


def unsigned_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """The request headers without the kit signature (§2b)."""
    return {name: value for name, value in headers.items() if name.lower() not in SIGNING_HEADERS}


def unsigned_url(url: str) -> str:
    """The URL without the §2a ``signature``/``timestamp``/``nonce`` (and any ``authToken``) parameters;
    the rest of the query is kept as it was written."""
    base, _, query = url.partition("?")
    kept = [pair for pair in query.split("&") if pair and _name(pair) not in SIGNING_QUERY]
    return base + ("?" + "&".join(kept) if kept else "")


def split_v1_url(url: str, v1_names: set[str]) -> tuple[str, dict[str, str]]:
    """A V1 GET's production URL and its decoded parameters (§2c), ``timeStamp`` and ``authToken``
    left out; query parameters that are not the call's own stay in the URL."""
    base, _, query = url.partition("?")
    kept: list[str] = []
    params: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        name = _name(pair)
        if name not in v1_names:
            kept.append(pair)
        elif name not in V1_SIGNING:
            params.setdefault(name, unquote(pair.partition("=")[2]))
    return base + ("?" + "&".join(kept) if kept else ""), params


def _name(pair: str) -> str:
    return unquote(pair.partition("=")[0])


def _iso(attempt: Attempt) -> str:
    return attempt.sent_at.isoformat(timespec="seconds") + "Z"


def ndjson(lines: list[dict[str, Any]]) -> bytes:
    """JSON lines: one compact UTF-8 object a line."""
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines).encode()
