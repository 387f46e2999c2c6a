"""Reading what merchants sent: usage records per instance, and License test codes per product."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Optional, Sequence

from sqlmodel import col, select

from ..clock import Clock
from ..marketplace.catalogue import get_product
from ..store import Store
from ..store.tables import LicenseCode, UsageRecord
from .license import new_license_code


class OpenApiRecords:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def usage(self, instance_key: str) -> tuple[Sequence[UsageRecord], Decimal]:
        async with self.store.read() as session:
            rows = (await session.exec(select(UsageRecord).where(UsageRecord.instance_key == instance_key)
                                       .order_by(col(UsageRecord.begin_time), col(UsageRecord.id)))).all()
        return rows, sum((Decimal(r.usage_value) for r in rows), Decimal(0))

    async def issue_test_code(self, product_ref: str, days: int = 365) -> LicenseCode:
        """A test authorization code for the product (the seller console's debugging code, §12.8)."""
        now = self.clock.now().replace(microsecond=0)
        async with self.store.write() as session:
            product = await get_product(session, product_ref)
            code = LicenseCode(
                code=new_license_code(), merchant_id=product.merchant_id, product_id=product.id,
                sku_code=product.sku_code, status="INACTIVE", test=True, effective_at=now,
                expire_at=now + timedelta(days=days), created_at=now,
            )
            session.add(code)
        return code

    async def license_codes(self, merchant_id: Optional[str] = None,
                            product_id: Optional[str] = None) -> Sequence[LicenseCode]:
        async with self.store.read() as session:
            query = select(LicenseCode).order_by(col(LicenseCode.created_at).desc())
            if merchant_id:
                query = query.where(LicenseCode.merchant_id == merchant_id)
            if product_id:
                query = query.where(LicenseCode.product_id == product_id)
            return (await session.exec(query)).all()
