"""What happened on the wire, as an :class:`~mockserver.delivery.records.Attempt`: one recorder
for both engines.

The httpx and aiohttp engines move bytes differently, but an attempt must read the same whichever
moved it: the same header records (lower-case names, redacted), the same ``Retry-After`` reading,
the same excerpt rule, the same error kinds and texts, the same verdict. Each engine reports events
to an :class:`AttemptRecorder` (``answered``, ``excerpt``, ``failed``, ``cut_off``) and takes the
:class:`Attempt` and its :data:`~mockserver.delivery.retry.Verdict` from :meth:`AttemptRecorder.
finish`; nothing else in either engine builds an attempt.

Two rules live here (DESIGN.md, "Nothing is silently dropped"; bounded memory):

* consumer behaviour is data: a refused connection, a timeout, a broken handshake or an app that
  raised becomes an attempt with an error kind, never an exception;
* everything recorded passes through the :class:`~mockserver.redaction.Redactor`, and error texts
  are cut to :data:`~mockserver.delivery.tls.MAX_ERROR_TEXT` characters *after* redaction.

``duration_s`` is measured on the performance counter, not the injected clock, so latency
figures are real even when a :class:`~mockserver.delivery.clock.FakeClock` drives the schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping

from mockserver.delivery.clock import Clock
from mockserver.delivery.deadline import deadline_message
from mockserver.delivery.records import Attempt
from mockserver.delivery.retry import Verdict, classify_status, parse_retry_after
from mockserver.delivery.tls import TransportFailure, clip
from mockserver.redaction import Redactor

__all__ = ["AttemptRecorder", "Recording"]

#: Distinct header sets whose redacted records are remembered; the cache starts over beyond.
_CACHE_SIZE = 4096

Pairs = Mapping[str, str] | Iterable[tuple[str, str]]


class Recording:
    """What every attempt of one sender is recorded with: its clock, redactor and body limit.

    Header records depend only on the headers and the redactor's secrets, so a header set seen
    before (static credentials, none at all, the same answer again) is not redacted again while
    the redactor's :attr:`~mockserver.redaction.Redactor.generation` holds; a bulk run of a
    million deliveries redacts a handful of header sets.
    """

    __slots__ = ("_cache", "_generation", "body_limit", "clock", "redactor")

    def __init__(self, *, clock: Clock, redactor: Redactor, body_limit: int) -> None:
        self.clock = clock
        self.redactor = redactor
        self.body_limit = body_limit
        self._generation = -1
        self._cache: dict[Hashable, dict[str, str]] = {}

    def begin(self, number: int, request_headers: Pairs) -> AttemptRecorder:
        """Start recording attempt ``number`` that sends ``request_headers``."""
        items = tuple(_items(request_headers))
        return AttemptRecorder(self, number, self.headers_record(items, items))

    def headers_record(self, key: Hashable, headers: Pairs | Callable[[], Pairs]) -> dict[str, str]:
        """``headers`` with lower-case names, redacted; a copy of its own for the caller.

        ``headers`` may be a function that makes them, called only when ``key`` is not cached.
        """
        generation = self.redactor.generation
        if generation != self._generation:
            self._generation = generation
            self._cache.clear()
        record = self._cache.get(key)
        if record is None:
            pairs = headers() if callable(headers) else headers
            record = self.redactor.headers({name.lower(): value for name, value in _items(pairs)})
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = record
        return dict(record)


class AttemptRecorder:
    """Collects one attempt from an engine's wire events; :meth:`finish` hands it over."""

    __slots__ = ("_began", "_recording", "attempt")

    def __init__(self, recording: Recording, number: int, request_headers: dict[str, str]) -> None:
        self._recording = recording
        self.attempt = Attempt(
            number=number,
            started_at=recording.clock.now(),
            duration_s=0.0,
            request_headers=request_headers,
        )
        self._began = time.perf_counter()

    def answered(
        self, status: int, headers: Pairs | Callable[[], Pairs], *, key: Hashable | None = None
    ) -> None:
        """The status line and headers arrived (``key``: a hashable form of the raw headers,
        when the engine has one, so a repeated answer is not redacted again; then ``headers``
        may be a function that makes them)."""
        attempt = self.attempt
        attempt.status = status
        recording = self._recording
        if key is None:
            items = tuple(_items(headers() if callable(headers) else headers))
            attempt.response_headers = recording.headers_record(items, items)
        else:
            attempt.response_headers = recording.headers_record(key, headers)
        retry_after = attempt.response_headers.get("retry-after")
        if retry_after is not None:
            attempt.retry_after_s = parse_retry_after(retry_after, recording.clock.now())

    def excerpt(self, data: bytes | bytearray, *, truncated: bool) -> None:
        """The first bytes of the answer, as sent (a ``Content-Encoding`` is not undone)."""
        text = bytes(data).decode("utf-8", errors="replace")
        self.attempt.body_excerpt = self._recording.redactor.text(text)
        self.attempt.body_truncated = truncated

    def failed(self, failure: TransportFailure) -> None:
        """No answer (or a broken one): the kind, a redacted and clipped text, the TLS check."""
        attempt = self.attempt
        attempt.error_kind = failure.kind
        attempt.error_message = clip(self._recording.redactor.text(failure.message))
        attempt.tls_failure = failure.tls_failure

    def cut_off(self, seconds: float) -> None:
        """The attempt's deadline ended it (see :mod:`mockserver.delivery.deadline`)."""
        attempt = self.attempt
        attempt.error_kind = "timeout"
        attempt.error_message = deadline_message(seconds)
        attempt.tls_failure = None

    def finish(self) -> tuple[Attempt, Verdict]:
        """The attempt and what it means: a received status decides, even when the body broke
        afterwards; no status at all is worth a retry."""
        attempt = self.attempt
        attempt.duration_s = time.perf_counter() - self._began
        if attempt.status is None:
            return attempt, "retry"
        return attempt, classify_status(attempt.status)


def _items(headers: Pairs) -> Iterable[tuple[str, str]]:
    return headers.items() if isinstance(headers, Mapping) else headers
