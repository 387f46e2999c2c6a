"""An attempt's request as a shell command a merchant can paste to replay it."""

from __future__ import annotations

import shlex
from typing import Any

SKIP_HEADERS = {"host", "content-length", "accept-encoding"}


def curl_command(request: dict[str, Any]) -> str:
    parts = ["curl", "-sS", "-X", request["method"], shlex.quote(request["url"])]
    for name, value in request["headers"].items():
        if name.lower() not in SKIP_HEADERS:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.get("body"):
        parts += ["--data-raw", shlex.quote(request["body"])]
    return " ".join(parts)
