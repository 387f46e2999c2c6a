"""Typed application keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..services import Services
    from ..settings import Settings
    from ..testing.merchant_stub import MerchantStub

SERVICES: web.AppKey["Services"] = web.AppKey("services")
SETTINGS: web.AppKey["Settings"] = web.AppKey("settings")
DEMO_STUB: web.AppKey["MerchantStub | None"] = web.AppKey("demo_stub")
