"""Replay an exported traffic file against another production interface and compare the answers.

Each recorded request is sent again, in the recorded order and one at a time, to the target, with
its recorded body bytes and a new signature for the target's key: §2a URL parameters for the POSTs,
§2b ``x-*`` headers (the kit key) for the kit syncs at ``/produceAPI/v2/<name>``, and a new
``timeStamp`` and ``authToken`` (§2c) for the V1 GETs; each with a fresh nonce and wall-clock
timestamp and a 5 s timeout. The new answer is compared with the recorded one: the HTTP status,
then the JSON body member by member (key order does not matter; array elements are compared by
position). The comparison is exact: ``ignore`` names members to skip, either a bare name (skipped
at any depth, e.g. ``resultMsg``) or a dotted path (``appInfo.frontEndUrl``, ``info[0].instanceId``).
The body of a ``newInstance`` keeps its recorded ``businessId``, so a merchant that derives its
instanceId from it answers the same instanceId; one that draws random ids needs
``--ignore instanceId``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Collection, Optional, Sequence

import aiohttp
from yarl import URL

from ..protocol.kit import KIT_SYNCS, kit_url
from ..protocol.signing import (
    append_query, basic_signature, basic_signed_query, kit_x_sign, new_nonce, v1_signed_query, v1_timestamp,
    wall_clock_ms,
)

TIMEOUT_S = 5.0
MAX_REPLY_BYTES = 1 << 20
TRANSPORT_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
ABSENT = object()


class ReplayInputError(ValueError):
    """The traffic file or an argument cannot be used; the message names the problem."""


@dataclass(frozen=True)
class Recorded:
    """One request of the traffic file and the answer it got."""

    line: int
    delivery_id: Any
    attempt: Any
    activity: str
    method: str
    url: str
    headers: dict[str, str]
    body: str
    params: Optional[dict[str, str]]
    status: int
    response_body: Optional[str]


@dataclass
class Result:
    """The new answer to one recorded request and how it differs from the recorded one."""

    line: int
    delivery_id: Any
    attempt: Any
    activity: str
    method: str
    differences: list[str] = field(default_factory=list)
    status: Optional[int] = None
    body: Optional[str] = None

    @property
    def same(self) -> bool:
        return not self.differences


# -- the traffic file ---------------------------------------------------------------------------
def load_traffic(path: str | Path) -> list[Recorded]:
    """The requests of a JSON-lines export; ``ReplayInputError`` names the file, line and problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayInputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    requests = [_recorded(path, number, raw) for number, raw in enumerate(text.split("\n"), 1) if raw.strip()]
    if not requests:
        raise ReplayInputError(f"{path} holds no recorded request")
    return requests


def _recorded(path: str | Path, number: int, raw: str) -> Recorded:
    where = f"{path} line {number}"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ReplayInputError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ReplayInputError(f"{where}: not a JSON object")
    response = _member(data, "response", dict, where)
    method = _member(data, "method", str, where)
    if method not in ("GET", "POST"):
        raise ReplayInputError(f"{where}: method {method!r} is neither GET nor POST")
    return Recorded(
        line=number, delivery_id=data.get("delivery_id"), attempt=data.get("attempt"),
        activity=_member(data, "activity", str, where), method=method, url=_member(data, "url", str, where),
        headers=_strings(data.get("headers") or {}, f"{where}: headers"), body=_member(data, "body", str, where),
        params=_strings(_member(data, "params", dict, where), f"{where}: params") if method == "GET" else None,
        status=_member(response, "status", int, where, "response.status"),
        response_body=response.get("body") if isinstance(response.get("body"), str) else None,
    )


def _member(data: dict[str, Any], name: str, kind: type, where: str, label: Optional[str] = None) -> Any:
    value = data.get(name)
    if value is None:
        raise ReplayInputError(f"{where}: {label or name!r} is missing")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ReplayInputError(f"{where}: {label or name!r} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _strings(values: Any, where: str) -> dict[str, str]:
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise ReplayInputError(f"{where} must be an object of strings")
    return dict(values)


# -- signing for the target ---------------------------------------------------------------------
def signed_for_target(recorded: Recorded, to: str, key: str, kit_key: Optional[str]
                      ) -> tuple[str, dict[str, str], bytes]:
    """URL, headers and body of the request, signed for the target with a fresh nonce and timestamp."""
    headers = {k: v for k, v in recorded.headers.items() if k.lower() not in TRANSPORT_HEADERS}
    payload = recorded.body.encode("utf-8")
    if recorded.method == "GET":
        params = {**(recorded.params or {}), "timeStamp": v1_timestamp()}
        return append_query(to, v1_signed_query(key, params)), headers, b""
    nonce, timestamp = new_nonce(), wall_clock_ms()
    if recorded.activity in KIT_SYNCS:
        sign = kit_x_sign(kit_key or "", nonce, timestamp, payload)
        kit_headers = {"x-sign": sign, "x-timestamp": timestamp, "x-nonce": nonce}
        return kit_url(to, recorded.activity), {**headers, **kit_headers}, payload
    signature = basic_signature(key, nonce, timestamp, payload, upper=True)
    return append_query(to, basic_signed_query(signature, timestamp, nonce)), headers, payload


# -- sending ------------------------------------------------------------------------------------
async def replay(requests: Sequence[Recorded], to: str, key: str, kit_key: Optional[str] = None,
                 ignore: Sequence[str] = (), timeout_s: float = TIMEOUT_S) -> list[Result]:
    """Send every request to ``to``, in order and one at a time, and compare each answer."""
    results = []
    async with aiohttp.ClientSession() as session:
        for recorded in requests:
            results.append(await _replay_one(session, recorded, to, key, kit_key, set(ignore), timeout_s))
    return results


async def _replay_one(session: aiohttp.ClientSession, recorded: Recorded, to: str, key: str,
                      kit_key: Optional[str], ignore: set[str], timeout_s: float) -> Result:
    result = Result(recorded.line, recorded.delivery_id, recorded.attempt, recorded.activity, recorded.method)
    url, headers, body = signed_for_target(recorded, to, key, kit_key)
    try:
        result.status, result.body = await _send(session, recorded.method, url, headers, body, timeout_s)
    except asyncio.TimeoutError:
        result.differences.append(f"transport error: no complete answer within {timeout_s:g} s")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        result.differences.append(f"transport error: {type(exc).__name__}: {exc}")
    else:
        result.differences = compare(recorded.status, recorded.response_body, result.status, result.body, ignore)
    return result


async def _send(session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: bytes,
                timeout_s: float) -> tuple[int, str]:
    """Status and body text of one request; the URL goes out exactly as signed."""
    timeout = aiohttp.ClientTimeout(total=timeout_s, ceil_threshold=timeout_s + 1)
    target = URL(url, encoded=True) if url.isascii() else url
    async with session.request(method, target, data=body or None, headers=headers, allow_redirects=False,
                               timeout=timeout) as response:
        raw = await response.content.read(MAX_REPLY_BYTES)
        return response.status, raw.decode("utf-8", errors="replace")


# -- comparing ----------------------------------------------------------------------------------
def compare(old_status: int, old_body: Optional[str], new_status: int, new_body: Optional[str],
            ignore: Collection[str] = ()) -> list[str]:
    """The differences between the recorded answer and the new one, in plain words."""
    differences = [f"status: {old_status} → {new_status}"] if old_status != new_status else []
    old, new = _json(old_body), _json(new_body)
    if old is ABSENT or new is ABSENT:
        if (old_body or "") != (new_body or ""):
            differences.append(f"body: {_short(old_body)} → {_short(new_body)}")
        return differences
    return differences + _diff(old, new, "", ignore)


def _json(text: Optional[str]) -> Any:
    try:
        return json.loads((text or "").lstrip("\ufeff"))
    except ValueError:
        return ABSENT


def _diff(old: Any, new: Any, path: str, ignore: Collection[str]) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [line for name in sorted(old.keys() | new.keys())
                for line in _member_diff(old.get(name, ABSENT), new.get(name, ABSENT), _join(path, name), name,
                                         ignore)]
    if isinstance(old, list) and isinstance(new, list):
        return [line for i in range(max(len(old), len(new)))
                for line in _member_diff(old[i] if i < len(old) else ABSENT, new[i] if i < len(new) else ABSENT,
                                         f"{path}[{i}]", None, ignore)]
    return [] if _equal(old, new) else [f"{path or 'body'}: {_show(old)} → {_show(new)}"]


def _member_diff(old: Any, new: Any, path: str, name: Optional[str], ignore: Collection[str]) -> list[str]:
    if path in ignore or (name is not None and name in ignore):
        return []
    if new is ABSENT:
        return [f"{path}: missing (was {_show(old)})"]
    if old is ABSENT:
        return [f"{path}: extra member (now {_show(new)})"]
    return _diff(old, new, path, ignore)


def _equal(old: Any, new: Any) -> bool:
    """Equal JSON values: ``1`` is not ``true`` and ``"1"`` is not ``1``."""
    return type(old) is type(new) and old == new


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value: Any) -> str:
    return _short(json.dumps(value, ensure_ascii=False))


def _short(text: Optional[str], limit: int = 200) -> str:
    if text is None:
        return "(none)"
    return text if len(text) <= limit else text[:limit] + "…"


# -- the command line -----------------------------------------------------------------------------
def add_replay_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``replay`` command to an ``add_subparsers()`` object."""
    parser = subparsers.add_parser("replay", help="send an exported traffic file to another URL and compare",
                                   description="Replay a traffic export (GET /merchants/{id}/traffic) against "
                                               "another production interface and compare its answers.")
    _replay_arguments(parser)
    return parser


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the JSON-lines export")
    parser.add_argument("--to", required=True, metavar="URL", help="the production URL to replay against")
    parser.add_argument("--key", required=True, help="the target's access key (§2a, §2c)")
    parser.add_argument("--kit-key", help="the target's kit key, for kit syncs (§2b)")
    parser.add_argument("--ignore", action="append", default=[], metavar="MEMBER",
                        help="a body member not to compare (a name, or a path such as appInfo.adminUrl); repeatable")
    parser.add_argument("--report", metavar="FILE", help="also write the results as JSON to FILE")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator replay",
                                     description="Replay a traffic export against another production interface.")
    _replay_arguments(parser)
    return parser


def replay_main(argv: list[str]) -> int:
    """``python -m emulator replay FILE --to URL --key KEY ...``: 0 all the same, 1 something differs,
    2 bad arguments or an unusable file."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return exc.code if isinstance(exc.code, int) else 2
    return run_replay(args)


def run_replay(args: argparse.Namespace) -> int:
    """Run parsed ``replay`` arguments (from ``add_replay_parser``) on a new event loop."""
    return asyncio.run(replay_command(args))


async def replay_command(args: argparse.Namespace | list[str]) -> int:
    """The ``replay`` command on the running loop; ``args`` parsed, or the argument list."""
    if isinstance(args, list):
        try:
            args = _parser().parse_args(args)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 2
    try:
        requests = _checked_inputs(args)
    except ReplayInputError as exc:
        print(f"koogallery-sandbox replay: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = await replay(requests, args.to, args.key, args.kit_key, args.ignore)
    _print(results, time.perf_counter() - started)
    if args.report and not _write_report(args.report, args.to, results):
        return 2
    return 0 if all(r.same for r in results) else 1


def _checked_inputs(args: argparse.Namespace) -> list[Recorded]:
    if not args.to.startswith(("http://", "https://")):
        raise ReplayInputError(f"--to {args.to!r} must begin with http:// or https://")
    requests = load_traffic(args.file)
    kit = next((r for r in requests if r.method == "POST" and r.activity in KIT_SYNCS), None)
    if kit is not None and not args.kit_key:
        raise ReplayInputError(f"{args.file} line {kit.line} is a kit sync ({kit.activity}): give --kit-key")
    return requests


def _print(results: list[Result], elapsed_s: float) -> None:
    for result in results:
        print(f"{'same' if result.same else 'DIFF'}  line {result.line}: #{result.delivery_id}/{result.attempt} "
              f"{result.method} {result.activity}")
        for difference in result.differences:
            print(f"      {difference}")
    different = sum(not r.same for r in results)
    print(f"{len(results)} request(s) replayed in {elapsed_s:.1f} s: {len(results) - different} same, "
          f"{different} different")


def report(to: str, results: list[Result]) -> dict[str, Any]:
    """The JSON report: a summary and every request's result."""
    different = sum(not r.same for r in results)
    return {"target": to, "total": len(results), "same": len(results) - different, "different": different,
            "results": [{**asdict(r), "same": r.same} for r in results]}


def _write_report(path: str, to: str, results: list[Result]) -> bool:
    try:
        Path(path).write_text(json.dumps(report(to, results), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"koogallery-sandbox replay: cannot write the report {path}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True
