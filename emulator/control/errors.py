"""Error responses: every failure is JSON that says what is wrong and names the field."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit
from typing import Any, Awaitable, Callable, Optional, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..clock import ClockError
from ..marketplace.errors import DomainError

log = logging.getLogger(__name__)
OPEN_API_PREFIX = "/api/"
Model = TypeVar("Model", bound=BaseModel)


def _cross_site(request: web.Request) -> Optional[web.Response]:
    """Control-API calls made by another site's page are refused. Browsers mark them (a foreign
    ``Origin``, or ``Sec-Fetch-Site: cross-site``); scripts and curl send neither, and a plain
    ``curl -d`` body is still read as JSON."""
    if not request.path.startswith("/sandbox/api/") or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    origin = request.headers.get("Origin")
    foreign = bool(origin) and urlsplit(origin or "").netloc != request.host
    if foreign or request.headers.get("Sec-Fetch-Site") == "cross-site":
        return error_response(403, "cross_origin", f"requests from {origin or 'another site'} are not accepted; "
                                                   "call the control API from scripts or from this emulator's "
                                                   "console", "Origin")
    return None


def error_response(status: int, code: str, message: str, field: Optional[str] = None,
                   details: Optional[list[dict[str, Any]]] = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details:
        error["details"] = details
    return web.json_response({"error": error}, status=status)


def validation_response(exc: ValidationError) -> web.Response:
    details = []
    for item in exc.errors():
        field = ".".join(str(part) for part in item["loc"] if part != "[key]") or None
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "is required"
        details.append({"field": field, "message": message})
    first = details[0]
    text = "; ".join(f"{d['field']}: {d['message']}" if d["field"] else d["message"] for d in details)
    return error_response(400, "invalid_request", text, first["field"], details)


async def parse_body(request: web.Request, model: type[Model], required: bool = True) -> Model:
    """Read and validate a JSON body; raise an HTTP error that names the field."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise _http(error_response(400, "invalid_json", "a JSON object body is required"))
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _http(error_response(400, "invalid_json", f"the body is not valid JSON: {exc}")) from None
    if not isinstance(data, dict):
        raise _http(error_response(400, "invalid_json", f"the body must be a JSON object, not {type(data).__name__}"))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _http(validation_response(exc)) from None


def parse_query(request: web.Request, model: type[Model]) -> Model:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise _http(validation_response(exc)) from None


class _HTTPFromResponse(web.HTTPException):
    def __init__(self, response: web.Response) -> None:
        super().__init__()
        self.response = response


def _http(response: web.Response) -> _HTTPFromResponse:
    return _HTTPFromResponse(response)


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    if request.path.startswith(OPEN_API_PREFIX):  # the open-API gateway answers in its own shapes
        return await handler(request)
    refusal = _cross_site(request)
    if refusal is not None:
        return refusal
    try:
        return await handler(request)
    except _HTTPFromResponse as exc:
        return exc.response
    except DomainError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.field)
    except ClockError as exc:
        return error_response(409, "illegal_clock_change", str(exc), "clock")
    except ValidationError as exc:
        return validation_response(exc)
    except web.HTTPException as exc:
        if not request.path.startswith("/sandbox/api/"):
            raise
        if exc.status >= 400:
            return error_response(exc.status, exc.reason.lower().replace(" ", "_"),
                                  f"{exc.reason}: {request.method} {request.path}")
        raise
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the emulator hit an unexpected error; see its log")
