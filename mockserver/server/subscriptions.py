"""Subscriptions for ``serve``: which events go where, with which credentials, how fast.

A subscription comes from the ``[[subscriptions]]`` tables of a TOML file or from
``POST /v1/subscriptions``; both go through :func:`parse_subscription`, so the same settings mean
the same thing and fail with the same one-line :class:`~mockserver.errors.ConfigError` naming the
file, the subscription and the key::

    [server]                      # optional; the defaults are shown
    workers = 4                   # deliveries in flight at once
    queue = 1000                  # accepted deliveries waiting for a worker
    keep = 10000                  # deliveries kept in memory (older ones stay in --state)

    [[subscriptions]]
    id = "consumer"               # optional; subscription-1, -2, ... by position
    url = "http://127.0.0.1:8000/webhooks"
    events = "*"                  # or "transaction.create", or a list of event names
    auth = "bearer:env:R360_TOKEN"  # an --auth SPEC; secrets may be env:NAME or @file
    jwt_claims = { iss = "record360" }
    headers = { "X-Key-Id" = "k1" }
    retry = "quick"               # a --retry preset or custom:D1,D2,...
    rate = 5.0                    # deliveries started per second for this subscription
    ca_bundle = "ca.pem"          # or insecure = true

Secrets written as ``env:NAME`` or ``@file`` are resolved in the server's environment and on its
disk, so they are accepted from the config file only: through the control API (which has no
authentication, and which a browser page could reach) they would let a caller send the server's
environment or files to a URL of its choosing. Relative paths are relative to the working
directory, as on the command line.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from contracts import schemas
from mockserver.auth import AuthScheme, NoAuth
from mockserver.auth_spec import parse_auth_spec, parse_header
from mockserver.delivery.retry import RetryPolicy, parse_retry
from mockserver.delivery.tls import InsecureTLSWarning, verify_setting
from mockserver.errors import ConfigError, UsageError
from mockserver.redaction import PLACEHOLDER, Redactor

__all__ = [
    "ALL_EVENTS",
    "KEYS",
    "ServerConfig",
    "Source",
    "Subscription",
    "load_config",
    "parse_subscription",
]

#: The ``events`` value that subscribes to every event, including ones added later.
ALL_EVENTS = "*"
#: The settings of one subscription, in the order the docs list them.
KEYS = (
    "id", "url", "events", "auth", "jwt_claims", "headers", "retry", "rate", "ca_bundle",
    "insecure",
)  # fmt: skip
SERVER_KEYS = ("workers", "queue", "keep")
DEFAULT_RETRY = "quick"  # a failing consumer holds a worker for the whole schedule
MAX_RATE = 10_000.0
MAX_URL_LENGTH = 2048
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

    def matches(self, event: str) -> bool:
        return ALL_EVENTS in self.events or event in self.events

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
            "ca_bundle": self.ca_bundle,
            "insecure": self.insecure,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``serve`` runs with; :func:`load_config` reads it from a TOML file.

    ``transport``, when set, carries every delivery instead of the network (an
    ``httpx.MockTransport`` sink or an ``httpx.WSGITransport``): tests and dry runs use it so
    that no subscription, whatever its URL, causes network traffic.
    """

    subscriptions: tuple[Subscription, ...] = ()
    state_dir: Path | None = None
    workers: int = 4
    queue: int = 1000
    keep: int = 10_000
    max_subscriptions: int = 1000
    transport: httpx.BaseTransport | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        for name in ("workers", "queue", "keep", "max_subscriptions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"server {name} {value!r} must be an integer >= 1", key=name)


class _Where:
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
) -> Subscription:
    """Validate one subscription's settings (a TOML table or a JSON object) and resolve secrets.

    ``source="api"`` refuses ``env:NAME`` and ``@file`` secrets (see the module docstring).
    Raises :class:`ConfigError` naming ``path``, the subscription and the key.
    """
    raw_id = data.get("id")
    label = repr(raw_id) if isinstance(raw_id, str) and raw_id else None
    if label is None and source == "config":
        label = f"#{index}"
    where = _Where(path, label)
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise where.error(unknown[0], f"unknown key; the keys are {', '.join(KEYS)}")
    sub_id = _id(data, where, source, index)
    url = _url(data.get("url"), where)
    events = _events(data.get("events", ALL_EVENTS), where)
    claims = _strings(data.get("jwt_claims", {}), "jwt_claims", where)
    auth, shown = _auth(data.get("auth"), claims, where, source, environ)
    redactor = Redactor(
        auth.secrets() if auth else (), sensitive_headers=auth.sensitive_headers() if auth else ()
    )
    password = httpx.URL(url).password
    if password:
        redactor.add_secret(password)
    headers = _headers(data.get("headers", {}), where, source, environ, redactor)
    retry = _retry(data.get("retry", DEFAULT_RETRY), where)
    rate = _rate(data.get("rate"), where)
    ca_bundle, insecure = _tls(data.get("ca_bundle"), data.get("insecure", False), where)
    return Subscription(
        sub_id, url, events, auth, shown, headers, retry, rate, ca_bundle, insecure, redactor,
        source,
    )  # fmt: skip


def _id(data: Mapping[str, Any], where: _Where, source: Source, index: int) -> str:
    if "id" not in data:
        return f"subscription-{index}" if source == "config" else f"sub_{uuid.uuid4().hex[:12]}"
    value = data["id"]
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise where.error("id", "must be 1-64 letters, digits, '.', '_' or '-', starting alnum")
    return value


def _url(value: Any, where: _Where) -> str:
    if value is None:
        raise where.error("url", "is required: the consumer endpoint, http(s)://HOST/PATH")
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH:
        raise where.error("url", f"must be a string of at most {MAX_URL_LENGTH} characters")
    try:
        parsed: httpx.URL | None = httpx.URL(value)
    except (httpx.InvalidURL, TypeError, ValueError):
        parsed = None
    if (
        parsed is None
        or parsed.scheme not in ("http", "https")
        or not parsed.host
        or any(ch.isspace() or ord(ch) < 0x20 for ch in value)
    ):
        # Not echoed: a URL may carry a password.
        raise where.error("url", "is not an absolute http(s) URL, e.g. http://127.0.0.1:8000/hook")
    return value


def _events(value: Any, where: _Where) -> tuple[str, ...]:
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


def _strings(value: Any, key: str, where: _Where) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise where.error(key, "must be a table (object) of string values")
    return dict(value)


def _file_secret(value: str) -> bool:
    return value.startswith(("env:", "@"))


def _secret_part(spec: str) -> str:
    scheme, _, rest = spec.partition(":")
    return rest if scheme.lower() == "bearer" else rest.partition(":")[2]


def _auth(
    value: Any,
    claims: dict[str, str],
    where: _Where,
    source: Source,
    environ: Mapping[str, str] | None,
) -> tuple[AuthScheme | None, str | None]:
    if value is None:
        if claims:
            raise where.error("jwt_claims", "needs auth = jwt:ALG:SECRET")
        return None, None
    if not isinstance(value, str):
        raise where.error("auth", "must be an auth SPEC string such as bearer:env:TOKEN")
    if source == "api" and _file_secret(_secret_part(value)):
        raise where.error("auth", _API_SECRETS)
    try:
        scheme = parse_auth_spec(value, claims=claims, environ=environ, option="auth")
    except UsageError as exc:
        raise where.error("auth", str(exc).removeprefix("auth: ")) from None
    if isinstance(scheme, NoAuth):
        return scheme, "none"
    name, _, rest = value.partition(":")
    name = name.lower()
    public = f"{rest.partition(':')[0]}:" if name in ("basic", "api-key", "jwt") else ""
    return scheme, f"{name}:{public}{PLACEHOLDER}"


_API_SECRETS = (
    "env:NAME and @file secrets are read from the server's environment and disk, so the control "
    "API refuses them; put the subscription in the --config file, or pass the secret itself"
)


def _headers(
    value: Any,
    where: _Where,
    source: Source,
    environ: Mapping[str, str] | None,
    redactor: Redactor,
) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, raw in _strings(value, "headers", where).items():
        if source == "api" and _file_secret(raw.strip()):
            raise where.error("headers", _API_SECRETS)
        try:
            parsed_name, parsed_value = parse_header(
                f"{name}:{raw}", environ=environ, option="header"
            )
        except UsageError as exc:
            raise where.error("headers", str(exc)) from None
        if _file_secret(raw.strip()) or redactor.is_sensitive_header(parsed_name):
            redactor.add_secret(parsed_value)  # it came from a secret store: treat it as one
        headers[parsed_name] = parsed_value
    return headers


def _retry(value: Any, where: _Where) -> RetryPolicy:
    if not isinstance(value, str):
        raise where.error("retry", "must be a preset name or custom:D1,D2,...")
    try:
        return parse_retry(value)
    except UsageError as exc:
        raise where.error("retry", str(exc)) from None


def _rate(value: Any, where: _Where) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_RATE
    ):
        raise where.error("rate", f"must be deliveries per second, > 0 and <= {MAX_RATE:g}")
    return float(value)


def _tls(ca_bundle: Any, insecure: Any, where: _Where) -> tuple[str | None, bool]:
    if not isinstance(insecure, bool):
        raise where.error("insecure", "must be true or false")
    if ca_bundle is None:
        return None, insecure
    if not isinstance(ca_bundle, str) or not ca_bundle:
        raise where.error("ca_bundle", "must be the path of a PEM file")
    if insecure:
        raise where.error("insecure", "contradicts ca_bundle; use one of them")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureTLSWarning)
            verify_setting(ca_bundle, False)  # load it now: a bad file fails here, not later
    except UsageError as exc:
        raise where.error("ca_bundle", str(exc)) from None
    return ca_bundle, False


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> ServerConfig:
    """Read a ``serve`` TOML file: the ``[server]`` table and every ``[[subscriptions]]``."""
    shown = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the config ({exc.strerror})", path=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML ({exc})", path=shown) from None
    file = _Where(shown, None)
    unknown = sorted(set(data) - {"server", "subscriptions"})
    if unknown:
        raise file.error(unknown[0], "unknown top-level key; use [server] and [[subscriptions]]")
    server = data.get("server", {})
    if not isinstance(server, dict):
        raise file.error("server", "must be a table: [server]")
    for key in server:
        if key not in SERVER_KEYS:
            raise file.error(f"server.{key}", f"unknown key; use {', '.join(SERVER_KEYS)}")
    tables = data.get("subscriptions", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise file.error("subscriptions", "must be an array of tables: [[subscriptions]]")
    subscriptions: list[Subscription] = []
    for index, table in enumerate(tables, start=1):
        sub = parse_subscription(table, source="config", index=index, path=shown, environ=environ)
        if any(other.id == sub.id for other in subscriptions):
            raise _Where(shown, repr(sub.id)).error("id", "is used by an earlier subscription")
        subscriptions.append(sub)
    settings = {name: server[name] for name in SERVER_KEYS if name in server}
    try:
        return ServerConfig(subscriptions=tuple(subscriptions), path=shown, **settings)
    except ConfigError as exc:
        raise file.error(f"server.{exc.key}", str(exc)) from None
