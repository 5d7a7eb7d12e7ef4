"""``r360-webhooks record``: capture real deliveries in staging, for ``drift`` (issue 15).

The logic is :mod:`mockserver.record`; this module parses, serves until Ctrl-C or SIGTERM, and
says what it recorded. On a stop it first lets the deliveries in flight end, answered and recorded
(:mod:`mockserver.draining`): a SIGTERM during a deploy must not drop Record360's deliveries. See
``docs/drift.md`` for the staging recipe.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from contracts.cli._delivery_options import AUTH_FORMS
from contracts.cli._foreground import cannot_listen, check_listen, sigterm_as_interrupt
from contracts.errors import UsageError

HELP = "receive webhooks (or sit in front of a consumer) and write each delivery to a capture"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "record",
        help=HELP,
        description=HELP + ": the raw body, header names and the auth scheme (never a credential), "
        "as JSON Lines that `drift` and `send --from-capture` read. Stop with Ctrl-C or SIGTERM: "
        "deliveries in flight are finished and recorded first. No access log: the capture is it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8361, help="port (default 8361; 0: any free)")
    parser.add_argument("--path", default="/webhooks", help="webhook path (default /webhooks)")
    parser.add_argument(
        "--out",
        metavar="FILE",
        default="capture.jsonl",
        help="the capture (appended to; past --rotate-mb renamed FILE.1, then FILE.2...: .1 is "
        "the oldest part, FILE the newest)",
    )
    parser.add_argument(
        "--forward",
        metavar="URL",
        help="pass every delivery on to this consumer and its answer back (default: answer 202)",
    )
    parser.add_argument("--auth", metavar="SPEC", help=f"credentials to require: {AUTH_FORMS}")
    tls = parser.add_argument_group("TLS")
    tls.add_argument("--cert", metavar="PEM", help="serve HTTPS with this certificate (chain)")
    tls.add_argument("--key", metavar="PEM", help="the certificate's private key")
    tls.add_argument("--ca-bundle", metavar="PEM", help="trust this CA for --forward")
    tls.add_argument(
        "--insecure", action="store_true", help="do not verify --forward's certificate"
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-body", type=int, default=1024 * 1024, metavar="BYTES",
        help="refuse (413) and record without it a body larger than this (default 1 MiB)",
    )  # fmt: skip
    limits.add_argument(
        "--rotate-mb", type=int, default=100, metavar="MB", help="rotate the capture (default 100)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import ssl

    from mockserver.draining import DrainingServer
    from mockserver.record import Recorder, RecorderConfig
    from mockserver.settings import delivery_settings

    check_listen(args.host, args.port)
    if bool(args.cert) != bool(args.key):
        raise UsageError("--cert and --key go together; give both for HTTPS")
    auth = delivery_settings(auth=args.auth).auth if args.auth else None
    forward = delivery_settings(
        args.forward, ca_bundle=args.ca_bundle, insecure=args.insecure, names=_names()
    ) if args.forward else None  # fmt: skip
    if forward is not None and forward.auth is not None:
        raise UsageError(
            "--forward carries user info; leave it out: the forwarded delivery keeps "
            "Record360's own credentials"
        )
    if forward is not None and forward.insecure_warning:
        print(forward.insecure_warning, file=sys.stderr)
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(args.cert, args.key)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"--cert/--key: cannot load them ({getattr(exc, 'strerror', None) or exc}); "
                "pass a PEM certificate chain and its private key"
            ) from None
    recorder = Recorder(
        RecorderConfig(
            out=Path(args.out),
            path=args.path,
            auth=auth,
            forward=forward.url if forward else None,
            forward_verify=forward.verify if forward else True,
            max_body=args.max_body,
            rotate_bytes=args.rotate_mb * 1024 * 1024,
        )
    )
    try:
        server = DrainingServer(args.host, args.port, recorder, ssl_context=context)
    except (OSError, SystemExit) as exc:
        recorder.close()
        error = exc if isinstance(exc, OSError) else OSError("address in use")
        raise cannot_listen(args.host, args.port, error) from None
    scheme = "https" if context else "http"
    where = f"{scheme}://{args.host}:{server.server_port}{args.path}"
    onward = f", forwarding to {forward.url}" if forward else ""
    print(f"recording on {where} into {args.out}{onward}  (Ctrl-C to stop)", flush=True)
    grace_s = recorder.config.timeout_s + 1.0  # a forwarded delivery's longest wait, and a bit
    try:
        with sigterm_as_interrupt():
            server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()  # stop accepting; deliveries in flight go on...
        left = server.drain(grace_s)  # ...to their answer and their line
        recorder.close()
    if left:
        print(
            f"warning: {left} deliveries still in flight after {grace_s:g} s are not recorded",
            file=sys.stderr,
        )
    print(f"stopped; recorded {recorder.writer.lines} deliveries into {args.out}", flush=True)
    return 0


def _names() -> Any:
    """How the settings factory should name ``--forward``'s options in an error."""
    from mockserver.settings import OptionNames

    return OptionNames("--forward", "--auth", "--header", "--jwt-claim", "--ca-bundle",
                       "--insecure")  # fmt: skip
