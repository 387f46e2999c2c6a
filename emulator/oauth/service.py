"""Applications, test users, SSO sessions, codes and tokens; all lifetimes on the emulator clock."""

from __future__ import annotations

import hmac
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional, Sequence

from pydantic import ConfigDict, Field, field_validator
from sqlmodel import col, select, update

from ..clock import Clock
from ..jsonbody import StrictInput
from ..marketplace.catalogue import get_merchant
from ..marketplace.errors import Conflict, InvalidInput, NotFound
from ..protocol.crypto import load_rsa_public_key
from ..settings import Settings
from ..store import Store
from ..store.tables import OAuthApp, OAuthCode, OAuthEvent, OAuthToken, OAuthUser, SsoSession
from . import redirects

DEFAULT_PASSWORD = "Test@123456"
SCOPE = "get_user_info"
_ALNUM = string.ascii_letters + string.digits


class OAuthError(Exception):
    """A standard OAuth2 error (PROTOCOL §13.8)."""

    def __init__(self, error: str, description: str, status: int = 400,
                 headers: Optional[dict[str, str]] = None) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status, self.headers = error, description, status, headers or {}

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


MIN_APP_KEY_BITS = 2048  # PROTOCOL §13.9 (assumed)


def _login_url(value: Optional[str]) -> Optional[str]:
    if value is not None and (redirects._origin(value) is None or "#" in value):
        raise ValueError("must be an http:// or https:// URL without a fragment")
    return value


def checked_public_key(value: Optional[str]) -> Optional[str]:
    """An RSA public key of at least 2048 bits: PEM (SPKI or PKCS#1) or bare Base64 DER."""
    if value is None:
        return None
    try:
        key = load_rsa_public_key(value)
    except ValueError as exc:
        raise ValueError(f"must be an RSA public key (PEM or Base64 DER): {exc}") from None
    if key.key_size < MIN_APP_KEY_BITS:
        raise ValueError(f"the RSA key has {key.key_size} bits; at least {MIN_APP_KEY_BITS} are required")
    return value


class AppInput(StrictInput):
    merchant_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    login_url: str = Field(max_length=1024)
    public_key: Optional[str] = Field(default=None, max_length=8192)
    client_id: Optional[str] = Field(default=None, pattern=r"^[A-Za-z0-9]{8,64}$")
    client_secret: Optional[str] = Field(default=None, min_length=16, max_length=128)

    _login_url = field_validator("login_url")(_login_url)
    _public_key = field_validator("public_key")(checked_public_key)


class AppPatch(StrictInput):
    """What a merchant may change after the credential is issued (PROTOCOL §13.9); the secret stays."""

    name: Optional[str] = Field(default=None, min_length=1, max_length=128)
    login_url: Optional[str] = Field(default=None, max_length=1024)
    public_key: Optional[str] = Field(default=None, max_length=8192)

    _login_url = field_validator("login_url")(_login_url)
    _public_key = field_validator("public_key")(checked_public_key)


class UserInput(StrictInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)
    user_name: str = Field(alias="userName", min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    email: Optional[str] = Field(default=None, max_length=128)
    mobile: Optional[str] = Field(default=None, max_length=32)
    role: str = Field(default="user", pattern=r"^(user|admin)$")
    password: str = Field(default=DEFAULT_PASSWORD, min_length=1, max_length=128)


@dataclass(frozen=True)
class Grant:
    access_token: str
    refresh_token: str
    expires_in: int

    def body(self) -> dict[str, object]:
        return {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in,
                "scope": SCOPE, "refresh_token": self.refresh_token}


def _token() -> str:
    return secrets.token_urlsafe(32)


def user_info(user: OAuthUser, app: OAuthApp) -> dict[str, Optional[str]]:
    return {"id": user.id, "userName": user.user_name, "name": user.name, "email": user.email,
            "mobile": user.mobile, "tenant": user.tenant_id or app.tenant_id}


class OAuth:
    def __init__(self, store: Store, clock: Clock, settings: Settings,
                 on_event: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self._on_event = on_event
        # Certification hook (emulator/certify/login.py): for the codes it watches, the userinfo calls
        # answered with their access tokens; and the codes whose redemption answers tokens never issued.
        self.certify_watch: dict[str, int] = {}
        self.certify_forge: set[str] = set()

    # -- applications and test users ------------------------------------------------------
    async def create_app(self, data: AppInput) -> OAuthApp:
        async with self.store.write() as session:
            await get_merchant(session, data.merchant_id)
            client_id = data.client_id or "".join(secrets.choice(_ALNUM) for _ in range(32))
            if await session.get(OAuthApp, client_id) is not None:
                raise Conflict(f"application {client_id} already exists", field="client_id")
            tenant = uuid.uuid4().hex
            app = OAuthApp(
                client_id=client_id, client_secret=data.client_secret or secrets.token_urlsafe(30)[:40],
                merchant_id=data.merchant_id, name=data.name, login_url=data.login_url, public_key=data.public_key,
                tenant_id=tenant, tenant_code="t" + tenant[:8], tenant_name=f"{data.name} test tenant",
                created_at=self.clock.now(),
            )
            session.add(app)
        return app

    async def update_app(self, client_id: str, patch: AppPatch) -> OAuthApp:
        async with self.store.write() as session:
            app = await session.get(OAuthApp, client_id)
            if app is None:
                raise NotFound(f"application {client_id!r} does not exist", field="client_id")
            for name, value in patch.model_dump(exclude_unset=True).items():
                if value is None and name != "public_key":
                    raise InvalidInput(f"{name} cannot be null", field=name)
                setattr(app, name, value)
            session.add(app)
        return app

    async def apps(self, merchant_id: Optional[str] = None) -> Sequence[OAuthApp]:
        async with self.store.read() as session:
            query = select(OAuthApp).order_by(col(OAuthApp.created_at))
            if merchant_id:
                query = query.where(OAuthApp.merchant_id == merchant_id)
            return (await session.exec(query)).all()

    async def app(self, client_id: str) -> OAuthApp:
        async with self.store.read() as session:
            app = await session.get(OAuthApp, client_id)
        if app is None:
            raise NotFound(f"application {client_id!r} does not exist", field="client_id")
        return app

    async def find_app(self, client_id: str) -> Optional[OAuthApp]:
        async with self.store.read() as session:
            return await session.get(OAuthApp, client_id)

    async def add_user(self, client_id: str, data: UserInput) -> OAuthUser:
        async with self.store.write() as session:
            if await session.get(OAuthApp, client_id) is None:
                raise NotFound(f"application {client_id!r} does not exist", field="client_id")
            clash = (await session.exec(select(OAuthUser).where(
                OAuthUser.client_id == client_id, OAuthUser.user_name == data.user_name))).first()
            if clash is not None:
                raise Conflict(f"user {data.user_name!r} already exists for this application", field="userName")
            user = OAuthUser(id=str(uuid.uuid4()), client_id=client_id, user_name=data.user_name, name=data.name,
                             email=data.email, mobile=data.mobile, role=data.role, password=data.password,
                             created_at=self.clock.now())
            session.add(user)
        return user

    async def users(self, client_id: str) -> Sequence[OAuthUser]:
        async with self.store.read() as session:
            return (await session.exec(select(OAuthUser).where(OAuthUser.client_id == client_id)
                                       .order_by(col(OAuthUser.created_at), col(OAuthUser.user_name)))).all()

    # -- redirect URIs --------------------------------------------------------------------
    def redirect_allowed(self, app: OAuthApp, candidate: str) -> bool:
        return redirects.allowed(candidate, app.login_url, self.settings.oauth_redirect_uri_rule)

    async def logout_target_allowed(self, url: str) -> bool:
        return any(self.redirect_allowed(app, url) for app in await self.apps())

    # -- login, SSO sessions and codes ----------------------------------------------------
    async def authenticate(self, client_id: str, user_name: str, password: Optional[str]) -> Optional[OAuthUser]:
        """The app's user with that name and password (``password`` None: the one-click test login)."""
        async with self.store.read() as session:
            user = (await session.exec(select(OAuthUser).where(
                OAuthUser.client_id == client_id, OAuthUser.user_name == user_name))).first()
        if user is None or (password is not None and not hmac.compare_digest(user.password, password)):
            return None
        return user

    async def open_session(self, user: OAuthUser) -> str:
        session_id = _token()
        async with self.store.write() as session:
            session.add(SsoSession(id=session_id, user_id=user.id, client_id=user.client_id,
                                   expires_at=self.clock.now() + timedelta(seconds=self.settings.oauth_sso_session_ttl_s)))
        return session_id

    async def session_user(self, session_id: Optional[str], client_id: str) -> Optional[OAuthUser]:
        """The SSO session's user as a user of this app, if the session is alive and this app allows
        a user of that name (a login is platform-wide; each app has its allowed users)."""
        if not session_id:
            return None
        async with self.store.read() as session:
            sso = await session.get(SsoSession, session_id)
            if sso is None or sso.expires_at <= self.clock.now():
                return None
            logged_in = await session.get(OAuthUser, sso.user_id)
            if logged_in is None:
                return None
            return (await session.exec(select(OAuthUser).where(
                OAuthUser.client_id == client_id, OAuthUser.user_name == logged_in.user_name))).first()

    async def close_session(self, session_id: Optional[str]) -> Optional[str]:
        if not session_id:
            return None
        async with self.store.write() as session:
            sso = await session.get(SsoSession, session_id)
            if sso is None:
                return None
            user = await session.get(OAuthUser, sso.user_id)
            await session.delete(sso)
        return user.user_name if user else None

    async def issue_code(self, user: OAuthUser, client_id: str, redirect_uri: str, redirect_uri_sent: bool,
                         session_id: Optional[str], expired: bool = False, other_client: bool = False) -> str:
        """A single-use code; the QA switches make it already expired or bound to another client."""
        now = self.clock.now()
        code = _token()
        ttl = -1 if expired else self.settings.oauth_code_ttl_s
        bound_to = "qa-other-client-" + client_id[:8] if other_client else client_id
        async with self.store.write() as session:
            session.add(OAuthCode(code=code, client_id=bound_to, user_id=user.id, redirect_uri=redirect_uri,
                                  redirect_uri_sent=redirect_uri_sent, session_id=session_id,
                                  expires_at=now + timedelta(seconds=ttl)))
        qa = " (QA: already expired)" if expired else " (QA: bound to another client)" if other_client else ""
        await self.log("code_issued", client_id, user.user_name, f"redirect to {redirect_uri}{qa}")
        return code

    # -- token endpoint -------------------------------------------------------------------
    async def client(self, client_id: str, secret: str, via_basic: bool) -> OAuthApp:
        app = await self.find_app(client_id)
        headers = {"WWW-Authenticate": 'Basic realm="oauth2"'} if via_basic else None
        if app is None:
            raise OAuthError("invalid_client", f"unknown client_id {client_id}", 401, headers)
        if not hmac.compare_digest(app.client_secret, secret):
            hint = " (client_secret must be the decrypted plaintext)" if len(secret) > 100 else ""
            await self.log("token_rejected", client_id, None, "wrong client_secret" + hint)
            raise OAuthError("invalid_client", "client authentication failed" + hint, 401, headers)
        return app

    async def exchange_code(self, app: OAuthApp, code: str, redirect_uri: Optional[str]) -> Grant:
        now = self.clock.now()
        async with self.store.write() as session:
            row = await session.get(OAuthCode, code)
            problem = None
            if row is None:
                problem = "Invalid authorization code"
            elif row.client_id != app.client_id:
                problem = "Invalid authorization code: it was issued to another client"
            elif row.used_at is not None:
                problem = "Invalid authorization code: it was already used; its tokens are revoked"
                await session.exec(update(OAuthToken).where(col(OAuthToken.code) == code)  # type: ignore[call-overload]
                                   .values(revoked_at=now))
            elif row.expires_at <= now:
                problem = f"Invalid authorization code: it expired at {row.expires_at.isoformat()}Z"
            elif row.redirect_uri_sent and redirect_uri != row.redirect_uri:
                problem = "Invalid authorization code: redirect_uri does not match the one given to authorize"
            if problem is None:
                assert row is not None
                row.used_at = now
                session.add(row)
                if code in self.certify_forge:  # certification: answer tokens this emulator never issued
                    self.certify_forge.discard(code)
                    grant = Grant(_token(), _token(), self.settings.oauth_access_ttl_s)
                else:
                    grant = self._grant(session, app.client_id, row.user_id, code, now)
                user = await session.get(OAuthUser, row.user_id)
        if problem is not None:
            await self.log("code_rejected", app.client_id, None, problem)
            raise OAuthError("invalid_grant", problem)
        await self.log("token_issued", app.client_id, user.user_name if user else None, "authorization_code grant")
        return grant

    async def refresh(self, app: OAuthApp, refresh_token: str) -> Grant:
        now = self.clock.now()
        async with self.store.write() as session:
            row = await session.get(OAuthToken, refresh_token)
            valid = (row is not None and row.kind == "refresh" and row.client_id == app.client_id
                     and row.revoked_at is None and row.expires_at > now)
            if valid:
                assert row is not None
                access = OAuthToken(token=_token(), kind="access", client_id=app.client_id, user_id=row.user_id,
                                    code=row.code, created_at=now,
                                    expires_at=now + timedelta(seconds=self.settings.oauth_access_ttl_s))
                session.add(access)
                user = await session.get(OAuthUser, row.user_id)
        if not valid:
            reason = "unknown" if row is None or row.kind != "refresh" else (
                "issued to another client" if row.client_id != app.client_id else
                "revoked" if row.revoked_at else "expired")
            await self.log("token_rejected", app.client_id, None, f"refresh token {reason}")
            raise OAuthError("invalid_grant", f"Invalid refresh token: {reason}")
        await self.log("token_refreshed", app.client_id, user.user_name if user else None, "refresh_token grant")
        return Grant(access.token, refresh_token, self.settings.oauth_access_ttl_s)

    def _grant(self, session: object, client_id: str, user_id: str, code: str, now: datetime) -> Grant:
        access, refresh = _token(), _token()
        add = session.add  # type: ignore[attr-defined]
        add(OAuthToken(token=access, kind="access", client_id=client_id, user_id=user_id, code=code, created_at=now,
                       expires_at=now + timedelta(seconds=self.settings.oauth_access_ttl_s)))
        add(OAuthToken(token=refresh, kind="refresh", client_id=client_id, user_id=user_id, code=code,
                       created_at=now, expires_at=now + timedelta(seconds=self.settings.oauth_refresh_ttl_s)))
        return Grant(access, refresh, self.settings.oauth_access_ttl_s)

    async def userinfo(self, access_token: str) -> dict[str, Optional[str]]:
        now = self.clock.now()
        async with self.store.read() as session:
            row = await session.get(OAuthToken, access_token)
            reason = ("unknown token" if row is None or row.kind != "access" else
                      "token revoked" if row.revoked_at else
                      "token expired" if row.expires_at <= now else None)
            if reason is None:
                assert row is not None
                if row.code in self.certify_watch:
                    self.certify_watch[row.code] += 1
                user = await session.get(OAuthUser, row.user_id)
                app = await session.get(OAuthApp, row.client_id)
        if reason is not None or user is None or app is None:
            await self.log("token_rejected", row.client_id if row else None, None, f"userinfo: {reason}")
            raise OAuthError("invalid_token", f"Invalid access token: {reason}", 401,
                             {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{reason}"'})
        return user_info(user, app)

    # -- journal --------------------------------------------------------------------------
    async def log(self, event: str, client_id: Optional[str], user: Optional[str], detail: str = "") -> None:
        async with self.store.write() as session:
            session.add(OAuthEvent(at=self.clock.now(), client_id=client_id, user=user, event=event, detail=detail))
        self._on_event()

    async def journal(self, client_id: Optional[str] = None, limit: int = 200) -> Sequence[OAuthEvent]:
        async with self.store.read() as session:
            query = select(OAuthEvent).order_by(col(OAuthEvent.id).desc()).limit(limit)
            if client_id:
                query = query.where(OAuthEvent.client_id == client_id)
            return (await session.exec(query)).all()
