"""Every warden example serves a valid OpenAPI 3.1 document, Swagger UI and ReDoc.

Per-operation security requirements are asserted by the Rust tests in
crates/warden/tests; this suite checks the documents as a third-party tool
(openapi-spec-validator) sees them, and that the docs UI is served.
"""

from __future__ import annotations

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from examples_runner import Server, StartupFailure, running


def _get(server: Server, path: str, **kwargs) -> httpx.Response:
    try:
        return httpx.get(server.base_url + path, timeout=10.0, **kwargs)
    except httpx.HTTPError as exc:  # pragma: no cover - diagnostic path
        pytest.fail(
            f"{server.name}: GET {path} failed: {exc!r}\nstderr:\n{server.stderr_tail()}",
            pytrace=False,
        )


def test_openapi_document_is_valid_3_1(example: Server | StartupFailure) -> None:
    server = running(example)
    resp = _get(server, "/openapi.json")
    assert resp.status_code == 200, (
        f"{server.name}: GET /openapi.json -> {resp.status_code}: {resp.text[:500]}"
    )
    assert resp.headers.get("content-type", "").startswith("application/json"), (
        f"{server.name}: /openapi.json content-type is {resp.headers.get('content-type')!r}"
    )
    spec = resp.json()
    assert isinstance(spec, dict), f"{server.name}: document is not a JSON object"
    version = spec.get("openapi")
    assert isinstance(version, str) and version.startswith("3.1"), (
        f"{server.name}: expected openapi 3.1.x, got {version!r}"
    )

    # Collect every problem for a readable message, then run the canonical
    # entry point so a regression in either path is caught.
    errors = list(OpenAPIV31SpecValidator(spec).iter_errors())
    assert not errors, f"{server.name}: OpenAPI 3.1 validation errors:\n" + "\n".join(
        f"- at {list(e.absolute_path)}: {e.message}" for e in errors
    )
    validate(spec, cls=OpenAPIV31SpecValidator)

    assert spec.get("paths"), f"{server.name}: document has no paths"


@pytest.mark.parametrize("path", ["/docs/", "/docs"])
def test_swagger_ui_is_served(example: Server | StartupFailure, path: str) -> None:
    server = running(example)
    resp = _get(server, path, follow_redirects=True)
    assert resp.status_code == 200, (
        f"{server.name}: GET {path} -> {resp.status_code} (final URL {resp.url})"
    )
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("text/html"), f"{server.name}: GET {path} content-type {ctype!r}"
    body = resp.text.lower()
    assert "<html" in body and "swagger" in body, (
        f"{server.name}: GET {path} does not look like Swagger UI: {resp.text[:300]!r}"
    )


def test_swagger_ui_oauth2_redirect_page(example: Server | StartupFailure) -> None:
    server = running(example)
    resp = _get(server, "/docs/oauth2-redirect.html")
    assert resp.status_code == 200, (
        f"{server.name}: GET /docs/oauth2-redirect.html -> {resp.status_code}"
    )
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("text/html"), (
        f"{server.name}: oauth2-redirect.html content-type {ctype!r}"
    )


def test_redoc_is_served(example: Server | StartupFailure) -> None:
    server = running(example)
    resp = _get(server, "/redoc")
    assert resp.status_code == 200, f"{server.name}: GET /redoc -> {resp.status_code}"
    assert resp.headers.get("content-type", "").startswith("text/html"), (
        f"{server.name}: /redoc content-type {resp.headers.get('content-type')!r}"
    )
    assert 'data-spec-url="/openapi.json"' in resp.text, (
        f"{server.name}: /redoc does not load /openapi.json: {resp.text[:300]!r}"
    )
    policy = resp.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe" not in policy, (
        f"{server.name}: /redoc Content-Security-Policy {policy!r}"
    )
