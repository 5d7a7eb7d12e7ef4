"""``r360-webhooks serve``: the mock Record360, a Werkzeug app with a JSON control API.

One :class:`~werkzeug.routing.Rule` per endpoint, one ``on_<endpoint>`` method each, and
:meth:`App.dispatch_request` turning every failure into ``{"error": "..."}`` (STYLE.md §9):

=========================================  ======================================================
``POST /v1/events``                        trigger an event (given or generated) for every
                                           matching subscription; 202 with the delivery ids
``GET /v1/deliveries``                     list (``status``, ``event``, ``subscription``,
                                           ``since``, ``until``; ``limit``, ``cursor``,
                                           ``offset``), newest first
``GET /v1/deliveries/{id}``                one delivery with every attempt, redacted
``POST /v1/deliveries/{id}/redeliver``     the same payload to the same subscription, again
``GET/POST /v1/subscriptions``             list, create; ``GET/DELETE /v1/subscriptions/{id}``
``GET /healthz``, ``GET /openapi.json``    liveness and counts; the OpenAPI 3.1 document
=========================================  ======================================================

A bad request is a 4xx whose message says what is wrong; a 500 is only the last resort for a
bug, and is logged. Every state change is a transaction of the state database
(:mod:`~mockserver.server.database`): an accepted event is committed before its 202, a
subscription made through the API before its 201 (and it comes back at the next start).
Deliveries run in the background (:mod:`~mockserver.server.worker`); the API reads them with SQL
(:mod:`~mockserver.server.store`). :meth:`App.add_view` lets another module add pages that read
the same :attr:`App.store`; :func:`create_app` installs :mod:`~mockserver.server.dashboard`.
"""

from __future__ import annotations

import html
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import (
    BadRequest,
    Conflict,
    HTTPException,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from contracts import schemas
from mockserver.delivery.core import new_delivery_ids
from mockserver.errors import ConfigError, R360Error
from mockserver.server import dashboard, login
from mockserver.server.api import (
    int_param,
    json_response,
    parse_trigger,
    read_object,
    time_param,
)
from mockserver.server.config import ServerConfig
from mockserver.server.database import StoreClosed
from mockserver.server.guard import Guard, Refusal
from mockserver.server.login import redirect_to_login
from mockserver.server.openapi import CURSOR_PATTERN, MAX_LIMIT, MAX_OFFSET, openapi_document
from mockserver.server.store import STATES, DeliveryStore, Record
from mockserver.server.subscriptions import Subscription, parse_subscription
from mockserver.server.worker import STOP_TIMEOUT, DeliveryPool, Endpoint, QueueFull, ShuttingDown

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["App", "View", "create_app"]

logger = logging.getLogger("mockserver.server")

#: A page handler: the request and the URL's variables in, a response out.
View = Callable[..., Response]

_CURSOR = re.compile(CURSOR_PATTERN)
#: Read by programs, not browsers: without the token, a JSON 401 rather than the sign-in page.
_MACHINE_PATHS = ("/v1/", "/healthz", "/openapi.json")
_RULES = (
    ("/", "index", ["GET"]),
    ("/healthz", "healthz", ["GET"]),
    ("/openapi.json", "openapi", ["GET"]),
    ("/v1/events", "trigger", ["POST"]),
    ("/v1/deliveries", "list_deliveries", ["GET"]),
    ("/v1/deliveries/<id>", "get_delivery", ["GET"]),
    ("/v1/deliveries/<id>/redeliver", "redeliver", ["POST"]),
    ("/v1/subscriptions", "list_subscriptions", ["GET"]),
    ("/v1/subscriptions", "create_subscription", ["POST"]),
    ("/v1/subscriptions/<id>", "get_subscription", ["GET"]),
    ("/v1/subscriptions/<id>", "delete_subscription", ["DELETE"]),
)


def _error(status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return json_response({"error": message}, status, list(headers))


class App:
    """The mock server's WSGI app; start it with :func:`create_app`, stop it with :meth:`close`."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = DeliveryStore(config.state_dir)
        #: Unfinished deliveries left in the state by :meth:`close`, for the next start.
        self.left_for_next_start = 0
        try:
            self.pool = DeliveryPool(
                self.store,
                workers=config.workers,
                capacity=config.queue,
                transport=config.transport,
                allow_link_local=config.allow_link_local,
                resolver=config.resolver,
            )
        except BaseException as exc:
            self.store.close()
            if isinstance(exc, sqlite3.DatabaseError):  # damage quick_check did not see
                raise self.store.database.damaged(exc) from None
            raise
        try:
            self._start_delivering(config)
        except BaseException as exc:
            self.pool.stop(0)
            self.store.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise self.store.database.damaged(exc) from None
            raise
        self._lock = threading.Lock()
        self.url_map = Map(
            [Rule(path, endpoint=name, methods=methods) for path, name, methods in _RULES],
            merge_slashes=False,
        )
        self._views: dict[str, View] = {name: getattr(self, f"on_{name}") for _, name, _ in _RULES}
        #: Who may talk to this server (Host, Origin, Content-Type, the API token).
        self.guard = Guard.create(allowed_hosts=config.allowed_hosts, api_token=config.api_token)

    # -- extension -----------------------------------------------------------------------------

    def add_view(
        self, path: str, endpoint: str, view: View, *, methods: Sequence[str] = ("GET",)
    ) -> None:
        """Serve ``view`` at ``path``; an existing ``endpoint`` (``index``) gets the new view."""
        if endpoint not in self._views:
            self.url_map.add(Rule(path, endpoint=endpoint, methods=list(methods)))
        self._views[endpoint] = view

    def subscriptions(self) -> list[Subscription]:
        return [endpoint.subscription for endpoint in self.pool.endpoints()]

    def _start_delivering(self, config: ServerConfig) -> None:
        """The config's subscriptions, then the API's saved ones; the waiting deliveries of a
        subscription this run lacks are interrupted (nothing would ever take them)."""
        subscriptions = list(config.subscriptions)
        taken = {subscription.id for subscription in subscriptions}
        for sub_id, settings in self.store.saved_subscriptions():
            if sub_id in taken:
                logger.warning("subscription %r of the config file replaces the API's", sub_id)
                self.store.forget_subscription(sub_id)
                continue
            try:
                if isinstance(settings, str):  # unreadable: say so, as for any bad setting
                    raise ConfigError(f"{settings}; create it again with POST /v1/subscriptions")
                subscriptions.append(
                    parse_subscription(
                        settings, source="api", allow_link_local=config.allow_link_local
                    )
                )
            except ConfigError as exc:
                logger.warning("subscription %r saved by the API is not restored: %s", sub_id, exc)
        orphans = self.pool.schedule.interrupt_orphans([s.id for s in subscriptions])
        if orphans:
            logger.warning(
                "%d waiting delivery(ies) belong to subscriptions this run does not have; "
                "recorded as interrupted",
                orphans,
            )
        for subscription in subscriptions:
            self.pool.add(subscription)

    # -- WSGI ----------------------------------------------------------------------------------

    def dispatch_request(self, request: Request) -> Response:
        refusal = self.guard.check(request)
        if refusal is not None:
            return self._refuse(request, refusal)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(set(exc.valid_methods or ())))
            message = f"method {request.method} is not allowed on {request.path}; use {allowed}"
            return _error(405, message, [("Allow", allowed)])
        except HTTPException:
            return _error(
                404, f"no such endpoint: {request.path}; the API is described at /openapi.json"
            )
        refusal = self.guard.check_write(request)
        if refusal is not None:
            return self._refuse(request, refusal)
        try:
            return self._views[endpoint](request, **values)
        except HTTPException as exc:
            headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
            return _error(exc.code or 500, exc.description or exc.name, headers)
        except StoreClosed as exc:
            return _error(503, str(exc))
        except R360Error as exc:
            return _error(400, str(exc))
        except sqlite3.OperationalError as exc:  # a full disk, a file locked by someone else
            logger.exception("%s %s: the state database failed", request.method, request.path)
            return _error(503, f"the state database failed ({exc}); see the server log")
        except Exception:
            logger.exception("%s %s: unexpected error", request.method, request.path)
            return _error(500, "internal server error; the server log has the details")

    def _refuse(self, request: Request, refusal: Refusal) -> Response:
        if refusal.status == 401:
            if request.method == "GET" and not request.path.startswith(_MACHINE_PATHS):
                return redirect_to_login(request)
            return _error(401, refusal.message, [("WWW-Authenticate", 'Bearer realm="r360"')])
        return _error(refusal.status, refusal.message)

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.dispatch_request(Request(environ))(environ, start_response)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.wsgi_app(environ, start_response)

    def close(self, timeout: float = STOP_TIMEOUT) -> int:
        """Stop delivering (see :meth:`DeliveryPool.stop`); returns how many were interrupted.

        With ``--state`` nothing is: an unfinished delivery stays in the state and continues at
        the next start (:attr:`left_for_next_start` says how many)."""
        interrupted = self.pool.stop(timeout)
        try:
            if self.store.database.durable:
                self.left_for_next_start = self.store.unfinished()
        except StoreClosed:
            pass
        self.store.close()
        return interrupted

    def __enter__(self) -> App:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- pages ---------------------------------------------------------------------------------

    def on_index(self, request: Request) -> Response:
        links = ["/openapi.json", "/v1/deliveries", "/v1/subscriptions", "/healthz"]
        items = "".join(f'<li><a href="{html.escape(u)}">{html.escape(u)}</a></li>' for u in links)
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            "<title>r360-webhooks mock server</title><h1>r360-webhooks mock server</h1>"
            f"<p>The control API is described by its OpenAPI document.</p><ul>{items}</ul></html>"
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def on_healthz(self, request: Request) -> Response:
        return json_response(
            {
                "status": "ok",
                "subscriptions": len(self.subscriptions()),
                "queued": self.pool.queued,
                "retrying": self.pool.retrying(),
                "in_flight": self.pool.in_flight,
                "deliveries": self.store.counts(),
            }
        )

    def on_openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    # -- events and deliveries -----------------------------------------------------------------

    def on_trigger(self, request: Request) -> Response:
        trigger = parse_trigger(read_object(request))
        endpoints = self.pool.endpoints()
        targets = [
            (endpoint, event, payload, changes)
            for event, payload, changes in trigger.bodies
            for endpoint in endpoints
            if endpoint.subscription.matches(event)
        ]
        return self._submit(self._jobs(targets), trigger.seed)

    def on_list_deliveries(self, request: Request) -> Response:
        args = request.args
        status = _choice(args.get("status"), "status", STATES)
        event = _choice(args.get("event"), "event", [s.name for s in schemas.known_events()])
        cursor = args.get("cursor")
        if cursor is not None and not _CURSOR.fullmatch(cursor):
            raise BadRequest(f"cursor {cursor!r} is not a next_cursor this server returned")
        since, until = time_param(args, "since"), time_param(args, "until")
        page = self.store.query(
            status=status,
            event=event,
            subscription=args.get("subscription"),
            since=since,
            until=until,
            limit=int_param(args, "limit", 50, 1, MAX_LIMIT),
            cursor=int(cursor) if cursor is not None else None,
            offset=int_param(args, "offset", 0, 0, MAX_OFFSET),
        )
        return json_response(
            {
                "deliveries": [record.summary() for record in page.records],
                "total": page.total,
                "next_cursor": page.next_cursor,
            }
        )

    def on_get_delivery(self, request: Request, id: str) -> Response:
        return json_response(self._delivery(id).to_json())

    def on_redeliver(self, request: Request, id: str) -> Response:
        original = self._delivery(id)
        if not original.payload_readable:
            raise Conflict(
                f"delivery {id!r} has a body this server cannot read back; trigger a new event"
            )
        endpoint = self.pool.get(original.subscription)
        if endpoint is None:
            raise Conflict(
                f"subscription {original.subscription!r} of delivery {id!r} no longer exists; "
                "create it again, or trigger a new event"
            )
        target = (endpoint, original.event, original.payload, original.changes)
        return self._submit(self._jobs([target], redelivery_of=id), None)

    def _delivery(self, delivery_id: str) -> Record:
        record = self.store.get(delivery_id)
        if record is None:
            raise NotFound(f"no delivery has id {delivery_id!r}")
        return record

    @staticmethod
    def _jobs(
        targets: Sequence[tuple[Endpoint, str, Any, tuple[str, ...]]],
        redelivery_of: str | None = None,
    ) -> list[tuple[Endpoint, Record]]:
        """A new delivery per ``(endpoint, event, payload, changes)``, accepted now."""
        now = time.time()
        return [
            (
                endpoint,
                Record(
                    id=delivery_id, subscription=endpoint.id, event=event, payload=payload,
                    url=endpoint.shown_url, changes=changes,
                    policy=endpoint.subscription.retry.name, redelivery_of=redelivery_of,
                    created_at=now,
                ),
            )
            for delivery_id, (endpoint, event, payload, changes) in zip(
                new_delivery_ids(len(targets)), targets, strict=True
            )
        ]  # fmt: skip

    def _submit(self, jobs: list[tuple[Endpoint, Record]], seed: int | None) -> Response:
        try:
            self.pool.submit(jobs)
        except QueueFull as exc:
            raise TooManyRequests(str(exc), retry_after=1) from None
        except ShuttingDown as exc:
            raise ServiceUnavailable(str(exc)) from None
        accepted = [
            {
                "id": record.id,
                "subscription": record.subscription,
                "event": record.event,
                "changes": list(record.changes),
                "redelivery_of": record.redelivery_of,
            }
            for _, record in jobs
        ]
        return json_response({"seed": seed, "deliveries": accepted}, 202)

    # -- subscriptions -------------------------------------------------------------------------

    def on_list_subscriptions(self, request: Request) -> Response:
        return json_response({"subscriptions": [s.to_json() for s in self.subscriptions()]})

    def on_create_subscription(self, request: Request) -> Response:
        body = read_object(request)
        subscription = parse_subscription(
            body, source="api", allow_link_local=self.config.allow_link_local
        )
        with self._lock:
            existing = self.pool.endpoints()
            if any(e.subscription.id == subscription.id for e in existing):
                raise Conflict(f"subscription id {subscription.id!r} is taken; pick another")
            if len(existing) >= self.config.max_subscriptions:
                raise Conflict(
                    f"there are {len(existing)} subscriptions, the most this server "
                    "keeps; delete some first"
                )
            # What parse_subscription needs to make it again at the next start (literal
            # secrets included: docs/serve.md says so; the file is 0600).
            self.store.save_subscription(subscription.id, {**body, "id": subscription.id})
            self.pool.add(subscription)
        if subscription.insecure_warning:  # said once, where it was made (serve says the rest)
            logger.warning("%s", subscription.insecure_warning)
        location = f"/v1/subscriptions/{subscription.id}"
        return json_response(subscription.to_json(), 201, [("Location", location)])

    def on_get_subscription(self, request: Request, id: str) -> Response:
        endpoint = self.pool.get(id)
        if endpoint is None:
            raise NotFound(f"no subscription has id {id!r}")
        return json_response(endpoint.subscription.to_json())

    def on_delete_subscription(self, request: Request, id: str) -> Response:
        with self._lock:
            # Its saved settings (an API subscription's) go in the transaction that cancels
            # its waiting deliveries (DeliveryPool.remove).
            if self.pool.remove(id) is None:
                raise NotFound(f"no subscription has id {id!r}")
        return Response(status=204)


def _choice(value: str | None, name: str, allowed: Sequence[str]) -> str | None:
    if value is not None and value not in allowed:
        raise BadRequest(f"query parameter {name}={value!r} must be one of {', '.join(allowed)}")
    return value


def create_app(config: ServerConfig | None = None) -> App:
    """Build the mock server and start its delivery workers; call :meth:`App.close` to stop."""
    app = App(config if config is not None else ServerConfig())
    dashboard.install(app)
    login.install(app)
    return app
