"""Open-API handlers (PROTOCOL §12.5–§12.8). The gateway has already verified the caller."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from aiohttp import web
from sqlmodel import col, select

from ..clock import wall_now
from ..control.keys import SERVICES
from ..marketplace.licences import order_code_status
from ..store.tables import ApiCredential, Instance, LicenseCode, Merchant, Product, UsageRecord
from . import license as lic
from . import usage
from .gateway import APIS, CALLER, DETAIL, VERDICT, Caller
from .mock_orders import mock_order_info, with_line_filter
from .nonces import claim_nonce
from .order_info import order_info
from .query_params import check_query_order_params
from .results import ApiAnswer, MktError, success

if TYPE_CHECKING:
    from ..services import Services


def _context(request: web.Request) -> tuple["Services", Caller]:
    return request.app[SERVICES], request[CALLER]


# -- query order (§12.5, §12.6) ----------------------------------------------------------------
async def query_order(request: web.Request) -> web.Response:
    services, caller = _context(request)
    order_id, line_id = check_query_order_params(request.query)
    info = mock_order_info(order_id, services.clock.now(), services.settings.openapi_mock_time)
    if info is None:
        info = await order_info(services.store, order_id, caller.merchant_id)
    return web.json_response(success(orderInfo=with_line_filter(info, line_id)))


# -- usage push (§12.7) ------------------------------------------------------------------------
async def usage_push(request: web.Request) -> web.Response:
    services, caller = _context(request)
    settings = services.settings
    key = await _usage_key(services, caller)
    window_s = settings.openapi_usage_ts_window_s
    try:
        matched = usage.check_usage_headers(request.headers, caller.body, key, int(time.time() * 1000), None,
                                            window_s)
        nonce = usage.header(request.headers, "nonce") or ""
        if not await claim_nonce(services.store, caller.merchant_id, nonce, wall_now(), 2 * window_s):
            raise usage.replayed_nonce(nonce, window_s)
        records = usage.parse_usage_body(caller.body, settings.openapi_usage_max_records)
    except usage.UsageRequestError as exc:
        raise MktError(exc.code, exc.detail) from None
    now = services.clock.now()
    failed: list[usage.RecordError] = []
    async with services.store.write() as session:
        ids = {str(r.get("instance_id")) for r in records if isinstance(r, dict)}
        ids |= {str(r.get("relate_pkg_instance")) for r in records if isinstance(r, dict) and r.get("relate_pkg_instance")}
        facts, keys = await _instance_facts(session, ids)
        sns = {str(r.get("metering_sn")) for r in records if isinstance(r, dict)}
        taken_sns = set((await session.exec(select(UsageRecord.metering_sn).where(
            UsageRecord.merchant_id == caller.merchant_id, col(UsageRecord.metering_sn).in_(sns)))).all())
        windows = {(i, compact_usage(b), compact_usage(e)) for i, b, e in (await session.exec(
            select(UsageRecord.instance_id, UsageRecord.begin_time, UsageRecord.end_time).where(
                col(UsageRecord.instance_id).in_(ids)))).all()}
        seen: set[str] = set()
        for record in records:
            error = usage.check_record(record, caller.merchant_id, now, facts.get, taken_sns.__contains__,
                                       lambda i, b, e: (i, b, e) in windows, seen)
            if error is not None:
                if settings.openapi_usage_validation == "request":
                    problem = usage.request_mode_error(error)
                    raise MktError(problem.code, problem.detail)
                failed.append(error)
                continue
            windows.add((record["instance_id"], record["begin_time"], record["end_time"]))
            session.add(UsageRecord(
                merchant_id=caller.merchant_id, instance_key=keys[record["instance_id"]],
                instance_id=record["instance_id"], metering_sn=record["metering_sn"],
                record_time=usage.parse_usage_time(record["record_time"]),
                begin_time=usage.parse_usage_time(record["begin_time"]),
                end_time=usage.parse_usage_time(record["end_time"]),
                usage_value=str(usage.usage_amount(record["usage_value"])),
                relate_pkg_instance=record.get("relate_pkg_instance"), accepted_at=now,
            ))
    accepted = len(records) - len(failed)
    verdict = f"{accepted} record(s) accepted, {len(failed)} refused (header signature over the {matched} body)"
    if len(records) > 100:
        verdict += "; note: the MKT.9003 text names 100 records as the limit (PROTOCOL §15.2)"
    request[VERDICT] = verdict
    if failed:
        request[DETAIL] = "\n".join(f"{f.metering_sn!r} (instance {f.instance_id!r}): {f.error_code} {f.error_msg}"
                                    + (f": {f.detail}" if f.detail else "") for f in failed)
    return web.json_response(success(failed_records=[f.as_dict() for f in failed]))


def compact_usage(moment: Any) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


async def _usage_key(services: "Services", caller: Caller) -> str:
    async with services.store.read() as session:
        if services.settings.openapi_usage_sign_key == "sk":
            credential = await session.get(ApiCredential, caller.ak)
            assert credential is not None
            return credential.sk
        merchant = await session.get(Merchant, caller.merchant_id)
        assert merchant is not None
        return merchant.access_key


async def _instance_facts(session: Any, instance_ids: set[str]) -> tuple[dict[str, usage.InstanceFacts], dict[str, str]]:
    rows = (await session.exec(
        select(Instance, Product).join(Product, col(Instance.product_id) == col(Product.id))
        .where(col(Instance.instance_id).in_(instance_ids))
    )).all()
    facts = {i.instance_id: usage.InstanceFacts(merchant_id=i.merchant_id, charging_mode=p.charging_mode,
                                                state=i.state, product_on_sale=p.sale_state == "on_sale")
             for i, p in rows}
    return facts, {i.instance_id: i.key for i, _p in rows}


# -- License APIs (§12.8) ----------------------------------------------------------------------
async def license_activate(request: web.Request) -> web.Response:
    services, caller = _context(request)
    code = _license_call(lambda: lic.parse_activate(caller.body))
    state = await _update_license(services, code, lambda s, now: lic.activate(s, caller.merchant_id, now))
    return web.json_response(success(licenseInfo=lic.license_info(state)))


async def license_heartbeat(request: web.Request) -> web.Response:
    services, caller = _context(request)
    code, account, ip = _license_call(lambda: lic.parse_heartbeat_v1(caller.body))
    state = await _update_license(
        services, code, lambda s, now: lic.heartbeat(s, caller.merchant_id, now, account, ip))
    return web.json_response(success(licenseInfo=lic.license_info(state)))


async def license_heartbeat_v2(request: web.Request) -> web.Response:
    """A status per code: one unusable code does not fail the batch (§12.8, assumed)."""
    services, caller = _context(request)
    codes = _license_call(lambda: lic.parse_heartbeat_v2(caller.body))
    infos = []
    for code in codes:
        try:
            state = await _update_license(
                services, code, lambda s, now: lic.heartbeat(s, caller.merchant_id, now, None, None), raw=True)
            infos.append(lic.license_info_v2(state))
        except lic.LicenseError as refused:
            known = await _current_state(services, code)
            mine = known is not None and known.merchant_id == caller.merchant_id
            infos.append({**(lic.license_info_v2(known, services.clock.now()) if mine and known else
                             {"license": code, "status": "INVALID"}), "result_code": refused.code})
    return web.json_response(success(license_infos=infos))


async def license_software_usage(request: web.Request) -> web.Response:
    services, caller = _context(request)
    entries = _license_call(lambda: lic.parse_software_usage(caller.body))
    async with services.store.read() as session:
        for entry in entries:
            row = await session.get(LicenseCode, entry["license"])
            if row is None or row.merchant_id != caller.merchant_id:
                raise _license_error(lic.LicenseError("91381034", "license apply invalid", 200,
                                                      f"license {entry['license']}: unknown to this merchant"))
    request[VERDICT] = f"usage of {len(entries)} license(s) recorded"
    return web.json_response(success())


def _license_call(parse: Any) -> Any:
    try:
        return parse()
    except lic.LicenseError as exc:
        raise _license_error(exc) from None


def _license_error(error: lic.LicenseError) -> ApiAnswer:
    return ApiAnswer(error.code, error.message, error.http_status, error.detail)


async def _update_license(services: "Services", code: str, change: Any, raw: bool = False) -> lic.LicenseState:
    """Apply ``change`` to the code as its order has it now; ``raw``: let a refusal through as
    the ``LicenseError`` it is."""
    now = services.clock.now()
    async with services.store.write() as session:
        row = await session.get(LicenseCode, code)
        state = await _state(session, row, now) if row is not None else None
        try:
            new_state = change(state, now)
        except lic.LicenseError as exc:
            if raw:
                raise
            raise _license_error(exc) from None
        if row is not None:
            for name in ("activated_at", "last_heartbeat_at", "third_party_account", "ip"):
                setattr(row, name, getattr(new_state, name))
            if new_state.status in (lic.INACTIVE, lic.ACTIVE):  # the order's statuses are read, not stored
                row.status = new_state.status
            session.add(row)
    return new_state


async def _current_state(services: "Services", code: str) -> Optional[lic.LicenseState]:
    async with services.store.read() as session:
        row = await session.get(LicenseCode, code)
        return await _state(session, row, services.clock.now()) if row is not None else None


async def _state(session: Any, row: LicenseCode, now: datetime) -> lic.LicenseState:
    """The code's state; a License order's code follows its instance (one source of truth)."""
    status, expire_at = row.status, row.expire_at
    if row.instance_key is not None:
        instance = await session.get(Instance, row.instance_key)
        product = await session.get(Product, instance.product_id) if instance else None
        if instance is not None and product is not None:
            status = order_code_status(instance, product, now) or status
            expire_at = instance.expire_at
    return lic.LicenseState(
        code=row.code, merchant_id=row.merchant_id, product_id=row.product_id, sku_code=row.sku_code,
        status=status, effective_at=row.effective_at, expire_at=expire_at, activated_at=row.activated_at,
        last_heartbeat_at=row.last_heartbeat_at, third_party_account=row.third_party_account, ip=row.ip,
    )


HANDLERS = {
    "query_order": query_order,
    "usage_push": usage_push,
    "license_activate": license_activate,
    "license_heartbeat": license_heartbeat,
    "license_heartbeat_v2": license_heartbeat_v2,
    "license_software_usage": license_software_usage,
}


def setup(app: web.Application) -> None:
    for (method, path), api in APIS.items():
        app.router.add_route(method, path, HANDLERS[api])

