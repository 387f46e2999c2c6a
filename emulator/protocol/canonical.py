"""Canonical JSON bodies (PROTOCOL §2a "Canonical body").

The emulator signs and sends exactly ``canonical_body(obj)``: null members
dropped at every depth, object keys sorted by code point at every depth,
compact separators, raw UTF-8 (no ``\\u`` escapes, ``/`` unescaped).
Arrays keep their order; ``None`` elements inside arrays are kept, since
removing them would shift positions.

``top_level_sorted_body`` reproduces what Huawei's sample verifier computes
(top-level keys sorted, nested order as received) and is only used to accept
signatures made by such verifiers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["canonical_body", "strip_nulls", "top_level_sorted_body"]


def strip_nulls(obj: Any) -> Any:
    """Return a copy of ``obj`` without object members whose value is None, at every depth."""
    if isinstance(obj, Mapping):
        return {k: strip_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [strip_nulls(v) for v in obj]
    return obj


def canonical_body(obj: Any) -> bytes:
    """Serialise ``obj`` in the canonical form of §2a (keys sorted recursively)."""
    return _dump(strip_nulls(obj), sort_depth=None).encode("utf-8")


def top_level_sorted_body(obj: Any) -> bytes:
    """Serialise with only the top-level keys sorted; nested order kept, nulls dropped."""
    return _dump(strip_nulls(obj), sort_depth=1).encode("utf-8")


def _number(value: float | Decimal) -> str:
    """Shortest round-trip form, never exponent notation (§2a rule 5)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot serialise non-finite number {value!r}")
        text = float.__repr__(value)
        if "e" not in text and "E" not in text:
            return text
        value = Decimal(text)
    if not value.is_finite():
        raise ValueError(f"cannot serialise non-finite number {value!r}")
    text = format(value.normalize(), "f")
    return text


def _dump(obj: Any, sort_depth: int | None, depth: int = 0) -> str:
    """Serialise; objects at depth < sort_depth (all when None) get sorted keys."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, (float, Decimal)):
        return _number(obj)
    if isinstance(obj, Mapping):
        for key in obj:
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
        items = list(obj.items())
        if sort_depth is None or depth < sort_depth:
            items.sort(key=lambda kv: kv[0])
        inner = ",".join(
            json.dumps(k, ensure_ascii=False) + ":" + _dump(v, sort_depth, depth + 1)
            for k, v in items
        )
        return "{" + inner + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_dump(v, sort_depth, depth + 1) for v in obj) + "]"
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")
