"""The registration of a product's backend (control API, console, demo catalogue)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from ..jsonbody import StrictInput

KINDS = ("agents", "api")
METHODS = ("GET", "POST", "ANY")
AUTH_MODES = ("aksk", "own")


class BackendInput(StrictInput):
    kind: Literal[KINDS]  # type: ignore[valid-type]
    backend_url: str = Field(min_length=1, max_length=1024)
    http_method: Literal[METHODS] = "POST"  # type: ignore[valid-type]
    auth_mode: Literal[AUTH_MODES] = "aksk"  # type: ignore[valid-type]
    access_key: Optional[str] = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    secret_key: Optional[str] = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _consistent(self) -> "BackendInput":
        if self.kind == "agents" and self.http_method == "ANY":
            raise ValueError("http_method: an Agents backend answers GET or POST (§14.1)")
        if self.auth_mode == "own" and (self.access_key or self.secret_key):
            raise ValueError("access_key: only the aksk auth_mode has an AK/SK")
        return self
