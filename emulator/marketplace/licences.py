"""Authorization codes of License 2.0 orders (PROTOCOL §6, §12.8).

The licence a merchant's getLicense reply carries becomes the code the License open APIs answer
for; its state is read from the order's instance, so the open APIs follow the order.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ..store.tables import Instance, LicenseCode, Product
from . import lifecycle as lc

MAX_CODE = 64  # the open APIs take a license of at most 64 characters


def register_order_licence(session: Session, instance: Instance, licence: str, now: datetime) -> bool:
    """Record ``licence`` as the instance's code; False when it cannot be one (too long, or the
    code of something else already)."""
    if len(licence) > MAX_CODE:
        return False
    existing = session.get(LicenseCode, licence)
    if existing is not None:
        return existing.instance_key == instance.key
    product = session.get(Product, instance.product_id)
    assert product is not None
    session.add(LicenseCode(code=licence, merchant_id=instance.merchant_id, product_id=product.id,
                            sku_code=product.sku_code, status="INACTIVE", test=False, effective_at=now,
                            expire_at=instance.expire_at, instance_key=instance.key, created_at=now))
    return True


def order_code_status(instance: Instance, product: Product, now: datetime) -> str | None:
    """The status the order imposes on its code, or None when the code's own (INACTIVE/ACTIVE)
    applies: released with its instance, expired in grace, frozen after grace or by hand."""
    if instance.state in lc.ENDED:
        return "RELEASED"
    if instance.state != lc.FROZEN:
        return None
    if lc.is_expired_frozen(instance) and lc.phase(instance, product, now) == "grace":
        return "EXPIRED"
    return "FROZEN"
