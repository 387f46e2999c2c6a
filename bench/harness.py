"""What the benchmarks of bench/ share: child processes that are always stopped, the emulator
started as a user starts it, CPU and memory readings, percentiles and the "min / median / max"
format, and an HTTP load generator (wrk, or a clearly labelled multi-process Python fallback).

Every benchmark sets each figure against a baseline measured in the same run (``ordered`` puts the
emulator and its baseline in alternating order from run to run, so that a burst of machine noise
hits both), repeats the run ``--runs`` times and prints min / median / max. Nothing is asserted.

Run as a script, this module is one worker of the Python load generator (``python
bench/harness.py loadgen '<json>'``); the benchmarks start it themselves when wrk is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TypeVar

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

API = "/sandbox/api/v1"
CLOCK_START = "2026-01-01T00:00:00"
WRK = shutil.which("wrk")
T = TypeVar("T")


# -- the command line and the header ---------------------------------------------------------
def parser(doc: Optional[str]) -> argparse.ArgumentParser:
    """The options every benchmark has: --runs and --quick."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs, each measuring emulator and baseline (default 3)")
    ap.add_argument("--quick", action="store_true", help="shorter samples: about 1-2 minutes in all")
    return ap


def print_header(title: str, args: argparse.Namespace, with_load_generator: bool = True) -> None:
    """The machine and the software the figures come from: other work on a small machine moves them.
    ``with_load_generator``: the benchmark uses ``http_load``, so name its load generator."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{title}{' (quick)' if args.quick else ''}, {args.runs} run(s)")
    print(f"  machine: {os.cpu_count()} CPU(s), load average {load} (1/5/15 min), {platform.machine()}")
    print(f"  Python {platform.python_version()} ({sys.executable}), aiohttp {aiohttp.__version__}"
          + (f"; load generator: {load_generator_name()}" if with_load_generator else ""))
    print(f"  emulator: {_checkout_state()}")
    print("  each figure: min / median / max over the runs; ratios are emulator / baseline of the same run")
    print(flush=True)


def load_generator_name() -> str:
    if WRK:
        version = subprocess.run([WRK, "--version"], capture_output=True, text=True).stdout.split("[")[0]
        return version.strip() or "wrk"
    return "PYTHON FALLBACK (wrk not found: multi-process aiohttp client, slower than wrk)"


def _checkout_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "emulator"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{ROOT} (not a git checkout)"
    return f"{ROOT} at {head}{' with uncommitted changes in emulator/' if dirty else ''}"


# -- figures ---------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ranked = sorted(values)
    position = q * (len(ranked) - 1)
    low = int(position)
    high = min(low + 1, len(ranked) - 1)
    return ranked[low] + (ranked[high] - ranked[low]) * (position - low)


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """``min / median / max`` of the values, each formatted with ``fmt``."""
    if not values:
        return "n/a"
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def ordered(run: int, items: Sequence[T]) -> list[T]:
    """The items in their order on even runs and reversed on odd ones (emulator and baseline
    alternate who goes first)."""
    return list(items) if run % 2 == 0 else list(reversed(items))


@dataclass
class Figures:
    """Values of named figures, one per run (or per call), reported as min / median / max."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def get(self, name: str) -> list[float]:
        return self.values.get(name, [])

    def line(self, name: str, fmt: str = "{:.2f}", unit: str = "", goal: str = "", label: str = "") -> str:
        """``label`` (default: the name), then min / median / max, the goal and how many values."""
        values = self.get(name)
        text = f"{label or name:48} {spread(values, fmt)}{unit}"
        return text + (f"   (goal {goal})" if goal else "") + (f"   [n={len(values)}]" if len(values) != 1 else "")


# -- child processes -------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1
try:  # looked up here: the child, between fork and exec, only calls it
    _prctl: Optional[Callable[..., int]] = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def _die_with_parent() -> None:
    """In the child: SIGTERM when the benchmark dies, even by SIGKILL (Linux)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[str]
    url: str

    @property
    def pid(self) -> int:
        return self.proc.pid


class Processes:
    """Every child a benchmark starts; a ``with`` block stops them all, whatever happens.

    Start children from the main thread only: the "die with parent" signal follows the thread that
    started the child.
    """

    def __init__(self) -> None:
        self.logs = Path(tempfile.mkdtemp(prefix="koogallery-bench-"))
        self.running: dict[subprocess.Popen[str], str] = {}
        self.cleanups: list[Callable[[], None]] = []

    def __enter__(self) -> "Processes":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds into __exit__
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_all()
        shutil.rmtree(self.logs, ignore_errors=True)

    def start(self, name: str, argv: list[str], env: Optional[dict[str, str]] = None,
              timeout: float = 60.0) -> Server:
        """Start a server that prints its URL as its first stdout line (its stderr goes to a log)."""
        with open(self.logs / f"{name}.log", "a") as stderr:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=ROOT, text=True,
                                    preexec_fn=_die_with_parent)
        self.running[proc] = name
        url = _first_line(proc, timeout)
        if not url.startswith("http"):
            self.stop(proc)
            raise RuntimeError(f"{name} did not start (first line {url!r}); its log:\n{self.log_tail(name)}")
        _drain(proc)
        return Server(name, proc, url.rstrip("/"))

    def stop(self, proc: subprocess.Popen[str]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.running.pop(proc, None)

    def stop_all(self) -> None:
        for proc in list(self.running):
            self.stop(proc)
        while self.cleanups:
            self.cleanups.pop()()

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def report_log(self, name: str) -> None:
        """Say so when a server logged warnings or errors (the emulator logs at WARNING and up)."""
        path = self.logs / f"{name}.log"
        lines = [l for l in path.read_text(errors="replace").splitlines() if l.strip()] if path.exists() else []
        if lines:
            errors = sum(" ERROR " in l or "Traceback" in l for l in lines)
            print(f"    ! {name} logged {len(lines)} line(s), {errors} error(s); first: {lines[0][:200]}")


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    return box[0].strip() if box else ""


def _drain(proc: subprocess.Popen[str]) -> None:
    """Keep reading what the child writes after its URL, so that a full pipe never blocks it."""
    assert proc.stdout is not None
    threading.Thread(target=proc.stdout.read, daemon=True).start()


# -- the emulator ----------------------------------------------------------------------------
def emulator_env(demo_merchant: bool = True) -> dict[str, str]:
    """This environment without any KOOGALLERY_* setting of the user's, plus the benchmark's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOOGALLERY_")}
    env.update(KOOGALLERY_LOG_LEVEL="WARNING", KOOGALLERY_CLOCK_START=CLOCK_START,
               KOOGALLERY_DEMO_MERCHANT="true" if demo_merchant else "false")
    return env


def emulator_argv(database: str) -> list[str]:
    return [sys.executable, "-m", "emulator", "serve", "--port", "0", "--print-url",
            "--database", database, "--clock-mode", "manual"]


async def start_emulator(procs: Processes, name: str, database: str, demo_merchant: bool = True,
                         argv: Optional[list[str]] = None) -> Server:
    """``python -m emulator serve --port 0 --print-url --database ... --clock-mode manual`` (or
    ``argv``), then wait until GET /healthz answers 200 (a 503 is "starting", never ready)."""
    server = procs.start(name, argv or emulator_argv(database), emulator_env(demo_merchant))
    try:
        await wait_healthy(server)
    except BaseException:
        procs.stop(server.proc)
        print(procs.log_tail(name), file=sys.stderr)
        raise
    return server


async def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline and server.proc.poll() is None:
            try:
                async with session.get(server.url + "/healthz") as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}: {(await response.text())[:300]}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last = repr(exc)
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{server.name}: {server.url}/healthz did not answer 200 within {timeout:.0f} s "
                       f"(last: {last}; exit code {server.proc.poll()})")


async def call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None,
               expect: Sequence[int] = (200, 201, 202), timeout: float = 120.0) -> Any:
    """One JSON request; a status outside ``expect`` raises with the response body."""
    async with session.request(method, url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        text = await response.text()
        if response.status not in expect:
            raise RuntimeError(f"{method} {url} -> HTTP {response.status}, expected {list(expect)}: {text[:2000]}")
        return json.loads(text) if text else None


def bare_server_argv(code: str, *args: str) -> list[str]:
    """A bare aiohttp server: ``code`` defines ROUTES = [(method, path, handler)]; it serves them on a
    free loopback port and prints its URL."""
    return [sys.executable, "-c", code + _SERVE_ROUTES, *args]


_SERVE_ROUTES = r"""
import asyncio as _asyncio
from aiohttp import web as _web
async def _serve():
    app = _web.Application()
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    runner = _web.AppRunner(app, access_log=None)
    await runner.setup()
    await _web.TCPSite(runner, "127.0.0.1", 0).start()
    print("http://127.0.0.1:%d" % runner.addresses[0][1], flush=True)
    await _asyncio.Event().wait()
_asyncio.run(_serve())
"""


# -- CPU and memory --------------------------------------------------------------------------
def _cpu_s(pid: int) -> float:
    """CPU seconds of a process, its threads and its reaped children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by one process (its threads included), e.g. for a cost per request."""
    return _cpu_s(pid)


def _tree(pid: int) -> list[int]:
    """The process and its live descendants (e.g. PostgreSQL's postmaster and backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


class CpuMeter:
    """Cores used by each group of processes (and by this benchmark) over a measured window."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.cores: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        sample = {name: sum(_cpu_s(p) for root in roots for p in _tree(root)) for name, roots in self.groups.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        sample["bench client"] = time.process_time()
        sample["load generator"] = children.ru_utime + children.ru_stime  # children reaped in the window: wrk
        return sample

    def __enter__(self) -> "CpuMeter":
        self._start, self._t0 = self._sample(), time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        end, elapsed = self._sample(), time.perf_counter() - self._t0
        self.cores = {name: (end[name] - self._start[name]) / elapsed for name in end}

    def line(self) -> str:
        used = ", ".join(f"{name} {cores:.2f}" for name, cores in self.cores.items() if cores >= 0.005)
        return f"CPU cores: {used}; load average {os.getloadavg()[0]:.2f}"


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- HTTP load -------------------------------------------------------------------------------
@dataclass
class Load:
    """One sample of an HTTP load: throughput, latency, and the answers that were not 2xx (wrk counts
    statuses >= 400 under "Non-2xx or 3xx responses"; none of the benchmarked routes redirects)."""

    tool: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        return self.non_2xx == 0 and self.socket_errors == 0 and self.requests > 0

    def describe(self) -> str:
        text = (f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
                f"({self.requests} requests)")
        if self.tool != "wrk":
            text += f"  [{self.tool} load generator]"
        if not self.clean:
            text += f"  ERRORS: {self.non_2xx} non-2xx, {self.socket_errors} socket errors"
        return text


def http_load(url: str, seconds: float, connections: int, method: str = "GET",
              headers: Optional[dict[str, str]] = None, body: str = "") -> Load:
    """``connections`` clients sending the same request back to back for ``seconds``: wrk with one
    thread when installed, else the Python fallback."""
    if WRK:
        return _wrk(url, seconds, connections, method, headers or {}, body)
    return _python_load(url, seconds, connections, method, headers or {}, body)


def _lua_string(text: str) -> str:
    """A Lua string literal: quotes, backslashes and control characters as 3-digit decimal escapes."""
    return '"' + "".join(f"\\{ord(c):03d}" if c in '"\\' or ord(c) < 32 or ord(c) == 127 else c
                         for c in text) + '"'


def _wrk(url: str, seconds: float, connections: int, method: str, headers: dict[str, str], body: str) -> Load:
    lines = [f"wrk.method = {_lua_string(method)}"]
    if body:
        lines.append(f"wrk.body = {_lua_string(body)}")
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        completed = subprocess.run(
            [WRK or "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
             "--latency", "-s", script.name, url],
            capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script.name)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed: {completed.stderr or completed.stdout}")
    return parse_wrk(completed.stdout)


_WRK_DONE = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)")
_WRK_PCT = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str) -> Load:
    """Requests, duration, p50/p99 of --latency, non-2xx answers and socket errors of wrk's report."""
    done = _WRK_DONE.search(output)
    if done is None:
        raise RuntimeError(f"cannot read wrk's report:\n{output}")
    pct = {m.group(1): float(m.group(2)) * _TO_MS[m.group(3)] for m in _WRK_PCT.finditer(output)}
    non_2xx = _WRK_NON2XX.search(output)
    sockets = _WRK_SOCKET.search(output)
    return Load(tool="wrk", requests=int(done.group(1)),
                seconds=float(done.group(2)) * _TO_MS[done.group(3)] / 1000,
                p50_ms=pct.get("50", float("nan")), p99_ms=pct.get("99", float("nan")),
                non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
                socket_errors=sum(int(x) for x in sockets.groups()) if sockets else 0)


def _python_load(url: str, seconds: float, connections: int, method: str, headers: dict[str, str],
                 body: str) -> Load:
    """The fallback: one aiohttp client process per CPU, sharing the connections."""
    workers = max(1, min(os.cpu_count() or 1, connections))
    shares = [connections // workers + (i < connections % workers) for i in range(workers)]
    procs = [subprocess.Popen(
        [sys.executable, __file__, "loadgen", json.dumps({
            "url": url, "seconds": seconds, "connections": share, "method": method, "headers": headers,
            "body": body})], stdout=subprocess.PIPE, text=True, preexec_fn=_die_with_parent) for share in shares]
    results = [json.loads(p.communicate(timeout=seconds + 120)[0]) for p in procs]
    latencies = [ms for r in results for ms in r["latencies"]]
    return Load(tool="python", requests=sum(r["ok"] + r["non_2xx"] for r in results),
                seconds=max(r["elapsed"] for r in results),
                p50_ms=percentile(latencies, 0.50), p99_ms=percentile(latencies, 0.99),
                non_2xx=sum(r["non_2xx"] for r in results), socket_errors=sum(r["errors"] for r in results))


async def _loadgen_worker(spec: dict[str, Any]) -> dict[str, Any]:
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    deadline = time.perf_counter() + spec["seconds"]
    connector = aiohttp.TCPConnector(limit=spec["connections"])
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:
        async def client() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    async with session.request(spec["method"], spec["url"], headers=spec["headers"],
                                               data=spec["body"].encode() or None) as response:
                        await response.read()
                        ok = 200 <= response.status < 300
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    counts["errors"] += 1
                    continue
                if ok:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    counts["non_2xx"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(spec["connections"])))
        elapsed = time.perf_counter() - started
    return {"ok": len(latencies), "elapsed": elapsed, "latencies": latencies, **counts}


# -- temporary folders -----------------------------------------------------------------------
class TempDir:
    """A temporary folder removed at the end of its ``with`` block."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="koogallery-bench-"))
        return self.path

    def __exit__(self, *_exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def sqlite_files(database: Path) -> list[Path]:
    """The SQLite file and its -wal / -shm companions."""
    return sorted(database.parent.glob(database.name + "*"))


if __name__ == "__main__" and sys.argv[1:2] == ["loadgen"]:
    print(json.dumps(asyncio.run(_loadgen_worker(json.loads(sys.argv[2])))))
