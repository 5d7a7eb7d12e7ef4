"""``serve``'s configuration: the ``[server]`` table, the subscriptions, and the file they are in.

::

    [server]                      # optional; the defaults are shown
    workers = 4                   # attempts on the wire at once (1 to 256)
    queue = 1000                  # accepted deliveries waiting for their first attempt
    keep = 10000                  # deprecated: accepted, ignored, and warned about (see below)
    api_token = "env:R360_API_TOKEN"  # optional: every API call needs it (env:/@file/literal)
    allowed_hosts = ["mock.internal"] # Host names besides loopback and the bound address
    allow_link_local = false      # subscriptions to link-local / metadata addresses

Every number has a ceiling, so an absurd value (``workers = 100000000000000000``) is refused in
one line instead of eating memory. A file that is not UTF-8 TOML is one line too.

``keep`` once bounded the deliveries held in memory. The state is an SQLite database now
(:mod:`~mockserver.server.database`) and memory no longer grows with deliveries, so the key means
nothing; it is still accepted (and checked) because config files in the wild set it, and
``serve`` says in one line that it is ignored, so that nobody counts on it to bound the state.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mockserver.auth_spec import resolve_secret
from mockserver.errors import ConfigError, UsageError
from mockserver.server.egress import Resolver
from mockserver.server.guard import check_token
from mockserver.server.subscriptions import Subscription, Where, parse_subscription

__all__ = ["LIMITS", "SERVER_KEYS", "ServerConfig", "load_config"]

#: The highest value each number may take: far above any honest use, far below harm.
LIMITS: Mapping[str, int] = {
    "workers": 256,
    "queue": 1_000_000,
    "keep": 10_000_000,
    "max_subscriptions": 100_000,
}
SERVER_KEYS = ("workers", "queue", "keep", "api_token", "allowed_hosts", "allow_link_local")


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
    #: Deprecated and ignored (see the module docstring); kept so that old files still load.
    keep: int = 10_000
    max_subscriptions: int = 1000
    transport: httpx.BaseTransport | None = None
    path: str | None = None
    #: When set, every API call and page needs it (see :mod:`mockserver.server.guard`).
    api_token: str | None = None
    #: Host names accepted in ``Host`` besides loopback and the bound address.
    allowed_hosts: tuple[str, ...] = ()
    allow_link_local: bool = False
    #: One line each, for ``serve`` to show on stderr (a deprecated key that is set).
    warnings: tuple[str, ...] = ()
    #: Replaces DNS for the link-local check made at each connection (tests: no lookups).
    resolver: Resolver | None = None

    def __post_init__(self) -> None:
        if self.api_token is not None:
            try:
                check_token(self.api_token, "server api_token")
            except UsageError as exc:
                raise ConfigError(str(exc), key="api_token") from None
        for name, high in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise ConfigError(
                    f"server {name} {value!r} must be an integer from 1 to {high}", key=name
                )


def load_config(
    path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    allow_link_local: bool = False,
) -> ServerConfig:
    """Read a ``serve`` TOML file: the ``[server]`` table and every ``[[subscriptions]]``.

    ``allow_link_local`` (``--allow-link-local``) allows what ``[server] allow_link_local`` does.
    """
    shown = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the config ({exc.strerror})", path=shown) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{shown}: not UTF-8 text; pass a TOML file such as examples/serve.toml", path=shown
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML ({exc})", path=shown) from None
    file = Where(shown, None)
    unknown = sorted(set(data) - {"server", "subscriptions"})
    if unknown:
        raise file.error(unknown[0], "unknown top-level key; use [server] and [[subscriptions]]")
    server = data.get("server", {})
    if not isinstance(server, dict):
        raise file.error("server", "must be a table: [server]")
    for key in server:
        if key not in SERVER_KEYS:
            raise file.error(f"server.{key}", f"unknown key; use {', '.join(SERVER_KEYS)}")
    settings = _server(server, file, environ)
    if "keep" in server:
        settings["warnings"] = (
            f"{shown}: [server] keep is deprecated and ignored (the state is an SQLite "
            "database; nothing is pruned: docs/serve.md shows how); remove the key",
        )
    if allow_link_local:
        settings["allow_link_local"] = True
    tables = data.get("subscriptions", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise file.error("subscriptions", "must be an array of tables: [[subscriptions]]")
    subscriptions: list[Subscription] = []
    for index, table in enumerate(tables, start=1):
        sub = parse_subscription(
            table, source="config", index=index, path=shown, environ=environ,
            allow_link_local=settings.get("allow_link_local", False),
        )  # fmt: skip
        if any(other.id == sub.id for other in subscriptions):
            raise Where(shown, repr(sub.id)).error("id", "is used by an earlier subscription")
        subscriptions.append(sub)
    try:
        return ServerConfig(subscriptions=tuple(subscriptions), path=shown, **settings)
    except ConfigError as exc:
        raise file.error(f"server.{exc.key}", str(exc)) from None


def _server(
    table: Mapping[str, Any], file: Where, environ: Mapping[str, str] | None
) -> dict[str, Any]:
    settings = {name: table[name] for name in ("workers", "queue", "keep") if name in table}
    if "api_token" in table:
        token = table["api_token"]
        if not isinstance(token, str) or not token:
            raise file.error("server.api_token", "must be a string: the token, env:NAME or @file")
        try:
            settings["api_token"] = check_token(resolve_secret(token, environ=environ), "it")
        except UsageError as exc:
            raise file.error("server.api_token", str(exc)) from None
    if "allowed_hosts" in table:
        hosts = table["allowed_hosts"]
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            raise file.error("server.allowed_hosts", "must be a list of host names")
        settings["allowed_hosts"] = tuple(hosts)
    if "allow_link_local" in table:
        if not isinstance(table["allow_link_local"], bool):
            raise file.error("server.allow_link_local", "must be true or false")
        settings["allow_link_local"] = table["allow_link_local"]
    return settings
