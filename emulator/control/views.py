"""JSON shapes of the control API (also used by the console's live updates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from ..clock import Clock
from ..marketplace import lifecycle as lc
from ..marketplace.targets import production_url_warnings
from ..store.tables import (
    ApiCredential, Attempt, Delivery, GatewayBackend, GatewayCall, InboundCall, Instance, LicenseCode, Merchant, Order,
    OrderLine, Product, UsageRecord,
)


def iso(moment: Optional[datetime]) -> Optional[str]:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def mask(secret: Optional[str]) -> Optional[str]:
    """Show enough of a secret to recognise it, never enough to use it."""
    if not secret:
        return secret
    if len(secret) < 16:
        return "*" * len(secret)
    return secret[:2] + "*" * (len(secret) - 4) + secret[-2:]


def merchant_view(m: Merchant) -> dict[str, Any]:
    return {
        "id": m.id, "name": m.name, "production_url": m.production_url, "access_key": mask(m.access_key),
        "family": m.family, "kit_key": mask(m.kit_key), "signature_hex_case": m.signature_hex_case,
        "content_type": m.content_type, "purchase_on_exhaust": m.purchase_on_exhaust,
        "retry_overrides": m.retry_overrides, "builtin_demo": m.builtin_stub, "created_at": iso(m.created_at),
        "contact_email": m.contact_email, "contact_mobile": m.contact_mobile,
        "kit_base_url": m.kit_base_url, "kit_sign_hex_case": m.kit_sign_hex_case,
        "kit_rsa_padding": m.kit_rsa_padding, "kit_org_info": m.kit_org_info,
        "encrypt_buyer_contact": m.encrypt_buyer_contact, "aes_key_bits": m.aes_key_bits,
        "license_field": m.license_field, "license_activities": m.license_activities,
        "faults": m.faults, "slow_send_s": m.slow_send_s,
        "warnings": [] if m.builtin_stub else production_url_warnings(m.production_url),
    }


def product_view(p: Product) -> dict[str, Any]:
    return {
        "id": p.id, "code": p.code, "merchant_id": p.merchant_id, "sku_code": p.sku_code, "name": p.name,
        "charging_mode": p.charging_mode, "period_type": p.period_type, "trial_days": p.trial_days,
        "upgradable": p.upgradable, "allows_change": p.allows_change, "linear_unit": p.linear_unit,
        "price": p.price, "grace_days": p.grace_days, "retention_days": p.retention_days,
        "expiry_rounding": p.expiry_rounding, "sale_state": p.sale_state, "frozen": p.frozen,
        "hidden": p.frozen, "fail_streak": p.fail_streak,
    }


def line_view(line: OrderLine) -> dict[str, Any]:
    return {
        "order_line_id": line.id, "product_id": line.product_id, "sku_code": line.sku_code,
        "charging_mode": line.charging_mode, "period_type": line.period_type,
        "period_number": line.period_number, "linear_value": line.linear_value, "amount": line.amount,
        "expire_at": iso(line.expire_at), "previous_expire_at": iso(line.previous_expire_at),
    }


def order_view(o: Order, lines: Optional[list[OrderLine]] = None) -> dict[str, Any]:
    view = {
        "order_id": o.id, "merchant_id": o.merchant_id, "order_type": o.order_type, "status": o.status,
        "instance": o.instance_key, "related_order_id": o.related_order_id, "buyer": o.buyer,
        "test_flag": o.test_flag, "created_at": iso(o.created_at),
    }
    if lines is not None:
        view["lines"] = [line_view(line) for line in lines]
    return view


def instance_view(i: Instance, product: Optional[Product] = None, clock: Optional[Clock] = None) -> dict[str, Any]:
    view = {
        "key": i.key, "instance_id": i.instance_id, "merchant_id": i.merchant_id, "order_id": i.order_id,
        "product_id": i.product_id, "linear_value": i.linear_value, "state": i.state,
        "frozen_reason": i.frozen_reason, "trial": i.trial, "expire_at": iso(i.expire_at), "ready": i.ready,
        "next_event": i.next_event, "next_event_at": iso(i.next_event_at), "created_at": iso(i.created_at),
        "released_at": iso(i.released_at), "family": i.family,
    }
    if product is not None and clock is not None:
        view["phase"] = lc.phase(i, product, clock.now())
    return view


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id, "merchant_id": d.merchant_id, "instance": d.instance_key, "order_id": d.order_id,
        "activity": d.activity, "family": d.family, "params": d.params, "policy": d.policy, "status": d.status,
        "attempts": d.attempt_count, "slots_used": d.slots_used, "slots_total": d.slots_total,
        "next_attempt_at": iso(d.next_attempt_at), "blocked_by": d.blocked_by,
        "last_verdict": d.last_verdict, "note": d.note, "test_flag": d.test_flag, "created_at": iso(d.created_at),
        "finished_at": iso(d.finished_at),
        "claim": None if d.lease_owner is None else {"by": d.lease_owner, "until_wall": iso(d.lease_until)},
    }


def attempt_view(a: Attempt) -> dict[str, Any]:
    return {
        "number": a.number, "manual": a.manual, "state": a.state, "due_at": iso(a.due_at),
        "sent_at": iso(a.sent_at), "sent_wall": iso(a.sent_wall), "business_id": a.business_id,
        "request": {"method": a.method, "url": a.url, "headers": a.request_headers, "body": a.request_body},
        "response": None if a.response_status is None else {
            "status": a.response_status, "headers": a.response_headers, "body": a.response_body,
        },
        "elapsed_ms": a.elapsed_ms, "error": a.error, "passed": a.passed,
        "verdict": "passed" if a.passed else (a.failures[0] if a.failures else None),
        "failures": a.failures, "warnings": a.warnings, "fault": a.fault,
    }


def clock_view(clock: Clock) -> dict[str, Any]:
    state = clock.state
    return {"now": iso(clock.now()), "mode": state.mode.value, "speed": state.speed}


def credential_view(c: ApiCredential) -> dict[str, Any]:
    return {"ak": c.ak, "sk": mask(c.sk), "merchant_id": c.merchant_id, "created_at": iso(c.created_at),
            "revoked_at": iso(c.revoked_at), "active": c.revoked_at is None}


def inbound_view(c: InboundCall, full: bool = False) -> dict[str, Any]:
    view = {
        "id": c.id, "request_id": c.request_id, "merchant_id": c.merchant_id, "ak": c.ak, "api": c.api,
        "at": iso(c.at), "wall": iso(c.wall), "method": c.method, "path": c.path, "query": c.query,
        "status": c.status, "result_code": c.result_code, "accepted": c.accepted, "verdict": c.verdict,
        "elapsed_ms": c.elapsed_ms,
    }
    if full:
        headers = {k: ("SDK-HMAC-SHA256 " + v.split(" ", 1)[1] if k.lower() == "authorization" and " " in v else v)
                   for k, v in c.request_headers.items()}
        view.update({"request_headers": headers, "request_body": c.request_body, "response_body": c.response_body,
                     "detail": c.detail})
    return view


def usage_view(r: UsageRecord) -> dict[str, Any]:
    return {"metering_sn": r.metering_sn, "instance_id": r.instance_id, "record_time": iso(r.record_time),
            "begin_time": iso(r.begin_time), "end_time": iso(r.end_time), "usage_value": r.usage_value,
            "relate_pkg_instance": r.relate_pkg_instance, "accepted_at": iso(r.accepted_at)}


def license_code_view(c: LicenseCode) -> dict[str, Any]:
    return {"code": c.code, "merchant_id": c.merchant_id, "product_id": c.product_id, "status": c.status,
            "test": c.test, "effective_at": iso(c.effective_at), "expire_at": iso(c.expire_at),
            "activated_at": iso(c.activated_at), "last_heartbeat_at": iso(c.last_heartbeat_at),
            "third_party_account": c.third_party_account, "ip": c.ip, "instance": c.instance_key}


def gateway_backend_view(b: GatewayBackend, product: Optional[Product] = None, secret: bool = False) -> dict[str, Any]:
    view = {
        "product_id": b.product_id, "kind": b.kind, "backend_url": b.backend_url, "http_method": b.http_method,
        "auth_mode": b.auth_mode, "access_key": b.access_key,
        "secret_key": b.secret_key if secret else mask(b.secret_key),
        "billing": "tokens" if b.kind == "agents" else "calls",
        "created_at": iso(b.created_at), "updated_at": iso(b.updated_at),
    }
    if product is not None:
        view.update({"product_code": product.code, "product_name": product.name, "merchant_id": product.merchant_id})
    return view


def gateway_call_view(c: GatewayCall, full: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": c.id, "request_id": c.request_id, "product_id": c.product_id, "merchant_id": c.merchant_id,
        "order_id": c.order_id, "instance": c.instance_key, "customer_id": c.customer_id, "kind": c.kind,
        "at": iso(c.at), "wall": iso(c.wall), "method": c.method, "path": c.path, "query": c.query,
        "target_url": c.target_url, "status": c.status, "caller_status": c.caller_status, "streamed": c.streamed,
        "events": c.events, "error": c.error, "passed": c.passed,
        "verdict": "passed" if c.passed else (c.failures[0] if c.failures else "failed"), "failures": c.failures,
        "usage": None if c.total_tokens is None else {
            "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens, "total_tokens": c.total_tokens},
        "billed_tokens": c.billed_tokens, "billed_calls": c.billed_calls, "elapsed_ms": c.elapsed_ms,
    }
    if full:
        view["request"] = {"method": c.method, "url": c.target_url, "headers": c.request_headers, "body": c.request_body}
        view["response"] = None if c.status is None else {
            "status": c.status, "headers": c.response_headers, "body": c.response_body}
    return view
