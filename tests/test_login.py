"""The sign-in page of a ``serve`` with ``--api-token``: where it sends the browser afterwards.

``/login?next=...`` is a link anyone can send, so ``next`` must stay a path of this server (no
open redirect) and must not end the page's script (no HTML injection). Plain HTTP here; the
browser's own reading of a backslash is checked in ``tests/test_dashboard_browser.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from werkzeug.test import Client

from tests._server import running_app

TOKEN = "login-test-token-77a1"


@pytest.fixture
def client() -> Any:
    with running_app(api_token=TOKEN) as app:
        yield Client(app)


def after_sign_in(client: Client, wanted: str) -> tuple[str, str]:
    """Where the page's script sends the browser, and the page itself."""
    page = client.get("/login", query_string={"next": wanted}).get_data(as_text=True)
    found = re.search(r'location\.href = ("(?:[^"\\]|\\.)*");', page)
    assert found is not None, page
    return json.loads(found.group(1)), page


@pytest.mark.parametrize(
    "wanted",
    [
        "//evil.example/", "/\\evil.example", "/\\/evil.example", "\\\\evil.example",
        "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\x00/x",
        "https://evil.example/", "javascript:alert(1)", "evil.example", "", " /x",
        "/\x85/evil.example",
    ],
)  # fmt: skip
def test_next_is_only_ever_a_path_of_this_server(client: Client, wanted: str) -> None:
    assert after_sign_in(client, wanted)[0] == "/"


@pytest.mark.parametrize(
    "wanted", ["/", "/deliveries/abc", "/deliveries?status=delivered", "/schemas#top", "/%2F/x"]
)
def test_a_path_of_this_server_is_kept(client: Client, wanted: str) -> None:
    assert after_sign_in(client, wanted)[0] == wanted


def test_next_cannot_end_the_script_or_open_a_tag(client: Client) -> None:
    wanted = "/</script><script>alert(document.cookie)</script><!--&amp;"
    target, page = after_sign_in(client, wanted)
    assert target == wanted  # a (strange) path of this server, and only data
    assert page.count("</script>") == 1 and page.count("<script") == 1
    assert "<!--" not in page and "&amp;" not in page
    assert "\\u003c/script\\u003e\\u003cscript\\u003e" in page
