"""Static credentials for Record360 webhook deliveries, and the forgeries a consumer must refuse.

Record360 authenticates a webhook only through static headers that the customer asks support to
configure: "Basic auth, Bearer tokens, JWTs, API keys", plus "additional custom headers, like a
key id" (https://docs.record360.com/docs/webhooks). Nothing signs the body, so these headers are
the consumer's only proof that a POST came from Record360. This module builds them for the mock
sender (:meth:`AuthScheme.headers`) and builds the broken ones that the verifier's
``auth-required`` and ``auth-rejects-invalid`` checks send (:meth:`AuthScheme.negative_variants`).

SPEC strings (``--auth basic:USER:env:PASS``) are parsed in :mod:`mockserver.auth_spec`.
Secrets stay inside: :meth:`AuthScheme.secrets` and :meth:`AuthScheme.sensitive_headers` feed
:class:`mockserver.redaction.Redactor`; ``describe()``, ``repr()`` and every
:class:`~mockserver.errors.AuthSpecError` message are safe to print. A forged credential is not
a secret, and it never contains the real one.
"""

from __future__ import annotations

import base64
import re
import secrets as _random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from mockserver.errors import AuthSpecError, UsageError
from mockserver.redaction import PLACEHOLDER

__all__ = [
    "ApiKeyAuth", "AuthScheme", "BasicAuth", "BearerAuth", "JwtAuth", "NegativeVariant", "NoAuth",
    "check_header_value",
]  # fmt: skip

if TYPE_CHECKING:  # PyJWT and cryptography load with the first JwtAuth: 35 ms of every start
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 §5.6.2: header names, auth-schemes


@dataclass(frozen=True, slots=True)
class NegativeVariant:
    """One broken credential that a correct consumer answers with 401 or 403.

    ``make_headers`` is called once per attempt: JWT variants are minted fresh, so the only
    defect is the named one and never staleness. Its values are not secrets.
    """

    name: str
    description: str
    make_headers: Callable[[], dict[str, str]]


class AuthScheme(ABC):
    """The credentials of one subscription: good headers, forgeries, and what to redact."""

    __slots__ = ()
    name: ClassVar[str]

    @abstractmethod
    def headers(self) -> dict[str, str]:
        """The credential headers for one attempt."""

    @abstractmethod
    def negative_variants(self) -> list[NegativeVariant]:
        """Forged or broken credentials the verifier sends; the consumer must refuse each."""

    @abstractmethod
    def secrets(self) -> list[str]:
        """Literal secret strings to register with :class:`~mockserver.redaction.Redactor`."""

    @abstractmethod
    def sensitive_headers(self) -> list[str]:
        """Names of the headers that carry the credential (redacted whole)."""

    @abstractmethod
    def describe(self) -> str:
        """A human description with no secret in it."""


def _forged(*real: str) -> str:
    """A random stand-in credential that contains none of the real secrets."""
    while True:
        fake = _random.token_urlsafe(24)
        if not any(secret and secret in fake for secret in real):
            return fake


def check_header_value(
    value: str, what: str, *, spaces: bool = True, error: type[UsageError] = AuthSpecError
) -> None:
    # httpx encodes header values as ASCII, and a CR/LF would split the request: fail at load.
    allowed = " \t" if spaces else ""
    if any(not ("!" <= ch <= "~" or ch in allowed) for ch in value):
        kinds = "visible ASCII" + (" and spaces" if spaces else " without spaces")
        raise error(f"{what} contains a character not allowed in a header; use {kinds}")


def _check_token(value: str, what: str) -> None:
    if not _TOKEN.fullmatch(value):
        raise AuthSpecError(f"{what} {value!r} is not a valid HTTP token (RFC 9110 §5.6.2)")


class NoAuth(AuthScheme):
    """No credentials. It has no negative variants: "missing" is the good request here."""

    __slots__ = ()
    name = "none"

    def headers(self) -> dict[str, str]:
        return {}

    def negative_variants(self) -> list[NegativeVariant]:
        return []

    def secrets(self) -> list[str]:
        return []

    def sensitive_headers(self) -> list[str]:
        return []

    def describe(self) -> str:
        return "no authentication"

    def __repr__(self) -> str:
        return "NoAuth()"


class _OneHeader(AuthScheme):
    """A credential in one header, as ``PREFIX VALUE`` or, with an empty prefix, bare."""

    __slots__ = ("_header", "_prefix")

    def __init__(self, header: str, prefix: str) -> None:
        _check_token(header, f"{self.name} header name")
        if prefix:
            _check_token(prefix, f"{self.name} scheme prefix")
        self._header, self._prefix = header, prefix

    def _wrap(self, value: str) -> dict[str, str]:
        return {self._header: f"{self._prefix} {value}" if self._prefix else value}

    def _missing(self) -> NegativeVariant:
        return NegativeVariant("missing", f"no {self._header} header at all", dict)

    def _where(self) -> str:
        return f"{self._header}: {self._prefix}" if self._prefix else self._header

    def sensitive_headers(self) -> list[str]:
        return [self._header]

    @property
    def header_name(self) -> str:
        """The header that carries the credential (read by a verifying consumer)."""
        return self._header

    @property
    def scheme_prefix(self) -> str:
        """The auth-scheme word before the credential (``Basic``, ``Bearer``); empty when bare."""
        return self._prefix


class BasicAuth(_OneHeader):
    """``Authorization: Basic base64(user:password)`` (RFC 7617 §2), UTF-8 encoded."""

    __slots__ = ("_encoded", "_password", "_user")
    name = "basic"

    def __init__(self, user: str, password: str) -> None:
        # RFC 7617 §2: the user-id cannot contain ':' and neither part may contain a CTL.
        if not user or ":" in user:
            raise AuthSpecError("basic user is empty or has ':' (RFC 7617 §2); use basic:USER:PASS")
        for part, text in (("user", user), ("password", password)):
            if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
                raise AuthSpecError(f"basic {part} contains a control character (RFC 7617 §2)")
        super().__init__("Authorization", "Basic")
        self._user, self._password = user, password
        self._encoded = _b64(f"{user}:{password}")

    @property
    def user(self) -> str:
        return self._user

    @property
    def password(self) -> str:
        return self._password

    def headers(self) -> dict[str, str]:
        return self._wrap(self._encoded)

    def negative_variants(self) -> list[NegativeVariant]:
        real = self.secrets()
        wrong = NegativeVariant(
            "wrong-password",
            "the right user with another password",
            lambda: self._wrap(_b64(f"{self._user}:{_forged(*real)}")),
        )
        if not self._password:  # the user-id is the key: forge that, not the empty password
            wrong = NegativeVariant(
                "wrong-user",
                "another user-id (the key here) with the same empty password",
                lambda: self._wrap(_b64(f"{_forged(*real)}:")),
            )
        return [
            self._missing(),
            wrong,
            NegativeVariant(
                "malformed",
                "credentials that are not base64 (RFC 7617 §2 requires token68)",
                lambda: self._wrap("!!not-base64!!"),
            ),
            NegativeVariant(
                "no-colon",
                "valid base64 with no ':' between user and password",
                lambda: self._wrap(_b64(_forged(*real))),
            ),
        ]

    def secrets(self) -> list[str]:
        # With an empty password the user is the secret (the "API key as user-id" style).
        return [self._password or self._user, self._encoded]

    def describe(self) -> str:
        if not self._password:
            return "basic with the user-id as the secret and an empty password, in Authorization"
        return f"basic as user {self._user!r} in Authorization"

    def __repr__(self) -> str:
        user = self._user if self._password else PLACEHOLDER
        return f"BasicAuth(user={user!r}, password={PLACEHOLDER!r})"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class BearerAuth(_OneHeader):
    """``Authorization: Bearer TOKEN`` (RFC 6750 §2.1); the header and prefix may be changed."""

    __slots__ = ("_token",)
    name = "bearer"

    def __init__(
        self, token: str, *, header: str = "Authorization", scheme_prefix: str = "Bearer"
    ) -> None:
        if not token:
            raise AuthSpecError("bearer token is empty; use bearer:TOKEN")
        check_header_value(token, "bearer token", spaces=False)
        super().__init__(header, scheme_prefix)
        self._token = token

    @property
    def token(self) -> str:
        return self._token

    def headers(self) -> dict[str, str]:
        return self._wrap(self._token)

    def negative_variants(self) -> list[NegativeVariant]:
        return [
            self._missing(),
            NegativeVariant(
                "wrong-token",
                "a well-formed token that is not the configured one",
                lambda: self._wrap(_forged(self._token)),
            ),
            NegativeVariant(
                "malformed",
                "the scheme word with an empty token (RFC 6750 §2.1 requires one)",
                lambda: {self._header: self._prefix},
            ),
        ]

    def secrets(self) -> list[str]:
        return [self._token]

    def describe(self) -> str:
        return f"bearer token in {self._where()}"

    def __repr__(self) -> str:
        return f"BearerAuth(token={PLACEHOLDER!r}, header={self._header!r})"


class ApiKeyAuth(_OneHeader):
    """A static key in a header the customer names (Record360's own API uses ``api-key-secret``)."""

    __slots__ = ("_value",)
    name = "api-key"

    def __init__(self, header: str, value: str) -> None:
        if not value:
            raise AuthSpecError("api-key value is empty; use api-key:HEADER:VALUE")
        check_header_value(value, "api-key value")
        super().__init__(header, "")
        self._value = value

    @property
    def value(self) -> str:
        return self._value

    def headers(self) -> dict[str, str]:
        return self._wrap(self._value)

    def negative_variants(self) -> list[NegativeVariant]:
        return [
            self._missing(),
            NegativeVariant(
                "wrong-key",
                "the right header with another key",
                lambda: self._wrap(_forged(self._value)),
            ),
            NegativeVariant(
                "malformed", "the right header with an empty value", lambda: self._wrap("")
            ),
        ]

    def secrets(self) -> list[str]:
        return [self._value]

    def describe(self) -> str:
        return f"api key in {self._header}"

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self._header!r}, value={PLACEHOLDER!r})"


class JwtAuth(_OneHeader):
    """A JWT minted for every attempt (RFC 7519), sent as ``Authorization: Bearer <token>``.

    ``key`` is the HMAC secret for HS256/HS384/HS512, or the PEM private key text for RS256 and
    ES256. Claims: ``iat``, ``exp = iat + ttl``, a fresh ``jti``; ``nbf = iat`` when
    ``not_before``; ``iss``/``aud``/``sub`` and ``claims`` as given. An ``iss``, ``aud``, ``sub``
    or ``kid`` inside ``claims`` counts as the keyword of that name (``kid`` goes in the JOSE
    header). ``key_origin`` (``"@key.pem"``, ``"env:NAME"``) only names the key in messages.
    An empty ``scheme_prefix`` sends the bare token.
    """

    __slots__ = ("_key_text", "_minter", "_origin")
    name = "jwt"

    def __init__(
        self,
        algorithm: str,
        key: str,
        *,
        ttl: int = 300,
        issuer: str | None = None,
        audience: str | None = None,
        subject: str | None = None,
        not_before: bool = False,
        kid: str | None = None,
        claims: Mapping[str, str | int] | None = None,
        header: str = "Authorization",
        scheme_prefix: str = "Bearer",
        key_origin: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from mockserver import _jwt

        super().__init__(header, scheme_prefix)
        self._minter = _jwt.minter(
            algorithm,
            key,
            ttl=ttl,
            registered={"iss": issuer, "aud": audience, "sub": subject},
            claims=claims or {},
            not_before=not_before,
            kid=kid,
            key_origin=key_origin,
            clock=clock,
        )
        self._key_text, self._origin = key, key_origin

    @property
    def algorithm(self) -> str:
        """The canonical JWS algorithm (``HS256``, ``RS256``...): the only one to accept."""
        return self._minter.alg

    @property
    def verification_key(self) -> bytes | PublicKey:
        """What a consumer verifies with: the HMAC secret, or the public half of the key."""
        key = self._minter.key
        return key if isinstance(key, bytes) else key.public_key()

    @property
    def issuer(self) -> str | None:
        return self._minter.registered.get("iss")

    @property
    def audience(self) -> str | None:
        return self._minter.registered.get("aud")

    def headers(self) -> dict[str, str]:
        return self._wrap(self._minter.mint())

    def negative_variants(self) -> list[NegativeVariant]:
        def variant(name: str, why: str, mint: Callable[[], str]) -> NegativeVariant:
            return NegativeVariant(name, why, lambda: self._wrap(mint()))

        return [self._missing(), *(variant(*forged) for forged in self._minter.forgeries())]

    def secrets(self) -> list[str]:
        # A PEM's base64 lines too: a JSON report escapes its newlines, so the whole never matches.
        text = self._key_text.strip() or self._key_text
        lines = [] if isinstance(self._minter.key, bytes) else text.splitlines()[1:-1]
        return [text, *(line for line in lines if len(line) >= 16)]

    def describe(self) -> str:
        minter = self._minter
        text = f"jwt {minter.alg.lower()}"
        if self._origin:
            text += f" ({'secret' if isinstance(minter.key, bytes) else 'key'} {self._origin})"
        shown = [f"{claim} {value!r}" for claim, value in minter.registered.items()]
        return f"{text}, {', '.join([*shown, f'ttl {minter.ttl}s'])} in {self._where()}"

    def __repr__(self) -> str:
        alg = self._minter.alg
        return f"JwtAuth(algorithm={alg!r}, key={PLACEHOLDER!r}, header={self._header!r})"
