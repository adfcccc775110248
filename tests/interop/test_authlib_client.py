"""Authlib's httpx OAuth 2.0 client against Warden's token, revocation and introspection endpoints.

``authlib.integrations.httpx_client.OAuth2Client`` is what Python services use to
talk to an authorization server; nothing here builds a token request by hand.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client, OAuthError

from warden_deployment import ALICE, ALICE_PASSWORD, Client, Deployment


class Recorder:
    """Keeps the requests an httpx client sends (to see how the client authenticated)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> None:
        request.read()
        self.requests.append(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_form(self) -> dict[str, list[str]]:
        return parse_qs(self.last.content.decode())


def oauth_client(client: Client, recorder: Recorder | None = None, **kwargs) -> OAuth2Client:
    hooks = {"request": [recorder]} if recorder else {}
    return OAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        event_hooks=hooks,
        timeout=10,
        **kwargs,
    )


def introspect(warden: Deployment, token: str, hint: str | None = None) -> dict:
    """Introspection as a resource server does it: its own confidential client."""
    with oauth_client(warden.resource_server) as rs:
        response = rs.introspect_token(
            warden.server.introspection_endpoint, token=token, token_type_hint=hint
        )
    assert response.status_code == 200, response.text
    return response.json()


def password_grant(client: OAuth2Client, warden: Deployment) -> dict:
    """Alice's tokens through ``grant_type=password`` (the grant FastAPI's tutorial uses)."""
    return client.fetch_token(warden.server.token_endpoint, username=ALICE, password=ALICE_PASSWORD)


def assert_bearer(token: dict) -> None:
    assert token["token_type"].lower() == "bearer"
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0
    assert token["access_token"].count(".") == 2  # a JWT


# -- client_credentials -----------------------------------------------------------------


def test_client_credentials_with_client_secret_basic(warden: Deployment) -> None:
    recorder = Recorder()
    with oauth_client(
        warden.service, recorder, token_endpoint_auth_method="client_secret_basic", scope="items"
    ) as client:
        token = client.fetch_token(warden.server.token_endpoint, grant_type="client_credentials")

    sent = recorder.last
    assert sent.headers["authorization"].startswith("Basic ")
    decoded = base64.b64decode(sent.headers["authorization"][6:]).decode()
    assert decoded.split(":", 1)[0] == warden.service.client_id
    assert "client_secret" not in recorder.last_form()

    assert_bearer(token)
    assert token["scope"] == "items"
    assert "refresh_token" not in token  # RFC 6749 §4.4.3
    claims = introspect(warden, token["access_token"])
    assert claims["active"] is True
    assert claims["client_id"] == warden.service.client_id
    assert claims["sub"] == warden.service.client_id


def test_client_credentials_with_client_secret_post(warden: Deployment) -> None:
    recorder = Recorder()
    with oauth_client(
        warden.service, recorder, token_endpoint_auth_method="client_secret_post", scope="items me"
    ) as client:
        token = client.fetch_token(warden.server.token_endpoint, grant_type="client_credentials")

    assert "authorization" not in recorder.last.headers
    form = recorder.last_form()
    assert form["client_id"] == [warden.service.client_id]
    assert form["client_secret"] == [warden.service.client_secret]

    assert_bearer(token)
    assert set(token["scope"].split()) == {"items", "me"}
    assert introspect(warden, token["access_token"])["active"] is True


def test_client_credentials_with_a_wrong_secret_is_invalid_client(warden: Deployment) -> None:
    wrong = Client(warden.service.client_id, "not-the-secret")
    for method in ("client_secret_basic", "client_secret_post"):
        with oauth_client(wrong, token_endpoint_auth_method=method) as client:
            with pytest.raises(OAuthError) as failure:
                client.fetch_token(warden.server.token_endpoint, grant_type="client_credentials")
        assert failure.value.error == "invalid_client", method


# -- refresh -------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_is_refused(warden: Deployment) -> None:
    with oauth_client(warden.password_app, scope="me items") as client:
        first = password_grant(client, warden)
        assert_bearer(first)
        assert set(first["scope"].split()) == {"me", "items"}
        old_refresh = first["refresh_token"]

        second = client.refresh_token(warden.server.token_endpoint, refresh_token=old_refresh)
        assert_bearer(second)
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] and second["refresh_token"] != old_refresh
        assert set(second["scope"].split()) == {"me", "items"}
        assert introspect(warden, second["access_token"])["sub"] == warden.alice_id

        # Strict rotation (the default): the old token is refused at once.
        with pytest.raises(OAuthError) as failure:
            client.refresh_token(warden.server.token_endpoint, refresh_token=old_refresh)
        assert failure.value.error == "invalid_grant"

    # Reuse of a rotated token revokes the whole family (RFC 9700 §4.14.2).
    assert introspect(warden, second["refresh_token"], "refresh_token") == {"active": False}


# -- revocation ------------------------------------------------------------------------------


def test_revoked_refresh_token_is_inactive_and_refused(warden: Deployment) -> None:
    with oauth_client(warden.password_app, scope="me items") as client:
        token = password_grant(client, warden)
        assert introspect(warden, token["refresh_token"], "refresh_token")["active"] is True
        response = client.revoke_token(
            warden.server.revocation_endpoint,
            token=token["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert response.status_code == 200, response.text
        assert introspect(warden, token["refresh_token"], "refresh_token") == {"active": False}
        with pytest.raises(OAuthError) as failure:
            client.refresh_token(warden.server.token_endpoint, refresh_token=token["refresh_token"])
        assert failure.value.error == "invalid_grant"


def test_revoked_access_token_is_inactive(warden: Deployment) -> None:
    with oauth_client(warden.service, scope="items") as client:
        token = client.fetch_token(warden.server.token_endpoint, grant_type="client_credentials")
        assert introspect(warden, token["access_token"])["active"] is True
        response = client.revoke_token(
            warden.server.revocation_endpoint,
            token=token["access_token"],
            token_type_hint="access_token",
        )
        assert response.status_code == 200, response.text
    assert introspect(warden, token["access_token"]) == {"active": False}


def test_revoking_an_unknown_token_is_200(warden: Deployment) -> None:
    with oauth_client(warden.service) as client:
        response = client.revoke_token(warden.server.revocation_endpoint, token="no-such-token")
    assert response.status_code == 200  # RFC 7009 §2.2


# -- introspection ---------------------------------------------------------------------------


def test_introspection_of_a_user_access_token(warden: Deployment) -> None:
    with oauth_client(warden.password_app, scope="items") as client:
        token = password_grant(client, warden)
    with oauth_client(warden.resource_server, token_endpoint_auth_method="client_secret_post") as rs:
        response = rs.introspect_token(
            warden.server.introspection_endpoint,
            token=token["access_token"],
            token_type_hint="access_token",
        )
    assert response.status_code == 200, response.text
    claims = response.json()
    assert claims["active"] is True
    assert claims["scope"] == "items"
    assert claims["client_id"] == warden.password_app.client_id
    assert claims["sub"] == warden.alice_id
    assert claims["username"] == ALICE
    assert claims["iss"] == warden.issuer
    assert claims["exp"] > time.time()


def test_introspection_of_a_client_credentials_token(warden: Deployment) -> None:
    with oauth_client(warden.service, scope="items") as client:
        token = client.fetch_token(warden.server.token_endpoint, grant_type="client_credentials")
    claims = introspect(warden, token["access_token"])
    assert claims["active"] is True
    assert claims["scope"] == "items"
    assert claims["client_id"] == warden.service.client_id
    assert claims["sub"] == warden.service.client_id


def test_introspection_of_garbage_is_inactive(warden: Deployment) -> None:
    assert introspect(warden, "not.a.token") == {"active": False}


def test_introspection_needs_a_confidential_client(warden: Deployment) -> None:
    wrong = Client(warden.resource_server.client_id, "not-the-secret")
    with oauth_client(wrong) as rs:
        response = rs.introspect_token(warden.server.introspection_endpoint, token="x")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
