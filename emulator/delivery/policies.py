"""Retry policies as data (PROTOCOL §9 "Emulator default table").

A policy yields attempt instants ``T + first_delay + k * interval`` for ``k < attempts``,
where T is the triggering moment on the emulator clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Mapping

HOUR, MINUTE = 3600, 60


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    interval_s: int = 0
    first_delay_s: int = 0

    def slot_time(self, start: datetime, slot: int) -> datetime:
        return start + timedelta(seconds=self.first_delay_s + slot * self.interval_s)


DEFAULT_POLICIES: dict[str, RetryPolicy] = {
    "purchase": RetryPolicy(attempts=4, interval_s=HOUR),
    "upgrade": RetryPolicy(attempts=4, interval_s=HOUR),
    "renewal": RetryPolicy(attempts=4, interval_s=HOUR),
    "freeze": RetryPolicy(attempts=60, interval_s=MINUTE),
    "unfreeze": RetryPolicy(attempts=60, interval_s=MINUTE),
    "release": RetryPolicy(attempts=1),
    # First poll after 1 min, then every 10 min while inside the 3 h window: 18 polls.
    "query_poll": RetryPolicy(attempts=18, interval_s=10 * MINUTE, first_delay_s=MINUTE),
    "sync": RetryPolicy(attempts=1),
    # kit syncs: one attempt, never retried by the marketplace; a person re-sends (PROTOCOL §5, §9)
    "kit": RetryPolicy(attempts=1),
    # SaaS V1 (PROTOCOL §9 "Numbers found in the sources", §15.2 V1 profile): 60 every 3 min for the
    # subscription (and the upgrade, "as purchase"), 60 a minute for the rest.
    "v1_purchase": RetryPolicy(attempts=60, interval_s=3 * MINUTE),
    "v1_upgrade": RetryPolicy(attempts=60, interval_s=3 * MINUTE),
    "v1_renewal": RetryPolicy(attempts=60, interval_s=MINUTE),
    "v1_freeze": RetryPolicy(attempts=60, interval_s=MINUTE),
    "v1_unfreeze": RetryPolicy(attempts=60, interval_s=MINUTE),
    "v1_release": RetryPolicy(attempts=60, interval_s=MINUTE),
}


def policy_for(name: str, overrides: Mapping[str, Mapping[str, int]] | None = None) -> RetryPolicy:
    """The default policy ``name`` with a merchant's override (attempts / interval_s / first_delay_s)."""
    policy = DEFAULT_POLICIES[name]
    override = (overrides or {}).get(name)
    if not override:
        return policy
    changes = {k: v for k, v in override.items() if k in ("attempts", "interval_s", "first_delay_s") and v is not None}
    return replace(policy, **changes)
