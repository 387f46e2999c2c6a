"""Certification of a merchant web app's unified-login callback (§13), judged from outside.

The checks play the end user's browser (a cookie jar, no redirect following) against the app's
login start URL and the running emulator's own OAuth endpoints, and judge from the emulator's side
(which codes were redeemed, which tokens issued, which userinfo calls answered) plus the callback's
answer: the status and the cookies of a successful login are its "logged in" signature, and no
attack may earn one of those cookies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
from sqlmodel import select

from ..marketplace.errors import Conflict
from ..store.tables import OAuthApp, OAuthCode, OAuthToken
from .battery import LOGIN
from .runner import FAILED, PASSED, SKIPPED, CaseResult

if TYPE_CHECKING:
    from ..oauth.service import OAuth

AUTHORIZE = "/api/v1/oauth2/authorize"
THROUGH_THE_EMULATOR = "run through POST /certify of the emulator the app logs in with"
TIMEOUT_S = 10.0


@dataclass
class LoginTarget:
    """The web app under test; ``oauth`` and ``base_url`` are the running emulator's (None from the
    command line, whose throw-away emulator no app logs in with)."""

    client_id: Optional[str]
    login_start: Optional[str]
    login_user: Optional[str] = None
    oauth: Optional["OAuth"] = None
    base_url: Optional[str] = None


class _Refused(Exception):
    """A step of the flow did not go as a correct app and the emulator make it go."""


@dataclass
class _Callback:
    url: str
    code: str
    state: str
    exchanges: list[dict[str, Any]] = field(default_factory=list)


def _not_run(reason: str) -> list[CaseResult]:
    return [CaseResult(case, SKIPPED, f"not run: {reason}") for case in LOGIN]


async def certify_login(target: LoginTarget) -> list[CaseResult]:
    """The login cases of the battery, in order."""
    if not target.client_id or not target.login_start:
        return _not_run("give both client_id and login_start (the web app's login start URL) to certify "
                        "the unified-login callback")
    if target.oauth is None or not target.base_url:
        return _not_run(THROUGH_THE_EMULATOR)
    app = await target.oauth.find_app(target.client_id)
    if app is None:
        return _not_run(f"client_id {target.client_id!r} is not an application of this emulator")
    users = await target.oauth.users(app.client_id)
    user = target.login_user or (users[0].user_name if users else None)
    if user is None or all(u.user_name != user for u in users):
        return _not_run(f"the application has no test user {user!r}" if user else "the application has no test user")
    return await _Checks(target.oauth, target.base_url.rstrip("/"), app, target.login_start, user).run()


class _Checks:
    def __init__(self, oauth: "OAuth", base_url: str, app: OAuthApp, login_start: str, user: str) -> None:
        self.oauth, self.base_url, self.app, self.login_start, self.user = oauth, base_url, app, login_start, user
        self.signature: Optional[tuple[int, frozenset[str]]] = None
        self.happy: Optional[_Callback] = None

    async def run(self) -> list[CaseResult]:
        results = []
        for case in LOGIN:
            if case.id != "login.happy_path" and self.signature is None:
                results.append(CaseResult(case, SKIPPED, "not run: the happy path did not log in, so there is no "
                                                         "logged-in answer to compare with"))
                continue
            check = getattr(self, "_" + case.id.split(".", 1)[1])
            async with httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT_S) as browser:
                exchanges: list[dict[str, Any]] = []
                try:
                    outcome, detail = await check(browser, exchanges)
                except _Refused as refused:
                    outcome, detail = FAILED, str(refused)
                except httpx.HTTPError as exc:
                    outcome, detail = FAILED, f"HTTP error: {exc or type(exc).__name__}"
            results.append(CaseResult(case, outcome, detail, exchanges))
        return results

    # -- the cases --------------------------------------------------------------------------
    async def _happy_path(self, browser: httpx.AsyncClient, exchanges: list[dict[str, Any]]) -> tuple[str, str]:
        callback = await self._log_in(browser, exchanges)
        response = await self._deliver(browser, callback.url, exchanges, watch=callback.code)
        tokens = await self._tokens(callback.code)
        calls = self.oauth.certify_watch.pop(callback.code, 0)
        if not tokens:
            return FAILED, f"the callback answered {response.status_code} but did not redeem the code at the " \
                           "token endpoint"
        if not calls:
            return FAILED, "the code was redeemed but userinfo was never called with the issued access token"
        cookies = _cookies_set(response)
        if not cookies:
            return FAILED, f"the callback answered {response.status_code} and set no cookie: nothing shows the " \
                           "user logged in"
        self.signature, self.happy = (response.status_code, cookies), callback
        return PASSED, f"code redeemed, userinfo called; the callback answered {response.status_code} setting " \
                       f"{', '.join(sorted(cookies))}"

    async def _state_mismatch(self, browser: httpx.AsyncClient, exchanges: list[dict[str, Any]]) -> tuple[str, str]:
        callback = await self._log_in(browser, exchanges)
        response = await self._deliver(browser, _with(callback.url, code=callback.code,
                                                      state="certification-forged-state"), exchanges)
        problems = []
        if await self._tokens(callback.code) or await self._redeemed(callback.code):
            problems.append("the app redeemed the code although the state was not its own")
        problems += self._logged_in(response)
        return self._verdict(problems, "the code was not redeemed and nobody was logged in")

    async def _code_of_another_client(self, browser: httpx.AsyncClient,
                                      exchanges: list[dict[str, Any]]) -> tuple[str, str]:
        state, _ = await self._start(browser, exchanges)
        code = await self._foreign_code()
        assert self.happy is not None
        response = await self._deliver(browser, _with(self.happy.url, code=code, state=state), exchanges)
        return self._verdict(self._logged_in(response), "the code of another client logged nobody in")

    async def _reused_code(self, browser: httpx.AsyncClient, exchanges: list[dict[str, Any]]) -> tuple[str, str]:
        callback = await self._log_in(browser, exchanges)
        first = await self._deliver(browser, callback.url, exchanges)
        if not self._logged_in(first):
            return FAILED, "the first login of this check did not log in, so the reuse cannot be judged"
        issued = len(await self._tokens(callback.code))
        again = await self._deliver(browser, callback.url, exchanges)
        problems = []
        if len(await self._tokens(callback.code)) > issued:
            problems.append("a second token was issued for the code")
        problems += self._logged_in(again)
        return self._verdict(problems, "the reused code logged nobody in again")

    async def _forged_token(self, browser: httpx.AsyncClient, exchanges: list[dict[str, Any]]) -> tuple[str, str]:
        callback = await self._log_in(browser, exchanges)
        self.oauth.certify_forge.add(callback.code)
        try:
            response = await self._deliver(browser, callback.url, exchanges)
        finally:
            self.oauth.certify_forge.discard(callback.code)
        if not await self._redeemed(callback.code):
            return FAILED, "the app did not redeem the code, so the forged token was never handed to it"
        return self._verdict(self._logged_in(response), "the token userinfo refused logged nobody in")

    # -- the browser --------------------------------------------------------------------------
    async def _get(self, browser: httpx.AsyncClient, url: str, exchanges: list[dict[str, Any]]) -> httpx.Response:
        response = await browser.get(url)
        exchanges.append(_exchange(response))
        return response

    async def _start(self, browser: httpx.AsyncClient, exchanges: list[dict[str, Any]]) -> tuple[str, str]:
        """GET the app's login start: its state and the authorize URL it sends the browser to."""
        response = await self._get(browser, self.login_start, exchanges)
        target = _location(response)
        if target is None or not target.startswith(self.base_url + AUTHORIZE):
            raise _Refused(f"the login start answered {response.status_code}, not a redirect to "
                           f"{self.base_url + AUTHORIZE}")
        query = dict(parse_qsl(urlsplit(target).query))
        if query.get("client_id") != self.app.client_id:
            raise _Refused(f"the login start sent client_id {query.get('client_id')!r}, not {self.app.client_id!r}")
        if not query.get("state"):
            raise _Refused("the login start sent no state to the authorize endpoint")
        if not _cookies_set(response):
            raise _Refused("the login start set no cookie to bind its state to the browser")
        return query["state"], target

    async def _log_in(self, browser: httpx.AsyncClient, exchanges: list[dict[str, Any]]) -> _Callback:
        """Start, authorize, log in with the test user's one-click button: the redirect back to the app."""
        state, authorize = await self._start(browser, exchanges)
        response = await self._get(browser, authorize, exchanges)
        target = _location(response)
        if target is None:
            raise _Refused(f"the authorize endpoint answered {response.status_code}: {response.text[:300]}")
        if target.startswith(self.base_url + "/unified-login/"):
            page = await self._get(browser, target.split("#", 1)[0], exchanges)
            form = _login_form(page.text, f"Log in as {self.user}")
            if form is None:
                raise _Refused(f"the login page has no 'Log in as {self.user}' button")
            action, data = form
            response = await browser.post(urljoin(str(page.url), action), content=urlencode(data).encode(),
                                          headers={"Content-Type": "application/x-www-form-urlencoded"})
            exchanges.append(_exchange(response))
            target = _location(response)
            if target is None:
                raise _Refused(f"the login answered {response.status_code}, not a redirect back to the app")
        query = dict(parse_qsl(urlsplit(target).query))
        if not query.get("code"):
            raise _Refused(f"the login came back without a code: {target}")
        if query.get("state") != state:
            raise _Refused("the login came back without the app's state")
        return _Callback(target, query["code"], state)

    async def _deliver(self, browser: httpx.AsyncClient, url: str, exchanges: list[dict[str, Any]],
                       watch: Optional[str] = None) -> httpx.Response:
        code = dict(parse_qsl(urlsplit(url).query)).get("code")
        if code:
            self.oauth.certify_watch.setdefault(watch or code, 0)
        try:
            return await self._get(browser, url, exchanges)
        finally:
            if code and watch is None:
                self.oauth.certify_watch.pop(code, None)

    # -- the emulator's side --------------------------------------------------------------------
    async def _tokens(self, code: str) -> list[OAuthToken]:
        async with self.oauth.store.read() as session:
            return list((await session.exec(select(OAuthToken).where(
                OAuthToken.code == code, OAuthToken.kind == "access"))).all())

    async def _redeemed(self, code: str) -> bool:
        async with self.oauth.store.read() as session:
            row = await session.get(OAuthCode, code)
        return row is not None and row.used_at is not None

    async def _foreign_code(self) -> str:
        """A valid code of a second application of the same merchant, for that application's test user."""
        from ..oauth.service import AppInput, UserInput

        client_id = "certifyother" + hashlib.sha256(self.app.client_id.encode()).hexdigest()[:20]
        if await self.oauth.find_app(client_id) is None:
            try:
                await self.oauth.create_app(AppInput(merchant_id=self.app.merchant_id, client_id=client_id,
                                                     name=f"Certification: another client of {self.app.name}"[:128],
                                                     login_url=self.app.login_url))
            except Conflict:
                pass
        users = await self.oauth.users(client_id)
        user = users[0] if users else await self.oauth.add_user(
            client_id, UserInput(userName="certify-other", name="Certification user"))
        return await self.oauth.issue_code(user, client_id, self.app.login_url, False, None)

    # -- verdicts -------------------------------------------------------------------------------
    def _logged_in(self, response: httpx.Response) -> list[str]:
        assert self.signature is not None
        status, cookies = self.signature
        earned = cookies & _cookies_set(response)
        if earned:
            return [f"the callback answered {response.status_code} setting the logged-in cookie(s) "
                    f"{', '.join(sorted(earned))} (the successful login answered {status})"]
        return []

    @staticmethod
    def _verdict(problems: list[str], fine: str) -> tuple[str, str]:
        return (FAILED, "; ".join(problems)) if problems else (PASSED, fine)


def _location(response: httpx.Response) -> Optional[str]:
    if response.status_code not in (301, 302, 303, 307, 308) or "location" not in response.headers:
        return None
    return urljoin(str(response.request.url), response.headers["location"])


def _with(url: str, **params: str) -> str:
    """``url`` with these query parameters replaced."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode(kept + list(params.items()))))


def _cookies_set(response: httpx.Response) -> frozenset[str]:
    """Names of the cookies the answer sets (a cookie it deletes or empties does not count)."""
    names = set()
    now = datetime.now(timezone.utc)
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        for name, morsel in jar.items():
            if not morsel.value or morsel.value in ('""', "deleted"):
                continue
            max_age = morsel["max-age"]
            if max_age and max_age.lstrip("-").isdigit() and int(max_age) <= 0:
                continue
            if morsel["expires"]:
                try:
                    if parsedate_to_datetime(morsel["expires"]) <= now:
                        continue
                except (TypeError, ValueError):
                    pass
            names.add(name)
    return frozenset(names)


def _exchange(response: httpx.Response) -> dict[str, Any]:
    request = response.request
    headers = {k: v for k, v in response.headers.multi_items() if k.lower() in ("location", "set-cookie")}
    return {"request": {"method": request.method, "url": str(request.url)},
            "response": {"status": response.status_code, "headers": headers, "body": response.text[:500]}}


class _FormFinder(HTMLParser):
    """The login page's form holding a submit button with the given caption, as a browser submits it."""

    def __init__(self, caption: str) -> None:
        super().__init__(convert_charrefs=True)
        self.caption = caption
        self.found: Optional[tuple[str, list[tuple[str, str]]]] = None
        self._form: Optional[tuple[str, list[tuple[str, str]]]] = None
        self._button: Optional[dict[str, str]] = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = (a.get("action", ""), [])
        elif tag == "input" and self._form is not None and a.get("name") and a.get("type", "text") == "hidden":
            self._form[1].append((a["name"], a.get("value", "")))
        elif tag == "button" and self._form is not None:
            self._button, self._text = a, []

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self._form is not None:
            if " ".join("".join(self._text).split()) == self.caption and self.found is None:
                name = self._button.get("name")
                extra = [(name, self._button.get("value", ""))] if name else []
                self.found = (self._form[0], [*self._form[1], *extra])
            self._button = None
        elif tag == "form":
            self._form = None


def _login_form(html: str, caption: str) -> Optional[tuple[str, list[tuple[str, str]]]]:
    finder = _FormFinder(caption)
    finder.feed(html)
    finder.close()
    return finder.found

