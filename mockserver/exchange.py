"""One HTTP exchange of a delivery: send the request, record the answer, never raise for it.

Split from :mod:`mockserver.delivery` so the retry loop reads as policy only. Two rules live here:

* consumer behaviour is data: a refused connection, a timeout, a broken TLS handshake or an app
  that raised becomes an :class:`~mockserver.records.Attempt` with an error kind, not an
  exception (DESIGN.md: "Nothing is silently dropped");
* memory is bounded: the answer is streamed and only the first ``body_limit`` bytes are read,
  however large the body the consumer sends.
"""

from __future__ import annotations

import time

import httpx

from mockserver.clock import Clock
from mockserver.records import Attempt
from mockserver.redaction import Redactor
from mockserver.retry import Verdict, classify_status, parse_retry_after
from mockserver.tls import classify_transport_error

__all__ = ["exchange"]


def exchange(
    client: httpx.Client,
    request: httpx.Request,
    *,
    number: int,
    clock: Clock,
    redactor: Redactor,
    body_limit: int,
) -> tuple[Attempt, Verdict]:
    """Send ``request`` once, without following redirects, and record it as attempt ``number``.

    Everything recorded passes through ``redactor``. ``duration_s`` is measured on the
    monotonic performance counter (not the injected clock) so latency figures are real even
    when a :class:`~mockserver.clock.FakeClock` drives the schedule.
    """
    attempt = Attempt(
        number=number,
        started_at=clock.now(),
        duration_s=0.0,
        request_headers=redactor.headers(request.headers.items()),
    )
    began = time.perf_counter()
    try:
        response = client.send(request, stream=True, follow_redirects=False)
    except Exception as exc:  # consumer behaviour is recorded, never raised
        _record_error(attempt, exc, redactor)
        attempt.duration_s = time.perf_counter() - began
        return attempt, "retry"
    try:
        attempt.status = response.status_code
        attempt.response_headers = redactor.headers(response.headers.items())
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            attempt.retry_after_s = parse_retry_after(retry_after, clock.now())
        _read_excerpt(attempt, response, redactor, body_limit)
    finally:
        response.close()
        attempt.duration_s = time.perf_counter() - began
    return attempt, classify_status(response.status_code)


def _read_excerpt(
    attempt: Attempt, response: httpx.Response, redactor: Redactor, body_limit: int
) -> None:
    """Keep the first ``body_limit`` bytes; stop reading there so memory stays bounded.

    A broken body (reset, bad chunking) is recorded as a ``protocol`` error on the attempt, but
    the status line already decided the outcome: a 2xx that was received counts as delivered.
    """
    excerpt = bytearray()
    try:
        for chunk in response.iter_bytes():
            room = body_limit - len(excerpt)
            if len(chunk) > room:
                excerpt += chunk[:room]
                attempt.body_truncated = True
                break
            excerpt += chunk
    except Exception as exc:  # a consumer that breaks mid-answer is recorded, never raised
        _record_error(attempt, exc, redactor)
    attempt.body_excerpt = redactor.text(excerpt.decode("utf-8", errors="replace"))


def _record_error(attempt: Attempt, exc: BaseException, redactor: Redactor) -> None:
    failure = classify_transport_error(exc)
    attempt.error_kind = failure.kind
    attempt.error_message = redactor.text(failure.message)
    attempt.tls_failure = failure.tls_failure
