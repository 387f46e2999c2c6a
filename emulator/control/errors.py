"""Error responses: every failure is JSON that says what is wrong and names the field."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..clock import ClockError
from ..jsonbody import BadJson, decode_json
from ..marketplace.errors import DomainError
from ..requestguard import cross_origin_reason

log = logging.getLogger(__name__)
OPEN_API_PREFIX = "/api/"
Model = TypeVar("Model", bound=BaseModel)


def _cross_site(request: web.Request) -> Optional[web.Response]:
    """Control-API calls made by another site's page (or another port's) are refused; scripts and
    curl send no ``Origin`` and still get through, and a plain ``curl -d`` body is read as JSON."""
    if not request.path.startswith("/sandbox/api/"):
        return None
    reason = cross_origin_reason(request)
    if reason is None:
        return None
    return error_response(403, "cross_origin", f"{reason}; call the control API from scripts or from this "
                                               "emulator's console", "Origin")


def refuse_host(request: web.Request, message: str) -> web.Response:
    """The answer to a request whose ``Host`` is not served (see ``requestguard``)."""
    if request.path.startswith(("/sandbox/api/", "/api/")):
        return error_response(400, "invalid_host", message, "Host")
    return web.Response(status=400, text=message)


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
    """Read and strictly validate a JSON body (``"2"`` is not a number); raise an HTTP error that
    names the field."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise _http(error_response(400, "invalid_json", "a JSON object body is required"))
        raw = b"{}"
    try:
        data = decode_json(raw)
    except BadJson as exc:
        raise _http(error_response(400, "invalid_json", f"the body is not valid JSON: {exc}")) from None
    if not isinstance(data, dict):
        raise _http(error_response(400, "invalid_json", f"the body must be a JSON object, not {type(data).__name__}"))
    try:
        return model.model_validate_json(raw.decode("utf-8-sig"), strict=True)
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
