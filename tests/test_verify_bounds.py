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
import time
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

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
