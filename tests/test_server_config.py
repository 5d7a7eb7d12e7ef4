"""``serve --config FILE``: TOML subscriptions, secrets from env:/@file, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.cli import main
from mockserver.errors import ConfigError
from mockserver.server.config import load_config

TOKEN = "reference-token-1234"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "serve.toml"
    path.write_text(text)
    return path


def test_the_example_config_loads(repo_root: Path) -> None:
    config = load_config(repo_root / "examples/serve.toml", environ={"R360_TOKEN": TOKEN})

    [sub] = config.subscriptions
    assert (sub.id, sub.url, sub.events) == (
        "reference-consumer",
        "http://127.0.0.1:8000/webhooks",
        ("*",),
    )
    assert sub.auth is not None and sub.auth.headers() == {"Authorization": f"Bearer {TOKEN}"}
    assert sub.to_json()["auth"] == "bearer:[REDACTED]"
    assert (config.workers, config.queue) == (4, 1000)


def test_the_example_config_names_a_missing_variable(repo_root: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(repo_root / "examples/serve.toml", environ={})
    assert str(caught.value).endswith(
        "serve.toml: subscription 'reference-consumer', key 'auth': environment variable "
        "'R360_TOKEN' (from env:R360_TOKEN) is not set; export it or pass the value"
    )
    assert (caught.value.subscription, caught.value.key) == ("'reference-consumer'", "auth")


def test_secrets_may_come_from_files_and_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "key.txt"
    secret.write_text("from-a-file-secret\n")
    path = write(
        tmp_path,
        f"""
[[subscriptions]]
url = "http://127.0.0.1:8000/h"
auth = "basic:alice:@{secret}"
headers = {{ "X-Key-Id" = "env:KEY_ID" }}
""",
    )
    [sub] = load_config(path, environ={"KEY_ID": "key-id-value"}).subscriptions

    assert sub.id == "subscription-1"
    assert sub.headers == {"X-Key-Id": "key-id-value"}
    shown = sub.to_json()
    assert shown["auth"] == "basic:alice:[REDACTED]"
    assert shown["headers"] == {"X-Key-Id": "[REDACTED]"}  # it came from a secret store


def test_every_setting(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[server]
workers = 2
queue = 10
keep = 100

[[subscriptions]]
id = "a"
url = "https://127.0.0.1:8443/h"
events = ["transaction.create", "transaction.create"]
auth = "jwt:hs256:a-shared-secret"
jwt_claims = { iss = "record360" }
retry = "custom:0,1"
rate = 2
concurrency = 3
insecure = true
""",
    )
    config = load_config(path)
    [sub] = config.subscriptions
    assert (config.workers, config.queue, config.keep) == (2, 10, 100)
    assert sub.events == ("transaction.create",)
    assert (sub.retry.name, sub.rate, sub.insecure, sub.ca_bundle) == (
        "custom:0,1",
        2.0,
        True,
        None,
    )
    assert sub.matches("transaction.create") and not sub.matches("task.completed")
    assert sub.concurrency == 3 and sub.to_json()["concurrency"] == 3


BAD_CONFIGS = [
    (
        "[[subscriptions]]\nid = 'a'\nurl = 'http://h/'\ncolor = 'red'",
        "subscription 'a', key 'color': unknown key",
    ),
    ("[[subscriptions]]\nevents = '*'", "subscription #1, key 'url': is required"),
    (
        "[[subscriptions]]\nurl = 'mailto:x@y'",
        "subscription #1, key 'url': 'mailto:x@y' is not an absolute http(s) URL",
    ),
    (
        "[[subscriptions]]\nurl = 'http://h/'\nevents = ['task.done']",
        "key 'events': unknown event 'task.done'",
    ),
    ("[[subscriptions]]\nurl = 'http://h/'\nevents = 3", "key 'events': must be"),
    (
        "[[subscriptions]]\nurl = 'http://h/'\nretry = 'custom:x'",
        "key 'retry': retry policy 'custom:x'",
    ),
    (
        "[[subscriptions]]\nurl = 'http://h/'\nrate = -1",
        "key 'rate': must be deliveries per second",
    ),
    ("[[subscriptions]]\nurl = 'http://h/'\nrate = true", "key 'rate'"),
    ("[[subscriptions]]\nurl = 'http://h/'\nconcurrency = 1.5", "key 'concurrency': must be"),
    ("[[subscriptions]]\nurl = 'http://h/'\nconcurrency = 257", "key 'concurrency': must be"),
    (
        "[[subscriptions]]\nurl = 'http://h/'\nauth = 'bearer'",
        "key 'auth': bearer needs more parts",
    ),
    (
        "[[subscriptions]]\nurl = 'http://h/'\njwt_claims = { iss = 'x' }",
        "key 'jwt_claims': needs auth",
    ),
    (
        "[[subscriptions]]\nurl = 'http://h/'\nheaders = { 'Bad Name' = 'v' }",
        "key 'headers': header name 'Bad Name'",
    ),
    (
        "[[subscriptions]]\nurl = 'http://h/'\nca_bundle = 'ca.pem'\ninsecure = true",
        "key 'insecure': contradicts ca_bundle",
    ),
    (
        "[[subscriptions]]\nid = 'a'\nurl = 'http://h/'\n[[subscriptions]]\nid = 'a'\nurl = 'http://h/'",
        "subscription 'a', key 'id': is used by an earlier",
    ),
    (
        "[server]\nworkers = 0",
        "key 'server.workers': server workers 0 must be an integer from 1 to 256",
    ),
    ("[server]\nthreads = 2", "key 'server.threads': unknown key"),
    ("[[subscription]]\nurl = 'http://h/'", "key 'subscription': unknown top-level key"),
    ("subscriptions = 'x'", "key 'subscriptions': must be an array of tables"),
    ("[[subscriptions]\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_a_bad_config_is_one_line_naming_file_subscription_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


def test_a_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.toml: cannot read the config \(No such file"):
        load_config(tmp_path / "missing.toml")


def test_the_cli_turns_a_bad_config_into_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "[[subscriptions]]\nurl = 'http://h/'\nretry = 'often'")

    assert main(["serve", "--config", str(path), "--port", "0"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"r360-webhooks: error: {path}: subscription #1, key 'retry': ")
    assert err.count("\n") == 1
