"""Fixtures of the interop tests: a real `warden serve` and clients written by others.

``warden`` is one server for the whole session (fresh SQLite database in a
temporary directory, issuer = its real origin, login throttling off), with,
created through the `warden` CLI while it runs:

- the role ``reader`` (scopes ``me`` and ``items``) and the user ``alice``
  (email alice@example.com) holding it;
- confidential clients: ``service`` (client_credentials, scopes ``items`` and
  ``me``), ``resource-server`` (client_credentials, no scope: it only
  introspects) and ``password-app`` (password + refresh_token).

The OpenID clients (authorization code) are made by ``oidc_clients``, separately,
so that a server without the OpenID provider fails only the tests that need it.

Refresh tokens rotate strictly (the default, ``WARDEN_REFRESH_REUSE_GRACE=0``): a
second use of a rotated-out token is refused at once and revokes its family.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from warden_deployment import (
    ALICE,
    ALICE_EMAIL,
    ALICE_PASSWORD,
    POST_LOGOUT_REDIRECT_URI,
    READER_SCOPES,
    REDIRECT_URI,
    Deployment,
    OidcClients,
    client_from_cli,
)
from warden_process import WardenServer, WardenStartupError, start_warden


def start_or_fail(extra_env: dict[str, str] | None = None) -> WardenServer:
    try:
        return start_warden(extra_env)
    except WardenStartupError as exc:
        pytest.fail(f"could not start warden serve: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def warden() -> Iterator[Deployment]:
    server = start_or_fail({})
    try:
        server.put_role("reader", READER_SCOPES)
        alice = server.create_user(ALICE, ALICE_PASSWORD, email=ALICE_EMAIL, roles=["reader"])
        deployment = Deployment(
            server=server,
            alice_id=alice["id"],
            service=client_from_cli(
                server.create_client(
                    "service", grant_types=["client_credentials"], scopes=["items", "me"]
                )
            ),
            resource_server=client_from_cli(
                server.create_client("resource-server", grant_types=["client_credentials"])
            ),
            password_app=client_from_cli(
                server.create_client(
                    "password-app", grant_types=["password", "refresh_token"]
                )
            ),
        )
    except Exception:
        print(server.log_tail())
        server.stop()
        raise
    try:
        yield deployment
    finally:
        server.stop()


@pytest.fixture(scope="session")
def oidc_clients(warden: Deployment) -> OidcClients:
    server = warden.server
    common = dict(
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_REDIRECT_URI],
    )
    return OidcClients(
        rs256=client_from_cli(server.create_client("web-app", first_party=True, **common)),
        eddsa=client_from_cli(
            server.create_client("web-app-eddsa", first_party=True, id_token_alg="EdDSA", **common)
        ),
        third_party=client_from_cli(server.create_client("third-party-app", **common)),
    )
