"""Start warden's example binaries for the OpenAPI checks.

Each example is a compiled binary in ``target/debug/examples/<name>``
(built by ``cargo test --workspace`` or ``cargo build --examples -p warden``).
It binds to ``$WARDEN_BIND`` (we pass ``127.0.0.1:0`` so the OS picks a free
port) and prints ``listening on http://127.0.0.1:PORT`` as its first stdout
line.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 30.0
LISTENING_RE = re.compile(r"^listening on (http://127\.0\.0\.1:(\d+))$")

EXAMPLES = [
    "basic_auth",
    "oauth2_password_jwt",
    "api_key_header",
    "api_key_combined",
    "oauth2_scopes",
    "validation",
    "error_handling",
    "router_security",
    "cookie_session",
    "tutorial_01_first_steps",
    "tutorial_02_get_current_user",
    "tutorial_03_simple_oauth2",
]


def examples_dir() -> Path:
    """Where cargo puts the example binaries (honours CARGO_TARGET_DIR)."""
    override = os.environ.get("WARDEN_EXAMPLES_DIR")
    if override:
        return Path(override)
    target = os.environ.get("CARGO_TARGET_DIR")
    target_dir = Path(target) if target else REPO_ROOT / "target"
    if not target_dir.is_absolute():
        target_dir = REPO_ROOT / target_dir
    return target_dir / "debug" / "examples"


def secret_env() -> dict[str, str]:
    """Every secret any example reads, set to fresh random values."""
    return {
        "BASIC_USERNAME": "user-" + secrets.token_hex(4),
        "BASIC_PASSWORD": secrets.token_urlsafe(16),
        "DEMO_PASSWORD": secrets.token_urlsafe(16),
        "API_KEY": secrets.token_urlsafe(24),
        "DEMO_TOKEN": secrets.token_urlsafe(24),
    }


class ExampleStartupError(Exception):
    """The example binary is missing, crashed, or broke the startup contract."""


@dataclass
class StartupFailure:
    name: str
    message: str


@dataclass
class Server:
    name: str
    base_url: str
    proc: subprocess.Popen
    stderr_path: Path

    def stderr_tail(self, limit: int = 4000) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def start_example(name: str, extra_env: dict[str, str] | None = None) -> Server:
    binary = examples_dir() / name
    if not binary.is_file():
        raise ExampleStartupError(
            f"{name}: example binary {binary} is missing: build the examples first "
            "(`cargo build --examples -p warden` or `cargo test --workspace`, "
            "or run scripts/test which does it)"
        )

    env = dict(os.environ)
    env.update(secret_env())
    env["WARDEN_BIND"] = "127.0.0.1:0"
    if extra_env:
        env.update(extra_env)

    stderr_file = tempfile.NamedTemporaryFile(
        prefix=f"warden-{name}-", suffix=".stderr", delete=False
    )
    stderr_path = Path(stderr_file.name)
    proc = subprocess.Popen(
        [str(binary)],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
        bufsize=1,
    )
    stderr_file.close()

    first_line: list[str] = []
    got_line = threading.Event()

    def pump() -> None:
        # Read the first line for the handshake, then keep draining stdout so
        # a chatty example never blocks on a full pipe.
        assert proc.stdout is not None
        for i, line in enumerate(proc.stdout):
            if i == 0:
                first_line.append(line.rstrip("\r\n"))
                got_line.set()
        got_line.set()

    threading.Thread(target=pump, name=f"stdout-{name}", daemon=True).start()

    server = Server(name=name, base_url="", proc=proc, stderr_path=stderr_path)

    def give_up(problem: str) -> ExampleStartupError:
        _stop(proc)
        stderr = server.stderr_tail()
        stderr_path.unlink(missing_ok=True)
        return ExampleStartupError(
            f"{name}: {problem} (exit code {proc.returncode})\nstderr:\n{stderr}"
        )

    if not got_line.wait(STARTUP_TIMEOUT_S):
        raise give_up(f"no stdout line within {STARTUP_TIMEOUT_S:.0f}s")
    if not first_line:
        proc.wait(timeout=5)
        raise give_up("exited before printing the listening line")
    match = LISTENING_RE.match(first_line[0])
    if not match:
        raise give_up(
            "first stdout line must be exactly 'listening on http://127.0.0.1:PORT', "
            f"got {first_line[0]!r}"
        )
    server.base_url = match.group(1)
    return server


def stop_example(server: Server) -> None:
    """Kill the example process and drop its stderr capture."""
    _stop(server.proc)
    server.stderr_path.unlink(missing_ok=True)


def running(example: Server | StartupFailure) -> Server:
    """Fail the calling test (not skip, not error) if the example did not start."""
    import pytest

    if isinstance(example, StartupFailure):
        pytest.fail(example.message, pytrace=False)
    return example
