"""CSRF protection (double-submit cookie) and one-shot flash messages for the console."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Awaitable, Callable, Optional
from urllib.parse import quote, unquote

from aiohttp import web

from emulator.requestguard import SAFE_METHODS, cross_origin_reason

from emulator.formbody import BadForm, read_post

CSRF_COOKIE = "koogallery_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
FLASH_COOKIE = "koogallery_flash"
CONSOLE_EXEMPT = ("/sandbox/api/", "/api/", "/demo-merchant/", "/healthz", "/static/")
TOKEN_KEY = web.RequestKey("csrf_token", str)
CSRF_KEY = web.AppKey("csrf_key", bytes)
FLASH_TAKEN = web.RequestKey("flash_taken", bool)


def is_console(path: str) -> bool:
    return not path.startswith(CONSOLE_EXEMPT)


def csrf_token(request: web.Request) -> str:
    return request.get(TOKEN_KEY, "")


def new_token(key: bytes) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_mac(key, nonce)}"


def token_valid(key: bytes, token: str) -> bool:
    """Only this emulator can mint a token: a neighbour that sets the cookie cannot sign it."""
    nonce, _, mac = token.partition(".")
    return bool(nonce) and len(token) <= 128 and hmac.compare_digest(mac, _mac(key, nonce))


def _mac(key: bytes, nonce: str) -> str:
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def _forbidden(reason: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=f"{reason}: reload the console page and try again.")


@web.middleware
async def csrf_middleware(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Console posts must come from the console itself: same origin (``Origin`` and
    ``Sec-Fetch-Site``, see ``emulator.requestguard``) and a signed double-submit token."""
    if not is_console(request.path):
        return await handler(request)
    key = request.app[CSRF_KEY]
    cookie = request.cookies.get(CSRF_COOKIE, "")
    token = cookie if token_valid(key, cookie) else new_token(key)
    request[TOKEN_KEY] = token
    if request.method not in SAFE_METHODS:
        reason = cross_origin_reason(request)
        if reason is not None:
            raise _forbidden(f"This form did not come from this console ({reason})")
        sent = request.headers.get(CSRF_HEADER, "")
        try:
            if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                sent = str((await read_post(request)).get(CSRF_FIELD, ""))
        except BadForm as exc:
            return web.Response(status=400, text=f"{exc}.")
        if cookie != token or not hmac.compare_digest(sent, cookie):
            raise _forbidden("The form has expired or did not come from this console")
    try:
        response = await handler(request)
    except BadForm as exc:
        return web.Response(status=400, text=f"{exc}.")
    if cookie != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return response


def flash(response: web.StreamResponse, message: str, kind: str = "ok") -> web.StreamResponse:
    response.set_cookie(FLASH_COOKIE, quote(f"{kind}|{message}"), httponly=True, samesite="Strict", path="/",
                        max_age=60)
    return response


def take_flash(request: web.Request) -> Optional[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, message = unquote(raw).partition("|")
    request[FLASH_TAKEN] = True
    return {"kind": kind if kind in ("ok", "error") else "ok", "message": message}


@web.middleware
async def flash_middleware(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    response = await handler(request)
    if request.get(FLASH_TAKEN) and FLASH_COOKIE not in response.cookies:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(location: str, message: Optional[str] = None, kind: str = "ok") -> web.HTTPSeeOther:
    response = web.HTTPSeeOther(location)
    if message:
        flash(response, message, kind)
    return response
