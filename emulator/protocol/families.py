"""Protocol families (PROTOCOL §0): the wire mapping each one provides and what it leaves out.

The lifecycle emits the same ``Callback`` values whatever the family; it asks ``sends`` before
emitting a kind a family may lack (the joint-operation family has no unfreeze and no
``queryInstance``), and ``polls_readiness`` to know whether a purchase is followed by polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..marketplace.callbacks import Callback, CallbackKind
from ..marketplace.errors import Conflict
from ..store.tables import Merchant
from . import saas_v2, saas_v2_joint
from .saas_v2 import WireCall


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    section: str
    wire_call: Callable[[Merchant, Callback], WireCall]
    sends: frozenset[CallbackKind]
    polls_readiness: bool

    @property
    def missing_actions(self) -> frozenset[str]:
        """Instance actions the family cannot tell the merchant about (a freeze by hand could never
        be lifted without an unfreeze)."""
        missing = set()
        if CallbackKind.UNFREEZE not in self.sends:
            missing |= {"freeze", "unfreeze"}
        if CallbackKind.QUERY not in self.sends:
            missing.add("query")
        return frozenset(missing)


FAMILIES = {f.name: f for f in (
    Family("saas_v2_slim", "SaaS 2.0 slim", "§4", lambda _merchant, callback: saas_v2.wire_call(callback),
           frozenset(CallbackKind), polls_readiness=True),
    Family("saas_v2_joint", "SaaS 2.0 joint-operation", "§5", saas_v2_joint.wire_call, saas_v2_joint.SENDS,
           polls_readiness=False),
)}


def require_emulated(family: str) -> Family:
    """The family, or a refusal for one whose wire mapping does not exist yet."""
    found = FAMILIES.get(family)
    if found is None:
        raise Conflict(
            f"protocol family {family!r} is not emulated yet; the merchant must use one of {', '.join(FAMILIES)}",
            field="family",
        )
    return found


def sends(family: str, kind: CallbackKind) -> bool:
    return kind in require_emulated(family).sends


def require_sends(family: str, kind: CallbackKind, action: str) -> None:
    found = require_emulated(family)
    if kind not in found.sends:
        raise Conflict(f"cannot {action}: the {found.title} family has no activity for it (PROTOCOL {found.section})",
                       field="family")


def missing_actions(family: str) -> frozenset[str]:
    found = FAMILIES.get(family)
    return found.missing_actions if found else frozenset()


def wire_call(merchant: Merchant, callback: Callback) -> WireCall:
    return require_emulated(merchant.family).wire_call(merchant, callback)
