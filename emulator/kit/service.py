"""Enterprises of the joint-operation family and the kit syncs that tell the merchant about them
(PROTOCOL §5, §13.9).

A bind runs the chain tenantSync → applicationSync → allOrgSync → authSync: four deliveries made
at once, each after the first waiting for the one before it (the dispatcher starts a waiting kit
step only after its predecessor succeeded). Admin edits send single singleOrgSync / authSync
calls. Kit deliveries are ordinary deliveries (policy ``kit``: one attempt, no retry), so they
have attempts, verdicts, restarts and the console's pages like every other call.
"""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Callable, Optional, Sequence

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from ..clock import Clock
from ..delivery.outbox import scheduled_delivery
from ..delivery.service import reopen
from ..marketplace import lifecycle as lc
from ..marketplace.catalogue import get_merchant
from ..marketplace.errors import Conflict, InvalidInput, NotFound
from ..protocol import kit
from ..protocol.crypto import rsa_encrypt_client_secret
from ..protocol.saas_v2 import WireCall
from ..store import Store
from ..store.tables import (
    Delivery, Instance, KitCall, KitOrg, KitTenant, KitUser, Merchant, OAuthApp, OAuthToken, OAuthUser, Order,
)
from .inputs import DEFAULT_DEPARTMENT, BindInput, DepartmentInput, DepartmentPatch, MemberInput, MemberPatch, check_tree

KIND = "kit_sync"
KIT_FAMILIES = ("saas_v2_joint",)
NOT_SENT = "not sent"


@dataclass(frozen=True)
class ChainStep:
    name: str
    delivery: Delivery
    behind_failure: bool = False  # an earlier step failed or was cancelled

    @property
    def state(self) -> str:
        """``succeeded``, ``failed``, ``pending``, ``waiting`` (for the step before it), ``not sent``
        (stopped behind a failed step) or ``cancelled``."""
        status = self.delivery.status
        if status == "waiting":
            return NOT_SENT if self.behind_failure else "waiting"
        return {"exhausted": "failed", "scheduled": "pending"}.get(status, status)


@dataclass(frozen=True)
class TenantDetail:
    tenant: KitTenant
    departments: list[KitOrg]
    members: list[KitUser]
    chain: list[ChainStep]
    calls: list[tuple[KitCall, Delivery]]  # newest first

    @property
    def chain_complete(self) -> bool:
        return len(self.chain) == len(kit.BIND_CHAIN) and all(s.state == "succeeded" for s in self.chain)

    @property
    def failed_step(self) -> Optional[ChainStep]:
        return next((s for s in self.chain if s.state == "failed"), None)


class Kit:
    def __init__(self, store: Store, clock: Clock, wake: Callable[[], None]) -> None:
        self.store = store
        self.clock = clock
        self._wake = wake
        self.login_domain = "http://localhost"  # the emulator's own address, set once it is bound

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A write transaction; the scheduler is woken once it is committed, so that it sees the
        calls it added (and is not woken when it failed)."""
        async with self.store.write() as session:
            yield session
        self._wake()

    # -- reading ---------------------------------------------------------------------------
    async def tenants(self, merchant_id: Optional[str] = None, instance_key: Optional[str] = None
                      ) -> Sequence[KitTenant]:
        async with self.store.read() as session:
            query = select(KitTenant).order_by(col(KitTenant.created_at).desc(), col(KitTenant.tenant_id))
            if merchant_id:
                query = query.where(KitTenant.merchant_id == merchant_id)
            if instance_key:
                query = query.where(KitTenant.instance_key == instance_key)
            return (await session.exec(query)).all()

    async def detail(self, tenant_id: str) -> TenantDetail:
        async with self.store.read() as session:
            return await _detail(session, await _tenant(session, tenant_id))

    # -- a buyer binds the app to an enterprise ----------------------------------------------
    async def bind(self, data: BindInput) -> TenantDetail:
        async with self._writing() as session:
            order = await session.get(Order, data.order_id)
            if order is None or order.instance_key is None:
                raise NotFound(f"order {data.order_id!r} does not exist or bought no instance", field="order_id")
            instance = await session.get(Instance, order.instance_key)
            assert instance is not None
            merchant = await _kit_merchant(session, instance.merchant_id, instance.family)
            lc.require_state(instance, "bind the app to an enterprise", (lc.ACTIVE, lc.FROZEN))
            lc.require_provisioned(instance, "bind the app to an enterprise")
            bound = (await session.exec(select(KitTenant).where(KitTenant.instance_key == instance.key))).first()
            if bound is not None:
                raise Conflict(f"instance {instance.key} is already bound to enterprise {bound.tenant_id}",
                               field="order_id")
            app = await _app(session, merchant, data.client_id)
            tenant_id = data.tenant_id or uuid.uuid4().hex
            if await session.get(KitTenant, tenant_id) is not None:
                raise Conflict(f"enterprise {tenant_id} already exists", field="tenant_id")
            if (await session.exec(select(OAuthApp).where(OAuthApp.tenant_id == tenant_id))).first() is not None:
                raise Conflict(f"{tenant_id} is the test tenant of a unified-login application; a buyer's enterprise "
                               "needs its own id", field="tenant_id")
            origin = await session.get(Order, instance.order_id)
            tenant = KitTenant(
                tenant_id=tenant_id, merchant_id=merchant.id, client_id=app.client_id, instance_key=instance.key,
                tenant_code=data.tenant_code or "t" + tenant_id[:8].lower(), name=data.name,
                domain_name=self.login_domain, test_flag=int(origin.test_flag if origin else order.test_flag),
                app_id=uuid.uuid4().hex, created_at=self.clock.now(),
            )
            await self._start_chain(session, merchant, app, tenant, instance, data)
        return await self.detail(tenant_id)

    async def credential_flow(self, client_id: str) -> TenantDetail:
        """The chain a credential application triggers: the app's test tenant, empty ``instanceId``
        and ``orderId``, ``testFlag`` 1 (PROTOCOL §5, §13.9)."""
        async with self._writing() as session:
            app = await session.get(OAuthApp, client_id)
            if app is None:
                raise NotFound(f"application {client_id!r} does not exist", field="client_id")
            merchant = await _kit_merchant(session, app.merchant_id)
            _require_public_key(app)
            existing = await session.get(KitTenant, app.tenant_id)
            if existing is not None and existing.instance_key is not None:
                raise Conflict(f"enterprise {app.tenant_id} is bound to instance {existing.instance_key}; it is not "
                               "this application's test tenant", field="client_id")
            if existing is not None:
                await self._clear(session, existing)
            tenant = KitTenant(
                tenant_id=app.tenant_id, merchant_id=merchant.id, client_id=app.client_id, instance_key=None,
                tenant_code=app.tenant_code, name=app.tenant_name, domain_name=self.login_domain, test_flag=1,
                app_id=app.client_id, created_at=self.clock.now(),
            )
            data = BindInput(order_id="-", name=app.tenant_name)
            await self._start_chain(session, merchant, app, tenant, None, data)
        return await self.detail(app.tenant_id)

    async def _start_chain(self, session: AsyncSession, merchant: Merchant, app: OAuthApp, tenant: KitTenant,
                           instance: Optional[Instance], data: BindInput) -> None:
        now = self.clock.now()
        departments = data.departments or [DepartmentInput(org_code=DEFAULT_DEPARTMENT, name=tenant.name)]
        members = data.users or [MemberInput(user_name=f"admin.{tenant.tenant_code}", name="Admin",
                                             org_code=departments[0].org_code, role="admin")]
        session.add(tenant)
        await session.flush()
        orgs = [KitOrg(tenant_id=tenant.tenant_id, org_code=d.org_code, name=d.name, parent_code=d.parent_code,
                       created_at=now) for d in departments]
        users = [_member(tenant, m, now) for m in members]
        session.add_all([*orgs, *users])
        for user in users:
            await _refresh_login(session, tenant, user, now)
        instance_id, order_id = _ids(tenant, instance)
        bodies = [
            kit.tenant_sync(instance_id, order_id, tenant.tenant_id, tenant.tenant_code, tenant.name,
                            tenant.domain_name, kit.ADD, tenant.test_flag),
            kit.application_sync(instance_id, tenant.tenant_id, tenant.app_id, app.client_id,
                                 _encrypted_secret(app, merchant), kit.ADD, tenant.test_flag),
            kit.all_org_sync(instance_id, tenant.tenant_id, [_org_entry(o) for o in orgs],
                             merchant.kit_org_info == "list", tenant.test_flag),
            kit.auth_sync(instance_id, tenant.tenant_id, tenant.app_id,
                          [_user_entry(u) for u in users if u.granted], kit.ADD, tenant.test_flag),
        ]
        previous: Optional[int] = None
        for step, (name, body) in enumerate(zip(kit.BIND_CHAIN, bodies)):
            delivery = await _add_call(session, merchant, tenant, name, body, "chain", now, step=step,
                                       blocked_by=previous)
            previous = delivery.id

    async def _clear(self, session: AsyncSession, tenant: KitTenant) -> None:
        """Forget an earlier credential-application run of this test tenant (its calls stay)."""
        for user in (await session.exec(select(KitUser).where(KitUser.tenant_id == tenant.tenant_id))).all():
            await _forbid_login(session, user, self.clock.now())
            await session.delete(user)
        for org in (await session.exec(select(KitOrg).where(KitOrg.tenant_id == tenant.tenant_id))).all():
            await session.delete(org)
        await session.flush()
        await session.delete(tenant)
        await session.flush()

    # -- re-sending -----------------------------------------------------------------------
    async def resend(self, tenant_id: str, step: str) -> TenantDetail:
        """Re-send the failed step of the bind chain; when it succeeds the chain goes on.
        applicationSync is encrypted again with the application's current public key."""
        async with self._writing() as session:
            tenant = await _tenant(session, tenant_id)
            detail = await _detail(session, tenant)
            failed = detail.failed_step
            if failed is None:
                states = ", ".join(f"{s.name} {s.state}" for s in detail.chain)
                raise Conflict(f"the bind chain of enterprise {tenant_id} has no failed step to re-send ({states})",
                               field="step")
            if failed.name != step:
                current = next(s.state for s in detail.chain if s.name == step)
                raise Conflict(f"only the failed step {failed.name} can be re-sent; {step} is {current}",
                               field="step")
            delivery = await session.get(Delivery, failed.delivery.id)
            assert delivery is not None
            if step == kit.APPLICATION_SYNC:
                merchant = await get_merchant(session, tenant.merchant_id)
                app = await session.get(OAuthApp, tenant.client_id)
                assert app is not None
                delivery.params = {**delivery.params, "clientSecret": _encrypted_secret(app, merchant)}
            reopen(delivery, self.clock.now())
            session.add(delivery)
        return await self.detail(tenant_id)

    async def repeat(self, delivery_id: int) -> Delivery:
        """Send a succeeded kit call's exact body again (new nonce and timestamp): an idempotent
        merchant answers ``000000`` again (PROTOCOL §5 idempotency keys)."""
        async with self._writing() as session:
            original = await session.get(Delivery, delivery_id)
            link = await session.get(KitCall, delivery_id)
            if original is None or link is None:
                raise NotFound(f"kit call {delivery_id} does not exist", field="delivery_id")
            if original.status != "succeeded":
                raise Conflict(f"kit call {delivery_id} is {original.status}; only a succeeded call is repeated "
                               "to check idempotency", field="delivery_id")
            tenant = await _tenant(session, link.tenant_id)
            merchant = await get_merchant(session, tenant.merchant_id)
            repeat = await _add_call(session, merchant, tenant, original.activity, dict(original.params), "repeat",
                                     self.clock.now(), repeat_of=delivery_id)
        return repeat

    # -- admin edits: departments ---------------------------------------------------------
    async def add_department(self, tenant_id: str, data: DepartmentInput) -> Delivery:
        async with self._writing() as session:
            tenant, merchant, orgs = await self._editable(session, tenant_id)
            if data.org_code in orgs:
                raise Conflict(f"department {data.org_code} already exists", field="org_code")
            _require_parent(orgs, data.parent_code)
            org = KitOrg(tenant_id=tenant_id, org_code=data.org_code, name=data.name,
                         parent_code=data.parent_code, created_at=self.clock.now())
            session.add(org)
            return await self._org_call(session, merchant, tenant, org, kit.ADD)

    async def edit_department(self, tenant_id: str, org_code: str, data: DepartmentPatch) -> Delivery:
        async with self._writing() as session:
            tenant, merchant, orgs = await self._editable(session, tenant_id)
            org = _existing(orgs, org_code)
            if "parent_code" in data.model_fields_set:
                _require_parent(orgs, data.parent_code)
                tree = [(code, data.parent_code if code == org_code else o.parent_code) for code, o in orgs.items()]
                try:
                    check_tree(tree, "departments")
                except ValueError:
                    raise InvalidInput(f"parent_code {data.parent_code!r} would make department {org_code} its "
                                       "own ancestor", field="parent_code") from None
                org.parent_code = data.parent_code
            if data.name is not None:
                org.name = data.name
            session.add(org)
            return await self._org_call(session, merchant, tenant, org, kit.MODIFY)

    async def delete_department(self, tenant_id: str, org_code: str) -> Delivery:
        async with self._writing() as session:
            tenant, merchant, orgs = await self._editable(session, tenant_id)
            org = _existing(orgs, org_code)
            children = [code for code, o in orgs.items() if o.parent_code == org_code]
            if children:
                raise Conflict(f"department {org_code} has sub-departments ({', '.join(children)}); "
                               "delete or move them first", field="org_code")
            members = (await session.exec(select(KitUser.user_name).where(
                KitUser.tenant_id == tenant_id, KitUser.org_code == org_code))).all()
            if members:
                raise Conflict(f"department {org_code} still has members ({', '.join(members)}); "
                               "move or delete them first", field="org_code")
            await session.delete(org)
            return await self._org_call(session, merchant, tenant, org, kit.DELETE)

    async def _org_call(self, session: AsyncSession, merchant: Merchant, tenant: KitTenant, org: KitOrg,
                        flag: int) -> Delivery:
        instance_id, _order_id = _ids(tenant, await _instance(session, tenant))
        body = kit.single_org_sync(instance_id, tenant.tenant_id, org.org_code, org.name, org.parent_code,
                                   flag, tenant.test_flag)
        return await _add_call(session, merchant, tenant, kit.SINGLE_ORG_SYNC, body, "edit", self.clock.now())

    # -- admin edits: members and their authorization -------------------------------------
    async def add_member(self, tenant_id: str, data: MemberInput) -> tuple[KitUser, Optional[Delivery]]:
        async with self._writing() as session:
            tenant, merchant, orgs = await self._editable(session, tenant_id)
            _existing(orgs, data.org_code, field="org_code")
            if await session.get(KitUser, (tenant_id, data.user_name)) is not None:
                raise Conflict(f"user {data.user_name} already exists in enterprise {tenant_id}", field="user_name")
            user = _member(tenant, data, self.clock.now())
            session.add(user)
            await _refresh_login(session, tenant, user, self.clock.now())
            if not user.granted:
                return user, None
            return user, await self._auth_call(session, merchant, tenant, user, kit.ADD)

    async def edit_member(self, tenant_id: str, user_name: str, data: MemberPatch
                          ) -> tuple[KitUser, Optional[Delivery]]:
        """Change a member; a granted member's change is an authSync ``modify``, a grant ``add``,
        a revocation ``cancel authorization``."""
        async with self._writing() as session:
            tenant, merchant, orgs = await self._editable(session, tenant_id)
            user = await _user(session, tenant_id, user_name)
            if data.org_code is not None:
                _existing(orgs, data.org_code, field="org_code")
            was_granted = user.granted
            for name, value in data.model_dump(exclude_unset=True).items():
                if value is None and name in ("name", "org_code", "role", "enable", "granted"):
                    raise InvalidInput(f"{name} cannot be null", field=name)
                setattr(user, name, value)
            session.add(user)
            await _refresh_login(session, tenant, user, self.clock.now())
            if user.granted and not was_granted:
                flag = kit.ADD
            elif was_granted and not user.granted:
                flag = kit.CANCEL_AUTHORIZATION
            elif user.granted:
                flag = kit.MODIFY
            else:
                return user, None
            return user, await self._auth_call(session, merchant, tenant, user, flag)

    async def delete_member(self, tenant_id: str, user_name: str) -> Optional[Delivery]:
        async with self._writing() as session:
            tenant, merchant, _orgs = await self._editable(session, tenant_id)
            user = await _user(session, tenant_id, user_name)
            await _forbid_login(session, user, self.clock.now())
            await session.delete(user)
            if not user.granted:
                return None
            return await self._auth_call(session, merchant, tenant, user, kit.DELETE)

    async def _auth_call(self, session: AsyncSession, merchant: Merchant, tenant: KitTenant, user: KitUser,
                         flag: int) -> Delivery:
        instance_id, _order_id = _ids(tenant, await _instance(session, tenant))
        body = kit.auth_sync(instance_id, tenant.tenant_id, tenant.app_id, [_user_entry(user)], flag,
                             tenant.test_flag)
        return await _add_call(session, merchant, tenant, kit.AUTH_SYNC, body, "edit", self.clock.now())

    async def _editable(self, session: AsyncSession, tenant_id: str
                        ) -> tuple[KitTenant, Merchant, dict[str, KitOrg]]:
        """Edits are sent once the merchant knows the enterprise: after the whole bind chain."""
        tenant = await _tenant(session, tenant_id)
        detail = await _detail(session, tenant)
        if not detail.chain_complete:
            states = ", ".join(f"{s.name} {s.state}" for s in detail.chain)
            raise Conflict(f"enterprise {tenant_id} is not synced yet ({states}); admin edits are sent after the "
                           "whole bind chain succeeded: re-send its failed step first", field="tenant_id")
        merchant = await get_merchant(session, tenant.merchant_id)
        return tenant, merchant, {o.org_code: o for o in detail.departments}


# -- helpers ------------------------------------------------------------------------------
def _ids(tenant: KitTenant, instance: Optional[Instance]) -> tuple[str, str]:
    """``instanceId`` and ``orderId`` of kit bodies: empty in the credential-application flow."""
    return ((instance.instance_id or "") if instance else ""), (instance.order_id if instance else "")


async def _add_call(session: AsyncSession, merchant: Merchant, tenant: KitTenant, name: str, body: dict[str, Any],
                    purpose: str, now: datetime, step: int = 0, blocked_by: Optional[int] = None,
                    repeat_of: Optional[int] = None) -> Delivery:
    instance = await _instance(session, tenant)
    delivery = scheduled_delivery(
        merchant, WireCall(name, body, "kit", None), now, blocked_by, kind=KIND,
        instance_key=tenant.instance_key, order_id=instance.order_id if instance else None,
    )
    session.add(delivery)
    await session.flush()
    assert delivery.id is not None
    session.add(KitCall(delivery_id=delivery.id, tenant_id=tenant.tenant_id, purpose=purpose, step=step,
                        repeat_of=repeat_of, created_at=now))
    return delivery


async def _detail(session: AsyncSession, tenant: KitTenant) -> TenantDetail:
    orgs = (await session.exec(select(KitOrg).where(KitOrg.tenant_id == tenant.tenant_id)
                               .order_by(col(KitOrg.created_at), col(KitOrg.org_code)))).all()
    users = (await session.exec(select(KitUser).where(KitUser.tenant_id == tenant.tenant_id)
                                .order_by(col(KitUser.created_at), col(KitUser.user_name)))).all()
    rows = (await session.exec(
        select(KitCall, Delivery).join(Delivery, col(KitCall.delivery_id) == col(Delivery.id))
        .where(KitCall.tenant_id == tenant.tenant_id)
        .order_by(col(Delivery.id).desc()))).all()
    calls = [(call, delivery) for call, delivery in rows]
    chain_rows = sorted(((c, d) for c, d in calls if c.purpose == "chain"), key=lambda row: row[1].id or 0)
    chain: list[ChainStep] = []
    for _call, delivery in chain_rows[-len(kit.BIND_CHAIN):]:
        stopped = any(step.delivery.status in ("exhausted", "cancelled") or step.behind_failure for step in chain)
        chain.append(ChainStep(delivery.activity, delivery, stopped))
    return TenantDetail(tenant, list(orgs), list(users), chain, calls)


async def _kit_merchant(session: AsyncSession, merchant_id: str, family: Optional[str] = None) -> Merchant:
    """The merchant, if kit syncs belong to ``family`` (the instance's; by default the merchant's)."""
    merchant = await get_merchant(session, merchant_id)
    family = family or merchant.family
    if family not in KIT_FAMILIES:
        raise Conflict(f"the {family} family has no kit syncs; they belong to the joint-operation family "
                       "(family saas_v2_joint, PROTOCOL §5)", field="family")
    if not merchant.kit_key:
        raise Conflict(f"merchant {merchant.id} has no kit_key: kit syncs are signed with it (PROTOCOL §2b)",
                       field="kit_key")
    return merchant


async def _app(session: AsyncSession, merchant: Merchant, client_id: Optional[str]) -> OAuthApp:
    if client_id is not None:
        app = await session.get(OAuthApp, client_id)
        if app is None or app.merchant_id != merchant.id:
            raise NotFound(f"merchant {merchant.id} has no unified-login application {client_id!r}",
                           field="client_id")
    else:
        apps = (await session.exec(select(OAuthApp).where(OAuthApp.merchant_id == merchant.id)
                                   .order_by(col(OAuthApp.created_at)))).all()
        with_key = [a for a in apps if a.public_key]
        if not with_key:
            raise Conflict(f"merchant {merchant.id} has no unified-login application with a public key; create one "
                           "(applicationSync carries its secret encrypted with that key, PROTOCOL §13.9)",
                           field="client_id")
        app = with_key[0]
    _require_public_key(app)
    return app


def _require_public_key(app: OAuthApp) -> None:
    if not app.public_key:
        raise Conflict(f"application {app.client_id} has no public key; upload one so that applicationSync can "
                       "carry its encrypted secret (PROTOCOL §3, §13.9)", field="public_key")


def _encrypted_secret(app: OAuthApp, merchant: Merchant) -> str:
    try:
        return rsa_encrypt_client_secret(app.public_key or "", app.client_secret, merchant.kit_rsa_padding)
    except ValueError as exc:
        raise Conflict(f"the secret of application {app.client_id} cannot be encrypted: {exc}",
                       field="public_key") from None


async def _tenant(session: AsyncSession, tenant_id: str) -> KitTenant:
    tenant = await session.get(KitTenant, tenant_id)
    if tenant is None:
        raise NotFound(f"enterprise {tenant_id!r} does not exist", field="tenant_id")
    return tenant


async def _instance(session: AsyncSession, tenant: KitTenant) -> Optional[Instance]:
    return await session.get(Instance, tenant.instance_key) if tenant.instance_key else None


async def _user(session: AsyncSession, tenant_id: str, user_name: str) -> KitUser:
    user = await session.get(KitUser, (tenant_id, user_name))
    if user is None:
        raise NotFound(f"user {user_name!r} does not exist in enterprise {tenant_id}", field="user_name")
    return user


def _existing(orgs: dict[str, KitOrg], org_code: str, field: str = "org_code") -> KitOrg:
    if org_code not in orgs:
        raise NotFound(f"department {org_code!r} does not exist", field=field)
    return orgs[org_code]


def _require_parent(orgs: dict[str, KitOrg], parent_code: Optional[str]) -> None:
    if parent_code is not None and parent_code not in orgs:
        raise InvalidInput(f"parent_code {parent_code!r} is not a department of this enterprise", field="parent_code")


def _member(tenant: KitTenant, data: MemberInput, now: datetime) -> KitUser:
    return KitUser(tenant_id=tenant.tenant_id, created_at=now, **data.model_dump())


def _org_entry(org: KitOrg) -> dict[str, str]:
    return kit.org_entry(org.org_code, org.name, org.parent_code)


def _user_entry(user: KitUser) -> dict[str, Any]:
    return kit.user_entry(user.user_name, user.name, user.org_code, user.role, user.enable, user.position,
                          user.employee_code, user.employee_type)


async def _refresh_login(session: AsyncSession, tenant: KitTenant, user: KitUser, now: datetime) -> None:
    """A granted, enabled member may log in to the app at the unified-login page (PROTOCOL §13.9);
    the platform's side, whatever the merchant answers to authSync."""
    login = await session.get(OAuthUser, user.login_user_id) if user.login_user_id else None
    if not (user.granted and user.enable):
        await _forbid_login(session, user, now)
        return
    if login is None:
        clash = (await session.exec(select(OAuthUser).where(
            OAuthUser.client_id == tenant.client_id, OAuthUser.user_name == user.user_name))).first()
        if clash is not None:
            raise Conflict(f"user name {user.user_name!r} is already used by another user of application "
                           f"{tenant.client_id}; choose another", field="user_name")
        login = OAuthUser(id=str(uuid.uuid4()), client_id=tenant.client_id, user_name=user.user_name,
                          password=user.password, tenant_id=tenant.tenant_id, name=user.name, created_at=now)
        user.login_user_id = login.id
    login.name, login.email, login.mobile, login.role = user.name, user.email, user.mobile, user.role
    session.add(login)


async def _forbid_login(session: AsyncSession, user: KitUser, now: datetime) -> None:
    if user.login_user_id is None:
        return
    login = await session.get(OAuthUser, user.login_user_id)
    if login is not None:
        await session.delete(login)
    await session.exec(update(OAuthToken).where(OAuthToken.user_id == user.login_user_id,  # type: ignore[call-overload]
                                                col(OAuthToken.revoked_at).is_(None))
                       .values(revoked_at=now))
    user.login_user_id = None
