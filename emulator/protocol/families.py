"""Protocol families (PROTOCOL §0) and the wire mapping each one provides."""

from __future__ import annotations

from typing import Callable

from ..marketplace.callbacks import Callback
from ..marketplace.errors import Conflict
from . import saas_v2
from .saas_v2 import WireCall

_WIRE: dict[str, Callable[[Callback], WireCall]] = {
    "saas_v2_slim": saas_v2.wire_call,
}


def require_emulated(family: str) -> None:
    """Refuse work for a family whose wire mapping does not exist yet."""
    if family not in _WIRE:
        raise Conflict(
            f"protocol family {family!r} is not emulated yet; the merchant must use saas_v2_slim",
            field="family",
        )


def wire_call(family: str, callback: Callback) -> WireCall:
    require_emulated(family)
    return _WIRE[family](callback)
