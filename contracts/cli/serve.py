"""``r360-webhooks serve``: run the mock Record360 (control API, background delivery) until stopped.

Ctrl-C or SIGTERM stops it cleanly: nothing new is accepted, attempts on the wire finish, and
every delivery not finished is recorded ``interrupted`` (in ``--state DIR``, when given).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from contracts.cli._foreground import cannot_listen, check_port, sigterm_as_interrupt
from mockserver.server import create_app
from mockserver.server.subscriptions import ServerConfig, load_config
from mockserver.server.worker import STOP_TIMEOUT

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
        "--state", metavar="DIR", help="keep the delivery log here, so a restart shows past ones"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_port(args.port)
    config = load_config(args.config) if args.config else ServerConfig()
    if args.state:
        config = dataclasses.replace(config, state_dir=Path(args.state))
    _log_to_stderr()
    app = create_app(config)
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as exc:
        app.close()
        raise cannot_listen(args.host, args.port, exc) from None
    where = f"http://{args.host}:{server.server_port}"
    print(f"mock Record360 on {where}  (API: {where}/openapi.json)", flush=True)
    subscriptions = app.subscriptions()
    source = f" from {config.path}" if config.path else " (add some: POST /v1/subscriptions)"
    print(f"  subscriptions  {len(subscriptions)}{source}", flush=True)
    for subscription in subscriptions:
        shown = subscription.to_json()
        print(f"    {shown['id']}: {shown['url']} <- {', '.join(shown['events'])}", flush=True)
    if app.store.path is not None:
        print(f"  state          {app.store.path} ({len(app.store)} past deliveries)", flush=True)
    if args.host not in LOOPBACK_HOSTS:
        print(
            f"warning: --host {args.host}: the control API has no authentication and is now "
            "reachable from the network",
            file=sys.stderr,
        )
    try:
        with sigterm_as_interrupt():
            server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        busy = app.pool.in_flight
        if busy:
            print(f"stopping: waiting up to {STOP_TIMEOUT:g} s for {busy} in flight", flush=True)
        interrupted = app.close()
    print(f"stopped ({interrupted} deliveries recorded as interrupted)", flush=True)
    return 0


def _log_to_stderr() -> None:
    """Show what the workers do (one line per finished delivery) and warnings."""
    logger = logging.getLogger("mockserver")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
