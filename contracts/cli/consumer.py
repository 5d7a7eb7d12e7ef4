"""``r360-webhooks consumer``: run the reference consumer in the foreground until Ctrl-C.

The other half of the two-terminal walk-through in the README: ``serve`` delivers, this receives
(auth checked, rate limited, duplicates recognised) and prints what it processed.
"""

from __future__ import annotations

import argparse
import threading
from contextlib import ExitStack
from typing import Any

from contracts.cli._delivery_options import AUTH_FORMS
from contracts.cli._foreground import cannot_listen, check_listen, sigterm_as_interrupt

#: Never set: the loop ends with Ctrl-C or SIGTERM (a test may set it to stop the loop).
_STOP = threading.Event()

HELP = "run the reference consumer (a compliant webhook receiver) on 127.0.0.1 until Ctrl-C"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "consumer",
        help=HELP,
        description=HELP + ". It answers POST PATH, GET /ledger and GET /healthz.",
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    parser.add_argument("--path", default="/webhooks", help="webhook path (default /webhooks)")
    parser.add_argument("--auth", metavar="SPEC", help=f"credentials to require: {AUTH_FORMS}")
    parser.add_argument("--rate", type=float, help="requests per second before 429 (default: none)")
    parser.add_argument(
        "--tls", action="store_true", help="HTTPS with a throwaway CA (its PEM path is printed)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_listen("127.0.0.1", args.port)  # before any import: a usage error answers at once
    from mockserver.consumer import ConsumerConfig
    from mockserver.serving import serve_consumer
    from mockserver.settings import delivery_settings

    auth = delivery_settings(auth=args.auth).auth if args.auth else None
    config = ConsumerConfig(auth=auth, rate=args.rate, path=args.path)
    with ExitStack() as stack:
        try:
            running = stack.enter_context(serve_consumer(config, tls=args.tls, port=args.port))
        except OSError as exc:
            raise cannot_listen("127.0.0.1", args.port, exc) from None
        print(f"reference consumer on {running.url}", flush=True)
        print(f"  auth    {auth.describe() if auth else 'none required'}", flush=True)
        print(f"  rate    {f'{args.rate:g}/s' if args.rate else 'unlimited'}", flush=True)
        if running.ca_pem_path is not None:
            print(f"  CA      {running.ca_pem_path} (ca_bundle for the sender)", flush=True)
        print(f"  ledger  {running.ledger_url}   (Ctrl-C to stop)", flush=True)
        shown = _counts(running.consumer.ledger())
        try:
            with sigterm_as_interrupt():
                while not _STOP.wait(0.5):
                    counts = _counts(running.consumer.ledger())
                    if counts != shown:
                        print(f"received: {counts}", flush=True)
                        shown = counts
        except KeyboardInterrupt:
            pass
        finally:
            shown = _counts(running.consumer.ledger())
    print(f"stopped; {shown}", flush=True)
    return 0


def _counts(ledger: dict[str, Any]) -> str:
    rejected = ", ".join(f"{code}: {n}" for code, n in ledger["rejected"].items()) or "none"
    return (
        f"accepted {ledger['accepted']}, duplicates {ledger['duplicates']}, "
        f"ignored {ledger['ignored']}, rejected {rejected}"
    )
