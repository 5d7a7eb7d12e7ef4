"""Subscriptions for ``serve``: which events go where, with which credentials, how fast.

A subscription comes from the ``[[subscriptions]]`` tables of a TOML file or from
``POST /v1/subscriptions``; both go through :func:`parse_subscription`, so the same settings mean
the same thing and fail with the same one-line :class:`~mockserver.errors.ConfigError` naming the
file, the subscription and the key::

    [server]                      # optional; see mockserver.server.config
    workers = 4                   # attempts on the wire at once

    [[subscriptions]]
    id = "consumer"               # optional; subscription-1, -2, ... by position
    url = "http://127.0.0.1:8000/webhooks"
    events = "*"                  # or "transaction.create", or a list of event names
    auth = "bearer:env:R360_TOKEN"  # an --auth SPEC; secrets may be env:NAME or @file
    jwt_claims = { iss = "record360" }
    headers = { "X-Key-Id" = "k1" }
    retry = "quick"               # a --retry preset or custom:D1,D2,...
    rate = 5.0                    # deliveries started per second for this subscription
    concurrency = 2               # attempts on the wire at once (default: half the workers)
    ca_bundle = "ca.pem"          # or insecure = true

Secrets written as ``env:NAME`` or ``@file`` are resolved in the server's environment and on its
disk, so they are accepted from the config file only: through the control API they would let a
caller send the server's environment or files to a URL of its choosing. Relative paths are
relative to the working directory, as on the command line.

A subscription may not point at a link-local address (``169.254.0.0/16``, ``fe80::/10``) or a
cloud metadata service (``169.254.169.254``, ``fd00:ec2::254``, ``metadata.google.internal``),
however the address is spelled, unless the server allows it (``--allow-link-local``): a mock
server that delivers to any URL it is told would otherwise hand an instance's credentials to
whoever can create a subscription. A name is checked again, resolved, at every connection
(:mod:`mockserver.server.egress`).
(:mod:`mockserver.server.config` reads the ``[server]`` table and the file as a whole.)
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from contracts import schemas
from mockserver.auth import AuthScheme
from mockserver.delivery.pacing import MIN_RATE
from mockserver.delivery.retry import RetryPolicy, parse_retry
from mockserver.errors import ConfigError, UsageError
from mockserver.redaction import Redactor
from mockserver.server.egress import forbidden_host
from mockserver.settings import SUBSCRIPTION, DeliverySettings, delivery_settings
from mockserver.urls import MAX_URL_LENGTH

__all__ = [
    "ALL_EVENTS",
    "KEYS",
    "MAX_URL_LENGTH",
    "Source",
    "Subscription",
    "Where",
    "parse_subscription",
]

#: The ``events`` value that subscribes to every event, including ones added later.
ALL_EVENTS = "*"
#: The settings of one subscription, in the order the docs list them.
KEYS = (
    "id", "url", "events", "auth", "jwt_claims", "headers", "retry", "rate", "concurrency",
    "ca_bundle", "insecure",
)  # fmt: skip
#: Three attempts in six seconds: a laptop consumer's mistakes show at once. A long schedule
#: (``standard``, 75 h) holds no worker while it waits (:mod:`mockserver.server.worker`).
DEFAULT_RETRY = "quick"
MAX_RATE = 10_000.0
#: The most attempts on the wire one subscription may ask for (the most workers there are).
MAX_CONCURRENCY = 256
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_ID = re.compile(ID_PATTERN)

Source = Literal["config", "api"]


@dataclass(frozen=True, slots=True, eq=False)
class Subscription:
    """One consumer endpoint and what it receives; secrets resolved, and known to ``redactor``."""

    id: str
    url: str
    events: tuple[str, ...]
    auth: AuthScheme | None
    #: The auth SPEC as shown to API clients: ``bearer:[REDACTED]``, ``basic:USER:[REDACTED]``.
    auth_shown: str | None
    headers: Mapping[str, str]
    retry: RetryPolicy
    rate: float | None
    ca_bundle: str | None
    insecure: bool
    redactor: Redactor = field(repr=False)
    source: Source = "api"
    #: What the settings factory made of the above; deliveries use it.
    settings: DeliverySettings | None = field(default=None, repr=False)
    #: Attempts on the wire at once (``None``: the server's default, half its workers).
    concurrency: int | None = None

    def matches(self, event: str) -> bool:
        return ALL_EVENTS in self.events or event in self.events

    @property
    def insecure_warning(self) -> str | None:
        """The one line ``serve`` says for a subscription that does not verify certificates."""
        if self.settings is None:
            return None
        return self.settings.insecure_warning_for(f"subscription {self.id}")

    def to_json(self) -> dict[str, Any]:
        """What the control API shows: every secret replaced by the placeholder."""
        return {
            "id": self.id,
            "url": self.redactor.text(self.url),
            "events": list(self.events),
            "auth": self.auth_shown,
            "headers": self.redactor.headers(self.headers),
            "retry": self.retry.name,
            "rate": self.rate,
            "concurrency": self.concurrency,
            "ca_bundle": self.ca_bundle,
            "insecure": self.insecure,
            "source": self.source,
        }


class Where:
    """Builds the one-line message prefix: ``FILE: subscription 'id', key 'auth': ...``."""

    def __init__(self, path: str | None, label: str | None) -> None:
        self.path, self.label = path, label

    def error(self, key: str | None, problem: str) -> ConfigError:
        parts = [f"subscription {self.label}"] if self.label else []
        if key is not None:
            parts.append(f"key {key!r}")
        where = ", ".join(parts)
        message = f"{where}: {problem}" if where else problem
        if self.path:
            message = f"{self.path}: {message}"
        return ConfigError(message, path=self.path, subscription=self.label, key=key)


def parse_subscription(
    data: Mapping[str, Any],
    *,
    source: Source = "api",
    index: int = 1,
    path: str | None = None,
    environ: Mapping[str, str] | None = None,
    allow_link_local: bool = False,
) -> Subscription:
    """Validate one subscription's settings (a TOML table or a JSON object) and resolve secrets.

    The URL, credentials, headers and TLS options go through the settings factory
    (:func:`mockserver.settings.delivery_settings`), as every other entry point's do;
    ``source="api"`` refuses ``env:NAME`` and ``@file`` secrets (see the module docstring).
    Raises :class:`ConfigError` naming ``path``, the subscription and the key.
    """
    raw_id = data.get("id")
    label = repr(raw_id) if isinstance(raw_id, str) and raw_id else None
    if label is None and source == "config":
        label = f"#{index}"
    where = Where(path, label)
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise where.error(unknown[0], f"unknown key; the keys are {', '.join(KEYS)}")
    sub_id = _id(data, where, source, index)
    if data.get("url") is None:
        raise where.error("url", "is required: the consumer endpoint, http(s)://HOST/PATH")
    events = _events(data.get("events", ALL_EVENTS), where)
    insecure = data.get("insecure", False)
    if not isinstance(insecure, bool):
        raise where.error("insecure", "must be true or false")
    ca_bundle = data.get("ca_bundle")
    if ca_bundle is not None and (not isinstance(ca_bundle, str) or not ca_bundle):
        raise where.error("ca_bundle", "must be the path of a PEM file")
    try:
        settings = delivery_settings(
            data["url"],
            auth=_spec(data.get("auth"), where),
            jwt_claims=data.get("jwt_claims"),
            headers=data.get("headers", {}),
            ca_bundle=ca_bundle,
            insecure=insecure,
            environ=environ,
            names=SUBSCRIPTION,
            secret_refs=source == "config",
        )
    except UsageError as exc:
        option = exc.option or SUBSCRIPTION.url
        key = "headers" if option == SUBSCRIPTION.header else option
        message = str(exc).removeprefix(f"{option}: ")
        if option != SUBSCRIPTION.header:  # "header name 'X Y' is not valid" reads as it is
            message = message.removeprefix(f"{option} ")
        if option == SUBSCRIPTION.ca_bundle and source == "api":
            # One answer whatever the reason: "No such file" against "no certificate" would
            # tell an API caller which files exist on the server.
            message = (
                f"CA bundle {ca_bundle}: not a readable PEM file of CA certificates on the "
                "server; check the path"
            )
        raise where.error(key, message) from None
    assert settings.url is not None
    if not allow_link_local and (problem := forbidden_host(httpx.URL(settings.url).host)):
        raise where.error("url", f"{problem}; start serve with --allow-link-local to allow it")
    retry = _retry(data.get("retry", DEFAULT_RETRY), where)
    rate = _rate(data.get("rate"), where)
    concurrency = _concurrency(data.get("concurrency"), where)
    return Subscription(
        sub_id, settings.url, events, settings.auth, settings.auth_shown, settings.headers,
        retry, rate, ca_bundle, insecure, settings.redactor, source, settings, concurrency,
    )  # fmt: skip


def _spec(value: Any, where: Where) -> str | None:
    if value is not None and not isinstance(value, str):
        raise where.error("auth", "must be an auth SPEC string such as bearer:env:TOKEN")
    return value


def _id(data: Mapping[str, Any], where: Where, source: Source, index: int) -> str:
    if "id" not in data:
        return f"subscription-{index}" if source == "config" else f"sub_{uuid.uuid4().hex[:12]}"
    value = data["id"]
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise where.error("id", "must be 1-64 letters, digits, '.', '_' or '-', starting alnum")
    return value


def _events(value: Any, where: Where) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise where.error("events", 'must be "*", an event name or a non-empty list of names')
    known = [spec.name for spec in schemas.known_events()]
    for name in names:
        if name != ALL_EVENTS and name not in known:
            raise where.error("events", f"unknown event {name!r}; use {', '.join(known)} or *")
    if ALL_EVENTS in names:
        return (ALL_EVENTS,)
    return tuple(dict.fromkeys(names))


def _retry(value: Any, where: Where) -> RetryPolicy:
    if not isinstance(value, str):
        raise where.error("retry", "must be a preset name or custom:D1,D2,...")
    try:
        return parse_retry(value)
    except UsageError as exc:
        raise where.error("retry", str(exc)) from None


def _rate(value: Any, where: Where) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not MIN_RATE <= value <= MAX_RATE
    ):
        raise where.error(
            "rate", f"must be deliveries per second, from {MIN_RATE:g} to {MAX_RATE:g}"
        )
    return float(value)


def _concurrency(value: Any, where: Where) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise where.error(
            "concurrency", f"must be attempts on the wire at once, from 1 to {MAX_CONCURRENCY}"
        )
    return value
