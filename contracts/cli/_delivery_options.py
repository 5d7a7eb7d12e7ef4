"""The options every command that delivers shares (``send``, ``verify``): auth, headers, TLS.

One place turns them into an auth scheme, extra headers and a :class:`Redactor` that already
knows every secret they carry, so no command can forget to redact one.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from mockserver.auth import AuthScheme
from mockserver.auth_spec import FORMS, parse_auth_spec, parse_header
from mockserver.errors import UsageError
from mockserver.redaction import Redactor


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    auth: AuthScheme | None
    headers: dict[str, str]
    redactor: Redactor
    ca_bundle: str | None
    insecure: bool


def add_delivery_options(parser: Any) -> None:
    group = parser.add_argument_group("auth and TLS (as Record360 support would configure them)")
    group.add_argument("--auth", metavar="SPEC", help=f"credentials to send: {FORMS}")
    group.add_argument(
        "--jwt-claim",
        action="append",
        default=[],
        metavar="K=V",
        help="extra JWT claim (repeatable); iss, aud, sub and kid are recognised",
    )
    group.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="extra static header, such as a key id (repeatable; VALUE may be env:NAME or @file)",
    )
    group.add_argument("--ca-bundle", metavar="PEM", help="trust this CA bundle (private CAs)")
    group.add_argument(
        "--insecure", action="store_true", help="do not verify certificates (warns; avoid)"
    )


def delivery_settings(args: argparse.Namespace) -> DeliverySettings:
    claims = dict(_claim(text) for text in args.jwt_claim)
    auth = parse_auth_spec(args.auth, claims=claims) if args.auth else None
    if claims and auth is None:
        raise UsageError("--jwt-claim needs --auth jwt:ALG:SECRET")
    redactor = Redactor(
        auth.secrets() if auth else (),
        sensitive_headers=auth.sensitive_headers() if auth else (),
    )
    headers: dict[str, str] = {}
    for text in args.header:
        name, value = parse_header(text)
        raw = text.partition(":")[2].strip()
        if raw.startswith(("env:", "@")) or redactor.is_sensitive_header(name):
            redactor.add_secret(value)  # it came from a secret store, so treat it as one
        headers[name] = value
    if args.ca_bundle and args.insecure:
        raise UsageError("--ca-bundle and --insecure contradict each other; pick one")
    return DeliverySettings(auth, headers, redactor, args.ca_bundle, args.insecure)


def _claim(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--jwt-claim {text!r} is not K=V; write it as iss=record360")
    return key.strip(), value
