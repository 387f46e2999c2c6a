"""License 2.0 open APIs: request checks and code-state transitions (PROTOCOL §12.8, §12.4).

Pure functions; times are naive UTC emulator time. Transitions return a new
``LicenseState`` and never mutate their argument.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..jsonbody import decode_json
from ..protocol.times import compact_time
from .results import MKT_CODES

__all__ = [
    "ACTIVE",
    "EXPIRED",
    "FROZEN",
    "INACTIVE",
    "INVALID",
    "NO_REMAIN",
    "RELEASED",
    "RESOURCE_INVALID",
    "LicenseError",
    "LicenseState",
    "activate",
    "effective_status",
    "heartbeat",
    "license_info",
    "license_info_v2",
    "new_license_code",
    "parse_activate",
    "parse_heartbeat_v1",
    "parse_heartbeat_v2",
    "parse_software_usage",
]

INACTIVE, ACTIVE, FROZEN, EXPIRED, RELEASED = "INACTIVE", "ACTIVE", "FROZEN", "EXPIRED", "RELEASED"

CODE_PREFIX = "PL"
_CODE_ALPHABET = string.ascii_uppercase + string.digits

INVALID = "91381034"  # unknown, other merchant's, or not yet activated
NO_REMAIN = "91381035"  # expired
RESOURCE_INVALID = "91381036"  # frozen or released

# code -> (HTTP status, resultMsg): §12.8 error table, and §12.4 for MKT.*
_ERRORS: dict[str, tuple[int, str]] = {
    INVALID: (200, "license apply invalid"),
    NO_REMAIN: (200, "license period has no remain amount"),
    RESOURCE_INVALID: (200, "License resource invalid"),
    **MKT_CODES,
}

# §12.8 request limits
LICENSE_MAX = 64
ACCOUNT_MAX = 256
IP_MAX = 32
BATCH_MAX = 100
ID_MAX = 256
ACTIVE_NUM_DIGITS = 9


class LicenseError(Exception):
    """A License API failure; ``message`` is the exact ``resultMsg`` of §12.8 / §12.4."""

    def __init__(
        self, code: str, message: str | None = None, http_status: int | None = None, detail: str = ""
    ) -> None:
        """``message`` and ``http_status`` default to the table entry of ``code``."""
        super().__init__(f"{code}: {detail}" if detail else code)
        status, text = _ERRORS.get(code, (500, ""))
        self.code = code
        self.message = text if message is None else message
        self.http_status = status if http_status is None else http_status
        self.detail = detail


@dataclass
class LicenseState:
    """One authorization code as the emulator stores it."""

    code: str
    merchant_id: str
    product_id: str
    sku_code: str
    status: str = INACTIVE
    effective_at: datetime | None = None
    expire_at: datetime | None = None
    activated_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    third_party_account: str | None = None
    ip: str | None = None


def new_license_code() -> str:
    """``PL`` + 16 characters of [A-Z0-9] from a CSPRNG (§12.8, assumed format)."""
    return CODE_PREFIX + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))


# -- request validators -------------------------------------------------------------


def _object(body: bytes) -> dict[str, Any]:
    try:
        parsed = decode_json(body)
    except ValueError as exc:
        raise LicenseError("MKT.0101", detail=f"body is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise LicenseError("MKT.0101", detail="body is not a JSON object")
    return parsed


def _string(value: Any, name: str, limit: int, required: bool = True) -> str | None:
    """A string member: absent/null/empty → MKT.0101 if required, wrong type → MKT.0199, too long → MKT.0100."""
    if value is None or value == "":
        if required:
            raise LicenseError("MKT.0101", detail=f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise LicenseError("MKT.0199", detail=f"{name} must be a string")
    if len(value) > limit:
        raise LicenseError("MKT.0100", detail=f"{name} longer than {limit} characters")
    return value


def _array(value: Any, name: str, limit: int) -> list[Any]:
    if value is None:
        raise LicenseError("MKT.0101", detail=f"{name} is missing")
    if not isinstance(value, list):
        raise LicenseError("MKT.0199", detail=f"{name} must be an array")
    if not value:
        raise LicenseError("MKT.0101", detail=f"{name} is empty")
    if len(value) > limit:
        raise LicenseError("MKT.0100", detail=f"{name} has {len(value)} entries, at most {limit} allowed")
    return value


def _license(value: Any, name: str = "license") -> str:
    result = _string(value, name, LICENSE_MAX)
    assert result is not None
    return result


def parse_activate(body: bytes) -> str:
    """The ``license`` of an activate request; other members are ignored (§12.8)."""
    return _license(_object(body).get("license"))


def parse_heartbeat_v1(body: bytes) -> tuple[str, str | None, str | None]:
    """(license, thirdPartyAccount, ip) of a v1 heartbeat; ``heartbeatInfo`` is optional (§12.8)."""
    parsed = _object(body)
    code = _license(parsed.get("license"))
    info = parsed.get("heartbeatInfo")
    if info is None:
        return code, None, None
    if not isinstance(info, dict):
        raise LicenseError("MKT.0199", detail="heartbeatInfo must be an object")
    account = _string(info.get("thirdPartyAccount"), "heartbeatInfo.thirdPartyAccount", ACCOUNT_MAX)
    ip = _string(info.get("ip"), "heartbeatInfo.ip", IP_MAX, required=False)
    return code, account, ip


def parse_heartbeat_v2(body: bytes) -> list[str]:
    """The ``licenses`` of a v2 batch heartbeat, at most 100 (§12.8)."""
    codes = _array(_object(body).get("licenses"), "licenses", BATCH_MAX)
    return [_license(code, f"licenses[{i}]") for i, code in enumerate(codes)]


def _usage_entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise LicenseError("MKT.0199", detail=f"{where} must be an object")
    has_id, has_num = entry.get("id") is not None, entry.get("active_num") is not None
    if has_id == has_num:
        raise LicenseError("MKT.0100", detail=f"{where} must have exactly one of id and active_num")
    if has_id:
        return {"id": _string(entry["id"], f"{where}.id", ID_MAX)}
    num = entry["active_num"]
    if isinstance(num, bool) or not isinstance(num, int):
        raise LicenseError("MKT.0199", detail=f"{where}.active_num must be an integer")
    if num < 0 or len(str(num)) > ACTIVE_NUM_DIGITS:
        raise LicenseError("MKT.0100", detail=f"{where}.active_num must be 0 to {ACTIVE_NUM_DIGITS} digits")
    return {"active_num": num}


def parse_software_usage(body: bytes) -> list[dict[str, Any]]:
    """``usage_info`` of a software-usage report, normalised (§12.8).

    Each item becomes ``{"license": str, "software_usage_info": [{"id": str} | {"active_num": int}]}``;
    the documented key ``software_usage_Info`` and the lower-case spelling are both accepted.
    """
    items = _array(_object(body).get("usage_info"), "usage_info", BATCH_MAX)
    result: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = f"usage_info[{i}]"
        if not isinstance(item, dict):
            raise LicenseError("MKT.0199", detail=f"{where} must be an object")
        code = _license(item.get("license"), f"{where}.license")
        spellings = [k for k in ("software_usage_Info", "software_usage_info") if item.get(k) is not None]
        if len(spellings) > 1:
            raise LicenseError("MKT.0101", detail=f"{where} has both software_usage_Info and software_usage_info")
        key = spellings[0] if spellings else "software_usage_Info"
        entries = _array(item.get(key), f"{where}.{key}", BATCH_MAX)
        result.append({
            "license": code,
            "software_usage_info": [_usage_entry(e, f"{where}.{key}[{j}]") for j, e in enumerate(entries)],
        })
    return result


# -- transitions ----------------------------------------------------------------------


def effective_status(state: LicenseState, now: datetime) -> str:
    """The stored status, except that an INACTIVE or ACTIVE code past ``expire_at`` is EXPIRED."""
    if state.status in (INACTIVE, ACTIVE) and state.expire_at is not None and state.expire_at <= now:
        return EXPIRED
    return state.status


def _usable(state: LicenseState | None, merchant_id: str, now: datetime) -> tuple[LicenseState, str]:
    """Common refusals: unknown/other merchant → 91381034, expired → 91381035, frozen/released → 91381036."""
    if state is None:
        raise LicenseError(INVALID, detail="unknown authorization code")
    if state.merchant_id != merchant_id:
        raise LicenseError(INVALID, detail="authorization code of another merchant's product")
    status = effective_status(state, now)
    if status == EXPIRED:
        raise LicenseError(NO_REMAIN, detail=f"authorization code {state.code} has expired")
    if status in (FROZEN, RELEASED):
        raise LicenseError(RESOURCE_INVALID, detail=f"authorization code {state.code} is {status.lower()}")
    return state, status


def activate(state: LicenseState | None, merchant_id: str, now: datetime) -> LicenseState:
    """Activate a code; an ACTIVE code is returned unchanged (§12.8)."""
    state, status = _usable(state, merchant_id, now)
    if status == ACTIVE:
        return state
    return replace(state, status=ACTIVE, activated_at=now, effective_at=state.effective_at or now)


def heartbeat(
    state: LicenseState | None, merchant_id: str, now: datetime, account: str | None, ip: str | None
) -> LicenseState:
    """Record a heartbeat on an ACTIVE code; a never-activated code → 91381034 (§12.8).

    ``account``/``ip`` replace the stored pair when ``account`` is given (v1 ``heartbeatInfo``);
    otherwise (v2, or v1 without it) the stored pair is kept.
    """
    state, status = _usable(state, merchant_id, now)
    if status != ACTIVE:
        raise LicenseError(INVALID, detail=f"authorization code {state.code} has not been activated")
    if account is None:
        return replace(state, last_heartbeat_at=now)
    return replace(state, last_heartbeat_at=now, third_party_account=account, ip=ip)


def _time(moment: datetime | None) -> str | None:
    return compact_time(moment) if moment is not None else None


def license_info(state: LicenseState, now: datetime | None = None) -> dict[str, Any]:
    """``licenseInfo`` of activate and heartbeat v1 (assumed layout, §12.8); status as of ``now`` if given."""
    return {
        "license": state.code,
        "status": effective_status(state, now) if now is not None else state.status,
        "productId": state.product_id,
        "skuCode": state.sku_code,
        "effectiveTime": _time(state.effective_at),
        "expireTime": _time(state.expire_at),
        "lastHeartbeatTime": _time(state.last_heartbeat_at),
    }


def license_info_v2(state: LicenseState, now: datetime | None = None) -> dict[str, Any]:
    """One ``license_infos`` entry of heartbeat v2 (assumed layout, §12.8)."""
    return {
        "license": state.code,
        "status": effective_status(state, now) if now is not None else state.status,
        "effective_time": _time(state.effective_at),
        "expire_time": _time(state.expire_at),
    }
