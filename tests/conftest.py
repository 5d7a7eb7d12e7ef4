"""Fixtures the test modules share: a throwaway CA, free loopback ports, servers on loopback.

Written once here (they used to be copied into four modules); the functions behind them live in
:mod:`tests.servers` for the places that need them outside a fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.servers import RunningServer, free_port, serve_wsgi


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """One test CA for the session: certificates for 127.0.0.1 and localhost come from it."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_pem(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test CA's certificate as a PEM file (what ``--ca-bundle`` takes)."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def port() -> int:
    """A loopback port nothing listens on (bound and released just now)."""
    return free_port()


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """``serve(app, **options)``: a WSGI app on 127.0.0.1 in a thread, stopped after the test."""
    with ExitStack() as stack:

        def start(app: Any, **options: Any) -> RunningServer:
            return stack.enter_context(serve_wsgi(app, **options))

        yield start
