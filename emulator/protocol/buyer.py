"""The buyer members of the bodies that carry them (joint-operation ``buyerInfo``, §5; V1
``newInstance``, §7): the same names, contact fields AES-encrypted when asked (§3)."""

from __future__ import annotations

from typing import Any, Optional

from ..marketplace.callbacks import OrderFacts
from ..store.tables import Merchant
from .crypto import aes_cbc_encrypt


def buyer_members(merchant: Merchant, order: OrderFacts, encrypt: bool) -> dict[str, Any]:
    buyer = order.buyer
    name = buyer.get("customer_name")
    return {"customerId": buyer.get("customer_id"), "customerName": name,
            "userId": buyer.get("user_id") or buyer.get("customer_id"), "userName": name,
            "mobilePhone": _contact(merchant, buyer.get("mobile_phone"), encrypt),
            "email": _contact(merchant, buyer.get("email"), encrypt)}


def _contact(merchant: Merchant, value: Optional[str], encrypt: bool) -> Optional[str]:
    if not value or not encrypt:
        return value
    return aes_cbc_encrypt(merchant.access_key, value, merchant.aes_key_bits or 256)
