"""Warden as an OpenID provider, seen by Authlib (code flow + PKCE) and PyJWT (ID tokens).

These need the OpenID provider (/authorize, ID tokens, /userinfo, discovery);
see /work/oidc-contract.md for what is expected.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client, OAuthError

from oidc_login import authorize, form_posting_to
from warden_deployment import (
    ALICE,
    ALICE_EMAIL,
    ALICE_PASSWORD,
    POST_LOGOUT_REDIRECT_URI,
    REDIRECT_URI,
    Deployment,
    OidcClients,
)


def test_discovery_document(warden: Deployment) -> None:
    issuer = warden.issuer
    config = warden.server.openid_configuration
    assert config["issuer"] == issuer
    expected = {
        "authorization_endpoint": "/authorize",
        "token_endpoint": "/token",
        "userinfo_endpoint": "/userinfo",
        "jwks_uri": "/.well-known/jwks.json",
        "end_session_endpoint": "/logout",
        "revocation_endpoint": "/revoke",
        "introspection_endpoint": "/introspect",
    }
    for key, path in expected.items():
        assert config.get(key) == issuer + path, key
    assert config["response_types_supported"] == ["code"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert set(config["id_token_signing_alg_values_supported"]) == {"RS256", "EdDSA"}
    assert set(config["token_endpoint_auth_methods_supported"]) >= {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert config["subject_types_supported"] == ["public"]
    assert "openid" in config["scopes_supported"]
    assert config["authorization_response_iss_parameter_supported"] is True
    assert "authorization_code" in config["grant_types_supported"]


def test_jwks_holds_eddsa_and_rsa_keys(warden: Deployment) -> None:
    keys = httpx.get(warden.issuer + "/.well-known/jwks.json", timeout=10).json()["keys"]
    assert any(k["kty"] == "OKP" and k.get("crv") == "Ed25519" for k in keys), keys
    assert any(k["kty"] == "RSA" for k in keys), keys
    for key in keys:
        assert "kid" in key and "d" not in key and "p" not in key, key


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
def test_code_flow_id_token_verifies_with_pyjwt(
    warden: Deployment, oidc_clients: OidcClients, alg: str
) -> None:
    client = oidc_clients.rs256 if alg == "RS256" else oidc_clients.eddsa
    result = authorize(warden.server, client, ALICE, ALICE_PASSWORD)
    assert result.login_shown and not result.consent_shown  # first-party: no consent page
    assert result.params["state"] == result.state
    assert result.params["iss"] == warden.issuer  # RFC 9207
    assert "code" in result.params

    tokens = result.redeem(warden.server.token_endpoint)
    assert tokens["token_type"].lower() == "bearer"
    assert set(tokens["scope"].split()) == {"openid", "profile", "email"}
    assert tokens.get("refresh_token")

    jwks = jwt.PyJWKClient(warden.server.openid_configuration["jwks_uri"])
    id_token = tokens["id_token"]
    claims = jwt.decode(
        id_token,
        jwks.get_signing_key_from_jwt(id_token).key,
        algorithms=[alg],
        audience=client.client_id,
        issuer=warden.issuer,
        options={"require": ["exp", "iat", "sub", "aud", "iss"]},
    )
    assert claims["sub"] == warden.alice_id
    assert claims["nonce"] == result.nonce
    assert claims["iat"] <= time.time() + 5

    # The code is single-use (RFC 6749 §4.1.2).
    with pytest.raises(OAuthError) as failure:
        result.redeem(warden.server.token_endpoint)
    assert failure.value.error == "invalid_grant"


def test_userinfo_with_the_code_flow_access_token(
    warden: Deployment, oidc_clients: OidcClients
) -> None:
    result = authorize(warden.server, oidc_clients.rs256, ALICE, ALICE_PASSWORD)
    tokens = result.redeem(warden.server.token_endpoint)
    userinfo = warden.server.openid_configuration["userinfo_endpoint"]
    # Authlib's client sends the access token as a Bearer header.
    response = result.oauth.get(userinfo)
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["sub"] == warden.alice_id
    assert info["preferred_username"] == ALICE
    assert info["email"] == ALICE_EMAIL

    assert httpx.get(userinfo, timeout=10).status_code == 401
    assert tokens["access_token"]


def test_the_session_cookie_skips_the_login_page(
    warden: Deployment, oidc_clients: OidcClients
) -> None:
    first = authorize(warden.server, oidc_clients.rs256, ALICE, ALICE_PASSWORD)
    # Same browser, wrong password: never asked, since the session is there.
    again = authorize(
        warden.server, oidc_clients.rs256, ALICE, "wrong password", browser=first.browser
    )
    assert not again.login_shown
    assert again.params["code"] != first.params["code"]


def test_third_party_client_consent_deny_and_allow(
    warden: Deployment, oidc_clients: OidcClients
) -> None:
    denied = authorize(
        warden.server, oidc_clients.third_party, ALICE, ALICE_PASSWORD, decision="deny"
    )
    assert denied.consent_shown
    assert denied.params["error"] == "access_denied"
    assert denied.params["state"] == denied.state
    assert denied.params["iss"] == warden.issuer
    assert "code" not in denied.params

    allowed = authorize(warden.server, oidc_clients.third_party, ALICE, ALICE_PASSWORD)
    assert allowed.consent_shown
    assert "code" in allowed.params
    tokens = allowed.redeem(warden.server.token_endpoint)
    assert "id_token" in tokens


def test_wrong_password_shows_the_login_page_again(
    warden: Deployment, oidc_clients: OidcClients
) -> None:
    oauth = OAuth2Client(
        oidc_clients.rs256.client_id,
        oidc_clients.rs256.client_secret,
        redirect_uri=REDIRECT_URI,
        scope="openid",
        code_challenge_method="S256",
    )
    url, _ = oauth.create_authorization_url(
        warden.server.openid_configuration["authorization_endpoint"],
        code_verifier=generate_token(48),
        nonce=generate_token(20),
    )
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        page = browser.get(url)
        login = form_posting_to(page.text, "/authorize/login")
        assert page.status_code == 200 and login is not None, page.text[:2000]
        response = browser.post(
            urljoin(str(page.url), login.action),
            data=dict(login.fields, username=ALICE, password="not her password"),
        )
    # The form again (200, as other providers answer it), with an alert, no session and no
    # redirect: a form is not an HTTP authentication scheme, so no 401 challenge applies.
    assert response.status_code == 200, response.text[:2000]
    assert 'role="alert"' in response.text
    assert form_posting_to(response.text, "/authorize/login") is not None
    assert "location" not in response.headers
    assert "set-cookie" not in response.headers or "warden_session" not in response.headers["set-cookie"]


def test_logout_redirects_to_the_registered_uri_and_ends_the_session(
    warden: Deployment, oidc_clients: OidcClients
) -> None:
    client = oidc_clients.rs256
    first = authorize(warden.server, client, ALICE, ALICE_PASSWORD)
    id_token = first.redeem(warden.server.token_endpoint)["id_token"]

    response = first.browser.get(
        warden.server.openid_configuration["end_session_endpoint"],
        params={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI,
            "state": "bye",
            "client_id": client.client_id,
        },
    )
    assert response.status_code in (302, 303), response.text[:2000]
    location = response.headers["location"]
    assert location.startswith(POST_LOGOUT_REDIRECT_URI), location
    assert parse_qs(urlsplit(location).query)["state"] == ["bye"]

    # The browser's session is gone: the login page is shown again.
    again = authorize(warden.server, client, ALICE, ALICE_PASSWORD, browser=first.browser)
    assert again.login_shown
