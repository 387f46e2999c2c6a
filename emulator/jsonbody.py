"""One way to turn untrusted bytes into JSON, and one base for strict inputs.

Every route that reads JSON from outside (control API, demo merchant, open APIs, console JSON
fields) goes through :func:`decode_json`, so hostile bodies (invalid UTF-8, nesting deeper than
any real payload, integers of thousands of digits) become one clear :class:`BadJson` instead of
a ``RecursionError`` or ``ValueError`` deep inside a handler.
"""

from __future__ import annotations

import json
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, field_validator

MAX_DEPTH = 64
"""Deepest nesting accepted. Real payloads of the protocol nest four or five levels."""

MAX_INT_DIGITS = 64
"""Longest integer literal accepted; Python refuses more than 4,300 digits with a ValueError."""


class BadJson(ValueError):
    """The bytes are not JSON the emulator will read; ``str(exc)`` says why, for the caller."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadJson(f"an integer of {len(text)} digits is longer than the {MAX_INT_DIGITS} accepted")
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number")


def _depth_ok(value: Any) -> bool:
    """Iterative walk: True when no container nests deeper than MAX_DEPTH."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def decode_json(raw: Union[bytes, str]) -> Any:
    """Parse ``raw`` (UTF-8, an optional BOM tolerated) or raise :class:`BadJson`."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, (bytes, bytearray)) else raw
    except UnicodeDecodeError as exc:
        raise BadJson(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_int=_parse_int, parse_constant=_refuse_constant)
    except BadJson:
        raise
    except RecursionError:
        raise BadJson(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise BadJson(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # e.g. float overflow corner cases
        raise BadJson(f"not valid JSON: {exc}") from None
    if not _depth_ok(value):
        raise BadJson(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def _no_control_characters(value: Any) -> Any:
    if isinstance(value, str) and any(ord(ch) < 32 and ch not in "\t\n\r" or ch == "\x7f" for ch in value):
        raise ValueError("must not contain control characters (such as NUL)")
    return value


class StrictInput(BaseModel):
    """Base of every input the emulator accepts from outside: unknown fields refused, text trimmed,
    control characters refused. JSON callers validate with ``strict=True`` (see
    ``control.errors.parse_body``), so ``"2"`` is not a number and ``"yes"`` is not a boolean;
    console forms, which only have strings, validate in the default lax mode."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    _text = field_validator("*", mode="after")(_no_control_characters)
