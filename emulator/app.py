"""Application factory and the server runner used by the CLI, the tests and the fixture."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Optional

from aiohttp import web

from .control import certify_routes, gateway_routes, kit_routes, routes as control_routes, traffic_routes
from .control.errors import error_middleware, refuse_host
from .control.keys import DEMO_STUB, SERVICES, SETTINGS
from .gateway import demo_backend, routes as buyer_gateway_routes
from .oauth import routes as oauth_routes
from .openapi import routes as openapi_routes
from .openapi.gateway import make_gateway
from .requestguard import allowed_hosts, host_middleware
from .services import Services
from .settings import Settings
from .marketplace.errors import DomainError
from .testing.merchant_stub import MerchantStub
from .testing.openapi_client import OpenApiClient

log = logging.getLogger(__name__)


DEMO_KIT_KEY_FILE = "demo-kit-private-key.pem"


def _demo_merchant(settings: Settings, merchant_id: str) -> dict[str, Any]:
    """A merchant of the demo catalogue, or ``{}`` when the catalogue has none by that id."""
    path = Path(settings.fixtures_dir) / "demo-catalogue.json"
    try:
        merchants = json.loads(path.read_text(encoding="utf-8")).get("merchants", [])
        return next((m for m in merchants if isinstance(m, dict) and m.get("id") == merchant_id), {})
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def _demo_key(settings: Settings) -> str:
    return str(_demo_merchant(settings, "demo").get("access_key") or "demo-access-key-0001")


def _demo_kit_key(settings: Settings) -> Optional[str]:
    """The kit key of the demo joint-operation merchant (§2b)."""
    kit_key = _demo_merchant(settings, "demo-joint").get("kit_key")
    return kit_key if isinstance(kit_key, str) else None


def _demo_private_key(settings: Settings) -> Optional[str]:
    """The throw-away RSA private key that decrypts applicationSync's clientSecret (§3)."""
    try:
        return (Path(settings.fixtures_dir) / DEMO_KIT_KEY_FILE).read_text(encoding="ascii")
    except (OSError, ValueError):
        return None


def _demo_stub(settings: Settings) -> MerchantStub:
    return MerchantStub(_demo_key(settings), kit_key=_demo_kit_key(settings),
                        private_key_pem=_demo_private_key(settings))


def create_app(settings: Settings) -> web.Application:
    gateway = make_gateway(lambda request: request.app[SERVICES])
    hosts = allowed_hosts(settings.host, settings.allowed_hosts.split(","))
    app = web.Application(middlewares=[host_middleware(hosts, refuse_host), gateway, error_middleware],
                          client_max_size=1 << 20)
    app[SETTINGS] = settings

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        app[SERVICES] = await Services.open(settings)
        yield
        await app[SERVICES].close()

    app.cleanup_ctx.append(services_ctx)
    control_routes.setup(app)
    kit_routes.setup(app)
    certify_routes.setup(app)
    traffic_routes.setup(app)
    gateway_routes.setup(app)
    buyer_gateway_routes.setup(app)
    demo_backend.setup(app)
    openapi_routes.setup(app)
    oauth_routes.setup(app)
    stub: Optional[MerchantStub] = None
    if settings.demo_merchant and not settings.merchant_url:
        stub = _demo_stub(settings)
        app.add_subapp("/demo-merchant/", stub.app())
    app[DEMO_STUB] = stub
    from webui import setup as setup_console

    setup_console(app)
    app.middlewares.append(oauth_routes.oauth_middleware)
    return app


class EmulatorServer:
    """Start the real server on a host/port (0 = any free port) and stop it again."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._runner: Optional[web.AppRunner] = None
        self.url = ""

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    @property
    def demo_stub(self) -> Optional[MerchantStub]:
        return self.app[DEMO_STUB]

    async def start(self) -> str:
        from .openapi.credentials import Issued
        from .openapi.gateway import PARSER_LIMIT

        # aiohttp's own limits (8,190 bytes) would answer long URIs and headers with a plain-text 400;
        # above them the open-API gateway answers 414/494 APIGW.0201 (PROTOCOL §12.3).
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                     max_line_size=PARSER_LIMIT, max_field_size=PARSER_LIMIT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        port = server.sockets[0].getsockname()[1]
        host = self.settings.host if self.settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        self.url = f"http://{host}:{port}"
        await self.services.start(self.url)
        await self._connect_demo_stub()
        self.services.after_reset.append(self._connect_demo_stub)
        if self.services.seeded_at_start:
            await self.services.remember_seed()

        async def follow_demo_pair(issued: Issued) -> None:
            if issued.merchant_id == "demo":
                await self._connect_demo_stub()

        self.services.credentials.on_issue.append(follow_demo_pair)
        return self.url

    async def _connect_demo_stub(self) -> None:
        """The demo merchant reads each new order with Query Order, as a real slim merchant does."""
        stub = self.demo_stub
        if stub is None:
            return
        credentials = self.services.credentials
        try:
            pair = await credentials.active_pair("demo") or await credentials.issue("demo")
        except DomainError:  # the demo merchant was deleted
            return
        stub.open_api = OpenApiClient(self.url, pair.ak, pair.sk)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
