"""Auth schemes: the good headers, each forged variant, and that no secret escapes.

PyJWT's ``jwt.decode`` is the judge for every token: a strict consumer (the configured algorithm
only, 60 s leeway, issuer and audience checked) must accept ``headers()`` and reject each
negative variant with the exception its name promises. Where it makes sense, the same token then
decodes with just that one check relaxed, which proves the variant has one defect and no other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from mockserver.auth import (
    ApiKeyAuth,
    AuthScheme,
    BasicAuth,
    BearerAuth,
    JwtAuth,
    NegativeVariant,
    NoAuth,
)
from mockserver.auth_spec import parse_auth_spec
from mockserver.errors import AuthSpecError, UsageError
from mockserver.redaction import PLACEHOLDER, Redactor

ISS, AUD, SUB, KID = "https://record360.example", "consumer-api", "webhooks", "key-2024"
# 64 bytes: long enough for HS512 (RFC 7518 §3.2), so PyJWT's key-length warning stays quiet.
HS_SECRET = secrets.token_hex(32)


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


class Keys:
    """RSA and EC keys generated once, written to files as a customer would give them."""

    def __init__(self, folder: Path) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa_pem, self.ec_pem = _pem(self.rsa), _pem(self.ec)
        self.rsa_path, self.ec_path = folder / "private.pem", folder / "ec.pem"
        self.rsa_path.write_text(self.rsa_pem)
        self.ec_path.write_text(self.ec_pem)

    def pem(self, alg: str) -> str:
        return {"RS256": self.rsa_pem, "ES256": self.ec_pem}.get(alg, HS_SECRET)

    def verify_key(self, alg: str) -> Any:
        """What a consumer verifies with: the shared secret, or the public key."""
        return {"RS256": self.rsa.public_key(), "ES256": self.ec.public_key()}.get(alg, HS_SECRET)

    def public_pem(self, alg: str) -> bytes:
        key = self.rsa if alg == "RS256" else self.ec
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("keys"))


ALGS = ["HS256", "HS384", "HS512", "RS256", "ES256"]


def make_jwt(keys: Keys, alg: str, **options: Any) -> JwtAuth:
    options = {"issuer": ISS, "audience": AUD, "subject": SUB, "kid": KID, **options}
    return JwtAuth(alg, keys.pem(alg), **options)


def token_of(headers: dict[str, str], header: str = "Authorization", prefix: str = "Bearer") -> str:
    value = headers[header]
    if not prefix:
        return value
    scheme, _, token = value.partition(" ")
    assert scheme == prefix
    return token


def strict_decode(keys: Keys, alg: str, token: str, **kwargs: Any) -> dict[str, Any]:
    """A careful consumer: one algorithm, iss and aud checked, jti/iat/exp required."""
    options = {"require": ["exp", "iat", "jti"], **kwargs.pop("options", {})}
    params: dict[str, Any] = {"audience": AUD, "issuer": ISS, "leeway": 60, **kwargs}
    return jwt.decode(token, keys.verify_key(alg), algorithms=[alg], options=options, **params)


def claims_only(token: str) -> dict[str, Any]:
    """Every claim check on, the signature check off: is everything but the signature fine?"""
    options = {"verify_signature": False, "verify_exp": True, "verify_nbf": True}
    options |= {"verify_iat": True, "verify_iss": True, "verify_aud": True}
    return jwt.decode(token, options=options, audience=AUD, issuer=ISS, leeway=60)


def variants_by_name(scheme: AuthScheme) -> dict[str, NegativeVariant]:
    return {variant.name: variant for variant in scheme.negative_variants()}


# --- good headers -------------------------------------------------------------------------------


def test_basic_headers_decode_to_user_and_password() -> None:
    auth = BasicAuth("alice", "p@ss:word:with:colons é")
    scheme, _, encoded = auth.headers()["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded, validate=True).decode() == "alice:p@ss:word:with:colons é"


def test_bearer_headers_default_and_custom_placement() -> None:
    assert BearerAuth("tok-123").headers() == {"Authorization": "Bearer tok-123"}
    custom = BearerAuth("tok-123", header="X-Token", scheme_prefix="Token")
    assert custom.headers() == {"X-Token": "Token tok-123"}
    assert BearerAuth("tok-123", scheme_prefix="").headers() == {"Authorization": "tok-123"}


def test_api_key_headers_use_the_customer_header() -> None:
    auth = ApiKeyAuth("api-key-secret", "1234ABCD5678EFGHI")
    assert auth.headers() == {"api-key-secret": "1234ABCD5678EFGHI"}


def test_no_auth_sends_nothing_and_forges_nothing() -> None:
    auth = NoAuth()
    assert (auth.headers(), auth.negative_variants(), auth.secrets()) == ({}, [], [])
    assert auth.sensitive_headers() == []
    assert auth.name == "none"


@pytest.mark.parametrize("alg", ALGS)
def test_jwt_headers_verify_with_the_configured_key(keys: Keys, alg: str) -> None:
    now = 1_700_000_000
    auth = make_jwt(keys, alg, ttl=120, claims={"tenant": "acme", "n": 5}, clock=lambda: now)
    token = token_of(auth.headers())
    claims = strict_decode(keys, alg, token, options={"verify_exp": False, "verify_iat": False})
    assert claims["iat"] == now and claims["exp"] == now + 120
    assert (claims["iss"], claims["aud"], claims["sub"]) == (ISS, AUD, SUB)
    assert (claims["tenant"], claims["n"]) == ("acme", 5)
    assert "nbf" not in claims
    assert jwt.get_unverified_header(token) == {"alg": alg, "typ": "JWT", "kid": KID}


@pytest.mark.parametrize("alg", ALGS)
def test_jwt_is_fresh_for_every_attempt(keys: Keys, alg: str) -> None:
    auth = make_jwt(keys, alg)
    tokens = [token_of(auth.headers()) for _ in range(5)]
    jtis = [strict_decode(keys, alg, token)["jti"] for token in tokens]
    assert len(set(jtis)) == 5
    assert all(len(jti) == 32 and int(jti, 16) >= 0 for jti in jtis)  # uuid4 hex


def test_jwt_iat_follows_the_clock_and_nbf_is_optional(keys: Keys) -> None:
    now = [1_700_000_000.7]
    auth = make_jwt(keys, "HS256", ttl=60, not_before=True, clock=lambda: now[0])
    first = jwt.decode(token_of(auth.headers()), options={"verify_signature": False})
    now[0] += 1000
    second = jwt.decode(token_of(auth.headers()), options={"verify_signature": False})
    assert (first["iat"], first["nbf"], first["exp"]) == (1_700_000_000,) * 2 + (1_700_000_060,)
    assert second["iat"] == first["iat"] + 1000 == second["nbf"]


def test_jwt_custom_header_and_bare_token(keys: Keys) -> None:
    auth = make_jwt(keys, "HS256", header="X-Webhook-Token", scheme_prefix="")
    headers = auth.headers()
    assert list(headers) == ["X-Webhook-Token"]
    strict_decode(keys, "HS256", token_of(headers, "X-Webhook-Token", ""))
    assert auth.sensitive_headers() == ["X-Webhook-Token"]


def test_jwt_claims_mapping_may_carry_iss_aud_sub_kid(keys: Keys) -> None:
    claims = {"iss": ISS, "aud": AUD, "sub": SUB, "kid": KID}
    auth = JwtAuth("hs256", HS_SECRET, claims=claims)
    token = token_of(auth.headers())
    assert strict_decode(keys, "HS256", token)["sub"] == SUB
    assert jwt.get_unverified_header(token)["kid"] == KID
    assert {"wrong-issuer", "wrong-audience"} <= set(variants_by_name(auth))


def test_short_hmac_secret_is_sent_without_warnings(keys: Keys) -> None:
    # pytest turns warnings into errors: minting must not warn, although PyJWT warns on decode.
    auth = JwtAuth("HS256", "short")
    token = token_of(auth.headers())
    with pytest.warns(jwt.InsecureKeyLengthWarning):
        assert jwt.decode(token, "short", algorithms=["HS256"])["jti"]


def test_jwt_minting_is_thread_safe(keys: Keys) -> None:
    auth = make_jwt(keys, "ES256")
    tokens: list[str] = []

    def worker() -> None:
        tokens.extend(token_of(auth.headers()) for _ in range(20))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({strict_decode(keys, "ES256", token)["jti"] for token in tokens}) == 80


# --- negative variants --------------------------------------------------------------------------

JWT_REJECTIONS: dict[str, type[Exception]] = {
    "malformed": jwt.DecodeError,
    "wrong-secret": jwt.InvalidSignatureError,
    "bad-signature": jwt.InvalidSignatureError,
    "expired": jwt.ExpiredSignatureError,
    "not-yet-valid": jwt.ImmatureSignatureError,
    "alg-none": jwt.InvalidAlgorithmError,
    "wrong-alg": jwt.InvalidAlgorithmError,
    "wrong-issuer": jwt.InvalidIssuerError,
    "wrong-audience": jwt.InvalidAudienceError,
}


def _only_defect(keys: Keys, alg: str, name: str, token: str) -> None:
    """The variant's token passes once the one named check is relaxed."""
    if name == "expired":
        claims = strict_decode(keys, alg, token, options={"verify_exp": False})
        assert claims["exp"] < claims["iat"] + 2 * 3600 and claims["iat"] < claims["exp"]
    elif name == "not-yet-valid":
        claims = strict_decode(keys, alg, token, options={"verify_nbf": False})
        assert claims["nbf"] > claims["iat"] + 60
    elif name == "wrong-issuer":
        claims = strict_decode(keys, alg, token, options={"verify_iss": False})
        assert claims["iss"] != ISS
    elif name == "wrong-audience":
        claims = strict_decode(keys, alg, token, options={"verify_aud": False})
        assert claims["aud"] != AUD
    elif name == "wrong-alg" and alg.startswith("HS"):
        used = jwt.get_unverified_header(token)["alg"]
        assert used != alg and used.startswith("HS")
        strict_decode(keys, used, token)  # the same secret, merely another HMAC algorithm
    elif name == "wrong-alg":
        # RFC 8725 §2.1 alg confusion: a valid HS256 MAC keyed with the public key PEM.
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        signing_input, _, signature = token.rpartition(".")
        mac = hmac.new(keys.public_pem(alg), signing_input.encode(), hashlib.sha256).digest()
        assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == signature
        claims_only(token)
    elif name == "alg-none":
        assert jwt.get_unverified_header(token)["alg"] == "none"
        assert token.endswith(".")
        claims_only(token)
    elif name in ("wrong-secret", "bad-signature"):
        assert jwt.get_unverified_header(token)["alg"] == alg
        claims_only(token)
    else:
        assert name == "malformed"
        assert token.count(".") != 2


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("name", sorted(JWT_REJECTIONS))
def test_jwt_variant_is_rejected_for_exactly_its_defect(keys: Keys, alg: str, name: str) -> None:
    auth = make_jwt(keys, alg)
    token = token_of(variants_by_name(auth)[name].make_headers())
    with pytest.raises(JWT_REJECTIONS[name]):
        strict_decode(keys, alg, token)
    _only_defect(keys, alg, name, token)
    if name != "malformed":
        assert jwt.get_unverified_header(token).get("kid") == KID


@pytest.mark.parametrize("alg", ALGS)
def test_jwt_variant_names_are_stable(keys: Keys, alg: str) -> None:
    base = ["missing", "malformed", "wrong-secret", "bad-signature", "expired", "not-yet-valid"]
    base += ["alg-none", "wrong-alg"]
    assert list(variants_by_name(JwtAuth(alg, keys.pem(alg)))) == base
    assert list(variants_by_name(make_jwt(keys, alg))) == [*base, "wrong-issuer", "wrong-audience"]


def test_jwt_wrong_alg_for_hmac_sends_another_hmac(keys: Keys) -> None:
    used = {
        alg: jwt.get_unverified_header(
            token_of(variants_by_name(make_jwt(keys, alg))["wrong-alg"].make_headers())
        )["alg"]
        for alg in ("HS256", "HS384", "HS512")
    }
    assert used == {"HS256": "HS384", "HS384": "HS256", "HS512": "HS256"}


def test_jwt_variants_are_minted_fresh_each_call(keys: Keys) -> None:
    now = [1_700_000_000]
    auth = make_jwt(keys, "HS256", clock=lambda: now[0])
    expired = variants_by_name(auth)["expired"]
    first = jwt.decode(token_of(expired.make_headers()), options={"verify_signature": False})
    now[0] += 500
    second = jwt.decode(token_of(expired.make_headers()), options={"verify_signature": False})
    assert first["jti"] != second["jti"]
    assert (first["exp"], second["exp"]) == (now[0] - 500 - 3600, now[0] - 3600)


def test_every_scheme_has_a_missing_variant_with_no_credential(keys: Keys) -> None:
    for auth in all_schemes(keys):
        if isinstance(auth, NoAuth):
            continue
        missing = variants_by_name(auth)["missing"].make_headers()
        assert missing == {}
        assert not set(auth.sensitive_headers()) & set(missing)


def test_basic_variants() -> None:
    auth = BasicAuth("alice", "correct horse")
    variants = variants_by_name(auth)
    assert list(variants) == ["missing", "wrong-password", "malformed", "no-colon"]
    good = auth.headers()["Authorization"]

    def decoded(name: str) -> str:
        value = variants[name].make_headers()["Authorization"]
        assert value != good and value.startswith("Basic ")
        return base64.b64decode(value.removeprefix("Basic "), validate=True).decode()

    user, _, password = decoded("wrong-password").partition(":")
    assert user == "alice" and password and password != "correct horse"
    assert ":" not in decoded("no-colon")
    with pytest.raises(binascii.Error):
        decoded("malformed")


def test_basic_with_the_key_as_user_forges_the_user() -> None:
    auth = BasicAuth("sk_live_key_as_user", "")
    variants = variants_by_name(auth)
    assert list(variants) == ["missing", "wrong-user", "malformed", "no-colon"]
    value = variants["wrong-user"].make_headers()["Authorization"].removeprefix("Basic ")
    user, colon, password = base64.b64decode(value, validate=True).decode().partition(":")
    assert (colon, password) == (":", "") and user and user != "sk_live_key_as_user"


def test_bearer_variants() -> None:
    auth = BearerAuth("tok-123456")
    variants = variants_by_name(auth)
    assert list(variants) == ["missing", "wrong-token", "malformed"]
    wrong = variants["wrong-token"].make_headers()["Authorization"]
    assert wrong.startswith("Bearer ") and wrong != "Bearer tok-123456"
    assert variants["malformed"].make_headers() == {"Authorization": "Bearer"}


def test_api_key_variants() -> None:
    auth = ApiKeyAuth("X-Api-Key", "k-123456")
    variants = variants_by_name(auth)
    assert list(variants) == ["missing", "wrong-key", "malformed"]
    wrong = variants["wrong-key"].make_headers()
    assert list(wrong) == ["X-Api-Key"] and wrong["X-Api-Key"] not in ("", "k-123456")
    assert variants["malformed"].make_headers() == {"X-Api-Key": ""}


def test_forged_values_are_redrawn_until_free_of_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws = iter(["xx-tok-123456-xx", "also tok-123456", "clean-value"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(draws))
    wrong = variants_by_name(BearerAuth("tok-123456"))["wrong-token"]
    assert wrong.make_headers() == {"Authorization": "Bearer clean-value"}


def test_forged_values_differ_each_call() -> None:
    wrong = variants_by_name(BearerAuth("tok-123456"))["wrong-token"]
    assert wrong.make_headers() != wrong.make_headers()


def test_variant_descriptions_are_one_line(keys: Keys) -> None:
    for auth in all_schemes(keys):
        for variant in auth.negative_variants():
            assert variant.description and "\n" not in variant.description
            assert variant.name == variant.name.lower() and " " not in variant.name


# --- secrets stay inside ------------------------------------------------------------------------


def _key_material(pem: str) -> list[str]:
    return [pem, *pem.splitlines()[1:-1]]


# id -> (build the scheme, the secrets as the test knows them: independent of ``secrets()``)
SCHEMES: dict[str, tuple[Callable[[Keys], AuthScheme], Callable[[Keys], list[str]]]] = {
    "none": (lambda k: NoAuth(), lambda k: []),
    "basic": (
        lambda k: BasicAuth("alice", "s3cret-password"),
        lambda k: ["s3cret-password", base64.b64encode(b"alice:s3cret-password").decode()],
    ),
    "basic-user-as-key": (
        lambda k: BasicAuth("sk_live_user_as_key", ""),
        lambda k: ["sk_live_user_as_key", base64.b64encode(b"sk_live_user_as_key:").decode()],
    ),
    "bearer": (lambda k: BearerAuth("bearer-token-value"), lambda k: ["bearer-token-value"]),
    "bearer-bare-custom": (
        lambda k: BearerAuth("bearer-token-value", header="X-Token", scheme_prefix=""),
        lambda k: ["bearer-token-value"],
    ),
    "api-key-custom": (
        lambda k: ApiKeyAuth("X-Custom-Key", "api-key-value"),
        lambda k: ["api-key-value"],
    ),
    "api-key-r360": (
        lambda k: ApiKeyAuth("api-key-secret", "1234ABCD5678EFGHI"),
        lambda k: ["1234ABCD5678EFGHI"],
    ),
    **{
        f"jwt-{alg.lower()}": (
            lambda k, alg=alg: make_jwt(k, alg),
            lambda k, alg=alg: _key_material(k.pem(alg)) if alg[0] != "H" else [HS_SECRET],
        )
        for alg in ALGS
    },
    "jwt-bare-custom": (
        lambda k: make_jwt(k, "HS256", header="X-Signed-Token", scheme_prefix=""),
        lambda k: [HS_SECRET],
    ),
}


def all_schemes(keys: Keys) -> list[AuthScheme]:
    return [build(keys) for build, _ in SCHEMES.values()]


@pytest.mark.parametrize("scheme_id", SCHEMES)
def test_redactor_hides_every_secret_in_headers(keys: Keys, scheme_id: str) -> None:
    build, raw = SCHEMES[scheme_id]
    auth = build(keys)
    redactor = Redactor(auth.secrets(), sensitive_headers=auth.sensitive_headers())
    headers = auth.headers()
    safe = redactor.headers(headers)
    assert set(safe) == set(headers)
    assert all(safe[name] == PLACEHOLDER for name in auth.sensitive_headers())
    dumped = repr(safe)
    for secret in [*raw(keys), *headers.values()]:
        assert secret not in dumped
    assert {secret.strip() for secret in raw(keys)} <= set(auth.secrets())


@pytest.mark.parametrize("scheme_id", SCHEMES)
def test_describe_repr_and_variants_never_show_a_secret(keys: Keys, scheme_id: str) -> None:
    build, raw = SCHEMES[scheme_id]
    auth = build(keys)
    forged = [variant.make_headers() for variant in auth.negative_variants()]
    shown = [auth.describe(), repr(auth), *(repr(headers) for headers in forged)]
    for secret in raw(keys):
        for text in shown:
            assert secret not in text
    assert auth.describe() and "\n" not in auth.describe()


def test_secrets_cover_the_credential_text() -> None:
    # Value-level scrubbing: a consumer that echoes the credential back in its body.
    for auth in (BasicAuth("alice", "s3cret-password"), BasicAuth("sk_live_key", "")):
        encoded = auth.headers()["Authorization"].removeprefix("Basic ")
        echoed = f"you sent {encoded!r} for {auth.secrets()[0]!r}"
        assert (
            Redactor(auth.secrets()).text(echoed) == f"you sent '{PLACEHOLDER}' for '{PLACEHOLDER}'"
        )
    bearer = BearerAuth("bearer-token-value", header="X-Custom")
    redacted = Redactor(bearer.secrets()).text("X-Custom: Bearer bearer-token-value")
    assert redacted == f"X-Custom: Bearer {PLACEHOLDER}"


def test_custom_header_needs_sensitive_headers() -> None:
    auth = ApiKeyAuth("X-Custom-Key", "abc")  # shorter than the redactor scrubs from text
    assert Redactor(auth.secrets()).headers(auth.headers()) == {"X-Custom-Key": "abc"}
    safe = Redactor(auth.secrets(), sensitive_headers=auth.sensitive_headers())
    assert safe.headers(auth.headers()) == {"X-Custom-Key": PLACEHOLDER}


def test_describe_says_what_is_sent(keys: Keys) -> None:
    assert BasicAuth("alice", "pw-123456").describe() == "basic as user 'alice' in Authorization"
    assert BearerAuth("t-123456").describe() == "bearer token in Authorization: Bearer"
    assert ApiKeyAuth("X-Key", "v-123456").describe() == "api key in X-Key"
    hs = JwtAuth("hs256", HS_SECRET, issuer=ISS, ttl=60, key_origin="env:WEBHOOK_JWT_SECRET")
    assert hs.describe() == (
        f"jwt hs256 (secret env:WEBHOOK_JWT_SECRET), iss {ISS!r}, ttl 60s in Authorization: Bearer"
    )
    bare = JwtAuth("RS256", keys.rsa_pem, header="X-Jwt", scheme_prefix="")
    assert bare.describe() == "jwt rs256, ttl 300s in X-Jwt"


def test_secrets_are_what_must_be_scrubbed(keys: Keys) -> None:
    basic = BasicAuth("alice", "pw-123456")
    assert basic.secrets() == ["pw-123456", base64.b64encode(b"alice:pw-123456").decode()]
    assert JwtAuth("ES256", keys.ec_pem).secrets() == _key_material(keys.ec_pem.strip())
    assert JwtAuth("HS384", HS_SECRET).secrets() == [HS_SECRET]
    assert JwtAuth("HS384", f" {HS_SECRET}\n").secrets() == [HS_SECRET]


def test_pem_is_scrubbed_from_a_json_report(keys: Keys) -> None:
    auth = JwtAuth("RS256", keys.rsa_pem)
    report = json.dumps({"details": f"could not use {keys.rsa_pem}"})
    scrubbed = Redactor(auth.secrets()).text(report)
    assert all(line not in scrubbed for line in keys.rsa_pem.splitlines()[1:-1])


alnum = st.text(st.characters(categories=["L", "N"], max_codepoint=0x7F), min_size=8, max_size=40)


@given(user=alnum, password=alnum, token=alnum)
def test_forgeries_never_contain_the_real_secret(user: str, password: str, token: str) -> None:
    for auth in (BasicAuth(user, password), BearerAuth(token), ApiKeyAuth("X-Key", token)):
        for variant in auth.negative_variants():
            headers = variant.make_headers()
            for secret in auth.secrets():
                assert all(secret not in value for value in headers.values())
            if variant.name != "missing":
                assert headers != auth.headers()


@given(
    user=st.text(min_size=1).filter(lambda u: ":" not in u and u.isprintable()),
    password=st.text().filter(str.isprintable),
)
def test_basic_round_trips_any_printable_credentials(user: str, password: str) -> None:
    encoded = BasicAuth(user, password).headers()["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(encoded).decode("utf-8") == f"{user}:{password}"


# --- constructor errors -------------------------------------------------------------------------


def _other_pems() -> dict[str, str]:
    p384 = ec.generate_private_key(ec.SECP384R1())
    encrypted = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    return {"p384": _pem(p384), "encrypted": encrypted.decode()}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda k: JwtAuth("RS256", k.ec_pem), "RS256 needs an RSA key"),
        (lambda k: JwtAuth("ES256", k.rsa_pem), "ES256 needs an EC key on P-256"),
        (lambda k: JwtAuth("ES256", _other_pems()["p384"]), "it is an EC secp384r1 key"),
        (lambda k: JwtAuth("ES256", _other_pems()["encrypted"]), "it is encrypted"),
        (lambda k: JwtAuth("RS256", "-----BEGIN nonsense"), "not a PEM private key"),
        (lambda k: JwtAuth("HS256", k.rsa_pem), "is a PEM key; use jwt:rs256"),
        (lambda k: JwtAuth("HS256", ""), "jwt:hs256 secret is unusable: it is empty"),
        (lambda k: JwtAuth("none", HS_SECRET), "'none' is never accepted"),
        (lambda k: JwtAuth("PS256", HS_SECRET), "unknown JWT algorithm 'PS256'"),
        (lambda k: JwtAuth("HS256", HS_SECRET, ttl=0), "ttl must be a positive"),
        (lambda k: JwtAuth("HS256", HS_SECRET, claims={"exp": 1}), "'exp' is minted"),
        (lambda k: JwtAuth("HS256", HS_SECRET, issuer="a", claims={"iss": "b"}), "'iss' is given"),
        (lambda k: JwtAuth("HS256", HS_SECRET, audience=""), "'aud' is empty"),
        (lambda k: JwtAuth("HS256", HS_SECRET, header="Bad Header"), "'Bad Header'"),
        (lambda k: BasicAuth("", "pw"), "basic user is empty"),
        (lambda k: BasicAuth("a:b", "pw"), "has ':'"),
        (lambda k: BasicAuth("alice", "pw\nx"), "password contains a control character"),
        (lambda k: BearerAuth(""), "bearer token is empty"),
        (lambda k: BearerAuth("two words"), "bearer token contains a character"),
        (lambda k: BearerAuth("tök"), "visible ASCII"),
        (lambda k: BearerAuth("t", scheme_prefix="Bear er"), "scheme prefix 'Bear er'"),
        (lambda k: ApiKeyAuth("X-Key", ""), "api-key value is empty"),
        (lambda k: ApiKeyAuth("X Key", "v"), "api-key header name 'X Key'"),
        (lambda k: ApiKeyAuth("X-Key", "v\r\nInjected: 1"), "not allowed in a header"),
    ],
)
def test_bad_construction_raises_auth_spec_error(
    keys: Keys, build: Callable[[Keys], AuthScheme], message: str
) -> None:
    with pytest.raises(AuthSpecError, match=re.escape(message)) as info:
        build(keys)
    assert isinstance(info.value, UsageError) and "\n" not in str(info.value)
    for secret in (keys.rsa_pem, keys.ec_pem, HS_SECRET, "BEGIN"):
        assert secret not in str(info.value)


def test_parse_and_construct_agree(keys: Keys) -> None:
    parsed = parse_auth_spec(f"jwt:rs256:@{keys.rsa_path}", claims={"iss": ISS, "aud": AUD})
    assert isinstance(parsed, JwtAuth)
    strict_decode(keys, "RS256", token_of(parsed.headers()))
