"""How the marketplace reacts when a delivery finishes (PROTOCOL §9 "Outcome when exhausted")."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Session

from ..delivery.outbox import new_delivery
from ..delivery.verdicts import Verdict
from ..protocol import families
from ..store.tables import Delivery, Instance, Merchant, Order
from . import lifecycle as lc
from .callbacks import Callback, CallbackKind
from .licences import MAX_CODE, register_order_licence


def react(name: str, session: Session, delivery: Delivery, verdict: Verdict, now: datetime) -> None:
    """Apply the named reaction inside the dispatcher's transaction (a plain, synchronous session)."""
    instance = session.get(Instance, delivery.instance_key) if delivery.instance_key else None
    if instance is None:
        return
    _REACTIONS[name](session, delivery, instance, verdict.instance_id if verdict.passed else None, now)
    if name == "purchase_delivered" and verdict.passed:
        licence = verdict.licence
        if licence is not None and families.require_emulated(instance.family).holds_failed_purchase:
            if not register_order_licence(session, instance, licence, now) and len(licence) <= MAX_CODE:
                verdict.warnings.append(
                    f"licence {licence} is already the authorization code of another order: the License open "
                    "APIs keep answering for that one; each order needs its own licence (PROTOCOL §6, §12.8)")
    session.add(instance)


def _purchase_delivered(session: Session, delivery: Delivery, instance: Instance,
                              instance_id: Optional[str], now: datetime) -> None:
    if instance.instance_id is not None or instance_id is None:
        return  # a resend of an acknowledged purchase changes nothing
    instance.instance_id = instance_id
    merchant = session.get(Merchant, instance.merchant_id)
    order = session.get(Order, instance.order_id)
    assert merchant is not None and order is not None
    if order.status == "paid":
        order.status = "delivered"
        session.add(order)
    if instance.state == lc.PENDING:
        instance.state = lc.ACTIVE
    elif instance.state == lc.FROZEN:
        # It expired while newInstance was still being retried: tell the merchant now.
        session.add(new_delivery(merchant, Callback(CallbackKind.FREEZE, instance.key, instance_id=instance_id,
                                                    origin_order_id=instance.order_id, family=instance.family,
                                                    reason=instance.frozen_reason), now))
    if not families.require_emulated(instance.family).polls_readiness:
        instance.ready = True  # no queryInstance polling in this family (PROTOCOL §5)
    elif instance.state not in lc.ENDED:
        session.add(new_delivery(merchant, Callback(
            CallbackKind.READINESS_POLL, instance.key, instance_id=instance_id, test_flag=delivery.test_flag or "0",
            family=instance.family,
        ), now))


def _purchase_exhausted(session: Session, delivery: Delivery, instance: Instance,
                              instance_id: Optional[str], now: datetime) -> None:
    merchant = session.get(Merchant, instance.merchant_id)
    assert merchant is not None
    held = merchant.purchase_on_exhaust == "hold" or families.require_emulated(instance.family).holds_failed_purchase
    if held or instance.instance_id is not None:
        delivery.note = ("the purchase was never delivered: the order waits for manual delivery "
                         "(restart the call, or deliver a licence by hand)") if held else delivery.note
        return  # the order waits for a manual restart
    order = session.get(Order, instance.order_id)
    if order is not None:
        order.status = "failed"
        session.add(order)
    instance.state, instance.frozen_reason = lc.FAILED, None
    instance.next_event, instance.next_event_at = None, None
    delivery.note = "the purchase was never delivered: the order failed and was unsubscribed automatically"


def _instance_ready(session: Session, delivery: Delivery, instance: Instance,
                          instance_id: Optional[str], now: datetime) -> None:
    instance.ready = True


def _never_ready(session: Session, delivery: Delivery, instance: Instance,
                      instance_id: Optional[str], now: datetime) -> None:
    delivery.note = "instance never reported ready: queryInstance polling ended without instance info (PROTOCOL §9)"


def _order_status(session: Session, delivery: Delivery, status: str) -> None:
    """A renewal, conversion, upgrade or unsubscription order records whether its call got through."""
    order = session.get(Order, delivery.order_id) if delivery.order_id else None
    if order is not None and order.status == "paid":
        order.status = status
        session.add(order)


def _order_delivered(session: Session, delivery: Delivery, instance: Instance,
                           instance_id: Optional[str], now: datetime) -> None:
    _order_status(session, delivery, "delivered")


def _order_undelivered(session: Session, delivery: Delivery, instance: Instance,
                             instance_id: Optional[str], now: datetime) -> None:
    _order_status(session, delivery, "undelivered")


def _late_purchase(session: Session, delivery: Delivery, instance: Instance, instance_id: Optional[str],
                   now: datetime) -> None:
    """newInstance succeeded after the instance was released: tell the merchant to release it."""
    if instance_id is None or instance.instance_id is not None or instance.state not in lc.ENDED:
        return
    merchant = session.get(Merchant, instance.merchant_id)
    assert merchant is not None
    instance.instance_id = instance_id
    delivery.note = "newInstance succeeded after the unsubscription; releaseInstance follows"
    session.add(new_delivery(merchant, Callback(CallbackKind.RELEASE, instance.key, instance_id=instance_id,
                                                origin_order_id=instance.order_id, family=instance.family), now))


_REACTIONS = {
    "purchase_delivered": _purchase_delivered,
    "purchase_exhausted": _purchase_exhausted,
    "instance_ready": _instance_ready,
    "never_ready": _never_ready,
    "order_delivered": _order_delivered,
    "order_undelivered": _order_undelivered,
    "late_purchase": _late_purchase,
}


def restart_refusal(delivery: Delivery, order: Optional[Order], instance: Optional[Instance] = None
                    ) -> Optional[str]:
    """Why a manual restart is not allowed, or None."""
    if delivery.status == "cancelled":
        return f"delivery {delivery.id} was cancelled ({delivery.note or 'superseded'}); it cannot be restarted"
    if delivery.on_exhaust == "purchase_exhausted" and order is not None and order.status == "failed":
        return (f"order {order.id} failed and was unsubscribed automatically when newInstance was exhausted; "
                "set the merchant's purchase_on_exhaust to 'hold' to keep such orders restartable (PROTOCOL §9)")
    if instance is not None and instance.state in lc.ENDED and delivery.kind != "release":
        return (f"instance {instance.key} is {instance.state}; only its releaseInstance can be re-sent "
                "(a late newInstance would leave an instance the merchant is never told to release)")
    return None
