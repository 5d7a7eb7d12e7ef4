"""``verify`` ends within ``--max-time`` whatever the consumer does, with a report.

Each consumer here is a real server on loopback that holds a run in its own way: a limiter whose
429 always says ``Retry-After: 0`` (so no wait ever adds up), a server that accepts the
connection and never answers. ``verify`` runs in a subprocess with a hard timeout, so a run that
does not end fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from contracts.verifier import VerifyOptions, verify
from tests.servers import serve_wsgi

#: Small enough to be quick, large enough that every check gets to run.
FAST = ["--examples", "6", "--burst", "30", "--burst-concurrency", "8", "--seed", "5"]
#: A run that has not ended by then never would: the test fails rather than hangs.
HARD_STOP_S = 90.0


def run_verify(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m contracts verify ARGS`` and its wall time (killed after :data:`HARD_STOP_S`)."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "contracts", "verify", *args],
            capture_output=True,
            text=True,
            timeout=HARD_STOP_S,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"verify {args} still ran after {HARD_STOP_S:g} s") from expired
    return done, time.monotonic() - started


def always_429_now(environ: Any, start_response: Any) -> Any:
    """A limiter that never lifts and always says "at once" (``Retry-After: 0``)."""
    Request(environ).get_data()
    return Response("slow down", status=429, headers={"Retry-After": "0"})(environ, start_response)


def test_a_429_saying_retry_after_0_forever_ends_within_max_time(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    with serve_wsgi(always_429_now) as server:
        done, wall = run_verify(
            f"{server.url}/webhooks", "--max-time", "5", "--report-json", str(report), *FAST
        )
    assert wall < 5 + 10, f"verify took {wall:.1f} s with --max-time 5"  # start-up and one attempt
    assert done.returncode == 1, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(report.read_text())["checks"]}
    for name in ("accepts-valid", "tolerates-evolution", "ignores-unknown-events"):
        assert checks[name]["status"] == "inconclusive", checks[name]
        assert "stayed limited" in checks[name]["message"], checks[name]
    rate = checks["rate-limit"]
    assert rate["status"] == "failed", rate
    assert "429 never lifted" in rate["message"] and "Retry-After: 0" in rate["message"], rate


def test_an_attempt_never_outlives_max_time(tmp_path: Path) -> None:
    """A server that takes the request and never answers: the read timeout (10 s) is longer
    than the whole run may take, so each attempt is cut at what is left of --max-time."""
    stop = threading.Event()

    def silent(environ: Any, start_response: Any) -> Any:
        Request(environ).get_data()
        stop.wait(60)
        return Response(status=202)(environ, start_response)

    report = tmp_path / "report.json"
    with serve_wsgi(silent) as server:
        try:
            done, wall = run_verify(
                f"{server.url}/webhooks", "--max-time", "3", "--report-json", str(report), *FAST
            )
        finally:
            stop.set()
    assert wall <= 3 + 5, f"verify took {wall:.1f} s with --max-time 3"  # start-up and a margin
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(report.read_text())
    assert data["probe"]["unreachable"] is not None
    assert "gave no answer within the run's time" in data["probe"]["unreachable"]
    statuses = {c["name"]: c["status"] for c in data["checks"]}
    assert set(statuses.values()) == {"inconclusive", "skipped"}, statuses


def test_an_attempt_cut_off_by_max_time_is_no_verdict_on_the_body() -> None:
    """The consumer answers three bodies, then hangs: the attempt cut where the run's time ends
    judged nothing, so accepts-valid is inconclusive, not failed for a "timeout"."""
    stop = threading.Event()
    seen = iter(range(1_000_000))

    def answers_three(environ: Any, start_response: Any) -> Any:
        Request(environ).get_data()
        if next(seen) >= 3:
            stop.wait(60)
        return Response(status=202)(environ, start_response)

    options = VerifyOptions(examples=20, seed=5, max_time_s=3.0, timeout_s=10.0)
    with serve_wsgi(answers_three) as server:
        try:
            started = time.monotonic()
            report = verify(server.url + "/webhooks", checks=["accepts-valid"], options=options)
            wall = time.monotonic() - started
        finally:
            stop.set()
    finding = report.finding("accepts-valid")
    assert finding.status == "inconclusive", finding.message
    assert "time budget (3 s, --max-time) ran out" in finding.message
    assert wall < 3 + 2, wall
