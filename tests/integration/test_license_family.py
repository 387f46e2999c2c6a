"""License 2.0 family (PROTOCOL §6, §12.8) over loopback HTTP: an independent merchant that checks
each §2a signature, and the License open APIs signed with Huawei's own SDK signer, answering for
the code the order produced as the order moves through its life on the manual clock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ..helpers import Api
from . import joint_merchant as jm
from .test_openapi import sdk_call  # signed with Huawei's own SDK signer

ACTIVATE = "/api/mkp-openapi-public/global/v1/license/activate"
HEARTBEAT = "/api/mkp-openapi-public/global/v1/license/heartbeat"
HEARTBEAT_V2 = "/api/mkp-openapi-public/global/v2/license/heartbeat"


class Licensed:
    def __init__(self, api: Api, stub: jm.JointMerchant, base_url: str) -> None:
        self.api, self.stub, self.base_url = api, stub, base_url
        self.ak = self.sk = ""

    async def setup(self, url: str, **merchant: object) -> "Licensed":
        await self.api.ok("POST", "/merchants", {"id": "lic", "name": "Licensor", "production_url": url,
                                                 "access_key": jm.BASIC_KEY, "family": "license_v2", **merchant})
        await self.api.ok("POST", "/products", {
            "code": "lic-monthly", "merchant_id": "lic", "name": "Licensed software", "charging_mode": "PERIOD",
            "period_type": "month", "upgradable": True, "grace_days": 5, "retention_days": 10, "price": "99"})
        issued = await self.api.ok("POST", "/merchants/lic/credentials")
        self.ak, self.sk = issued["ak"], issued["sk"]
        return self

    async def open_api(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer, _headers = await sdk_call(self.base_url, self.ak, self.sk, "POST", path, [],
                                                  json.dumps(body).encode())
        return status, answer


@pytest.fixture
async def licensed(api: Api, emulator, merchant: tuple[jm.JointMerchant, str]) -> Licensed:  # type: ignore[no-untyped-def]
    stub, url = merchant
    return await Licensed(api, stub, emulator.url).setup(url)


async def test_a_licence_follows_its_order_through_the_open_apis(api: Api, licensed: Licensed) -> None:
    order = await api.ok("POST", "/orders", {"product": "lic-monthly", "period_number": 1, "test_flag": "1"})
    await api.settle()
    [get] = licensed.stub.named("getLicense")
    assert get.signature_ok and set(get.body) == {"activity", "businessId", "orderId", "orderLineId", "testFlag"}
    code = get.answer["license"]
    instance = await api.instance(order["instance"])
    assert instance["state"] == "active" and instance["instance_id"] == get.answer["instanceId"]
    codes = (await api.ok("GET", "/license-codes?merchant_id=lic"))["license_codes"]
    assert [c["code"] for c in codes] == [code]

    status, answer = await licensed.open_api(HEARTBEAT, {"license": code})
    assert answer["resultCode"] == "91381034", "a heartbeat before activation is refused (§12.8)"
    status, answer = await licensed.open_api(ACTIVATE, {"license": code})
    assert status == 200 and answer["resultCode"] == "MKT.0000" and answer["licenseInfo"]["status"] == "ACTIVE"
    status, answer = await licensed.open_api(HEARTBEAT, {"license": code,
                                                         "heartbeatInfo": {"thirdPartyAccount": "acc1"}})
    assert answer["resultCode"] == "MKT.0000" and answer["licenseInfo"]["lastHeartbeatTime"]

    await api.advance(days=32)  # expired, in grace: expireLicense
    assert [c.body["activity"] for c in licensed.stub.calls][-1] == "expireLicense"
    status, answer = await licensed.open_api(HEARTBEAT, {"license": code})
    assert answer["resultCode"] == "91381035", answer
    await api.advance(days=5)  # end of grace: changeLicenseStatus FREEZE
    last = licensed.stub.calls[-1].body
    assert last["activity"] == "changeLicenseStatus" and last["status"] == "FREEZE"
    status, answer = await licensed.open_api(HEARTBEAT, {"license": code})
    assert answer["resultCode"] == "91381036", answer
    status, answer = await licensed.open_api(HEARTBEAT_V2, {"licenses": [code, "PLUNKNOWN0000000"]})
    assert status == 200 and answer["resultCode"] == "MKT.0000", answer
    statuses = {info["license"]: info["status"] for info in answer["license_infos"]}
    assert statuses == {code: "FROZEN", "PLUNKNOWN0000000": "INVALID"}, "a status per code, not a failed batch"
    await api.advance(days=10)  # end of retention: releaseLicense
    assert licensed.stub.calls[-1].body["activity"] == "releaseLicense"
    status, answer = await licensed.open_api(ACTIVATE, {"license": code})
    assert answer["resultCode"] == "91381036"
    names = [c.body["activity"] for c in licensed.stub.calls]
    assert names == ["getLicense", "expireLicense", "changeLicenseStatus", "releaseLicense"]


async def test_a_renewal_after_grace_unfreezes_the_code(api: Api, licensed: Licensed) -> None:
    order = await api.ok("POST", "/orders", {"product": "lic-monthly", "period_number": 1})
    await api.settle()
    code = licensed.stub.named("getLicense")[0].answer["license"]
    await licensed.open_api(ACTIVATE, {"license": code})
    await api.advance(days=38)
    await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 2})
    await api.settle()
    names = [(c.body["activity"], c.body.get("status")) for c in licensed.stub.calls]
    assert names[-2:] == [("refreshLicense", None), ("changeLicenseStatus", "UNFREEZE")]
    status, answer = await licensed.open_api(HEARTBEAT, {"license": code})
    assert answer["resultCode"] == "MKT.0000" and answer["licenseInfo"]["status"] == "ACTIVE"


async def test_an_exhausted_get_license_waits_for_manual_delivery(api: Api, licensed: Licensed) -> None:
    licensed.stub.fail_with["getLicense"] = "000005"
    order = await api.ok("POST", "/orders", {"product": "lic-monthly"})
    await api.advance(hours=4)
    [delivery] = await api.deliveries(activity="getLicense")
    assert delivery["status"] == "exhausted" and delivery["attempts"] == 4
    assert (await api.instance(order["instance"]))["state"] == "pending", "held, not unsubscribed (§6)"
    assert (await api.ok("GET", f"/orders/{order['order_id']}"))["status"] == "paid"
    status, body = await api.call("POST", f"/orders/{order['order_id']}/deliver-license", {"license": ""})
    assert status == 400 and "license" in json.dumps(body)
    delivered = await api.ok("POST", f"/orders/{order['order_id']}/deliver-license", {"license": "PLBYHAND00000001"})
    assert delivered["state"] == "active"
    status, answer = await licensed.open_api(ACTIVATE, {"license": "PLBYHAND00000001"})
    assert answer["resultCode"] == "MKT.0000", answer


async def test_get_license_without_a_licence_fails_its_verdict(api: Api, licensed: Licensed) -> None:
    await api.ok("PATCH", "/merchants/lic", {"license_field": "licenseKey"})
    await api.ok("POST", "/orders", {"product": "lic-monthly"})
    await api.settle()
    [delivery] = await api.deliveries(activity="getLicense")
    assert "licenseKey" in delivery["last_verdict"] and "§6" in delivery["last_verdict"]


async def test_license_async_and_renamed_activities(api: Api, licensed: Licensed) -> None:
    await api.ok("PATCH", "/merchants/lic", {"license_activities": {"upgrade": "upgradeInstance"}})
    order = await api.ok("POST", "/orders", {"product": "lic-monthly"})
    await api.settle()
    await api.ok("POST", f"/orders/{order['order_id']}/license-async", {"device_fingerprint": "8d1e60e1"})
    await api.ok("POST", f"/orders/{order['order_id']}/upgrade", {"linear_value": 5})
    await api.settle()
    asynchronous = licensed.stub.calls[1].body
    assert asynchronous["activity"] == "getLicenseAsync" and asynchronous["deviceFingerprint"] == "8d1e60e1"
    assert asynchronous["effectiveTime"].endswith(" z") and asynchronous["eventId"]
    assert licensed.stub.calls[2].body["activity"] == "upgradeInstance"
    for action in ("query", "freeze"):
        status, body = await api.call("POST", f"/orders/{order['order_id']}/{action}")
        assert status in (200, 409), body
    status, body = await api.call("POST", f"/orders/{order['order_id']}/query")
    assert status == 409 and body["error"]["field"] == "family"


async def test_the_pytest_client_drives_a_licence(emulator, licensed: Licensed) -> None:  # type: ignore[no-untyped-def]
    from emulator.testing.client import SandboxClient

    licensed.stub.fail_with["getLicense"] = "000005"
    async with SandboxClient(emulator.url) as client:
        order = await client.buy("lic-monthly", months=1)
        await client.advance(hours=4)
        failed = await client.wait_for_delivery(order, "getLicense", outcome="failed")
        assert failed.attempt_count == 4 and len(failed.attempts) == 4, failed.describe()
        await client.deliver_license(order, "PLCLIENT00000001")
        assert [c["code"] for c in await client.license_codes("lic")] == ["PLCLIENT00000001"]
        sent = await client.request_license_async(order, device_fingerprint="fp-1")
        assert sent.activity == "getLicenseAsync" and sent.status == "succeeded"


async def test_dial_tests_of_a_licence_product_send_the_license_activities(api: Api, licensed: Licensed) -> None:
    listed = await api.ok("GET", "/products/lic-monthly/debug-cases")
    assert listed["missing"] == ["create", "update", "status", "upgrade", "release"], "no query case (§11.3)"
    for case in listed["missing"]:
        status, body = await api.call("POST", "/products/lic-monthly/debug-cases", {"case": case})
        assert status == 201, (case, body)
    run = await api.ok("POST", "/products/lic-monthly/dial-tests/run")
    assert run["verdict"] == "pass", run
    names = [c.body["activity"] for c in licensed.stub.calls]
    assert names == ["getLicense", "refreshLicense", "expireLicense", "upgradeLicense", "releaseLicense"] * 2


async def test_a_code_frozen_by_hand_that_expires_is_unfrozen_by_a_renewal_in_grace(api: Api,
                                                                                     licensed: Licensed) -> None:
    order = await api.ok("POST", "/orders", {"product": "lic-monthly", "period_number": 1})
    await api.settle()
    await api.ok("POST", f"/orders/{order['order_id']}/freeze")
    await api.advance(days=32)  # expired while frozen by hand: in grace
    await api.ok("POST", f"/orders/{order['order_id']}/renew", {"period_number": 1})
    await api.settle()
    told = [(c.body["activity"], c.body.get("status")) for c in licensed.stub.calls]
    assert told[-2:] == [("refreshLicense", None), ("changeLicenseStatus", "UNFREEZE")], told


async def test_a_licence_delivered_after_expiry_is_told_it_expired(api: Api, licensed: Licensed) -> None:
    await api.ok("POST", "/products", {"code": "lic-hourly", "merchant_id": "lic", "name": "Hourly",
                                       "charging_mode": "PERIOD", "period_type": "hour", "grace_days": 1})
    licensed.stub.fail_with["getLicense"] = "000005"
    await api.ok("POST", "/orders", {"product": "lic-hourly"})
    await api.advance(hours=2, minutes=30)  # expired after one hour, getLicense still retried
    del licensed.stub.fail_with["getLicense"]
    await api.advance(minutes=40)  # the last retry succeeds
    names = [c.body["activity"] for c in licensed.stub.calls if c.answer["resultCode"] == "000000"]
    assert names == ["getLicense", "expireLicense"], names


async def test_a_licence_delivered_by_hand_must_be_new(api: Api, licensed: Licensed) -> None:
    first = await api.ok("POST", "/orders", {"product": "lic-monthly"})
    await api.settle()
    taken = licensed.stub.named("getLicense")[0].answer
    licensed.stub.fail_with["getLicense"] = "000005"
    held = await api.ok("POST", "/orders", {"product": "lic-monthly"})
    await api.advance(hours=4)
    for body, field in (({"license": taken["license"]}, "license"),
                        ({"license": "PLNEW0000000001", "instance_id": taken["instanceId"]}, "instance_id")):
        status, answer = await api.call("POST", f"/orders/{held['order_id']}/deliver-license", body)
        assert status == 409 and answer["error"]["field"] == field, answer
    assert (await api.instance(held["instance"]))["state"] == "pending", "nothing half-written"
    assert first["order_id"] != held["order_id"]


async def test_a_renamed_purchase_still_carries_a_business_id(api: Api, licensed: Licensed) -> None:
    await api.ok("PATCH", "/merchants/lic", {"license_activities": {"purchase": "getLicenseV2"}})
    licensed.stub.fail_with["getLicenseV2"] = "000005"
    await api.ok("POST", "/orders", {"product": "lic-monthly"})
    await api.settle()
    [call] = licensed.stub.calls
    assert call.body["activity"] == "getLicenseV2" and call.body["businessId"]
