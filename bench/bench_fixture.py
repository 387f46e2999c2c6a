"""Testing-kit benchmark: what the pytest fixtures cost a merchant's suite. Prints, asserts nothing.

(a) Fixture start in a fresh Python process, imports included: a subprocess notes
    time.perf_counter() at its first line, imports what the plugin and its fixtures import (pytest,
    pytest_asyncio, emulator.testing.pytest_plugin, then .threaded and .client, which the fixtures
    import), starts a ThreadedEmulator as ``koogallery_server`` does, and prints the elapsed ms
    (imports, start, total). Baseline: the same subprocess doing only ``import aiohttp``. Goal: at
    most 300 ms in all. ``--starts`` of each per run (5; quick 2), alternating.
(b) The reset between tests (what the ``koogallery`` fixture does before each test), with an order
    placed and delivered before each, on a ThreadedEmulator in this process (as in a test
    session); baseline: GET /clock through the same client right after each reset. Goal: at most
    20 ms. ``--resets`` per run (50).
(c) The wall time of the example merchant suite (``python -m pytest examples``, one process);
    baseline: the same command on one empty test with the same pytest.ini (interpreter, pytest and
    plugin start-up).

Each run measures every figure and its baseline; figures are min / median / max over ``--runs``.

Run: .venv/bin/python bench/bench_fixture.py [--runs 3] [--starts 5] [--resets 50] [--quick]
     (2-core machine: default about 1 minute; --quick about 45 s)
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import ROOT, Figures, TempDir, emulator_env, ordered, parser, print_header

from emulator.testing.client import SandboxClient  # after harness, which puts the checkout on sys.path
from emulator.testing.threaded import ThreadedEmulator

# A fresh process: imports as the fixtures do, then koogallery_server's start.
FIXTURE_START = r"""
import time
t0 = time.perf_counter()
import json
from datetime import datetime
import pytest
try:
    import pytest_asyncio
except ImportError:
    pass
import emulator.testing.pytest_plugin
from emulator.testing.threaded import ThreadedEmulator
from emulator.testing.client import SandboxClient
t1 = time.perf_counter()
emulator = ThreadedEmulator(clock_start=datetime(2026, 1, 1))
emulator.start()
t2 = time.perf_counter()
print(json.dumps({"imports": (t1 - t0) * 1000, "start": (t2 - t1) * 1000, "total": (t2 - t0) * 1000}))
emulator.stop()
"""

BASELINE_START = r"""
import time
t0 = time.perf_counter()
import aiohttp
t1 = time.perf_counter()
import json
print(json.dumps({"total": (t1 - t0) * 1000}))
"""


# -- (a) fixture start -----------------------------------------------------------------------
def fresh_process(code: str) -> dict[str, float]:
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=emulator_env(), capture_output=True,
                               text=True, timeout=120)
    if completed.returncode != 0:
        raise RuntimeError(f"the start-up subprocess failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def bench_starts(run: int, starts: int, figures: Figures) -> None:
    fixture: list[dict[str, float]] = []
    baseline: list[float] = []
    for i in range(starts):
        for side in ordered(run + i, ["fixture", "baseline"]):
            if side == "fixture":
                fixture.append(fresh_process(FIXTURE_START))
            else:
                baseline.append(fresh_process(BASELINE_START)["total"])
    totals = [f["total"] for f in fixture]
    for f in fixture:
        figures.add("start: fixture, total ms", f["total"])
        figures.add("start: fixture, imports ms", f["imports"])
        figures.add("start: fixture, emulator start ms", f["start"])
        figures.add("start: imports / total", f["imports"] / f["total"])
    for ms in baseline:
        figures.add("start: baseline import aiohttp ms", ms)
    figures.add("start: fixture total / import aiohttp", statistics.median(totals) / statistics.median(baseline))
    print(f"   (a) fixture start: median {statistics.median(totals):.0f} ms "
          f"(imports {statistics.median(f['imports'] for f in fixture):.0f} ms); "
          f"import aiohttp alone: median {statistics.median(baseline):.0f} ms")


# -- (b) reset -------------------------------------------------------------------------------
async def resets(url: str, count: int) -> tuple[list[float], list[float]]:
    """(reset ms, GET /clock ms) of ``count`` resets, each after an order and its newInstance."""
    reset_ms, clock_ms = [], []
    async with SandboxClient(url) as client:
        for _ in range(count):
            order = await client.buy("demo-saas-monthly")
            await client.wait_for_delivery(order, "newInstance")
            started = time.perf_counter()
            await client.reset()
            reset_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await client.now()
            clock_ms.append((time.perf_counter() - started) * 1000)
    return reset_ms, clock_ms


def bench_resets(count: int, figures: Figures) -> None:
    with ThreadedEmulator() as emulator:  # as koogallery_server starts it
        reset_ms, clock_ms = asyncio.run(resets(emulator.url, count))
    for ms in reset_ms:
        figures.add("reset ms", ms)
    for ms in clock_ms:
        figures.add("reset: baseline GET /clock ms", ms)
    figures.add("reset / GET /clock", statistics.median(reset_ms) / statistics.median(clock_ms))
    print(f"   (b) reset: median {statistics.median(reset_ms):.1f} ms, max {max(reset_ms):.1f} ms over {count}; "
          f"GET /clock median {statistics.median(clock_ms):.1f} ms")


# -- (c) the example suite -------------------------------------------------------------------
def pytest_wall(target: Path) -> tuple[float, str]:
    """Wall seconds of ``python -m pytest target`` in a fresh process, and its summary line."""
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "pytest", str(target), "-q", "-p", "no:cacheprovider"],
                               cwd=ROOT, env=emulator_env(), capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    lines = completed.stdout.strip().splitlines()
    return wall, lines[-1] if lines else completed.stderr[-300:]


def empty_suite(folder: Path) -> Path:
    """One empty test, with the example suite's pytest.ini."""
    folder.mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "examples" / "pytest.ini", folder / "pytest.ini")
    (folder / "test_empty.py").write_text("def test_nothing() -> None:\n    pass\n")
    return folder


def bench_examples(run: int, empty: Path, figures: Figures) -> None:
    walls: dict[str, float] = {}
    for side in ordered(run, ["examples", "empty"]):
        walls[side], summary = pytest_wall(ROOT / "examples" if side == "examples" else empty)
        if side == "examples":
            figures.add("examples: wall s", walls[side])
            pytest_s = re.search(r"in ([\d.]+)s", summary)
            if pytest_s:
                figures.add("examples: pytest's own time s", float(pytest_s.group(1)))
            print(f"   (c) example suite: {walls[side]:.2f} s wall ({summary})")
        else:
            figures.add("examples: baseline empty test wall s", walls[side])
    figures.add("examples / empty test", walls["examples"] / walls["empty"])


# -- the report ------------------------------------------------------------------------------
def report(figures: Figures) -> None:
    print("\nsummary (min / median / max; ms figures over every start or reset, ratios per run)")
    goals = {"start: fixture, total ms": "<= 300 ms", "reset ms": "<= 20 ms"}
    for name in figures.values:
        if name.endswith(" ms"):
            fmt, unit = "{:.1f}", " ms"
        elif name.endswith(" s"):
            fmt, unit = "{:.2f}", " s"
        else:
            fmt, unit = "{:.2f}", ""
        print("  " + figures.line(name, fmt=fmt, unit=unit, goal=goals.get(name, "")))


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--starts", type=int, help="fresh-process starts of each kind per run (5; quick 2)")
    ap.add_argument("--resets", type=int, default=50, help="resets per run (50)")
    args = ap.parse_args()
    starts = args.starts or (2 if args.quick else 5)
    print_header("bench_fixture: the pytest fixtures' start-up, reset and the example suite", args,
                 with_load_generator=False)
    figures = Figures()
    with TempDir() as tmp:
        empty = empty_suite(tmp / "empty-suite")
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            bench_starts(run, starts, figures)
            bench_resets(args.resets, figures)
            bench_examples(run, empty, figures)
    report(figures)


if __name__ == "__main__":
    main()
