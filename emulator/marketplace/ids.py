"""Identifiers in the marketplace's shapes (PROTOCOL §10 "Identifiers")."""

from __future__ import annotations

import secrets
import string
import uuid
from datetime import datetime

from .periods import GMT8

_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_order_id(now: datetime) -> str:
    """``CS`` + yyMMddHHmm (GMT+8) + 5 characters of [A-Z0-9]: 17 characters."""
    stamp = (now + GMT8).strftime("%y%m%d%H%M")
    return "CS" + stamp + "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))


def order_line_id(order_id: str, number: int = 1) -> str:
    return f"{order_id}-{number:06d}"


def new_business_id() -> str:
    return str(uuid.uuid4())


def new_product_id() -> str:
    return "OFFI" + "".join(secrets.choice(string.digits) for _ in range(18))


def new_sku_code() -> str:
    return str(uuid.uuid4())


def new_customer_id() -> str:
    return uuid.uuid4().hex
