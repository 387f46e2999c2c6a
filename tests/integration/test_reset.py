"""A reset forgets everything but the demo catalogue, which comes back as it was first seeded,
with the demo merchant still able to read orders with its AK/SK."""

from __future__ import annotations

from ..helpers import Api


async def test_reset_restores_the_seed_and_forgets_the_rest(api: Api) -> None:
    seeded = {path: await api.ok("GET", path) for path in ("/merchants", "/products", "/oauth/apps")}
    await api.ok("POST", "/merchants", {"id": "extra", "name": "Extra", "production_url": "https://x.example/p",
                                        "access_key": "k"})
    await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.ok("POST", "/clock/advance", {"days": 40})
    for _ in range(2):  # the first reset may seed the slow way; the second uses the remembered rows
        await api.ok("POST", "/reset")
        assert {path: await api.ok("GET", path) for path in seeded} == seeded
        assert (await api.ok("GET", "/orders"))["orders"] == []
        assert (await api.ok("GET", "/deliveries"))["deliveries"] == []
        assert (await api.ok("GET", "/clock"))["now"] == "2026-01-31T10:00:00Z"
    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.settle()
    delivery = await api.only_delivery(order_id=order["order_id"], activity="newInstance")
    assert delivery["status"] == "succeeded"
    journal = (await api.ok("GET", "/inbound", params={"merchant_id": "demo"}))["calls"]
    assert journal and all(call["status"] != 401 for call in journal)
