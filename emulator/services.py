"""The service layer: one object that every way in (control API, console, fixture) calls."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, Awaitable, Callable, Optional

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, select

from .clock import Clock, ClockError, ClockMode, ClockState, wall_now
from .delivery.dispatcher import Dispatcher, Outcome
from .delivery.scheduler import Scheduler
from .delivery.service import Deliveries
from .dialtest.service import DialTests
from .events import EventBus
from .gateway.forwarder import Forwarder
from .gateway.inputs import BackendInput
from .gateway.service import Gateway
from .kit.service import Kit
from .oauth.service import AppInput, OAuth, UserInput
from .openapi.credentials import Credentials
from .openapi.gateway import RateLimiter
from .openapi.journal import Journal
from .openapi.records import OpenApiRecords
from .marketplace.catalogue import Catalogue
from .marketplace.errors import Conflict
from .marketplace.inputs import MerchantInput, ProductInput
from .marketplace.orders import Orders, SyncOutcome
from .marketplace.reactions import react
from .scenarios import Scenarios
from .marketplace.targets import OwnAddress
from .requestguard import own_host_names
from .settings import Settings
from .store import Store
from .store.tables import (
    ApiCredential, Attempt, ClockRow, DialRun, GatewayBackend, GatewayCall, InboundCall, Merchant, OAuthApp, OAuthEvent,
    OAuthUser, Order, Product,
)

log = logging.getLogger(__name__)

BUILTIN_STUB_URL = "builtin:demo-merchant"
MAX_JUMP = timedelta(days=3650)


class Services:
    def __init__(self, settings: Settings, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.dispatcher = Dispatcher(store, clock, react, timeout_s=settings.callback_timeout)
        self.orders = Orders(store, clock, self._wake, self._sync_call)
        self.dialtests = DialTests(store, clock, settings, self.dispatcher,
                                   on_event=lambda: self.events.publish("dialtest"))
        self.scheduler = Scheduler(
            store, clock, self.dispatcher,
            due_instances=self.orders.due_instance_keys,
            next_instance_event=self.orders.next_event_time,
            fire_instances=self.orders.fire_due,
            jobs=[self.dialtests],
        )
        self.scheduler.before_pass.append(self.adopt_shared_clock)
        self.scheduler.before_pass.append(self._notice_changes_of_other_replicas)
        self._seen_marks: tuple[object, ...] = ()
        self._seed_rows: Optional[list[tuple[type[SQLModel], list[dict[str, Any]]]]] = None
        self.seeded_at_start = False
        self.catalogue = Catalogue(store, clock)
        self.deliveries = Deliveries(store, clock, self._wake)
        self.credentials = Credentials(store, clock)
        self.journal = Journal(store, on_written=lambda: self.events.publish("inbound"))
        self.openapi_records = OpenApiRecords(store, clock)
        self.rate_limiter = RateLimiter(settings.openapi_rate_limit_per_s)
        self.events = EventBus()
        self.oauth = OAuth(store, clock, settings, on_event=lambda: self.events.publish("oauth"))
        self.kit = Kit(store, clock, self._wake)
        self.gateway = Gateway(store, clock, lambda: self.catalogue.own_address,
                               on_call=lambda: self.events.publish("gateway"),
                               on_change=lambda: self.events.publish("catalogue"))
        self.gateway_forwarder = Forwarder(settings)
        self.gateway_base_url = ""  # this process's own URL: the built-in demo Agents backend is there
        self.scenarios = Scenarios(self, Path(settings.fixtures_dir) / "scenarios")
        self.dispatcher.listeners.append(lambda delivery_id: self.events.publish("delivery", delivery_id))
        self.dispatcher.before_record.append(self.journal.flush)  # Query Order calls are seen by §4 R7
        self.demo_merchant_url: Optional[str] = None
        self.after_reset: list[Callable[[], Awaitable[None]]] = []
        self.ready = False
        self._clock_saves: set[asyncio.Task[None]] = set()
        self._clock_version = 0  # of the stored clock this process last wrote or adopted
        self._clock_dirty = False
        self._adopting = False
        clock.on_change(self._persist_clock_later)

    @classmethod
    async def open(cls, settings: Settings) -> "Services":
        store = await Store.open(settings.database)
        clock = await _load_clock(store, settings)
        services = cls(settings, store, clock)
        try:
            await services.save_clock(backwards=True)  # the clock was just read (and its mode set) from the store
        except IntegrityError:  # a replica starting at the same moment stored the first clock
            await services.adopt_shared_clock(force=True)
        return services

    async def start(self, base_url: str) -> None:
        """Begin work once the server is bound: seed, fix the demo URL, recover, schedule."""
        self.catalogue.own_address = OwnAddress(
            own_host_names(self.settings.host, self.settings.allowed_hosts.split(",")), urlsplit(base_url).port or 80)
        self.kit.login_domain = base_url.rstrip("/")  # tenantSync's domainName: the unified login is here
        self.gateway_base_url = base_url.rstrip("/")
        if self.settings.demo_merchant and not self.settings.merchant_url:
            self.demo_merchant_url = base_url.rstrip("/") + "/demo-merchant/produce"
        self.seeded_at_start = await self._seed_if_empty()
        await self._point_builtin_merchants()
        await self.credentials.load()
        interrupted = await self.dispatcher.recover()
        if interrupted:
            log.warning("%d attempt(s) were interrupted by a stop; their slots are sent again", interrupted)
        await self.dispatcher.start()
        await self.dialtests.recover()
        await self.scheduler.start()
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        await self.journal.flush()
        await self.gateway.flush()
        await self.gateway_forwarder.close()
        await self.scheduler.stop()
        await self.dispatcher.close()
        await self.save_clock()
        await self.store.close()

    # -- clock -----------------------------------------------------------------------------
    async def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ClockError("the clock cannot move backwards")
        if delta > MAX_JUMP:
            raise ClockError(f"the clock can move at most {MAX_JUMP.days} days at a time")
        await self.adopt_shared_clock(force=True)  # start from the deployment's time, not a stale copy
        moment = await self.scheduler.advance(delta)
        await self.save_clock()
        return moment

    async def jump_to(self, moment: datetime) -> datetime:
        await self.adopt_shared_clock(force=True)
        if moment < self.clock.now():
            raise ClockError(f"the clock cannot move backwards (it is {self.clock.now().isoformat()})")
        if moment - self.clock.now() > MAX_JUMP:
            raise ClockError(f"the clock can move at most {MAX_JUMP.days} days at a time")
        result = await self.scheduler.jump_to(moment)
        await self.save_clock()
        return result

    async def set_clock_mode(self, mode: str, speed: Optional[float]) -> None:
        await self.adopt_shared_clock(force=True)
        self.clock.set_mode(mode, speed)
        await self.save_clock(backwards=True)  # a mode change from the time just adopted

    async def settle(self) -> None:
        await self.scheduler.settle()

    async def save_clock(self, backwards: bool = False) -> None:
        """Store this process's clock as the deployment's clock (``version`` + 1). Time never goes
        back (only a reset may pass ``backwards``): when the stored clock is ahead, for another
        replica moved it meanwhile, that clock is adopted instead."""
        async with self.store.write() as session:
            state, wall = self.clock.state, wall_now()  # read under the lock: a save queued earlier
            row = (await session.exec(select(ClockRow).where(ClockRow.id == 1).with_for_update())).first()
            if row is not None and not backwards and _state_of(row).now(wall) > state.now(wall):  # ahead: adopt it
                self._adopt(row)
                return
            row = row or ClockRow(id=1, mode=state.mode, speed=state.speed, anchor_emulated=state.anchor_emulated,
                                  anchor_wall=state.anchor_wall)
            row.mode, row.speed = state.mode.value, state.speed
            row.anchor_emulated, row.anchor_wall = state.anchor_emulated, state.anchor_wall
            row.version += 1
            self._clock_version = row.version
            session.add(row)

    async def adopt_shared_clock(self, force: bool = False) -> None:
        """Take over a clock change another replica stored (polled by the scheduler at least once a
        second, so replicas agree within a second; forced before this replica changes the clock)."""
        if self._clock_saves and not force:
            return  # our own change is on its way to the store
        row = await self.store.quick_read(lambda session: session.get(ClockRow, 1))
        if row is None or row.version <= self._clock_version or (self._clock_saves and not force):
            return
        self._adopt(row)

    def _adopt(self, row: ClockRow) -> None:
        self._clock_version = row.version
        self._adopting = True
        try:
            self.clock.restore(_state_of(row))
        finally:
            self._adopting = False

    async def _notice_changes_of_other_replicas(self) -> None:
        """Live views follow work done by other replicas too (polled while someone watches)."""
        if not self.events.watched:
            return
        def read_marks(session: Session) -> tuple[Any, ...]:  # each an index's last entry
            return tuple([session.exec(select(func.max(col(Order.seq)))).one()] + [
                session.exec(select(func.max(col(table.id)))).one()
                for table in (Attempt, InboundCall, OAuthEvent, DialRun, GatewayCall)])

        marks = await self.store.quick_read(read_marks)
        if self._seen_marks and marks != self._seen_marks:
            for kind, old, new in zip(("order", "delivery", "inbound", "oauth", "dialtest", "gateway"),
                                      self._seen_marks, marks):
                if old != new:
                    self.events.publish(kind)
        self._seen_marks = marks

    def _persist_clock_later(self, _state: ClockState) -> None:
        """Store each change soon; changes made while a save is under way are coalesced into one
        more save (a walk moves the clock many times in a row)."""
        # the ref lets the console show the clock moving during a long advance
        self.events.publish("clock", self.clock.now().isoformat(timespec="seconds") + "Z")
        if self._adopting:
            return
        self._clock_dirty = True
        if self._clock_saves:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._save_clock_while_dirty())
        except RuntimeError:
            return
        self._clock_saves.add(task)
        task.add_done_callback(self._clock_saves.discard)

    async def _save_clock_while_dirty(self) -> None:
        while self._clock_dirty:
            self._clock_dirty = False
            await self.save_clock()

    # -- reset -----------------------------------------------------------------------------
    async def reset(self, seed: bool = True) -> None:
        """Forget every merchant, order and delivery; restart the clock; reload the demo data.

        The demo data is seeded the slow way (through the services) once; after that a reset
        writes the remembered rows back in the same transaction that empties the store."""
        await self.journal.flush()
        await self.gateway.flush()
        snapshot = self._seed_rows if seed else []
        async with self.scheduler.exclusive():
            await self.store.run_write(lambda session: _replace_everything(session, snapshot or []))
            self.dialtests.forget()
            self._clock_dirty = False  # what a queued save would have stored is replaced below
            self._adopting = True  # saved just below, backwards on purpose
            try:
                self.clock.restore(_fresh_clock_state(self.settings))  # same Clock: every holder sees it
            finally:
                self._adopting = False
            await self.save_clock(backwards=True)
            if seed and snapshot is None:
                await self._seed_if_empty()
                await self._point_builtin_merchants()
            await self.credentials.load()
            self.gateway.forget()
        for hook in self.after_reset:
            await hook()
        if seed and snapshot is None:
            await self.remember_seed()
        self.events.publish("reset")

    async def remember_seed(self) -> None:
        """Remember the freshly seeded catalogue (and the demo merchant's AK/SK) for fast resets."""
        self._seed_rows = await self.store.run_read(_read_seed_rows)

    # -- internals -------------------------------------------------------------------------
    def _wake(self) -> None:
        self.events.publish("order")
        self.gateway.forget()  # an instance's state decides whether its key may call
        self.scheduler.wake()

    async def _sync_call(self, delivery_id: int) -> SyncOutcome:
        outcome: Optional[Outcome] = await self.dispatcher.attempt(delivery_id)
        if outcome is None:
            return SyncOutcome(delivery_id, False, "the call could not be sent")
        return SyncOutcome(delivery_id, outcome.passed, outcome.summary)

    async def _seed_if_empty(self) -> bool:
        """Load the demo catalogue into an empty store; True when it did."""
        async with self.store.read() as session:
            if (await session.exec(select(Merchant))).first() is not None:
                return False
        if not self.settings.seed_demo:
            return False
        path = Path(self.settings.fixtures_dir) / "demo-catalogue.json"
        if not path.exists():
            log.warning("no demo catalogue at %s; starting empty", path)
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            await self._seed(data)
        except (Conflict, IntegrityError):  # a replica starting at the same moment seeds it
            log.info("another process is seeding the store; its demo catalogue is used")
            return False
        return True

    async def _seed(self, data: dict[str, Any]) -> None:
        for raw in data.get("merchants", []):
            merchant = MerchantInput(**{**raw, "production_url": raw["production_url"].replace(
                BUILTIN_STUB_URL, "http://builtin.invalid/demo-merchant/produce")})
            created = await self.catalogue.create_merchant(merchant)
            if raw["production_url"] == BUILTIN_STUB_URL:
                await self._mark_builtin(created.id)
        for raw in data.get("products", []):
            await self.catalogue.create_product(ProductInput(**raw))
        for raw in data.get("gateway_backends", []):
            product = raw.pop("product")
            await self.gateway.register(product, BackendInput(**raw), builtin=True)
        for raw in data.get("oauth_apps", []):
            users = raw.pop("users", [])
            app = await self.oauth.create_app(AppInput(**raw))
            for user in users:
                await self.oauth.add_user(app.client_id, UserInput(**user))

    async def _mark_builtin(self, merchant_id: str) -> None:
        async with self.store.write() as session:
            merchant = await session.get(Merchant, merchant_id)
            assert merchant is not None
            merchant.builtin_stub = True
            session.add(merchant)

    async def _point_builtin_merchants(self) -> None:
        """Built-in merchants follow the demo stub's URL, or the configured real merchant URL."""
        url, key = self.demo_merchant_url, None
        if self.settings.merchant_url:
            url, key = self.settings.merchant_url, self.settings.merchant_key
        if url is None:
            return
        async with self.store.write() as session:
            for merchant in (await session.exec(select(Merchant).where(Merchant.builtin_stub == True))).all():  # noqa: E712
                merchant.production_url = url
                if key:
                    merchant.access_key = key
                if self.settings.merchant_url:
                    merchant.builtin_stub = False  # now a real merchant: leave it alone from here on
                session.add(merchant)


SEED_TABLES = (Merchant, Product, GatewayBackend, OAuthApp, OAuthUser, ApiCredential)  # what seeding writes, in FK order


def _read_seed_rows(session: Session) -> list[tuple[type[SQLModel], list[dict[str, Any]]]]:
    return [(table, [row.model_dump() for row in session.exec(select(table)).all()]) for table in SEED_TABLES]


def _replace_everything(session: Session, rows: list[tuple[type[SQLModel], list[dict[str, Any]]]]) -> None:
    """Empty every table, then insert ``rows`` (a remembered seed), in one transaction."""
    for table in reversed(SQLModel.metadata.sorted_tables):
        if table.name != ClockRow.__tablename__:  # kept: its version tells replicas the clock changed
            session.execute(table.delete())
    for model, values in rows:
        if values:
            session.execute(insert(model), values)


def _state_of(row: ClockRow) -> ClockState:
    return ClockState(ClockMode(row.mode), row.speed, row.anchor_emulated, row.anchor_wall)


def _fresh_clock_state(settings: Settings) -> ClockState:
    return Clock.start(settings.clock_mode, settings.clock_speed, settings.clock_start).state


async def _load_clock(store: Store, settings: Settings) -> Clock:
    """Resume the stored clock (time never goes back across restarts), else start a new one."""
    async with store.read() as session:
        row = await session.get(ClockRow, 1)
    if row is None:
        return Clock(_fresh_clock_state(settings))
    clock = Clock(ClockState(ClockMode(row.mode), row.speed, row.anchor_emulated, row.anchor_wall))
    if clock.mode.value != settings.clock_mode or (settings.clock_mode == "scaled" and row.speed != settings.clock_speed):
        clock.set_mode(settings.clock_mode, settings.clock_speed)
    return clock


__all__ = ["Services", "ClockError", "wall_now"]
