"""CSRF protection (double-submit cookie) and one-shot flash messages for the console."""

from __future__ import annotations

import hmac
import secrets
from typing import Awaitable, Callable, Optional
from urllib.parse import quote, unquote

from aiohttp import web

CSRF_COOKIE = "koogallery_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
FLASH_COOKIE = "koogallery_flash"
CONSOLE_EXEMPT = ("/sandbox/api/", "/api/", "/demo-merchant/", "/healthz", "/static/")
TOKEN_KEY = web.RequestKey("csrf_token", str)
FLASH_TAKEN = web.RequestKey("flash_taken", bool)


def is_console(path: str) -> bool:
    return not path.startswith(CONSOLE_EXEMPT)


def csrf_token(request: web.Request) -> str:
    return request.get(TOKEN_KEY, "")


@web.middleware
async def csrf_middleware(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    if not is_console(request.path):
        return await handler(request)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    token = cookie if len(cookie) == 43 else secrets.token_urlsafe(32)
    request[TOKEN_KEY] = token
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            sent = str((await request.post()).get(CSRF_FIELD, ""))
        if not cookie or not hmac.compare_digest(sent, cookie):
            raise web.HTTPForbidden(text="The form has expired or did not come from this console: reload the page "
                                         "and try again.")
    response = await handler(request)
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
