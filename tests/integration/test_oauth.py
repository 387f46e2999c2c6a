"""OAuth unified login (PROTOCOL §13) over real HTTP, without a browser.

The merchant side is a real OAuth 2 client library, Authlib's httpx client
(`AsyncOAuth2Client`): it builds the authorize URL, checks the echoed `state`, redeems the code with
`client_secret_post` or `client_secret_basic`, calls userinfo with the Bearer token and refreshes.
The end user's browser is an httpx client that keeps cookies, never follows redirects, and submits
the login page's HTML forms as a browser would (hidden fields such as the CSRF token included).
The error cases of §13.2, §13.4, §13.5 and §13.8 are sent raw, to check statuses, headers and bodies.
Time moves only through the manual emulator clock.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, AsyncIterator, Iterable, Optional
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from emulator.app import EmulatorServer

from ..helpers import Api

AUTHORIZE = "/api/v1/oauth2/authorize"
TOKEN = "/api/v1/oauth2/token"
USERINFO = "/api/v1/oauth2/userinfo"
LOGOUT = "/api/v1/logout"
LOGIN_PAGE = "/unified-login/"

APP_ORIGIN = "https://app.example.com"
CALLBACK = APP_ORIGIN + "/sso/callback"
SCOPE = "get_user_info"
DEFAULT_PASSWORD = "Test@123456"
LISI_PASSWORD = "Lisi#2026-pass"

ZHANGSAN = {"userName": "zhangsan", "name": "张三", "email": "zhangsan@example.com",
            "mobile": "13800000000", "role": "user"}
LISI = {"userName": "lisi", "name": "李四", "email": "lisi@example.com", "mobile": "13900000000",
        "role": "admin", "password": LISI_PASSWORD}
UNAUTHORIZED_DESCRIPTION = "Full authentication is required to access this resource"


# --- the login page's HTML forms, submitted as a browser would -------------------------------------


def _text(parts: Iterable[str]) -> str:
    return " ".join("".join(parts).split())


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    label: str = ""
    form: Optional["Form"] = None
    options: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def type(self) -> str:
        default = "submit" if self.tag == "button" else "text"
        return self.attrs.get("type", default).lower()

    @property
    def caption(self) -> str:
        """What a user reads on a button."""
        return self.text if self.tag == "button" else self.attrs.get("value", "")

    @property
    def is_button(self) -> bool:
        return (self.tag == "button" and self.type == "submit") or (
            self.tag == "input" and self.type in ("submit", "image"))


@dataclass
class Form:
    action: str
    method: str
    id: str
    controls: list[Control] = field(default_factory=list)

    def labelled(self, label: str) -> Optional[Control]:
        return next((c for c in self.controls if c.label == label), None)

    def button(self, caption: str) -> Optional[Control]:
        return next((c for c in self.controls if c.is_button and c.caption == caption), None)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.controls: list[Control] = []
        self._form: Optional[Form] = None
        self._labels: list[dict[str, Any]] = []
        self._label_for: dict[str, str] = {}
        self._text_of: Optional[Control] = None
        self._text: list[str] = []
        self._select: Optional[Control] = None
        self._option: Optional[dict[str, Any]] = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        a = {k.lower(): (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower(), a.get("id", ""))
            self.forms.append(self._form)
        elif tag in ("input", "button", "select", "textarea"):
            control = Control(tag, a, form=self._form)
            self.controls.append(control)
            for label in self._labels:
                label["controls"].append(control)
            if tag in ("button", "textarea"):
                self._text_of, self._text = control, []
            if tag == "select":
                self._select = control
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": []}
        elif tag == "label":
            self._labels.append({"for": a.get("for"), "text": [], "controls": []})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag in ("button", "textarea") and self._text_of is not None:
            self._text_of.text = _text(self._text) if tag == "button" else "".join(self._text)
            self._text_of = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value = self._option["value"]
            self._select.options.append((value if value is not None else _text(self._option["text"]),
                                         self._option["selected"]))
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "label" and self._labels:
            label = self._labels.pop()
            text = _text(label["text"])
            if label["for"]:
                self._label_for[label["for"]] = text
            else:
                for control in label["controls"]:
                    control.label = control.label or text

    def handle_data(self, data: str) -> None:
        for label in self._labels:
            label["text"].append(data)
        if self._text_of is not None:
            self._text.append(data)
        if self._option is not None:
            self._option["text"].append(data)

    def close(self) -> None:
        super().close()
        by_id = {f.id: f for f in self.forms if f.id}
        for control in self.controls:
            if control.attrs.get("id") in self._label_for:
                control.label = self._label_for[control.attrs["id"]]
            if control.attrs.get("form"):  # a control outside its form, joined with form="id"
                control.form = by_id.get(control.attrs["form"])
            if control.form is not None:
                control.form.controls.append(control)


class HtmlPage:
    def __init__(self, url: str, response: httpx.Response) -> None:
        self.url = url
        self.status = response.status_code
        self.text = response.text
        parser = _FormParser()
        parser.feed(self.text)
        parser.close()
        self.forms = parser.forms

    def form_with_button(self, caption: str) -> tuple[Form, Control]:
        for form in self.forms:
            button = form.button(caption)
            if button is not None:
                return form, button
        captions = [c.caption for f in self.forms for c in f.controls if c.is_button]
        raise AssertionError(f"no button {caption!r} on {self.url}; buttons: {captions}")

    def fields(self, form: Form, submitter: Control, fill: dict[str, str],
               check: Iterable[str] = ()) -> list[tuple[str, str]]:
        """The form data set (HTML §4.10.21.4) with `fill` typed into labelled inputs and `check` ticked."""
        check = set(check)
        for label in [*fill, *check]:
            assert form.labelled(label) is not None, (
                f"no control labelled {label!r} in the form of {submitter.caption!r} on {self.url}; "
                f"labels there: {[c.label for c in form.controls if c.label]}")
        data = []
        for control in form.controls:
            name = control.attrs.get("name")
            if not name or "disabled" in control.attrs:
                continue
            if control.is_button or control.type in ("reset", "button"):
                if control is submitter:
                    data.append((name, control.attrs.get("value", "")))
            elif control.type in ("checkbox", "radio"):
                if "checked" in control.attrs or control.label in check:
                    data.append((name, control.attrs.get("value", "on")))
            elif control.tag == "select":
                chosen = [v for v, selected in control.options if selected] or [v for v, _ in control.options[:1]]
                data.extend((name, v) for v in chosen)
            elif control.tag == "textarea":
                data.append((name, fill.get(control.label, control.text)))
            else:
                data.append((name, fill.get(control.label, control.attrs.get("value", ""))))
        return data

    async def submit(self, agent: httpx.AsyncClient, caption: str, fill: Optional[dict[str, str]] = None,
                     check: Iterable[str] = ()) -> httpx.Response:
        form, button = self.form_with_button(caption)
        data = self.fields(form, button, fill or {}, check)
        action = urljoin(self.url, button.attrs.get("formaction") or form.action or self.url)
        method = (button.attrs.get("formmethod") or form.method or "get").lower()
        if method == "post":
            return await agent.post(action, content=urlencode(data).encode(),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        return await agent.get(action, params=data)


# --- fixtures and helpers --------------------------------------------------------------------------


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    tenant_id: str
    registration: dict
    users: dict[str, dict]


async def register_app(api: Api, name: str, login_url: str, users: Iterable[dict]) -> OAuthApp:
    created = await api.call("POST", "/oauth/apps", {"merchant_id": "demo", "name": name, "login_url": login_url})
    assert created[0] == 201, created
    registration = created[1]
    client_id = registration["client_id"]
    made = {}
    for user in users:
        status, body = await api.call("POST", f"/oauth/apps/{client_id}/users", user)
        assert status == 201, (status, body)
        made[user["userName"]] = body
    return OAuthApp(client_id, registration["client_secret"], registration["tenant_id"], registration, made)


@pytest.fixture
async def app(api: Api) -> OAuthApp:
    return await register_app(api, "My app", CALLBACK, [ZHANGSAN, LISI])


@pytest.fixture
async def agent() -> AsyncIterator[httpx.AsyncClient]:
    """The end user's browser: keeps cookies, does not follow redirects."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as client:
        yield client


@pytest.fixture
async def backend() -> AsyncIterator[httpx.AsyncClient]:
    """The merchant's backend, for raw token and userinfo calls (no cookies shared with the user)."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as client:
        yield client


def oauth_client(app: OAuthApp, method: str = "client_secret_post", secret: Optional[str] = None,
                 redirect_uri: str = CALLBACK, log: Optional[list] = None) -> AsyncOAuth2Client:
    async def keep(item: Any) -> None:
        if log is not None:
            log.append(item)

    return AsyncOAuth2Client(
        client_id=app.client_id, client_secret=secret if secret is not None else app.client_secret,
        token_endpoint_auth_method=method, scope=SCOPE, redirect_uri=redirect_uri, timeout=10,
        event_hooks={"request": [keep], "response": [keep]},
    )


def query_of(url: str) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    names = [k for k, _ in pairs]
    assert len(names) == len(set(names)), f"repeated parameters in {url}"
    return dict(pairs)


def location(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return urljoin(str(response.request.url), response.headers["Location"])


def assert_back_to_app(url: str, redirect_uri: str = CALLBACK) -> dict[str, str]:
    parts, expected = urlsplit(url), urlsplit(redirect_uri)
    assert (parts.scheme, parts.netloc, parts.path) == (expected.scheme, expected.netloc, expected.path), url
    assert not parts.fragment, url
    return query_of(url)


def assert_login_page_url(emulator: EmulatorServer, url: str) -> dict[str, str]:
    assert url.startswith(emulator.url + LOGIN_PAGE), url
    return query_of(url)


def authorize_url(emulator: EmulatorServer, **params: Optional[str]) -> str:
    return emulator.url + AUTHORIZE + "?" + urlencode({k: v for k, v in params.items() if v is not None})


def std_params(app: OAuthApp, state: Optional[str] = "st4te", redirect_uri: Optional[str] = CALLBACK,
               **extra: Optional[str]) -> dict[str, Optional[str]]:
    return {"response_type": "code", "client_id": app.client_id, "redirect_uri": redirect_uri,
            "scope": SCOPE, "state": state, **extra}


async def open_login_page(agent: httpx.AsyncClient, url: str) -> HtmlPage:
    """GET the login page (the fragment `#/portal-login` stays in the browser, as it would)."""
    response = await agent.get(url.split("#", 1)[0])
    assert response.status_code == 200, (response.status_code, response.text[:500])
    assert "text/html" in response.headers.get("Content-Type", "")
    return HtmlPage(str(response.url), response)


async def log_in(agent: httpx.AsyncClient, page: HtmlPage, user: str = "zhangsan",
                 password: Optional[str] = None, qa: Iterable[str] = ()) -> httpx.Response:
    """Log in on the page: the user's "Log in as" button, or the user name + password form.

    QA checkboxes are ticked in whichever of those forms holds them.
    """
    qa = list(qa)
    choices: list[tuple[str, dict[str, str]]] = []
    if password is None:
        choices.append((f"Log in as {user}", {}))
    choices.append(("Log in", {"User name": user, "Password": password or DEFAULT_PASSWORD}))
    for caption, fill in choices:
        form, _ = page.form_with_button(caption)
        if all(form.labelled(label) is not None for label in qa):
            return await page.submit(agent, caption, fill, check=qa)
    raise AssertionError(f"the QA checkboxes {qa} are in none of the login forms of {page.url}")


async def obtain_code_redirect(emulator: EmulatorServer, agent: httpx.AsyncClient, url: str,
                               user: str = "zhangsan", password: Optional[str] = None,
                               qa: Iterable[str] = ()) -> str:
    """Authorize -> login page -> log in; the redirect URL back to the app."""
    to_login = location(await agent.get(url))
    assert_login_page_url(emulator, to_login)
    page = await open_login_page(agent, to_login)
    return location(await log_in(agent, page, user, password, qa))


async def obtain_code(emulator: EmulatorServer, agent: httpx.AsyncClient, app: OAuthApp, **kw: Any) -> str:
    params = std_params(app)
    back = await obtain_code_redirect(emulator, agent, authorize_url(emulator, **params), **kw)
    query = assert_back_to_app(back)
    assert query["state"] == params["state"]
    return query["code"]


async def sso_code(emulator: EmulatorServer, agent: httpx.AsyncClient, app: OAuthApp,
                   **params: Optional[str]) -> str:
    """A code through the SSO session: authorize answers 302 straight back to the app."""
    merged = std_params(app, **params)
    query = assert_back_to_app(location(await agent.get(authorize_url(emulator, **merged))),
                               merged["redirect_uri"] or CALLBACK)
    return query["code"]


async def token_call(backend: httpx.AsyncClient, emulator: EmulatorServer, data: Optional[dict] = None,
                     basic: Optional[tuple[str, str]] = None, content: Optional[bytes] = None,
                     content_type: str = "application/x-www-form-urlencoded") -> httpx.Response:
    headers = {"Accept": "application/json", "Content-Type": content_type}
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    body = content if content is not None else urlencode(data or {}).encode()
    return await backend.post(emulator.url + TOKEN, content=body, headers=headers)


def exchange(app: OAuthApp, code: str, redirect_uri: Optional[str] = CALLBACK,
             secret: Optional[str] = None) -> dict[str, str]:
    data = {"grant_type": "authorization_code", "code": code, "client_id": app.client_id,
            "client_secret": secret if secret is not None else app.client_secret}
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    return data


def refresh(app: OAuthApp, refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.client_id,
            "client_secret": app.client_secret}


def assert_no_store(response: httpx.Response) -> None:
    assert "no-store" in response.headers.get("Cache-Control", ""), dict(response.headers)
    assert "no-cache" in response.headers.get("Pragma", ""), dict(response.headers)


def assert_oauth_error(response: httpx.Response, status: int, error: str, token_endpoint: bool = True) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers.get("Content-Type", "").startswith("application/json"), dict(response.headers)
    assert response.headers.get("X-Request-Id"), "every response carries X-Request-Id (§13.1)"
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str) and body["error_description"], body
    if token_endpoint:
        assert_no_store(response)
    return body


def assert_tokens(token: dict) -> None:
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 7200 and isinstance(token["expires_in"], int)
    assert token["scope"] == SCOPE
    assert "id_token" not in token
    for key in ("access_token", "refresh_token"):
        value = token[key]
        assert re.fullmatch(r"[A-Za-z0-9_\-.~]{32,}", value), (key, value)
        assert value.count(".") != 2, f"{key} must be opaque, not a JWT"
    assert token["access_token"] != token["refresh_token"]


async def userinfo(backend: httpx.AsyncClient, emulator: EmulatorServer, access_token: Optional[str],
                   scheme: str = "Bearer") -> httpx.Response:
    headers = {"Accept": "application/json"}
    if access_token is not None:
        headers["Authorization"] = f"{scheme} {access_token}"
    return await backend.get(emulator.url + USERINFO, headers=headers)


def assert_invalid_token(response: httpx.Response) -> None:
    assert_oauth_error(response, 401, "invalid_token", token_endpoint=False)
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, challenge


async def tokens_for(emulator: EmulatorServer, agent: httpx.AsyncClient, backend: httpx.AsyncClient,
                     app: OAuthApp, **kw: Any) -> dict:
    code = await obtain_code(emulator, agent, app, **kw)
    response = await token_call(backend, emulator, exchange(app, code))
    assert response.status_code == 200, response.text
    return response.json()


async def journal(api: Api) -> list[dict]:
    return (await api.ok("GET", "/oauth/journal"))["events"]


# --- registration (control API) --------------------------------------------------------------------


async def test_registration_shows_the_secret_once(api: Api, app: OAuthApp) -> None:
    assert re.fullmatch(r"[A-Za-z0-9]{32}", app.client_id), app.client_id
    assert len(app.client_secret) == 40 and re.fullmatch(r"[A-Za-z0-9_\-]{40}", app.client_secret)
    assert re.fullmatch(r"[0-9a-f]{32}", app.tenant_id), app.tenant_id
    assert app.registration["name"] == "My app" and app.registration["login_url"] == CALLBACK
    assert app.registration["merchant_id"] == "demo"

    listed = await api.ok("GET", "/oauth/apps")
    listed_text = json.dumps(listed)
    assert app.client_id in listed_text and app.client_secret not in listed_text
    one = await api.ok("GET", f"/oauth/apps/{app.client_id}")
    assert one["client_id"] == app.client_id and one["login_url"] == CALLBACK
    assert app.client_secret not in json.dumps(one)

    zhangsan = app.users["zhangsan"]
    assert {k: zhangsan[k] for k in ("userName", "name", "email", "mobile", "role")} == {
        k: ZHANGSAN[k] for k in ("userName", "name", "email", "mobile", "role")}
    assert zhangsan["tenant"] == app.tenant_id and zhangsan["id"]
    assert "password" not in zhangsan
    users = await api.ok("GET", f"/oauth/apps/{app.client_id}/users")
    names = {u["userName"] for u in (users["users"] if isinstance(users, dict) else users)}
    assert {"zhangsan", "lisi"} <= names
    assert LISI_PASSWORD not in json.dumps(users) and DEFAULT_PASSWORD not in json.dumps(users)


# --- the full flow with Authlib --------------------------------------------------------------------


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
async def test_full_flow_with_authlib(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                      agent: httpx.AsyncClient, auth_method: str) -> None:
    log: list[Any] = []
    async with oauth_client(app, auth_method, log=log) as client:
        url, state = client.create_authorization_url(emulator.url + AUTHORIZE, state="Xy7state")
        assert state == "Xy7state"

        # Not logged in yet: the authorize endpoint sends the browser to the login page.
        first = await agent.get(url)
        assert first.headers.get("X-Request-Id")
        to_login = location(first)
        login_query = assert_login_page_url(emulator, to_login)
        assert login_query["client_id"] == app.client_id and login_query["state"] == state
        assert login_query["redirect_uri"] == CALLBACK and login_query["response_type"] == "code"
        assert urlsplit(to_login).fragment == "/portal-login"

        page = await open_login_page(agent, to_login)
        assert "My app" in page.text
        for user in ("zhangsan", "lisi"):
            page.form_with_button(f"Log in as {user}")
        page.form_with_button("Deny")
        logged_in = await log_in(agent, page, "zhangsan")
        cookies = logged_in.headers.get_list("Set-Cookie")
        assert any("httponly" in c.lower() and "samesite=lax" in c.lower() for c in cookies), cookies
        back = location(logged_in)
        query = assert_back_to_app(back)
        assert query["state"] == state and query["code"]

        # The merchant's backend redeems the code; Authlib checks the state it got back.
        token = await client.fetch_token(emulator.url + TOKEN, authorization_response=back, state=state)
        assert_tokens(dict(token))
        token_request = next(i for i in log if isinstance(i, httpx.Request) and i.url.path == TOKEN)
        form = dict(parse_qsl(token_request.content.decode()))
        assert form["grant_type"] == "authorization_code" and form["redirect_uri"] == CALLBACK
        if auth_method == "client_secret_basic":
            assert token_request.headers["Authorization"].startswith("Basic ")
            assert "client_secret" not in form
        else:
            assert "Authorization" not in token_request.headers and form["client_secret"] == app.client_secret
        token_response = next(i for i in log if isinstance(i, httpx.Response) and i.request.url.path == TOKEN)
        assert_no_store(token_response)
        assert token_response.headers["Content-Type"].startswith("application/json")

        # Userinfo with the Bearer token (§13.5): exactly the documented fields by default.
        me = await client.get(emulator.url + USERINFO, headers={"Accept": "application/json"})
        assert me.status_code == 200, me.text
        user = me.json()
        assert user == {"id": app.users["zhangsan"]["id"], "userName": "zhangsan", "name": "张三",
                        "email": "zhangsan@example.com", "mobile": "13800000000", "tenant": app.tenant_id}
        assert me.request.headers["Authorization"] == "Bearer " + token["access_token"]

        # Refresh: a new access token, the same refresh token; the old access token still works.
        old_access = token["access_token"]
        refreshed = await client.refresh_token(emulator.url + TOKEN, refresh_token=token["refresh_token"])
        assert_tokens(dict(refreshed))
        assert refreshed["refresh_token"] == token["refresh_token"]
        assert refreshed["access_token"] != old_access
        again = await client.get(emulator.url + USERINFO)
        assert again.status_code == 200 and again.json()["userName"] == "zhangsan"
        assert again.request.headers["Authorization"] == "Bearer " + refreshed["access_token"]
        old = await client.request("GET", emulator.url + USERINFO, withhold_token=True,
                                   headers={"Authorization": "Bearer " + old_access})
        assert old.status_code == 200, "the old access token stays valid until its own expiry (§13.4)"

    # Logout ends the SSO session and returns to an allowed URL of the app.
    out = await agent.get(emulator.url + LOGOUT, params={"redirect_url": APP_ORIGIN + "/bye"})
    assert location(out) == APP_ORIGIN + "/bye"
    relogin = location(await agent.get(url))
    assert_login_page_url(emulator, relogin)

    events = [e["event"] for e in await journal(api)]
    for name in ("login", "code_issued", "token_issued", "token_refreshed", "logout"):
        assert name in events, (name, events)


# --- authorize (§13.2) -----------------------------------------------------------------------------


async def test_sso_session_skips_the_login_page(emulator: EmulatorServer, app: OAuthApp,
                                                agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    first = await obtain_code(emulator, agent, app)
    response = await agent.get(authorize_url(emulator, **std_params(app, state="second")))
    query = assert_back_to_app(location(response))
    assert query["state"] == "second" and query["code"] and query["code"] != first
    for code in (first, query["code"]):
        exchanged = await token_call(backend, emulator, exchange(app, code))
        assert exchanged.status_code == 200, exchanged.text


async def test_sso_user_not_allowed_for_another_app_sees_the_login_page(
        emulator: EmulatorServer, api: Api, app: OAuthApp, agent: httpx.AsyncClient) -> None:
    other = await register_app(api, "Other app", "https://other.example.com/cb",
                               [{"userName": "wangwu", "name": "王五", "email": "wangwu@example.com",
                                 "mobile": "13700000000", "role": "user"}])
    await obtain_code(emulator, agent, app)  # zhangsan now has an SSO session
    params = std_params(other, redirect_uri="https://other.example.com/cb")
    to_login = location(await agent.get(authorize_url(emulator, **params)))
    assert_login_page_url(emulator, to_login)
    page = await open_login_page(agent, to_login)
    assert "Other app" in page.text
    page.form_with_button("Log in as wangwu")
    with pytest.raises(AssertionError):
        page.form_with_button("Log in as zhangsan")


@pytest.mark.parametrize("via", ["login", "sso"])
async def test_state_is_echoed_byte_for_byte(emulator: EmulatorServer, app: OAuthApp,
                                             agent: httpx.AsyncClient, via: str) -> None:
    odd = "a b+c/d=e&f?g%20h#i~j!*'();:@$,[]\"<>{}|^`\\é中"
    if via == "sso":
        await obtain_code(emulator, agent, app)
        response = await agent.get(authorize_url(emulator, **std_params(app, state=odd)))
        back = location(response)
    else:
        back = await obtain_code_redirect(emulator, agent, authorize_url(emulator, **std_params(app, state=odd)))
    query = assert_back_to_app(back)
    assert query["state"] == odd and query["code"]


async def test_authlib_generated_state_round_trips(emulator: EmulatorServer, app: OAuthApp,
                                                   agent: httpx.AsyncClient) -> None:
    async with oauth_client(app) as client:
        url, state = client.create_authorization_url(emulator.url + AUTHORIZE)
        back = await obtain_code_redirect(emulator, agent, url)
        assert assert_back_to_app(back)["state"] == state
        token = await client.fetch_token(emulator.url + TOKEN, authorization_response=back, state=state)
        assert token["access_token"]


async def test_state_omitted_when_not_sent(emulator: EmulatorServer, app: OAuthApp,
                                           agent: httpx.AsyncClient) -> None:
    back = await obtain_code_redirect(emulator, agent, authorize_url(emulator, **std_params(app, state=None)))
    query = assert_back_to_app(back)
    assert "state" not in query and query["code"]
    response = await agent.get(authorize_url(emulator, **std_params(app, state=None)))
    query = assert_back_to_app(location(response))
    assert "state" not in query and query["code"]


async def test_code_appended_to_a_redirect_uri_with_a_query(emulator: EmulatorServer, app: OAuthApp,
                                                            agent: httpx.AsyncClient,
                                                            backend: httpx.AsyncClient) -> None:
    redirect_uri = CALLBACK + "?tenant=t1&lang=zh"
    url = authorize_url(emulator, **std_params(app, redirect_uri=redirect_uri))
    back = await obtain_code_redirect(emulator, agent, url)
    assert back.startswith(redirect_uri + "&code="), back
    query = assert_back_to_app(back, redirect_uri)
    assert query["tenant"] == "t1" and query["lang"] == "zh" and query["state"] == "st4te"
    exchanged = await token_call(backend, emulator, exchange(app, query["code"], redirect_uri))
    assert exchanged.status_code == 200, exchanged.text


async def test_redirect_uri_defaults_to_the_login_url(emulator: EmulatorServer, app: OAuthApp,
                                                      agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    url = authorize_url(emulator, **std_params(app, redirect_uri=None))
    back = await obtain_code_redirect(emulator, agent, url)
    query = assert_back_to_app(back, CALLBACK)
    exchanged = await token_call(backend, emulator, exchange(app, query["code"], redirect_uri=None))
    assert exchanged.status_code == 200, exchanged.text


@pytest.mark.parametrize("accept, expect_json", [("application/json", True), ("text/html", False)])
async def test_authorize_unknown_client_is_400_without_redirect(emulator: EmulatorServer, app: OAuthApp,
                                                                agent: httpx.AsyncClient, accept: str,
                                                                expect_json: bool) -> None:
    params = std_params(app, client_id="0" * 32)
    response = await agent.get(authorize_url(emulator, **params), headers={"Accept": accept})
    assert response.status_code == 400 and "Location" not in response.headers
    if expect_json:
        assert response.json()["error"] == "invalid_client"
        assert response.json()["error_description"]
    else:
        assert response.headers["Content-Type"].startswith("text/html")
        assert "invalid_client" in response.text


async def test_authorize_without_client_id_is_400_invalid_request(emulator: EmulatorServer, app: OAuthApp,
                                                                  agent: httpx.AsyncClient) -> None:
    params = std_params(app, client_id=None)
    response = await agent.get(authorize_url(emulator, **params), headers={"Accept": "application/json"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("candidate, accepted", [
    (CALLBACK, True),
    (APP_ORIGIN + "/home?x=1", True),
    ("http://app.example.com/sso/callback", False),
    ("https://app.example.com:8443/cb", False),
    ("https://a.app.example.com/cb", False),
    ("https://evil.example/cb", False),
    (CALLBACK + "#frag", False),
    ("not a url", False),
])
async def test_redirect_uri_rule_same_origin(emulator: EmulatorServer, app: OAuthApp, agent: httpx.AsyncClient,
                                             candidate: str, accepted: bool) -> None:
    response = await agent.get(authorize_url(emulator, **std_params(app, redirect_uri=candidate)),
                               headers={"Accept": "application/json"})
    if accepted:
        assert_login_page_url(emulator, location(response))
    else:
        assert response.status_code == 400 and "Location" not in response.headers, response.text
        assert response.json()["error"] == "invalid_request"


async def test_bad_redirect_uri_wins_over_bad_response_type(emulator: EmulatorServer, app: OAuthApp,
                                                            agent: httpx.AsyncClient) -> None:
    params = std_params(app, redirect_uri="https://evil.example/cb", response_type="token")
    response = await agent.get(authorize_url(emulator, **params), headers={"Accept": "application/json"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("response_type, error", [("token", "unsupported_response_type"),
                                                  (None, "invalid_request")])
async def test_bad_response_type_redirects_with_the_error(emulator: EmulatorServer, app: OAuthApp,
                                                          agent: httpx.AsyncClient, response_type: Optional[str],
                                                          error: str) -> None:
    params = std_params(app, state="s 1&2", response_type=response_type)
    query = assert_back_to_app(location(await agent.get(authorize_url(emulator, **params))))
    assert query["error"] == error and query["state"] == "s 1&2" and "code" not in query


async def test_bad_scope_redirects_with_invalid_scope(emulator: EmulatorServer, app: OAuthApp,
                                                      agent: httpx.AsyncClient) -> None:
    params = std_params(app, scope="openid profile")
    query = assert_back_to_app(location(await agent.get(authorize_url(emulator, **params))))
    assert query["error"] == "invalid_scope" and query["state"] == "st4te"


async def test_scope_may_be_left_out(emulator: EmulatorServer, app: OAuthApp, agent: httpx.AsyncClient) -> None:
    back = await obtain_code_redirect(emulator, agent, authorize_url(emulator, **std_params(app, scope=None)))
    assert assert_back_to_app(back)["code"]


# --- login page (§13.3) ----------------------------------------------------------------------------


async def test_user_denies(emulator: EmulatorServer, api: Api, app: OAuthApp, agent: httpx.AsyncClient) -> None:
    to_login = location(await agent.get(authorize_url(emulator, **std_params(app, state="deny&me"))))
    page = await open_login_page(agent, to_login)
    query = assert_back_to_app(location(await page.submit(agent, "Deny")))
    assert query == {"error": "access_denied", "state": "deny&me"}
    assert "denied" in [e["event"] for e in await journal(api)]


async def test_password_login_and_wrong_password(emulator: EmulatorServer, app: OAuthApp,
                                                 agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    to_login = location(await agent.get(authorize_url(emulator, **std_params(app))))
    page = await open_login_page(agent, to_login)
    wrong = await log_in(agent, page, "lisi", password="not-the-password")
    assert wrong.status_code in (200, 400, 401, 403), (wrong.status_code, wrong.headers.get("Location"))
    assert "text/html" in wrong.headers["Content-Type"]
    retry = HtmlPage(str(wrong.url), wrong)
    assert "My app" in retry.text
    retry.form_with_button("Log in")  # the form is shown again, with an error
    assert re.search(r"(?i)password|invalid|incorrect|wrong", retry.text)
    # Not logged in: authorize still leads to the login page.
    assert_login_page_url(emulator, location(await agent.get(authorize_url(emulator, **std_params(app)))))

    page = await open_login_page(agent, to_login)
    back = location(await log_in(agent, page, "lisi", password=LISI_PASSWORD))
    query = assert_back_to_app(back)
    tokens = await token_call(backend, emulator, exchange(app, query["code"]))
    me = await userinfo(backend, emulator, tokens.json()["access_token"])
    assert me.json()["userName"] == "lisi" and me.json()["name"] == "李四"
    assert "role" not in me.json()


async def test_user_of_another_app_cannot_log_in_here(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                                      agent: httpx.AsyncClient) -> None:
    await register_app(api, "Other app", "https://other.example.com/cb",
                       [{"userName": "wangwu", "name": "王五", "role": "user", "password": "Wangwu#1"}])
    page = await open_login_page(agent, location(await agent.get(authorize_url(emulator, **std_params(app)))))
    refused = await log_in(agent, page, "wangwu", password="Wangwu#1")
    assert refused.status_code in (200, 400, 401, 403), (refused.status_code, refused.headers.get("Location"))
    again = HtmlPage(str(refused.url), refused)
    assert "My app" in again.text
    again.form_with_button("Log in")
    assert_login_page_url(emulator, location(await agent.get(authorize_url(emulator, **std_params(app)))))


async def test_default_password_works_in_the_password_form(emulator: EmulatorServer, app: OAuthApp,
                                                           agent: httpx.AsyncClient) -> None:
    to_login = location(await agent.get(authorize_url(emulator, **std_params(app))))
    page = await open_login_page(agent, to_login)
    back = location(await log_in(agent, page, "zhangsan", password=DEFAULT_PASSWORD))
    assert assert_back_to_app(back)["code"]


async def test_login_post_without_the_csrf_token_is_refused(emulator: EmulatorServer, app: OAuthApp,
                                                            agent: httpx.AsyncClient) -> None:
    to_login = location(await agent.get(authorize_url(emulator, **std_params(app))))
    page = await open_login_page(agent, to_login)
    form, button = page.form_with_button("Log in as zhangsan")
    data = [(k, v) for k, v in page.fields(form, button, {}) if k != "csrf_token"]
    assert len(data) < len(page.fields(form, button, {})), "the form carries a csrf_token field"
    response = await agent.post(urljoin(page.url, form.action or page.url), content=urlencode(data).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code in (400, 403), (response.status_code, response.headers.get("Location"))
    assert_login_page_url(emulator, location(await agent.get(authorize_url(emulator, **std_params(app)))))


async def test_login_page_without_client_id_only_logs_in(emulator: EmulatorServer, app: OAuthApp,
                                                         agent: httpx.AsyncClient) -> None:
    page = await open_login_page(agent, emulator.url + LOGIN_PAGE)
    response = await log_in(agent, page, "zhangsan", password=DEFAULT_PASSWORD)
    if response.status_code in (302, 303):
        target = location(response)
        assert urlsplit(target).netloc == urlsplit(emulator.url).netloc, "no redirect to an app"
        response = await agent.get(target)
    assert response.status_code == 200
    assert "logged in" in response.text.lower()
    # The SSO session now exists: authorize goes straight back with a code.
    query = assert_back_to_app(location(await agent.get(authorize_url(emulator, **std_params(app)))))
    assert query["code"]


async def test_qa_option_expired_code(emulator: EmulatorServer, app: OAuthApp, agent: httpx.AsyncClient,
                                      backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app, qa=["Issue an already-expired code"])
    assert_oauth_error(await token_call(backend, emulator, exchange(app, code)), 400, "invalid_grant")


async def test_qa_option_code_bound_to_another_client(emulator: EmulatorServer, app: OAuthApp,
                                                      agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app, qa=["Issue a code bound to another client"])
    assert_oauth_error(await token_call(backend, emulator, exchange(app, code)), 400, "invalid_grant")


# --- token (§13.4, §13.8) --------------------------------------------------------------------------


async def test_code_is_single_use_and_reuse_revokes_its_tokens(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                                               agent: httpx.AsyncClient,
                                                               backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    async with oauth_client(app) as client:
        token = await client.fetch_token(emulator.url + TOKEN, code=code)
        with pytest.raises(OAuthError) as error:
            await client.fetch_token(emulator.url + TOKEN, code=code)
        assert error.value.error == "invalid_grant"
    reused = await token_call(backend, emulator, exchange(app, code))
    assert_oauth_error(reused, 400, "invalid_grant")
    assert_invalid_token(await userinfo(backend, emulator, token["access_token"]))
    assert_oauth_error(await token_call(backend, emulator, refresh(app, token["refresh_token"])), 400,
                       "invalid_grant")
    assert "code_rejected" in [e["event"] for e in await journal(api)]


async def test_code_lives_300_seconds_on_the_emulator_clock(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                                            agent: httpx.AsyncClient,
                                                            backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    await api.advance(seconds=299)
    assert (await token_call(backend, emulator, exchange(app, code))).status_code == 200

    late = await sso_code(emulator, agent, app)
    await api.advance(seconds=301)
    assert_oauth_error(await token_call(backend, emulator, exchange(app, late)), 400, "invalid_grant")


async def test_expired_code_with_authlib(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                         agent: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    await api.advance(seconds=301)
    async with oauth_client(app, "client_secret_basic") as client:
        with pytest.raises(OAuthError) as error:
            await client.fetch_token(emulator.url + TOKEN, code=code)
    assert error.value.error == "invalid_grant"


async def test_wrong_secret_in_the_body(emulator: EmulatorServer, app: OAuthApp, agent: httpx.AsyncClient,
                                        backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    response = await token_call(backend, emulator, exchange(app, code, secret="x" * 40))
    assert_oauth_error(response, 401, "invalid_client")


async def test_wrong_secret_with_http_basic(emulator: EmulatorServer, app: OAuthApp, agent: httpx.AsyncClient,
                                            backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    response = await token_call(backend, emulator, data, basic=(app.client_id, "x" * 40))
    assert_oauth_error(response, 401, "invalid_client")
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Basic") and 'realm="oauth2"' in challenge, challenge

    async with oauth_client(app, "client_secret_basic", secret="y" * 40) as client:
        with pytest.raises(OAuthError) as error:
            await client.fetch_token(emulator.url + TOKEN, code=code)
    assert error.value.error == "invalid_client"


async def test_http_basic_with_the_right_secret(emulator: EmulatorServer, app: OAuthApp, agent: httpx.AsyncClient,
                                                backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    response = await token_call(backend, emulator, data, basic=(app.client_id, app.client_secret))
    assert response.status_code == 200, response.text
    assert_tokens(response.json())
    assert_no_store(response)


@pytest.mark.parametrize("case", ["no client authentication", "unknown client"])
async def test_token_client_authentication_failures(emulator: EmulatorServer, app: OAuthApp,
                                                    agent: httpx.AsyncClient, backend: httpx.AsyncClient,
                                                    case: str) -> None:
    code = await obtain_code(emulator, agent, app)
    data = exchange(app, code)
    if case == "no client authentication":
        del data["client_id"], data["client_secret"]
    else:
        data["client_id"] = "Z" * 32
    assert_oauth_error(await token_call(backend, emulator, data), 401, "invalid_client")


async def test_two_different_client_authentications(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                                    agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    other = await register_app(api, "Other app", "https://other.example.com/cb", [])
    code = await obtain_code(emulator, agent, app)
    response = await token_call(backend, emulator, exchange(app, code), basic=(other.client_id, other.client_secret))
    assert_oauth_error(response, 400, "invalid_request")


async def test_code_of_another_client(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                      agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    other = await register_app(api, "Other app", APP_ORIGIN + "/other", [])
    code = await obtain_code(emulator, agent, app)
    response = await token_call(backend, emulator, exchange(other, code))
    assert_oauth_error(response, 400, "invalid_grant")


async def test_redirect_uri_mismatch_at_the_token_endpoint(emulator: EmulatorServer, app: OAuthApp,
                                                           agent: httpx.AsyncClient,
                                                           backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    response = await token_call(backend, emulator, exchange(app, code, APP_ORIGIN + "/elsewhere"))
    assert_oauth_error(response, 400, "invalid_grant")

    code = await sso_code(emulator, agent, app)
    async with oauth_client(app, redirect_uri=APP_ORIGIN + "/elsewhere") as client:
        with pytest.raises(OAuthError) as error:
            await client.fetch_token(emulator.url + TOKEN, code=code)
    assert error.value.error == "invalid_grant"


@pytest.mark.parametrize("grant_type, error", [("password", "unsupported_grant_type"),
                                               ("client_credentials", "unsupported_grant_type"),
                                               (None, "invalid_request")])
async def test_grant_type_checks(emulator: EmulatorServer, app: OAuthApp, agent: httpx.AsyncClient,
                                 backend: httpx.AsyncClient, grant_type: Optional[str], error: str) -> None:
    code = await obtain_code(emulator, agent, app)
    data = exchange(app, code)
    if grant_type is None:
        del data["grant_type"]
    else:
        data["grant_type"] = grant_type
    assert_oauth_error(await token_call(backend, emulator, data), 400, error)


async def test_repeated_parameter_is_invalid_request(emulator: EmulatorServer, app: OAuthApp,
                                                     agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    body = urlencode(list(exchange(app, code).items()) + [("code", code)]).encode()
    assert_oauth_error(await token_call(backend, emulator, content=body), 400, "invalid_request")

    url = authorize_url(emulator, **std_params(app)) + "&client_id=" + app.client_id
    response = await agent.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.json()["error"] == "invalid_request"


async def test_missing_grant_parameters(emulator: EmulatorServer, app: OAuthApp, backend: httpx.AsyncClient) -> None:
    no_code = {"grant_type": "authorization_code", "client_id": app.client_id, "client_secret": app.client_secret,
               "redirect_uri": CALLBACK}
    assert_oauth_error(await token_call(backend, emulator, no_code), 400, "invalid_request")
    no_refresh = {"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": app.client_secret}
    assert_oauth_error(await token_call(backend, emulator, no_refresh), 400, "invalid_request")


async def test_body_not_form_encoded(emulator: EmulatorServer, app: OAuthApp, agent: httpx.AsyncClient,
                                     backend: httpx.AsyncClient) -> None:
    code = await obtain_code(emulator, agent, app)
    body = json.dumps(exchange(app, code)).encode()
    response = await token_call(backend, emulator, content=body, content_type="application/json")
    assert_oauth_error(response, 400, "invalid_request")


async def test_unknown_code_and_refresh_token(emulator: EmulatorServer, app: OAuthApp,
                                              backend: httpx.AsyncClient) -> None:
    response = await token_call(backend, emulator, exchange(app, "no-such-code-" + "x" * 20))
    assert_oauth_error(response, 400, "invalid_grant")
    response = await token_call(backend, emulator, refresh(app, "no-such-refresh-token-" + "x" * 20))
    assert_oauth_error(response, 400, "invalid_grant")


async def test_refresh_token_of_another_client(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                               agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    other = await register_app(api, "Other app", "https://other.example.com/cb", [])
    tokens = await tokens_for(emulator, agent, backend, app)
    response = await token_call(backend, emulator, refresh(other, tokens["refresh_token"]))
    assert_oauth_error(response, 400, "invalid_grant")


async def test_refresh_token_lives_30_days_not_extended_by_use(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                                               agent: httpx.AsyncClient,
                                                               backend: httpx.AsyncClient) -> None:
    tokens = await tokens_for(emulator, agent, backend, app)
    await api.advance(days=29)
    async with oauth_client(app, "client_secret_basic") as client:
        client.token = tokens
        refreshed = await client.refresh_token(emulator.url + TOKEN)
        assert refreshed["refresh_token"] == tokens["refresh_token"]
        assert refreshed["access_token"] != tokens["access_token"]
        me = await client.get(emulator.url + USERINFO)
        assert me.status_code == 200

        await api.advance(days=1, seconds=1)
        with pytest.raises(OAuthError) as error:
            await client.refresh_token(emulator.url + TOKEN, refresh_token=tokens["refresh_token"])
        assert error.value.error == "invalid_grant"
    response = await token_call(backend, emulator, refresh(app, tokens["refresh_token"]))
    assert_oauth_error(response, 400, "invalid_grant")


# --- userinfo (§13.5) ------------------------------------------------------------------------------


async def test_userinfo_without_authorization_header(emulator: EmulatorServer, app: OAuthApp,
                                                     agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    response = await userinfo(backend, emulator, None)
    body = assert_oauth_error(response, 401, "unauthorized", token_endpoint=False)
    assert body == {"error": "unauthorized", "error_description": UNAUTHORIZED_DESCRIPTION}

    # The token is accepted only in the header.
    tokens = await tokens_for(emulator, agent, backend, app)
    response = await backend.get(emulator.url + USERINFO, params={"access_token": tokens["access_token"]})
    assert_oauth_error(response, 401, "unauthorized", token_endpoint=False)


async def test_userinfo_with_a_bad_token(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                         agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    assert_invalid_token(await userinfo(backend, emulator, "not-a-real-token-" + "x" * 20))
    tokens = await tokens_for(emulator, agent, backend, app)
    assert_invalid_token(await userinfo(backend, emulator, tokens["access_token"], scheme="Basic"))
    assert_invalid_token(await userinfo(backend, emulator, tokens["refresh_token"]))
    assert "token_rejected" in [e["event"] for e in await journal(api)]


async def test_access_token_lives_7200_seconds(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                               agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    tokens = await tokens_for(emulator, agent, backend, app)
    await api.advance(seconds=7199)
    assert (await userinfo(backend, emulator, tokens["access_token"])).status_code == 200
    await api.advance(seconds=2)
    assert_invalid_token(await userinfo(backend, emulator, tokens["access_token"]))

    # Authlib's own expiry check runs on the real clock, so it still sends the token: the emulator refuses it.
    async with oauth_client(app) as client:
        client.token = tokens
        response = await client.get(emulator.url + USERINFO)
        assert_invalid_token(response)
        # A refresh brings a working access token back.
        await client.refresh_token(emulator.url + TOKEN)
        assert (await client.get(emulator.url + USERINFO)).status_code == 200


# --- logout (§13.6) --------------------------------------------------------------------------------


async def test_logout_clears_the_session_but_not_the_tokens(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                                            agent: httpx.AsyncClient,
                                                            backend: httpx.AsyncClient) -> None:
    tokens = await tokens_for(emulator, agent, backend, app)
    out = await agent.get(emulator.url + LOGOUT, params={"redirect_url": APP_ORIGIN + "/home?bye=1"})
    assert location(out) == APP_ORIGIN + "/home?bye=1"
    assert_login_page_url(emulator, location(await agent.get(authorize_url(emulator, **std_params(app)))))
    assert (await userinfo(backend, emulator, tokens["access_token"])).status_code == 200
    logout = next(e for e in await journal(api) if e["event"] == "logout")
    assert "zhangsan" in json.dumps(logout, ensure_ascii=False) or app.users["zhangsan"]["id"] in json.dumps(logout)


@pytest.mark.parametrize("params", [{"redirect_url": "https://evil.example/phish"},
                                    {"redirect_url": "http://app.example.com/bye"},
                                    {}])
async def test_logout_never_redirects_outside_registered_apps(emulator: EmulatorServer, app: OAuthApp,
                                                              agent: httpx.AsyncClient, params: dict) -> None:
    await obtain_code(emulator, agent, app)
    target = location(await agent.get(emulator.url + LOGOUT, params=params))
    assert_login_page_url(emulator, target)
    assert_login_page_url(emulator, location(await agent.get(authorize_url(emulator, **std_params(app)))))


async def test_logout_accepts_redirect_uri_as_an_alias(emulator: EmulatorServer, app: OAuthApp,
                                                       agent: httpx.AsyncClient) -> None:
    await obtain_code(emulator, agent, app)
    target = location(await agent.get(emulator.url + LOGOUT, params={"redirect_uri": APP_ORIGIN + "/bye"}))
    assert target == APP_ORIGIN + "/bye"


async def test_logout_may_return_to_any_registered_app(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                                       agent: httpx.AsyncClient) -> None:
    await register_app(api, "Other app", "https://other.example.com/cb", [])
    await obtain_code(emulator, agent, app)
    target = location(await agent.get(emulator.url + LOGOUT, params={"redirect_url": "https://other.example.com/"}))
    assert target == "https://other.example.com/"


# --- journal ---------------------------------------------------------------------------------------


async def test_journal_records_the_flow_newest_first(emulator: EmulatorServer, api: Api, app: OAuthApp,
                                                     agent: httpx.AsyncClient, backend: httpx.AsyncClient) -> None:
    tokens = await tokens_for(emulator, agent, backend, app)
    assert (await token_call(backend, emulator, refresh(app, tokens["refresh_token"]))).status_code == 200
    events = await journal(api)
    names = [e["event"] for e in events]
    for name in ("login", "code_issued", "token_issued", "token_refreshed"):
        assert name in names, (name, names)
    assert names.index("token_refreshed") < names.index("token_issued") < names.index("code_issued") \
        < names.index("login"), names
    for event in events:
        assert set(event) >= {"at", "client_id", "user", "event", "detail"}, event
    mine = [e for e in events if e["event"] in ("code_issued", "token_issued", "token_refreshed")]
    assert all(e["client_id"] == app.client_id for e in mine), mine
    login = next(e for e in events if e["event"] == "login")
    user_text = json.dumps(login["user"], ensure_ascii=False)
    assert "zhangsan" in user_text or app.users["zhangsan"]["id"] in user_text, login
    assert login["at"].startswith("2026-01-31T10:00"), "journal times are on the emulator clock"
