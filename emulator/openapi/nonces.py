"""Usage-push nonces in the store (PROTOCOL §12.7): a nonce may be used once per merchant while its
``ts`` could still pass the window, and that holds across restarts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, delete

from ..store import Store
from ..store.tables import UsageNonce


async def claim_nonce(store: Store, merchant_id: str, nonce: str, now: datetime, keep_s: float) -> bool:
    """Record ``nonce`` for ``merchant_id`` until ``now + keep_s`` (real wall time, naive UTC); False
    when it was already recorded and has not expired (a replay). Expired nonces are pruned here."""
    async with store.write() as session:
        await session.exec(delete(UsageNonce).where(col(UsageNonce.expires_at) <= now))  # type: ignore[call-overload]
        if await session.get(UsageNonce, (merchant_id, nonce)) is not None:
            return False
        session.add(UsageNonce(merchant_id=merchant_id, nonce=nonce, expires_at=now + timedelta(seconds=keep_s)))
    return True
