"""Handler of /sandbox/api/v1/certify: run the certification battery against a merchant interface
(on a throw-away emulator of its own) and answer the report."""

from __future__ import annotations

from aiohttp import web

from ..certify import reports
from ..certify.inputs import CertifyInput
from ..certify.runner import certify
from .errors import parse_body
from .routes import PREFIX

routes = web.RouteTableDef()


@routes.post(PREFIX + "/certify")
async def run_certification(request: web.Request) -> web.Response:
    data = await parse_body(request, CertifyInput)
    report = await certify(data.merchant_url, data.key, data.family, data.kit_key, data.signature_hex_case,
                           data.public_key)
    return web.json_response(reports.as_json(report))


def setup(app: web.Application) -> None:
    app.add_routes(routes)
