"""Schemathesis against the server's own ``/openapi.json``: no 5xx, every answer as documented.

The app is built with ``transport=`` a local sink (``httpx.MockTransport``), so the deliveries the
generated requests cause are really made, through the real sender with its retries and
redaction, but never leave the process: no subscription a test invents, whatever its URL, causes
network traffic. (A ``deliver=False`` switch would have skipped the worker code, and pointing
every subscription at a local server would still let a generated URL through.)

Every built-in check runs, except ``positive_data_acceptance`` on the two operations whose
bodies mean more than their schema can say: an auth SPEC must parse, a CA bundle must be a
readable file, a given payload must be a known event. Those answer 400 with a message on purpose
(``tests/test_server.py`` pins each message); a 5xx still fails ``not_a_server_error`` there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import schemathesis
from hypothesis import settings
from schemathesis import Case

from mockserver.server import App
from mockserver.server.openapi import openapi_document
from mockserver.server.subscriptions import Subscription
from tests._server import running_app, subscription

MAX_EXAMPLES = 15


def _everything() -> Subscription:
    return subscription(id="everything", url="http://127.0.0.1:9/hook")


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    with running_app(_everything(), max_subscriptions=50, queue=100_000, workers=2) as app:
        yield app


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 360,
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "operations": [
            {
                "include-name": ["POST /v1/events", "POST /v1/subscriptions"],
                "checks": {"positive_data_acceptance": {"enabled": False}},
            }
        ],
    }
)
# Loaded from the document itself, not the app: schemathesis's lazy fixture loader
# (`schemathesis.pytest.from_fixture`) fails on pytest 9 (it sets `Function._nodeid`), and an app
# built at import time would start delivery threads during collection. The app is passed per call.
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


@schema.parametrize()
def test_every_operation_conforms(case: Case, app: App) -> None:
    case.call_and_validate(app=app)


def test_sequences_of_calls_conform(app: App) -> None:
    served = schemathesis.openapi.from_wsgi("/openapi.json", app, config=CONFIG)

    class Workflow(served.as_state_machine()):  # type: ignore[misc]
        """Each scenario gets a fresh server, so that one scenario's subscriptions and
        deliveries cannot change what the next draws (Hypothesis replays scenarios)."""

        def setup(self) -> None:
            self.stack = ExitStack()
            self.app = self.stack.enter_context(running_app(_everything()))

        def teardown(self) -> None:
            self.stack.close()

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"app": self.app}

    Workflow.run(settings=settings(max_examples=MAX_EXAMPLES, stateful_step_count=6, deadline=None))
