"""The package as a merchant installs it: the wheel, built and installed into a fresh virtual
environment outside the checkout, runs the example suite and serves with its demo catalogue
(scripts/check-install does the work; this test puts its result in the suite's report).

Needs the package index (the wheel's dependencies are installed from it). Skip locally with
``-m "not install"``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.install
def test_the_wheel_works_outside_the_checkout() -> None:
    completed = subprocess.run([sys.executable, str(ROOT / "scripts" / "check-install")], cwd=ROOT,
                               capture_output=True, text=True, timeout=900)
    print(completed.stdout)
    assert completed.returncode == 0, completed.stdout[-12000:] + completed.stderr[-4000:]
