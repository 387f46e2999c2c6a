"""AK/SK pairs per merchant: issue, rotate, list (masked), and a fast in-memory lookup for the gateway."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, Sequence

from sqlmodel import col, select

from ..clock import Clock
from ..marketplace.catalogue import get_merchant
from ..store import Store
from ..store.tables import ApiCredential

_AK_ALPHABET = string.ascii_uppercase + string.digits
_SK_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Issued:
    """A new pair; the only moment the SK is shown in full."""

    ak: str
    sk: str
    merchant_id: str


class Credentials:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._active: dict[str, tuple[str, str]] = {}  # ak -> (sk, merchant_id)
        #: awaited after every issue/rotation, e.g. so the built-in demo merchant follows its new pair
        self.on_issue: list[Callable[[Issued], Awaitable[None]]] = []

    async def load(self) -> None:
        async with self.store.read() as session:
            rows = (await session.exec(select(ApiCredential).where(col(ApiCredential.revoked_at).is_(None)))).all()
        self._active = {row.ak: (row.sk, row.merchant_id) for row in rows}

    def secret_for(self, ak: str) -> Optional[str]:
        found = self._active.get(ak)
        return found[0] if found else None

    def merchant_for(self, ak: str) -> Optional[str]:
        found = self._active.get(ak)
        return found[1] if found else None

    async def issue(self, merchant_id: str, ak: Optional[str] = None, sk: Optional[str] = None) -> Issued:
        """A new pair for the merchant; any earlier active pair is revoked (rotation)."""
        now = self.clock.now()
        async with self.store.write() as session:
            await get_merchant(session, merchant_id)
            for old in (await session.exec(select(ApiCredential).where(
                    ApiCredential.merchant_id == merchant_id, col(ApiCredential.revoked_at).is_(None)))).all():
                old.revoked_at = now
                session.add(old)
                self._active.pop(old.ak, None)
            new = ApiCredential(
                ak=ak or "".join(secrets.choice(_AK_ALPHABET) for _ in range(20)),
                sk=sk or "".join(secrets.choice(_SK_ALPHABET) for _ in range(40)),
                merchant_id=merchant_id, created_at=now,
            )
            session.add(new)
        self._active[new.ak] = (new.sk, merchant_id)
        issued = Issued(new.ak, new.sk, merchant_id)
        for listener in self.on_issue:
            await listener(issued)
        return issued

    async def active_pair(self, merchant_id: str) -> Optional[Issued]:
        for ak, (sk, owner) in self._active.items():
            if owner == merchant_id:
                return Issued(ak, sk, owner)
        return None

    async def list(self, merchant_id: Optional[str] = None) -> Sequence[ApiCredential]:
        async with self.store.read() as session:
            query = select(ApiCredential).order_by(col(ApiCredential.created_at).desc())
            if merchant_id:
                query = query.where(ApiCredential.merchant_id == merchant_id)
            return (await session.exec(query)).all()
