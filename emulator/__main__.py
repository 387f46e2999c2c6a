"""Command line: ``python -m emulator serve [--host H] [--port P] [--config FILE] [--print-url]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Optional, Sequence

from .app import EmulatorServer
from .settings import SettingsError, load_settings
from .store.engine import StoreError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="KooGallery marketplace emulator")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the emulator server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; KOOGALLERY_HOST)")
    serve.add_argument("--port", type=int, help="port to bind, 0 for any free port (default 8080; KOOGALLERY_PORT)")
    serve.add_argument("--config", help="TOML settings file (KOOGALLERY_CONFIG)")
    serve.add_argument("--database", help="SQLite file, ':memory:' or a SQLAlchemy URL (KOOGALLERY_DATABASE)")
    serve.add_argument("--clock-mode", choices=("real", "scaled", "manual"), help="KOOGALLERY_CLOCK_MODE")
    serve.add_argument("--clock-speed", type=float, help="speed factor of the scaled clock (KOOGALLERY_CLOCK_SPEED)")
    serve.add_argument("--print-url", action="store_true", help="print the bound URL on stdout once ready")
    return parser


async def _serve(server: EmulatorServer, print_url: bool) -> None:
    url = await server.start()
    logging.getLogger("emulator").info("KooGallery sandbox listening on %s (console %s/)", url, url)
    if print_url:
        print(url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(
            config_file=args.config, host=args.host, port=args.port, database=args.database,
            clock_mode=args.clock_mode, clock_speed=args.clock_speed,
        )
    except SettingsError as exc:
        print(f"koogallery-sandbox: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        asyncio.run(_serve(EmulatorServer(settings), args.print_url))
    except (OSError, StoreError) as exc:
        print(f"koogallery-sandbox: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
