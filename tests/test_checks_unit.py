"""Verifier pieces on their own: registry, curl line, in-process ASGI, TLS gate, skips."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from contracts.errors import UsageError
from contracts.verifier import REGISTRY, VerifyOptions
from contracts.verifier.curl import curl_line
from contracts.verifier.registry import Registry
from contracts.verifier.report import verify
from contracts.verifier.target import Target
from mockserver.auth_spec import parse_auth_spec
from mockserver.consumer import ConsumerConfig
from mockserver.delivery.tls import InsecureTLSWarning
from mockserver.redaction import Redactor
from mockserver.serving import serve_consumer

FAST = VerifyOptions(examples=4, evolution_examples=1, unknown_examples=2, shrink_budget=5,
                     burst_count=10, burst_concurrency=4, seed=9)  # fmt: skip


def test_registry_refuses_duplicates_and_unknown_names() -> None:
    registry = Registry()

    @registry.register("x")
    def first(ctx):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    with pytest.raises(
        ValueError, match=r"check 'x' is already registered by .*first; rename .*second"
    ):

        @registry.register("x")
        def second(ctx):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    with pytest.raises(UsageError, match=r"unknown check\(s\) 'nope'; known: tls, auth-required"):
        REGISTRY.select(["nope"])
    assert REGISTRY.select(["latency", "tls"]) == ["tls", "latency"]  # registry order


def test_curl_line_is_runnable_and_redacted() -> None:
    redactor = Redactor(["tok-123456"], sensitive_headers=["Authorization"])
    body = json.dumps({"event": "create", "note": 'it\'s "quoted" tok-123456'}).encode()
    curl = curl_line(
        "https://h.example/hook",
        redactor.headers(
            {"Authorization": "Bearer tok-123456", "X-Key-Id": "k1", "Content-Length": "9"}
        ),
        body,
        redactor=redactor,
        ca_bundle="ca.pem",
    )
    argv = shlex.split(curl.command)
    assert argv[:5] == ["curl", "-sS", "-X", "POST", "https://h.example/hook"]
    assert argv[7:9] == ["-H", "Authorization: [REDACTED]"] and "X-Key-Id: k1" in argv
    assert "Content-Length: 9" not in argv and "tok-123456" not in curl.command
    assert json.loads(argv[-1])["note"] == 'it\'s "quoted" [REDACTED]'
    assert curl.warnings == (
        "Authorization is redacted: put the real credential back before running",
    )


def test_asgi_app_in_process() -> None:
    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        assert scope["type"] == "http"
        message = await receive()
        status = 202 if json.loads(message["body"]).get("event") else 400
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    report = verify(
        Target.from_app(app), checks=["accepts-valid", "ignores-unknown-events"], options=FAST
    )
    assert [f.status for f in report.findings] == ["passed", "passed"]


def test_insecure_still_runs_every_check_after_a_failed_tls() -> None:
    with serve_consumer(ConsumerConfig(), tls=True) as running:  # its CA is not trusted here:
        # the library call is the entry point, so it says once that nothing is verified.
        with pytest.warns(InsecureTLSWarning, match="certificates are not verified") as said:
            report = verify(
                Target.from_url(running.url, insecure=True),
                checks=["tls", "accepts-valid"],
                options=FAST,
            )
        assert len(said) == 1
        blocked = verify(
            Target.from_url(running.url), checks=["tls", "accepts-valid"], options=FAST
        )
    assert [f.status for f in report.findings] == ["failed", "passed"]
    assert "unknown CA" in report.finding("tls").message
    # The premise (a connection) never held: not "skipped" (that means not asked), inconclusive.
    assert [f.status for f in blocked.findings] == ["failed", "inconclusive"]
    assert "tls failed" in blocked.finding("accepts-valid").message
    assert blocked.finding("accepts-valid").message.startswith("not run: tls failed")


def test_idempotency_is_inconclusive_when_no_body_is_accepted() -> None:
    def refuse(environ, start_response):  # type: ignore[no-untyped-def]
        Request(environ).get_data()
        return Response("no", status=400)(environ, start_response)

    options = VerifyOptions(**{**FAST.__dict__, "ledger": lambda event, rid: 0})
    report = verify(
        Target.from_app(refuse), checks=["accepts-valid", "idempotency"], options=options
    )
    assert report.finding("accepts-valid").status == "failed"
    finding = report.finding("idempotency")
    # The premise (an accepted body) never held: inconclusive, not skipped (which means "not
    # asked") and never "not processed".
    assert finding.status == "inconclusive" and "see accepts-valid" in finding.message


def test_a_ledger_callable_judges_duplicates() -> None:
    seen: dict[str, int] = {}

    def counting(environ, start_response):  # type: ignore[no-untyped-def]
        body = json.loads(Request(environ).get_data())
        resource = body.get("transaction") or body.get("task") or {}
        seen[resource.get("id")] = seen.get(resource.get("id"), 0) + 1  # no dedupe
        return Response(status=200)(environ, start_response)

    options = VerifyOptions(**{**FAST.__dict__, "ledger": lambda event, rid: seen.get(rid, 0)})
    finding = verify(Target.from_app(counting), checks=["idempotency"], options=options).finding(
        "idempotency"
    )
    assert finding.status == "failed" and "processed the same delivery 2 times" in finding.message


def test_auth_forgeries_are_shown_but_the_secret_is_not() -> None:
    secret = "unit-secret-0123456789-abcdefghij-xyz"
    auth = parse_auth_spec(f"jwt:hs256:{secret}")

    def accept_all(environ, start_response):  # type: ignore[no-untyped-def]
        Request(environ).get_data()
        return Response(status=200)(environ, start_response)

    report = verify(
        Target.from_app(accept_all),
        auth=auth,
        checks=["auth-required", "auth-rejects-invalid"],
        options=FAST,
    )
    assert [f.status for f in report.findings] == ["failed", "failed"]
    text = json.dumps(report.to_json())
    assert secret not in text
    assert "alg-none" in report.finding("auth-rejects-invalid").message


def test_a_captured_body_the_consumer_rejects_fails_accepts_valid_and_says_where(
    tmp_path: Path,
) -> None:
    """--corpus: real traffic carries what generation never does (here a new top-level field)."""
    from contracts import schemas
    from contracts.verifier.corpus import read_corpus

    real = schemas.example("transaction.create")
    real["transaction"]["inspection_score"] = 97  # Record360 added it; nobody generated it
    capture = tmp_path / "capture.jsonl"
    capture.write_text(
        json.dumps(schemas.example("task.completed")) + "\n" + json.dumps(real) + "\n"
    )

    def strict_app(environ, start_response):  # type: ignore[no-untyped-def]
        body = json.loads(Request(environ).get_data())
        status = 422 if "inspection_score" in body.get("transaction", {}) else 202
        return Response(status=status)(environ, start_response)

    options = VerifyOptions(**{**FAST.__dict__, "corpus": read_corpus([str(capture)])})
    finding = verify(
        Target.from_app(strict_app), checks=["accepts-valid"], options=options
    ).finding("accepts-valid")
    assert finding.status == "failed", finding.message
    assert f"rejected a body Record360 sent ({capture}:2, transaction.create): status 422" in (
        finding.message
    )
