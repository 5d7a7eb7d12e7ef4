"""The settings factory: the one way from user input to what a delivery needs.

A target URL, an ``--auth`` SPEC, ``--header`` values, JWT claims and the TLS options arrive
through six entry points (``send``, ``load``, ``verify``, ``consumer``, the pytest plugin, a
``serve`` subscription, the Locust user). Each used to turn them into credentials its own way,
and the copies disagreed: a secret one entry point redacted leaked through another. So every
entry point calls :func:`delivery_settings`, which alone decides:

* the URL is checked once (:func:`mockserver.urls.parse_webhook_url`) and its user info becomes
  Basic credentials, never a header the HTTP client adds behind the redactor's back;
* the SPEC is parsed (:mod:`mockserver.auth_spec`), its secrets (``env:NAME``, ``@file`` or
  literal) resolved; with ``secret_refs=False`` (the control API) ``env:``/``@`` are refused;
* a header value that came from ``env:``/``@``, or whose name says it carries a credential, is a
  secret;
* the :class:`~mockserver.redaction.Redactor` knows every secret above before anything is sent;
* the CA bundle is loaded once (a bad file is a usage error now, not a failed delivery later),
  and the ``--insecure`` warning is text the entry point prints once
  (:attr:`DeliverySettings.insecure_warning`), not a Python warning muted in worker threads.

Errors are one-line :class:`~mockserver.errors.UsageError`\\ s naming the option in the entry
point's own spelling (:class:`OptionNames`), with ``option`` set so a config file can name its key.
"""

from __future__ import annotations

import dataclasses
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockserver.auth import AuthScheme
from mockserver.auth_spec import parse_auth_spec, parse_header, shown_spec
from mockserver.delivery.tls import verify_setting
from mockserver.errors import UsageError
from mockserver.redaction import Redactor
from mockserver.urls import parse_webhook_url

if TYPE_CHECKING:
    from mockserver.delivery.sender import Sender

__all__ = [
    "CLI",
    "LOCUST",
    "PLUGIN",
    "SUBSCRIPTION",
    "DeliverySettings",
    "OptionNames",
    "delivery_settings",
    "secret_like_header",
]

#: Header names that say "I carry a credential" although they are not standard ones
#: (``X-Signature-Key``, ``X-Webhook-Token``, ``X-Client-Secret``): their values are secrets.
_SECRET_NAME = re.compile(
    r"auth|token|secret|signature|password|passwd|credential|api-?key|session", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class OptionNames:
    """How an entry point spells each input, for error messages (``--r360-auth``, ``R360_AUTH``)."""

    url: str
    auth: str
    header: str
    jwt_claim: str
    ca_bundle: str
    insecure: str


CLI = OptionNames("URL", "--auth", "--header", "--jwt-claim", "--ca-bundle", "--insecure")
PLUGIN = OptionNames(
    "--r360-url", "--r360-auth", "--r360-header", "--r360-jwt-claim", "--r360-ca-bundle",
    "--r360-insecure",
)  # fmt: skip
LOCUST = OptionNames(
    "--host", "R360_AUTH", "R360_HEADERS", "R360_JWT_CLAIMS", "R360_CA_BUNDLE", "R360_INSECURE"
)
SUBSCRIPTION = OptionNames("url", "auth", "header", "jwt_claims", "ca_bundle", "insecure")


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """What every delivery of one entry point uses; built only by :func:`delivery_settings`."""

    #: The target without user info (``None`` when none was given: an in-process target).
    url: str | None
    auth: AuthScheme | None
    headers: Mapping[str, str]
    #: Knows every secret among the above.
    redactor: Redactor
    ca_bundle: str | None
    insecure: bool
    #: The loaded TLS setting for httpx (and, through it, aiohttp).
    verify: ssl.SSLContext | bool = field(repr=False)
    #: The auth as users may see it: ``bearer:[REDACTED]``, ``basic:record360:[REDACTED]``.
    auth_shown: str | None = None
    #: How the entry point spells its options (for errors of :meth:`for_url`).
    names: OptionNames = field(default=CLI, repr=False)

    @property
    def insecure_warning(self) -> str | None:
        """The one line an entry point prints once when certificates will not be verified."""
        return self.insecure_warning_for(None)

    def insecure_warning_for(self, subject: str | None) -> str | None:
        """:attr:`insecure_warning`, naming ``subject`` (``subscription hooks``) when one entry
        point runs several settings (``serve``)."""
        if not self.insecure:
            return None
        about = f"{subject}: " if subject else ""
        return f"warning: {about}certificates are not verified (insecure); use only for tests"

    def for_url(self, url: str) -> DeliverySettings:
        """The same settings aimed at ``url`` (checked; its user info becomes the credentials,
        registered with the same redactor), for a target chosen after the options were read."""
        names = self.names
        checked = parse_webhook_url(url, option=names.url)
        scheme = checked.delivery_auth(
            self.auth, self.redactor, option=names.url, auth_option=names.auth
        )
        return dataclasses.replace(
            self,
            url=checked.url,
            auth=scheme,
            auth_shown=shown_spec(scheme) if scheme is not None else None,
        )

    def with_tls(self, ca_bundle: str | None, insecure: bool) -> DeliverySettings:
        """The same settings trusting ``ca_bundle`` (loaded now) or, with ``insecure``, nothing."""
        if (ca_bundle, insecure) == (self.ca_bundle, self.insecure):
            return self
        return dataclasses.replace(
            self,
            ca_bundle=ca_bundle,
            insecure=insecure,
            verify=_verify(ca_bundle, insecure, self.names),
        )

    def sender(self, url: str | None = None, **options: Any) -> Sender:
        """A :class:`~mockserver.delivery.sender.Sender` with these settings (``options``:
        retry, timeouts, clock...). ``url`` defaults to :attr:`url`; it must carry no user
        info of its own."""
        from mockserver.delivery.sender import Sender

        target = url if url is not None else self.url
        if target is None:
            raise UsageError("no target URL to send to")
        if options.get("transport") is None and options.get("client") is None:
            options["verify"] = self.verify
        return Sender(
            target, auth=self.auth, headers=self.headers, redactor=self.redactor, **options
        )


def secret_like_header(name: str, redactor: Redactor | None = None) -> bool:
    """Whether a header's value is a credential by its name (standard or by the words in it)."""
    known = redactor.is_sensitive_header(name) if redactor is not None else False
    return known or bool(_SECRET_NAME.search(name))


def delivery_settings(
    url: str | None = None,
    *,
    auth: str | AuthScheme | None = None,
    jwt_claims: Mapping[str, str] | Sequence[str] | None = None,
    headers: Mapping[str, str] | Sequence[str] = (),
    ca_bundle: str | None = None,
    insecure: bool = False,
    environ: Mapping[str, str] | None = None,
    names: OptionNames = CLI,
    secret_refs: bool = True,
) -> DeliverySettings:
    """Turn user input into :class:`DeliverySettings` (see the module docstring).

    ``auth`` is a SPEC string or a ready :class:`~mockserver.auth.AuthScheme`; ``jwt_claims``
    a mapping or ``K=V`` strings; ``headers`` a mapping of names to raw values or ``NAME:VALUE``
    strings (raw values may be ``env:NAME`` or ``@file`` unless ``secret_refs`` is false).
    """
    scheme = _auth(auth, _claims(jwt_claims, names), environ, names, secret_refs)
    redactor = Redactor()
    if scheme is not None:
        redactor.register(scheme)
    extra = _headers(headers, environ, names, secret_refs, redactor)
    verify = _verify(ca_bundle, insecure, names)
    settings = DeliverySettings(
        url=None,
        auth=scheme,
        headers=extra,
        redactor=redactor,
        ca_bundle=ca_bundle,
        insecure=insecure,
        verify=verify,
        auth_shown=shown_spec(scheme) if scheme is not None else None,
        names=names,
    )
    return settings if url is None else settings.for_url(url)


def _verify(ca_bundle: str | None, insecure: bool, names: OptionNames) -> ssl.SSLContext | bool:
    if ca_bundle is not None and insecure:
        raise UsageError(
            f"{names.insecure} contradicts {names.ca_bundle}; pick one of them",
            option=names.insecure,
        )
    try:
        return verify_setting(ca_bundle, insecure, warn=False)
    except UsageError as exc:
        raise UsageError(f"{names.ca_bundle}: {exc}", option=names.ca_bundle) from None


def _claims(value: Mapping[str, str] | Sequence[str] | None, names: OptionNames) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise UsageError(f"{names.jwt_claim} must map names to strings", option=names.jwt_claim)
        return dict(value)
    if not isinstance(value, list | tuple) or not all(isinstance(text, str) for text in value):
        raise UsageError(f"{names.jwt_claim} must be K=V strings", option=names.jwt_claim)
    claims: dict[str, str] = {}
    for text in value:
        key, sep, claim = text.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"{names.jwt_claim} {text!r} is not K=V; write it as iss=record360",
                option=names.jwt_claim,
            )
        claims[key.strip()] = claim
    return claims


def _is_reference(value: str) -> bool:
    return value.strip().startswith(("env:", "@"))


def _auth(
    auth: str | AuthScheme | None,
    claims: dict[str, str],
    environ: Mapping[str, str] | None,
    names: OptionNames,
    secret_refs: bool,
) -> AuthScheme | None:
    if auth is None or isinstance(auth, AuthScheme):
        if claims:
            raise UsageError(
                f"{names.jwt_claim} needs {names.auth} jwt:ALG:SECRET", option=names.jwt_claim
            )
        return auth
    if not isinstance(auth, str):
        raise UsageError(
            f"{names.auth} must be an auth SPEC string such as bearer:env:TOKEN", option=names.auth
        )
    if not secret_refs and _is_reference(_secret_part(auth)):
        raise UsageError(f"{names.auth}: {_NO_REFERENCES}", option=names.auth)
    try:
        return parse_auth_spec(auth, claims=claims, environ=environ, option=names.auth)
    except UsageError as exc:
        raise UsageError(str(exc), option=names.auth) from None


def _secret_part(spec: str) -> str:
    scheme, _, rest = spec.partition(":")
    return rest if scheme.lower() == "bearer" else rest.partition(":")[2]


_NO_REFERENCES = (
    "env:NAME and @file secrets are read from the server's environment and disk, so the control "
    "API refuses them; put the subscription in the --config file, or pass the secret itself"
)


def _headers(
    headers: Mapping[str, str] | Sequence[str],
    environ: Mapping[str, str] | None,
    names: OptionNames,
    secret_refs: bool,
    redactor: Redactor,
) -> dict[str, str]:
    if isinstance(headers, Mapping):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise UsageError(f"{names.header} must map names to strings", option=names.header)
        texts = [(f"{name}:{raw}", raw) for name, raw in headers.items()]
    elif not isinstance(headers, list | tuple) or not all(isinstance(h, str) for h in headers):
        raise UsageError(f"{names.header} must be NAME:VALUE strings", option=names.header)
    else:
        texts = [(text, text.partition(":")[2]) for text in headers]
    parsed: dict[str, str] = {}
    for text, raw in texts:
        if not secret_refs and _is_reference(raw):
            raise UsageError(f"{names.header}: {_NO_REFERENCES}", option=names.header)
        try:
            name, value = parse_header(text, environ=environ, option=names.header)
        except UsageError as exc:
            raise UsageError(str(exc), option=names.header) from None
        if _is_reference(raw) or secret_like_header(name, redactor):
            redactor.add_sensitive_header(name)
            redactor.add_secret(value)  # from a secret store, or named as one: treat it as one
        parsed[name] = value
    return parsed
