"""Verdicts on merchant replies (PROTOCOL §8).

Checks run in the order T → S → E → F → I and the first failure decides; every failure is one
sentence that starts with the seller-console debugger's wording, names the field, and cites
the PROTOCOL section. Warnings never fail an attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ..jsonbody import BadJson, decode_json
from ..protocol import codes
from ..protocol.crypto import aes_cbc_decrypt, encrypt_type_bits
from ..protocol.signing import BODY_SIGN_HEADER, MSG_BODY_SIGN_BAD_FORMAT, MSG_BODY_SIGN_EMPTY, check_body_sign

LIMITS = {"resultCode": 6, "resultMsg": 255, "instanceId": 64}
APP_INFO_LIMITS = {"frontEndUrl": 512, "adminUrl": 512}


@dataclass(frozen=True)
class Reply:
    """What came back for one attempt: either a transport error or a status and a body."""

    status: Optional[int] = None
    body: bytes = b""
    transport_error: Optional[str] = None
    timed_out: bool = False
    timeout_s: float = 5.0
    raw_headers: tuple[tuple[str, str], ...] = ()  # names as sent, for checks that are case-sensitive


@dataclass(frozen=True)
class Expectations:
    """Facts the dispatcher knows before judging a reply."""

    activity: str
    queried_instance_id: Optional[str] = None  # queryInstance: the id asked about
    known_instance_id: Optional[str] = None  # newInstance resend: the id stored earlier (I1)
    taken_by: Optional[str] = None  # I2: order line already bound to the returned instanceId
    license_field: Optional[str] = None  # getLicense: the reply member that carries the licence (§6)
    known_license: Optional[str] = None  # getLicense resend: the licence stored earlier (R1)
    body_sign_key: Optional[str] = None  # V1: every reply must carry a Body-Sign made with this key (§2c)


@dataclass
class Verdict:
    passed: bool = True
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    payload: Optional[dict[str, Any]] = None

    def fail(self, sentence: str) -> "Verdict":
        self.passed = False
        self.failures.append(sentence)
        return self

    @property
    def instance_id(self) -> Optional[str]:
        value = (self.payload or {}).get("instanceId")
        return value if isinstance(value, str) and value else None

    licence_field: str = "license"

    @property
    def licence(self) -> Optional[str]:
        """getLicense: the licence the reply carried (in ``licence_field``)."""
        value = (self.payload or {}).get(self.licence_field)
        return value if isinstance(value, str) and value else None

    @property
    def summary(self) -> str:
        return "passed" if self.passed else self.failures[0]


def parse_json_object(body: bytes) -> tuple[Optional[dict[str, Any]], Optional[str]]:
    """Decode a reply body (UTF-8, leading BOM tolerated); return (object, problem)."""
    if not body.strip():
        return None, "the body is empty"
    try:
        value = decode_json(body)
    except BadJson as exc:
        return None, f"the body is not JSON ({exc})"
    if not isinstance(value, dict):
        return None, f"the body is a JSON {type(value).__name__}, not an object"
    return value, None


def judge(reply: Reply, expect: Expectations) -> Verdict:
    verdict = Verdict()
    if reply.transport_error is not None:
        return verdict.fail(f"connection error: {reply.transport_error} (PROTOCOL §8 T1)")
    if reply.timed_out:
        return verdict.fail(
            f"timeout after {reply.timeout_s:g} s: no complete response within the limit (PROTOCOL §1, §8 T2)"
        )
    if reply.status != 200:
        return verdict.fail(f"HTTP status {reply.status}: the reply must be HTTP 200 (PROTOCOL §8 T3)")
    payload, problem = parse_json_object(reply.body)
    if payload is None:
        return verdict.fail(f"Debugging failed. Parse response body failed: {problem} (PROTOCOL §8 T4)")
    if expect.body_sign_key is not None:
        _check_body_sign(verdict, reply, expect.body_sign_key)
        if not verdict.passed:
            return verdict
    verdict.payload = payload
    _check_result_code(verdict, payload)
    if verdict.passed:
        _check_lengths(verdict, payload)
    if expect.license_field:
        verdict.licence_field = expect.license_field
    if verdict.passed and (expect.activity == "newInstance" or expect.license_field):
        _check_new_instance(verdict, payload, expect)
    if verdict.passed and expect.license_field:
        _check_licence(verdict, expect)
    if verdict.passed and expect.activity == "newInstance" and expect.body_sign_key is not None:
        _check_v1_app_info(verdict, payload, expect.body_sign_key)
    if verdict.passed and expect.activity == "queryInstance":
        _check_query_instance(verdict, payload, expect)
    return verdict


def _check_body_sign(verdict: Verdict, reply: Reply, key: str) -> None:
    """S1–S3: the exact ``Body-Sign`` header, HMAC-SHA256 of the body bytes with the key (PROTOCOL §2c)."""
    message = check_body_sign(key, reply.raw_headers, reply.body)
    if message is None:
        return
    if message == MSG_BODY_SIGN_EMPTY:
        verdict.fail(f"{message} {_missing_body_sign(reply)} (PROTOCOL §2c, §8 S1)")
    elif message == MSG_BODY_SIGN_BAD_FORMAT:
        verdict.fail(f'{message} The value must read sign_type="HMAC-SHA256", signature="<Base64>" '
                     "(PROTOCOL §2c, §8 S2)")
    else:
        verdict.fail(f"{message} (Base64 HMAC-SHA256 of the reply body bytes as sent, keyed with the access key; "
                     "PROTOCOL §2c, §8 S3)")


def _missing_body_sign(reply: Reply) -> str:
    other = next((name for name, _value in reply.raw_headers
                  if name.lower() == BODY_SIGN_HEADER.lower() and name != BODY_SIGN_HEADER), None)
    if other is not None:
        return f"The reply has a header {other!r}, but the name must be spelled exactly {BODY_SIGN_HEADER}."
    return f"Every SaaS V1 reply must carry a {BODY_SIGN_HEADER} header."


def _check_v1_app_info(verdict: Verdict, payload: dict[str, Any], key: str) -> None:
    """F2 and F5 on ``appInfo``; F6: its encrypted members decrypt with the access key (warnings, PROTOCOL §3)."""
    app_info = payload.get("appInfo")
    if not isinstance(app_info, dict) or not isinstance(app_info.get("frontEndUrl"), str) \
            or not app_info["frontEndUrl"]:
        verdict.fail("Debugging failed. The interface response does not contain frontEndUrl: a V1 newInstance "
                     "must return appInfo.frontEndUrl (PROTOCOL §7, §8 F2)")
        return
    for name, limit in APP_INFO_LIMITS.items():
        sentence = _length_failure(f"appInfo.{name}", app_info.get(name), limit)
        if sentence:
            verdict.fail(sentence)
            return
    bits = _encrypt_type_bits(verdict, payload.get("encryptType"))
    for name in ("userName", "password"):
        value = app_info.get(name)
        if isinstance(value, str) and value:
            try:
                aes_cbc_decrypt(key, value, bits)
            except ValueError as exc:
                verdict.warnings.append(f"appInfo.{name} does not decrypt with AES-{bits} and the access key: {exc} "
                                        "(PROTOCOL §3, §8 F6)")


def _encrypt_type_bits(verdict: Verdict, encrypt_type: Any) -> int:
    if encrypt_type not in (None, "1", "2"):
        verdict.warnings.append(f"encryptType {json.dumps(encrypt_type)} is neither \"1\" (AES-256) nor \"2\" "
                                "(AES-128): appInfo is decrypted as AES-128 (PROTOCOL §3)")
        return 128
    return encrypt_type_bits(encrypt_type)


def _check_result_code(verdict: Verdict, payload: dict[str, Any]) -> None:
    code = payload.get("resultCode")
    if code is None:
        verdict.fail(
            "Debugging failed. The interface response does not contain resultCode: "
            "the field resultCode is missing (PROTOCOL §8 E1)"
        )
        return
    if not isinstance(code, str):
        verdict.fail(
            "Debugging failed. The interface response does not contain resultCode: "
            f"resultCode must be a JSON string such as \"000000\", got {json.dumps(code)} (PROTOCOL §8 E1)"
        )
        return
    if code == codes.SUCCESS:
        return
    known = codes.RESULT_CODES.get(code)
    meaning = known.meaning.lower() if known else "not a known KooGallery result code"
    hint = _HINTS.get(code, "")
    verdict.fail(
        "Call interface failed. The production interface returns an error result code: "
        f"resultCode {code!r} ({meaning}) is not \"000000\"{hint} (PROTOCOL §8 E2)"
    )


_HINTS = {
    codes.CLIENT_SECRET_ERROR: ": the merchant could not decrypt clientSecret; its private key must match the public "
                               "key uploaded for the application, and both sides must use the same RSA padding "
                               "(the merchant's kit_rsa_padding, PROTOCOL §3)",
}


def _length_failure(name: str, value: Any, limit: int) -> Optional[str]:
    if isinstance(value, str) and len(value) > limit:
        return (
            f"Debugging failed. The length of {name} is invalid: {name} has {len(value)} characters, "
            f"at most {limit} are allowed (PROTOCOL §8 F5)"
        )
    return None


def _check_lengths(verdict: Verdict, payload: dict[str, Any]) -> None:
    for name in ("resultCode", "resultMsg"):
        sentence = _length_failure(name, payload.get(name), LIMITS[name])
        if sentence:
            verdict.fail(sentence)


def _check_new_instance(verdict: Verdict, payload: dict[str, Any], expect: Expectations) -> None:
    instance_id = payload.get("instanceId")
    if not isinstance(instance_id, str) or not instance_id:
        verdict.fail(
            "Debugging failed. The interface response does not contain instanceId: "
            "newInstance must return a non-empty string instanceId on success (PROTOCOL §4 newInstance, §8 F1)"
        )
        return
    if len(instance_id) > LIMITS["instanceId"]:
        verdict.fail(
            f"Debugging failed. The length of instanceId is invalid: instanceId has {len(instance_id)} "
            "characters, at most 64 are allowed (PROTOCOL §8 F1)"
        )
        return
    if expect.known_instance_id is not None and instance_id != expect.known_instance_id:
        verdict.fail(
            f"idempotency violated: expected {expect.known_instance_id}: a resent newInstance for the same "
            f"order line must return the same instanceId, got {instance_id} (PROTOCOL §4 R1, §8 I1)"
        )
        return
    if expect.taken_by is not None:
        verdict.fail(
            f"instanceId not unique: {instance_id} is already bound to order line {expect.taken_by} "
            "(PROTOCOL §4 R2, §8 I2)"
        )


def _check_licence(verdict: Verdict, expect: Expectations) -> None:
    """getLicense returns the licence, the same one on every resend (PROTOCOL §6, §4 R1)."""
    name = expect.license_field
    value = (verdict.payload or {}).get(name)
    if not isinstance(value, str) or not value:
        verdict.fail(f"Debugging failed. The interface response does not contain {name}: getLicense must return "
                     f"the licence as a non-empty string {name} on success (PROTOCOL §6 getLicense)")
        return
    if expect.known_license is not None and value != expect.known_license:
        verdict.fail(f"idempotency violated: expected {expect.known_license}: a resent getLicense for the same order "
                     f"must return the same {name}, got {value} (PROTOCOL §6, §8 I1)")
        return
    if len(value) > 64:
        verdict.warnings.append(f"{name} has {len(value)} characters: the License open APIs take at most 64, so the "
                                "emulator cannot register it as the order's authorization code (PROTOCOL §12.8)")


def _check_query_instance(verdict: Verdict, payload: dict[str, Any], expect: Expectations) -> None:
    info = payload.get("info")
    if info is None:
        info = []
    if not isinstance(info, list):
        verdict.fail(f"Debugging failed. info must be a JSON array, got {type(info).__name__} (PROTOCOL §4 queryInstance)")
        return
    found = False
    for index, element in enumerate(info):
        where = f"info[{index}]"
        if not isinstance(element, dict):
            verdict.fail(f"Debugging failed. {where} must be a JSON object (PROTOCOL §4 queryInstance, §8 F4)")
            return
        element_id = element.get("instanceId")
        if not isinstance(element_id, str) or not element_id:
            verdict.fail(
                f"Debugging failed. The interface response does not contain instanceId: {where}.instanceId "
                "is missing (PROTOCOL §8 F4)"
            )
            return
        if len(element_id) > LIMITS["instanceId"]:
            verdict.fail(
                f"Debugging failed. The length of instanceId is invalid: {where}.instanceId has "
                f"{len(element_id)} characters, at most 64 are allowed (PROTOCOL §8 F4)"
            )
            return
        app_info = element.get("appInfo")
        if isinstance(app_info, dict):
            for name, limit in APP_INFO_LIMITS.items():
                sentence = _length_failure(f"{where}.appInfo.{name}", app_info.get(name), limit)
                if sentence:
                    verdict.fail(sentence)
                    return
        usage = element.get("usageInfo")
        if isinstance(usage, dict):
            for name in ("usageValue", "statisticalTime"):
                if name not in usage:
                    verdict.fail(
                        f"Debugging failed. The interface response does not contain {name}: {where}.usageInfo "
                        f"is present, so {name} is mandatory (PROTOCOL §4 queryInstance, §8 F4)"
                    )
                    return
        if element_id == expect.queried_instance_id:
            found = True
    if expect.queried_instance_id is not None and not found:
        verdict.fail(
            f"instance not ready: the reply has no info element whose instanceId is {expect.queried_instance_id} "
            "(PROTOCOL §4 queryInstance, §9 polling)"
        )
