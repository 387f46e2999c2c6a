"""The console's pure parts: re-signing an attempt's request, list paging and CSV cells."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from emulator.protocol.outbound import signed_request
from emulator.protocol.resign import resign
from emulator.protocol.signing import verify_basic_signature, verify_kit_x_sign, verify_v1_auth_token
from emulator.store.tables import Merchant
from webui.listing import Paging, _cell

T0 = datetime(2026, 3, 1)


def _merchant(family: str = "saas_v2_slim", url: str = "https://isv.example/produce?tenant=a%20b") -> Merchant:
    return Merchant(id="acme", name="Acme", production_url=url, access_key="key-of-today", family=family,
                    kit_key="kit-key-of-today", created_at=T0)


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_a_basic_request_is_signed_again_with_a_new_nonce_and_timestamp() -> None:
    merchant = _merchant()
    first = signed_request(merchant, "saas_v2_slim", "newInstance",
                           {"orderId": "CS1", "orderLineId": "CS1-000001"}, "0", "purchase")
    merchant.access_key = "rotated-key"  # signed with the merchant's key of today
    again = resign(merchant, first.method, first.url, first.headers, first.body)
    old, new = _query(first.url), _query(again.url)
    assert again.body == first.body and again.method == "POST"
    assert new["nonce"] != old["nonce"] and new["signature"] != old["signature"]
    assert int(new["timestamp"]) >= int(old["timestamp"])
    assert verify_basic_signature("rotated-key", new["nonce"], new["timestamp"], again.body, new["signature"])
    assert "tenant=a%20b" in again.url  # the production URL's own parameters, as written
    assert again.url.count("signature=") == 1


def test_a_kit_sync_is_signed_again_in_its_headers() -> None:
    merchant = _merchant("saas_v2_joint")
    first = signed_request(merchant, "saas_v2_joint", "tenantSync", {"instanceId": "i-1", "tenantId": "t-1"}, "0")
    again = resign(merchant, first.method, first.url, first.headers, first.body)
    assert again.url == first.url and again.body == first.body
    assert again.headers["x-nonce"] != first.headers["x-nonce"]
    assert verify_kit_x_sign("kit-key-of-today", again.headers["x-nonce"], again.headers["x-timestamp"],
                             again.body, again.headers["x-sign"])
    assert [k for k in again.headers if k.lower() == "x-sign"] == ["x-sign"]


def test_a_v1_get_is_signed_again_with_a_new_timestamp() -> None:
    merchant = _merchant("saas_v1", url="https://isv.example/v1")
    first = signed_request(merchant, "saas_v1", "newInstance", {"orderId": "CS1", "customerId": "c"}, "0",
                           "purchase")
    again = resign(merchant, first.method, first.url, first.headers, first.body)
    old, new = _query(first.url), _query(again.url)
    assert again.method == "GET"
    assert {k: v for k, v in new.items() if k not in ("timeStamp", "authToken")} == \
        {k: v for k, v in old.items() if k not in ("timeStamp", "authToken")}
    assert verify_v1_auth_token("key-of-today", new)


@pytest.mark.parametrize(("number", "size", "total", "shown"), [
    (1, 50, 0, (0, 0, 1)), (1, 25, 60, (1, 25, 3)), (3, 25, 60, (51, 60, 3)), (2, 50, 100, (51, 100, 2)),
])
def test_a_page_says_which_rows_it_shows(number: int, size: int, total: int, shown: tuple[int, int, int]) -> None:
    page = Paging(number, size, total, (("q", "cs"),), "/deliveries")
    assert (page.first_row, page.last_row, page.pages) == shown


def test_page_links_keep_the_filters() -> None:
    page = Paging(2, 25, 100, (("q", "a b"), ("test", "hide")), "/deliveries")
    assert page.url(3) == "/deliveries?q=a+b&test=hide&size=25&page=3"
    assert page.url(1) == "/deliveries?q=a+b&test=hide&size=25"
    assert page.export_url("csv") == "/deliveries/export.csv?q=a+b&test=hide"


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("@SUM(A1)", "'@SUM(A1)"), ("-cmd", "'-cmd"),
    ("CS2603011000ABCDE", "CS2603011000ABCDE"), (None, ""), (3, "3"), ({"b": 1}, '{"b": 1}'),
])
def test_csv_cells_never_run_as_formulas(value: object, cell: str) -> None:
    assert _cell(value) == cell
