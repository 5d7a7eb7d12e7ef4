"""``r360-webhooks serve``: run the mock Record360 (control API, background delivery) until stopped.

Ctrl-C or SIGTERM stops it cleanly: nothing new is accepted and attempts on the wire finish and
are recorded. With ``--state DIR`` every unfinished delivery stays in the state database and
continues at the next start; without it, each is recorded ``interrupted``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contracts.cli._foreground import cannot_listen, check_listen, sigterm_as_interrupt
from contracts.errors import UsageError

if TYPE_CHECKING:  # imported when the command runs: --help and usage errors stay instant
    from mockserver.server.app import App
    from mockserver.server.config import ServerConfig

HELP = "run the mock Record360: a control API that sends webhooks to your subscriptions"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help=HELP,
        description=HELP + ". Subscriptions come from --config (TOML, see examples/serve.toml) "
        "and POST /v1/subscriptions; the API is described at /openapi.json. Stop with Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8360, help="port (default 8360; 0: any free)")
    parser.add_argument(
        "--config", metavar="FILE", help="TOML file with [server] and [[subscriptions]]"
    )
    parser.add_argument(
        "--state",
        metavar="DIR",
        help="keep the state (an SQLite database) here: accepted events, deliveries, their "
        "schedule and API subscriptions survive a restart or a kill",
    )
    guard = parser.add_argument_group("who may use the control API")
    guard.add_argument(
        "--api-token",
        metavar="TOKEN",
        help="require Authorization: Bearer TOKEN on every API call and the dashboard (which "
        "asks for it once); write it as env:NAME or @file to keep it out of shell history",
    )
    guard.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="accept this Host name besides loopback and the bound address (repeatable)",
    )
    guard.add_argument(
        "--allow-link-local",
        action="store_true",
        help="allow subscriptions to link-local and cloud metadata addresses (refused by default)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # The token first (an empty one must never switch the guard off, whatever else is wrong),
    # then the port, before any heavy import: a usage error answers at once.
    token = _api_token(args.api_token) if args.api_token is not None else None
    check_listen(args.host, args.port)
    from mockserver.server.config import ServerConfig, load_config

    config = (
        load_config(args.config, allow_link_local=args.allow_link_local)
        if args.config
        else ServerConfig()
    )
    if args.state:
        config = dataclasses.replace(config, state_dir=Path(args.state))
    config = _guarded(config, args, token)
    with _log_to_stderr():
        return _serve(args, config)


def _serve(args: argparse.Namespace, config: ServerConfig) -> int:
    # SIGTERM is a clean stop from the first moment: create_app opens, checks and migrates the
    # state and starts the workers, which may take a while on a big file.
    with sigterm_as_interrupt():
        try:
            app = _started(config)
        except KeyboardInterrupt:
            print("stopped while starting (nothing was accepted yet)", flush=True)
            return 0
        return _run(args, config, app)


def _started(config: ServerConfig) -> App:
    from mockserver.server import create_app

    return create_app(config)


def _run(args: argparse.Namespace, config: ServerConfig, app: App) -> int:
    from werkzeug.serving import make_server

    from mockserver.server.worker import STOP_TIMEOUT

    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except (OSError, SystemExit, KeyboardInterrupt) as exc:
        app.close()
        if isinstance(exc, KeyboardInterrupt):
            print("stopped while starting", flush=True)
            return 0
        error = exc if isinstance(exc, OSError) else OSError("address in use")
        raise cannot_listen(args.host, args.port, error) from None
    try:
        # The config's own warnings first: said before the line that says the server is up.
        for warning in config.warnings:
            print(f"warning: {warning}", file=sys.stderr, flush=True)
        app.guard.allow_host(args.host)
        where = f"http://{_shown_host(args.host)}:{server.server_port}"
        print(f"mock Record360 on {where}  (API: {where}/openapi.json)", flush=True)
        subscriptions = app.subscriptions()
        source = f" from {config.path}" if config.path else " (add some: POST /v1/subscriptions)"
        print(f"  subscriptions  {len(subscriptions)}{source}", flush=True)
        for subscription in subscriptions:
            shown = subscription.to_json()
            print(f"    {shown['id']}: {shown['url']} <- {', '.join(shown['events'])}", flush=True)
        if app.store.path is not None:
            waiting = app.store.unfinished()
            print(
                f"  state          {app.store.path} ({len(app.store)} past deliveries, "
                f"{waiting} to continue)",
                flush=True,
            )
        for subscription in subscriptions:
            if subscription.insecure_warning:
                print(subscription.insecure_warning, file=sys.stderr)
        if config.api_token:
            print("  api token      required (Authorization: Bearer; the dashboard asks once)")
        elif args.host not in LOOPBACK_HOSTS:
            print(
                f"warning: --host {args.host}: the control API is reachable from the network and "
                "has no --api-token",
                file=sys.stderr,
            )
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        busy = app.pool.in_flight
        if busy:
            print(f"stopping: waiting up to {STOP_TIMEOUT:g} s for {busy} in flight", flush=True)
        interrupted = app.close()
    left = f"; {app.left_for_next_start} continue at the next start" if app.store.path else ""
    print(f"stopped ({interrupted} deliveries recorded as interrupted){left}", flush=True)
    return 0


def _api_token(value: str) -> str:
    """``--api-token``, resolved (``env:NAME``, ``@file``) and checked before anything starts: an
    empty one would otherwise switch the check off without a word."""
    from mockserver.auth_spec import resolve_secret
    from mockserver.server.guard import check_token

    try:
        return check_token(resolve_secret(value), "--api-token")
    except UsageError as exc:
        message = str(exc)
        raise UsageError(
            message if message.startswith("--") else f"--api-token: {message}"
        ) from None


def _guarded(config: ServerConfig, args: argparse.Namespace, token: str | None) -> ServerConfig:
    """The command line's guard options over the config file's."""
    changes: dict[str, Any] = {}
    if token is not None:
        changes["api_token"] = token
    if args.allowed_host:
        changes["allowed_hosts"] = (*config.allowed_hosts, *args.allowed_host)
    if args.allow_link_local:
        changes["allow_link_local"] = True
    return dataclasses.replace(config, **changes) if changes else config


def _shown_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@contextlib.contextmanager
def _log_to_stderr() -> Iterator[None]:
    """Show what the workers do (one line per finished delivery) and warnings, while the
    command runs: a caller of :func:`contracts.cli.main` (a test) keeps no handler on a stream
    that may be closed once the command has returned."""
    logger = logging.getLogger("mockserver")
    if logger.handlers:  # the caller set up logging: leave it alone
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
