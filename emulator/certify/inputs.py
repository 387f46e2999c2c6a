"""What a certification run is given (the command line, the control API and the console share it)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator

from ..jsonbody import StrictInput
from ..marketplace.inputs import FAMILIES
from ..oauth.service import checked_public_key


class CertifyInput(StrictInput):
    merchant_url: str = Field(max_length=1024, description="the merchant's production interface URL")
    key: str = Field(min_length=1, max_length=256, description="the access key the requests are signed with")
    family: Literal[FAMILIES] = "saas_v2_slim"  # type: ignore[valid-type]
    kit_key: Optional[str] = Field(default=None, min_length=1, max_length=256)
    signature_hex_case: Literal["upper", "lower"] = "upper"
    public_key: Optional[str] = Field(default=None, max_length=8192,
                                      description="RSA public key of the login application (kit syncs)")
    client_id: Optional[str] = Field(default=None, min_length=1, max_length=64,
                                     description="unified-login application of the web app (login checks)")
    login_start: Optional[str] = Field(default=None, max_length=1024,
                                       description="URL of the web app that starts its login (login checks)")
    login_user: Optional[str] = Field(default=None, min_length=1, max_length=64,
                                      description="test user of the application (default: its first)")

    _public_key = field_validator("public_key")(checked_public_key)

    @field_validator("merchant_url", "login_start")
    @classmethod
    def _http(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value
