"""Unified-login endpoints (PROTOCOL §13.1–§13.8): authorize, the portal-login page, token,
userinfo, logout."""

from __future__ import annotations

import base64
import logging
import uuid
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional
from urllib.parse import unquote, urlencode

import aiohttp_jinja2
from aiohttp import web

from ..control.keys import SERVICES
from ..formbody import BadForm, read_post
from .redirects import with_params
from .service import SCOPE, OAuthError

if TYPE_CHECKING:
    from .service import OAuth

log = logging.getLogger(__name__)
SSO_COOKIE = "koogallery_sso"
AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state")
PATHS = ("/api/v1/", "/unified-login")


def _oauth(request: web.Request) -> "OAuth":
    return request.app[SERVICES].oauth


@web.middleware
async def oauth_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    """Request ids, no-store caching and OAuth2 error bodies on the login endpoints."""
    if not request.path.startswith(PATHS):
        return await handler(request)
    try:
        response = await handler(request)
    except OAuthError as error:
        response = _error_response(request, error)
    except web.HTTPException as exc:
        if exc.status >= 400:
            response = _error_response(request, OAuthError("invalid_request", exc.reason, exc.status))
        else:
            exc.headers["X-Request-Id"] = uuid.uuid4().hex
            raise
    except Exception:
        log.exception("unified login %s failed", request.path)
        response = _error_response(request, OAuthError("server_error", "the emulator hit an unexpected error", 500))
    response.headers["X-Request-Id"] = uuid.uuid4().hex
    if request.path.startswith("/api/v1/oauth2/"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


MACHINE_PATHS = ("/api/v1/oauth2/token", "/api/v1/oauth2/userinfo")


def _error_response(request: web.Request, error: OAuthError) -> web.Response:
    """JSON for the back-channel endpoints and for clients asking for JSON; a page for browsers."""
    if request.path in MACHINE_PATHS or "application/json" in request.headers.get("Accept", ""):
        return web.json_response(error.body(), status=error.status, headers=error.headers)
    return aiohttp_jinja2.render_template("oauth_error.html", request, {"error": error}, status=error.status)


def _single(params: Any, name: str) -> Optional[str]:
    values = params.getall(name, [])
    if len(values) > 1:
        raise OAuthError("invalid_request", f"parameter {name} is repeated")
    return values[0] if values else None


def _found(url: str, **params: Optional[str]) -> web.HTTPFound:
    """The one place redirects are built: a URL aiohttp cannot send is a client error, not a 500."""
    try:
        return web.HTTPFound(with_params(url, **params))
    except ValueError:
        raise OAuthError("invalid_request", "redirect_uri cannot be used as a redirect target") from None


# -- authorize ---------------------------------------------------------------------------------
async def authorize(request: web.Request) -> web.StreamResponse:
    oauth = _oauth(request)
    params = {name: _single(request.query, name) for name in AUTHORIZE_PARAMS}
    app, redirect_uri = await _check_client(oauth, params)
    state = params["state"]
    response_type = params["response_type"]
    if not response_type:
        raise _found(redirect_uri, error="invalid_request",
                                        error_description="response_type is required", state=state)
    if response_type != "code":
        raise _found(redirect_uri, error="unsupported_response_type", state=state)
    if params["scope"] and params["scope"] != SCOPE:
        raise _found(redirect_uri, error="invalid_scope", state=state)
    session_id = request.cookies.get(SSO_COOKIE)
    user = await oauth.session_user(session_id, app.client_id)
    if user is None:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        raise web.HTTPFound(f"/unified-login/?{query}#/portal-login")
    code = await oauth.issue_code(user, app.client_id, redirect_uri, params["redirect_uri"] is not None, session_id)
    raise _found(redirect_uri, code=code, state=state)


async def _check_client(oauth: "OAuth", params: dict[str, Optional[str]]) -> tuple[Any, str]:
    """Steps 1–3 of PROTOCOL §13.2: failures here never redirect."""
    client_id = params.get("client_id")
    if not client_id:
        raise OAuthError("invalid_request", "client_id is required")
    app = await oauth.find_app(client_id)
    if app is None:
        raise OAuthError("invalid_client", f"unknown client_id {client_id}")
    redirect_uri = params.get("redirect_uri") or app.login_url
    if not oauth.redirect_allowed(app, redirect_uri):
        raise OAuthError("invalid_request",
                         f"redirect_uri mismatch: {redirect_uri} is not allowed for this application "
                         f"(registered login URL {app.login_url})")
    return app, redirect_uri


# -- the portal-login page ---------------------------------------------------------------------
async def login_page(request: web.Request, params: dict[str, Optional[str]], error: Optional[str] = None,
                     status: int = 200) -> web.Response:
    oauth = _oauth(request)
    app = users = None
    if params["client_id"]:
        app, _redirect = await _check_client(oauth, params)
        users = await oauth.users(app.client_id)
    return aiohttp_jinja2.render_template("unified_login.html", request, {
        "app": app, "users": users or [], "params": {k: v for k, v in params.items() if v is not None},
        "error": error, "logged_in": request.query.get("logged_in"),
    }, status=status)


async def login_page_get(request: web.Request) -> web.Response:
    return await login_page(request, {name: request.query.get(name) for name in AUTHORIZE_PARAMS})


async def login(request: web.Request) -> web.StreamResponse:
    oauth = _oauth(request)
    form = await _form(request)
    params = {name: (str(form[name]) if name in form else None) for name in AUTHORIZE_PARAMS}
    if not params["client_id"]:
        return await _portal_login(request, form)
    app, redirect_uri = await _check_client(oauth, params)
    state = params["state"]
    user_name = str(form.get("username", "")).strip()
    if form.get("action") == "deny":
        await oauth.log("denied", app.client_id, user_name or None, "the user denied the login")
        raise _found(redirect_uri, error="access_denied", state=state)
    one_click = form.get("action") == "login_as"
    user = await oauth.authenticate(app.client_id, user_name, None if one_click else str(form.get("password", "")))
    if user is None:
        await oauth.log("login_failed", app.client_id, user_name or None, "wrong user name or password")
        return await login_page(request, params, "Wrong user name or password.", 401)
    session_id = await oauth.open_session(user)
    await oauth.log("login", app.client_id, user.user_name, "one-click test login" if one_click else "password")
    code = await oauth.issue_code(user, app.client_id, redirect_uri, params["redirect_uri"] is not None, session_id,
                                  expired="qa_expired_code" in form, other_client="qa_other_client" in form)
    raise _with_session(_found(redirect_uri, code=code, state=state), session_id, oauth)


async def _portal_login(request: web.Request, form: Any) -> web.StreamResponse:
    """The login page opened without an application: it only opens the SSO session (§13.3)."""
    oauth = _oauth(request)
    user_name = str(form.get("username", "")).strip()
    user = None
    for app in await oauth.apps():
        user = await oauth.authenticate(app.client_id, user_name, str(form.get("password", "")))
        if user is not None:
            break
    if user is None:
        await oauth.log("login_failed", None, user_name or None, "wrong user name or password (portal login)")
        return await login_page(request, {}, "Wrong user name or password.", 401)
    session_id = await oauth.open_session(user)
    await oauth.log("login", user.client_id, user.user_name, "portal login without an application")
    raise _with_session(web.HTTPFound("/unified-login/?logged_in=1"), session_id, oauth)


def _with_session(response: web.HTTPFound, session_id: str, oauth: "OAuth") -> web.HTTPFound:
    response.set_cookie(SSO_COOKIE, session_id, httponly=True, samesite="Lax", path="/",
                        max_age=oauth.settings.oauth_sso_session_ttl_s)
    return response


async def _form(request: web.Request) -> Any:
    try:
        return await read_post(request)
    except BadForm as exc:
        raise OAuthError("invalid_request", str(exc)) from None


# -- token -------------------------------------------------------------------------------------
async def token(request: web.Request) -> web.Response:
    oauth = _oauth(request)
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    form = await _form(request)
    grant_type = _single(form, "grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type not in ("authorization_code", "refresh_token"):
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type} is not supported")
    app = await _authenticate_client(oauth, request, form)
    if grant_type == "authorization_code":
        code = _single(form, "code")
        if not code:
            raise OAuthError("invalid_request", "code is required")
        grant = await oauth.exchange_code(app, code, _single(form, "redirect_uri"))
    else:
        refresh_token = _single(form, "refresh_token")
        if not refresh_token:
            raise OAuthError("invalid_request", "refresh_token is required")
        grant = await oauth.refresh(app, refresh_token)
    return web.json_response(grant.body())


async def _authenticate_client(oauth: "OAuth", request: web.Request, form: Any) -> Any:
    """Client authentication by HTTP Basic or by body parameters (RFC 6749 §2.3.1)."""
    basic = _basic_credentials(request.headers.get("Authorization", ""))
    body_id, body_secret = _single(form, "client_id"), _single(form, "client_secret")
    if basic and body_id and basic[0] != body_id:
        raise OAuthError("invalid_request", "two different client authentications")
    if basic:
        return await oauth.client(basic[0], basic[1], via_basic=True)
    if not body_id or body_secret is None:
        raise OAuthError("invalid_client", "client authentication is required (client_id and client_secret)", 401)
    return await oauth.client(body_id, body_secret, via_basic=False)


def _basic_credentials(header: str) -> Optional[tuple[str, str]]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic credentials are not valid Base64", 401,
                         {"WWW-Authenticate": 'Basic realm="oauth2"'}) from None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


# -- userinfo and logout -----------------------------------------------------------------------
async def userinfo(request: web.Request) -> web.Response:
    header = request.headers.get("Authorization")
    if not header:
        return web.json_response({"error": "unauthorized",
                                  "error_description": "Full authentication is required to access this resource"},
                                 status=401)
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise OAuthError("invalid_token", "the Authorization header must be 'Bearer <access_token>'", 401,
                         {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return web.json_response(await _oauth(request).userinfo(value.strip()))


async def logout(request: web.Request) -> web.StreamResponse:
    oauth = _oauth(request)
    target = request.query.get("redirect_url") or request.query.get("redirect_uri")
    user = await oauth.close_session(request.cookies.get(SSO_COOKIE))
    allowed = bool(target) and await oauth.logout_target_allowed(target or "")
    await oauth.log("logout", None, user, f"redirect to {target if allowed else 'the login page'}")
    response = _found(target if allowed and target else "/unified-login/?logged_out=1")
    response.del_cookie(SSO_COOKIE, path="/")
    raise response


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/oauth2/authorize", authorize)
    app.router.add_post("/api/v1/oauth2/token", token)
    app.router.add_get("/api/v1/oauth2/userinfo", userinfo)
    app.router.add_get("/api/v1/logout", logout)
    app.router.add_get("/unified-login/", login_page_get)
    app.router.add_post("/unified-login/login", login)
