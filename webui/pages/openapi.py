"""Open APIs: the journal of merchants' calls, AK/SK issuing, License test codes."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from emulator.control.views import credential_view, inbound_view, license_code_view, merchant_view
from emulator.marketplace.errors import DomainError
from emulator.openapi.gateway import APIS
from emulator.openapi.journal import JournalFilter
from emulator.openapi.mock_orders import MOCK_ORDER_IDS

from ..listing import EXPORT_BATCH, download, every_row, paging
from ..security import redirect
from .common import query, render, services

OUTCOMES = {"accepted": True, "refused": False}


EXPORT_COLUMNS = ("id", "at", "wall", "merchant_id", "ak", "api", "method", "path", "status", "result_code",
                  "accepted", "verdict", "elapsed_ms", "request_id")


def _filter(request: web.Request) -> JournalFilter:
    return JournalFilter(merchant_id=query(request, "merchant_id"), api=query(request, "api"),
                         accepted=OUTCOMES.get(query(request, "outcome") or ""))


async def journal(request: web.Request) -> web.Response:
    s = services(request)
    flt = _filter(request)
    page = paging(request, await s.journal.count(flt))
    calls = [inbound_view(c) for c in await s.journal.list(replace(flt, offset=page.offset, limit=page.size))]
    return render("inbound.html", request, {
        "calls": calls, "filters": flt, "outcome": query(request, "outcome"), "page": page,
        "apis": sorted(set(APIS.values())), "merchants": [m.id for m in await s.catalogue.list_merchants()],
        "paths": sorted((path, method) for method, path in APIS), "mock_orders": MOCK_ORDER_IDS,
    })


async def export(request: web.Request) -> web.StreamResponse:
    flt, journal_ = _filter(request), services(request).journal
    rows = every_row(lambda before: journal_.list(replace(flt, before_id=before, limit=EXPORT_BATCH)),
                     lambda c: c.id)
    name = f"open-api-calls-{services(request).clock.now():%Y%m%dT%H%M%S}"
    return await download(request, name, request.match_info["kind"], EXPORT_COLUMNS, rows, inbound_view)


async def call_detail(request: web.Request) -> web.Response:
    try:
        call = await services(request).journal.get(int(request.match_info["call_id"]))
    except DomainError:
        raise web.HTTPNotFound(text="No such call.") from None
    return render("inbound_call.html", request, {"call": inbound_view(call, full=True)})


async def issue_credentials(request: web.Request) -> web.Response:
    """Issue (rotate) a pair and show the SK this once, in the response itself (no redirect)."""
    s = services(request)
    merchant_id = request.match_info["merchant_id"]
    try:
        issued = await s.credentials.issue(merchant_id)
    except DomainError as exc:
        raise redirect(f"/merchants/{merchant_id}", exc.message, "error") from None
    merchant = merchant_view(await s.catalogue.merchant(merchant_id))
    return render("credentials_issued.html", request, {"merchant": merchant, "issued": issued}, status=201)


async def issue_license_code(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    try:
        code = await services(request).openapi_records.issue_test_code(ref)
    except DomainError as exc:
        raise redirect(f"/catalogue/{ref}", exc.message, "error") from None
    raise redirect(f"/catalogue/{ref}", f"Test authorization code {code.code} issued.")


async def credentials_of(request: web.Request, merchant_id: str) -> list[dict]:
    return [credential_view(c) for c in await services(request).credentials.list(merchant_id)]


async def codes_of(request: web.Request, product_id: str) -> list[dict]:
    codes = await services(request).openapi_records.license_codes(product_id=product_id)
    return [license_code_view(c) for c in codes]


def setup(app: web.Application) -> None:
    app.router.add_get("/inbound", journal)
    app.router.add_get("/inbound/export.{kind:csv|json}", export)
    app.router.add_get("/inbound/{call_id:[0-9]{1,18}}", call_detail)
    app.router.add_post("/merchants/{merchant_id}/credentials", issue_credentials)
    app.router.add_post("/catalogue/{ref}/license-codes", issue_license_code)
