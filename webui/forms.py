"""Form handling: parse a posted form into a service-layer input and collect field errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Optional, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from emulator.formbody import read_post
from emulator.jsonbody import BadJson, decode_json
from emulator.marketplace.errors import DomainError

from .security import CSRF_FIELD

Model = TypeVar("Model", bound=BaseModel)
T = TypeVar("T")


@dataclass
class FormState:
    """What a form shows: the values typed, an error per field, and a message for the whole form."""

    name: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: Optional[str] = None

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message)

    def from_domain(self, exc: DomainError) -> "FormState":
        if exc.field and exc.field in self.values:
            self.errors[exc.field] = exc.message
        else:
            self.message = exc.message
        return self


async def read_form(request: web.Request, booleans: Iterable[str] = (), json_fields: Iterable[str] = (),
                    name: str = "") -> tuple[dict[str, Any], FormState]:
    """The posted fields without blanks, booleans from checkboxes, JSON fields decoded."""
    posted = await read_post(request)
    raw = {k: str(v).strip() for k, v in posted.items() if k != CSRF_FIELD and k != "form"}
    state = FormState(name=name, values=dict(raw))
    data: dict[str, Any] = {k: v for k, v in raw.items() if v != ""}
    for flag in booleans:
        data[flag] = flag in raw and raw[flag] not in ("", "0", "false", "off")
        state.values[flag] = data[flag]
    for name_ in json_fields:
        if name_ in data:
            try:
                data[name_] = decode_json(data[name_])
            except BadJson as exc:
                state.errors[name_] = str(exc)
    return data, state


def validate(model: type[Model], data: dict[str, Any], state: FormState) -> Optional[Model]:
    if state.errors:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for item in exc.errors():
            loc = [str(p) for p in item["loc"] if p != "[key]"]
            key = loc[0] if loc else "_form"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "missing":
                message = "is required"
            detail = ".".join(loc[1:])
            text = f"{detail}: {message}" if detail else message
            if key == "_form":
                state.message = text
            else:
                state.errors.setdefault(key, text)
        return None


async def submit(model: type[Model], data: dict[str, Any], state: FormState,
                 action: Callable[[Model], Awaitable[T]]) -> Optional[T]:
    """Validate, then call the service; on any refusal the errors land in ``state`` and None returns."""
    parsed = validate(model, data, state)
    if parsed is None:
        return None
    try:
        return await action(parsed)
    except DomainError as exc:
        state.from_domain(exc)
        return None
