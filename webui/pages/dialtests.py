"""Dial tests: products' debugging cases, run history with per-case verdicts, and the inbox."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.control.curl import curl_command
from emulator.control.views import iso, product_view
from emulator.dialtest.cases import CASE_ORDER, activity_of, cases_of, required_cases
from emulator.marketplace.errors import DomainError

from ..security import redirect
from .common import query, render, services


def _run_view(run: Any, undecided: frozenset[int] = frozenset()) -> dict[str, Any]:
    reason = run.reason or ("day in progress" if run.id in undecided else None)
    return {"id": run.id, "product_id": run.product_id, "slot_at": iso(run.slot_at), "trigger": run.trigger,
            "verdict": run.verdict or run.state, "reason": reason, "streak": run.streak}


async def _run_views(request: web.Request, runs: Any) -> list[dict[str, Any]]:
    undecided = frozenset(await services(request).dialtests.undecided_runs(runs))
    return [_run_view(r, undecided) for r in runs]


async def overview(request: web.Request) -> web.Response:
    s = services(request)
    products = []
    in_progress = await s.dialtests.days_in_progress()
    families = {m.id: m.family for m in await s.catalogue.list_merchants()}
    for product in await s.catalogue.list_products():
        _p, cases = await s.dialtests.cases(product.id)
        saved = {c.case_name for c in cases}
        products.append({**product_view(product), "saved": sorted(saved, key=CASE_ORDER.index),
                         "missing": [c for c in required_cases(product, families[product.merchant_id])
                                     if c not in saved],
                         "day_in_progress": product.id in in_progress})
    runs = await _run_views(request, await s.dialtests.runs(query(request, "product_id"), limit=100))
    settings = s.settings
    return render("dialtests.html", request, {
        "products": products, "runs": runs, "slots": settings.dialtest_slots, "zone": settings.dialtest_timezone,
        "threshold": settings.dialtest_freeze_after_days, "next_due": iso(await s.dialtests.next_due()),
    })


async def product_cases(request: web.Request) -> web.Response:
    s = services(request)
    try:
        product, cases = await s.dialtests.cases(request.match_info["ref"])
    except DomainError:
        raise web.HTTPNotFound(text="No such product.") from None
    saved = {c.case_name: c for c in cases}
    family = (await s.catalogue.merchant(product.merchant_id)).family
    rows = [{"case": name, "activity": activity_of(name, family), "required": name in required_cases(product, family),
             "saved": saved.get(name)} for name in cases_of(family)]
    command = None
    if request.query.get("command") in cases_of(family):
        signed = await s.dialtests.request_command(product.id, request.query["command"])
        command = {"case": request.query["command"], "curl": curl_command(signed)}
    runs = await _run_views(request, await s.dialtests.runs(product.id, limit=60))
    view = {**product_view(product), "day_in_progress": product.id in await s.dialtests.days_in_progress()}
    return render("dialtest_product.html", request, {"product": view, "rows": rows, "command": command, "runs": runs})


async def save_case(request: web.Request) -> web.Response:
    ref, case = request.match_info["ref"], request.match_info["case"]
    try:
        outcome, saved = await services(request).dialtests.debug_and_save(ref, case)
    except DomainError as exc:
        raise redirect(f"/dial-tests/products/{ref}", exc.message, "error") from None
    if saved is None:
        raise redirect(f"/dial-tests/products/{ref}", f"Debugging failed, the {case} case was not saved: "
                                                       f"{outcome.verdict}", "error")
    raise redirect(f"/dial-tests/products/{ref}", f"Debugging succeeded. The {case} case has been saved.")


async def run_now(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    run = await services(request).dialtests.run_now(ref)
    assert run is not None
    raise redirect(f"/dial-tests/runs/{run.id}", f"Dial test run: {run.verdict}.",
                   "ok" if run.verdict == "pass" else "error")


async def run_detail(request: web.Request) -> web.Response:
    try:
        run, results = await services(request).dialtests.run(int(request.match_info["run_id"]))
    except DomainError:
        raise web.HTTPNotFound(text="No such run.") from None
    cases = [{"case": r.case_name, "activity": r.activity, "passed": r.passed, "verdict": r.verdict,
              "delivery_id": r.delivery_id} for r in results]
    return render("dialtest_run.html", request, {"run": (await _run_views(request, [run]))[0], "cases": cases})


async def inbox(request: web.Request) -> web.Response:
    notes = await services(request).dialtests.inbox(query(request, "merchant_id"))
    messages = [{"created_at": iso(n.created_at), "channel": n.channel, "to": n.to, "subject": n.subject,
                 "body": n.body, "product_id": n.product_id, "run_id": n.run_id} for n in notes]
    return render("inbox.html", request, {"messages": messages})


def setup(app: web.Application) -> None:
    app.router.add_get("/dial-tests", overview)
    app.router.add_get("/dial-tests/products/{ref}", product_cases)
    app.router.add_post("/dial-tests/products/{ref}/cases/{case}", save_case)
    app.router.add_post("/dial-tests/products/{ref}/run", run_now)
    app.router.add_get("/dial-tests/runs/{run_id:[0-9]{1,18}}", run_detail)
    app.router.add_get("/inbox", inbox)
