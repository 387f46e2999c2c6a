"""Certification reports: a text summary, JUnit XML (for CI systems) and a self-contained HTML page
with every request and reply, and the JSON the control API answers."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jinja2

from .battery import Case
from .runner import FAILED, PASSED, SKIPPED, CaseResult, Report

_MARK = {PASSED: "PASS", FAILED: "FAIL", SKIPPED: "SKIP"}


def text(report: Report) -> str:
    lines = [f"Certification of {report.target} ({report.family})"]
    for result in report.results:
        optional = "" if result.case.required else " (recommended)"
        case = result.case
        lines.append(f"{_MARK[result.outcome]} {case.id}{optional} — {case.title} [{case.section}]")
        lines.append(f"     {result.detail}")
    counts = report.counts()
    verdict = "READY: every required case passed" if report.passed else "NOT READY: a required case failed"
    lines.append(f"{verdict} ({counts[PASSED]} passed, {counts[FAILED]} failed, {counts[SKIPPED]} skipped)")
    return "\n".join(lines)


def as_json(report: Report) -> dict[str, Any]:
    return {
        "target": report.target, "family": report.family, "passed": report.passed, "counts": report.counts(),
        "started": report.started.isoformat(), "finished": report.finished.isoformat(),
        "cases": [{"id": r.case.id, "title": r.case.title, "section": r.case.section, "required": r.case.required,
                   "outcome": r.outcome, "detail": r.detail, "exchanges": r.exchanges} for r in report.results],
    }


def from_json(data: dict[str, Any]) -> Report:
    """The report a remote emulator answered (``POST /certify``), for the same text, JUnit and HTML."""
    results = [CaseResult(Case(c["id"], c["title"], c["section"], c["required"]), c["outcome"], c["detail"],
                          c.get("exchanges") or []) for c in data["cases"]]
    return Report(data["target"], data["family"], datetime.fromisoformat(data["started"]),
                  datetime.fromisoformat(data["finished"]), results)


def junit_xml(report: Report) -> bytes:
    """One ``testsuite``; a failed required case is a ``failure``, a failed recommended one is
    reported in ``system-out`` only, a skipped one is ``skipped``."""
    counts = report.counts()
    failures = sum(1 for r in report.results if r.outcome == FAILED and r.case.required)
    suite = ET.Element("testsuite", name="koogallery-certification", tests=str(len(report.results)),
                       failures=str(failures), errors="0", skipped=str(counts[SKIPPED]),
                       time=f"{(report.finished - report.started).total_seconds():.3f}",
                       timestamp=report.started.replace(tzinfo=None).isoformat(timespec="seconds"))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("target", report.target), ("family", report.family)):
        ET.SubElement(properties, "property", name=name, value=value)
    for result in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"certification.{result.case.group}", name=result.case.id)
        if result.outcome == SKIPPED:
            ET.SubElement(case, "skipped", message=result.detail)
        elif result.outcome == FAILED and result.case.required:
            failure = ET.SubElement(case, "failure", message=result.detail, type=result.case.section)
            failure.text = _exchanges_text(result)
        out = ET.SubElement(case, "system-out")
        out.text = f"{result.case.title} [{result.case.section}]\n{result.detail}\n{_exchanges_text(result)}"
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def _exchanges_text(result: CaseResult) -> str:
    return "\n".join(json.dumps(exchange, ensure_ascii=False, indent=1) for exchange in result.exchanges)


_HTML = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Certification of {{ r.target }}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #223; max-width: 72rem; }
.case { border: 1px solid #ccd; border-radius: 6px; margin: .8rem 0; padding: .5rem .9rem; }
.passed { border-left: 6px solid #1a7f37; } .failed { border-left: 6px solid #c62828; } .skipped { border-left: 6px solid #999; }
.mark { font-weight: 700; } pre { background: #f5f6f8; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
summary { cursor: pointer; }
</style></head><body>
<h1>Certification of <code>{{ r.target }}</code></h1>
<p>Family <strong>{{ r.family }}</strong>; run {{ r.started.isoformat(timespec="seconds") }}.
<strong id="verdict">{{ "Ready: every required case passed." if r.passed else "Not ready: a required case failed." }}</strong>
{{ counts.passed }} passed, {{ counts.failed }} failed, {{ counts.skipped }} skipped.</p>
{% for c in r.results %}
<section class="case {{ c.outcome }}" id="{{ c.case.id }}">
  <h2><span class="mark">{{ c.outcome | upper }}</span> {{ c.case.id }}{% if not c.case.required %} (recommended){% endif %}</h2>
  <p>{{ c.case.title }} — <em>{{ c.case.section }}</em></p>
  <p>{{ c.detail }}</p>
  {% for x in c.exchanges %}
  <details><summary>Exchange {{ loop.index }}{% if x.verdict %}: {{ x.verdict }}{% endif %}</summary>
    <h3>Request</h3><pre>{{ x.request | tojson(indent=1) }}</pre>
    <h3>Reply</h3><pre>{{ (x.response if x.response is not none else x.get("error")) | tojson(indent=1) }}</pre>
  </details>
  {% endfor %}
</section>
{% endfor %}
</body></html>
""")


def html(report: Report) -> str:
    return _HTML.render(r=report, counts=report.counts())


def write(report: Report, folder: Path) -> list[Path]:
    """``junit.xml``, ``report.html`` and ``report.json`` in ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "junit.xml", folder / "report.html", folder / "report.json"]
    written[0].write_bytes(junit_xml(report))
    written[1].write_text(html(report), encoding="utf-8")
    written[2].write_text(json.dumps(as_json(report), ensure_ascii=False, indent=1), encoding="utf-8")
    return written
