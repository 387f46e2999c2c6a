"""Unified login: applications (credentials shown once), their test users, and the login journal."""

from __future__ import annotations

from typing import Optional

from aiohttp import web

from emulator.control.views import iso, mask
from emulator.marketplace.errors import DomainError
from emulator.oauth.service import AppInput, UserInput

from ..forms import FormState, read_form, submit
from ..security import redirect
from .common import render, services


async def _page(request: web.Request, form: Optional[FormState] = None, created: Optional[dict] = None,
                status: int = 200) -> web.Response:
    s = services(request)
    apps = []
    for app in await s.oauth.apps():
        users = [{"userName": u.user_name, "name": u.name, "role": u.role, "email": u.email}
                 for u in await s.oauth.users(app.client_id)]
        apps.append({"client_id": app.client_id, "client_secret": mask(app.client_secret), "name": app.name,
                     "merchant_id": app.merchant_id, "login_url": app.login_url, "tenant_name": app.tenant_name,
                     "users": users})
    events = [{"at": iso(e.at), "client_id": e.client_id, "user": e.user, "event": e.event, "detail": e.detail}
              for e in await s.oauth.journal(limit=100)]
    merchants = [m.id for m in await s.catalogue.list_merchants()]
    return render("login_apps.html", request, {
        "apps": apps, "events": events, "merchants": merchants, "created": created,
        "form": form or FormState(name="app"), "base_url": f"{request.scheme}://{request.host}",
    }, status)


async def apps_page(request: web.Request) -> web.Response:
    return await _page(request)


async def create_app(request: web.Request) -> web.Response:
    data, form = await read_form(request, name="app")
    app = await submit(AppInput, data, form, services(request).oauth.create_app)
    if app is None:
        return await _page(request, form, status=400)
    created = {"client_id": app.client_id, "client_secret": app.client_secret, "name": app.name}
    return await _page(request, created=created, status=201)


async def add_user(request: web.Request) -> web.Response:
    client_id = request.match_info["client_id"]
    data, form = await read_form(request, name="user-" + client_id)
    user = await submit(UserInput, data, form, lambda model: services(request).oauth.add_user(client_id, model))
    if user is None:
        return await _page(request, form, status=400)
    raise redirect("/login-apps", f"Test user {user.user_name} added.")


async def credential_flow(request: web.Request) -> web.Response:
    """Run the kit chain a credential application sends, then show its enterprise."""
    client_id = request.match_info["client_id"]
    _data, form = await read_form(request, name="kit-" + client_id)
    try:
        detail = await services(request).kit.credential_flow(client_id)
    except DomainError as exc:
        return await _page(request, form.from_domain(exc), status=409 if exc.status == 409 else 400)
    await services(request).settle()
    tenant_id = detail.tenant.tenant_id
    raise redirect(f"/enterprises/{tenant_id}", f"Credential-application kit chain sent for test tenant {tenant_id}.")


def setup(app: web.Application) -> None:
    app.router.add_get("/login-apps", apps_page)
    app.router.add_post("/login-apps", create_app)
    app.router.add_post("/login-apps/{client_id}/users", add_user)
    app.router.add_post("/login-apps/{client_id}/credential-flow", credential_flow)


