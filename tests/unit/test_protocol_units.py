"""Unit tests of the protocol helpers beyond the shared vectors."""

from __future__ import annotations

import base64
import copy
import json
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from emulator.protocol import codes
from emulator.protocol.canonical import canonical_body, strip_nulls, top_level_sorted_body
from emulator.protocol.crypto import (
    RSA_PADDINGS,
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    encrypt_type_bits,
    rsa_decrypt_client_secret,
    rsa_encrypt_client_secret,
)
from emulator.protocol.sdk_hmac import (
    MSG_NO_AUTHORIZATION,
    MSG_VERIFY_FAIL,
    UNSIGNED_PAYLOAD,
    AuthorizationFormatError,
    authorization_value,
    canonical_query,
    canonical_request,
    canonical_uri,
    msg_unknown_ak,
    parse_authorization,
    sign_request,
    sign_string,
    string_to_sign,
    verify_request,
)
from emulator.protocol.signing import (
    MSG_BODY_SIGN_BAD_FORMAT,
    MSG_BODY_SIGN_EMPTY,
    append_query,
    body_sign_signature,
    body_sign_value,
    check_body_sign,
    kit_x_sign,
    new_nonce,
    usage_push_signature,
    v1_auth_token,
    v1_signed_query,
    v1_timestamp,
    verify_response_x_sign,
    verify_usage_push_signature,
    wall_clock_ms,
)

# -- canonical body ---------------------------------------------------------------


def test_canonical_strips_nulls_at_every_depth() -> None:
    obj = {"a": None, "b": {"c": None, "d": 1}, "e": [{"f": None, "g": "x"}]}
    assert canonical_body(obj) == b'{"b":{"d":1},"e":[{"g":"x"}]}'
    assert obj["a"] is None and "c" in obj["b"]  # input left untouched
    assert strip_nulls([None, {"k": None}]) == [None, {}]  # array elements are positional


def test_canonical_text_rules() -> None:
    body = canonical_body({"name": "张三", "url": "https://a.example/b", "q": 'say "hi"\\\n\x01'})
    assert body == '{"name":"张三","q":"say \\"hi\\"\\\\\\n\\u0001","url":"https://a.example/b"}'.encode()
    assert b"\\u" not in canonical_body({"name": "张三"})


def test_canonical_sorts_nested_objects_and_keeps_array_order() -> None:
    obj = {"b": {"z": 1, "a": [3, 1, {"y": 0, "x": 0}]}, "a": True}
    assert canonical_body(obj) == b'{"a":true,"b":{"a":[3,1,{"x":0,"y":0}],"z":1}}'
    assert top_level_sorted_body(obj) == b'{"a":true,"b":{"z":1,"a":[3,1,{"y":0,"x":0}]}}'


def test_canonical_matches_json_dumps_for_plain_data() -> None:
    obj = {"é": [1, 2.5, "ü/", {"n": None, "m": False}], "A": {"c": "", "b": -7}, "Z": 0.01}
    expected = json.dumps(strip_nulls(obj), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert canonical_body(obj) == expected.encode("utf-8")


def test_canonical_numbers_never_use_exponents() -> None:
    assert canonical_body({"a": 1e-05, "b": 1e16, "c": Decimal("1.50"), "d": 10, "e": 9999999.99}) == (
        b'{"a":0.00001,"b":10000000000000000,"c":1.5,"d":10,"e":9999999.99}'
    )
    with pytest.raises(ValueError):
        canonical_body({"a": float("nan")})
    with pytest.raises(TypeError):
        canonical_body({1: "x"})


# -- basic / kit / V1 helpers --------------------------------------------------------


def test_nonce_and_clock() -> None:
    nonces = {new_nonce() for _ in range(20)}
    assert len(nonces) == 20
    assert all(len(n) == 16 and n.isascii() and n.isalnum() for n in nonces)
    assert len(new_nonce(64)) == 64
    ms = wall_clock_ms()
    assert len(ms) == 13 and abs(int(ms) - time.time() * 1000) < 5000


def test_append_query() -> None:
    assert append_query("https://isv.example.com/produce", "a=1") == "https://isv.example.com/produce?a=1"
    assert append_query("https://isv.example.com/produce?x=y", "a=1") == "https://isv.example.com/produce?x=y&a=1"


def test_v1_timestamp() -> None:
    utc = datetime(2020, 7, 27, 7, 37, 11, 903456, tzinfo=timezone.utc)
    assert v1_timestamp(utc) == "20200727073711903"
    assert v1_timestamp(utc.astimezone(timezone(timedelta(hours=8)))) == "20200727073711903"
    assert v1_timestamp(utc.replace(tzinfo=None)) == "20200727073711903"
    assert len(v1_timestamp()) == 17


def test_v1_signed_query_encodes_every_value() -> None:
    params = {"b": "x+y/z= ü", "a": "1", "timeStamp": "20200727073711903"}
    query = v1_signed_query("k", params)
    token = v1_auth_token("k", params)
    assert query.startswith("a=1&b=x%2By%2Fz%3D%20%C3%BC&timeStamp=20200727073711903&authToken=")
    assert query.endswith(token.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"))
    with pytest.raises(ValueError):
        v1_auth_token("k", {"a": "1"})


# -- Body-Sign and response x-sign -------------------------------------------------------

KEY = "test-access-key-0001"
BODY = b'{"resultCode":"000000","resultMsg":"success"}'
SIG = body_sign_signature(KEY, BODY)


def test_body_sign_accepts_documented_spacing() -> None:
    sig = body_sign_signature(KEY, BODY)
    for value in (
        f'sign_type="HMAC-SHA256", signature="{sig}"',
        f'sign_type="HMAC-SHA256",signature="{sig}"',
        f'sign_type = "HMAC-SHA256" , signature= "{sig}"',
    ):
        assert check_body_sign(KEY, [("Content-Type", "application/json"), ("Body-Sign", value)], BODY) is None


@pytest.mark.parametrize(
    "headers, message",
    [
        ([], MSG_BODY_SIGN_EMPTY),
        ([("Body-sign", body_sign_value(KEY, BODY))], MSG_BODY_SIGN_EMPTY),
        ([(b"body-sign", body_sign_value(KEY, BODY).encode())], MSG_BODY_SIGN_EMPTY),
        ([("Body-Sign", "")], MSG_BODY_SIGN_EMPTY),
        ([("Body-Sign", "garbage")], MSG_BODY_SIGN_BAD_FORMAT),
        ([("Body-Sign", f"sign_type=HMAC-SHA256, signature={SIG}")], MSG_BODY_SIGN_BAD_FORMAT),
        ([("Body-Sign", f'sign_type="HMAC-SHA1", signature="{SIG}"')], MSG_BODY_SIGN_BAD_FORMAT),
        ([("Body-Sign", 'sign_type="HMAC-SHA256", signature=""')], MSG_BODY_SIGN_BAD_FORMAT),
        (
            [("Body-Sign", 'sign_type="HMAC-SHA256", signature="AAAA"')],
            "Failed to verify the HTTP Body signature. Expected signature value: " + SIG,
        ),
    ],
)
def test_body_sign_failures(headers: list[tuple[object, object]], message: str) -> None:
    assert check_body_sign(KEY, headers, BODY) == message  # type: ignore[arg-type]


def test_response_x_sign() -> None:
    nonce, ts = "RLLUammMSInlrNWb", "1700000000000"
    sign = kit_x_sign(KEY, nonce, ts, BODY)
    assert verify_response_x_sign(KEY, {"X-Sign": sign.upper(), "X-Nonce": nonce, "X-Timestamp": ts}, BODY) is None
    raw = [(b"x-sign", sign.encode()), ("x-nonce", nonce), ("x-timestamp", ts)]
    assert verify_response_x_sign(KEY, raw, BODY) is None
    missing = verify_response_x_sign(KEY, {"x-sign": sign, "x-nonce": nonce}, BODY)
    assert missing is not None and "x-timestamp" in missing
    wrong = verify_response_x_sign(KEY, {"x-sign": sign, "x-nonce": nonce, "x-timestamp": ts}, BODY + b" ")
    assert wrong is not None and kit_x_sign(KEY, nonce, ts, BODY + b" ") in wrong


def test_usage_push_candidates() -> None:
    body = b'{"z":1,"a":{"y":2,"x":3}}'
    top = b'{"a":{"y":2,"x":3},"z":1}'
    canonical = b'{"a":{"x":3,"y":2},"z":1}'
    for payload, name in ((body, "raw"), (canonical, "canonical"), (top, "top_level")):
        assert verify_usage_push_signature("k", "1", "n", body, usage_push_signature("k", "1", "n", payload)) == name
    not_json = b"not json"
    assert verify_usage_push_signature("k", "1", "n", not_json, usage_push_signature("k", "1", "n", not_json)) == "raw"
    assert verify_usage_push_signature("k", "1", "n", not_json, "AAAA") is None


# -- SDK-HMAC-SHA256 ---------------------------------------------------------------------

AK, SK = "AKUNITTEST", "SKUNITTEST"
NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
PATH = "/api/mkp-openapi-public/global/v1/isv/usage-data"
JSON_BODY = b'{"usage_records":[]}'


def _lookup(ak: str) -> str | None:
    return {AK: SK}.get(ak)


def _signed_headers(body: bytes = JSON_BODY, **extra: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json;charset=UTF-8", **extra}
    added = sign_request(AK, SK, "POST", f"https://mkt.example.com:8443{PATH}?b=2&a=1", headers, body, now=NOW)
    return {**headers, **added}


def _verify(headers: dict[str, str], body: bytes = JSON_BODY, now: datetime = NOW, method: str = "POST"):
    return verify_request(method, PATH, "b=2&a=1", headers, body, _lookup, now)


def test_sdk_sign_request_roundtrip() -> None:
    headers = _signed_headers()
    assert headers["Host"] == "mkt.example.com:8443"
    assert headers["X-Sdk-Date"] == "20250101T120000Z"
    result = _verify(headers)
    assert result.ok and result.ak == AK and result.error_msg == ""
    lowered = {k.lower(): v for k, v in headers.items()}
    assert _verify(lowered).ok


def test_sdk_sign_request_skips_underscore_headers_and_flags_non_json() -> None:
    headers = {"Content-Type": "text/plain", "x_trace": "1", "X-Stage": "RELEASE"}
    added = sign_request(AK, SK, "POST", "http://127.0.0.1:8080/api/x?q=a+b", headers, "demo", now=NOW)
    assert added["X-Sdk-Content-Sha256"] == UNSIGNED_PAYLOAD
    _, _, signed, _ = parse_authorization(added["Authorization"])
    assert signed == ["content-type", "host", "x-sdk-content-sha256", "x-sdk-date", "x-stage"]
    full = {**headers, **added}
    assert verify_request("POST", "/api/x", "q=a+b", full, b"demo", _lookup, NOW).ok
    assert verify_request("POST", "/api/x", "q=a%2Bb", full, b"demo", _lookup, NOW).ok
    assert not verify_request("POST", "/api/x", "q=a%20b", full, b"demo", _lookup, NOW).ok
    empty = sign_request(AK, SK, "GET", "http://h/api/x", {"Content-Type": "text/plain"}, b"", now=NOW)
    assert "X-Sdk-Content-Sha256" not in empty


def test_sdk_missing_authorization() -> None:
    headers = _signed_headers()
    del headers["Authorization"]
    result = _verify(headers)
    assert (result.ok, result.error_msg, result.reason) == (False, MSG_NO_AUTHORIZATION, "no-authorization")
    assert _verify({**headers, "Authorization": "  "}).error_msg == MSG_NO_AUTHORIZATION


def test_sdk_unknown_ak() -> None:
    headers = _signed_headers()
    headers["Authorization"] = headers["Authorization"].replace(f"Access={AK}", "Access=AKNOBODY")
    result = _verify(headers)
    assert result.error_msg == msg_unknown_ak("AKNOBODY")
    assert result.error_msg == (
        "Incorrect IAM authentication information: Get secretKey failed,ak:AKNOBODY,err:ak not exist"
    )
    assert result.ak == "AKNOBODY" and result.reason == "unknown-ak"


@pytest.mark.parametrize("offset", [timedelta(minutes=15, seconds=1), -timedelta(minutes=16)])
def test_sdk_stale_date(offset: timedelta) -> None:
    result = _verify(_signed_headers(), now=NOW + offset)
    assert (result.ok, result.error_msg, result.reason) == (False, MSG_VERIFY_FAIL, "date-skew")
    assert "900" in result.detail
    assert _verify(_signed_headers(), now=NOW + timedelta(minutes=15)).ok


def test_sdk_date_missing_or_malformed() -> None:
    headers = _signed_headers()
    without = {k: v for k, v in headers.items() if k != "X-Sdk-Date"}
    assert (_verify(without).error_msg, _verify(without).reason) == (MSG_VERIFY_FAIL, "bad-date")
    malformed = {**headers, "X-Sdk-Date": "2025-01-01T12:00:00Z"}
    assert (_verify(malformed).error_msg, _verify(malformed).reason) == (MSG_VERIFY_FAIL, "bad-date")


def test_sdk_unsigned_date_is_rejected() -> None:
    headers = {"Content-Type": "application/json", "Host": "mkt.example.com", "X-Sdk-Date": "20250101T120000Z"}
    signed = ["content-type", "host"]
    creq = canonical_request("POST", PATH, "b=2&a=1", headers, signed, JSON_BODY)
    sig = sign_string(SK, string_to_sign(headers["X-Sdk-Date"], creq))
    headers["Authorization"] = authorization_value(AK, signed, sig)
    result = _verify(headers)
    assert (result.ok, result.error_msg, result.reason) == (False, MSG_VERIFY_FAIL, "bad-date")
    assert "SignedHeaders" in result.detail


def test_sdk_tampered_body() -> None:
    result = _verify(_signed_headers(), body=b'{"usage_records":[1]}')
    assert (result.ok, result.error_msg, result.reason) == (False, MSG_VERIFY_FAIL, "signature-mismatch")
    assert result.canonical_request is not None and "canonical request:" in result.detail
    assert "string to sign:" in result.detail


@pytest.mark.parametrize("algorithm", ["V11-HMAC-SHA256", "SDK-HMAC-SM3", "sdk-hmac-sha256"])
def test_sdk_wrong_algorithm(algorithm: str) -> None:
    headers = _signed_headers()
    headers["Authorization"] = headers["Authorization"].replace("SDK-HMAC-SHA256", algorithm)
    result = _verify(headers)
    assert (result.ok, result.error_msg, result.reason) == (False, MSG_VERIFY_FAIL, "bad-authorization-format")


def test_sdk_unparseable_authorization_and_missing_signed_header() -> None:
    headers = _signed_headers()
    result = _verify({**headers, "Authorization": "SDK-HMAC-SHA256 garbage"})
    assert (result.error_msg, result.reason) == (MSG_VERIFY_FAIL, "bad-authorization-format")
    extra = _signed_headers(**{"X-Stage": "RELEASE"})
    assert _verify(extra).ok
    del extra["X-Stage"]
    missing = _verify(extra)
    assert (missing.error_msg, missing.reason) == (MSG_VERIFY_FAIL, "signature-mismatch")
    assert "x-stage" in missing.detail


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "must look like"),
        ("SDK-HMAC-SHA256", "must look like"),
        ("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host", "'Signature' is missing"),
        ("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=", "'Signature' is missing"),
        ("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;;x, Signature=ab", "empty name"),
        ("SDK-HMAC-SHA256 Access=AK, Access=AK, SignedHeaders=host, Signature=ab", "appears twice"),
        ("SDK-HMAC-SHA256 Access=AK, Region=x, SignedHeaders=host, Signature=ab", "unknown Authorization parameter"),
        ("SDK-HMAC-SHA256 Access, SignedHeaders=host, Signature=ab", "has no '='"),
    ],
)
def test_parse_authorization_errors(value: str, fragment: str) -> None:
    with pytest.raises(AuthorizationFormatError, match=fragment) as info:
        parse_authorization(value)
    assert isinstance(info.value, ValueError)


def test_parse_authorization() -> None:
    value = "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-sdk-date, Signature=abc"
    assert parse_authorization(value) == ("SDK-HMAC-SHA256", "AK1", ["content-type", "host", "x-sdk-date"], "abc")


def test_canonical_uri_and_query() -> None:
    assert canonical_uri("/api/a b/c%2Fd") == "/api/a%20b/c/d/"
    assert canonical_uri("/api/x/") == "/api/x/"
    assert canonical_uri("/api/%E5%BC%A0~") == "/api/%E5%BC%A0~/"
    assert canonical_uri("") == "/"
    assert canonical_query("") == ""
    assert canonical_query("b=2&a=1&a=0") == "a=0&a=1&b=2"
    assert canonical_query("q=a+b&r=a%20b&s=%7E&flag") == "flag=&q=a%2Bb&r=a%20b&s=~"
    assert canonical_query("n=%E5%BC%A0&&m=") == "m=&n=%E5%BC%A0"


# -- interoperability with the official Huawei SDK signer ------------------------------------

@pytest.mark.parametrize(
    "method, host, path, query, headers, body",
    [
        (
            "GET",
            "mkt.myhuaweicloud.com",
            "/api/mkp-openapi-public/global/v1/order/query",
            [("orderLineId", "MOCKPERIODYEARNEW-000001"), ("orderId", "MOCKPERIODYEARNEW")],
            {"Content-Type": "application/json"},
            b"",
        ),
        (
            "GET",
            "127.0.0.1:8080",
            "/api/mkp-openapi-public/global/v1/order/query",
            [("orderId", "A B+C/ü~"), ("limit", 10), ("flag", True), ("tag", ["b", "a"])],
            {"Content-Type": "application/json", "x-stage": "RELEASE", "x_trace_id": "abc"},
            b"",
        ),
        (
            "POST",
            "mkt.myhuaweicloud.com",
            "/api/mkp-openapi-public/global/v1/isv/usage-data",
            [],
            {"Content-Type": "application/json;charset=UTF-8"},
            json.dumps({"usage_records": [{"instance_id": "inst-001", "usage_value": "1.5"}]}).encode(),
        ),
        (
            "POST",
            "mkt.myhuaweicloud.com",
            "/api/mkp-openapi-public/global/v1/license/activate/",
            [("orderId", "X")],
            {"Content-Type": "text/plain"},
            b"demo",
        ),
    ],
)
def test_official_sdk_signature_is_accepted(
    method: str, host: str, path: str, query: list[tuple[str, object]], headers: dict[str, str], body: bytes
) -> None:
    request = SdkRequest(
        method=method,
        schema="https",
        host=host,
        resource_path=path,
        query_params=copy.deepcopy(query),
        header_params=dict(headers),
        body=body,
    )
    signed = Signer(BasicCredentials(AK, SK)).sign(request)
    sent_path, _, raw_query = signed.uri.partition("?")
    assert sent_path == path
    result = verify_request(
        method, path, raw_query, dict(signed.header_params), body, _lookup, datetime.now(timezone.utc)
    )
    assert result.ok, result.detail
    assert result.ak == AK

    # our signer, given the SDK's date, produces the same Authorization
    sdk_date = signed.header_params["X-Sdk-Date"]
    ours = sign_request(AK, SK, method, f"https://{host}{signed.uri}", {**headers, "X-Sdk-Date": sdk_date}, body)
    assert ours["Authorization"] == signed.header_params["Authorization"]
    ours_headers = {**headers, "X-Sdk-Date": sdk_date, **ours}
    assert verify_request(method, path, raw_query, ours_headers, body, _lookup, datetime.now(timezone.utc)).ok


# -- AES ------------------------------------------------------------------------------------


def test_encrypt_type_bits() -> None:
    assert [encrypt_type_bits(v) for v in ("1", "2", None, "3", "")] == [256, 128, 256, 128, 128]


@pytest.mark.parametrize("bits", [128, 256])
@pytest.mark.parametrize("plaintext", ["", "admin", "buyer@example.com", "张三-密码-0123456789abcdef"])
def test_aes_roundtrip(bits: int, plaintext: str) -> None:
    token = aes_cbc_encrypt(KEY, plaintext, bits)
    assert token[:16].isascii() and token[:16].isalnum()
    assert aes_cbc_decrypt(KEY, token, bits) == plaintext
    assert aes_cbc_encrypt(KEY, plaintext, bits) != token  # random IV


@pytest.mark.parametrize(
    "token, fragment",
    [
        ("", "too short"),
        ("AbCdEf0123456789", "too short"),
        ("AbCdEf0123456789not*base64", "not valid standard Base64"),
        ("AbCdEf0123456789QUJD", "multiple of the 16-byte"),
        ("AbCdEf012345678\u00e9QUJDREVGR0hJSktMTU5PUA==", "16 ASCII characters"),
    ],
)
def test_aes_decrypt_bad_tokens(token: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        aes_cbc_decrypt(KEY, token)


def test_aes_decrypt_wrong_key() -> None:
    token = aes_cbc_encrypt(KEY, "admin@Pass123", 256, "AbCdEf0123456789")
    with pytest.raises(ValueError, match="wrong key"):
        aes_cbc_decrypt("another-key", token)
    with pytest.raises(ValueError):
        aes_cbc_encrypt(KEY, "x", 256, "short-iv")
    with pytest.raises(ValueError):
        aes_cbc_encrypt(KEY, "x", 100)


# -- RSA --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_forms(key: rsa.RSAPrivateKey) -> dict[str, str]:
    pub = key.public_key()
    spki_der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pkcs1_der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return {
        "pem-spki": pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        "pem-pkcs1": pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode(),
        "der-spki-b64": base64.b64encode(spki_der).decode(),
        "der-pkcs1-b64": base64.b64encode(pkcs1_der).decode(),
    }


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize("padding", RSA_PADDINGS)
def test_rsa_roundtrip(rsa_key: rsa.RSAPrivateKey, padding: str) -> None:
    secret = "client-secret-ü-0123456789"
    for form, public in _public_forms(rsa_key).items():
        token = rsa_encrypt_client_secret(public, secret, padding)
        assert len(base64.b64decode(token)) == 256, form
        assert rsa_decrypt_client_secret(_private_pem(rsa_key), token, padding) == secret, form
    other = [p for p in RSA_PADDINGS if p != padding][0]
    token = rsa_encrypt_client_secret(_public_forms(rsa_key)["pem-spki"], secret, padding)
    # The wrong padding never yields the secret. PKCS#1 v1.5 decryption may answer random bytes
    # instead of failing (OpenSSL's implicit rejection against padding oracles), so either is fine.
    try:
        recovered = rsa_decrypt_client_secret(_private_pem(rsa_key), token, other)
    except ValueError:
        recovered = None
    assert recovered != secret


def test_rsa_rejects_bad_input(rsa_key: rsa.RSAPrivateKey) -> None:
    public = _public_forms(rsa_key)["pem-spki"]
    with pytest.raises(ValueError, match="at most 245"):
        rsa_encrypt_client_secret(public, "x" * 246)
    assert rsa_encrypt_client_secret(public, "x" * 245)
    with pytest.raises(ValueError, match="at most 190"):
        rsa_encrypt_client_secret(public, "x" * 191, "oaep-sha256")
    with pytest.raises(ValueError, match="unknown RSA padding"):
        rsa_encrypt_client_secret(public, "x", "oaep-md5")
    with pytest.raises(ValueError, match="cannot load"):
        rsa_encrypt_client_secret("not a key", "x")
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="not RSA"):
        rsa_encrypt_client_secret(ec_public.decode(), "x")
    small = rsa.RSAPublicNumbers(65537, (1 << 511) | 0x1F).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="at least 1024"):
        rsa_encrypt_client_secret(small.decode(), "x")


# -- result codes ----------------------------------------------------------------------------


def test_result_codes() -> None:
    assert codes.SUCCESS == "000000" and codes.PROCESSING == "000004"
    assert codes.is_known("000101") and not codes.is_known("000006") and not codes.is_known(0)
    assert codes.RESULT_CODES[codes.SUCCESS].sample_message == "success."
    assert set(codes.RESULT_CODES) == {"000000", "000001", "000002", "000003", "000004", "000005", "000100", "000101"}
