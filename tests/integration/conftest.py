"""Fixtures of the integration tests beyond the shared ones of tests/conftest.py."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from . import joint_merchant as jm


@pytest.fixture
async def merchant() -> AsyncIterator[tuple[jm.JointMerchant, str]]:
    """An independent merchant (joint-operation and License 2.0) on loopback, and its URL."""
    private, _public = jm.new_key_pair()
    stub = jm.JointMerchant(private)
    async for url in jm.serve(stub):
        yield stub, url
