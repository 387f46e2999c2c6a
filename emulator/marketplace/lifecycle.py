"""Instance lifecycle rules (PROTOCOL §10), free of storage and wire concerns.

States: ``pending`` (newInstance not yet acknowledged), ``active``, ``frozen`` (``expired`` or
``manual``), ``released`` and ``failed`` (purchase never delivered, order auto-unsubscribed).
An instance is *provisioned* once the merchant has returned its instanceId.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

from ..store.tables import Instance, Product
from .errors import Conflict, InvalidInput

PENDING, ACTIVE, FROZEN, RELEASED, FAILED = "pending", "active", "frozen", "released", "failed"
ENDED = (RELEASED, FAILED)


def release_time(instance: Instance, product: Product) -> datetime:
    assert instance.expire_at is not None
    return instance.expire_at + timedelta(days=product.grace_days + product.retention_days)


def phase(instance: Instance, product: Product, now: datetime) -> Optional[str]:
    """``grace`` or ``retention`` for an expired instance, for display."""
    if instance.state != FROZEN or instance.frozen_reason != "expired" or instance.expire_at is None:
        return None
    return "grace" if now < grace_end(instance, product) else "retention"


def grace_end(instance: Instance, product: Product) -> datetime:
    assert instance.expire_at is not None
    return instance.expire_at + timedelta(days=product.grace_days)


def plan_next_event(instance: Instance, product: Product, grace_call: bool = False) -> None:
    """Set the instance's next clock-driven transition from its state: ``expire``, then (for a
    family whose end of grace is a call, ``grace_call``) ``grace_end``, then ``release``."""
    grace_pending = instance.next_event in ("expire", "grace_end")  # the end-of-grace call is still to come
    instance.next_event, instance.next_event_at = None, None
    if instance.state in ENDED or instance.expire_at is None:
        return
    if instance.state == FROZEN and instance.frozen_reason == "expired":
        if grace_call and grace_pending:
            instance.next_event, instance.next_event_at = "grace_end", grace_end(instance, product)
        else:
            instance.next_event, instance.next_event_at = "release", release_time(instance, product)
    else:
        instance.next_event, instance.next_event_at = "expire", instance.expire_at


def is_expired_frozen(instance: Instance) -> bool:
    return instance.state == FROZEN and instance.frozen_reason == "expired"


def require_state(instance: Instance, action: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if instance.state not in allowed:
        raise Conflict(
            f"cannot {action}: instance {instance.key} is {describe(instance)}; "
            f"{action} needs it to be {' or '.join(allowed)}",
            field="state",
        )


def require_provisioned(instance: Instance, action: str) -> None:
    if instance.instance_id is None:
        raise Conflict(
            f"cannot {action}: the merchant has not acknowledged newInstance for {instance.key} yet, "
            "so no instanceId is known (PROTOCOL §4 R8)",
            field="instance_id",
        )


def require_periodic(product: Product, action: str) -> None:
    if product.charging_mode != "PERIOD":
        raise InvalidInput(
            f"cannot {action}: product {product.code} is charged {product.charging_mode}; "
            f"only PERIOD products can {action}",
            field="charging_mode",
        )


def instance_actions(instance: Instance, product: Product, unavailable: frozenset[str] = frozenset()) -> list[str]:
    """The actions a buyer or the platform may take on the instance now (for state-gated UIs).

    The same rules as the checks above; ``unsubscribe`` of a renewal order is decided per order.
    ``unavailable``: actions the merchant's protocol family has no activity for."""
    if instance.state in ENDED:
        return []
    provisioned = instance.instance_id is not None
    periodic = product.charging_mode == "PERIOD"
    live = instance.state in (ACTIVE, FROZEN)
    actions = []
    if provisioned and live and periodic and not instance.trial:
        actions.append("renew")
    if provisioned and live and instance.trial:
        actions.append("convert")
    if provisioned and instance.state == ACTIVE and periodic and product.upgradable:
        actions.append("upgrade")
    actions.append("unsubscribe")
    if provisioned and instance.state == ACTIVE:
        actions.append("freeze")
    if provisioned and instance.state == FROZEN and instance.frozen_reason == "manual":
        actions.append("unfreeze")
    actions.append("release")
    if provisioned:
        actions.append("query")
    if provisioned and live:
        actions.append("license_async")
    return [action for action in actions if action not in unavailable]


def describe(instance: Instance) -> str:
    if instance.state == FROZEN:
        return f"frozen ({instance.frozen_reason})"
    return instance.state
