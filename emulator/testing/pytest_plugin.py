"""pytest plugin (registered by the ``pytest11`` entry point): a real emulator for merchants' suites.

Fixtures:

* ``koogallery`` – a ``SandboxClient`` on the session's emulator, reset before each test (empty
  store plus the demo catalogue, manual clock at a fixed start). Needs pytest-asyncio.
* ``koogallery_sync`` – the same for suites that are not async: a ``SyncSandboxClient`` (blocking,
  same methods) on the session's emulator, reset before each test. Needs no pytest-asyncio.
* ``koogallery_server`` – the session's ``ThreadedEmulator`` (its ``url``, its ``server``), started
  on first use and stopped at the end of the session.
* ``koogallery_isolated`` – a ``SandboxClient`` on an emulator of its own, started and stopped
  around the test (for tests that must not share the session's emulator, e.g. because they leave
  the demo merchant misbehaving; for other settings, start a ``ThreadedEmulator(**settings)``).

The clock starts at 2026-01-01T00:00:00 UTC (manual mode) unless the ini option
``koogallery_clock_start`` says otherwise. The emulator listens on a free port of 127.0.0.1 and
keeps its store in memory, so parallel workers (pytest-xdist) each get their own and never clash.
README section "Use it from your tests" has examples and timings.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator

import pytest

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixtures then say what is missing
    pytest_asyncio = None  # type: ignore[assignment]


def async_fixture(function: Any) -> Any:
    """An async fixture under any asyncio mode, or one that explains the missing plugin."""
    if pytest_asyncio is not None:
        return pytest_asyncio.fixture(function)

    @pytest.fixture(name=function.__name__)
    def missing() -> None:
        pytest.fail("the koogallery fixtures need pytest-asyncio: pip install 'koogallery-sandbox[pytest]'")

    return missing


# The emulator (aiohttp, SQLAlchemy, the console...) is imported by the fixtures, when a test first
# asks for one: every pytest run of an environment holding this package loads this module.
if TYPE_CHECKING:
    from .client import SandboxClient
    from .sync_client import SyncSandboxClient
    from .threaded import ThreadedEmulator

CLOCK_START = datetime(2026, 1, 1, 0, 0, 0)


def pytest_configure(config: pytest.Config) -> None:
    # aiohttp-jinja2 (the console) stores one value under a plain string key; not the suite's concern.
    config.addinivalue_line("filterwarnings", "ignore:It is recommended to use web.RequestKey")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("koogallery_clock_start", "emulator clock start of the koogallery fixtures (ISO 8601, UTC)",
                  default=CLOCK_START.isoformat())


def _start(config: pytest.Config) -> ThreadedEmulator:
    from .threaded import ThreadedEmulator

    start = datetime.fromisoformat(str(config.getini("koogallery_clock_start")))
    emulator = ThreadedEmulator(clock_start=start)
    emulator.start()
    return emulator


@pytest.fixture(scope="session")
def koogallery_server(pytestconfig: pytest.Config) -> Iterator[ThreadedEmulator]:
    emulator = _start(pytestconfig)
    yield emulator
    emulator.stop()


@async_fixture
async def koogallery(koogallery_server: ThreadedEmulator) -> AsyncIterator[SandboxClient]:
    from .client import SandboxClient

    client = SandboxClient(koogallery_server.url)
    await client.reset()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def koogallery_sync(koogallery_server: ThreadedEmulator) -> Iterator[SyncSandboxClient]:
    from .sync_client import SyncSandboxClient

    client = SyncSandboxClient(koogallery_server.url)
    try:
        client.reset()
        yield client
    finally:
        client.close()


@async_fixture
async def koogallery_isolated(pytestconfig: pytest.Config) -> AsyncIterator[SandboxClient]:
    from .client import SandboxClient

    emulator = _start(pytestconfig)
    client = SandboxClient(emulator.url)
    try:
        yield client
    finally:
        await client.close()
        emulator.stop()
