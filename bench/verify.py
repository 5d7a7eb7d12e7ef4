"""The default verify suite against the reference consumer: wall time and requests per second.

The consumer is the demo's: HTTPS from a throwaway CA, JWT HS256, 50 deliveries/s with a burst
of 10, so rate-limit waits are part of the time. The figure is compared with a fixed one, the
budget of a CI step (60 s); RUNS runs, each against a fresh consumer.
"""

from __future__ import annotations

import secrets
import sys
import time

from bench.common import Measure, Row, Target, interleaved, knob
from contracts.verifier import VerifyOptions
from contracts.verifier.report import verify
from contracts.verifier.target import Target as VerifyTarget
from mockserver.auth import JwtAuth
from mockserver.consumer import ConsumerConfig
from mockserver.serving import serve_consumer

BUDGET_S = 60.0
RUNS = knob("R360_BENCH_VERIFY_RUNS", 3, 2)


def _one(answers: list[int]) -> float:
    auth = JwtAuth("HS256", secrets.token_urlsafe(32))
    with serve_consumer(ConsumerConfig(auth=auth, rate=50, burst=10), tls=True) as running:
        target = VerifyTarget.from_url(running.url, ca_bundle=str(running.ca_pem_path))
        started = time.monotonic()
        report = verify(target, auth=auth, options=VerifyOptions(ledger=running.ledger_url, seed=1))
        wall = time.monotonic() - started
    if report.exit_code != 0:
        raise SystemExit(
            f"verify failed the reference consumer: {[f.to_json() for f in report.findings]}"
        )
    answers.append(report.finding("latency").details["answers"])
    return wall


def run() -> list[Row]:
    answers: list[int] = []
    m = interleaved({"verify": lambda: _one(answers)}, RUNS, unit="s")
    walls = m["verify"]
    rates = Measure(tuple(a / w for a, w in zip(answers, walls.samples, strict=True)))
    return [
        Row.against_fixed("verify suite wall time", walls, "CI step budget (s)", BUDGET_S, "s", Target.at_most(1.0)),
        Row.alone("verify requests/s", rates, "req/s"),
    ]  # fmt: skip


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["verify"]))
