"""What the interop fixtures create on the server, shared by conftest.py and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from warden_process import WardenServer

ALICE = "alice"
ALICE_PASSWORD = "correct horse battery staple"
ALICE_EMAIL = "alice@example.com"
READER_SCOPES = ["me", "items"]
# Where the OpenID clients are sent back to; never followed (the tests read the
# Location header), so nothing needs to listen there.
REDIRECT_URI = "http://localhost:8000/auth/callback"
POST_LOGOUT_REDIRECT_URI = "http://localhost:8000/"


@dataclass
class Client:
    client_id: str
    client_secret: str | None


@dataclass
class Deployment:
    """The session's server and what was created on it."""

    server: WardenServer
    alice_id: str
    service: Client
    resource_server: Client
    password_app: Client

    @property
    def issuer(self) -> str:
        return self.server.issuer


def client_from_cli(raw: dict) -> Client:
    """A client from `warden --json client create` output."""
    return Client(raw["client_id"], raw.get("client_secret"))


@dataclass
class OidcClients:
    """Confidential authorization-code clients."""

    rs256: Client  # first-party (no consent page); ID tokens signed RS256 (the default)
    eddsa: Client  # first-party; --id-token-alg EdDSA
    third_party: Client  # not first-party: the consent page is shown
