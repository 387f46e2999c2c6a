"""Certification: run the battery against a merchant interface and read, or download, its report.

Reports are kept in memory (the last few) so that the page can be reloaded and its JUnit and HTML
files downloaded after the post (post/redirect/get); a restart forgets them."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

from aiohttp import web

from emulator.certify import reports
from emulator.certify.battery import BATTERY
from emulator.certify.inputs import CertifyInput
from emulator.certify.login import LoginTarget
from emulator.certify.runner import Report, certify
from emulator.marketplace.inputs import FAMILIES

from ..forms import FormState, read_form, validate
from ..security import redirect
from .common import render, services

KEPT = 20
_RUNS: "OrderedDict[str, Report]" = OrderedDict()
CHOICES = {"family": FAMILIES, "signature_hex_case": ("upper", "lower")}


def _page(request: web.Request, form: FormState, run_id: str = "", report: Any = None, status: int = 200
          ) -> web.Response:
    return render("certify.html", request, {"form": form, "choices": CHOICES, "battery": BATTERY,
                                            "run_id": run_id, "report": report}, status)


async def certify_page(request: web.Request) -> web.Response:
    return _page(request, FormState(name="certify", values={"family": "saas_v2_slim", "signature_hex_case": "upper"}))


async def run(request: web.Request) -> web.Response:
    data, form = await read_form(request, name="certify")
    parsed = validate(CertifyInput, data, form)
    if parsed is None:
        return _page(request, form, status=400)
    login = None
    if parsed.client_id or parsed.login_start:  # the app logs in with this emulator: its checks run here
        oauth = services(request).oauth
        login = LoginTarget(parsed.client_id, parsed.login_start, parsed.login_user, oauth,
                            services(request).kit.login_domain)
    report = await certify(parsed.merchant_url, parsed.key, parsed.family, parsed.kit_key, parsed.signature_hex_case,
                           parsed.public_key, login)
    run_id = uuid.uuid4().hex[:12]
    _RUNS[run_id] = report
    while len(_RUNS) > KEPT:
        _RUNS.popitem(last=False)
    verdict = "ready: every required case passed" if report.passed else "not ready: a required case failed"
    raise redirect(f"/certify/runs/{run_id}", f"Certification finished: {verdict}.")


def _report(request: web.Request) -> tuple[str, Report]:
    run_id = request.match_info["run_id"]
    if run_id not in _RUNS:
        raise web.HTTPNotFound(text="No such certification run (reports are kept in memory until a restart).")
    return run_id, _RUNS[run_id]


async def run_page(request: web.Request) -> web.Response:
    run_id, report = _report(request)
    values = {"merchant_url": report.target, "family": report.family, "signature_hex_case": "upper"}
    return _page(request, FormState(name="certify", values=values), run_id, reports.as_json(report))


async def junit(request: web.Request) -> web.Response:
    run_id, report = _report(request)
    return web.Response(body=reports.junit_xml(report), content_type="application/xml",
                        headers={"Content-Disposition": f'attachment; filename="certification-{run_id}.xml"'})


async def html(request: web.Request) -> web.Response:
    _run_id, report = _report(request)
    return web.Response(text=reports.html(report), content_type="text/html")


def setup(app: web.Application) -> None:
    app.router.add_get("/certify", certify_page)
    app.router.add_post("/certify", run)
    app.router.add_get("/certify/runs/{run_id:[0-9a-f]{12}}", run_page)
    app.router.add_get("/certify/runs/{run_id:[0-9a-f]{12}}/junit.xml", junit)
    app.router.add_get("/certify/runs/{run_id:[0-9a-f]{12}}/report.html", html)
