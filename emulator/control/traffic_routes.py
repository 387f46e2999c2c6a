"""``GET /sandbox/api/v1/merchants/{id}/traffic``: a merchant's recorded callbacks as JSON lines,
for ``python -m emulator replay``."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..replay.record import MAX_LIMIT, ndjson, read_traffic
from .errors import error_response, parse_query
from .keys import SERVICES
from .routes import MAX_ID, PREFIX

routes = web.RouteTableDef()
NEXT_HEADER = "X-Next-Since-Id"


class TrafficQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    since_id: int = Field(0, ge=0, le=MAX_ID)
    limit: int = Field(MAX_LIMIT, ge=1, le=MAX_LIMIT)


@routes.get(PREFIX + "/merchants/{merchant_id}/traffic")
async def traffic(request: web.Request) -> web.Response:
    """One line per answered attempt, oldest first; a full page names the ``since_id`` of the next."""
    q = parse_query(request, TrafficQuery)
    merchant_id = request.match_info["merchant_id"]
    lines = await read_traffic(request.app[SERVICES].store, merchant_id, q.since_id, q.limit)
    if lines is None:
        return error_response(404, "not_found", f"merchant {merchant_id!r} does not exist", "merchant_id")
    headers = {NEXT_HEADER: str(lines[-1]["id"])} if len(lines) == q.limit else {}
    return web.Response(body=ndjson(lines), headers=headers, content_type="application/x-ndjson", charset="utf-8")


def setup(app: web.Application) -> None:
    app.add_routes(routes)
