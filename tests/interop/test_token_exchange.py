"""Token exchange (RFC 8693) with authlib: an API that received Alice's token trades it for
a narrower one for another API, naming itself as the actor; PyJWT reads the result."""

from __future__ import annotations

import jwt
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
import pytest

from warden_deployment import ALICE, ALICE_PASSWORD, Deployment

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def test_an_api_exchanges_a_users_token_for_a_narrower_one(warden: Deployment) -> None:
    server = warden.server
    gateway = server.create_client("gateway", grant_types=[GRANT])
    with OAuth2Client(
        client_id=warden.password_app.client_id,
        client_secret=warden.password_app.client_secret,
        timeout=10,
    ) as app:
        user_token = app.fetch_token(
            server.token_endpoint, username=ALICE, password=ALICE_PASSWORD, scope="me items"
        )["access_token"]

    with OAuth2Client(
        client_id=gateway["client_id"], client_secret=gateway["client_secret"], timeout=10
    ) as client:
        exchanged = client.fetch_token(
            server.token_endpoint,
            grant_type=GRANT,
            subject_token=user_token,
            subject_token_type=ACCESS,
            audience="https://items.example.com",
            scope="items",
        )
        assert exchanged["issued_token_type"] == ACCESS
        assert exchanged["scope"] == "items"
        claims = jwt.decode(exchanged["access_token"], options={"verify_signature": False})
        original = jwt.decode(user_token, options={"verify_signature": False})
        assert claims["sub"] == original["sub"] == warden.alice_id
        assert claims["aud"] == "https://items.example.com"
        assert claims["act"] == {"sub": gateway["client_id"]}

        # Asking for more than the user's token holds, or with an actor token: refused.
        with pytest.raises(OAuthError) as wider:
            client.fetch_token(
                server.token_endpoint,
                grant_type=GRANT,
                subject_token=user_token,
                subject_token_type=ACCESS,
                scope="admin",
            )
        assert wider.value.error == "invalid_scope"
        with pytest.raises(OAuthError) as actor:
            client.fetch_token(
                server.token_endpoint,
                grant_type=GRANT,
                subject_token=user_token,
                subject_token_type=ACCESS,
                actor_token=user_token,
                actor_token_type=ACCESS,
            )
        assert actor.value.error == "invalid_request"
