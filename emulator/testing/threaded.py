"""The real emulator in a background thread with its own event loop, so that any test (sync or
async, on any event loop) can talk to it over HTTP on loopback."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any, Optional

from ..app import EmulatorServer
from ..settings import Settings, load_settings


class ThreadedEmulator:
    def __init__(self, settings: Optional[Settings] = None, **overrides: Any) -> None:
        defaults = {"port": 0, "database": ":memory:", "clock_mode": "manual", "log_level": "WARNING"}
        self.settings = settings or load_settings(**{**defaults, **overrides})
        self.url = ""
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._server: Optional[EmulatorServer] = None

    def start(self, timeout: float = 30.0) -> str:
        started: Future[str] = Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name="koogallery-sandbox", daemon=True)
        self._thread.start()
        self.url = started.result(timeout)
        return self.url

    def _run(self, started: "Future[str]") -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = EmulatorServer(self.settings)
        try:
            started.set_result(self._loop.run_until_complete(self._server.start()))
        except BaseException as exc:  # report start-up failures to the caller
            started.set_exception(exc)
            return
        self._loop.run_forever()
        self._loop.run_until_complete(self._server.stop())
        self._loop.close()

    def call(self, coroutine: Any, timeout: float = 60.0) -> Any:
        """Run a coroutine on the emulator's loop (e.g. ``services.reset()``) and wait for it."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def server(self) -> EmulatorServer:
        assert self._server is not None
        return self._server

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop = None

    def __enter__(self) -> "ThreadedEmulator":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
