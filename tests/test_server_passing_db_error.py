"""A passing database error (``database is locked`` while the ``sqlite3`` shell holds the file)
is not the delivery's fault: the delivery stays due and is sent a moment later, never
dead-lettered without an attempt (audit of issue 13, item 4)."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest
from werkzeug.test import Client

from mockserver.server.schedule import Claim, Schedule
from tests._server import Sink, running_app, subscription, wait_until


def test_a_locked_database_delays_the_delivery_and_dead_letters_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    load = Schedule.load
    failures = {"left": 3}

    def flaky(self: Schedule, claim: Claim) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return load(self, claim)

    monkeypatch.setattr(Schedule, "load", flaky)
    sink = Sink()
    caplog.set_level(logging.WARNING, logger="mockserver")
    with running_app(subscription(id="a", retry="none"), sink=sink, workers=1) as app:
        client = Client(app)
        accepted = client.post("/v1/events", json={"event": "task.completed"})
        assert accepted.status_code == 202
        delivery_id = accepted.json["deliveries"][0]["id"]
        done = wait_until(
            lambda: (
                (d := client.get(f"/v1/deliveries/{delivery_id}").json)["status"]
                in ("delivered", "dead-lettered")
                and d
            )
        )
        health = client.get("/healthz").json
    assert failures["left"] == 0
    assert (done["status"], done["attempt_count"]) == ("delivered", 1), done
    assert len(sink.requests) == 1
    assert health["queued"] == 0  # the queue of first attempts counted it once
    warnings = [r for r in caplog.records if "database is locked" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert not any(r.exc_info for r in caplog.records)  # no traceback: not a bug


def test_another_error_is_still_a_bug_and_dead_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Schedule, claim: Claim) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Schedule, "load", broken)
    with running_app(subscription(id="a", retry="none")) as app:
        client = Client(app)
        delivery_id = client.post("/v1/events", json={"event": "task.completed"}).json[
            "deliveries"
        ][0]["id"]
        done = wait_until(
            lambda: (
                (d := client.get(f"/v1/deliveries/{delivery_id}").json)["status"] == "dead-lettered"
                and d
            )
        )
    assert (done["reason"], done["attempt_count"]) == ("error", 0)
