"""Parameter checks of Query Order, in the order of PROTOCOL §12.5's error table."""

from __future__ import annotations

from typing import Mapping, Optional

from .results import MktError

QUERY_ORDER_PARAMS = ("orderId", "orderLineId")
MAX_ID_LENGTH = 64


def check_query_order_params(params: Mapping[str, str]) -> tuple[str, Optional[str]]:
    """(orderId, orderLineId or None) from the query, or ``MktError``.

    ``MKT.0101`` first (orderId missing or empty, an undeclared or repeated parameter), then
    ``MKT.0100`` (a value longer than 64). An empty ``orderLineId`` counts as not given (assumed).
    A multi-dict (one with ``getall``, as aiohttp's) is checked for repeated parameters too.
    """
    order_id = params.get("orderId")
    if order_id is None:
        raise MktError("MKT.0101", "orderId: missing")
    if order_id == "":
        raise MktError("MKT.0101", "orderId: empty")
    for name in params:
        if name not in QUERY_ORDER_PARAMS:
            raise MktError("MKT.0101", f"{name}: undeclared parameter")
    getall = getattr(params, "getall", None)
    if getall is not None:
        for name in QUERY_ORDER_PARAMS:
            if len(getall(name, [])) > 1:
                raise MktError("MKT.0101", f"{name}: given more than once")
    order_line_id = params.get("orderLineId") or None
    for name, value in (("orderId", order_id), ("orderLineId", order_line_id)):
        if value is not None and len(value) > MAX_ID_LENGTH:
            raise MktError("MKT.0100", f"{name}: longer than {MAX_ID_LENGTH} characters")
    return order_id, order_line_id
