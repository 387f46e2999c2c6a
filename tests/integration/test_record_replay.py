"""Record and replay: a merchant's traffic exported as JSON lines, then sent again, re-signed, to
another merchant service whose answers are compared with the recorded ones."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from aiohttp import web

from emulator.app import EmulatorServer
from emulator.protocol.signing import verify_kit_x_sign, verify_v1_auth_token
from emulator.replay.record import split_v1_url, unsigned_url
from emulator.replay.replay import Recorded, compare, replay_command, replay_main, signed_for_target
from emulator.testing.client import SandboxClient, SandboxError
from emulator.testing.merchant_stub import MerchantStub

from ..conftest import STUB_KEY, Shop
from ..helpers import Api
from . import v1_merchant as v1

PREFIX = "/sandbox/api/v1"
SIGNING = {"signature", "timestamp", "nonce", "authToken", "timeStamp"}


@asynccontextmanager
async def running_stub(**behaviour: Any) -> AsyncIterator[tuple[MerchantStub, str]]:
    """Another MerchantStub with the shared key, on a free loopback port."""
    stub = MerchantStub(STUB_KEY)
    for name, value in behaviour.items():
        setattr(stub.behaviour, name, value)
    runner = web.AppRunner(stub.app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield stub, f"http://127.0.0.1:{port}/produce"
    finally:
        await runner.cleanup()


async def produce_traffic(shop: Shop) -> str:
    """newInstance, queryInstance, refreshInstance, updateInstanceStatus FREEZE and UNFREEZE."""
    api = shop.api
    order = (await shop.buy())["order_id"]
    await api.advance(minutes=2)
    await api.ok("POST", f"/orders/{order}/renew", {"period_number": 1})
    await api.ok("POST", f"/orders/{order}/freeze")
    await api.settle()
    await api.ok("POST", f"/orders/{order}/unfreeze")
    await api.settle()
    return order


async def export(emulator: EmulatorServer, merchant_id: str = "acme", **query: str) -> tuple[int, str, str, str]:
    """Status, content type, ``X-Next-Since-Id`` and body of a raw traffic request."""
    async with aiohttp.ClientSession() as session:
        url = f"{emulator.url}{PREFIX}/merchants/{merchant_id}/traffic"
        async with session.get(url, params=query) as response:
            return (response.status, response.headers.get("Content-Type", ""),
                    response.headers.get("X-Next-Since-Id", ""), await response.text())


async def write_export(emulator: EmulatorServer, path: Path, merchant_id: str = "acme") -> list[dict[str, Any]]:
    async with SandboxClient(emulator.url) as client:
        lines = await client.traffic(merchant_id)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return lines


async def test_the_export_carries_each_answered_attempt_without_its_signature(
        emulator: EmulatorServer, shop: Shop) -> None:
    await produce_traffic(shop)
    status, content_type, following, text = await export(emulator)
    assert status == 200 and content_type.startswith("application/x-ndjson") and following == ""
    lines = [json.loads(line) for line in text.splitlines()]
    activities = [(line["activity"], json.loads(line["body"]).get("status")) for line in lines]
    assert activities == [("newInstance", None), ("queryInstance", None), ("refreshInstance", None),
                          ("updateInstanceStatus", "FREEZE"), ("updateInstanceStatus", "UNFREEZE")]
    received = [call.raw_body for call in shop.stub.stub.received]
    assert [line["body"] for line in lines] == received  # the exact bytes the merchant got
    assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)
    for line in lines:
        assert line["url"] == shop.stub.url and line["method"] == "POST" and line["family"] == "saas_v2_slim"
        assert not SIGNING & {name for name, _ in parse_qsl(urlsplit(line["url"]).query)}
        assert not {"x-sign", "x-timestamp", "x-nonce"} & {name.lower() for name in line["headers"]}
        assert line["headers"]["User-Agent"].startswith("koogallery-emulator/")
        assert line["response"]["status"] == 200
        assert json.loads(line["response"]["body"])["resultCode"] == "000000"
        assert line["attempt"] == 1 and line["sent_at"].endswith("Z") and "params" not in line
    delivery = await shop.api.delivery(lines[0]["delivery_id"])
    assert delivery["activity"] == "newInstance"


async def test_pages_follow_the_attempt_id(emulator: EmulatorServer, shop: Shop) -> None:
    await produce_traffic(shop)
    _, _, following, first = await export(emulator, limit="2")
    ids = [json.loads(line)["id"] for line in first.splitlines()]
    assert len(ids) == 2 and following == str(ids[-1])
    _, _, _, rest = await export(emulator, since_id=following)
    assert [json.loads(line)["id"] for line in rest.splitlines()][0] > ids[-1]
    async with SandboxClient(emulator.url) as client:
        everything = await client.traffic("acme")
        assert [line["id"] for line in await client.traffic("acme", since_id=ids[-1])] == [
            line["id"] for line in everything[2:]]
    assert len(everything) == 5


async def test_an_attempt_without_a_reply_is_not_exported(emulator: EmulatorServer, api: Api) -> None:
    await api.ok("POST", "/merchants", {"id": "gone", "name": "Gone", "production_url": "http://127.0.0.1:9/produce",
                                        "access_key": STUB_KEY})
    await api.ok("POST", "/products", {"code": "gone-monthly", "merchant_id": "gone", "name": "Gone monthly",
                                       "charging_mode": "PERIOD", "period_type": "month"})
    await api.ok("POST", "/orders", {"product": "gone-monthly"})
    await api.settle()
    assert (await api.deliveries(merchant_id="gone"))[0]["attempts"] == 1
    assert (await export(emulator, "gone"))[::3] == (200, "")


async def test_an_unknown_merchant_is_a_404(emulator: EmulatorServer, api: Api) -> None:
    status, _, _, text = await export(emulator, "nobody")
    assert status == 404
    assert json.loads(text) == {"error": {"code": "not_found", "message": "merchant 'nobody' does not exist",
                                          "field": "merchant_id"}}
    async with SandboxClient(emulator.url) as client:
        with pytest.raises(SandboxError) as caught:
            await client.traffic("nobody")
    assert caught.value.status == 404 and caught.value.error["field"] == "merchant_id"


async def test_replay_reports_the_one_request_that_changed(emulator: EmulatorServer, shop: Shop, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    await produce_traffic(shop)
    path = tmp_path / "traffic.jsonl"
    lines = await write_export(emulator, path)
    report = tmp_path / "report.json"
    async with running_stub(fail_next=1, failure="result_code", fail_activities=["refreshInstance"]) as (stub, url):
        code = await asyncio.to_thread(replay_main, [str(path), "--to", url, "--key", STUB_KEY,
                                                     "--report", str(report)])
    assert code == 1
    assert all(call.signature_ok for call in stub.received) and len(stub.received) == len(lines)
    assert [call.raw_body for call in stub.received] == [line["body"] for line in lines]
    results = json.loads(report.read_text(encoding="utf-8"))
    assert (results["total"], results["same"], results["different"]) == (5, 4, 1)
    assert [r["same"] for r in results["results"]] == [True, True, False, True, True]
    changed = results["results"][2]
    assert changed["activity"] == "refreshInstance" and changed["delivery_id"] == lines[2]["delivery_id"]
    assert changed["differences"] == ['resultCode: "000000" → "000005"',
                                      'resultMsg: "success." → "other inner error"']
    out = capsys.readouterr().out
    assert out.count("same  line") == 4 and out.count("DIFF  line 3") == 1
    assert '      resultCode: "000000" → "000005"' in out
    assert out.rstrip().endswith("4 same, 1 different")


async def test_ignored_members_are_not_compared(emulator: EmulatorServer, shop: Shop, tmp_path: Path) -> None:
    await produce_traffic(shop)
    path = tmp_path / "traffic.jsonl"
    await write_export(emulator, path)
    report = tmp_path / "report.json"
    async with running_stub(fail_next=1, failure="result_code", fail_activities=["refreshInstance"]) as (_, url):
        code = await replay_command([str(path), "--to", url, "--key", STUB_KEY, "--ignore", "resultMsg",
                                     "--report", str(report)])
    assert code == 1
    differences = [r["differences"] for r in json.loads(report.read_text(encoding="utf-8"))["results"]]
    assert differences == [[], [], ['resultCode: "000000" → "000005"'], [], []]


async def test_an_identical_service_answers_the_same(emulator: EmulatorServer, shop: Shop, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The replayed newInstance keeps its businessId, from which the stub derives the instanceId."""
    await produce_traffic(shop)
    path = tmp_path / "traffic.jsonl"
    lines = await write_export(emulator, path)
    async with running_stub() as (stub, url):
        assert await replay_command([str(path), "--to", url, "--key", STUB_KEY]) == 0
    assert list(stub.instances) == [json.loads(lines[0]["response"]["body"])["instanceId"]]
    assert capsys.readouterr().out.rstrip().endswith("5 same, 0 different")


async def test_a_wrong_key_and_a_dead_target_are_differences(emulator: EmulatorServer, shop: Shop,
                                                             tmp_path: Path) -> None:
    await shop.buy()
    path = tmp_path / "traffic.jsonl"
    await write_export(emulator, path)
    report = tmp_path / "report.json"
    async with running_stub() as (_, url):
        assert await replay_command([str(path), "--to", url, "--key", "not-the-key", "--report", str(report)]) == 1
    [result] = json.loads(report.read_text(encoding="utf-8"))["results"]
    assert 'resultCode: "000000" → "000001"' in result["differences"]
    assert await replay_command([str(path), "--to", "http://127.0.0.1:9/produce", "--key", STUB_KEY,
                                 "--report", str(report)]) == 1
    [result] = json.loads(report.read_text(encoding="utf-8"))["results"]
    assert result["differences"][0].startswith("transport error: ") and result["status"] is None


@pytest.mark.parametrize("content, problem", [
    (None, "cannot read"),
    ("", "holds no recorded request"),
    ('{"method": "POST"}\nnot json\n', "line 1: 'response' is missing"),
    ('\n{"x": 1', "line 2: not JSON"),
    ('[1]', "line 1: not a JSON object"),
])
def test_an_unusable_file_is_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         content: str | None, problem: str) -> None:
    path = tmp_path / "traffic.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert replay_main([str(path), "--to", "http://127.0.0.1:9/produce", "--key", "k"]) == 2
    err = capsys.readouterr().err
    assert problem in err and str(path) in err and "Traceback" not in err


def test_bad_arguments_are_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "traffic.jsonl"
    path.write_text('{"x": 1}\n', encoding="utf-8")
    assert replay_main([str(path), "--key", "k"]) == 2
    assert "--to" in capsys.readouterr().err
    assert replay_main([str(path), "--to", "ftp://example.com", "--key", "k"]) == 2
    assert "must begin with http://" in capsys.readouterr().err
    kit = {"method": "POST", "activity": "tenantSync", "url": "http://x/produce/produceAPI/v2/tenantSync",
           "body": "{}", "response": {"status": 200, "body": "{}"}}
    path.write_text(json.dumps(kit) + "\n", encoding="utf-8")
    assert replay_main([str(path), "--to", "http://127.0.0.1:9/produce", "--key", "k"]) == 2
    assert "line 1 is a kit sync (tenantSync): give --kit-key" in capsys.readouterr().err


async def test_a_v1_merchant_is_replayed_with_a_new_auth_token(emulator: EmulatorServer, api: Api,
                                                              tmp_path: Path) -> None:
    """The V1 reply's appInfo is encrypted with a random IV, so its secrets differ at every answer."""
    async for url in v1.serve(recording := v1.V1Merchant()):
        await api.ok("POST", "/merchants", {"id": "old", "name": "Old", "production_url": url,
                                            "access_key": v1.V1_KEY, "family": "saas_v1"})
        await api.ok("POST", "/products", {"code": "v1-monthly", "merchant_id": "old", "name": "V1 monthly",
                                           "charging_mode": "PERIOD", "period_type": "month"})
        await api.ok("POST", "/orders", {"product": "v1-monthly", "buyer": {"mobile_phone": "13800000000"}})
        await api.settle()
        path = tmp_path / "v1.jsonl"
        [line] = await write_export(emulator, path, "old")
        assert line["method"] == "GET" and line["url"] == url and line["body"] == ""
        assert line["params"]["activity"] == "newInstance" and not SIGNING & set(line["params"])
        assert line["params"] == {k: v for k, v in recording.calls[0].params.items() if k not in SIGNING}
    async for url in v1.serve(replica := v1.V1Merchant()):
        secrets = ["--ignore", "appInfo.userName", "--ignore", "appInfo.password"]
        assert await replay_command([str(path), "--to", url, "--key", v1.V1_KEY, *secrets]) == 0
        assert await replay_command([str(path), "--to", url, "--key", v1.V1_KEY]) == 1
    assert all(call.token_ok and call.method == "GET" for call in replica.calls)
    assert replica.calls[0].params["mobilePhone"] == line["params"]["mobilePhone"]
    assert replica.calls[0].mobile_phone == "13800000000"


def test_kit_syncs_and_v1_calls_are_signed_for_the_target() -> None:
    kit = Recorded(1, 7, 1, "tenantSync", "POST", "http://old/produce/produceAPI/v2/tenantSync",
                   {"Host": "old", "Content-Length": "2", "Accept": "application/json"}, '{"flag":1}', None, 200, "{}")
    url, headers, body = signed_for_target(kit, "https://new.example.com/produce?x=1", "key", "kit-key")
    assert url == "https://new.example.com/produce/produceAPI/v2/tenantSync" and body == b'{"flag":1}'
    assert set(headers) == {"Accept", "x-sign", "x-timestamp", "x-nonce"}
    assert verify_kit_x_sign("kit-key", headers["x-nonce"], headers["x-timestamp"], body, headers["x-sign"])
    legacy = Recorded(2, 8, 1, "releaseInstance", "GET", "http://old/produce", {}, "",
                      {"activity": "releaseInstance", "instanceId": "a/b+c"}, 200, "{}")
    url, _, body = signed_for_target(legacy, "https://new.example.com/produce", "key", None)
    sent, params = split_v1_url(url, {"activity", "instanceId", "timeStamp", "authToken"})
    assert sent == "https://new.example.com/produce" and body == b"" and "a%2Fb%2Bc" in url
    assert params == {"activity": "releaseInstance", "instanceId": "a/b+c"}
    assert verify_v1_auth_token("key", dict(parse_qsl(urlsplit(url).query)))


def test_the_signing_parameters_leave_the_rest_of_the_query() -> None:
    assert unsigned_url("https://m.example.com/p?tenant=a&signature=S&timestamp=1&nonce=N") == \
        "https://m.example.com/p?tenant=a"
    assert unsigned_url("https://m.example.com/p?signature=S&timestamp=1&nonce=N") == "https://m.example.com/p"


def test_the_comparison_is_exact_and_order_insensitive() -> None:
    old = '{"resultCode":"000000","info":[{"instanceId":"a","n":1}],"extra":true}'
    assert compare(200, old, 200, '{"extra":true,"info":[{"n":1,"instanceId":"a"}],"resultCode":"000000"}') == []
    assert compare(200, old, 500, '{"resultCode":"000000","info":[{"instanceId":"b","n":"1"}],"more":1}') == [
        "status: 200 → 500", "extra: missing (was true)", 'info[0].instanceId: "a" → "b"', 'info[0].n: 1 → "1"',
        "more: extra member (now 1)"]
    assert compare(200, old, 200, '{"resultCode":"000000","info":[{"instanceId":"b","n":1}]}',
                   {"instanceId", "extra"}) == []
    assert compare(200, "<html>", 200, "<html>") == []
    assert compare(200, "<html>", 200, '{"a":1}') == ['body: <html> → {"a":1}']


async def test_fault_probes_are_not_exported(emulator: EmulatorServer, shop: Shop, tmp_path: Path) -> None:
    """A probe signed wrongly on purpose would differ once replayed with a correct signature."""
    await shop.api.ok("PATCH", "/merchants/acme", {"faults": {"wrong_signature": 1.0, "stale_timestamp": 1.0}})
    await shop.buy()
    probes = [a for d in await shop.api.deliveries() for a in (await shop.api.delivery(d["id"]))["attempt_log"]
              if a["fault"] in ("wrong_signature", "stale_timestamp")]
    assert probes, "the faults were sent"
    lines = await write_export(emulator, tmp_path / "traffic.jsonl")
    assert lines and all(json.loads(line["response"]["body"])["resultCode"] == "000000" for line in lines)
    assert await replay_command([str(tmp_path / "traffic.jsonl"), "--to", shop.stub.url, "--key", STUB_KEY]) == 0
