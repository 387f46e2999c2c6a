"""Result codes a merchant returns to the marketplace (PROTOCOL §8)."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "AUTH_FAILED",
    "CLIENT_SECRET_ERROR",
    "INSTANCE_NOT_FOUND",
    "INTERNAL_ERROR",
    "INVALID_PARAM",
    "NO_RESOURCE",
    "PROCESSING",
    "RESULT_CODES",
    "ResultCode",
    "SUCCESS",
    "is_known",
]

SUCCESS = "000000"
AUTH_FAILED = "000001"
INVALID_PARAM = "000002"
INSTANCE_NOT_FOUND = "000003"
PROCESSING = "000004"
INTERNAL_ERROR = "000005"
NO_RESOURCE = "000100"
CLIENT_SECRET_ERROR = "000101"


@dataclass(frozen=True)
class ResultCode:
    code: str
    meaning: str
    sample_message: str


RESULT_CODES = MappingProxyType(
    {
        rc.code: rc
        for rc in (
            ResultCode(SUCCESS, "Success", "success."),
            ResultCode(AUTH_FAILED, "Authentication failed (bad or missing signature)", "token is invalid"),
            ResultCode(
                INVALID_PARAM,
                "Invalid request parameter (also a missing or stale timestamp or nonce)",
                "param is invalid",
            ),
            ResultCode(
                INSTANCE_NOT_FOUND,
                "Instance ID does not exist (License family: authorization-code ID does not exist)",
                "instance is invalid",
            ),
            ResultCode(PROCESSING, "Request is being processed", "request is processing"),
            ResultCode(INTERNAL_ERROR, "Other internal error", "other inner error"),
            ResultCode(NO_RESOURCE, "No instance resource available for allocation", "no available resource"),
            ResultCode(
                CLIENT_SECRET_ERROR,
                "clientSecret could not be decrypted (applicationSync)",
                "something wrong with appSecret",
            ),
        )
    }
)


def is_known(code: object) -> bool:
    """True when ``code`` is one of the documented merchant result codes."""
    return isinstance(code, str) and code in RESULT_CODES
