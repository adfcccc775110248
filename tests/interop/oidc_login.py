"""The authorization code flow (with PKCE) as a browser and Authlib's client do it.

Authlib's ``OAuth2Client`` builds the authorization URL (state, nonce,
S256 code challenge) and redeems the code; an ``httpx.Client`` with a cookie
jar plays the browser: it reads Warden's login page, posts the form it finds
there (CSRF token and hidden fields as served), then the consent form when one
is shown, and stops at the 303 back to the client's redirect URI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from warden_deployment import REDIRECT_URI, Client
from warden_process import WardenServer


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    # (name, value) of each submit button
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type", "text").lower() == "submit":
                self.forms[-1].buttons.append((a["name"], a.get("value", "")))
            else:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self.forms[-1].buttons.append((a.get("name", ""), a.get("value", "")))


def forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_posting_to(html: str, path: str) -> Form | None:
    for form in forms(html):
        if urlsplit(form.action).path == path:
            return form
    return None


@dataclass
class AuthorizationResult:
    """Where the browser was sent back to, and the client that asked."""

    oauth: OAuth2Client
    location: str
    params: dict[str, str]
    state: str
    nonce: str
    code_verifier: str
    browser: httpx.Client
    login_shown: bool
    consent_shown: bool

    def redeem(self, token_endpoint: str) -> dict:
        """The token response for the code (Authlib checks ``state``)."""
        return self.oauth.fetch_token(
            token_endpoint,
            authorization_response=self.location,
            state=self.state,
            code_verifier=self.code_verifier,
        )


def authorize(
    server: WardenServer,
    client: Client,
    username: str,
    password: str,
    *,
    scope: str = "openid profile email",
    decision: str = "allow",
    browser: httpx.Client | None = None,
) -> AuthorizationResult:
    """Runs /authorize up to the redirect back to ``REDIRECT_URI``; fails the test otherwise."""
    oauth = OAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        redirect_uri=REDIRECT_URI,
        scope=scope,
        code_challenge_method="S256",
        timeout=10,
    )
    code_verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = oauth.create_authorization_url(
        server.openid_configuration["authorization_endpoint"],
        code_verifier=code_verifier,
        nonce=nonce,
    )
    browser = browser or httpx.Client(follow_redirects=False, timeout=10)
    response = browser.get(url)

    login = form_posting_to(response.text, "/authorize/login") if response.status_code == 200 else None
    if login is not None:
        assert "username" in login.fields and "password" in login.fields, login
        data = dict(login.fields, username=username, password=password)
        response = browser.post(urljoin(str(response.url), login.action), data=data)

    consent = form_posting_to(response.text, "/authorize/consent") if response.status_code == 200 else None
    if consent is not None:
        assert ("decision", decision) in consent.buttons, consent
        data = dict(consent.fields, decision=decision)
        response = browser.post(urljoin(str(response.url), consent.action), data=data)

    assert response.status_code in (302, 303), (
        f"expected a redirect back to the client, got {response.status_code}:\n{response.text[:2000]}"
    )
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return AuthorizationResult(
        oauth=oauth,
        location=location,
        params=params,
        state=state,
        nonce=nonce,
        code_verifier=code_verifier,
        browser=browser,
        login_shown=login is not None,
        consent_shown=consent is not None,
    )
