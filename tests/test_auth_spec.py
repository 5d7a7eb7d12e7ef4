"""``--auth`` SPEC strings, ``env:``/``@file`` secrets and ``--header NAME:VALUE``.

A bad SPEC must fail at load (exit code 2 in the CLI) with one line that names the bad part,
shows the accepted forms, and never contains the secret: these messages end up in terminals,
CI logs and bug reports.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from mockserver.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    JwtAuth,
    NoAuth,
)
from mockserver.auth_spec import parse_auth_spec, parse_header, resolve_secret
from mockserver.errors import AuthSpecError, UsageError

SECRET = "Sup3r-Secret-Value-42"
HS_SECRET = "h" * 64  # long enough for HS512, so PyJWT's decode stays quiet


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1 / SEC1: also what openssl writes
        serialization.NoEncryption(),
    ).decode("ascii")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("spec")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    contents = {
        "rsa.pem": _pem(rsa_key),
        "ec.pem": _pem(ec_key),
        "p384.pem": _pem(ec.generate_private_key(ec.SECP384R1())),
        "garbage.pem": f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n",
        "secret.txt": f"{SECRET}\n",
        "crlf.txt": f"{SECRET}\r\n",
    }
    paths = {name: folder / name for name in contents}
    for name, text in contents.items():
        paths[name].write_text(text, newline="")
    paths["binary.bin"] = folder / "binary.bin"
    paths["binary.bin"].write_bytes(b"\xff\xfe\x00secret")
    paths["folder"] = folder
    paths["rsa.pub"] = folder / "rsa.pub"
    paths["rsa.pub"].write_bytes(
        rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return paths


def basic_credentials(auth: object) -> str:
    assert isinstance(auth, BasicAuth)
    return base64.b64decode(auth.headers()["Authorization"].removeprefix("Basic ")).decode()


# --- every form ---------------------------------------------------------------------------------


def test_none() -> None:
    assert isinstance(parse_auth_spec("none"), NoAuth)
    assert isinstance(parse_auth_spec("NONE"), NoAuth)


@pytest.mark.parametrize(
    ("spec", "credentials"),
    [
        ("basic:alice:secret", "alice:secret"),
        ("basic:alice:pa:ss:word", "alice:pa:ss:word"),  # the password keeps its colons
        ("BASIC:alice:secret", "alice:secret"),
        ("basic:alice:", "alice:"),  # the "key as user-id, empty password" style
        ("basic:alice:env:PASS", f"alice:{SECRET}"),
        ("basic:alice:env:COLON_PASS", "alice:a:b:c"),
    ],
)
def test_basic_forms(spec: str, credentials: str) -> None:
    auth = parse_auth_spec(spec, environ={"PASS": SECRET, "COLON_PASS": "a:b:c"})
    assert basic_credentials(auth) == credentials


def test_basic_password_from_file(files: dict[str, Path]) -> None:
    auth = parse_auth_spec(f"basic:alice:@{files['secret.txt']}")
    assert basic_credentials(auth) == f"alice:{SECRET}"


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ("bearer:tok-123", "Bearer tok-123"),
        ("bearer:a:b:c", "Bearer a:b:c"),
        ("bearer:env:TOKEN", f"Bearer {SECRET}"),
    ],
)
def test_bearer_forms(spec: str, value: str) -> None:
    auth = parse_auth_spec(spec, environ={"TOKEN": SECRET})
    assert isinstance(auth, BearerAuth)
    assert auth.headers() == {"Authorization": value}


@pytest.mark.parametrize("name", ["secret.txt", "crlf.txt"])
def test_bearer_token_from_file_loses_its_trailing_newline(
    files: dict[str, Path], name: str
) -> None:
    assert parse_auth_spec(f"bearer:@{files[name]}").headers() == {
        "Authorization": f"Bearer {SECRET}"
    }


def test_bearer_header_and_prefix_options() -> None:
    auth = parse_auth_spec("bearer:tok", header="X-Token", scheme_prefix="")
    assert auth.headers() == {"X-Token": "tok"}


@pytest.mark.parametrize(
    ("spec", "headers"),
    [
        ("api-key:X-Api-Key:k-123", {"X-Api-Key": "k-123"}),
        ("api-key:api-key-secret:env:KEY", {"api-key-secret": SECRET}),
        ("api-key:Authorization:Token abc:def", {"Authorization": "Token abc:def"}),
    ],
)
def test_api_key_forms(spec: str, headers: dict[str, str]) -> None:
    auth = parse_auth_spec(spec, environ={"KEY": SECRET})
    assert isinstance(auth, ApiKeyAuth)
    assert auth.headers() == headers
    assert auth.sensitive_headers() == list(headers)


@pytest.mark.parametrize("alg", ["hs256", "HS384", "Hs512"])
def test_jwt_hmac_forms(alg: str) -> None:
    for spec in (f"jwt:{alg}:{HS_SECRET}", f"jwt:{alg}:env:JWT_SECRET"):
        auth = parse_auth_spec(spec, environ={"JWT_SECRET": HS_SECRET})
        token = auth.headers()["Authorization"].removeprefix("Bearer ")
        assert jwt.decode(token, HS_SECRET, algorithms=[alg.upper()])["jti"]


def test_jwt_secret_may_contain_colons() -> None:
    secret = "a:b:c:" + HS_SECRET
    token = parse_auth_spec(f"jwt:hs256:{secret}").headers()["Authorization"].split()[1]
    assert jwt.decode(token, secret, algorithms=["HS256"])


@pytest.mark.parametrize(("alg", "name"), [("rs256", "rsa.pem"), ("es256", "ec.pem")])
def test_jwt_key_forms(files: dict[str, Path], alg: str, name: str) -> None:
    pem = files[name].read_text()
    public = serialization.load_pem_private_key(pem.encode(), None).public_key()
    for spec in (f"jwt:{alg}:@{files[name]}", f"jwt:{alg}:env:JWT_KEY"):
        auth = parse_auth_spec(spec, environ={"JWT_KEY": pem})
        assert auth.secrets()[0] == pem.strip()
        token = auth.headers()["Authorization"].removeprefix("Bearer ")
        assert jwt.decode(token, public, algorithms=[alg.upper()])["exp"]


def test_jwt_options_and_claims() -> None:
    claims = {"iss": "r360", "aud": "api", "sub": "123", "kid": "k1", "n": "42", "id": "007"}
    claims |= {"neg": "-3", "word": "abc", "float": "1.5"}
    auth = parse_auth_spec(
        f"jwt:hs256:{HS_SECRET}", claims=claims, ttl=90, header="X-Jwt", scheme_prefix="JWT"
    )
    assert isinstance(auth, JwtAuth)
    scheme, _, token = auth.headers()["X-Jwt"].partition(" ")
    assert scheme == "JWT"
    decoded = jwt.decode(token, HS_SECRET, algorithms=["HS256"], audience="api", issuer="r360")
    assert decoded["exp"] - decoded["iat"] == 90
    assert (decoded["sub"], decoded["n"], decoded["id"], decoded["neg"]) == ("123", 42, "007", -3)
    assert (decoded["word"], decoded["float"]) == ("abc", "1.5")
    assert "kid" not in decoded and jwt.get_unverified_header(token)["kid"] == "k1"
    names = [variant.name for variant in auth.negative_variants()]
    assert names[-2:] == ["wrong-issuer", "wrong-audience"]


def test_option_name_appears_in_errors() -> None:
    with pytest.raises(AuthSpecError, match=r"^--r360-auth: unknown auth scheme 'bearr'"):
        parse_auth_spec("bearr:x", option="--r360-auth")


# --- bad SPECs ----------------------------------------------------------------------------------

ALL_FORMS = "basic:USER:PASS, bearer:TOKEN, api-key:HEADER:VALUE, jwt:ALG:SECRET|@key.pem or none"

# (spec, environ, what the message must say)
BAD_SPECS: list[tuple[str, dict[str, str], str]] = [
    ("", {}, f"empty SPEC; use {ALL_FORMS}"),
    (f"bearr:{SECRET}", {}, f"unknown auth scheme 'bearr'; use {ALL_FORMS}"),
    (SECRET, {}, f"SPEC has no scheme; use {ALL_FORMS}"),
    (f"{SECRET}:more", {}, f"unknown auth scheme; use {ALL_FORMS}"),
    (f"tok_{SECRET}:x", {}, "unknown auth scheme; use"),
    ("basic", {}, "basic needs more parts; use basic:USER:PASS"),
    (f"basic:{SECRET}", {}, "basic needs more parts; use basic:USER:PASS"),
    (f"basic::{SECRET}", {}, "basic user is empty; use basic:USER:PASS"),
    (f"basic:alice:{SECRET}\x00", {}, "basic password contains a control character"),
    ("bearer", {}, "bearer needs more parts; use bearer:TOKEN"),
    ("bearer:", {}, "bearer token is empty; use bearer:TOKEN"),
    (f"bearer:{SECRET} {SECRET}", {}, "bearer token contains a character not allowed"),
    ("bearer:env:TOKEN", {"TOKEN": f"{SECRET}\nX-Injected: 1"}, "not allowed in a header"),
    ("bearer:env:", {}, "env: needs a variable name"),
    ("bearer:@", {}, "@ needs a file path"),
    ("bearer:env:WEBHOOK_TOKEN", {}, "environment variable 'WEBHOOK_TOKEN' (from env:WEBHOOK_TOKEN) is not set"),
    (f"api-key:X-Key{SECRET}", {}, "api-key needs more parts; use api-key:HEADER:VALUE"),
    ("api-key:X-Key:", {}, "api-key value is empty; use api-key:HEADER:VALUE"),
    (f"api-key:Bad Header:{SECRET}", {}, "api-key header name 'Bad Header' is not a valid HTTP token"),
    (f"jwt:{SECRET}", {}, "jwt needs more parts; use jwt:ALG:SECRET or jwt:ALG:@key.pem"),
    (f"jwt:hs257:{SECRET}", {}, "unknown JWT algorithm 'hs257'; use hs256, hs384, hs512, rs256 or es256"),
    (f"jwt:none:{SECRET}", {}, "JWT algorithm 'none' is never accepted"),
    ("jwt:hs256:", {}, "jwt:hs256 secret is unusable: it is empty; use jwt:hs256:SECRET"),
    (f"jwt:rs256:{SECRET}", {}, "jwt:rs256 needs a PEM private key as @key.pem or env:NAME, not an inline secret"),
    ("jwt:rs256:env:JWT_KEY", {"JWT_KEY": SECRET}, "jwt:rs256 key env:JWT_KEY is unusable: it is not a PEM private key"),
    ("jwt:es256:env:MISSING_KEY", {}, "environment variable 'MISSING_KEY'"),
    (f"none:{SECRET}", {}, "none takes no parts; use none"),
]  # fmt: skip

# (spec with {name} for a file of the `files` fixture, what the message must say)
BAD_FILE_SPECS: list[tuple[str, str]] = [
    ("jwt:rs256:@{missing}", "cannot read '{missing}' (from @): No such file or directory"),
    ("bearer:@{folder}", "cannot read '{folder}' (from @)"),
    ("bearer:@{binary.bin}", "file '{binary.bin}' (from @) is not UTF-8 text"),
    ("jwt:rs256:@{ec.pem}", "jwt:rs256 key @{ec.pem} is unusable: it is an EC secp256r1 key, RS256 needs an RSA key"),
    ("jwt:es256:@{rsa.pem}", "jwt:es256 key @{rsa.pem} is unusable: it is an RSA key, ES256 needs an EC key on P-256"),
    ("jwt:es256:@{p384.pem}", "jwt:es256 key @{p384.pem} is unusable: it is an EC secp384r1 key"),
    ("jwt:rs256:@{rsa.pub}", "jwt:rs256 key @{rsa.pub} is unusable: it is not a PEM private key"),
    ("jwt:rs256:@{garbage.pem}", "jwt:rs256 key @{garbage.pem} is unusable: it is not a PEM private key"),
    ("jwt:hs256:@{rsa.pem}", "jwt:hs256 secret @{rsa.pem} is unusable: it is a PEM key; use jwt:rs256"),
    ("jwt:rs256:@{secret.txt}", "is unusable: it is not a PEM private key"),
]  # fmt: skip


def _check_message(error: AuthSpecError, expected: str, *secrets: str) -> None:
    message = str(error)
    assert message.startswith("--auth: ")
    assert expected in message
    assert "\n" not in message and "\r" not in message
    for secret in secrets:
        assert secret not in message


@pytest.mark.parametrize(("spec", "environ", "expected"), BAD_SPECS)
def test_bad_spec_names_the_part_and_hides_the_secret(
    spec: str, environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(AuthSpecError) as info:
        parse_auth_spec(spec, environ=environ)
    _check_message(info.value, expected, SECRET, *environ.values())


@pytest.mark.parametrize(("spec", "expected"), BAD_FILE_SPECS)
def test_bad_key_file_names_the_file_and_the_alg(
    files: dict[str, Path], spec: str, expected: str
) -> None:
    names = {name: str(path) for name, path in files.items()}
    names["missing"] = str(files["folder"] / "missing.pem")
    for name, path in names.items():
        spec, expected = spec.replace(f"{{{name}}}", path), expected.replace(f"{{{name}}}", path)
    with pytest.raises(AuthSpecError) as info:
        parse_auth_spec(spec)
    pem = [line for name in ("rsa.pem", "ec.pem") for line in files[name].read_text().splitlines()]
    _check_message(info.value, expected, SECRET, *(line for line in pem if "-" not in line))


@pytest.mark.parametrize(
    ("spec", "options", "expected"),
    [
        ("basic:a:b", {"claims": {"iss": "x"}}, "JWT claims do not apply to basic SPEC"),
        ("bearer:t", {"ttl": 60}, "a JWT ttl does not apply to bearer SPEC"),
        ("api-key:X:v", {"header": "Y"}, "applies only to bearer and jwt"),
        ("jwt:hs256:s", {"ttl": 0}, "JWT ttl must be a positive number of seconds, not 0"),
        ("jwt:hs256:s", {"claims": {"iat": "1"}}, "JWT claim 'iat' is minted per delivery"),
        ("jwt:hs256:s", {"claims": {"iss": ""}}, "JWT 'iss' is empty"),
        ("jwt:hs256:s", {"header": "X Jwt"}, "jwt header name 'X Jwt' is not a valid HTTP token"),
        ("bearer:t", {"scheme_prefix": "Bear er"}, "bearer scheme prefix 'Bear er'"),
    ],
)
def test_options_that_do_not_fit_the_spec(spec: str, options: dict, expected: str) -> None:
    with pytest.raises(AuthSpecError) as info:
        parse_auth_spec(spec, **options)
    _check_message(info.value, expected)


def test_alg_is_checked_before_the_secret_is_read() -> None:
    with pytest.raises(AuthSpecError, match="unknown JWT algorithm 'rs257'"):
        parse_auth_spec("jwt:rs257:env:NOT_SET", environ={})


# --- resolve_secret -----------------------------------------------------------------------------


def test_resolve_secret_forms(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_secret("literal:with:colons") == "literal:with:colons"
    assert resolve_secret("env:X", environ={"X": " padded \n"}) == " padded \n"  # env: verbatim
    assert resolve_secret(f"@{files['secret.txt']}") == SECRET
    monkeypatch.setenv("R360_TEST_SECRET", SECRET)
    assert resolve_secret("env:R360_TEST_SECRET") == SECRET  # os.environ by default
    monkeypatch.setenv("HOME", str(files["folder"]))
    assert resolve_secret("@~/secret.txt") == SECRET


def test_resolve_secret_keeps_inner_and_leading_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "s"
    path.write_text("  two\nlines\n\n")
    assert resolve_secret(f"@{path}") == "  two\nlines"


def test_resolve_secret_errors_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'NOPE_NOT_SET'") as info:
        resolve_secret("env:NOPE_NOT_SET", environ={})
    assert not isinstance(info.value, AuthSpecError)
    with pytest.raises(UsageError, match=r"missing\.txt"):
        resolve_secret(f"@{tmp_path / 'missing.txt'}")


def test_environ_defaults_to_the_process_environment() -> None:
    name = next(f"R360_UNSET_{i}" for i in range(1000) if f"R360_UNSET_{i}" not in os.environ)
    with pytest.raises(AuthSpecError, match=name):
        parse_auth_spec(f"bearer:env:{name}")


# --- parse_header -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api-key-id:3e50cee3-0548-4805-95e8-cb49659f968f", ("api-key-id", "3e50cee3-0548-4805-95e8-cb49659f968f")),
        ("X-Key-Id: k1 ", ("X-Key-Id", "k1")),
        ("X-Callback:https://example.com:8443/x", ("X-Callback", "https://example.com:8443/x")),
        ("X-Secret:env:HEADER_SECRET", ("X-Secret", SECRET)),
    ],
)  # fmt: skip
def test_parse_header(text: str, expected: tuple[str, str]) -> None:
    assert parse_header(text, environ={"HEADER_SECRET": SECRET}) == expected


def test_parse_header_value_from_file(files: dict[str, Path]) -> None:
    assert parse_header(f"X-Secret:@{files['secret.txt']}") == ("X-Secret", SECRET)


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("X-Key-Id", {}, "--header has no ':' between name and value; use NAME:VALUE"),
        (f"X-Key={SECRET}", {}, "--header has no ':' between name and value; use NAME:VALUE"),
        (f"Bad Name:{SECRET}", {}, "--header name 'Bad Name' is not a valid HTTP header name"),
        (f":{SECRET}", {}, "--header name '' is not a valid HTTP header name"),
        ("X-Key-Id:", {}, "--header X-Key-Id has an empty value"),
        ("X-Secret:env:HS", {"HS": f"{SECRET}\r\nX-Evil: 1"}, "not allowed in a header"),
        ("X-Secret:env:UNSET_ONE", {}, "environment variable 'UNSET_ONE'"),
        ("X-Secret:naïve", {}, "--header X-Secret value contains a character not allowed"),
    ],
)
def test_bad_header(text: str, environ: dict[str, str], expected: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_header(text, environ=environ)
    message = str(info.value)
    assert expected in message and "\n" not in message and SECRET not in message


# --- properties ---------------------------------------------------------------------------------

plain = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30
).filter(lambda s: not s.startswith(("env:", "@")))


@given(user=plain.filter(lambda u: ":" not in u), password=plain | st.just(""))
def test_basic_spec_round_trips(user: str, password: str) -> None:
    assert basic_credentials(parse_auth_spec(f"basic:{user}:{password}")) == f"{user}:{password}"


@given(token=plain)
def test_bearer_spec_round_trips(token: str) -> None:
    assert parse_auth_spec(f"bearer:{token}").headers() == {"Authorization": f"Bearer {token}"}


@given(text=st.text(min_size=7))
def test_no_spec_error_ever_contains_the_secret(text: str) -> None:
    secret = f"§{text}"  # the marker keeps the secret from coinciding with the help text
    specs = [secret, f"bearr:{secret}", f"basic:{secret}", f"jwt:{secret}", f"jwt:rs256:{secret}"]
    specs += [f"jwt:hs999:{secret}", f"bearer:{secret}\n", f"none:{secret}"]
    for spec in specs:
        try:
            parse_auth_spec(spec)
        except AuthSpecError as exc:
            assert secret not in str(exc)
