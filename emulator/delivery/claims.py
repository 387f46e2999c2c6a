"""Claims: which process sends a delivery's next attempt, decided in the store.

A process claims a delivery by writing its name and a wall-clock expiry into the row (a lease)
in the same transaction that writes the attempt; only the holder sends it, and the lease is
cleared when the reply is recorded. An expired lease, or one whose holder is known to be dead
(same machine, process gone), is taken over and the attempt it left ``sending`` is marked
interrupted. No in-memory set decides who sends, so replicas can share a store.

On PostgreSQL the candidate rows are locked with ``FOR UPDATE SKIP LOCKED`` (two replicas never
wait for, nor take, each other's rows); on SQLite the write transaction is ``BEGIN IMMEDIATE``
(one writer at a time) and the conditional ``UPDATE … RETURNING`` confirms each claim.

Per-instance order: a delivery is claimable only when no scheduled delivery of the same instance
is due before it and no other delivery of the instance is leased, so an instance's calls go out
one at a time, in schedule order, across processes. The merchant's ``out_of_order`` fault
(``faults``) lets a later, not yet attempted delivery of the instance go first.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, NamedTuple, Optional, Sequence

from sqlalchemy import and_, or_, update as core_update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select, update

from ..store.tables import Attempt, Delivery, Merchant
from . import faults

HOST = socket.gethostname()


LIVE_OWNERS: set[str] = set()  # the senders of this process (there may be several, e.g. in tests)


def new_owner() -> str:
    """``host/pid/token``: enough to tell, on the same machine, whether the holder still runs."""
    owner = f"{HOST}/{os.getpid()}/{secrets.token_hex(4)}"
    LIVE_OWNERS.add(owner)
    return owner


def owner_is_dead(owner: str) -> bool:
    """True only when certain: the holder ran on this machine and its process is gone, or it was
    this very process id in an earlier life (as after a container restart)."""
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner not in LIVE_OWNERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class ClaimRequest:
    """What to claim: due deliveries (``now``), or the given ``ids`` whatever their time.

    ``max_id``/``also``: only deliveries that existed when a clock step began, plus those its
    own replies created (the manual walk is not held up by orders arriving meanwhile).
    ``active``: attempts this process is already sending, per merchant, for the per-merchant cap.
    """

    limit: int
    now: Optional[datetime] = None
    ids: Optional[Sequence[int]] = None
    max_id: Optional[int] = None
    also: Iterable[int] = ()
    per_merchant: Optional[int] = None
    active: Counter[str] = field(default_factory=Counter)


class Claimed(NamedTuple):
    """What writing the next attempt of a claimed delivery reads; ``attempt_count`` counts that attempt."""

    id: int
    merchant_id: str
    instance_key: Optional[str]
    activity: str
    family: Optional[str]
    params: dict[str, Any]
    test_flag: Optional[str]
    attempt_count: int
    manual_pending: int
    next_attempt_at: Optional[datetime]
    kind: str
    fault: Optional[str] = None  # out_of_order: claimed ahead of an earlier delivery of its instance


_RETURNED = Claimed._fields[:-1]  # the delivery columns of a Claimed


def claim(session: Session, request: ClaimRequest, owner: str, wall: datetime, lease_until: datetime,
          dead_owners: Iterable[str] = ()) -> list[Claimed]:
    """Claim deliveries inside the caller's write transaction, leased to ``owner``, and count the
    attempt the caller writes next (``attempt_count``); returns them in id order."""
    lease_free = or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < wall,
                     col(Delivery.lease_owner).in_(list(dead_owners)))
    picked = _within_caps(session.exec(_candidates(session, request, wall, lease_free)).all(), request)
    if not picked:
        return []
    early: set[int] = set()
    if request.ids is None:
        picked, early = _out_of_order(session, picked, lease_free)
    # Plain rows straight from the UPDATE's RETURNING: no ORM objects to load, track and flush (the
    # session holds no deliveries, so there is nothing to synchronize either).
    table = Delivery.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        core_update(table).where(table.c.id.in_(picked), lease_free)
        .values(lease_owner=owner, lease_until=lease_until, attempt_count=table.c.attempt_count + 1)
        .returning(*(table.c[name] for name in _RETURNED))
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return []
    claimed = sorted((Claimed(*row, fault=faults.OUT_OF_ORDER if row.id in early else None) for row in rows),
                     key=lambda c: c.id)
    # An attempt left ``sending`` by a holder whose lease ran out was interrupted: its slot is sent again.
    session.exec(update(Attempt).where(col(Attempt.delivery_id).in_([c.id for c in claimed]),
                                       Attempt.state == "sending")
                 .values(state="interrupted", passed=False, failures=[INTERRUPTED]))
    return claimed


def _candidates(session: Session, request: ClaimRequest, wall: datetime,  # type: ignore[no-untyped-def]
                lease_free: Any):
    """The SELECT of claimable (id, merchant_id) rows, locked on PostgreSQL."""
    query = select(Delivery.id, Delivery.merchant_id).where(Delivery.status == "scheduled", lease_free)
    if request.ids is not None:
        query = query.where(col(Delivery.id).in_(list(request.ids)))
    else:
        assert request.now is not None
        query = query.where(col(Delivery.next_attempt_at).is_not(None), col(Delivery.next_attempt_at) <= request.now,
                            ~_earlier_sibling(), ~_leased_sibling(wall))
        if request.max_id is not None:
            query = query.where(or_(col(Delivery.id) <= request.max_id, col(Delivery.id).in_(list(request.also))))
        if request.per_merchant is not None:
            full = [m for m, n in request.active.items() if n >= request.per_merchant]
            if full:
                query = query.where(col(Delivery.merchant_id).not_in(full))
        query = query.order_by(col(Delivery.next_attempt_at), col(Delivery.id)).limit(request.limit * 4)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return query


def _within_caps(rows: Sequence[tuple[int, str]], request: ClaimRequest) -> list[int]:
    taken: Counter[str] = Counter(request.active)
    picked: list[int] = []
    for delivery_id, merchant_id in rows:
        if len(picked) >= request.limit:
            break
        if request.per_merchant is not None and taken[merchant_id] >= request.per_merchant:
            continue
        taken[merchant_id] += 1
        picked.append(delivery_id)
    return picked


def _out_of_order(session: Session, picked: list[int], lease_free: Any) -> tuple[list[int], set[int]]:
    """The ``out_of_order`` fault: a picked delivery whose attempt it hits gives its turn to the next
    scheduled delivery of its instance that was never attempted; returns the picks and those taken early."""
    rows = session.exec(
        select(Delivery.id, Delivery.instance_key, Delivery.attempt_count, Delivery.next_attempt_at, Merchant.faults)
        .join(Merchant, col(Merchant.id) == Delivery.merchant_id)
        .where(col(Delivery.id).in_(picked), col(Delivery.instance_key).is_not(None))
    ).all()
    swaps: dict[int, int] = {}
    for delivery_id, instance_key, attempts, due, rates in rows:
        if due is not None and faults.applies(rates, faults.OUT_OF_ORDER, delivery_id, attempts + 1):
            later = session.exec(select(Delivery.id).where(
                Delivery.instance_key == instance_key, Delivery.status == "scheduled", Delivery.attempt_count == 0,
                col(Delivery.next_attempt_at).is_not(None), lease_free,
                or_(col(Delivery.next_attempt_at) > due,
                    and_(Delivery.next_attempt_at == due, col(Delivery.id) > delivery_id)),
            ).order_by(col(Delivery.next_attempt_at), col(Delivery.id)).limit(1)).first()
            if later is not None and later not in picked:
                swaps[delivery_id] = later
    return [swaps.get(i, i) for i in picked], set(swaps.values())


# Made once: building an alias, and the first select of its columns, costs more than the rest of a claim's query.
_SIBLING = aliased(Delivery, name="sibling")
_LEASED = aliased(Delivery, name="leased")


def _earlier_sibling():  # type: ignore[no-untyped-def]
    """A scheduled delivery of the same instance is due before this one."""
    other = _SIBLING
    return select(other.id).where(
        other.instance_key == Delivery.instance_key, other.status == "scheduled",
        col(other.next_attempt_at).is_not(None),
        or_(other.next_attempt_at < Delivery.next_attempt_at,
            and_(other.next_attempt_at == Delivery.next_attempt_at, other.id < Delivery.id)),
    ).exists()


def _leased_sibling(wall: datetime):  # type: ignore[no-untyped-def]
    """Another delivery of the same instance is being sent right now."""
    other = _LEASED
    return select(other.id).where(other.instance_key == Delivery.instance_key, other.id != Delivery.id,
                                  col(other.lease_until).is_not(None), other.lease_until >= wall).exists()


def release(delivery: Delivery) -> None:
    delivery.lease_owner, delivery.lease_until = None, None


def dead_owners(session: Session) -> list[str]:
    """Holders of current leases that are known to be dead."""
    owners = session.exec(select(Delivery.lease_owner).where(col(Delivery.lease_owner).is_not(None)).distinct()).all()
    return [owner for owner in owners if owner and owner_is_dead(owner)]


INTERRUPTED = "interrupted: the emulator stopped before the reply was recorded; this slot is sent again (PROTOCOL §9)"
