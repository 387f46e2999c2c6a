"""Validated inputs of the kit service: an enterprise, its departments and its users."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from ..jsonbody import StrictInput
from ..oauth.service import DEFAULT_PASSWORD

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DEFAULT_DEPARTMENT = "00000001"  # the one department of an enterprise bound without departments


class DepartmentInput(StrictInput):
    org_code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=128)
    parent_code: Optional[str] = Field(default=None, pattern=CODE)


class DepartmentPatch(StrictInput):
    name: Optional[str] = Field(default=None, min_length=1, max_length=128)
    parent_code: Optional[str] = Field(default=None, pattern=CODE)


class MemberPatch(StrictInput):
    name: Optional[str] = Field(default=None, min_length=1, max_length=64)
    org_code: Optional[str] = Field(default=None, pattern=CODE)
    role: Optional[Literal["user", "admin"]] = None
    enable: Optional[bool] = None
    position: Optional[str] = Field(default=None, max_length=64)
    employee_code: Optional[str] = Field(default=None, max_length=64)
    employee_type: Optional[str] = Field(default=None, pattern=r"^[0-9]{1,2}$")
    email: Optional[str] = Field(default=None, max_length=128)
    mobile: Optional[str] = Field(default=None, max_length=32)
    granted: Optional[bool] = Field(default=None, description="may use the app: authSync add / cancel authorization")


class MemberInput(MemberPatch):
    user_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    name: str = Field(min_length=1, max_length=64)
    org_code: str = Field(pattern=CODE)
    role: Literal["user", "admin"] = "user"
    enable: bool = True
    password: str = Field(default=DEFAULT_PASSWORD, min_length=1, max_length=128)
    granted: bool = True


class BindInput(StrictInput):
    """A buyer binds the app of an order to an enterprise; every list may be left out."""

    order_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255, description="the enterprise's name")
    client_id: Optional[str] = Field(default=None, min_length=1, max_length=64,
                                     description="the unified-login application; the merchant's only one by default")
    tenant_id: Optional[str] = Field(default=None, pattern=r"^[A-Za-z0-9]{1,64}$")
    tenant_code: Optional[str] = Field(default=None, pattern=CODE)
    departments: list[DepartmentInput] = Field(default_factory=list, max_length=1000)
    users: list[MemberInput] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> "BindInput":
        check_tree([(d.org_code, d.parent_code) for d in self.departments], "departments")
        codes = {d.org_code for d in self.departments} or {DEFAULT_DEPARTMENT}
        names: set[str] = set()
        for index, user in enumerate(self.users):
            if user.org_code not in codes:
                known = "one of the departments" if self.departments else f"the default department {DEFAULT_DEPARTMENT}"
                raise ValueError(f"users[{index}].org_code {user.org_code!r} is not {known}")
            if user.user_name in names:
                raise ValueError(f"users[{index}].user_name {user.user_name!r} is given twice")
            names.add(user.user_name)
        return self


class CredentialFlowInput(StrictInput):
    client_id: str = Field(min_length=1, max_length=64)


class ResendInput(StrictInput):
    step: Literal["tenantSync", "applicationSync", "allOrgSync", "authSync"]


def check_tree(nodes: list[tuple[str, Optional[str]]], where: str) -> None:
    """Codes are unique, every parent exists, and no department is its own ancestor."""
    parents: dict[str, Optional[str]] = {}
    for index, (code, parent) in enumerate(nodes):
        if code in parents:
            raise ValueError(f"{where}[{index}].org_code {code!r} is given twice")
        parents[code] = parent
    for index, (code, parent) in enumerate(nodes):
        if parent is not None and parent not in parents:
            raise ValueError(f"{where}[{index}].parent_code {parent!r} is not one of the departments")
        seen, current = {code}, parent
        while current is not None:
            if current in seen:
                raise ValueError(f"{where}[{index}].parent_code makes a cycle through {current!r}")
            seen.add(current)
            current = parents.get(current)
