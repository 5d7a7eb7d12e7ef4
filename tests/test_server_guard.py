"""Who may use ``serve``'s control API, and where its subscriptions may point (issue 12).

In-process (``werkzeug.test.Client``; deliveries go to a sink, never the network), plus one
``serve`` process to prove the command line's options reach the server.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.test import Client

from mockserver.errors import ConfigError
from mockserver.server.config import load_config
from tests._serve_process import start_cli, stop_cli
from tests._server import running_app

TOKEN = "guard-test-token-5d1e9c"
BEARER = {"Authorization": f"Bearer {TOKEN}"}

#: Each spelling of the metadata service (or another link-local address) a URL may use.
LINK_LOCAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0XA9FEA9FE:80/",
    "http://169.254.43518/",
    "http://169.16689662/",
    "http://169.254.169.254./",
    "http://[::ffff:169.254.169.254]/",
    "http://[0:0:0:0:0:ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fd00:ec2::254]/",
    "http://169.254.1.1:8080/hook",
    "http://instance-data/latest/",
    "http://INSTANCE-DATA./latest/",
    "http://metadata.google.internal/computeMetadata/v1/",
]


@pytest.mark.parametrize("url", LINK_LOCAL_URLS)
def test_a_subscription_to_a_link_local_address_is_refused_however_spelled(url: str) -> None:
    with running_app() as app:
        client = Client(app)
        response = client.post("/v1/subscriptions", json={"url": url})
        assert response.status_code == 400, response.json
        error = response.json["error"]
        assert "\n" not in error and error.startswith("key 'url': ")
        assert error.endswith(
            ("a link-local address; start serve with --allow-link-local to allow it",
             "a cloud metadata service; start serve with --allow-link-local to allow it")
        )  # fmt: skip
        assert client.get("/v1/subscriptions").json["subscriptions"] == []


@pytest.mark.parametrize(
    "url",
    ["http://2130706433:9/hook", "http://0x7f000001:9/", "http://127.1:9/",
     "http://[::ffff:127.0.0.1]:9/", "http://[::1]:9/", "http://localhost:9/"],
)  # fmt: skip
def test_loopback_spellings_are_still_accepted(url: str) -> None:
    with running_app() as app:
        response = Client(app).post("/v1/subscriptions", json={"url": url})
        assert response.status_code == 201, response.json


@pytest.mark.parametrize("url", ["http://2852039166/", "http://[::ffff:169.254.169.254]/"])
def test_allow_link_local_allows_them(url: str) -> None:
    with running_app(allow_link_local=True) as app:
        response = Client(app).post("/v1/subscriptions", json={"url": url})
        assert response.status_code == 201, response.json


def test_a_config_file_pointing_at_the_metadata_service_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text('[[subscriptions]]\nid = "x"\nurl = "http://0xa9fea9fe/"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value) == (
        f"{config}: subscription 'x', key 'url': 0xa9fea9fe is 169.254.169.254, a cloud "
        "metadata service; start serve with --allow-link-local to allow it"
    )
    assert load_config(config, allow_link_local=True).subscriptions[0].id == "x"


# -- Host and Origin -------------------------------------------------------------------------


def test_a_foreign_host_is_refused_and_an_allowed_host_accepted() -> None:
    with running_app(allowed_hosts=("mock.internal",)) as app:
        client = Client(app)
        foreign = client.get("/healthz", headers={"Host": "evil.example:8360"})
        assert foreign.status_code == 403
        assert foreign.json["error"] == (
            "Host 'evil.example:8360' does not name this server; if it should, start serve with "
            "--allowed-host evil.example"
        )
        assert client.get("/healthz", headers={"Host": "mock.internal:8360"}).status_code == 200
        assert client.get("/healthz", headers={"Host": "MOCK.internal"}).status_code == 200


def test_a_json_write_from_another_origin_is_refused_outside_a_browser_too() -> None:
    """``Content-Type: application/json`` needs a preflight in a browser, but a request with
    an ``Origin`` of another site is refused whoever sends it."""
    with running_app() as app:
        client = Client(app)
        body = {"id": "evil", "url": "http://127.0.0.1:9/steal"}
        refused = client.post(
            "/v1/subscriptions", json=body, headers={"Origin": "http://evil.example"}
        )
        assert refused.status_code == 403
        assert refused.json["error"] == (
            "requests from another origin (http://evil.example) are refused"
        )
        assert client.get("/v1/subscriptions").json["subscriptions"] == []
        same = client.post("/v1/subscriptions", json=body, headers={"Origin": "http://localhost"})
        assert same.status_code == 201


# -- the API token ---------------------------------------------------------------------------

#: Every endpoint, one call each: all need the token (``/healthz`` too: it shows counts).
CALLS = [
    ("GET", "/healthz", None),
    ("GET", "/openapi.json", None),
    ("GET", "/v1/deliveries", None),
    ("GET", "/v1/deliveries/d1", None),
    ("POST", "/v1/deliveries/d1/redeliver", {}),
    ("POST", "/v1/events", {"event": "task.completed"}),
    ("GET", "/v1/subscriptions", None),
    ("POST", "/v1/subscriptions", {"url": "http://127.0.0.1:9/"}),
    ("GET", "/v1/subscriptions/s1", None),
    ("DELETE", "/v1/subscriptions/s1", None),
    ("GET", "/v1/no-such-endpoint", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CALLS)
def test_every_api_call_needs_the_token(method: str, path: str, body: Any) -> None:
    with running_app(api_token=TOKEN) as app:
        client = Client(app)
        response = client.open(path, method=method, json=body)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="r360"'
        assert response.json["error"].startswith("this server needs its API token")
        wrong = client.open(path, method=method, json=body, headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401
        assert client.get("/v1/subscriptions", headers=BEARER).json["subscriptions"] == []
        right = client.open(path, method=method, json=body, headers=BEARER)
        assert right.status_code != 401


def test_pages_send_a_browser_to_sign_in_and_the_sign_in_page_is_open() -> None:
    with running_app(api_token=TOKEN) as app:
        client = Client(app)
        page = client.get("/deliveries?status=delivered")
        assert page.status_code == 303
        assert page.headers["Location"] == "/login?next=/deliveries%3Fstatus%3Ddelivered"
        assert client.get("/login").status_code == 200


# -- the command line's options reach the server ---------------------------------------------


def test_serve_options_token_allowed_host_and_link_local() -> None:
    process, lines = start_cli(
        "serve", "--port", "0", "--api-token", "env:R360_TEST_API_TOKEN",
        "--allowed-host", "mock.internal", "--allow-link-local",
        env={"R360_TEST_API_TOKEN": TOKEN},
    )  # fmt: skip
    try:
        first = lines.next()
        url = first.split(" on ", 1)[1].split()[0]
        with httpx.Client(base_url=url, timeout=5) as api:
            assert api.get("/healthz").status_code == 401
            assert api.get("/healthz", headers=BEARER).status_code == 200
            named = {**BEARER, "Host": "mock.internal"}
            assert api.get("/healthz", headers=named).status_code == 200
            foreign = {**BEARER, "Host": "evil.example"}
            assert api.get("/healthz", headers=foreign).status_code == 403
            link_local = {"url": "http://2852039166/", "events": ["task.completed"]}
            created = api.post("/v1/subscriptions", json=link_local, headers=BEARER)
            assert created.status_code == 201, created.text  # allowed; nothing is triggered
    finally:
        out, err = stop_cli(process, lines, signal.SIGTERM)
    assert TOKEN not in out + err


@pytest.mark.parametrize(
    "path", ["/no/such/file.pem", "/etc/hostname", "/etc", "/proc/self/environ"]
)
def test_a_ca_bundle_through_the_api_does_not_tell_which_server_files_exist(path: str) -> None:
    with running_app() as app:
        response = Client(app).post(
            "/v1/subscriptions", json={"url": "https://127.0.0.1:9/", "ca_bundle": path}
        )
    assert response.status_code == 400
    assert response.json["error"] == (
        f"key 'ca_bundle': CA bundle {path}: not a readable PEM file of CA certificates on the "
        "server; check the path"
    )
