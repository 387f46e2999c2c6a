"""Kit sync interfaces of the joint-operation family (PROTOCOL §1, §2b, §5): their URLs, bodies
and ``x-sign`` headers. Bodies are built once, when the call is decided, so every attempt and
every repeat sends the same bytes; only ``x-nonce``, ``x-timestamp`` and ``x-sign`` change.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from .canonical import canonical_body
from .signing import kit_x_sign, new_nonce, wall_clock_ms

TENANT_SYNC, APPLICATION_SYNC, ALL_ORG_SYNC, AUTH_SYNC, SINGLE_ORG_SYNC = (
    "tenantSync", "applicationSync", "allOrgSync", "authSync", "singleOrgSync")
KIT_SYNCS = frozenset({TENANT_SYNC, APPLICATION_SYNC, ALL_ORG_SYNC, AUTH_SYNC, SINGLE_ORG_SYNC})
BIND_CHAIN = (TENANT_SYNC, APPLICATION_SYNC, ALL_ORG_SYNC, AUTH_SYNC)  # a project decision (§5)

# flag values (§5): tenantSync / applicationSync / singleOrgSync 0 delete, 1 add, 2 modify;
# authSync also 3, cancel authorization
DELETE, ADD, MODIFY, CANCEL_AUTHORIZATION = 0, 1, 2, 3

_GMT8 = timezone(timedelta(hours=8))


def kit_time(moment: Optional[datetime] = None) -> str:
    """``yyyyMMddHHmmssSSS`` on the GMT+8 wall clock (never the emulator clock)."""
    local = (moment or datetime.now(timezone.utc)).astimezone(_GMT8)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def kit_url(production_url: str, name: str, base_url: Optional[str] = None) -> str:
    """``<production URL>/produceAPI/v2/<name>``: query string and trailing ``/`` dropped, any path
    kept (§1); ``base_url`` (a per-merchant setting) replaces the production URL as the root."""
    parts = urlsplit(base_url or production_url)
    path = parts.path.rstrip("/") + "/produceAPI/v2/" + name
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def signed_kit_request(kit_key: str, body: Mapping[str, Any], upper: bool = False) -> tuple[dict[str, str], bytes]:
    """The ``x-*`` headers and canonical body of one attempt: a new nonce and wall-clock timestamp."""
    payload = canonical_body(dict(body))
    nonce, timestamp = new_nonce(), wall_clock_ms()
    headers = {"x-sign": kit_x_sign(kit_key, nonce, timestamp, payload, upper=upper),
               "x-timestamp": timestamp, "x-nonce": nonce}
    return headers, payload


def _common(instance_id: str, tenant_id: str, test_flag: int) -> dict[str, Any]:
    return {"instanceId": instance_id, "tenantId": tenant_id, "testFlag": test_flag, "timeStamp": kit_time()}


def tenant_sync(instance_id: str, order_id: str, tenant_id: str, tenant_code: str, name: str, domain_name: str,
                flag: int, test_flag: int) -> dict[str, Any]:
    return {**_common(instance_id, tenant_id, test_flag), "orderId": order_id, "tenantCode": tenant_code,
            "name": name, "domainName": domain_name, "flag": flag}


def application_sync(instance_id: str, tenant_id: str, app_id: str, client_id: str, encrypted_secret: str,
                     flag: int, test_flag: int) -> dict[str, Any]:
    return {**_common(instance_id, tenant_id, test_flag), "appId": app_id, "clientId": client_id,
            "clientSecret": encrypted_secret, "flag": flag}


def org_entry(org_code: str, name: str, parent_code: Optional[str]) -> dict[str, str]:
    return {"orgCode": org_code, "name": name, "parentCode": parent_code or ""}


def all_org_sync(instance_id: str, tenant_id: str, orgs: Iterable[Mapping[str, str]], as_list: bool,
                 test_flag: int) -> dict[str, Any]:
    """``orgInfo`` is a JSON string by default; a real array on the merchant's switch (§5, assumed)."""
    entries = [dict(org) for org in orgs]
    info: Any = entries if as_list else json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    return {**_common(instance_id, tenant_id, test_flag), "orgInfo": info}


def single_org_sync(instance_id: str, tenant_id: str, org_code: str, org_name: str, parent_code: Optional[str],
                    flag: int, test_flag: int) -> dict[str, Any]:
    return {**_common(instance_id, tenant_id, test_flag), "orgCode": org_code, "orgName": org_name,
            "parentCode": parent_code or "", "flag": flag}


def user_entry(user_name: str, name: str, org_code: str, role: str, enable: bool, position: Optional[str] = None,
               employee_code: Optional[str] = None, employee_type: Optional[str] = None) -> dict[str, Any]:
    return {"userName": user_name, "name": name, "orgCode": org_code, "role": role, "enable": enable,
            "position": position, "employeeCode": employee_code, "employeeType": employee_type}


def auth_sync(instance_id: str, tenant_id: str, app_id: str, users: Iterable[Mapping[str, Any]], flag: int,
              test_flag: int) -> dict[str, Any]:
    common = _common(instance_id, tenant_id, test_flag)
    return {**common, "appId": app_id, "userList": [dict(u) for u in users],
            "currentSyncTime": common["timeStamp"], "flag": flag}
