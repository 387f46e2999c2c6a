"""The console's long lists over HTTP: search by any id, filters, downloads, and hostile query
strings, against the real emulator and its built-in demo merchant."""

from __future__ import annotations

import csv
import io
import json
import re

import aiohttp
import pytest

from emulator.app import EmulatorServer
from emulator.marketplace import search

from ..helpers import Api

MONTHLY = "demo-saas-monthly"


async def _get(emulator: EmulatorServer, path: str, **kwargs: object) -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as session:
        async with session.get(emulator.url + path, allow_redirects=False, **kwargs) as response:  # type: ignore[arg-type]
            return response.status, await response.text(), response


def _shown(html: str) -> str:
    match = re.search(r"data-range>([^<]*)<", html)
    assert match, html[:2000]
    return match.group(1)


async def test_any_id_finds_what_it_names(emulator: EmulatorServer, api: Api) -> None:
    order = await api.ok("POST", "/orders", {"product": MONTHLY})
    other = await api.ok("POST", "/orders", {"product": MONTHLY})
    await api.settle()
    order_id, key = order["order_id"], order["lines"][0]["order_line_id"]
    instance = await api.ok("GET", f"/instances/{key}")
    purchase = (await api.deliveries(order_id=order_id, activity="newInstance"))[0]
    business_id = (await api.delivery(purchase["id"]))["attempt_log"][0]["business_id"]

    for term, target in [(order_id, f"/orders/{order_id}"), (order_id.lower(), f"/orders/{order_id}"),
                         (key, f"/instances/{key}"), (business_id.upper(), None)]:
        status, _html, response = await _get(emulator, "/search", params={"q": term})
        if target is None:  # the demo merchant's instanceId is that businessId: two things match
            assert status == 200
        else:
            assert status == 303 and response.headers["Location"] == target, (term, status)

    # The deliveries of what an id names: an order's include its instance's; a businessId's
    # is its delivery; the merchant's instanceId stands for the instance.
    status, html, _ = await _get(emulator, "/deliveries", params={"q": order_id.lower()})
    mine = await api.deliveries(order_id=order_id, limit=100)
    assert status == 200 and _shown(html) == f"1–{len(mine)} of {len(mine)} deliveries"
    assert other["order_id"] not in html
    status, html, _ = await _get(emulator, "/deliveries", params={"q": instance["instance_id"]})
    assert other["order_id"] not in html and order_id in html

    # A part of an id lists what contains it.
    status, html, _ = await _get(emulator, "/search", params={"q": order_id[-6:].lower()})
    assert status == 200 and order_id in html and "contain" in html


async def test_a_part_matching_too_many_ids_says_so(emulator: EmulatorServer, api: Api,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "PARTIAL_LIMIT", 2)
    for _ in range(6):
        await api.ok("POST", "/orders", {"product": MONTHLY})
    status, html, _ = await _get(emulator, "/orders", params={"q": "cs"})
    assert status == 200 and "type more of the id to narrow it" in html
    assert _shown(html) != "1–6 of 6 orders"  # the orders of the first ids found, not every order


async def test_filters_and_downloads_agree(emulator: EmulatorServer, api: Api) -> None:
    for flag in ("0", "0", "1"):
        await api.ok("POST", "/orders", {"product": MONTHLY, "test_flag": flag})
    await api.settle()
    everything = await api.deliveries(limit=1000)
    tests = [d for d in everything if d["test_flag"] == "1"]
    assert tests and len(tests) < len(everything)
    for params, expected in [({"test": "only"}, tests),
                             ({"test": "hide"}, [d for d in everything if d["test_flag"] != "1"]),
                             ({"activity": "newInstance", "test": "hide"},
                              [d for d in everything if d["test_flag"] != "1" and d["activity"] == "newInstance"])]:
        status, html, _ = await _get(emulator, "/deliveries", params=params)
        assert status == 200 and _shown(html) == f"1–{len(expected)} of {len(expected)} deliveries"
        status, text, response = await _get(emulator, "/deliveries/export.csv", params=params)
        assert status == 200 and response.headers["Content-Disposition"].startswith("attachment")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert sorted(int(r["id"]) for r in rows) == sorted(d["id"] for d in expected)
        status, text, _ = await _get(emulator, "/deliveries/export.json", params=params)
        assert sorted(d["id"] for d in json.loads(text)) == sorted(d["id"] for d in expected)
    status, text, _ = await _get(emulator, "/orders/export.json", params={"test": "only"})
    assert [o["test_flag"] for o in json.loads(text)] == ["1"]

    # The dashboard's counts leave dial-test traffic out on request.
    status, html, _ = await _get(emulator, "/", params={"test": "hide"})
    assert status == 200 and "without dial-test traffic" in html

    # A time range on the emulator clock: nothing before the orders, all of them after.
    now = (await api.ok("GET", "/clock"))["now"].removesuffix("Z")
    status, html, _ = await _get(emulator, "/deliveries", params={"until": "2000-01-01T00:00"})
    assert _shown(html) == "0 of 0 deliveries"
    status, html, _ = await _get(emulator, "/deliveries", params={"since": "2000-01-01T00:00", "until": now + "9"})
    assert _shown(html).endswith(f"of {len(everything)} deliveries")


@pytest.mark.parametrize("query", [
    {"page": "-1"}, {"page": "9" * 40}, {"size": "abc"}, {"size": "100000"}, {"since": "yesterday"},
    {"until": "2026-13-45T99:99"}, {"q": "x" * 5000}, {"q": "%_\\' OR 1=1 --"}, {"q": "\u0000\ufffd😀"},
    {"outcome": "failed"}, {"outcome": "nope"}, {"activity": "<script>"}, {"merchant_id": "x" * 300},
    {"test": "maybe"}, {"order_id": "'; DROP TABLE delivery; --"},
])
async def test_hostile_list_queries_get_a_page_not_an_error(emulator: EmulatorServer, api: Api,
                                                           query: dict[str, str]) -> None:
    await api.ok("POST", "/orders", {"product": MONTHLY})
    for path in ("/deliveries", "/orders", "/search", "/deliveries/export.csv", "/orders/export.json"):
        status, text, _ = await _get(emulator, path, params=query)
        assert status == 200, (path, query, status, text[:300])
        assert "<script>" not in text.replace("&lt;script&gt;", "")
    status, html, _ = await _get(emulator, "/deliveries", params={"since": "yesterday"})
    assert "since: &#39;yesterday&#39; is not a date and time" in html


async def test_an_attempt_is_signed_again_through_the_control_api(emulator: EmulatorServer, api: Api) -> None:
    order = await api.ok("POST", "/orders", {"product": MONTHLY})
    await api.settle()
    delivery = (await api.deliveries(order_id=order["order_id"], activity="newInstance"))[0]
    original = (await api.delivery(delivery["id"]))["attempt_log"][0]["request"]
    fresh = await api.ok("POST", f"/deliveries/{delivery['id']}/attempts/1/resign")
    assert fresh["body"] == original["body"] and fresh["url"] != original["url"]
    assert fresh["curl"].startswith("curl -sS -X POST ")
    status, body = await api.call("POST", f"/deliveries/{delivery['id']}/attempts/9/resign")
    assert status == 404 and body["error"]["field"] == "number"
    status, _body = await api.call("POST", "/deliveries/999999/attempts/1/resign")
    assert status == 404
