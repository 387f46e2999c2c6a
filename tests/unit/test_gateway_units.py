"""The gateway's pure parts: the §14.1 JWT (the spec's example), the usage check of JSON and event
streams, and the URLs a buyer's path can reach."""

from __future__ import annotations

import re
from pathlib import Path

import jwt as pyjwt
import pytest

from emulator.gateway.jwt import agents_jwt
from emulator.gateway.targets import BadPath, backend_url_reason, target_url
from emulator.gateway.usage import SseEvents, check_json_body
from emulator.marketplace.targets import OwnAddress

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _spec_example() -> str:
    """The example JWT printed in §14.1 of the protocol (the exact string)."""
    section = PROTOCOL.read_text(encoding="utf-8").split("### §14.1", 1)[1].split("### §14.2", 1)[0]
    return re.search(r"`(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`", section).group(1)  # type: ignore[union-attr]


def test_the_jwt_of_the_spec_example() -> None:
    token = agents_jwt("d44cd9aa-e48e-be17-27f4-5ef3474797a1", "SKEXAMPLE", 1700000000000)
    assert token == _spec_example()


def test_an_independent_library_accepts_the_jwt() -> None:
    token = agents_jwt("ak-1", "a-secret-key-of-thirty-two-bytes!", 1700000000000, exp_claim=True)
    assert pyjwt.get_unverified_header(token) == {"alg": "HS256", "sign_type": "SIGN"}
    claims = pyjwt.decode(token, "a-secret-key-of-thirty-two-bytes!", algorithms=["HS256"],
                          options={"verify_exp": False})
    assert claims == {"api_key": "ak-1", "timestamp": 1700000000000, "exp": 1700000300}
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(token, "another-secret-key-of-32-bytes!!", algorithms=["HS256"], options={"verify_exp": False})


@pytest.mark.parametrize("body, failure", [
    (b'{"data":"x","usage":{"completion_tokens":1,"prompt_tokens":2,"total_tokens":3}}', None),
    (b'{"data":"x"}', "no top-level usage"),
    (b'{"usage":[1]}', "not an object"),
    (b'{"usage":{"completion_tokens":1,"prompt_tokens":2}}', "usage.total_tokens is missing"),
    (b'{"usage":{"completion_tokens":1.5,"prompt_tokens":2,"total_tokens":3}}', "not an integer"),
    (b'{"usage":{"completion_tokens":true,"prompt_tokens":2,"total_tokens":3}}', "not an integer"),
    (b'{"usage":{"completion_tokens":-1,"prompt_tokens":2,"total_tokens":3}}', "negative"),
    (b'{"data":{"usage":{"completion_tokens":1,"prompt_tokens":2,"total_tokens":3}}}', "no top-level usage"),
    (b"[1]", "not a JSON object"),
    (b"not json", "not JSON"),
])
def test_json_usage(body: bytes, failure: str | None) -> None:
    check = check_json_body(body)
    if failure is None:
        assert check.failures == [] and check.tokens is not None and check.tokens.total == 3
    else:
        assert check.tokens is None and failure in " ".join(check.failures)


def test_the_usage_of_a_stream_is_in_its_last_event_whatever_the_chunks() -> None:
    stream = (b": comment\r\n\r\nevent: delta\r\ndata: {\"data\":\"a\"}\r\n\r\n"
              b'data: {"data":"",\ndata: "usage":{"completion_tokens":1,"prompt_tokens":2,"total_tokens":3}}\n\n'
              b"data: [DONE]")
    for size in (1, 3, 7, len(stream)):
        events = SseEvents()
        for at in range(0, len(stream), size):
            events.feed(stream[at:at + size])
        events.close()
        check = events.check()
        assert events.count == 3 and check.failures == [] and check.tokens is not None, size


def test_usage_in_an_earlier_event_only_does_not_count() -> None:
    events = SseEvents()
    events.feed(b'data: {"usage":{"completion_tokens":1,"prompt_tokens":2,"total_tokens":3}}\n\ndata: {"x":1}\n\n')
    events.close()
    assert "last event" in events.check().failures[0]
    assert "no data event" in SseEvents().check().failures[0]


@pytest.mark.parametrize("tail, query, url", [
    ("", "", "http://b.example/base"),
    ("v1/chat", "a=1&b=%20", "http://b.example/base/v1/chat?a=1&b=%20"),
    ("a%20b/c:d", "", "http://b.example/base/a%20b/c:d"),
])
def test_the_buyer_path_goes_below_the_backend_url(tail: str, query: str, url: str) -> None:
    assert target_url("http://b.example/base/", tail, query) == url


@pytest.mark.parametrize("tail", ["..", "a/%2e%2E/b", "a//b", "/abs", "a%2fb", "a%5cb", "%00", "."])
def test_paths_that_could_leave_the_backend_url_are_refused(tail: str) -> None:
    with pytest.raises(BadPath):
        target_url("http://b.example/base", tail, "")


def test_backend_urls() -> None:
    own = OwnAddress(frozenset({"127.0.0.1", "localhost"}), 8080)
    assert backend_url_reason("https://agents.example.com/v1", own) is None
    assert backend_url_reason("http://127.0.0.1:8080/api/demo-agents", own) is None
    assert "this emulator itself" in (backend_url_reason("http://localhost:8080/sandbox/api/v1", own) or "")
    assert "this emulator itself" in (backend_url_reason("http://127.0.0.1:8080/api/gateway/p", own) or "")
    for bad in ("ftp://x.example", "http:///nohost", "http://u:p@x.example", "http://x.example/?q=1", "x.example"):
        assert backend_url_reason(bad, own), bad
