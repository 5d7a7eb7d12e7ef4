"""``r360-webhooks demo``: the mock sender verifying the bundled reference consumer, on loopback.

Starts :mod:`mockserver.consumer` over HTTPS with a throwaway CA, JWT auth and a rate limit,
verifies it with every check, and prints the report: what a compliant consumer looks like.
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

HELP = "verify the bundled reference consumer (HTTPS, JWT, rate limit) on loopback"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help=HELP, description=HELP + ".")
    parser.add_argument("--rate", type=float, default=50.0, help="the consumer's limit per second")
    parser.add_argument("--seed", type=int, help="replay a run")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from contracts.cli.verify import run_and_print
    from contracts.verifier import VerifyOptions
    from contracts.verifier.target import Target
    from mockserver.auth import JwtAuth
    from mockserver.consumer import ConsumerConfig
    from mockserver.serving import serve_consumer
    from mockserver.settings import delivery_settings

    auth = JwtAuth("HS256", secrets.token_urlsafe(32), issuer="record360")
    config = ConsumerConfig(auth=auth, rate=args.rate, burst=10)
    with serve_consumer(config, tls=True) as running:
        print(f"reference consumer: {running.url}")
        print(f"  TLS from a throwaway CA, JWT HS256, {args.rate:g} deliveries/s")
        settings = delivery_settings(running.url, auth=auth, ca_bundle=str(running.ca_pem_path))
        target = Target.from_url(running.url, ca_bundle=settings.ca_bundle)
        options = VerifyOptions(ledger=running.ledger_url, seed=args.seed)
        report = run_and_print(target, settings, None, options)
    return report.exit_code
