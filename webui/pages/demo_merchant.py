"""Demo merchant: the built-in demo merchant's behaviour and the calls it received.

The form changes the behaviour through the same model and rules as ``PUT /demo-merchant/_behaviour``
(:meth:`Behaviour.updated`, strict): the only difference is that the form's strings for numbers and
booleans are converted here first, and a string that is not one is handed over as it is, so that the
model refuses it naming the field.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from aiohttp import web
from multidict import MultiDictProxy

from emulator.control.keys import DEMO_STUB, SETTINGS
from emulator.formbody import read_post
from emulator.testing.merchant_stub import (ACTIVITIES, FAILURE_MODES, BadBehaviour, Behaviour, MerchantStub,
                                            ReceivedCall)

from ..forms import FormState
from ..security import CSRF_FIELD, redirect
from .common import render, services

PATH = "/demo"
SHOWN_CALLS = 50
INTEGERS = ("fail_next", "not_ready_polls")
DECIMALS = ("delay_s", "hang_s")
BOOLEANS = ("reject_signatures", "refuse_changes")
LISTS = ("fail_activities",)
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_TRUE, _FALSE = ("1", "on", "true"), ("0", "off", "false")

FAILURES = {
    "http_500": "HTTP 500 with a JSON error body",
    "result_code": "HTTP 200, resultCode 000005 (other inner error)",
    "processing": "HTTP 200, resultCode 000004 (request is processing)",
    "timeout": "no answer for the hang time, then a late 000000",
    "bad_json": "HTTP 200 with an HTML body instead of JSON",
    "no_instance_id": "HTTP 200, resultCode 000000 without an instanceId",
}
ACTIVITY_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SaaS 2.0 slim (§4)", ("newInstance", "queryInstance", "refreshInstance", "updateInstanceStatus",
                           "releaseInstance", "upgradeInstance", "changeInstanceCheck")),
    ("SaaS 2.0 joint operation (§5; also newInstance, refreshInstance, releaseInstance)",
     ("expireInstance", "upgrade")),
    ("License 2.0 (§6)", ("getLicense", "refreshLicense", "expireLicense", "changeLicenseStatus", "releaseLicense",
                          "upgradeLicense", "getLicenseAsync")),
    ("Kit syncs (§5)", ("tenantSync", "applicationSync", "allOrgSync", "authSync", "singleOrgSync")),
)


def activity_groups() -> list[tuple[str, tuple[str, ...]]]:
    """The groups of the form's checkboxes; an activity the model knows and no group names comes last."""
    grouped = {name for _title, names in ACTIVITY_GROUPS for name in names}
    others = tuple(name for name in ACTIVITIES if name not in grouped)
    return [*ACTIVITY_GROUPS, *((("Other", others),) if others else ())]


def failure_modes() -> list[tuple[str, str]]:
    """Each failure mode the model knows and its one-line explanation."""
    return [(mode, FAILURES.get(mode, "")) for mode in FAILURE_MODES]


# -- reading the form ---------------------------------------------------------------------------
def _integer(text: str) -> Any:
    return int(text) if _INTEGER.fullmatch(text) else text


def _decimal(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _boolean(posted: MultiDictProxy, name: str) -> Any:  # type: ignore[type-arg]
    """A checkbox: absent is false, its own value true; anything else is left for the model to refuse."""
    if name not in posted:
        return False
    text = str(posted[name]).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else str(posted[name])


def _scalar(name: str, text: str) -> Any:
    """A posted text converted to the type the model wants; a blank number is the model's default."""
    if name in INTEGERS or name in DECIMALS:
        if text == "":
            return Behaviour.model_fields[name].get_default()
        return _integer(text) if name in INTEGERS else _decimal(text)
    return text


def form_changes(posted: MultiDictProxy) -> tuple[dict[str, Any], FormState]:  # type: ignore[type-arg]
    """The changes a posted form asks for (every posted field, unknown ones included, so that the
    model refuses them), and the form state that shows them again."""
    names = [name for name in dict.fromkeys(posted.keys()) if name not in (CSRF_FIELD, "form")]
    changes: dict[str, Any] = {}
    for name in names:
        if name not in BOOLEANS and name not in LISTS:
            changes[name] = _scalar(name, str(posted[name]).strip())
    for name in BOOLEANS:
        changes[name] = _boolean(posted, name)
    for name in LISTS:
        changes[name] = [str(value).strip() for value in posted.getall(name, [])]
    values = {name: str(posted[name]).strip() for name in names if name not in LISTS}
    values.update({name: changes[name] is True for name in BOOLEANS})
    values.update({name: changes[name] for name in LISTS})
    return changes, FormState(name="behaviour", values=values)


def mark_errors(state: FormState, exc: BadBehaviour) -> FormState:
    """Each refused field marked on the form; a field the form does not have becomes the form's message."""
    for path, message in exc.errors.items():
        name = path.split(".")[0]
        text = message if path == name else f"{path}: {message}"
        if name in Behaviour.model_fields:
            state.errors.setdefault(name, text)
        else:
            state.message = f"{path}: {message}"
    return state


# -- presenting ----------------------------------------------------------------------------------
def describe(behaviour: Behaviour) -> list[str]:
    """The behaviour in plain words, one sentence per effect; empty when the stub answers normally."""
    lines = []
    if behaviour.fail_next:
        calls = "call" if behaviour.fail_next == 1 else f"{behaviour.fail_next} calls"
        which = f" ({', '.join(behaviour.fail_activities)})" if behaviour.fail_activities else ""
        about = f" about instance {behaviour.fail_instance}" if behaviour.fail_instance else ""
        lines.append(f"Fails the next {calls}{which}{about} with {behaviour.failure}.")
    if behaviour.delay_s:
        lines.append(f"Waits {behaviour.delay_s:g} s before every answer.")
    if behaviour.reject_signatures:
        lines.append("Rejects every signature (000001).")
    if behaviour.refuse_changes:
        lines.append("Refuses spec changes (changeInstanceCheck 000100).")
    if behaviour.not_ready_polls:
        lines.append(f"Reports instances as not ready to the next {behaviour.not_ready_polls} queryInstance polls.")
    return lines


def _result_code(reply: str) -> Optional[str]:
    try:
        answer = json.loads(reply)
    except ValueError:
        return None
    code = answer.get("resultCode") if isinstance(answer, dict) else None
    return code if isinstance(code, str) else None


def call_view(call: ReceivedCall) -> dict[str, Any]:
    return {"at": call.at, "activity": call.activity, "signature_ok": call.signature_ok,
            "reply_status": call.reply_status, "result_code": _result_code(call.reply), "problem": call.problem}


def behaviour_facts(behaviour: Behaviour) -> dict[str, str]:
    """Each member as ``GET /demo-merchant/_behaviour`` shows it (JSON)."""
    return {name: json.dumps(value) for name, value in behaviour.model_dump().items()}


def behaviour_values(behaviour: Behaviour) -> dict[str, Any]:
    values = behaviour.model_dump()
    values.update({name: f"{values[name]:g}" for name in DECIMALS})
    values["fail_instance"] = values["fail_instance"] or ""
    return values


def absence_reason(request: web.Request) -> str:
    settings = request.app[SETTINGS]
    if settings.merchant_url:
        return (f"This emulator was started with an external merchant URL ({settings.merchant_url}), so the "
                "built-in demo merchant does not run here: make your own service misbehave instead.")
    return "This emulator was started with the built-in demo merchant turned off (demo_merchant = false)."


# -- the handlers --------------------------------------------------------------------------------
def _stub(request: web.Request) -> Optional[MerchantStub]:
    return request.app[DEMO_STUB]


def _running_stub(request: web.Request) -> MerchantStub:
    stub = _stub(request)
    if stub is None:
        raise web.HTTPConflict(text=absence_reason(request))
    return stub


async def _page(request: web.Request, form: Optional[FormState] = None, status: int = 200) -> web.Response:
    stub = _stub(request)
    context: dict[str, Any] = {"stub": stub is not None, "absent": "", "form": form}
    if stub is None:
        context["absent"] = absence_reason(request)
    else:
        context.update({
            "url": services(request).demo_merchant_url,
            "behaviour": behaviour_facts(stub.behaviour), "effects": describe(stub.behaviour),
            "form": form or FormState(name="behaviour", values=behaviour_values(stub.behaviour)),
            "failures": failure_modes(), "groups": activity_groups(),
            "calls": [call_view(call) for call in reversed(stub.received[-SHOWN_CALLS:])],
            "received": len(stub.received), "shown_calls": SHOWN_CALLS,
        })
    return render("demo_merchant.html", request, context, status)


async def demo_page(request: web.Request) -> web.Response:
    return await _page(request)


async def set_behaviour(request: web.Request) -> web.Response:
    stub = _running_stub(request)
    changes, form = form_changes(await read_post(request))
    try:
        stub.behaviour = stub.behaviour.updated(changes)
    except BadBehaviour as exc:
        return await _page(request, mark_errors(form, exc), 400)
    effects = " ".join(describe(stub.behaviour)) or "The demo merchant answers normally."
    raise redirect(PATH, f"Behaviour saved. {effects}")


async def back_to_normal(request: web.Request) -> web.Response:
    _running_stub(request).behaviour = Behaviour()
    raise redirect(PATH, "Back to normal: the demo merchant answers every call normally again.")


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, demo_page)
    app.router.add_post(PATH, set_behaviour)
    app.router.add_post(PATH + "/normal", back_to_normal)
