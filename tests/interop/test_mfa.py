"""Two-step login with software nobody here wrote: TOTP codes from Python ``pyotp``
and from Debian's ``oathtool``, the ``password`` grant with ``otp``, the
administrator's reset through the CLI, and the FastAPI resource server of
resource_server.py demanding a second factor (RFC 9470 step-up) from the
``amr``/``acr``/``auth_time`` claims of Warden's tokens.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.parse

import httpx
import jwt
import pyotp
import pytest
from fastapi.testclient import TestClient

from resource_server import create_app
from warden_deployment import Deployment

PASSWORD = "correct horse battery staple"


def password_grant(warden: Deployment, username: str, otp: str | None = None) -> httpx.Response:
    form = {"grant_type": "password", "username": username, "password": PASSWORD}
    if otp is not None:
        form["otp"] = otp
    return httpx.post(warden.server.token_endpoint, data=form, timeout=10)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def oathtool(secret: str, at: float) -> str:
    """A code from OATH Toolkit's ``oathtool`` for the time ``at``."""
    if shutil.which("oathtool") is None:
        pytest.fail("oathtool is missing (Debian package oathtool)", pytrace=False)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
    result = subprocess.run(
        ["oathtool", "--totp", "-b", f"--now={when}", secret],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return result.stdout.strip()


def early_in_a_step() -> None:
    """Waits until a 30-second step has at least 8 s behind and 10 s ahead of it."""
    while not 8 <= time.time() % 30 <= 20:
        time.sleep(0.25)


def enrol(warden: Deployment, username: str) -> tuple[pyotp.TOTP, list[str], str]:
    """Sets up TOTP through the API with pyotp as the authenticator app."""
    warden.server.create_user(username, PASSWORD)
    token = password_grant(warden, username).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    setup = httpx.post(warden.server.url("/users/me/factors/totp"), headers=auth, timeout=10)
    assert setup.status_code == 200, setup.text
    body = setup.json()
    totp = pyotp.TOTP(body["secret"])
    # Our otpauth URI says what pyotp's says: label, secret, issuer (Key Uri Format).
    ours = urllib.parse.urlsplit(body["otpauth_uri"])
    theirs = urllib.parse.urlsplit(totp.provisioning_uri(name=username, issuer_name="Warden"))
    assert (ours.scheme, ours.netloc, urllib.parse.unquote(ours.path)) == (
        theirs.scheme,
        theirs.netloc,
        urllib.parse.unquote(theirs.path),
    )
    ours_query = dict(urllib.parse.parse_qsl(ours.query))
    theirs_query = dict(urllib.parse.parse_qsl(theirs.query))
    assert ours_query["secret"] == theirs_query["secret"]
    assert ours_query["issuer"] == theirs_query["issuer"] == "Warden"
    early_in_a_step()
    confirmed = httpx.post(
        warden.server.url("/users/me/factors/totp/confirm"),
        headers=auth,
        json={"code": totp.at(time.time() - 30)},
        timeout=10,
    )
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"], body["secret"]


def test_pyotp_and_oathtool_codes_log_in_once_each(warden: Deployment) -> None:
    totp, codes, secret = enrol(warden, "otp-user")
    assert len(codes) == 10

    refused = password_grant(warden, "otp-user")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert "otp" in refused.json()["error_description"]

    now = time.time()
    first = password_grant(warden, "otp-user", totp.at(now))
    assert first.status_code == 200, first.text
    token = claims(first.json()["access_token"])
    assert token["amr"] == ["pwd", "otp", "mfa"]
    assert token["acr"] == "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
    assert abs(token["auth_time"] - now) < 30
    # The same code again: refused (RFC 6238 §5.2).
    assert password_grant(warden, "otp-user", totp.at(now)).status_code == 400
    # oathtool's code for the next step agrees with pyotp's and is accepted once.
    later = oathtool(secret, now + 30)
    assert later == totp.at(now + 30)
    assert password_grant(warden, "otp-user", later).status_code == 200
    assert password_grant(warden, "otp-user", later).status_code == 400
    # A recovery code, once.
    assert password_grant(warden, "otp-user", codes[0]).status_code == 200
    assert password_grant(warden, "otp-user", codes[0]).status_code == 400


def test_a_resource_server_steps_up_password_only_tokens(warden: Deployment) -> None:
    totp, _, _ = enrol(warden, "step-user")
    warden.server.create_user("pwd-user", PASSWORD)
    password_only = password_grant(warden, "pwd-user").json()["access_token"]
    strong = password_grant(warden, "step-user", totp.now()).json()["access_token"]
    with TestClient(create_app(warden.issuer)) as api:
        answer = api.get("/payments", headers={"Authorization": f"Bearer {password_only}"})
        assert answer.status_code == 401
        challenge = answer.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="insufficient_user_authentication"')
        assert 'acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"' in challenge
        assert api.get("/whoami", headers={"Authorization": f"Bearer {password_only}"}).status_code == 200
        answer = api.get("/payments", headers={"Authorization": f"Bearer {strong}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["acr"] == "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


def test_the_cli_resets_a_users_factors(warden: Deployment) -> None:
    totp, _, _ = enrol(warden, "lost-phone")
    assert password_grant(warden, "lost-phone").status_code == 400
    reset = warden.server.cli("user", "reset-factors", "lost-phone")
    assert reset["totp_removed"] is True
    assert reset["recovery_codes_removed"] == 10
    assert password_grant(warden, "lost-phone").status_code == 200
    with pytest.raises(RuntimeError):
        warden.server.cli("user", "reset-factors", "nobody-here")
