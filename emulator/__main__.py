"""Command line: ``python -m emulator serve|scenario|certify|replay …`` (``--help`` lists the options)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any, Optional, Sequence

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
    scenario = commands.add_parser("scenario", help="list or run the named scenarios (shipped with the package)")
    scenario.add_argument("action", choices=("list", "run"))
    scenario.add_argument("name", nargs="?", help="scenario to run")
    scenario.add_argument("--url", help="a running emulator (default: a throw-away one with the demo merchant)")
    certify = commands.add_parser("certify", help="check a merchant interface against the certification battery")
    certify.add_argument("--merchant-url", required=True, help="the production interface URL")
    certify.add_argument("--key", required=True, help="the access key the calls are signed with")
    certify.add_argument("--family", default="saas_v2_slim",
                         help="saas_v2_slim (default), saas_v2_joint, license_v2 or saas_v1")
    certify.add_argument("--kit-key", help="the kit key (joint-operation family)")
    certify.add_argument("--public-key", help="file with the RSA public key of the merchant's login application "
                                              "(joint-operation kit syncs)")
    certify.add_argument("--signature-hex-case", default="upper", choices=("upper", "lower"))
    certify.add_argument("--report", help="folder for junit.xml, report.html and report.json")
    certify.add_argument("--emulator", help="run on this running emulator (POST /certify) instead of a throw-away "
                                            "one: needed for the unified-login checks of the app that logs in there")
    certify.add_argument("--client-id", help="the app's unified-login application (login checks; with --emulator)")
    certify.add_argument("--login-start", help="the app's URL that starts a login (login checks; with --emulator)")
    certify.add_argument("--login-user", help="the test user to log in as (default: the application's first)")
    from .replay.replay import add_replay_parser

    add_replay_parser(commands)
    return parser


async def _scenario(action: str, name: Optional[str], url: str) -> int:
    from .testing.client import SandboxClient, SandboxError

    async with SandboxClient(url) as client:
        if action == "list":
            for item in (await client.request("GET", "/scenarios"))["scenarios"]:
                print(f"{item['name']:28} {item['description']}")
            return 0
        try:
            report = await client.run_scenario(name or "")
        except SandboxError as exc:
            print(f"koogallery-sandbox: {exc}", file=sys.stderr)
            return 2
    for step in report["steps"]:
        print(f"{'PASS' if step['passed'] else 'FAIL'} {step['index']:>2}. {step['step']}\n         {step['detail']}")
    print(f"scenario {report['scenario']}: {'passed' if report['passed'] else 'FAILED'} "
          f"(emulator clock {report['clock_from']} -> {report['clock_to']})")
    return 0 if report["passed"] else 1


def _run_scenario_command(args: argparse.Namespace) -> int:
    if args.action == "run" and not args.name:
        print("koogallery-sandbox: give the name of the scenario to run", file=sys.stderr)
        return 2
    if args.url:
        return asyncio.run(_scenario(args.action, args.name, args.url))
    from .testing.threaded import ThreadedEmulator

    with ThreadedEmulator() as emulator:
        return asyncio.run(_scenario(args.action, args.name, emulator.url))


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


async def _remote_certification(url: str, data: Any) -> dict:
    from .testing.client import SandboxClient

    async with SandboxClient(url) as client:
        return await client.request("POST", "/certify", data.model_dump(exclude_none=True))


def _certify_command(args: argparse.Namespace) -> int:
    """Exit 0 when every required case passed, 1 when one failed, 2 on bad arguments."""
    from pathlib import Path

    from pydantic import ValidationError

    from .certify import reports
    from .certify.inputs import CertifyInput
    from .certify.runner import certify_input

    try:
        public_key = Path(args.public_key).read_text(encoding="ascii") if args.public_key else None
    except (OSError, UnicodeDecodeError) as exc:
        print(f"koogallery-sandbox: --public-key: {exc}", file=sys.stderr)
        return 2
    try:
        data = CertifyInput(merchant_url=args.merchant_url, key=args.key, family=args.family,
                            kit_key=args.kit_key, signature_hex_case=args.signature_hex_case, public_key=public_key,
                            client_id=args.client_id, login_start=args.login_start, login_user=args.login_user)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"koogallery-sandbox: {problems}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.emulator:
        try:
            report = reports.from_json(asyncio.run(_remote_certification(args.emulator, data)))
        except Exception as exc:  # noqa: BLE001 - any failure to reach or use the emulator is reported
            print(f"koogallery-sandbox: --emulator {args.emulator}: {exc}", file=sys.stderr)
            return 2
    elif args.client_id or args.login_start:
        print("koogallery-sandbox: the login checks run on the emulator the app logs in with: give --emulator",
              file=sys.stderr)
        return 2
    else:
        report = asyncio.run(certify_input(data))
    print(reports.text(report))
    if args.report:
        for path in reports.write(report, Path(args.report)):
            print(f"wrote {path}")
    return 0 if report.passed else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "scenario":
        return _run_scenario_command(args)
    if args.command == "certify":
        return _certify_command(args)
    if args.command == "replay":
        from .replay.replay import run_replay

        return run_replay(args)
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
