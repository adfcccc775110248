"""pytest fixtures: one running example binary per parameter (module scope).

Tests call ``examples_runner.running(example)`` first: it turns a startup
problem into a test failure.

A startup problem (binary missing, crash, wrong first stdout line, timeout)
must be reported as a FAILED test, not a fixture error or a skip, so the
fixture yields a StartupFailure instead of raising.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from examples_runner import (
    EXAMPLES,
    ExampleStartupError,
    StartupFailure,
    start_example,
    stop_example,
)


@pytest.fixture(scope="module", params=EXAMPLES)
def example(request: pytest.FixtureRequest) -> Iterator[object]:
    try:
        srv = start_example(request.param)
    except ExampleStartupError as exc:
        yield StartupFailure(request.param, str(exc))
        return
    try:
        yield srv
    finally:
        stop_example(srv)
