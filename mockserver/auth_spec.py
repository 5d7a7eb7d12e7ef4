"""The ``--auth`` SPEC and ``--header`` strings of the CLI, and the secrets they point to.

Secrets may be written as ``env:NAME`` or ``@file`` so that none has to sit in shell history or a
CI log; a bad SPEC is one line that names the wrong part and never echoes the secret part.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from mockserver.auth import (
    ApiKeyAuth,
    AuthScheme,
    BasicAuth,
    BearerAuth,
    JwtAuth,
    NoAuth,
    check_header_value,
)
from mockserver.errors import AuthSpecError, UsageError
from mockserver.redaction import PLACEHOLDER

__all__ = ["FORMS", "parse_auth_spec", "parse_header", "resolve_secret", "shown_spec"]

FORMS = (
    "basic:USER:PASS, bearer:TOKEN, api-key:HEADER:VALUE, jwt:ALG:SECRET|@key.pem or none"
    " (any secret may be env:NAME or @file)"
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 §5.6.2: header names, auth-schemes
_SCHEME_WORD = re.compile(r"[a-z][a-z-]{0,11}")


def _resolve(value: str, environ: Mapping[str, str] | None, error: type[UsageError]) -> str:
    if value.startswith("env:"):
        name = value[4:]
        if not name:
            raise error("env: needs a variable name, as in env:WEBHOOK_TOKEN")
        env = os.environ if environ is None else environ
        if name not in env:
            raise error(
                f"environment variable {name!r} (from env:{name}) is not set; export it or pass "
                "the value"
            )
        return env[name]
    if value.startswith("@"):
        if not value[1:]:
            raise error("@ needs a file path, as in @secret.txt")
        path = Path(value[1:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise error(f"file {str(path)!r} (from @) is not UTF-8 text") from None
        except OSError as exc:
            raise error(f"cannot read {str(path)!r} (from @): {exc.strerror}") from None
        return text.rstrip("\r\n")
    return value


def resolve_secret(value: str, *, environ: Mapping[str, str] | None = None) -> str:
    """Return the secret ``value`` stands for, so that no secret has to sit in shell history.

    ``env:NAME`` reads the environment variable ``NAME`` verbatim; ``@path`` (``~`` expanded)
    reads the UTF-8 file without trailing line breaks (``echo secret > file`` adds one); anything
    else is the literal secret. A
    literal that starts with ``env:`` or ``@`` therefore has to come from a file or variable.
    Raises :class:`~mockserver.errors.UsageError` naming the variable or path, never a value.
    """
    return _resolve(value, environ, UsageError)


def parse_header(
    text: str, *, environ: Mapping[str, str] | None = None, option: str = "--header"
) -> tuple[str, str]:
    """Parse ``NAME:VALUE`` for ``--header``: the extra static headers, such as a key id.

    The value may be ``env:NAME`` or ``@file`` like any secret. Bad input raises
    :class:`~mockserver.errors.UsageError` that names the header but never shows its value.
    """
    name, sep, raw = text.partition(":")
    name = name.strip()
    if not sep:  # not echoed: without a ':' the text may well be the value alone, a secret
        raise UsageError(f"{option} has no ':' between name and value; use NAME:VALUE")
    if not _TOKEN.fullmatch(name):
        raise UsageError(f"{option} name {name!r} is not a valid HTTP header name; use NAME:VALUE")
    try:
        value = _resolve(raw.strip(), environ, UsageError)
    except UsageError as exc:  # which header, and which option, the reference was for
        raise UsageError(f"{option} {name}: {exc}") from None
    if not value:
        raise UsageError(f"{option} {name} has an empty value; use NAME:VALUE")
    check_header_value(value, f"{option} {name} value", error=UsageError)
    return name, value


def parse_auth_spec(
    spec: str,
    *,
    claims: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    ttl: int = 300,
    header: str = "Authorization",
    scheme_prefix: str = "Bearer",
    option: str = "--auth",
) -> AuthScheme:
    """Parse an ``--auth`` SPEC (DESIGN.md) into an :class:`AuthScheme`.

    Forms: ``basic:USER:PASS``, ``bearer:TOKEN``, ``api-key:HEADER:VALUE``, ``jwt:ALG:SECRET``,
    ``jwt:rs256:@private.pem``, ``jwt:es256:@key.pem``, ``none``. Parts are split at the first
    colons only, so the last part (the secret) may contain colons and may be ``env:NAME`` or
    ``@file``. The user-id of Basic cannot hold a colon (RFC 7617 §2), so ``basic:USER:PASS``
    splits at the first one. ``claims`` are the ``--jwt-claim k=v`` pairs; ``ttl``, ``header``
    and ``scheme_prefix`` shape the JWT (header and prefix also apply to bearer).

    A bad SPEC raises one-line :class:`~mockserver.errors.AuthSpecError` that starts with
    ``option``, names the bad part and shows the forms. It never echoes the secret part, not even
    when the SPEC is a bare token that was passed by mistake.
    """
    try:
        return _parse(spec, claims or {}, environ, ttl, header, scheme_prefix)
    except AuthSpecError as exc:
        raise AuthSpecError(f"{option}: {exc}") from None


def _parse(
    spec: str,
    claims: Mapping[str, str],
    environ: Mapping[str, str] | None,
    ttl: int,
    header: str,
    prefix: str,
) -> AuthScheme:
    scheme, sep, rest = spec.partition(":")
    scheme = scheme.lower()
    if scheme != "jwt":
        if claims:
            raise AuthSpecError(f"JWT claims do not apply to {scheme or 'this'} SPEC; use jwt:...")
        if ttl != 300:
            raise AuthSpecError(f"a JWT ttl does not apply to {scheme or 'this'} SPEC")
        if scheme != "bearer" and (header, prefix) != ("Authorization", "Bearer"):
            raise AuthSpecError("a header name or scheme prefix applies only to bearer and jwt")
    if not sep:
        if scheme == "none":
            return NoAuth()
        if scheme in _SCHEME_FORMS:
            raise AuthSpecError(f"{scheme} needs more parts; use {_SCHEME_FORMS[scheme]}")
        # Not echoed: a SPEC without a colon may well be a bare token pasted by mistake.
        what = "empty SPEC" if not spec else "SPEC has no scheme"
        raise AuthSpecError(f"{what}; use {FORMS}")
    if scheme not in _SCHEME_FORMS:
        # Echoed only when it looks like a scheme word: `TOKEN:...` pasted whole must not leak.
        shown = f" {scheme!r}" if _SCHEME_WORD.fullmatch(scheme) else ""
        raise AuthSpecError(f"unknown auth scheme{shown}; use {FORMS}")

    def secret(value: str) -> str:
        return _resolve(value, environ, AuthSpecError)

    if scheme == "none":
        raise AuthSpecError("none takes no parts; use none")
    if scheme == "bearer":
        return BearerAuth(secret(rest), header=header, scheme_prefix=prefix)
    first, sep, last = rest.partition(":")
    if not sep:  # `first` is not echoed: it may be the secret with its name left out
        raise AuthSpecError(f"{scheme} needs more parts; use {_SCHEME_FORMS[scheme]}")
    if scheme == "basic":
        if not first:
            raise AuthSpecError("basic user is empty; use basic:USER:PASS")
        return BasicAuth(first, secret(last))
    if scheme == "api-key":
        return ApiKeyAuth(first, secret(last))
    from mockserver import _jwt  # PyJWT and cryptography: loaded for JWT specs only

    origin = last if last.startswith(("env:", "@")) else None
    if _jwt.check_algorithm(first) in _jwt.KEY_ALGORITHMS and origin is None:
        raise AuthSpecError(
            f"jwt:{first} needs a PEM private key as @key.pem or env:NAME, not an inline secret"
            " (shared secrets are for hs256, hs384, hs512)"
        )
    typed = _jwt.claims_from_strings(claims)
    return JwtAuth(
        first, secret(last), ttl=ttl, claims=typed, header=header, scheme_prefix=prefix,
        key_origin=origin,
    )  # fmt: skip


_SCHEME_FORMS = {
    "none": "none",
    "basic": "basic:USER:PASS",
    "bearer": "bearer:TOKEN",
    "api-key": "api-key:HEADER:VALUE",
    "jwt": "jwt:ALG:SECRET or jwt:ALG:@key.pem",
}


def shown_spec(scheme: AuthScheme) -> str:
    """The SPEC of ``scheme`` as anyone may see it: the secret part is the placeholder.

    What stays visible is what is not secret: the Basic user (unless the password is empty,
    when the user-id *is* the key), the API-key header name, the JWT algorithm.
    """
    if isinstance(scheme, NoAuth):
        return "none"
    if isinstance(scheme, BasicAuth):
        if not scheme.password:
            return f"basic:{PLACEHOLDER}:"
        return f"basic:{scheme.user}:{PLACEHOLDER}"
    if isinstance(scheme, ApiKeyAuth):
        return f"api-key:{scheme.header_name}:{PLACEHOLDER}"
    if isinstance(scheme, JwtAuth):
        return f"jwt:{scheme.algorithm.lower()}:{PLACEHOLDER}"
    return f"{scheme.name}:{PLACEHOLDER}"
