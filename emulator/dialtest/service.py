"""Dial tests: saved debugging cases replayed twice a day on the emulator clock (PROTOCOL §11).

A run is identified by (product, slot instant, trigger) and claimed with a unique row before anything
is sent, so two processes on one store never both run a slot, and a restart resumes a claimed run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional, Sequence
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select

from ..clock import Clock
from ..delivery.dispatcher import Dispatcher
from ..protocol.outbound import signed_request
from ..marketplace.catalogue import get_merchant, get_product
from ..marketplace.errors import Conflict, InvalidInput, NotFound
from ..settings import Settings
from ..store import Store
from ..store.tables import DebugCase, Delivery, DialCaseResult, DialCursor, DialRun, Merchant, Notification, Product
from . import messages
from .cases import CASE_ORDER, activity_of, cases_of, preset, required_cases, with_run_values
from .slots import day_start, last_slot_of_day, local_day, local_time, next_slot
from .streak import day_verdicts, failing_streak

log = logging.getLogger(__name__)

"""The ``reason`` shown on a passing scheduled run while its day is undecided (§11.6)."""


@dataclass(frozen=True)
class CaseOutcome:
    case: str
    activity: str
    delivery_id: int
    passed: bool
    verdict: str
    instance_id: Optional[str]


class DialTests:
    def __init__(self, store: Store, clock: Clock, settings: Settings, dispatcher: Dispatcher,
                 on_event: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.dispatcher = dispatcher
        self._on_event = on_event
        self._has_cases: Optional[bool] = None  # cached; no saved case anywhere means no slot to run

    # -- debugging cases (the seller-console debugger, §11.7) ------------------------------
    async def debug_and_save(self, product_ref: str, case: str, overrides: Optional[dict] = None
                             ) -> tuple[CaseOutcome, Optional[DebugCase]]:
        """Send the case now with its preset values (plus ``overrides``); save it only if it passes."""
        product, merchant, created = await self._product_case(product_ref, case, "create")
        instance_id = (created.params.get("_instanceId") if created else None)
        params = {**preset(case, product, self.clock.now(), instance_id, merchant.family), **(overrides or {})}
        outcome = await self._send(merchant, case, params)
        if not outcome.passed:
            return outcome, None
        if case == "create" and outcome.instance_id:
            params["_instanceId"] = outcome.instance_id  # later presets use the instance it created
        async with self.store.write() as session:
            saved = (await session.exec(select(DebugCase).where(
                DebugCase.product_id == product.id, DebugCase.case_name == case))).first()
            saved = saved or DebugCase(product_id=product.id, case_name=case, activity=activity_of(case, merchant.family), params={},
                                       url=merchant.production_url, saved_at=self.clock.now())
            saved.params, saved.url, saved.saved_at = params, merchant.production_url, self.clock.now()
            session.add(saved)
        await self._cases_changed()
        return outcome, saved

    async def _product_case(self, product_ref: str, case: str, saved_case: str
                            ) -> tuple[Product, Merchant, Optional[DebugCase]]:
        """The product, its merchant and its saved ``saved_case``, once ``case`` is known valid."""
        if case not in CASE_ORDER:
            raise InvalidInput(f"case must be one of {', '.join(CASE_ORDER)}", field="case")
        async with self.store.read() as session:
            product = await get_product(session, product_ref)
            merchant = await get_merchant(session, product.merchant_id)
            if case not in cases_of(merchant.family):
                raise InvalidInput(f"the {merchant.family} family has no {case} case; its cases are "
                                   f"{', '.join(cases_of(merchant.family))} (PROTOCOL §11.3)", field="case")
            saved = (await session.exec(select(DebugCase).where(
                DebugCase.product_id == product.id, DebugCase.case_name == saved_case))).first()
        return product, merchant, saved

    async def cases(self, product_ref: str) -> tuple[Product, Sequence[DebugCase]]:
        async with self.store.read() as session:
            product = await get_product(session, product_ref)
            rows = (await session.exec(select(DebugCase).where(DebugCase.product_id == product.id))).all()
        return product, sorted(rows, key=lambda c: CASE_ORDER.index(c.case_name))

    async def delete_case(self, product_ref: str, case: str) -> None:
        async with self.store.write() as session:
            product = await get_product(session, product_ref)
            row = (await session.exec(select(DebugCase).where(
                DebugCase.product_id == product.id, DebugCase.case_name == case))).first()
            if row is None:
                raise NotFound(f"product {product.code} has no saved {case} case", field="case")
            await session.delete(row)
        await self._cases_changed()

    async def request_command(self, product_ref: str, case: str) -> dict:
        """The exact signed request of a case, signed now, without sending it (§11.7 step 4)."""
        product, merchant, saved = await self._product_case(product_ref, case, case)
        params = _public(saved.params) if saved else preset(case, product, self.clock.now(), family=merchant.family)
        request = signed_request(merchant, merchant.family, activity_of(case, merchant.family), params, "1")
        return {"method": request.method, "url": request.url, "headers": request.headers,
                "body": request.body.decode("utf-8")}

    # -- scheduled runs --------------------------------------------------------------------
    async def next_due(self) -> Optional[datetime]:
        if not self.settings.dialtest_enabled or not await self._any_cases():
            return None
        return next_slot(await self._cursor(), self.settings.dialtest_slots, self.settings.dialtest_timezone)

    async def run_due(self, now: datetime) -> bool:
        """Run the next slot if it is due; True when one ran (the caller asks again)."""
        slot = await self.next_due()
        if slot is None or slot > now:
            return False
        for run_id in await self._claim_slot(slot):
            await self._execute(run_id)
        async with self.store.write() as session:
            cursor = await session.get(DialCursor, 1)
            if cursor is not None and cursor.last_slot_at < slot:
                cursor.last_slot_at = slot
                session.add(cursor)
        return True

    async def _claim_slot(self, slot: datetime) -> list[int]:
        """Claim the slot for every product in one transaction: products that will be skipped (§11.2,
        ``no-cases`` included) are recorded as such at once; the ids of runs to execute are returned."""
        now = self.clock.now()
        try:
            async with self.store.write() as session:
                products = (await session.exec(select(Product).order_by(col(Product.created_at)))).all()
                taken = set((await session.exec(select(DialRun.product_id).where(
                    DialRun.slot_at == slot, DialRun.trigger == "schedule"))).all())
                with_cases = set((await session.exec(select(DebugCase.product_id).distinct())).all())
                claimed = []
                for product in products:
                    if product.id in taken:
                        continue
                    skip = _skip_reason(product, product.id in with_cases)
                    run = DialRun(product_id=product.id, slot_at=slot, trigger="schedule", started_at=now,
                                  state="done" if skip else "claimed", verdict="skipped" if skip else None,
                                  reason=skip, finished_at=now if skip else None)
                    session.add(run)
                    if not skip:
                        claimed.append(run)
                await session.flush()
                return [run.id for run in claimed if run.id is not None]
        except IntegrityError:
            return []  # another process claimed this slot at the same moment

    async def run_now(self, product_ref: str) -> DialRun:
        async with self.store.read() as session:
            product = await get_product(session, product_ref)
        moment = self.clock.now()
        for _ in range(1000):  # several manual runs at one emulated instant get distinct instants
            run = await self._run(product.id, moment, "manual")
            if run is not None:
                return run
            moment += timedelta(microseconds=1)
        raise Conflict("too many manual runs at this instant; advance the clock", field="product")

    async def recover(self) -> None:
        """Finish runs a stopped process had claimed but not completed."""
        async with self.store.read() as session:
            claimed = (await session.exec(select(DialRun).where(DialRun.state == "claimed"))).all()
        for run in claimed:
            await self._execute(run.id)  # type: ignore[arg-type]

    async def _any_cases(self) -> bool:
        if self._has_cases is None:
            async with self.store.read() as session:
                self._has_cases = (await session.exec(select(DebugCase.id).limit(1))).first() is not None
        return self._has_cases

    async def _cases_changed(self) -> None:
        """Slots are counted from the moment a first case exists, not replayed from before it."""
        had = self._has_cases
        self._has_cases = None
        if not had and await self._any_cases():
            async with self.store.write() as session:
                cursor = await session.get(DialCursor, 1) or DialCursor(id=1, last_slot_at=self.clock.now())
                cursor.last_slot_at = max(cursor.last_slot_at, self.clock.now())
                session.add(cursor)

    def forget(self) -> None:
        """After a reset: nothing is cached any more."""
        self._has_cases = None

    async def _cursor(self) -> datetime:
        async with self.store.read() as session:
            cursor = await session.get(DialCursor, 1)
        if cursor is not None:
            return cursor.last_slot_at
        try:
            async with self.store.write() as session:
                session.add(DialCursor(id=1, last_slot_at=self.clock.now()))
        except IntegrityError:
            pass  # another process created it first
        return await self._cursor()

    async def _run(self, product_id: str, slot: datetime, trigger: str) -> Optional[DialRun]:
        try:
            async with self.store.write() as session:
                run = DialRun(product_id=product_id, slot_at=slot, trigger=trigger, state="claimed",
                              started_at=self.clock.now())
                session.add(run)
        except IntegrityError:
            return None  # this slot was claimed already (another process, or before a restart)
        return await self._execute(run.id)  # type: ignore[arg-type]

    async def _execute(self, run_id: int) -> DialRun:
        async with self.store.write() as session:
            run = await session.get(DialRun, run_id)
            assert run is not None
            await session.exec(delete(DialCaseResult).where(col(DialCaseResult.run_id) == run_id))  # a resumed run
            product = await session.get(Product, run.product_id)
            merchant = await session.get(Merchant, product.merchant_id) if product else None
            cases = (await session.exec(select(DebugCase).where(DebugCase.product_id == run.product_id))).all()
        assert product is not None and merchant is not None
        skip = _skip_reason(product, bool(cases))
        results: list[CaseOutcome] = []
        if skip is None:
            instance_id: Optional[str] = None
            for case in sorted(cases, key=lambda c: CASE_ORDER.index(c.case_name)):
                params = with_run_values(case.case_name, _public(case.params), product, run.slot_at, instance_id)
                outcome = await self._send(merchant, case.case_name, params)
                if case.case_name == "create":
                    instance_id = outcome.instance_id
                results.append(outcome)
        await self._finish(run_id, results, skip, merchant, product)
        self._on_event()
        async with self.store.read() as session:
            finished = await session.get(DialRun, run_id)
        assert finished is not None
        return finished

    async def _finish(self, run_id: int, results: list[CaseOutcome], skip: Optional[str], merchant: Merchant,
                      product: Product) -> None:
        zone, threshold = self.settings.dialtest_timezone, self.settings.dialtest_freeze_after_days
        notes: list[messages.Message] = []
        async with self.store.write() as session:
            run = await session.get(DialRun, run_id)
            product_row = await session.get(Product, product.id)
            assert run is not None and product_row is not None
            for r in results:
                session.add(DialCaseResult(run_id=run_id, case_name=r.case, activity=r.activity,
                                           delivery_id=r.delivery_id, passed=r.passed, verdict=r.verdict))
            run.verdict = "skipped" if skip else ("pass" if all(r.passed for r in results) else "fail")
            run.reason, run.state, run.finished_at = skip, "done", self.clock.now()
            session.add(run)
            await session.flush()
            if run.trigger == "schedule" and run.verdict in ("pass", "fail"):
                history = (await session.exec(select(DialRun.slot_at, DialRun.verdict).where(
                    DialRun.product_id == product.id, DialRun.trigger == "schedule",
                    col(DialRun.verdict).in_(["pass", "fail"])))).all()
                days = day_verdicts([(at, v) for at, v in history if v], zone)
                day = local_day(run.slot_at, zone)
                day_over = last_slot_of_day(run.slot_at, self.settings.dialtest_slots, zone)
                run.streak = product_row.fail_streak = failing_streak(days, None if day_over else day)
                slot_text = local_time(run.slot_at, zone)
                if run.verdict == "fail":
                    failures = [(r.case, r.activity, r.verdict) for r in results if not r.passed]
                    notes += messages.run_failed(merchant.name, product.name, product.id, slot_text,
                                                 merchant.production_url, failures, len(results), run.streak,
                                                 threshold)
                if not product_row.frozen and run.streak >= threshold:
                    product_row.frozen = True
                    notes += messages.frozen(product.name, product.id, threshold)
                elif (product_row.frozen and self.settings.dialtest_auto_unfreeze and day_over
                      and days.get(day) == "pass"):
                    product_row.frozen = False
                    notes += messages.unfrozen(product.name, product.id, str(day))
                session.add_all([run, product_row])
            for note in notes:
                session.add(Notification(created_at=self.clock.now(), channel=note.channel,
                                         to=_address(merchant, note.channel), subject=note.subject, body=note.body,
                                         merchant_id=merchant.id, product_id=product.id, run_id=run_id))
        if notes and self.settings.dialtest_smtp_url:
            if await asyncio.to_thread(self._mail, [n for n in notes if n.channel == "email"], merchant):
                async with self.store.write() as session:
                    for row in (await session.exec(select(Notification).where(
                            Notification.run_id == run_id, Notification.channel == "email"))).all():
                        row.smtp_sent = True
                        session.add(row)

    def _mail(self, notes: list[messages.Message], merchant: Merchant) -> bool:
        # Imported here: only a configured SMTP server is ever sent mail.
        import smtplib
        from email.message import EmailMessage

        url = urlsplit(self.settings.dialtest_smtp_url or "")
        try:
            with smtplib.SMTP(url.hostname or "localhost", url.port or 25, timeout=10) as smtp:
                for note in notes:
                    mail = EmailMessage()
                    mail["From"], mail["To"] = "noreply@koogallery-sandbox.invalid", _address(merchant, "email")
                    mail["Subject"] = note.subject
                    mail.set_content(note.body)
                    smtp.send_message(mail)
            return True
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("dial-test e-mail not sent (%s); it is in the inbox", exc)
            return False

    async def _send(self, merchant: Merchant, case: str, params: dict) -> CaseOutcome:
        activity = activity_of(case, merchant.family)
        now = self.clock.now()
        async with self.store.write() as session:
            delivery = Delivery(merchant_id=merchant.id, kind="dial_test", activity=activity, family=merchant.family,
                                policy="sync",
                                params=params, test_flag="1", status="scheduled", schedule_start=now,
                                next_attempt_at=None, created_at=now, note=f"dial test: {case} case")
            session.add(delivery)
            await session.flush()
            delivery_id = delivery.id
        assert delivery_id is not None
        outcome = await self.dispatcher.attempt(delivery_id)
        assert outcome is not None
        return CaseOutcome(case, activity, delivery_id, outcome.passed, outcome.summary, outcome.instance_id)

    # -- reading ---------------------------------------------------------------------------
    async def runs(self, product_id: Optional[str] = None, limit: int = 100) -> list[DialRun]:
        """Newest first."""
        async with self.store.read() as session:
            query = select(DialRun).order_by(col(DialRun.slot_at).desc(), col(DialRun.id).desc()).limit(limit)
            if product_id:
                query = query.where(DialRun.product_id == product_id)
            return list((await session.exec(query)).all())

    async def run(self, run_id: int) -> tuple[DialRun, Sequence[DialCaseResult]]:
        async with self.store.read() as session:
            run = await session.get(DialRun, run_id)
            if run is None:
                raise NotFound(f"dial-test run {run_id} does not exist", field="run_id")
            results = (await session.exec(select(DialCaseResult).where(DialCaseResult.run_id == run_id)
                                          .order_by(col(DialCaseResult.id)))).all()
        return run, results

    async def days_in_progress(self) -> set[str]:
        """Products whose dial-test day is undecided now (§11.6): every counted run of today passed
        and a slot of today is still to come. Their ``fail_streak`` is that of the decided days."""
        return (await self._days_in_progress())[1]

    async def _days_in_progress(self) -> tuple[datetime, set[str]]:
        now, zone = self.clock.now(), self.settings.dialtest_timezone
        today = day_start(now, zone)
        if last_slot_of_day(now, self.settings.dialtest_slots, zone):
            return today, set()
        async with self.store.read() as session:
            rows = (await session.exec(select(DialRun.product_id, DialRun.verdict).where(
                DialRun.trigger == "schedule", col(DialRun.slot_at) >= today, col(DialRun.slot_at) <= now,
                col(DialRun.verdict).in_(["pass", "fail"])))).all()
        return today, {p for p, _v in rows} - {p for p, v in rows if v == "fail"}

    async def undecided_runs(self, runs: Sequence[DialRun]) -> set[int]:
        """Ids of the passing scheduled runs whose day is still undecided (a later slot may fail it)."""
        today, products = await self._days_in_progress()
        return {run.id for run in runs if run.id is not None and run.trigger == "schedule" and run.verdict == "pass"
                and run.product_id in products and run.slot_at >= today}

    async def inbox(self, merchant_id: Optional[str] = None, limit: int = 200) -> Sequence[Notification]:
        async with self.store.read() as session:
            query = select(Notification).order_by(col(Notification.id).desc()).limit(limit)
            if merchant_id:
                query = query.where(Notification.merchant_id == merchant_id)
            return (await session.exec(query)).all()


def _skip_reason(product: Product, has_cases: bool) -> Optional[str]:
    """Why a product is not tested (PROTOCOL §11.2), or None."""
    reason = {"discontinued": "product-discontinued", "withdrawn": "product-withdrawn"}.get(product.sale_state)
    return reason or (None if has_cases else "no-cases")


def _public(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.startswith("_")}


def _address(merchant: Merchant, channel: str) -> str:
    if channel == "email":
        return merchant.contact_email or f"{merchant.id}@merchant.invalid"
    if channel == "sms":
        return merchant.contact_mobile or "(no mobile number on file)"
    return "Message Center"


__all__ = ["DialTests", "CaseOutcome", "required_cases"]
