"""A credential in a webhook URL's query (``?token=...``) is a secret like any other (issue 12):
shown as ``[REDACTED]`` by the control API, the recorded deliveries and the summaries, and
still sent to the consumer as given."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.test import Client

from contracts.cli import main
from mockserver.urls import secret_query_values, shown_url
from tests._server import Sink, running_app, wait_for_status

SECRET = "qs-secret-token-8d2f4a"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"http://h/x?token={SECRET}&x=1", "http://h/x?token=[REDACTED]&x=1"),
        (f"http://h/?api_key={SECRET}", "http://h/?api_key=[REDACTED]"),
        (f"http://h/?X-Amz-Signature={SECRET}&X-Amz-Date=1", "http://h/?X-Amz-Signature=[REDACTED]&X-Amz-Date=1"),
        (f"http://h/?sig={SECRET}#top", "http://h/?sig=[REDACTED]#top"),
        (f"http://h/?password={SECRET};secret={SECRET}x", "http://h/?password=[REDACTED];secret=[REDACTED]"),
        (f"http://u:{SECRET}@h/?auth={SECRET}", "http://h/?auth=[REDACTED]"),
        ("http://h/?page=2&event=task", "http://h/?page=2&event=task"),
        ("http://h/token=not-a-query", "http://h/token=not-a-query"),
    ],
)  # fmt: skip
def test_secret_named_query_values_are_not_shown(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_percent_encoded_values_are_known_both_ways() -> None:
    assert secret_query_values("http://h/?access_token=a%2Bb%2Fc&q=1") == ["a%2Bb%2Fc", "a+b/c"]


def test_the_api_and_the_deliveries_show_the_url_redacted() -> None:
    sink = Sink()
    url = f"http://127.0.0.1:9/hook?token={SECRET}&tenant=acme"
    with running_app(sink=sink) as app:
        client = Client(app)
        created = client.post("/v1/subscriptions", json={"id": "q", "url": url})
        assert created.status_code == 201
        assert created.json["url"] == "http://127.0.0.1:9/hook?token=[REDACTED]&tenant=acme"
        assert SECRET not in client.get("/v1/subscriptions").get_data(as_text=True)
        accepted = client.post("/v1/events", json={"event": "task.completed"}).json
        delivery = wait_for_status(client, accepted["deliveries"][0]["id"], "delivered")
        assert delivery["url"] == "http://127.0.0.1:9/hook?token=[REDACTED]&tenant=acme"
        assert SECRET not in client.get("/v1/deliveries").get_data(as_text=True)
        assert SECRET not in client.get(f"/deliveries/{delivery['id']}").get_data(as_text=True)
    assert str(sink.requests[0].url) == url  # the consumer gets its token


def test_the_send_summary_shows_the_url_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:9/hook?token={SECRET}"
    main(["send", url, "--retry", "none", "--event", "task.completed"])
    out, err = capsys.readouterr()
    assert "to http://127.0.0.1:9/hook?token=[REDACTED] in " in out
    assert SECRET not in out + err


def test_a_sender_given_a_token_in_its_url_redacts_it_too() -> None:
    """The library's Sender and the settings factory take one path from a URL to the redactor."""
    from mockserver.delivery import Sender
    from mockserver.redaction import Redactor

    redactor = Redactor()
    with Sender("http://127.0.0.1:9/hook?token=library-query-secret-1", redactor=redactor):
        pass
    assert redactor.text("seen library-query-secret-1") == "seen [REDACTED]"


def test_verify_shows_the_target_without_its_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.servers import free_port

    report = tmp_path / "report.json"
    url = f"http://127.0.0.1:{free_port()}/hook?token=verify-query-secret-2"
    assert main(["verify", url, "--max-time", "5", "--report-json", str(report)]) == 1
    out = capsys.readouterr()
    assert "verify-query-secret-2" not in out.out + out.err + report.read_text()
    assert "?token=[REDACTED]" in report.read_text()
