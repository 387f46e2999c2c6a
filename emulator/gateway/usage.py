"""The reply check of an Agents backend (PROTOCOL §14.1): a top-level ``usage`` object with integer
``completion_tokens``, ``prompt_tokens`` and ``total_tokens``, in a JSON reply or in the last event
of a ``text/event-stream`` reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..jsonbody import BadJson, decode_json

TOKEN_FIELDS = ("completion_tokens", "prompt_tokens", "total_tokens")
DONE = "[DONE]"  # the end marker some streams send after their last real event; skipped


@dataclass(frozen=True)
class Tokens:
    prompt: int
    completion: int
    total: int


@dataclass
class UsageCheck:
    tokens: Optional[Tokens] = None
    failures: list[str] = field(default_factory=list)


def check_usage(reply: Any, where: str = "the reply") -> UsageCheck:
    """The tokens of a decoded reply, or why it has none."""
    if not isinstance(reply, dict):
        return UsageCheck(failures=[f"{where} is not a JSON object, so it has no top-level usage"])
    usage = reply.get("usage")
    if usage is None:
        return UsageCheck(failures=[f"{where} has no top-level usage object (§14.1)"])
    if not isinstance(usage, dict):
        return UsageCheck(failures=[f"usage in {where} is {type(usage).__name__}, not an object"])
    failures = []
    for name in TOKEN_FIELDS:
        value = usage.get(name)
        if value is None:
            failures.append(f"usage.{name} is missing in {where}")
        elif isinstance(value, bool) or not isinstance(value, int):
            failures.append(f"usage.{name} in {where} is {type(value).__name__} {value!r}, not an integer")
        elif value < 0:
            failures.append(f"usage.{name} in {where} is negative ({value})")
    if failures:
        return UsageCheck(failures=failures)
    return UsageCheck(Tokens(usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]))


def check_json_body(body: bytes) -> UsageCheck:
    try:
        reply = decode_json(body)
    except BadJson as exc:
        return UsageCheck(failures=[f"the reply is not JSON: {exc}"])
    return check_usage(reply)


class SseEvents:
    """Reads an event stream chunk by chunk and keeps the data of the last complete event (the
    ``data:`` lines joined by newlines, as EventSource does)."""

    def __init__(self) -> None:
        self._pending = b""
        self.count = 0
        self.last_data: Optional[str] = None

    def feed(self, chunk: bytes) -> None:
        self._pending += chunk
        while True:
            cut = _event_end(self._pending)
            if cut is None:
                return
            raw, self._pending = self._pending[:cut[0]], self._pending[cut[1]:]
            self._event(raw)

    def close(self) -> None:
        """The stream ended: a last event without its blank line still counts."""
        if self._pending.strip():
            self._event(self._pending)
        self._pending = b""

    def _event(self, raw: bytes) -> None:
        lines = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")
        data = [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]
        if not data:
            return  # a comment or a bare ``event:``/``id:``: no data to check
        text = "\n".join(data)
        self.count += 1
        if text.strip() != DONE:
            self.last_data = text

    def check(self) -> UsageCheck:
        if self.last_data is None:
            return UsageCheck(failures=["the event stream carried no data event (usage must be in its last event)"])
        try:
            reply = decode_json(self.last_data)
        except BadJson as exc:
            return UsageCheck(failures=[f"the last event's data is not JSON: {exc}"])
        return check_usage(reply, "the last event")


def _event_end(buffer: bytes) -> Optional[tuple[int, int]]:
    """(end of the first event, start of the next) at its blank line, or None."""
    best: Optional[tuple[int, int]] = None
    for separator in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        at = buffer.find(separator)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, at + len(separator))
    return best
