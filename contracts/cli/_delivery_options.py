"""The options every command that delivers shares (``send``, ``load``, ``verify``): auth, headers,
TLS; turned into settings by the one factory, :func:`mockserver.settings.delivery_settings`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.settings import DeliverySettings

#: The auth SPEC forms, for ``--help`` (kept in step with ``mockserver.auth_spec.FORMS`` by a
#: test; spelled out here so that ``--help`` needs no import of the auth machinery).
AUTH_FORMS = (
    "basic:USER:PASS, bearer:TOKEN, api-key:HEADER:VALUE, jwt:ALG:SECRET|@key.pem or none"
    " (any secret may be env:NAME or @file)"
)


def add_delivery_options(parser: Any) -> None:
    group = parser.add_argument_group("auth and TLS (as Record360 support would configure them)")
    group.add_argument("--auth", metavar="SPEC", help=f"credentials to send: {AUTH_FORMS}")
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


def settings_from_args(args: argparse.Namespace) -> DeliverySettings:
    """The command's URL and delivery options through the settings factory; warns once when
    certificates will not be verified."""
    from mockserver.settings import delivery_settings

    settings = delivery_settings(
        args.url,
        auth=args.auth,
        jwt_claims=args.jwt_claim,
        headers=args.header,
        ca_bundle=args.ca_bundle,
        insecure=args.insecure,
    )
    if settings.insecure_warning:
        print(settings.insecure_warning, file=sys.stderr)
    return settings
