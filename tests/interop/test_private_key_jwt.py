"""Authlib's ``private_key_jwt`` (RFC 7523) against Warden: a service registered with its
public key only (no secret) gets tokens with assertions authlib signs; an assertion replayed
or made by another key is ``invalid_client``.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey

from warden_deployment import Deployment

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def keyed_service(warden: Deployment, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ECKey]:
    key = ECKey.generate_key("P-256")
    jwks = tmp_path_factory.mktemp("keys") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    client = warden.server.create_client(
        "keyed-service", grant_types=["client_credentials"], scopes=["items"], jwks_file=str(jwks)
    )
    assert client["client_secret"] is None, "a client with keys gets no secret"
    return client["client_id"], key


def test_authlib_authenticates_with_private_key_jwt(
    warden: Deployment, keyed_service: tuple[str, ECKey]
) -> None:
    client_id, key = keyed_service
    token_endpoint = warden.server.token_endpoint
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> None:
        request.read()
        sent.append(request)

    with OAuth2Client(
        client_id=client_id,
        # authlib takes the private key where a secret would go; PEM text is read as RSA,
        # so an EC key is passed as a joserfc key.
        client_secret=key,
        token_endpoint_auth_method="private_key_jwt",
        scope="items",
        timeout=10,
        event_hooks={"request": [record]},
    ) as client:
        client.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="ES256"))
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
        # A second request: authlib makes a fresh assertion (new jti) each time.
        again = client.fetch_token(token_endpoint, grant_type="client_credentials")

    form = dict(httpx.QueryParams(sent[0].content.decode()))
    assert form["client_assertion_type"] == ASSERTION_TYPE
    assert "client_secret" not in form
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "items"
    assert again["token_type"].lower() == "bearer"
    assert len(sent) == 2
    first = dict(httpx.QueryParams(sent[0].content.decode()))["client_assertion"]
    second = dict(httpx.QueryParams(sent[1].content.decode()))["client_assertion"]
    assert first != second, "a fresh assertion per request"

    # The assertion authlib sent, replayed by someone who captured it: refused.
    replay = httpx.post(token_endpoint, data=form, timeout=10)
    assert replay.status_code == 401, replay.text
    assert replay.json()["error"] == "invalid_client"


def test_an_assertion_signed_by_another_key_is_invalid_client(
    warden: Deployment, keyed_service: tuple[str, ECKey]
) -> None:
    client_id, _ = keyed_service
    thief = ECKey.generate_key("P-256")
    now = int(time.time())
    assertion = jwt.encode(
        {"alg": "ES256"},
        {
            "iss": client_id,
            "sub": client_id,
            "aud": warden.server.token_endpoint,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 60,
        },
        thief,
    )
    with OAuth2Client(client_id=client_id, timeout=10) as client:
        with pytest.raises(OAuthError) as refused:
            client.fetch_token(
                warden.server.token_endpoint,
                grant_type="client_credentials",
                client_assertion_type=ASSERTION_TYPE,
                client_assertion=assertion,
            )
    assert refused.value.error == "invalid_client"
