"""Settings: every effective setting (secrets masked) and the reset action."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from emulator import __version__
from emulator.control.keys import SETTINGS
from emulator.control.views import mask
from emulator.settings import ENV_PREFIX, Settings

from ..security import redirect
from .common import render, services

SECRETS = frozenset({"merchant_key", "console_secret"})


def _without_password(url: str) -> str:
    """A database URL as shown: its password masked."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":••••@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def shown_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in SECRETS:
        return mask(str(value))
    if name == "database":
        return _without_password(str(value))
    return value


def setting_rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per setting, in the order the settings are declared."""
    return [{"name": name, "env": ENV_PREFIX + name.upper(), "value": shown_value(name, getattr(settings, name)),
             "description": info.description or "", "default": getattr(settings, name) == info.get_default(
                 call_default_factory=True)}
            for name, info in Settings.model_fields.items()]


async def settings_page(request: web.Request) -> web.Response:
    return render("settings.html", request, {"settings": setting_rows(request.app[SETTINGS]), "version": __version__,
                                             "demo_url": services(request).demo_merchant_url})


async def reset(request: web.Request) -> web.Response:
    await services(request).reset()
    raise redirect("/", "Everything was reset: the demo catalogue is loaded again and the clock restarted.")


def setup(app: web.Application) -> None:
    app.router.add_get("/settings", settings_page)
    app.router.add_post("/settings/reset", reset)
