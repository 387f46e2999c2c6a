"""Debugging cases: which a product needs, their order and their preset values (PROTOCOL §11.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from ..marketplace.callbacks import OrderFacts
from ..marketplace.periods import add_months
from ..protocol.saas_v2_joint import order_info
from ..openapi.mock_orders import mock_order_info
from ..protocol.times import compact_time
from ..store.tables import Product

CASE_ORDER = ("create", "query", "update", "status", "upgrade", "change_check", "release")
ACTIVITIES = {
    "create": "newInstance", "query": "queryInstance", "update": "refreshInstance",
    "status": "updateInstanceStatus", "upgrade": "upgradeInstance", "change_check": "changeInstanceCheck",
    "release": "releaseInstance",
}
# Other families map the same case names to their own activities (PROTOCOL §11.3); a case missing
# here does not exist in that family.
FAMILY_ACTIVITIES = {
    "saas_v2_slim": ACTIVITIES,
    "saas_v2_joint": {"create": "newInstance", "update": "refreshInstance", "status": "expireInstance",
                      "upgrade": "upgrade", "release": "releaseInstance"},
    "license_v2": {"create": "getLicense", "update": "refreshLicense", "status": "expireLicense",
                   "upgrade": "upgradeLicense", "release": "releaseLicense"},
    "saas_v1": {},  # dial tests are documented for SaaS 2.0 only; the V1 guide is retired (§7, §11)
}
PLACEHOLDER_INSTANCE = "dial-test-instance"
JOINT = "saas_v2_joint"


def activity_of(case: str, family: str = "saas_v2_slim") -> str:
    return FAMILY_ACTIVITIES.get(family, ACTIVITIES)[case]


def cases_of(family: str = "saas_v2_slim") -> list[str]:
    """The family's cases, in the debugger's order."""
    known = FAMILY_ACTIVITIES.get(family, ACTIVITIES)
    return [case for case in CASE_ORDER if case in known]


def _change_target() -> dict[str, Any]:
    """``productId``, ``skuCode`` and ``linearValue`` of MOCKMONTYCHANGE's target product (§11.3, §12.6)."""
    info = mock_order_info("MOCKMONTYCHANGE", datetime.min, "fixed")
    assert info is not None
    target = info["orderLine"][0]["productInfo"][0]
    return {key: target[key] for key in ("productId", "skuCode", "linearValue")}


MOCK_CHANGE_PRODUCT = _change_target()


def required_cases(product: Product, family: str = "saas_v2_slim") -> list[str]:
    if product.charging_mode == "ONE_TIME":
        cases = ["create", "query", "release"]
    else:
        cases = ["create", "query", "update", "status", "release"]
        if product.charging_mode == "PERIOD" and product.upgradable:
            cases.insert(4, "upgrade")
    return [case for case in cases if case in cases_of(family)]


def mock_order(product: Product) -> str:
    if product.charging_mode == "ONE_TIME":
        return "MOCKONETIMENEW"
    if product.charging_mode == "ON_DEMAND":
        return "MOCKONDEMAND"
    return "MOCKPERIODDAYTRIAL" if product.trial_days else "MOCKPERIODYEARNEW"


def preset(case: str, product: Product, at: datetime, instance_id: Optional[str] = None,
           family: str = "saas_v2_slim") -> dict[str, Any]:
    """Body members (without ``activity``, ``businessId`` and ``testFlag``) the debugger pre-fills."""
    instance = instance_id or PLACEHOLDER_INSTANCE
    if family == JOINT:
        return _joint_preset(case, product, at, instance)
    if family == "license_v2" and case == "status":
        return {"instanceId": instance}  # expireLicense carries no status (PROTOCOL §6)
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


def _joint_preset(case: str, product: Product, at: datetime, instance: str) -> dict[str, Any]:
    """The same cases with the joint-operation bodies (PROTOCOL §5) and the same mock orders."""
    order = mock_order(product)
    if case == "create":
        buyer = {"customerId": MOCK_BUYER, "customerName": "mock_buyer", "userId": MOCK_BUYER, "userName": "mock_buyer"}
        return {"buyerInfo": buyer, "orderInfo": [order_info(order, _mock_facts(product, at))]}
    if case == "update":
        return {"instanceId": instance, "orderId": "MOCKMONTYRENEW", "expireTime": compact_time(add_months(at, 1))}
    if case == "upgrade":
        return {"instanceId": instance, "orderId": "MOCKMONTYCHANGE",
                "orderInfo": [order_info("MOCKMONTYCHANGE", _mock_facts(product, at))]}
    if case in ("status", "release"):
        return {"instanceId": instance, "orderId": order}
    raise ValueError(f"the joint-operation family has no {case!r} case; its cases are {', '.join(cases_of(JOINT))}")


MOCK_BUYER = "0" * 32


def _mock_facts(product: Product, at: datetime) -> OrderFacts:
    periodic = product.charging_mode == "PERIOD"
    return OrderFacts(
        buyer={}, created_at=at, trial=bool(product.trial_days), charging_mode=product.charging_mode,
        period_type=product.period_type if periodic else None, period_number=1 if periodic else None,
        amount=product.price, expire_at=add_months(at, 1) if periodic else None, product_id=product.id,
        sku_code=product.sku_code, linear_value=None,
    )
