"""Hostile input to the built-in demo merchant, over loopback HTTP against a running emulator: the
control endpoint ``PUT /demo-merchant/_behaviour`` answers 400 naming the field and keeps the previous
behaviour, and ``POST /demo-merchant/produce`` never answers 500; either way the next purchase is
delivered as usual."""

from __future__ import annotations

import json
from typing import Any, Optional

import aiohttp
import pytest

from emulator.app import EmulatorServer
from emulator.protocol.signing import basic_signature, new_nonce, wall_clock_ms

from ..helpers import Api

DEMO_KEY = "demo-access-key-0001"
DEEP = b"[" * 1000 + b"]" * 1000
GIANT = b"9" * 5000
PREVIOUS = {"fail_next": 1, "failure": "result_code", "fail_activities": ["releaseInstance"], "refuse_changes": True}

HOSTILE_BEHAVIOURS: list[tuple[bytes, Optional[str]]] = [  # body, the field the error names
    (b'{"fail_next": "ten"}', "fail_next"),
    (b'{"fail_next": -1}', "fail_next"),
    (b'{"fail_next": true}', "fail_next"),
    (b'{"fail_next": 1.5}', "fail_next"),
    (b'{"fail_next": ' + GIANT + b"}", None),
    (b'{"not_ready_polls": -3}', "not_ready_polls"),
    (b'{"delay_s": "1"}', "delay_s"),
    (b'{"delay_s": -0.5}', "delay_s"),
    (b'{"delay_s": NaN}', None),  # not JSON at all: refused before any field is read
    (b'{"hang_s": 1e400}', "hang_s"),
    (b'{"hang_s": 1e9}', "hang_s"),
    (b'{"failure": "explode"}', "failure"),
    (b'{"failure": null}', "failure"),
    (b'{"fail_activities": ["dance"]}', "fail_activities.0"),
    (b'{"fail_activities": "newInstance"}', "fail_activities"),
    (b'{"fail_activities": [["newInstance"]]}', "fail_activities.0"),
    (b'{"reject_signatures": "yes"}', "reject_signatures"),
    (b'{"refuse_changes": 1}', "refuse_changes"),
    (b'{"fail_next": 0, "bogus": 1}', "bogus"),
    (b'{"fail_activities": ' + DEEP + b"}", None),
    (DEEP, None),
    (b"[1, 2]", None),
    (b'"fail"', None),
    (b"null", None),
    (b"", None),
    (b'{"fail_next": 1', None),
    (b'{"failure": "\xff\xfe"}', None),
]


async def _raw(session: aiohttp.ClientSession, method: str, url: str, body: bytes) -> tuple[int, Any]:
    async with session.request(method, url, data=body, headers={"Content-Type": "application/json"}) as response:
        return response.status, await response.json(content_type=None)


async def _buy_and_check_delivery(api: Api) -> None:
    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.advance(minutes=2)
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert delivery["status"] == "succeeded", delivery


@pytest.mark.parametrize(("body", "field"), HOSTILE_BEHAVIOURS,
                         ids=[f"{i}:{body[:24]!r}" for i, (body, _f) in enumerate(HOSTILE_BEHAVIOURS)])
async def test_a_hostile_behaviour_is_refused_and_the_previous_one_stays(
        emulator: EmulatorServer, api: Api, body: bytes, field: Optional[str]) -> None:
    url = emulator.url + "/demo-merchant/_behaviour"
    async with aiohttp.ClientSession() as session:
        status, previous = await _raw(session, "PUT", url, json.dumps(PREVIOUS).encode())
        assert status == 200 and previous["refuse_changes"] is True
        status, answer = await _raw(session, "PUT", url, body)
        assert status == 400, answer
        assert isinstance(answer["error"], str) and answer["error"].startswith("invalid behaviour: ")
        if field is not None:
            assert answer["field"] == field and f"{field}:" in answer["error"]
        status, now = await _raw(session, "GET", url, b"")
        assert status == 200 and now == previous
    await _buy_and_check_delivery(api)


HOSTILE_CALLS: list[bytes] = [
    DEEP, b'{"activity": "newInstance", "x": ' + DEEP + b"}", b'{"activity": "newInstance", "orderId": ' + GIANT + b"}",
    b"\xff\xfe{}", b"[]", b'{"activity": ["newInstance"]}', b"", b"{",
]


@pytest.mark.parametrize("body", HOSTILE_CALLS, ids=[f"{i}:{b[:24]!r}" for i, b in enumerate(HOSTILE_CALLS)])
async def test_a_hostile_signed_call_to_produce_is_answered_without_a_500(
        emulator: EmulatorServer, api: Api, body: bytes) -> None:
    nonce, timestamp = new_nonce(), wall_clock_ms()
    query = {"signature": basic_signature(DEMO_KEY, nonce, timestamp, body), "timestamp": timestamp, "nonce": nonce}
    async with aiohttp.ClientSession() as session:
        async with session.post(emulator.url + "/demo-merchant/produce", params=query, data=body) as response:
            assert response.status == 200
            answer = await response.json(content_type=None)
    assert answer["resultCode"] in ("000001", "000002"), answer  # refused as a bad request, not a crash
    await _buy_and_check_delivery(api)
