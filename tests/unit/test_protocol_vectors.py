"""Reproduce every case of the protocol test vectors in ``tests/data/vectors.json``.

The vectors cover the signature schemes of docs/protocol.md §2a (basic V2 URL
signature), §2b (kit ``x-sign``), §2c (V1 ``authToken`` and ``Body-Sign``), §2d
(inbound SDK-HMAC-SHA256) and §2e (usage-push header signature), and the
AES-CBC/SHA1PRNG encryption of §3. The file is located relative to this module
(``../data/vectors.json``); the ``section`` member of each vector group uses the
dotted numbering mapped in the header of docs/protocol.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, unquote

import pytest
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from emulator.protocol.canonical import canonical_body, top_level_sorted_body
from emulator.protocol.crypto import (
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    aes_key,
    encrypt_type_bits,
    sha1prng,
    sha1prng_next_state,
)
from emulator.protocol.sdk_hmac import (
    ALGORITHM,
    APIGW_ERROR_CODE,
    APIGW_HTTP_STATUS,
    MSG_VERIFY_FAIL,
    SDK_DATE_FORMAT,
    UNSIGNED_PAYLOAD,
    canonical_request,
    msg_unknown_ak,
    parse_authorization,
    sign_request,
    sign_string,
    string_to_sign,
    verify_request,
)
from emulator.protocol.signing import (
    BODY_SIGN_HEADER,
    append_query,
    basic_canonical_string,
    basic_inner_hmac,
    basic_signature,
    basic_signed_query,
    body_sign_signature,
    body_sign_value,
    check_body_sign,
    kit_x_sign,
    usage_push_signature,
    usage_push_string_to_sign,
    v1_auth_string,
    v1_auth_token,
    v1_signed_query,
    verify_basic_signature,
    verify_kit_x_sign,
    verify_usage_push_signature,
    verify_v1_auth_token,
)

METADATA_KEYS = frozenset({"format", "version", "spec", "conventions", "provenance_legend", "not_included"})
VECTORS_PATH = Path(__file__).parent.parent / "data" / "vectors.json"

VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def _cases(group: str, key: str = "cases") -> list[Any]:
    return [pytest.param(case, id=case["id"]) for case in VECTORS.get(group, {}).get(key, [])]


def _case_by_id(case_id: str) -> dict[str, Any]:
    for group, content in VECTORS.items():
        if group in METADATA_KEYS:
            continue
        for value in content.values():
            if isinstance(value, list):
                for case in value:
                    if case.get("id") == case_id:
                        return case
    raise LookupError(case_id)


def _is_negative(case: dict[str, Any]) -> bool:
    return case["id"].endswith("-negative")


def _serialisations(body: str) -> dict[str, bytes]:
    parsed = json.loads(body)
    return {
        "raw": body.encode("utf-8"),
        "canonical": canonical_body(parsed),
        "top_level": top_level_sorted_body(parsed),
    }


def _check_payload_origin(case: dict[str, Any], body: str, payload: bytes, verifies: Callable[[bytes], bool]) -> None:
    """Relate a signed payload to the HTTP body it was derived from.

    A positive case signs one of the forms a verifier can rebuild from the body;
    a negative case signs something other than the canonical form the emulator
    sends, so a canonicalising verifier rejects it. Either way, verification of each
    form succeeds exactly when that form is the signed payload.
    """
    forms = _serialisations(body)
    matches = {name for name, form in forms.items() if form == payload}
    if _is_negative(case):
        assert "canonical" not in matches
        assert not verifies(forms["canonical"])
    else:
        assert matches, "payload is neither the raw body nor a re-serialisation of it"
    for form in forms.values():
        assert verifies(form) == (form == payload)


# -- §2a ----------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("basic_v2_signature"))
def test_basic_v2_signature(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    key, nonce, ts = i["access_key"], i["nonce"], i["timestamp"]
    payload = i["payload"].encode("utf-8")

    inner = basic_inner_hmac(key, payload)
    assert inner == e["inner_hmac_hex"]
    assert basic_canonical_string(key, nonce, ts, inner) == e["canonical_request"]
    lower = basic_signature(key, nonce, ts, payload)
    upper = basic_signature(key, nonce, ts, payload, upper=True)
    assert lower == e["signature_hex"]
    assert upper == e["signature_hex"].upper()
    assert basic_signed_query(upper, ts, nonce) == e["url_query"]
    assert basic_signed_query(lower, ts, nonce).lower() == e["url_query"].lower()

    assert verify_basic_signature(key, nonce, ts, payload, lower)
    assert verify_basic_signature(key, nonce, ts, payload, upper)
    assert not verify_basic_signature(key, nonce, ts, payload + b" ", lower)
    assert not verify_basic_signature(key + "x", nonce, ts, payload, lower)
    assert not verify_basic_signature(key, nonce + "x", ts, payload, lower)
    assert not verify_basic_signature(key, nonce, str(int(ts) + 1), payload, lower)

    body = i.get("http_body", i["payload"])
    _check_payload_origin(case, body, payload, lambda p: verify_basic_signature(key, nonce, ts, p, lower))


# -- §2b ----------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("kit_x_sign"))
def test_kit_x_sign(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    key, nonce, ts = i["kit_access_key"], i["x_nonce"], i["x_timestamp"]
    payload = i["payload"].encode("utf-8")

    assert (key + nonce + ts).encode("utf-8") + payload == e["canonical_request"].encode("utf-8")
    sign = kit_x_sign(key, nonce, ts, payload)
    assert sign == e["x_sign_hex"]
    assert kit_x_sign(key, nonce, ts, payload, upper=True) == e["x_sign_hex"].upper()

    assert verify_kit_x_sign(key, nonce, ts, payload, sign)
    assert verify_kit_x_sign(key, nonce, ts, payload, sign.upper())
    assert not verify_kit_x_sign(key, nonce, ts, payload + b" ", sign)
    assert not verify_kit_x_sign(key + "x", nonce, ts, payload, sign)
    assert not verify_kit_x_sign(key, nonce, str(int(ts) + 1), payload, sign)
    # the kit scheme is not the basic scheme with another key
    assert sign != basic_signature(key, nonce, ts, payload)

    body = i.get("http_body", i["payload"])
    _check_payload_origin(case, body, payload, lambda p: verify_kit_x_sign(key, nonce, ts, p, sign))


# -- §2c ----------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("v1_auth_token"))
def test_v1_auth_token(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    key, params = i["access_key"], i["params"]

    assert v1_auth_string(params) == e["string_to_sign"]
    assert key + params["timeStamp"] == e["hmac_key"]
    digest = hmac.new(e["hmac_key"].encode(), e["string_to_sign"].encode(), hashlib.sha256).digest()
    assert base64.b64encode(digest).decode() == e["auth_token"]
    token = v1_auth_token(key, params)
    assert token == e["auth_token"]
    # an authToken already in the params is ignored when signing
    assert v1_auth_token(key, {**params, "authToken": "x"}) == token

    base, _, query = e["example_url"].partition("?")
    assert append_query(base, v1_signed_query(key, params)) == e["example_url"]

    raw = dict(part.split("=", 1) for part in query.split("&"))
    decoded = {k: unquote(v) for k, v in raw.items()}
    assert decoded["authToken"] == token
    assert verify_v1_auth_token(key, decoded)
    assert not verify_v1_auth_token(key + "x", decoded)
    assert not verify_v1_auth_token(key, {**decoded, "orderId": decoded["orderId"] + "X"})
    assert not verify_v1_auth_token(key, raw)  # values left percent-encoded
    assert not verify_v1_auth_token(key, {k: v for k, v in decoded.items() if k != "authToken"})


@pytest.mark.parametrize("case", _cases("v1_body_sign"))
def test_v1_body_sign(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    key, body = i["access_key"], i["http_body"].encode("utf-8")

    assert body_sign_signature(key, body) == e["signature_b64"]
    value = body_sign_value(key, body)
    assert value == f'sign_type="HMAC-SHA256", signature="{e["signature_b64"]}"'
    if "header" in e:
        name, _, header_value = e["header"].partition(": ")
        assert name == BODY_SIGN_HEADER
        assert header_value == value

    assert check_body_sign(key, [(b"Body-Sign", value.encode())], body) is None
    assert check_body_sign(key, [("Body-Sign", value)], body) is None
    tampered = body + b" "
    assert check_body_sign(key, [("Body-Sign", value)], tampered) == (
        "Failed to verify the HTTP Body signature. Expected signature value: " + body_sign_signature(key, tampered)
    )
    assert check_body_sign(key + "x", [("Body-Sign", value)], body).startswith("Failed to verify")
    if body.strip() != body:
        stripped_value = body_sign_value(key, body.strip())
        assert check_body_sign(key, [("Body-Sign", stripped_value)], body) is not None


# -- §3 -----------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("aes_key_derivation"))
def test_aes_key_derivation(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    seed = i["seed"]
    state0 = hashlib.sha1(seed.encode()).digest()
    block1 = hashlib.sha1(state0).digest()

    if "key128_hex" in e:
        assert sha1prng(seed.encode(), 16).hex() == e["key128_hex"]
        assert aes_key(seed, 128).hex() == e["key128_hex"]
    if "key256_hex" in e:
        assert sha1prng(seed.encode(), 32).hex() == e["key256_hex"]
        assert aes_key(seed, 256).hex() == e["key256_hex"]
    if "intermediate" in e:
        m = e["intermediate"]
        assert state0.hex() == m["state0_hex"]
        assert block1.hex() == m["block1_hex"]
        state1 = sha1prng_next_state(state0, block1)
        assert state1.hex() == m["state1_hex"]
        assert hashlib.sha1(state1).hexdigest() == m["block2_hex"]
        assert sha1prng(seed.encode(), 40).hex() == m["block1_hex"] + m["block2_hex"]
    if "wrong_state1_hex" in e:
        # the vector describes a plain unsigned little-endian 160-bit addition ...
        unsigned = ((int.from_bytes(state0, "little") + int.from_bytes(block1, "little") + 1) % 2**160).to_bytes(
            20, "little"
        )
        assert unsigned.hex() == e["wrong_state1_hex"]
        wrong_key = block1 + hashlib.sha1(unsigned).digest()[:12]
        assert wrong_key.hex() == e["wrong_key256_hex"]
        iv, output = e["wrong_aes256_output"][:16], e["wrong_aes256_output"]
        padder = sym_padding.PKCS7(128).padder()
        padded = padder.update(b"admin@Pass123") + padder.finalize()
        enc = Cipher(algorithms.AES(wrong_key), modes.CBC(iv.encode())).encryptor()
        assert iv + base64.b64encode(enc.update(padded) + enc.finalize()).decode() == output
        # ... which the implementation must not match
        assert sha1prng_next_state(state0, block1).hex() != e["wrong_state1_hex"]
        assert aes_key(seed, 256).hex() == e["correct_key256_hex"] != e["wrong_key256_hex"]
        assert aes_key(seed, 128) == wrong_key[:16]
        assert aes_cbc_encrypt(seed, "admin@Pass123", 256, iv) != output


@pytest.mark.parametrize("case", _cases("aes_cbc_encryption"))
def test_aes_cbc_encryption(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    key, bits, iv, plaintext = i["access_key"], i["key_bits"], i["iv"], i["plaintext"]

    assert encrypt_type_bits(i["encrypt_type"]) == bits
    assert aes_key(key, bits).hex() == e["key_hex"]
    token = aes_cbc_encrypt(key, plaintext, bits, iv)
    assert token == e["output"] == iv + e["ciphertext_b64"]
    assert aes_cbc_decrypt(key, e["output"], bits) == plaintext

    other_bits = 128 if bits == 256 else 256
    try:
        assert aes_cbc_decrypt(key, e["output"], other_bits) != plaintext
    except ValueError:
        pass
    with pytest.raises(ValueError):
        aes_cbc_decrypt(key, e["output"][:-4], bits)

    fresh = aes_cbc_encrypt(key, plaintext, bits)
    assert fresh[:16].isalnum() and fresh[:16].isascii()
    assert aes_cbc_decrypt(key, fresh, bits) == plaintext


# -- §2d ----------------------------------------------------------------------


def _sdk_parts(i: dict[str, Any]) -> tuple[str, str, str, dict[str, str], bytes]:
    query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in i["query"])
    url = f"{i['scheme']}://{i['host']}{i['path']}" + (f"?{query}" if query else "")
    return url, i["path"], query, dict(i["headers_before_signing"]), i["body"].encode("utf-8")


def _sdk_date(value: str) -> datetime:
    return datetime.strptime(value, SDK_DATE_FORMAT).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("case", _cases("sdk_hmac_sha256"))
def test_sdk_hmac_sha256(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    ak, sk, method = i["ak"], i["sk"], i["method"]
    url, path, query, headers, body = _sdk_parts(i)

    added = sign_request(ak, sk, method, url, headers, body)
    assert added == {**e["headers_added_by_signer"], "Authorization": e["authorization"]}
    full = {**headers, **added}
    signed = e["signed_headers"].split(";")
    assert parse_authorization(e["authorization"]) == (ALGORITHM, ak, signed, e["signature"])

    creq = canonical_request(method, path, query, full, signed, body)
    assert creq == e["canonical_request"]
    sts = string_to_sign(full["X-Sdk-Date"], creq)
    assert sts == e["string_to_sign"]
    assert sign_string(sk, sts) == e["signature"]

    now = _sdk_date(full["X-Sdk-Date"])
    result = verify_request(method, path, query, full, body, {ak: sk}.get, now)
    assert result.ok, result.detail
    assert (result.ak, result.canonical_request, result.error_msg) == (ak, e["canonical_request"], "")

    wrong_secret = verify_request(method, path, query, full, body, lambda _: sk + "x", now)
    assert not wrong_secret.ok and wrong_secret.error_msg == MSG_VERIFY_FAIL
    unknown = verify_request(method, path, query, full, body, {}.get, now)
    assert not unknown.ok and unknown.error_msg == msg_unknown_ak(ak)
    other_host = verify_request(method, path, query, {**full, "Host": "evil.example.com"}, body, {ak: sk}.get, now)
    assert not other_host.ok and other_host.error_msg == MSG_VERIFY_FAIL
    tampered = verify_request(method, path, query, full, body + b"x", {ak: sk}.get, now)
    # UNSIGNED-PAYLOAD leaves the body out of the signature
    assert tampered.ok == (full.get("X-Sdk-Content-Sha256") == UNSIGNED_PAYLOAD)


@pytest.mark.parametrize("case", _cases("sdk_hmac_sha256", "negative_cases"))
def test_sdk_hmac_sha256_negative(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    base = _case_by_id(i["based_on"])
    bi, be = base["input"], base["expected"]
    ak, sk, method = bi["ak"], bi["sk"], bi["method"]
    _, path, query, headers, body = _sdk_parts(bi)
    authorization = i.get("authorization", be["authorization"])
    full = {**headers, **be["headers_added_by_signer"], "Authorization": authorization}
    if "body" in i:
        body = i["body"].encode("utf-8")
    now = _sdk_date(i.get("server_now_utc", full["X-Sdk-Date"]))

    result = verify_request(method, path, query, full, body, {ak: sk}.get, now)
    if e["verify"] == "accept":
        assert result.ok, result.detail
        return
    assert e["verify"] == "reject"
    assert not result.ok
    assert result.error_msg == MSG_VERIFY_FAIL
    assert (APIGW_ERROR_CODE, APIGW_HTTP_STATUS) == (e["error_code"], e["http_status"])
    if "recomputed_signature" in e:
        signed = parse_authorization(authorization)[2]
        creq = canonical_request(method, path, query, full, signed, body)
        sts = string_to_sign(full["X-Sdk-Date"], creq)
        assert sign_string(sk, sts) == e["recomputed_signature"]
        assert result.canonical_request == creq
        # the diagnosis shows what was signed, never the signature the emulator expected
        assert sts in result.detail
        assert e["recomputed_signature"] not in result.detail
        assert e["recomputed_signature"] not in result.error_msg


# -- §2e ----------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("usage_push_header_signature"))
def test_usage_push_header_signature(case: dict[str, Any]) -> None:
    i, e = case["input"], case["expected"]
    key, ts, nonce = i["key"], i["ts"], i["nonce"]
    payload = i["body_for_signing"].encode("utf-8")
    body = i.get("http_body", i["body_for_signing"])

    if "string_to_sign" in e:
        assert usage_push_string_to_sign(ts, nonce, payload) == e["string_to_sign"].encode("utf-8")
    sig = usage_push_signature(key, ts, nonce, payload)
    assert sig == e["signature_b64"]

    forms = _serialisations(body)
    first_match = next(name for name, form in forms.items() if form == payload)
    assert verify_usage_push_signature(key, ts, nonce, body.encode("utf-8"), sig) == first_match
    assert verify_usage_push_signature(key + "x", ts, nonce, body.encode("utf-8"), sig) is None
    assert verify_usage_push_signature(key, ts, nonce + "x", body.encode("utf-8"), sig) is None
    changed = json.loads(body)
    changed["tampered"] = True
    assert verify_usage_push_signature(key, ts, nonce, json.dumps(changed).encode(), sig) is None

    _check_payload_origin(
        case, body, payload, lambda p: usage_push_signature(key, ts, nonce, p) == e["signature_b64"]
    )


# -- coverage of the vectors file -----------------------------------------------------

HANDLED_CASE_LISTS = frozenset(
    {
        ("basic_v2_signature", "cases"),
        ("kit_x_sign", "cases"),
        ("v1_auth_token", "cases"),
        ("v1_body_sign", "cases"),
        ("aes_key_derivation", "cases"),
        ("aes_cbc_encryption", "cases"),
        ("sdk_hmac_sha256", "cases"),
        ("sdk_hmac_sha256", "negative_cases"),
        ("usage_push_header_signature", "cases"),
    }
)


def test_every_vector_group_is_handled() -> None:
    groups = {name for name in VECTORS if name not in METADATA_KEYS}
    in_file = {
        (group, key) for group in groups for key, value in VECTORS[group].items() if isinstance(value, list)
    }
    assert groups == {group for group, _ in in_file}, "a vector group has no case list"
    assert in_file - HANDLED_CASE_LISTS == set(), "vector case lists not exercised by this module"
    assert HANDLED_CASE_LISTS - in_file == set(), "case lists expected here are gone from vectors.json"
    ids = [case["id"] for group, key in in_file for case in VECTORS[group][key]]
    assert len(ids) == len(set(ids)), "duplicate case ids"
