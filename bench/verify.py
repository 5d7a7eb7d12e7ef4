"""The default verify suite against the reference consumer: wall time and requests per second.

The consumer is the demo's: HTTPS from a throwaway CA, JWT HS256, 50 deliveries/s with a burst
of 10, so rate-limit waits are part of the time. The peer is the budget of a CI step (60 s).
"""

from __future__ import annotations

import secrets
import time

from bench.common import Row
from contracts.verifier import VerifyOptions
from contracts.verifier.report import verify
from contracts.verifier.target import Target
from mockserver.auth import JwtAuth
from mockserver.consumer import ConsumerConfig
from mockserver.serving import serve_consumer

BUDGET_S = 60.0


def run() -> list[Row]:
    auth = JwtAuth("HS256", secrets.token_urlsafe(32))
    with serve_consumer(ConsumerConfig(auth=auth, rate=50, burst=10), tls=True) as running:
        target = Target.from_url(running.url, ca_bundle=str(running.ca_pem_path))
        started = time.monotonic()
        report = verify(target, auth=auth, options=VerifyOptions(ledger=running.ledger_url, seed=1))
        wall = time.monotonic() - started
    assert report.exit_code == 0, [f.to_json() for f in report.findings]
    answers = report.finding("latency").details["answers"]
    return [
        Row("verify suite wall time (s)", wall, "CI step budget (s)", BUDGET_S, "s", "<= 1.0x"),
        Row("verify requests/s", answers / wall, "(none)", 0, "req/s", "(info)"),
    ]


if __name__ == "__main__":
    from bench.run import print_table

    print_table(run())
