"""A FastAPI resource server that accepts Warden's access tokens.

This is the migration path for FastAPI users. FastAPI's security tutorial
("OAuth2 with Password (and hashing), Bearer with JWT tokens") issues its own
HS256 tokens with a shared ``SECRET_KEY`` and decodes them in
``get_current_user``. With Warden, users, passwords, ``/token`` and refresh
tokens move to Warden; the API keeps only the verification below:

* the keys come from Warden's JWKS (``{issuer}/.well-known/jwks.json``), fetched
  and cached by ``jwt.PyJWKClient`` and picked by the token's ``kid`` (key
  rotation needs no change here);
* ``algorithms=["EdDSA"]`` is fixed by the API, never taken from the token
  (Warden signs access tokens with Ed25519);
* ``issuer`` and ``audience`` are checked (Warden's access tokens carry
  ``aud`` = the issuer, RFC 9068), and ``exp``, ``iat`` and ``sub`` are required;
* the header ``typ`` must be ``at+jwt``: an OpenID Connect ID token (``typ``
  ``JWT``, ``aud`` = a client id) is not an access token and is refused;
* anything wrong is 401 with ``WWW-Authenticate: Bearer error="invalid_token"``,
  a missing scope 403 ``insufficient_scope`` (RFC 6750 §3);
* ``/payments`` demands a login with two factors: the token's ``amr`` (RFC 8176)
  must hold ``mfa`` and its ``auth_time`` be recent, else 401
  ``insufficient_user_authentication`` (RFC 9470 step-up).

Run it against a Warden server (``pip install fastapi uvicorn "PyJWT[crypto]"``)::

    WARDEN_ISSUER=https://auth.example.com uvicorn --factory resource_server:app_from_env

and call it with a Warden access token::

    curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8000/items

The interop tests (tests/interop/test_resource_server.py) run exactly this
module against a real ``warden serve``.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations of the
# endpoints below at runtime, and they refer to the local `verify_token`.
import os
import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

# RFC 9068 §2.1: "at+jwt"; the long form is allowed too (RFC 7515 §4.1.9).
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}

# Warden's `acr` for a login with two factors, and how recent it must be for /payments.
ACR_MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
MFA_MAX_AGE = 600


def create_app(issuer: str, audience: str | None = None) -> FastAPI:
    """The API for tokens of ``issuer`` (e.g. ``https://auth.example.com``, no trailing slash).

    ``audience`` is what the tokens' ``aud`` must contain; Warden's access tokens
    carry the issuer, which is the default.
    """
    audience = audience or issuer
    jwks_client = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json", cache_keys=True, lifespan=300)
    bearer = HTTPBearer(auto_error=False)

    def verify_token(
        security_scopes: SecurityScopes,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> dict[str, Any]:
        """The access token's claims; 401 unless it is a valid Warden access token."""
        if security_scopes.scopes:
            challenge = f'Bearer scope="{security_scopes.scope_str}"'
        else:
            challenge = "Bearer"
        if credentials is None:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Not authenticated",
                headers={"WWW-Authenticate": challenge},
            )
        token = credentials.credentials
        try:
            header = jwt.get_unverified_header(token)
            if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
                raise jwt.InvalidTokenError("not an access token (typ must be at+jwt)")
            signing_key = jwks_client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=["EdDSA"],
                audience=audience,
                issuer=issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            # Warden's JWKS could not be fetched: not the token's fault.
            raise HTTPException(
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                detail="Could not fetch the signing keys",
            ) from exc
        except jwt.PyJWTError as exc:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Could not validate credentials",
                headers={"WWW-Authenticate": f'{challenge}, error="invalid_token"'},
            ) from exc
        granted = set(str(claims.get("scope", "")).split())
        if any(scope not in granted for scope in security_scopes.scopes):
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail="Not enough permissions",
                headers={"WWW-Authenticate": f'{challenge}, error="insufficient_scope"'},
            )
        return claims

    app = FastAPI(title="Items API (tokens from Warden)")

    @app.get("/whoami")
    def whoami(claims: Annotated[dict[str, Any], Security(verify_token)]) -> dict[str, Any]:
        """Any valid access token: who it is for and what it grants."""
        return {
            "sub": claims["sub"],
            "client_id": claims.get("client_id"),
            "scope": claims.get("scope", ""),
        }

    def verify_mfa_token(
        claims: Annotated[dict[str, Any], Security(verify_token)],
    ) -> dict[str, Any]:
        """A token from a login with two factors, at most ``MFA_MAX_AGE`` seconds ago.

        Otherwise 401 with RFC 9470's challenge: ``insufficient_user_authentication``
        with the ``acr_values`` and ``max_age`` that would satisfy this API, so the
        client sends the user to Warden's ``/authorize`` again with them.
        """
        fresh = isinstance(claims.get("auth_time"), int) and (
            time.time() - claims["auth_time"] <= MFA_MAX_AGE
        )
        if "mfa" not in claims.get("amr", []) or not fresh:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="A stronger login is required",
                headers={
                    "WWW-Authenticate": 'Bearer error="insufficient_user_authentication", '
                    'error_description="A second factor is required", '
                    f'acr_values="{ACR_MFA}", max_age="{MFA_MAX_AGE}"'
                },
            )
        return claims

    @app.get("/payments")
    def read_payments(claims: Annotated[dict[str, Any], Depends(verify_mfa_token)]) -> dict[str, Any]:
        """Needs a login with two factors (RFC 9470 step-up otherwise)."""
        return {"owner": claims["sub"], "acr": claims.get("acr")}

    @app.get("/items")
    def read_items(
        claims: Annotated[dict[str, Any], Security(verify_token, scopes=["items"])],
    ) -> list[dict[str, str]]:
        """Needs the ``items`` scope."""
        return [{"item_id": "foo", "owner": claims["sub"]}]

    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory``: ``WARDEN_ISSUER`` (and optionally ``API_AUDIENCE``)."""
    return create_app(os.environ["WARDEN_ISSUER"], os.environ.get("API_AUDIENCE"))
