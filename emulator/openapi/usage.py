"""Usage push (new version): request and per-record checks (PROTOCOL §12.7, §2e, §12.4).

Pure functions: the caller supplies the clocks, the key, and lookups into its store. Two clocks:
``ts`` is checked against real wall time (as the signature's freshness), the records' times against
the emulator clock (as the instances they bill).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..jsonbody import decode_json
from ..protocol.canonical import canonical_body
from ..protocol.signing import usage_push_signature, usage_push_string_to_sign, verify_usage_push_signature
from .results import MKT_CODES

__all__ = [
    "InstanceFacts",
    "RecordError",
    "UsageRequestError",
    "check_record",
    "check_usage_headers",
    "header",
    "parse_usage_body",
    "parse_usage_time",
    "replayed_nonce",
    "request_mode_error",
    "usage_amount",
]

# §12.7 header limits.
_SIGNATURE_MAX, _TS_MAX, _NONCE_MAX = 1000, 20, 64
_ID_MAX = 64
_SHOWN_MAX = 400  # characters of the string to sign quoted in the journal

_TIME_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
_AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_DIGITS_RE = re.compile(r"^[0-9]+$")

FUTURE_SLACK = timedelta(minutes=5)  # 011: end_time may not lie further ahead
MAX_AGE = timedelta(days=21)  # 007 / MKT.9004

ON_DEMAND_MODES = frozenset({"ON_DEMAND", "ON_DEMAND_PACKAGE"})
UNUSABLE_STATES = frozenset({"frozen", "released", "failed"})

RECORD_MESSAGES: dict[str, str] = {
    "001": "instance does not exist",
    "002": "invalid time format",
    "003": "invalid usage value",
    "004": "metering_sn is missing",
    "005": "duplicate metering_sn",
    "006": "product is delisted",
    "007": "record time expired",
    "009": "instance does not belong to this merchant",
    "010": "duplicate record",
    "011": "invalid time range",
    "012": "instance is not an on-demand resource",
    "013": "abnormal instance state",
}


class UsageRequestError(Exception):
    """A request-level rejection: nothing of the request is stored (§12.7)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    @property
    def http_status(self) -> int:
        return MKT_CODES[self.code][0]

    @property
    def message(self) -> str:
        """The §12.4 ``resultMsg`` table text."""
        return MKT_CODES[self.code][1]


# -- headers (§2e) ----------------------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The first header called ``name`` (lower case), whatever the case it was sent in."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def check_usage_headers(
    headers: Mapping[str, str],
    body: bytes,
    key: str,
    now_ms: int,
    seen_nonce: Callable[[str], bool] | None,
    window_s: int = 300,
) -> str:
    """Verify ``signature``/``ts``/``nonce`` (§2e, §12.7); return the matched candidate payload name.

    ``now_ms`` is real wall time. ``seen_nonce`` is consulted last, only for an otherwise valid
    request, so a caller may record the nonce inside it; None leaves the replay check to the caller
    (the emulator keeps nonces in its store, see ``nonces.claim_nonce``). A mismatch is explained
    with the string that should have been signed, never with the signature itself.
    """
    values = {name: header(headers, name) for name in ("signature", "ts", "nonce")}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise UsageRequestError("MKT.0101", "missing header: " + ", ".join(missing))
    signature, ts, nonce = values["signature"] or "", values["ts"] or "", values["nonce"] or ""
    if len(signature) > _SIGNATURE_MAX:
        raise UsageRequestError("MKT.0154", f"signature header longer than {_SIGNATURE_MAX} characters")
    if len(nonce) > _NONCE_MAX:
        raise UsageRequestError("MKT.0154", f"nonce header longer than {_NONCE_MAX} characters")
    if not _DIGITS_RE.match(ts) or len(ts) > _TS_MAX:
        raise UsageRequestError("MKT.0154", f"ts {ts!r} is not UNIX time in milliseconds")
    skew_ms = int(ts) - now_ms
    if abs(skew_ms) > window_s * 1000:
        side = "ahead of" if skew_ms > 0 else "behind"
        raise UsageRequestError(
            "MKT.0154", f"ts {ts} is {abs(skew_ms) / 1000:.0f} s {side} server time (allowed ±{window_s} s)"
        )
    try:
        decode_json(body)  # the sorted candidates only for a body the emulator reads
        matched = verify_usage_push_signature(key, ts, nonce, body, signature)
    except ValueError:
        raw = usage_push_signature(key, ts, nonce, body)
        matched = "raw" if hmac.compare_digest(raw.encode(), signature.encode()) else None
    if matched is None:
        raise UsageRequestError(
            "MKT.0154", "signature does not match the body (tried raw bytes and keys sorted); it must be base64 "
            "HMAC-SHA256(key, string to sign), with the string to sign " + _string_to_sign_shown(ts, nonce, body))
    if seen_nonce is not None and seen_nonce(nonce):
        raise replayed_nonce(nonce, window_s)
    return matched


def replayed_nonce(nonce: str, window_s: int) -> UsageRequestError:
    return UsageRequestError("MKT.0154", f"nonce {nonce} was already used within ±{window_s} s")


def _string_to_sign_shown(ts: str, nonce: str, body: bytes) -> str:
    """``expected over the sorted body: ts=…&nonce=…&body=…`` (or over the raw body), shortened."""
    try:
        payload, over = canonical_body(decode_json(body)), "sorted"
    except ValueError:
        payload, over = body, "raw"
    text = usage_push_string_to_sign(ts, nonce, payload).decode("utf-8", "replace")
    if len(text) > _SHOWN_MAX:
        text = f"{text[:_SHOWN_MAX]}… ({len(text)} characters in all)"
    return f"expected over the {over} body: {text}"


# -- body ---------------------------------------------------------------------------


def parse_usage_body(body: bytes, max_records: int = 1000) -> list[Any]:
    """The ``usage_records`` array (§12.7 request-level errors); elements are checked by ``check_record``."""
    try:
        parsed = decode_json(body)
    except ValueError as exc:
        raise UsageRequestError("MKT.0101", f"body is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise UsageRequestError("MKT.0101", "body is not a JSON object")
    records = parsed.get("usage_records")
    if records is None:
        raise UsageRequestError("MKT.9002", "usage_records is missing")
    if not isinstance(records, list):
        raise UsageRequestError("MKT.9002", "usage_records is not an array")
    if not records:
        raise UsageRequestError("MKT.9002", "usage_records is empty")
    if len(records) > max_records:
        raise UsageRequestError("MKT.9003", f"{len(records)} records, at most {max_records} allowed")
    return records


# -- values -------------------------------------------------------------------------


def parse_usage_time(text: str) -> datetime:
    """``yyyyMMdd'T'HHmmss'Z'`` → naive UTC datetime; ValueError when malformed or not a real date."""
    if not isinstance(text, str) or not _TIME_RE.match(text):
        raise ValueError(f"not yyyyMMdd'T'HHmmss'Z': {text!r}")
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ")


def usage_amount(value: Any) -> Decimal:
    """``usage_value`` as a Decimal: JSON string or number, > 0, ≤ 4 decimals, ≤ 20 chars, ≤ 8 integer digits.

    Trailing zeros after the point do not count as decimals. ValueError otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("usage_value is not a string or number")
    text = value if isinstance(value, str) else (str(value) if isinstance(value, int) else repr(value))
    if len(text) > 20:
        raise ValueError("usage_value longer than 20 characters")
    if isinstance(value, str) and not _AMOUNT_RE.match(text):
        raise ValueError(f"usage_value {text!r} is not a decimal number")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"usage_value {text!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError("usage_value must be greater than 0")
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -4:
        raise ValueError("usage_value has more than 4 decimals")
    if amount >= Decimal(10) ** 8:
        raise ValueError("usage_value has more than 8 integer digits")
    return amount


# -- per record ---------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceFacts:
    """What the record checks need to know about an instance (emulator states and modes)."""

    merchant_id: str
    charging_mode: str
    state: str
    product_on_sale: bool = True
    is_package: bool = False


@dataclass(frozen=True)
class RecordError:
    """One ``failed_records`` entry (§12.7); ``detail`` is for the journal, not the wire."""

    metering_sn: str | None
    instance_id: str | None
    error_code: str
    error_msg: str
    detail: str = field(default="", compare=False)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "metering_sn": self.metering_sn,
            "instance_id": self.instance_id,
            "error_code": self.error_code,
            "error_msg": self.error_msg,
        }


def check_record(
    record: Any,
    merchant_id: str,
    now: datetime,
    instance: Callable[[str], InstanceFacts | None],
    sn_taken: Callable[[str], bool],
    window_taken: Callable[[str, str, str], bool],
    seen_in_request: set[str],
    seen_windows: set[tuple[str, str, str]] | None = None,
) -> RecordError | None:
    """First failing per-record code of §12.7 in table order, or None when accepted.

    ``now`` is naive UTC **emulator** time (the time checks 011 and 007 use it, while ``ts`` was
    checked against real time). On acceptance the record's ``metering_sn``
    is added to ``seen_in_request`` and, when given, its (instance, begin, end)
    to ``seen_windows`` (which then also catches 010 inside one request).
    """
    rec: Mapping[str, Any] = record if isinstance(record, Mapping) else {}
    sn_raw, iid_raw = rec.get("metering_sn"), rec.get("instance_id")
    sn = sn_raw if isinstance(sn_raw, str) else None
    iid = iid_raw if isinstance(iid_raw, str) else None

    def fail(code: str, detail: str) -> RecordError:
        return RecordError(sn, iid, code, RECORD_MESSAGES[code], detail)

    # 004
    if not isinstance(record, Mapping):
        return fail("004", "record is not a JSON object")
    if not sn:
        return fail("004", "metering_sn is missing or empty")
    if len(sn) > _ID_MAX:
        return fail("004", f"metering_sn longer than {_ID_MAX} characters")
    # 002
    times: dict[str, datetime] = {}
    for name in ("record_time", "begin_time", "end_time"):
        try:
            times[name] = parse_usage_time(rec.get(name))  # type: ignore[arg-type]
        except ValueError:
            return fail("002", f"{name} {rec.get(name)!r} is not a real yyyyMMdd'T'HHmmss'Z' UTC time")
    begin, end = times["begin_time"], times["end_time"]
    # 011
    if begin >= end:
        return fail("011", "begin_time is not before end_time")
    clock = f"the emulator clock's now ({now:%Y%m%dT%H%M%SZ}; record times follow the emulator clock, ts real time)"
    if end > now + FUTURE_SLACK:
        return fail("011", f"end_time is more than 5 minutes after {clock}")
    # 007
    if begin < now - MAX_AGE:
        return fail("007", f"begin_time is more than 21 days before {clock}")
    # 003
    try:
        usage_amount(rec.get("usage_value"))
    except ValueError as exc:
        return fail("003", str(exc))
    # 001
    if not iid or len(iid) > _ID_MAX:
        return fail("001", "instance_id is missing, not a string or longer than 64 characters")
    facts = instance(iid)
    if facts is None:
        return fail("001", f"no instance {iid}")
    subjects: list[tuple[str, InstanceFacts]] = [(iid, facts)]
    pkg_raw = rec.get("relate_pkg_instance")
    if pkg_raw is not None and pkg_raw != "":
        if not isinstance(pkg_raw, str) or len(pkg_raw) > _ID_MAX:
            return fail("001", "relate_pkg_instance is not a string of at most 64 characters")
        pkg = instance(pkg_raw)
        if pkg is None:
            return fail("001", f"no package instance {pkg_raw}")
        subjects.append((pkg_raw, pkg))
    # 009
    for name, subject in subjects:
        if subject.merchant_id != merchant_id:
            return fail("009", f"instance {name} belongs to another merchant")
    # 012
    if facts.charging_mode not in ON_DEMAND_MODES:
        return fail("012", f"instance {iid} is charged {facts.charging_mode}")
    if len(subjects) > 1 and not subjects[1][1].is_package:
        return fail("012", f"relate_pkg_instance {subjects[1][0]} is not a package")
    # 013
    for name, subject in subjects:
        if subject.state in UNUSABLE_STATES:
            return fail("013", f"instance {name} is {subject.state}")
    # 006
    for name, subject in subjects:
        if not subject.product_on_sale:
            return fail("006", f"the product of instance {name} is discontinued or withdrawn")
    # 005
    if sn in seen_in_request:
        return fail("005", "metering_sn repeated in this request")
    if sn_taken(sn):
        return fail("005", "metering_sn already accepted")
    # 010
    window = (iid, rec["begin_time"], rec["end_time"])
    if (seen_windows is not None and window in seen_windows) or window_taken(*window):
        return fail("010", "a record with the same instance, begin_time and end_time was already accepted")
    seen_in_request.add(sn)
    if seen_windows is not None:
        seen_windows.add(window)
    return None


def request_mode_error(first: RecordError) -> UsageRequestError:
    """Whole-call rejection for ``openapi.usage_validation=request`` (§12.7)."""
    code = {"001": "MKT.9001", "007": "MKT.9004"}.get(first.error_code, "MKT.9002")
    detail = f"record {first.metering_sn or '?'}: {first.error_code} {first.error_msg}"
    if first.detail:
        detail += f" ({first.detail})"
    return UsageRequestError(code, detail)
