"""Run `warden serve` and the `warden` CLI for the interop tests.

The server binary is ``target/debug/warden`` (``cargo build -p warden-server``;
``cargo test --workspace`` builds it too), or ``$WARDEN_SERVER_BINARY``.

OpenID clients compare the issuer with the origin they talk to, so the issuer
must be the real origin: a free port is picked first (bind 127.0.0.1:0, read
the port, close) and the server is started with ``WARDEN_BIND=127.0.0.1:PORT``
and ``WARDEN_ISSUER=http://127.0.0.1:PORT``, on a fresh SQLite database in a
temporary directory. Nothing from the caller's ``WARDEN_*`` settings reaches
the server or the CLI: only what is set here.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 60.0


class WardenStartupError(Exception):
    """The binary is missing, crashed, or never became ready."""


def server_binary() -> Path:
    override = os.environ.get("WARDEN_SERVER_BINARY")
    if override:
        return Path(override)
    target = os.environ.get("CARGO_TARGET_DIR")
    target_dir = Path(target) if target else REPO_ROOT / "target"
    if not target_dir.is_absolute():
        target_dir = REPO_ROOT / target_dir
    return target_dir / "debug" / "warden"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class WardenServer:
    """A running `warden serve` and the environment its CLI shares."""

    issuer: str
    directory: Path
    env: dict[str, str]
    proc: subprocess.Popen
    admin_password: str
    binary: Path
    log_path: Path
    _metadata: dict | None = field(default=None, repr=False)
    _openid_configuration: dict | None = field(default=None, repr=False)

    # -- the CLI --------------------------------------------------------------

    def cli(self, *args: str, stdin: str | None = None) -> object:
        """Run ``warden --json ARGS`` with the server's environment; its JSON output."""
        result = subprocess.run(
            [str(self.binary), "--json", *args],
            cwd=self.directory,
            env=self.env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"`warden --json {' '.join(args)}` exited {result.returncode}:\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        if not lines:
            raise RuntimeError(f"`warden --json {' '.join(args)}` printed nothing")
        return json.loads(lines[-1])

    def create_user(
        self, username: str, password: str, *, email: str | None = None, roles: list[str] = ()
    ) -> dict:
        args = ["user", "create", username, "--password-stdin"]
        if email:
            args += ["--email", email]
        user = self.cli(*args, stdin=password + "\n")
        if roles:
            self.cli("user", "set-roles", username, *roles)
        return user

    def put_role(self, name: str, scopes: list[str]) -> None:
        args = ["role", "put", name]
        for scope in scopes:
            args += ["--scope", scope]
        self.cli(*args)

    def create_client(
        self,
        name: str,
        *,
        public: bool = False,
        grant_types: list[str] = (),
        scopes: list[str] = (),
        redirect_uris: list[str] = (),
        post_logout_redirect_uris: list[str] = (),
        first_party: bool = False,
        id_token_alg: str | None = None,
        jwks_file: str | None = None,
    ) -> dict:
        """``warden client create``: ``{"client_id": ..., "client_secret": ... | None}``."""
        args = ["client", "create", name]
        if public:
            args.append("--public")
        for grant in grant_types:
            args += ["--grant-type", grant]
        for scope in scopes:
            args += ["--scope", scope]
        for uri in redirect_uris:
            args += ["--redirect-uri", uri]
        for uri in post_logout_redirect_uris:
            args += ["--post-logout-redirect-uri", uri]
        if first_party:
            args.append("--first-party")
        if id_token_alg:
            args += ["--id-token-alg", id_token_alg]
        if jwks_file:
            args += ["--jwks-file", jwks_file]
        client = self.cli(*args)
        assert isinstance(client, dict) and client.get("client_id"), client
        return client

    # -- HTTP -----------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.issuer + path

    @property
    def metadata(self) -> dict:
        """RFC 8414 authorization server metadata (served before the OpenID provider was)."""
        if self._metadata is None:
            response = httpx.get(self.url("/.well-known/oauth-authorization-server"), timeout=10)
            response.raise_for_status()
            self._metadata = response.json()
        return self._metadata

    @property
    def openid_configuration(self) -> dict:
        """OpenID Provider metadata (``/.well-known/openid-configuration``)."""
        if self._openid_configuration is None:
            response = httpx.get(self.url("/.well-known/openid-configuration"), timeout=10)
            response.raise_for_status()
            self._openid_configuration = response.json()
        return self._openid_configuration

    @property
    def token_endpoint(self) -> str:
        return self.metadata.get("token_endpoint") or self.url("/token")

    @property
    def revocation_endpoint(self) -> str:
        return self.metadata.get("revocation_endpoint") or self.url("/revoke")

    @property
    def introspection_endpoint(self) -> str:
        return self.metadata.get("introspection_endpoint") or self.url("/introspect")

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    # -- lifecycle ------------------------------------------------------------

    def stop(self) -> None:
        _terminate(self.proc)
        shutil.rmtree(self.directory, ignore_errors=True)


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def base_env(directory: Path, admin_password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
    env.update(
        {
            "WARDEN_DATABASE_URL": f"sqlite://{directory / 'w.db'}?mode=rwc",
            "WARDEN_MASTER_KEY_FILE": str(directory / "k"),
            "WARDEN_BOOTSTRAP_ADMIN_PASSWORD": admin_password,
            # Throttling off: the tests log in often and fast.
            "WARDEN_LOGIN_ATTEMPTS_PER_ACCOUNT_IP": "0",
            "WARDEN_LOGIN_ATTEMPTS_PER_ACCOUNT": "0",
            "WARDEN_LOGIN_ATTEMPTS_PER_IP": "0",
            "WARDEN_LOG": os.environ.get("WARDEN_LOG", "warn"),
        }
    )
    return env


def start_warden(extra_env: dict[str, str] | None = None, attempts: int = 3) -> WardenServer:
    """`warden serve` on a free loopback port, issuer = its origin; ready once /readyz is 200."""
    binary = server_binary()
    if not binary.is_file():
        raise WardenStartupError(
            f"the server binary {binary} is missing: build it first "
            "(`cargo build -p warden-server` or `cargo test --workspace`, or run scripts/test)"
        )
    last_error = ""
    for _ in range(attempts):
        try:
            return _start_once(binary, extra_env or {})
        except _PortTaken as exc:  # another process took the port between probe and bind
            last_error = str(exc)
    raise WardenStartupError(last_error)


class _PortTaken(Exception):
    pass


def _start_once(binary: Path, extra_env: dict[str, str]) -> WardenServer:
    directory = Path(tempfile.mkdtemp(prefix="warden-interop-"))
    admin_password = secrets.token_urlsafe(18)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = base_env(directory, admin_password)
    env["WARDEN_BIND"] = f"127.0.0.1:{port}"
    env["WARDEN_ISSUER"] = issuer
    env.update(extra_env)
    log_path = directory / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(binary), "serve"],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = WardenServer(
        issuer=issuer,
        directory=directory,
        env=env,
        proc=proc,
        admin_password=admin_password,
        binary=binary,
        log_path=log_path,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            log_text = server.log_tail()
            shutil.rmtree(directory, ignore_errors=True)
            message = f"warden serve exited {proc.returncode} before it was ready:\n{log_text}"
            if "in use" in log_text.lower():
                raise _PortTaken(message)
            raise WardenStartupError(message)
        try:
            if httpx.get(f"{issuer}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            log_text = server.log_tail()
            server.stop()
            raise WardenStartupError(
                f"warden serve: /readyz not 200 within {STARTUP_TIMEOUT_S}s:\n{log_text}"
            )
        time.sleep(0.1)
