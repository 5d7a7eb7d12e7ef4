"""mockserver.delivery.headers: the one assembly of a request's headers, and the one merge."""

from __future__ import annotations

import pytest

from mockserver.delivery.headers import RequestHeaders, default_headers, merge_headers
from mockserver.redaction import PLACEHOLDER, Redactor


class Minting:
    """A credential source that makes a new token per request, as JWT auth does."""

    def __init__(self) -> None:
        self.count = 0

    def headers(self) -> dict[str, str]:
        self.count += 1
        return {"X-Signed": f"Token minted-{self.count:04d}"}


def test_an_override_replaces_whatever_its_spelling_and_goes_last() -> None:
    merged = merge_headers(
        {"Host": "h", "Accept": "*/*", "Connection": "keep-alive"},
        {"accept": "application/json"},
        {"Connection": "close"},
    )
    assert list(merged.items()) == [
        ("Host", "h"),
        ("accept", "application/json"),
        ("Connection", "close"),
    ]


def test_request_headers_are_ours_then_configured_then_fresh_credentials() -> None:
    auth = Minting()
    make = RequestHeaders({"content-type": "text/plain"}, auth=auth, redactor=Redactor())
    first, second = make(), make()
    assert first["content-type"] == "text/plain" and "Content-Type" not in first
    assert first["User-Agent"] == default_headers()["User-Agent"]
    assert (first["X-Signed"], second["X-Signed"]) == ("Token minted-0001", "Token minted-0002")
    first["X-Extra"] = "mine"
    assert "X-Extra" not in make()  # each call is a new dict


def test_every_minted_credential_is_known_to_the_redactor_before_it_is_sent() -> None:
    redactor = Redactor()
    headers = RequestHeaders({}, auth=Minting(), redactor=redactor)()
    assert redactor.headers(headers)["X-Signed"] == PLACEHOLDER
    assert redactor.text("echo: minted-0001") == f"echo: {PLACEHOLDER}"


def test_a_failing_credential_source_passes_its_error_through() -> None:
    class Broken:
        def headers(self) -> dict[str, str]:
            raise RuntimeError("no key")

    with pytest.raises(RuntimeError, match="no key"):
        RequestHeaders({}, auth=Broken(), redactor=Redactor())()
