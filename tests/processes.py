"""Real servers for the tests: an emulator as its own process (as a deployment runs it), and any
aiohttp application on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Optional, Union

from aiohttp import web

CLOCK_START = "2026-01-31T10:00:00"


class EmulatorProcess:
    """``python -m emulator serve`` on a free port with a manual clock; ``start`` returns its URL."""

    def __init__(self, database: Union[str, Path], **env: str) -> None:
        self.database = str(database)
        self.env = env
        self.process: Optional[asyncio.subprocess.Process] = None
        self.url = ""

    async def start(self) -> str:
        env = {**os.environ, "KOOGALLERY_CLOCK_START": CLOCK_START, "KOOGALLERY_LOG_LEVEL": "WARNING", **self.env}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "emulator", "serve", "--port", "0", "--print-url",
            "--database", self.database, "--clock-mode", "manual", stdout=asyncio.subprocess.PIPE, env=env)
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
        self.url = line.decode().strip()
        assert self.url.startswith("http://"), f"the emulator did not start: {line!r}"
        return self.url

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on 127.0.0.1 and a free port; returns the runner (to clean up) and its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
