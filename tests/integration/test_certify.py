"""Merchant certification: the battery against the built-in demo merchant (every required case
passes) and against deliberately broken merchants (each broken behaviour fails exactly its cases),
the JUnit file read back by an independent parser, the command line and the control API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest
from junitparser import Failure, JUnitXml, Skipped

from emulator.app import EmulatorServer
from emulator.certify import reports
from emulator.certify.runner import FAILED, certify
from emulator.testing.merchant_stub import MerchantStub

from ..helpers import Api
from .joint_merchant import serve_app

KEY = "broken-merchant-key-0001"
DEMO_KEY = "demo-access-key-0001"
ROOT = Path(__file__).resolve().parents[2]


class BrokenMerchant(MerchantStub):
    """The demo merchant with one deliberate fault."""

    def __init__(self, fault: str) -> None:
        super().__init__(KEY)
        self.fault = fault

    def _signature_problem(self, raw: bytes, query: dict[str, str]) -> Optional[str]:
        problem = super()._signature_problem(raw, query)
        if self.fault == "no_signature_check" and problem and "signature does not match" in problem:
            return None
        if self.fault == "no_time_window" and problem and "outside" in problem:
            return None
        return problem

    def _on_newInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = super()._on_newInstance(body)
        if self.fault == "new_instance_each_time":
            answer["instanceId"] = str(body.get("businessId"))
        return answer

    def _on_releaseInstance(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.fault == "refuses_release":
            return {"resultCode": "000005", "resultMsg": "release failed"}
        return super()._on_releaseInstance(body)

    async def _answer(self, activity: Optional[str], body: dict[str, Any], problem: Optional[str]) -> tuple[int, str]:
        if self.fault == "accepts_anything" and activity not in (None, *self._known_activities()):
            return 200, '{"resultCode":"000000","resultMsg":"success."}'
        return await super()._answer(activity, body, problem)

    def _known_activities(self) -> list[str]:
        return [name[4:] for name in dir(self) if name.startswith("_on_")]


async def _failed_cases(fault: str) -> set[str]:
    stub = BrokenMerchant(fault)
    async for url in serve_app(stub.app()):
        report = await certify(url, KEY)
    return {r.case.id for r in report.results if r.outcome == FAILED}


async def test_the_demo_merchant_is_ready(emulator: EmulatorServer) -> None:
    report = await certify(emulator.url + "/demo-merchant/produce", DEMO_KEY)
    not_passed = {r.case.id: r.detail for r in report.results if r.outcome != "passed"}
    assert report.passed and not_passed == {}, reports.text(report)
    assert len(report.results) == 16


@pytest.mark.parametrize("fault,cases", [
    ("no_signature_check", {"negative.wrong_signature"}),
    ("no_time_window", {"negative.stale_timestamp"}),
    ("new_instance_each_time", {"idempotency.new_business_id"}),  # an identical body repeats its businessId
    ("refuses_release", {"lifecycle.release", "idempotency.release_twice"}),
    ("accepts_anything", {"negative.unknown_activity"}),
])
async def test_each_broken_behaviour_fails_exactly_its_cases(fault: str, cases: set[str]) -> None:
    assert await _failed_cases(fault) - {"negative.replayed_nonce"} == cases


async def test_the_junit_file_parses_and_says_what_failed(tmp_path: Path) -> None:
    stub = BrokenMerchant("no_signature_check")
    async for url in serve_app(stub.app()):
        report = await certify(url, KEY)
    written = reports.write(report, tmp_path / "out")
    assert [p.name for p in written] == ["junit.xml", "report.html", "report.json"]
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))))
    outcomes = {case.name: case.result for case in suite}
    assert len(outcomes) == 16
    failures = {name for name, result in outcomes.items() if result and isinstance(result[0], Failure)}
    assert failures == {"negative.wrong_signature"}, "a failed recommended case is not a JUnit failure"
    assert not any(result and isinstance(result[0], Skipped) for result in outcomes.values())
    assert suite.failures == 1 and suite.tests == 16
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Not ready" in html and "signature=" in html, "every request is in the report"


async def test_a_merchant_that_is_not_there_skips_what_needs_an_instance() -> None:
    report = await certify("http://127.0.0.1:9/produce", KEY)
    outcomes = {r.case.id: r.outcome for r in report.results}
    assert outcomes["lifecycle.purchase"] == FAILED and not report.passed
    assert outcomes["negative.wrong_signature"] == "skipped"
    assert "connection" in next(r.detail for r in report.results if r.case.id == "lifecycle.purchase")


async def test_the_control_api_certifies_without_touching_the_shared_clock(emulator: EmulatorServer,
                                                                           api: Api) -> None:
    before = await api.now()
    report = await api.ok("POST", "/certify", {"merchant_url": emulator.url + "/demo-merchant/produce",
                                              "key": DEMO_KEY})
    assert report["passed"] is True and report["counts"]["passed"] >= 15
    assert await api.now() == before, "the run has its own clock"
    assert await api.deliveries() == [], "and its own store: no delivery here"
    status, body = await api.call("POST", "/certify", {"merchant_url": "ftp://x", "key": "k"})
    assert status == 400 and body["error"]["field"] == "merchant_url", body


def test_the_command_line_exit_codes_and_report(tmp_path: Path) -> None:
    bad = subprocess.run([sys.executable, "-m", "emulator", "certify", "--merchant-url", "nope", "--key", "k"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "merchant_url" in bad.stderr
    down = subprocess.run([sys.executable, "-m", "emulator", "certify", "--merchant-url", "http://127.0.0.1:9/p",
                           "--key", "k", "--report", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert down.returncode == 1, down.stdout + down.stderr
    assert "FAIL lifecycle.purchase" in down.stdout and "NOT READY" in down.stdout
    assert (tmp_path / "r" / "junit.xml").exists() and (tmp_path / "r" / "report.html").exists()



async def test_a_joint_merchant_is_certified_with_its_kit_syncs(merchant) -> None:  # type: ignore[no-untyped-def]
    """The independent joint-operation merchant of the kit tests: its own signature checks and its own
    private key to decrypt applicationSync."""
    from cryptography.hazmat.primitives import serialization

    from . import joint_merchant as jm

    stub, url = merchant
    pem = stub.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    report = await certify(url, jm.BASIC_KEY, "saas_v2_joint", jm.KIT_KEY, "upper", pem)
    outcomes = {r.case.id: r.outcome for r in report.results}
    assert outcomes["kit.bind_chain"] == "passed" and outcomes["kit.repeat"] == "passed", reports.text(report)
    assert "lifecycle.ready" not in outcomes and "lifecycle.unfreeze" not in outcomes, "no polling, no unfreeze (§5)"
    assert report.passed, reports.text(report)
    without_kit = await certify(url, jm.BASIC_KEY, "saas_v2_joint")
    assert {r.case.id: r.outcome for r in without_kit.results}["kit.bind_chain"] == "skipped"


async def test_the_pytest_client_certifies_a_merchant(emulator: EmulatorServer) -> None:
    from emulator.testing.client import SandboxClient

    async with SandboxClient(emulator.url) as client:
        report = await client.certify(emulator.url + "/demo-merchant/produce", DEMO_KEY)
    assert report["passed"] is True and {c["outcome"] for c in report["cases"]} == {"passed"}


def test_the_command_line_runs_on_a_running_emulator(tmp_path: Path) -> None:
    """``--emulator``: the run is that emulator's (where an app's login checks can run), reported the same."""
    from emulator.testing.threaded import ThreadedEmulator

    with ThreadedEmulator() as running:
        done = subprocess.run([sys.executable, "-m", "emulator", "certify", "--emulator", running.url,
                               "--merchant-url", running.url + "/demo-merchant/produce", "--key", DEMO_KEY,
                               "--report", str(tmp_path / "r")],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "READY" in done.stdout and "PASS lifecycle.release" in done.stdout
    assert next(iter(JUnitXml.fromfile(str(tmp_path / "r" / "junit.xml")))).tests == 16
    alone = subprocess.run([sys.executable, "-m", "emulator", "certify", "--merchant-url", "http://127.0.0.1:9/p",
                            "--key", "k", "--client-id", "someapp0001"], capture_output=True, text=True, cwd=ROOT,
                           timeout=120)
    assert alone.returncode == 2 and "--emulator" in alone.stderr
