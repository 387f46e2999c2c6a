"""A merchant's protocol family applies to orders placed afterwards: an instance keeps the family it
was bought in for its whole life (renewal, expiry, release), a new order gets the new one."""

from __future__ import annotations

import json


from ..helpers import Api
from . import joint_merchant as jm


async def test_switching_the_family_applies_to_new_orders_only(api: Api,
                                                                merchant: tuple[jm.JointMerchant, str]) -> None:
    stub, url = merchant
    await api.ok("POST", "/merchants", {"id": "m", "name": "M", "production_url": url, "access_key": jm.BASIC_KEY,
                                        "family": "saas_v2_joint", "kit_key": jm.KIT_KEY})
    await api.ok("POST", "/products", {"code": "p", "merchant_id": "m", "name": "P", "charging_mode": "PERIOD",
                                       "period_type": "month", "price": "10"})
    joint_order = await api.ok("POST", "/orders", {"product": "p"})
    await api.settle()
    await api.ok("PATCH", "/merchants/m", {"family": "license_v2"})
    licence_order = await api.ok("POST", "/orders", {"product": "p"})
    await api.settle()
    assert (await api.instance(joint_order["instance"]))["state"] == "active"
    await api.ok("POST", f"/orders/{joint_order['order_id']}/renew", {"period_number": 1})
    await api.settle()
    sent = [c.body["activity"] for c in stub.calls]
    assert sent == ["newInstance", "getLicense", "refreshInstance"], sent
    assert "orderInfo" in stub.calls[0].body, "the joint order's purchase was the rich newInstance"
    await api.advance(days=100)
    by_instance = {}
    for delivery in await api.deliveries(limit=100):
        by_instance.setdefault(delivery["instance"], []).append(delivery["activity"])
    assert "expireInstance" in by_instance[joint_order["instance"]], "the joint instance keeps §5"
    assert "expireLicense" in by_instance[licence_order["instance"]], "the new order follows §6"


async def test_an_unknown_family_is_refused_naming_the_field(api: Api) -> None:
    status, body = await api.call("POST", "/merchants", {"name": "M", "production_url": "http://127.0.0.1:9/p",
                                                         "access_key": "k", "family": "saas_v3"})
    assert status == 400 and "family" in json.dumps(body), body
