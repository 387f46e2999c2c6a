"""Kit sync building blocks (PROTOCOL §1, §2b, §5) and the joint-operation body rules."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from emulator.kit.inputs import BindInput
from emulator.protocol import kit
from emulator.protocol.saas_v2_joint import _amount
from emulator.protocol.signing import verify_kit_x_sign


@pytest.mark.parametrize("production_url,base,expected", [
    ("https://example.isv.com", None, "https://example.isv.com/produceAPI/v2/authSync"),
    ("https://example.isv.com/", None, "https://example.isv.com/produceAPI/v2/authSync"),
    ("https://example.isv.com/saas/produce?x=1", None, "https://example.isv.com/saas/produce/produceAPI/v2/authSync"),
    ("https://example.isv.com/p", "https://kit.example.com/root/", "https://kit.example.com/root/produceAPI/v2/authSync"),
])
def test_kit_url_keeps_the_path_and_drops_the_query(production_url: str, base: str | None, expected: str) -> None:
    assert kit.kit_url(production_url, "authSync", base) == expected


def test_kit_time_is_the_gmt8_wall_clock_with_milliseconds() -> None:
    moment = datetime(2022, 4, 13, 1, 35, 39, 534_000, tzinfo=timezone.utc)
    assert kit.kit_time(moment) == "20220413093539534"
    assert len(kit.kit_time()) == 17


def test_signed_kit_request_signs_the_canonical_body_it_returns() -> None:
    headers, payload = kit.signed_kit_request("TESTKEY1234567890", {"b": 1, "a": "x"})
    assert payload == b'{"a":"x","b":1}'
    assert verify_kit_x_sign("TESTKEY1234567890", headers["x-nonce"], headers["x-timestamp"], payload,
                             headers["x-sign"])
    assert headers["x-sign"] == headers["x-sign"].lower()


def test_org_info_is_a_json_string_or_a_list() -> None:
    orgs = [kit.org_entry("00000001", "产品部", None)]
    as_string = kit.all_org_sync("i", "t", orgs, as_list=False, test_flag=0)["orgInfo"]
    assert as_string == '[{"orgCode":"00000001","name":"产品部","parentCode":""}]'
    assert kit.all_org_sync("i", "t", orgs, as_list=True, test_flag=0)["orgInfo"] == json.loads(as_string)


def test_auth_sync_carries_one_time_in_both_members() -> None:
    body = kit.auth_sync("i", "t", "app", [kit.user_entry("u", "U", "o", "user", True)], kit.ADD, 1)
    assert body["currentSyncTime"] == body["timeStamp"] and body["testFlag"] == 1
    assert body["userList"][0]["enable"] is True


@pytest.mark.parametrize("text,expected", [("12.78", 12.78), ("12", 12), ("0", 0), ("63.900", 63.9)])
def test_order_amount_is_a_number_with_at_most_two_decimals(text: str, expected: float) -> None:
    value = _amount(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("departments,message", [
    ([{"org_code": "a", "name": "A"}, {"org_code": "a", "name": "B"}], "given twice"),
    ([{"org_code": "a", "name": "A", "parent_code": "b"}], "not one of the departments"),
    ([{"org_code": "a", "name": "A", "parent_code": "a"}], "cycle"),
])
def test_a_department_tree_must_be_a_tree(departments: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BindInput(order_id="CS1", name="E", departments=departments)


def test_a_waiting_step_is_not_sent_only_behind_a_failure() -> None:
    from datetime import datetime

    from emulator.kit.service import ChainStep
    from emulator.store.tables import Delivery

    def step(status: str, behind: bool = False) -> ChainStep:
        delivery = Delivery(merchant_id="m", kind="kit_sync", activity="authSync", policy="kit", status=status,
                            schedule_start=datetime(2026, 1, 1), created_at=datetime(2026, 1, 1))
        return ChainStep("authSync", delivery, behind)

    assert step("waiting").state == "waiting"
    assert step("waiting", behind=True).state == "not sent"
    assert step("exhausted").state == "failed" and step("scheduled").state == "pending"
