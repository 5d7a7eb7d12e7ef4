"""A compliant consumer as a minimal single-file Django project, as a Django team would write it.

Django is the other framework webhook consumers are most often written in, and it brings its own
ways to get wrong what the zoo's Flask and FastAPI apps get right: CSRF protection on a POST from
a server (hence ``csrf_exempt``), ``request.headers`` instead of the WSGI environ, and a limiter
backed by the cache framework. The rules are those of :mod:`mockserver.consumer`:

1. Credentials first: ``Authorization: Bearer TOKEN`` or ``Basic`` (RFC 7617), compared in
   constant time; failure is 401 with ``WWW-Authenticate``.
2. django-ratelimit (the usual pick; Django itself has no limiter) counts requests per consumer
   and client address in Django's cache (a ``LocMemCache``) in fixed windows; over the limit the
   answer is 429 with ``Retry-After`` in delta-seconds: django-ratelimit's ``time_left`` for the
   window, at least 1. A per-second rate counts in wall-clock seconds, so the limit lifts at the
   next whole second and ``Retry-After: 1`` is always true.
3. ``application/json`` (or ``application/*+json``) else 415; a JSON object else 400.
4. Tolerant reading, unknown events acknowledged (202 ``ignored``), repeats deduplicated by
   (event, id) (200 ``duplicate``); ``GET /ledger`` in the reference format with counts.

Knobs: ``django_consumer(scheme, *, rate="20/s")``. ``scheme`` is a
:class:`~mockserver.auth.BearerAuth`, :class:`~mockserver.auth.BasicAuth` or None (no auth);
``rate`` is django-ratelimit's syntax (``"20/s"``, ``"100/10s"``, ``"5/m"``).

Django allows one settings object per process, configured in code here on first use
(``settings.configure``), so the settings hold only what all consumers share. Each
:class:`DjangoConsumer` is a WSGI callable that puts itself in the WSGI environ; the views read
their auth, limit and ledger from there, so several consumers can live in one process.
Serve one with :func:`tests.servers.serve_wsgi`, or use it in-process as any WSGI app.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import get_usage

from mockserver.auth import AuthScheme, BasicAuth, BearerAuth, NoAuth

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from django.http import HttpRequest, HttpResponse

__all__ = ["DjangoConsumer", "django_consumer"]

#: The v1 events we handle: raw ``event`` value -> the key of the resource it carries.
KNOWN_EVENTS = {"create": "transaction", "completed": "task"}
#: Where a request finds its consumer (WSGI environ and so ``request.META``).
ENVIRON_KEY = "r360.consumer"
_REALM = "webhooks"
_setup_lock = threading.Lock()
_ids = itertools.count(1)
#: django-ratelimit's rate syntax: ``20/s``, ``100/10s``, ``5/m``.
_RATE = re.compile(r"[0-9]+/[0-9]*[smhd]")


def _configure() -> None:
    """Configure Django once per process: no database, no middleware, a local-memory cache."""
    with _setup_lock:
        if settings.configured:
            urlconf = settings.ROOT_URLCONF
            if urlconf != __name__:
                raise RuntimeError(
                    f"Django is already configured with ROOT_URLCONF={urlconf!r};"
                    f" the zoo's Django consumer needs {__name__!r}"
                )
            return
        settings.configure(
            DEBUG=False,
            SECRET_KEY="r360-zoo-django-not-a-secret",  # nothing is signed; Django requires one
            ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
            DATABASES={},
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": "r360-zoo-ratelimit",
                }
            },
            USE_TZ=True,
        )
        django.setup()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _authenticator(scheme: AuthScheme | None) -> tuple[Callable[[HttpRequest], bool], str]:
    """The check of one request's ``Authorization`` header, and the 401 challenge."""
    if scheme is None or isinstance(scheme, NoAuth):
        return (lambda request: True), ""
    if isinstance(scheme, BearerAuth):
        token = scheme.token

        def bearer(request: HttpRequest) -> bool:
            word, _, given = request.headers.get("Authorization", "").partition(" ")
            return word.lower() == "bearer" and _same(given.strip(), token)

        return bearer, f'Bearer realm="{_REALM}"'
    if isinstance(scheme, BasicAuth):
        user, password = scheme.user, scheme.password

        def basic(request: HttpRequest) -> bool:
            word, _, given = request.headers.get("Authorization", "").partition(" ")
            if word.lower() != "basic":
                return False
            try:
                decoded = base64.b64decode(given.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            name, colon, secret = decoded.partition(":")
            return bool(colon) & _same(name, user) & _same(secret, password)

        return basic, f'Basic realm="{_REALM}", charset="UTF-8"'
    raise ValueError(f"the Django consumer takes bearer or basic auth, not {scheme.describe()}")


class DjangoConsumer:
    """One consumer: its credentials, its limit, its ledger; a WSGI callable."""

    def __init__(self, scheme: AuthScheme | None, *, rate: str = "20/s") -> None:
        if not _RATE.fullmatch(rate):
            raise ValueError(f"rate {rate!r} is not django-ratelimit's COUNT/[N]UNIT, e.g. '20/s'")
        _configure()
        self.rate = rate
        self.authenticate, self.challenge = _authenticator(scheme)
        self.key_prefix = f"consumer-{next(_ids)}"
        self._handler = WSGIHandler()
        self._lock = threading.Lock()
        self._processed: dict[tuple[str, str], int] = {}
        self._counts: Counter[str] = Counter()
        self._rejected: Counter[int] = Counter()

    def record_once(self, event: str, id_: str) -> bool:
        """Check and record at once: two racing copies are processed only once."""
        with self._lock:
            if (event, id_) in self._processed:
                self._counts["duplicates"] += 1
                return False
            self._processed[(event, id_)] = 1
            self._counts["accepted"] += 1
            return True

    def count(self, outcome: str) -> None:
        with self._lock:
            self._counts[outcome] += 1

    def reject(self, status: int) -> None:
        with self._lock:
            self._rejected[status] += 1

    def ledger(self) -> dict[str, Any]:
        with self._lock:
            return {
                "processed": [
                    {"event": event, "id": id_, "count": count}
                    for (event, id_), count in self._processed.items()
                ],
                "accepted": self._counts["accepted"],
                "duplicates": self._counts["duplicates"],
                "ignored": self._counts["ignored"],
                "rejected": {str(code): n for code, n in sorted(self._rejected.items())},
            }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[ENVIRON_KEY] = self
        return self._handler(environ, start_response)


def django_consumer(scheme: AuthScheme | None, *, rate: str = "20/s") -> DjangoConsumer:
    """The zoo factory: a compliant Django consumer for ``scheme`` limited to ``rate``."""
    return DjangoConsumer(scheme, rate=rate)


# -- the project: views and URLconf (imported by Django through ROOT_URLCONF) ----------------


def _consumer(request: HttpRequest) -> DjangoConsumer:
    consumer: DjangoConsumer = request.META[ENVIRON_KEY]
    return consumer


def _json(
    data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = JsonResponse(data, status=status, headers=headers)
    # What CommonMiddleware would add (it is left out: it checks ALLOWED_HOSTS, redirects).
    response["Content-Length"] = str(len(response.content))
    return response


def _refuse(
    consumer: DjangoConsumer, status: int, error: str, headers: dict[str, str] | None = None
) -> HttpResponse:
    consumer.reject(status)
    return _json({"error": error}, status, headers)


def _client_key(consumer: DjangoConsumer) -> Callable[[str, HttpRequest], str]:
    return lambda group, request: f"{consumer.key_prefix}:{request.META['REMOTE_ADDR']}"


def _is_json(content_type: str) -> bool:
    kind, _, subtype = content_type.partition("/")
    return content_type == "application/json" or (
        kind == "application" and subtype.endswith("+json")
    )


def _event_and_id(body: dict[str, Any]) -> tuple[str, str] | None:
    event = body.get("event")
    resource_key = KNOWN_EVENTS.get(event) if isinstance(event, str) else None
    resource = body.get(resource_key) if resource_key else None
    id_ = resource.get("id") if isinstance(resource, dict) else None
    if isinstance(id_, int) and not isinstance(id_, bool):
        id_ = str(id_)  # a numeric id from a lenient producer is still that id
    if not isinstance(id_, str) or not id_:
        return None
    return f"{resource_key}.{event}", id_


@csrf_exempt  # a server-to-server POST carries no CSRF token; the credentials are the proof
@require_POST
def webhooks(request: HttpRequest) -> HttpResponse:
    consumer = _consumer(request)
    if not consumer.authenticate(request):
        return _refuse(
            consumer,
            401,
            "missing or invalid credentials",
            {"WWW-Authenticate": consumer.challenge},
        )
    usage = get_usage(
        request, group="webhooks", key=_client_key(consumer), rate=consumer.rate, increment=True
    )
    if usage is not None and usage["should_limit"]:
        # time_left is whole seconds to the window's end (0 within a per-second window).
        wait = max(1, usage["time_left"])
        return _refuse(consumer, 429, "rate limit exceeded", {"Retry-After": str(wait)})
    if not _is_json(request.content_type or ""):
        return _refuse(consumer, 415, "the body must be application/json")
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):
        return _refuse(consumer, 400, "the body is not valid JSON")
    if not isinstance(body, dict):
        return _refuse(consumer, 400, "the body must be a JSON object")
    found = _event_and_id(body)
    if found is None:
        consumer.count("ignored")
        return _json({"status": "ignored"}, 202)
    if not consumer.record_once(*found):
        return _json({"status": "duplicate"}, 200)
    return _json({"status": "accepted"}, 202)


@require_GET
def ledger(request: HttpRequest) -> HttpResponse:
    return _json(_consumer(request).ledger())


urlpatterns = [
    path("webhooks", webhooks, name="webhooks"),
    path("ledger", ledger, name="ledger"),
]
