"""JWS compact tokens (RFC 7515) for :class:`mockserver.auth.JwtAuth`, the forged ones included.

Why not ``jwt.encode``: the mock sends exactly what a customer configured, and the forgeries a
careless consumer would accept. PyJWT, rightly for a verifier, stands in the way of both:

* it warns (``InsecureKeyLengthWarning``) on an HMAC secret shorter than the hash (RFC 7518
  §3.2). Record360 sends whatever secret the customer chose, so the mock must too, quietly;
* it refuses a PEM as an HMAC key, which is exactly the alg-confusion token (RFC 8725 §2.1,
  §3.1) the verifier has to send.

So this module serialises header and claims itself and signs through PyJWT's algorithm objects:
the JWA encodings (ES256's raw ``r || s``, RFC 7518 §3.4) come from the library that the tests
use as the judge. It knows nothing of HTTP headers; :mod:`mockserver.auth` wraps the tokens.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import get_default_algorithms

from mockserver.errors import AuthSpecError

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
KEY_ALGORITHMS = ("RS256", "ES256")
ALGORITHMS = HMAC_ALGORITHMS + KEY_ALGORITHMS
ALGORITHM_CHOICES = "hs256, hs384, hs512, rs256 or es256"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
SigningKey = bytes | PrivateKey

_SIGNERS = get_default_algorithms()
_HOUR = 3600  # far outside any consumer's clock-skew leeway (seconds to minutes)
_OTHER_HMAC = {"HS256": "HS384", "HS384": "HS256", "HS512": "HS256"}
_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]*)")


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(obj: Mapping[str, object]) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def encode(
    claims: Mapping[str, object], *, alg: str, key: SigningKey | None, kid: str | None = None
) -> str:
    """Serialise and sign one token; ``alg="none"`` gives the unsigned form (RFC 7518 §3.6)."""
    header: dict[str, str] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    signature = b"" if alg == "none" else _SIGNERS[alg].sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{b64url(signature)}"


def flip_signature(token: str) -> str:
    """The same token with one bit of its signature flipped: well-formed, but it must not verify.

    The last byte is flipped so an RSA signature stays below the modulus and an ECDSA ``s`` stays
    a plausible number: the only defect is the mismatch.
    """
    signing_input, _, signature = token.rpartition(".")
    raw = bytearray(b64url_decode(signature))
    raw[-1] ^= 0x01
    return f"{signing_input}.{b64url(bytes(raw))}"


def check_algorithm(algorithm: str) -> str:
    """Return the canonical name of a supported algorithm, or raise naming it."""
    alg = algorithm.upper()
    if alg == "NONE":  # RFC 8725 §3.1: an unsigned token is never a credential
        raise AuthSpecError(f"JWT algorithm 'none' is never accepted; use {ALGORITHM_CHOICES}")
    if alg not in ALGORITHMS:
        raise AuthSpecError(f"unknown JWT algorithm {algorithm!r}; use {ALGORITHM_CHOICES}")
    return alg


def signing_key(alg: str, text: str) -> SigningKey:
    """Turn the configured secret or PEM into a signing key, or raise ``ValueError`` saying why.

    The reason never contains the key: it ends up in a one-line ``AuthSpecError``.
    """
    if alg in KEY_ALGORITHMS:
        return _load_private_key(alg, text)
    if not text:
        raise ValueError(f"it is empty; use jwt:{alg.lower()}:SECRET")
    if "-----BEGIN" in text:  # a PEM as an HMAC secret is the alg-confusion shape (RFC 8725 §3.1)
        raise ValueError("it is a PEM key; use jwt:rs256 or jwt:es256 for keys")
    return text.encode("utf-8")


def _kind(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "an RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC {key.curve.name}"
    return "a non-RSA, non-EC"


def _load_private_key(alg: str, pem: str) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except TypeError:
        raise ValueError("it is encrypted; give an unencrypted PKCS#8 or PKCS#1 PEM") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("it is not a PEM private key") from None
    if alg == "RS256":
        if isinstance(key, rsa.RSAPrivateKey):
            return key
        raise ValueError(f"it is {_kind(key)} key, RS256 needs an RSA key")
    # RFC 7518 §3.4: ES256 is ECDSA on P-256 (secp256r1) only.
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ValueError(f"it is {_kind(key)} key, ES256 needs an EC key on P-256 (secp256r1)")


def public_pem(key: PrivateKey) -> bytes:
    """The public key as a consumer stores it (SPKI PEM): the HMAC key of the confusion attack."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def other_key(key: SigningKey) -> SigningKey:
    """A key of the same kind and size that is not ``key``: it signs the wrong-secret forgery."""
    if isinstance(key, bytes):
        other = key
        while other == key:
            other = secrets.token_bytes(max(len(key), 32))
        return other
    if isinstance(key, rsa.RSAPrivateKey):
        return rsa.generate_private_key(public_exponent=65537, key_size=key.key_size)
    return ec.generate_private_key(ec.SECP256R1())


def claims_from_strings(pairs: Mapping[str, str]) -> dict[str, str | int]:
    """Type ``--jwt-claim k=v`` values: canonical integers become numbers, the rest stay text.

    "007" stays a string (an id, not seven). ``iss``, ``aud``, ``sub`` and ``kid`` end up as
    strings whatever they look like (see :func:`minter`).
    """
    return {k: int(v) if _CANONICAL_INT.fullmatch(v) else v for k, v in pairs.items()}


@dataclass(frozen=True, slots=True)
class Minter:
    """Mints one subscription's tokens, good and forged.

    ``registered`` holds the configured ``iss``/``aud``/``sub``. Every token gets ``iat`` from
    ``clock``, ``exp = iat + ttl`` and a fresh ``jti`` (RFC 7519 §4.1.4, §4.1.6, §4.1.7), so a
    consumer that rejects replays or stale tokens still accepts each delivery.
    """

    alg: str
    key: SigningKey
    ttl: int
    registered: Mapping[str, str]
    extra: Mapping[str, str | int]
    not_before: bool
    kid: str | None
    clock: Callable[[], float]

    def claims(self, iat: int, **override: object) -> dict[str, object]:
        claims: dict[str, object] = {"iat": iat, "exp": iat + self.ttl, "jti": uuid.uuid4().hex}
        if self.not_before:
            claims["nbf"] = iat
        claims.update(self.registered)
        claims.update(self.extra)
        claims.update(override)
        return claims

    def sign(self, claims: Mapping[str, object], alg: str = "", key: SigningKey = b"") -> str:
        return encode(claims, alg=alg or self.alg, key=key or self.key, kid=self.kid)

    def mint(self) -> str:
        return self.sign(self.claims(int(self.clock())))

    def forgeries(self) -> list[tuple[str, str, Callable[[], str]]]:
        """``(name, why a consumer must reject it, mint)``; each token has exactly one defect.

        Apart from that defect a forged token carries what a good one does (same ``iss``,
        ``aud``, ``sub``, ``kid``, fresh ``iat``/``exp``/``jti``), so a consumer that accepts it
        has skipped exactly the check the name says.
        """
        other = functools.cache(lambda: other_key(self.key))
        if isinstance(self.key, bytes):
            confused, confusion_key = _OTHER_HMAC[self.alg], self.key
            confusion = f"signed {confused} with the same secret (RFC 8725 §3.1)"
        else:  # the classic alg confusion: HS256 keyed with the public key PEM (RFC 8725 §2.1)
            confused, confusion_key = "HS256", public_pem(self.key)
            confusion = "HS256 with the public key PEM as the HMAC secret (RFC 8725 §2.1)"
        forged: list[tuple[str, str, Callable[[int], str]]] = [
            ("malformed", "not three base64url segments", lambda now: "not-a-jwt"),
            (
                "wrong-secret",
                f"valid claims signed {self.alg} with another key",
                lambda now: self.sign(self.claims(now), key=other()),
            ),
            (
                "bad-signature",
                "a genuine token with one signature bit flipped",
                lambda now: flip_signature(self.sign(self.claims(now))),
            ),
            (
                "expired",
                "exp an hour ago (RFC 7519 §4.1.4), far beyond clock-skew leeway",
                lambda now: self.sign(self.claims(now - 2 * _HOUR, exp=now - _HOUR)),
            ),
            (
                "not-yet-valid",
                "nbf an hour ahead (RFC 7519 §4.1.5), far beyond clock-skew leeway",
                lambda now: self.sign(
                    self.claims(now, nbf=now + _HOUR, exp=now + _HOUR + self.ttl)
                ),
            ),
            (
                "alg-none",
                "unsigned, header alg 'none' (RFC 8725 §2.1, §3.1)",
                lambda now: encode(self.claims(now), alg="none", key=None, kid=self.kid),
            ),
            (
                "wrong-alg",
                confusion,
                lambda now: self.sign(self.claims(now), alg=confused, key=confusion_key),
            ),
        ]
        for claim, name, rule in (("iss", "issuer", "§3.8"), ("aud", "audience", "§3.9")):
            if claim in self.registered:
                why = f"{claim} is not the configured {name} (RFC 8725 {rule})"
                forged.append((f"wrong-{name}", why, self._wrong(claim)))
        return [(name, why, functools.partial(self._now, mint)) for name, why, mint in forged]

    def _wrong(self, claim: str) -> Callable[[int], str]:
        # A suffix, not a random value: it also catches consumers that compare with startswith.
        wrong = f"{self.registered[claim]}-wrong"
        return lambda now: self.sign(self.claims(now, **{claim: wrong}))

    def _now(self, mint: Callable[[int], str]) -> str:
        return mint(int(self.clock()))


def minter(
    algorithm: str,
    key: str,
    *,
    ttl: int,
    registered: Mapping[str, str | None],
    claims: Mapping[str, str | int],
    not_before: bool,
    kid: str | None,
    key_origin: str | None,
    clock: Callable[[], float],
) -> Minter:
    """Validate one JWT configuration and build its :class:`Minter`, or raise ``AuthSpecError``.

    An ``iss``/``aud``/``sub``/``kid`` inside ``claims`` counts as the option of that name and is
    sent as a string (RFC 7519 §4.1 makes them StringOrURI; PyJWT rejects a numeric ``sub``).
    ``iat``/``exp``/``nbf``/``jti`` are refused because a static value would defeat freshness.
    """
    alg = check_algorithm(algorithm)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise AuthSpecError(f"JWT ttl must be a positive number of seconds, not {ttl!r}")
    extra = dict(claims)
    for minted in ("iat", "exp", "nbf", "jti"):
        if minted in extra:
            raise AuthSpecError(f"JWT claim {minted!r} is minted per delivery; drop it")
    lifted = {name: _lift(extra, name, given) for name, given in {**registered, "kid": kid}.items()}
    try:
        signing = signing_key(alg, key)
    except ValueError as exc:
        kind = "key" if alg in KEY_ALGORITHMS else "secret"
        where = f"jwt:{alg.lower()} {kind}" + (f" {key_origin}" if key_origin else "")
        raise AuthSpecError(f"{where} is unusable: {exc}") from None
    kid = lifted.pop("kid")
    present = {name: value for name, value in lifted.items() if value is not None}
    return Minter(alg, signing, ttl, present, extra, not_before, kid, clock)


def _lift(extra: dict[str, str | int], claim: str, given: str | None) -> str | None:
    value = extra.pop(claim, None)
    if value is not None and given is not None and str(value) != given:
        raise AuthSpecError(f"JWT {claim!r} is given twice with different values; keep one")
    found = given if given is not None else (None if value is None else str(value))
    if found == "":
        raise AuthSpecError(f"JWT {claim!r} is empty")
    return found
