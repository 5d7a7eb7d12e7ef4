"""One HTTP exchange of a delivery: send the request, record the answer, never raise for it.

Split from :mod:`mockserver.delivery` so the retry loop reads as policy only. Two rules live here:

* consumer behaviour is data: a refused connection, a timeout, a broken TLS handshake or an app
  that raised becomes an :class:`~mockserver.delivery.records.Attempt` with an error kind, not an
  exception (DESIGN.md: "Nothing is silently dropped");
* memory is bounded: the answer is streamed and only the first ``body_limit`` bytes are read,
  however large the body the consumer sends, and read *raw*: the sender asks for ``identity``, and
  a consumer that compresses anyway is not inflated (a 200 KB gzip body can inflate to 200 MB,
  64 MB of it from one network read); error texts are cut to :data:`~mockserver.delivery.tls.
  MAX_ERROR_TEXT` characters.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import httpx

from mockserver.delivery.clock import Clock
from mockserver.delivery.deadline import AttemptDeadline, attempt_deadline, deadline_message
from mockserver.delivery.records import Attempt
from mockserver.delivery.retry import Verdict, classify_status, parse_retry_after
from mockserver.delivery.tls import classify_transport_error, clip
from mockserver.redaction import Redactor

__all__ = ["exchange"]


def exchange(
    client: httpx.Client,
    request: httpx.Request,
    *,
    number: int,
    clock: Clock,
    redactor: Redactor,
    body_limit: int,
    deadline: float | None = None,
) -> tuple[Attempt, Verdict]:
    """Send ``request`` once, without following redirects, and record it as attempt ``number``.

    Everything recorded passes through ``redactor``. ``duration_s`` is measured on the
    monotonic performance counter (not the injected clock) so latency figures are real even
    when a :class:`~mockserver.delivery.clock.FakeClock` drives the schedule. ``deadline`` bounds the
    whole attempt on a transport made by :func:`mockserver.delivery.deadline.deadline_transport`.
    """
    attempt = Attempt(
        number=number,
        started_at=clock.now(),
        duration_s=0.0,
        request_headers=redactor.headers(request.headers.items()),
    )
    began = time.perf_counter()
    with ExitStack() as stack:
        limit = stack.enter_context(attempt_deadline(deadline)) if deadline is not None else None
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except Exception as exc:  # consumer behaviour is recorded, never raised
            _record_error(attempt, exc, redactor, limit)
            attempt.duration_s = time.perf_counter() - began
            return attempt, "retry"
        try:
            attempt.status = response.status_code
            attempt.response_headers = redactor.headers(response.headers.items())
            retry_after = response.headers.get("retry-after")
            if retry_after is not None:
                attempt.retry_after_s = parse_retry_after(retry_after, clock.now())
            _read_excerpt(attempt, response, redactor, body_limit, limit)
        finally:
            response.close()
            attempt.duration_s = time.perf_counter() - began
    return attempt, classify_status(response.status_code)


def _read_excerpt(
    attempt: Attempt,
    response: httpx.Response,
    redactor: Redactor,
    body_limit: int,
    limit: AttemptDeadline | None,
) -> None:
    """Keep the first ``body_limit`` bytes; stop reading there so memory stays bounded.

    A broken body (reset, bad chunking) is recorded as a ``protocol`` error on the attempt, but
    the status line already decided the outcome: a 2xx that was received counts as delivered.
    """
    excerpt = bytearray()
    # As sent: a Content-Encoding is not undone. (An in-process transport may hand over a
    # response whose body it already read; then there is nothing left to bound.)
    chunks = [response.content] if response.is_stream_consumed else response.iter_raw()
    try:
        for chunk in chunks:
            room = body_limit - len(excerpt)
            if len(chunk) > room:
                excerpt += chunk[:room]
                attempt.body_truncated = True
                break
            excerpt += chunk
    except Exception as exc:  # a consumer that breaks mid-answer is recorded, never raised
        _record_error(attempt, exc, redactor, limit)
    attempt.body_excerpt = redactor.text(excerpt.decode("utf-8", errors="replace"))


def _record_error(
    attempt: Attempt, exc: BaseException, redactor: Redactor, limit: AttemptDeadline | None
) -> None:
    failure = classify_transport_error(exc)
    attempt.error_kind = failure.kind
    attempt.error_message = clip(redactor.text(failure.message))
    if failure.kind == "timeout" and limit is not None and limit.expired:
        attempt.error_message = deadline_message(limit.seconds)
    attempt.tls_failure = failure.tls_failure
