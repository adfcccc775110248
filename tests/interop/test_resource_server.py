"""The FastAPI resource server of resource_server.py, fed real Warden tokens.

FastAPI's TestClient calls the app in-process; the app itself fetches Warden's
JWKS over HTTP from the running server, as it would in production.

The expired-token test is the last in this module: its token comes from a second
server with the shortest access-token lifetime the configuration allows
(``WARDEN_ACCESS_TOKEN_TTL=30``; below 30 s the server refuses to start), issued
when the module starts, so the wait overlaps the other tests.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import jwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from fastapi.testclient import TestClient

from oidc_login import authorize
from resource_server import create_app
from warden_deployment import ALICE, ALICE_PASSWORD, Client, Deployment, OidcClients
from warden_process import WardenServer, WardenStartupError, start_warden

SHORT_TTL = 30


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_credentials_token(server: WardenServer, client: Client, scope: str) -> str:
    with OAuth2Client(client.client_id, client.client_secret, scope=scope, timeout=10) as oauth:
        token = oauth.fetch_token(server.token_endpoint, grant_type="client_credentials")
    return token["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def api(warden: Deployment) -> Iterator[TestClient]:
    with TestClient(create_app(warden.issuer)) as client:
        yield client


@pytest.fixture(scope="module")
def items_token(warden: Deployment) -> str:
    return client_credentials_token(warden.server, warden.service, "items")


# -- a short-lived token, issued as the module starts -------------------------------------


@dataclass
class Expiring:
    server: WardenServer
    token: str
    exp: int


@pytest.fixture(scope="module", autouse=True)
def expiring() -> Iterator[Expiring]:
    try:
        server = start_warden({"WARDEN_ACCESS_TOKEN_TTL": str(SHORT_TTL)})
    except WardenStartupError as exc:
        pytest.fail(f"could not start warden serve (TTL {SHORT_TTL}): {exc}", pytrace=False)
    try:
        raw = server.create_client("short", grant_types=["client_credentials"], scopes=["items"])
        token = client_credentials_token(
            server, Client(raw["client_id"], raw["client_secret"]), "items"
        )
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        yield Expiring(server, token, exp)
    finally:
        server.stop()


# -- accepted ----------------------------------------------------------------------------


def test_accepts_a_client_credentials_access_token(
    warden: Deployment, api: TestClient, items_token: str
) -> None:
    header = jwt.get_unverified_header(items_token)
    assert header["alg"] == "EdDSA" and header["typ"].lower() in ("at+jwt", "application/at+jwt")

    response = api.get("/items", headers=bearer(items_token))
    assert response.status_code == 200, response.text
    assert response.json() == [{"item_id": "foo", "owner": warden.service.client_id}]

    response = api.get("/whoami", headers=bearer(items_token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "sub": warden.service.client_id,
        "client_id": warden.service.client_id,
        "scope": "items",
    }


def test_accepts_a_user_access_token_from_the_password_grant(
    warden: Deployment, api: TestClient
) -> None:
    with OAuth2Client(
        warden.password_app.client_id, warden.password_app.client_secret, scope="items", timeout=10
    ) as oauth:
        token = oauth.fetch_token(
            warden.server.token_endpoint, username=ALICE, password=ALICE_PASSWORD
        )
    response = api.get("/items", headers=bearer(token["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json()[0]["owner"] == warden.alice_id


def test_short_lived_token_is_accepted_while_fresh(expiring: Expiring) -> None:
    assert expiring.exp - time.time() > 5, "the short-lived token expired before the module ran"
    with TestClient(create_app(expiring.server.issuer)) as api:
        response = api.get("/items", headers=bearer(expiring.token))
    assert response.status_code == 200, response.text


# -- refused -----------------------------------------------------------------------------


def assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    assert 'error="invalid_token"' in challenge, challenge


def test_refuses_no_token(api: TestClient) -> None:
    response = api.get("/items")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_refuses_a_tampered_token(api: TestClient, items_token: str) -> None:
    header, payload, signature = items_token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["scope"] = "items admin"
    claims["sub"] = "someone-else"
    forged = ".".join([header, b64url_encode(json.dumps(claims).encode()), signature])
    assert_invalid_token(api.get("/whoami", headers=bearer(forged)))

    # The signature altered instead of the payload.
    sig = bytearray(b64url_decode(signature))
    sig[0] ^= 0x01
    forged = ".".join([header, payload, b64url_encode(bytes(sig))])
    assert_invalid_token(api.get("/whoami", headers=bearer(forged)))


def test_refuses_an_unsigned_token(api: TestClient, items_token: str) -> None:
    header, payload, _ = items_token.split(".")
    unsigned_header = dict(json.loads(b64url_decode(header)), alg="none")
    forged = f"{b64url_encode(json.dumps(unsigned_header).encode())}.{payload}."
    assert_invalid_token(api.get("/whoami", headers=bearer(forged)))


def test_refuses_garbage(api: TestClient) -> None:
    assert_invalid_token(api.get("/whoami", headers=bearer("not-a-jwt")))


def test_refuses_a_token_for_another_audience(warden: Deployment, items_token: str) -> None:
    # The same valid token, at an API that expects tokens minted for another audience.
    with TestClient(create_app(warden.issuer, audience="https://api.example.com")) as other:
        assert_invalid_token(other.get("/whoami", headers=bearer(items_token)))


def test_refuses_a_token_of_another_issuer(expiring: Expiring, items_token: str) -> None:
    # A real Warden token from the session's server, at an API that trusts the other server.
    with TestClient(create_app(expiring.server.issuer)) as other:
        assert_invalid_token(other.get("/whoami", headers=bearer(items_token)))


def test_a_missing_scope_is_403(warden: Deployment, api: TestClient) -> None:
    token = client_credentials_token(warden.server, warden.service, "me")
    assert api.get("/whoami", headers=bearer(token)).status_code == 200
    response = api.get("/items", headers=bearer(token))
    assert response.status_code == 403, response.text
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
def test_refuses_an_id_token_presented_as_an_access_token(
    warden: Deployment, oidc_clients: OidcClients, api: TestClient, alg: str
) -> None:
    client = oidc_clients.rs256 if alg == "RS256" else oidc_clients.eddsa
    result = authorize(warden.server, client, ALICE, ALICE_PASSWORD, scope="openid profile items")
    tokens = result.redeem(warden.server.token_endpoint)

    id_token = tokens["id_token"]
    header = jwt.get_unverified_header(id_token)
    assert header["alg"] == alg
    assert header.get("typ", "JWT").upper() == "JWT"
    claims = jwt.decode(id_token, options={"verify_signature": False})
    assert claims["aud"] in (client.client_id, [client.client_id])
    assert claims["sub"] == warden.alice_id

    # The access token of the same response is accepted...
    response = api.get("/items", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json()[0]["owner"] == warden.alice_id
    # ...the ID token is not.
    assert_invalid_token(api.get("/whoami", headers=bearer(id_token)))


# -- keep last: waits for the short-lived token to expire -------------------------------


def test_refuses_an_expired_token(expiring: Expiring) -> None:
    wait = expiring.exp - time.time() + 1.5
    if wait > 0:
        time.sleep(wait)
    with TestClient(create_app(expiring.server.issuer)) as api:
        assert_invalid_token(api.get("/items", headers=bearer(expiring.token)))
