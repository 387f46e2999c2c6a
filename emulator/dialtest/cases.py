"""Debugging cases: which a product needs, their order and their preset values (PROTOCOL §11.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from ..marketplace.periods import add_months
from ..openapi.mock_orders import mock_order_info
from ..protocol.times import compact_time
from ..store.tables import Product

CASE_ORDER = ("create", "query", "update", "status", "upgrade", "change_check", "release")
ACTIVITIES = {
    "create": "newInstance", "query": "queryInstance", "update": "refreshInstance",
    "status": "updateInstanceStatus", "upgrade": "upgradeInstance", "change_check": "changeInstanceCheck",
    "release": "releaseInstance",
}
PLACEHOLDER_INSTANCE = "dial-test-instance"


def _change_target() -> dict[str, Any]:
    """``productId``, ``skuCode`` and ``linearValue`` of MOCKMONTYCHANGE's target product (§11.3, §12.6)."""
    info = mock_order_info("MOCKMONTYCHANGE", datetime.min, "fixed")
    assert info is not None
    target = info["orderLine"][0]["productInfo"][0]
    return {key: target[key] for key in ("productId", "skuCode", "linearValue")}


MOCK_CHANGE_PRODUCT = _change_target()


def required_cases(product: Product) -> list[str]:
    if product.charging_mode == "ONE_TIME":
        return ["create", "query", "release"]
    cases = ["create", "query", "update", "status", "release"]
    if product.charging_mode == "PERIOD" and product.upgradable:
        cases.insert(4, "upgrade")
    return cases


def mock_order(product: Product) -> str:
    if product.charging_mode == "ONE_TIME":
        return "MOCKONETIMENEW"
    if product.charging_mode == "ON_DEMAND":
        return "MOCKONDEMAND"
    return "MOCKPERIODDAYTRIAL" if product.trial_days else "MOCKPERIODYEARNEW"


def preset(case: str, product: Product, at: datetime, instance_id: Optional[str] = None) -> dict[str, Any]:
    """Body members (without ``activity``, ``businessId`` and ``testFlag``) the debugger pre-fills."""
    instance = instance_id or PLACEHOLDER_INSTANCE
    if case == "create":
        order = mock_order(product)
        return {"orderId": order, "orderLineId": f"{order}-000001"}
    if case == "query":
        return {"instanceId": instance}
    if case == "update":
        return {"scene": "RENEWAL", "orderId": "MOCKMONTYRENEW", "orderLineId": "MOCKMONTYRENEW-000001",
                "instanceId": instance, "expireTime": compact_time(add_months(at, 1))}
    if case == "status":
        return {"instanceId": instance, "status": "FREEZE"}
    if case == "upgrade":
        return {"instanceId": instance, "orderId": "MOCKMONTYCHANGE", "orderLineId": "MOCKMONTYCHANGE-000001"}
    if case == "change_check":
        return {"instanceId": instance, "productInfo": dict(MOCK_CHANGE_PRODUCT)}
    if case == "release":
        return {"instanceId": instance}
    raise ValueError(f"unknown case {case!r}; cases are {', '.join(CASE_ORDER)}")


def with_run_values(case: str, saved: dict[str, Any], product: Product, at: datetime,
                    instance_id: Optional[str]) -> dict[str, Any]:
    """A saved case as sent by a run: this run's instanceId and a fresh expiry replace the saved ones."""
    params = dict(saved)
    if "instanceId" in params and instance_id:
        params["instanceId"] = instance_id
    if case == "update":
        params["expireTime"] = compact_time(add_months(at, 1))
    return params
