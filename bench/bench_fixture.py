"""Testing-kit benchmark: fixture start-up and reset times (median of many), and the wall time of the
example merchant suite. Prints, asserts nothing.

Run: .venv/bin/python bench/bench_fixture.py [--starts 10] [--resets 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.testing.client import SandboxClient  # noqa: E402
from emulator.testing.threaded import ThreadedEmulator  # noqa: E402


async def resets(url: str, count: int) -> list[float]:
    timings = []
    async with SandboxClient(url) as client:
        for _ in range(count):
            order = await client.buy("demo-saas-monthly")
            await client.wait_for_delivery(order, "newInstance")
            started = time.perf_counter()
            await client.reset()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--resets", type=int, default=50)
    args = parser.parse_args()

    starts = []
    for _ in range(args.starts):
        started = time.perf_counter()
        emulator = ThreadedEmulator()
        emulator.start()
        starts.append((time.perf_counter() - started) * 1000)
        emulator.stop()
    print(f"fixture start-up (threaded emulator, in-memory store, demo catalogue): median "
          f"{statistics.median(starts):.0f} ms over {args.starts}")

    with ThreadedEmulator() as emulator:
        timings = asyncio.run(resets(emulator.url, args.resets))
    print(f"reset between tests (after one purchase): median {statistics.median(timings):.1f} ms, "
          f"max {max(timings):.1f} ms over {args.resets}")

    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "pytest", "examples", "-q", "-p", "no:cacheprovider"],
                               cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else completed.stderr[-200:]
    print(f"example merchant suite (examples/, one process): {wall:.2f} s wall, {summary}")


if __name__ == "__main__":
    main()
