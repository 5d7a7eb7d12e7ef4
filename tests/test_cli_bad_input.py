"""Bad input is one line naming the problem and the fix, exit code 2, no traceback, and found
before any work starts: every case an attacker or a careless user tried (issue 12)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.cli import main
from mockserver.errors import ConfigError
from mockserver.server import create_app
from mockserver.server.config import ServerConfig, load_config

TARGET = "http://127.0.0.1:9/hook"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    started = time.monotonic()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("r360-webhooks: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert time.monotonic() - started < 5  # refused up front, not after the work
    return err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["verify", "http:///x"], "URL 'http:///x' is not an absolute http(s) URL"),
        (["verify", "http://[::1"], "URL 'http://[::1' is not an absolute http(s) URL"),
        (["verify", TARGET, "--ca-bundle", "/etc/hostname"], "--ca-bundle: CA bundle"),
        (["verify", TARGET, "--ca-bundle", "/tmp"], "cannot load CA certificates"),
        (["verify", TARGET, "--max-time", "0"], "--max-time '0' must be seconds from 1 to"),
        (["verify", TARGET, "--max-time", "nan"], "--max-time 'nan' must be seconds"),
        (["verify", TARGET, "--burst", "1000000000"], "--burst 1000000000 must be from 1 to"),
        (["verify", TARGET, "--ledger", "ftp://x/l"], "--ledger 'ftp://x/l' is not an absolute"),
        (["send", TARGET, "--rate", "1e-300"], "--rate 1e-300 must be from 0.001 to"),
        (["send", TARGET, "--retry", "custom:1e308"], "is not a delay in seconds from 0 to 604800"),
        (["send", TARGET, "--concurrency", "100000000"], "--concurrency 100000000 must be from 1"),
        (["send", TARGET, "--read-timeout", "1e9"], "--read-timeout 1000000000.0 must be"),
        (["send", "ftp://127.0.0.1/h"], "URL 'ftp://127.0.0.1/h' is not an absolute http(s) URL"),
        (["send", TARGET, "--header", "X-Key"], "--header has no ':' between name and value"),
        (["load", TARGET, "--rate", "1e-300", "--duration", "1"], "--rate 1e-300 must be"),
        (["load", TARGET, "--rate", "5", "--duration", "1e12"], "--duration 1e+12 must be"),
        (["serve", "--config", "/bin/ls"], "/bin/ls: not UTF-8 text; pass a TOML file"),
        (["serve", "--host", "999.1.1.1", "--port", "0"], "cannot listen on 999.1.1.1:0"),
        (["consumer", "--port", "99999"], "--port 99999 must be from 0 to 65535"),
    ],
)
def test_each_bad_input_is_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert says in one_line(capsys, argv)


def test_a_secret_written_without_a_colon_is_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line(capsys, ["send", TARGET, "--header", "s3cr3t-value-XYZ"])
    assert "s3cr3t-value-XYZ" not in err


def test_a_url_with_a_password_is_never_echoed_in_its_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = one_line(capsys, ["verify", "ftp://user:pw-SECRET-42@host/hook"])
    assert "pw-SECRET-42" not in err and "ftp://host/hook" in err


def test_a_report_into_a_missing_folder_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = one_line(capsys, ["verify", TARGET, "--report-json", "/no/such/folder/r.json"])
    assert "folder '/no/such/folder' does not exist" in err


def test_a_report_under_a_file_says_it_is_not_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Named as written, not as resolved (``/bin/ls`` used to be reported as a missing
    ``/usr/bin/ls`` folder)."""
    (tmp_path / "real").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    err = one_line(capsys, ["verify", TARGET, "--report-json", f"{tmp_path}/link/r.json"])
    assert err == (
        f"r360-webhooks: error: --report-json '{tmp_path}/link/r.json': '{tmp_path}/link' is "
        "not a folder; name a file in a folder\n"
    )


@pytest.mark.parametrize("command", ["serve", "consumer"])
def test_a_busy_port_is_one_line(
    command: str, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line(capsys, [command, "--port", str(busy_port)])
    assert f"cannot listen on 127.0.0.1:{busy_port}" in err and "pick another --port" in err


def test_absurd_server_numbers_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "serve.toml"
    config.write_text("[server]\nworkers = 100000000000000000\n")
    err = one_line(capsys, ["serve", "--config", str(config)])
    assert "server.workers" in err and "must be an integer from 1 to 256" in err


def test_a_state_line_nested_thousands_deep_is_skipped_not_fatal(tmp_path: Path) -> None:
    good = {
        "id": "0" * 32, "subscription": "s", "event": "task.completed", "payload": {},
        "url": "http://127.0.0.1:9/", "status": "delivered", "created_at": 1.0,
        "updated_at": 2.0, "seq": 1,
    }  # fmt: skip
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deliveries.jsonl").write_text(f"{deep}\n{json.dumps(good)}\n")
    app = create_app(ServerConfig(state_dir=tmp_path))
    try:
        assert app.store.get("0" * 32) is not None
    finally:
        app.close(timeout=5)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("", "--api-token is empty; pass a token, env:NAME or @file"),
        ("env:R360_TEST_EMPTY_TOKEN", "--api-token is empty; pass a token, env:NAME or @file"),
        (
            "env:R360_TEST_UNSET_TOKEN",
            "--api-token: environment variable 'R360_TEST_UNSET_TOKEN' (from "
            "env:R360_TEST_UNSET_TOKEN) is not set",
        ),
        ("sec ret-token", "--api-token contains a character not allowed in a header"),
        ("secret\x01token", "--api-token contains a character not allowed in a header"),
        ("secrét-token", "--api-token contains a character not allowed in a header"),
    ],
)
def test_an_api_token_that_would_not_guard_is_refused_before_listening(
    token: str,
    says: str,
    busy_port: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checked first: the busy port would be the error otherwise (and ``''`` used to switch
    the token off, serving the API to anyone)."""
    monkeypatch.setenv("R360_TEST_EMPTY_TOKEN", "")
    monkeypatch.delenv("R360_TEST_UNSET_TOKEN", raising=False)
    err = one_line(capsys, ["serve", "--api-token", token, "--port", str(busy_port)])
    assert says in err
    assert "sec ret" not in err and "secret" not in err and "secrét" not in err


def test_an_empty_api_token_in_the_config_or_the_library_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("R360_TEST_EMPTY_TOKEN", "")
    config = tmp_path / "serve.toml"
    config.write_text('[server]\napi_token = "env:R360_TEST_EMPTY_TOKEN"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value) == (
        f"{config}: key 'server.api_token': it is empty; pass a token, env:NAME or @file"
    )
    with pytest.raises(ConfigError, match="server api_token is empty"):
        ServerConfig(api_token="")


def test_a_header_from_an_unset_variable_names_the_option_and_the_fix(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("R360_TEST_UNSET_VAR", raising=False)
    err = one_line(capsys, ["send", TARGET, "--header", "X-Key: env:R360_TEST_UNSET_VAR"])
    assert err == (
        "r360-webhooks: error: --header X-Key: environment variable 'R360_TEST_UNSET_VAR' (from "
        "env:R360_TEST_UNSET_VAR) is not set; export it or pass the value\n"
    )
