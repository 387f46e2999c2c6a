"""Named scenarios: scripted lifecycles run against the merchant's interface, with a pass/fail report.

A scenario is a JSON file in the ``scenarios/`` folder of the fixtures (``settings.fixtures_dir``: the
repository's ``fixtures/scenarios/``, installed as package data ``emulator/_fixtures/scenarios/``;
``KOOGALLERY_FIXTURES_DIR`` points elsewhere): a name, a description and steps. Each step is
one action (``buy``, ``renew``, ``convert``, ``upgrade``, ``unsubscribe``, ``freeze``, ``unfreeze``,
``release``, ``advance``) or one check (``expect`` a delivery outcome, ``expect_state`` of an
instance). ``"as": "name"`` keeps an order for later steps, which refer to it as ``"$name"``.
The runner uses the service layer, so the control API, the CLI and the console all run the same code.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .control.views import iso
from .delivery.service import OUTCOMES, DeliveryFilter
from .marketplace.errors import DomainError, InvalidInput, NotFound
from .marketplace.inputs import ConvertInput, OrderInput, RenewInput, UpgradeInput

if TYPE_CHECKING:
    from .services import Services

ORDER_ACTIONS = {"renew": RenewInput, "convert": ConvertInput, "upgrade": UpgradeInput}
PLAIN_ACTIONS = ("unsubscribe", "freeze", "unfreeze", "release")


@dataclass
class StepResult:
    index: int
    step: str
    passed: bool
    detail: str


@dataclass
class Report:
    scenario: str
    description: str
    passed: bool = True
    clock_from: Optional[str] = None
    clock_to: Optional[str] = None
    steps: list[StepResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SCENARIO_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _advances(steps: list[dict[str, Any]]) -> str:
    """How far a scenario moves the shared clock in all ("" when it does not)."""
    total = timedelta()
    for step in steps:
        try:
            total += timedelta(**step.get("advance", {}))
        except (TypeError, ValueError, OverflowError):
            continue
    if not total:
        return ""
    days, hours, minutes = total.days, total.seconds // 3600, total.seconds % 3600 // 60
    parts = [f"{days} days" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return "by " + " ".join(part for part in parts if part)


class Scenarios:
    def __init__(self, services: "Services", directory: Path) -> None:
        self.services = services
        self.directory = directory

    def names(self) -> list[dict[str, str]]:
        found = []
        for path in sorted(self.directory.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            found.append({"name": path.stem, "description": data.get("description", ""),
                          "advances": _advances(data.get("steps", []))})
        return found

    def load(self, name: str) -> dict[str, Any]:
        path = self.directory / f"{name}.json"
        if not SCENARIO_NAME.fullmatch(name) or not path.is_file():
            raise NotFound(f"scenario {name!r} does not exist (see GET /sandbox/api/v1/scenarios)", field="name")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"scenario {name!r} is not valid JSON: {exc}", field="name") from None

    async def run(self, name: str) -> Report:
        spec = self.load(name)
        report = Report(name, spec.get("description", ""), clock_from=iso(self.services.clock.now()))
        orders: dict[str, str] = {}
        steps = spec.get("steps", [])
        for index, step in enumerate(steps, start=1):
            kind = next((k for k in step if k != "as"), "?")
            self.services.events.publish("progress", f"{name}: step {index} of {len(steps)} ({kind})")
            result = await self._step(index, step, orders)
            report.steps.append(result)
            if not result.passed:
                report.passed = False
                break
        report.clock_to = iso(self.services.clock.now())
        return report

    async def _step(self, index: int, step: dict[str, Any], orders: dict[str, str]) -> StepResult:
        kind = next((k for k in step if k != "as"), "?")
        args = dict(step.get(kind) or {})
        label = f"{kind} {json.dumps(args, ensure_ascii=False)}"
        try:
            detail = await self._perform(kind, args, step.get("as"), orders)
        except (DomainError, AssertionError, ValueError) as exc:
            return StepResult(index, label, False, getattr(exc, "message", None) or str(exc))
        return StepResult(index, label, True, detail)

    async def _perform(self, kind: str, args: dict[str, Any], name: Optional[str], orders: dict[str, str]) -> str:
        services = self.services
        if kind == "buy":
            order = (await services.orders.create(OrderInput(**args))).order
            await services.settle()
            if name:
                orders[name] = order.id
            return f"order {order.id}"
        if kind == "advance":
            moment = await services.advance(timedelta(**args))
            return f"clock at {iso(moment)}"
        order_id = self._order(args.pop("order", None), orders)
        if kind in ORDER_ACTIONS:
            result = await getattr(services.orders, "convert_trial" if kind == "convert" else kind)(
                order_id, ORDER_ACTIONS[kind](**args))
            await services.settle()
            if name:
                orders[name] = result.id
            return f"order {result.id}"
        if kind in PLAIN_ACTIONS:
            result = await getattr(services.orders, kind)(order_id)
            await services.settle()
            if name and kind == "unsubscribe":
                orders[name] = result.id
            return "done"
        if kind == "expect":
            return await self._expect(order_id, args)
        if kind == "expect_state":
            order, _lines = await services.orders.get(order_id)
            instance, _product = await services.orders.instance(order.instance_key or "")
            assert instance.state == args["state"], \
                f"instance {instance.key} is {instance.state}, expected {args['state']}"
            return f"instance {instance.key} is {instance.state}"
        raise ValueError(f"unknown step {kind!r}")

    async def _expect(self, order_id: str, args: dict[str, Any]) -> str:
        await self.services.settle()
        outcome = args.get("outcome", "succeeded")
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        wanted = args.get("params", {})
        found = await self.services.deliveries.list(DeliveryFilter(order_id=order_id, activity=args["activity"]))
        matching = [d for d in found if all(d.params.get(k) == v for k, v in wanted.items())]
        good = [d for d in matching if d.status in OUTCOMES[outcome]]
        if good:
            return f"delivery {good[0].id} {good[0].activity} {good[0].status}"
        seen = "; ".join(f"#{d.id} {d.activity} {d.status}: {d.last_verdict or '—'}" for d in matching) or "none"
        raise AssertionError(f"no {args['activity']} {wanted or ''} delivery {outcome} for {order_id} (seen: {seen})")

    @staticmethod
    def _order(ref: Optional[str], orders: dict[str, str]) -> str:
        if not ref:
            raise ValueError("this step needs an order: give \"order\": \"$name\"")
        if ref.startswith("$"):
            if ref[1:] not in orders:
                raise ValueError(f"no order named {ref[1:]!r} yet")
            return orders[ref[1:]]
        return ref
