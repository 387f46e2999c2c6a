"""Handler of /sandbox/api/v1/certify: run the certification battery against a merchant interface
(on a throw-away emulator of its own) and answer the report; given a web app's ``client_id`` and
``login_start``, its unified-login callback is certified against this running emulator."""

from __future__ import annotations

from aiohttp import web

from ..certify import reports
from ..certify.inputs import CertifyInput
from ..certify.runner import certify_input
from .errors import parse_body
from .keys import SERVICES
from .routes import PREFIX

routes = web.RouteTableDef()


@routes.post(PREFIX + "/certify")
async def run_certification(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    report = await certify_input(await parse_body(request, CertifyInput), services.oauth, services.kit.login_domain)
    return web.json_response(reports.as_json(report))


def setup(app: web.Application) -> None:
    app.add_routes(routes)
