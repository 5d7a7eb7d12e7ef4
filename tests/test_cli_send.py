"""``r360-webhooks send`` end to end: real HTTP(S) on loopback, trustme certificates."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from werkzeug.wrappers import Request, Response

from contracts import schemas
from contracts.cli import main
from tests.servers import serve_https, serve_wsgi

TOKEN = "s3cr3t-token-for-tests-only"


class Recorder:
    """A consumer that records every request; ``first_429`` rejects each body's first attempt."""

    def __init__(self, *, first_429: bool = False, status: int = 202, echo: bool = False) -> None:
        self.first_429, self.status, self.echo = first_429, status, echo
        self.requests: list[tuple[float, dict[str, str], Any]] = []
        self.lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        body = json.loads(request.get_data())
        with self.lock:
            self.requests.append((time.monotonic(), dict(request.headers), body))
            seen = sum(1 for _, _, b in self.requests if b == body)
        if self.first_429 and seen == 1:
            response = Response("busy", status=429, headers={"Retry-After": "1"})
        elif self.echo:
            response = Response(
                f"you sent {request.headers.get('Authorization')}", status=self.status
            )
        else:
            response = Response(status=self.status)
        return response(environ, start_response)


def _https(app: Recorder, ca: trustme.CA) -> Any:
    return serve_https(app, ca.issue_cert("127.0.0.1", "localhost"))


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TOKEN", TOKEN)
    yield TOKEN


def test_1000_valid_bodies_with_the_right_headers_over_https(
    ca: trustme.CA, ca_pem: Path, token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = Recorder()
    log = tmp_path / "log.jsonl"
    with _https(app, ca) as server:
        started = time.monotonic()
        code = main([
            "send", f"{server.url}/hook", "--ca-bundle", str(ca_pem), "--auth", "bearer:env:TOKEN",
            "--count", "1000", "--rate", "200", "--header", "X-Key-Id:k1", "--log", str(log),
        ])  # fmt: skip
        elapsed = time.monotonic() - started
    out = capsys.readouterr()
    assert code == 0, out
    assert len(app.requests) == 1000
    for _, headers, body in app.requests:
        assert headers["Authorization"] == f"Bearer {token}"
        assert headers["X-Key-Id"] == "k1" and headers["Content-Type"] == "application/json"
        assert schemas.validate(body) == []
    assert len({json.dumps(b, sort_keys=True) for _, _, b in app.requests}) == 1000
    assert elapsed >= 999 / 200 * 0.98  # paced at 200/s, not faster
    assert "  delivered      1000" in out.out and "  dead-lettered  0" in out.out
    text = out.out + out.err + log.read_text()
    assert token not in text and "[REDACTED]" in log.read_text()
    assert len(log.read_text().splitlines()) == 1000


def test_a_429_with_retry_after_1_is_redelivered_about_a_second_later(
    ca: trustme.CA, ca_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = Recorder(first_429=True)
    with _https(app, ca) as server:
        code = main(
            [
                "send",
                f"{server.url}/hook",
                "--ca-bundle",
                str(ca_pem),
                "--count",
                "20",
                "--concurrency",
                "20",
            ]
        )
    out = capsys.readouterr().out
    assert code == 0, out
    by_body: dict[str, list[float]] = {}
    for at, _, body in app.requests:
        by_body.setdefault(json.dumps(body, sort_keys=True), []).append(at)
    assert len(by_body) == 20
    for attempts in by_body.values():
        assert len(attempts) == 2
        assert 0.9 <= attempts[1] - attempts[0] < 2.5
    assert "  retried        20" in out


def test_dead_letters_exit_1_and_say_why_without_leaking_the_secret(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = Recorder(status=500, echo=True)
    log = tmp_path / "log.jsonl"
    with serve_wsgi(app) as server:
        code = main(
            [
                "send",
                f"{server.url}/hook",
                "--auth",
                "bearer:env:TOKEN",
                "--count",
                "3",
                "--retry",
                "custom:0.01",
                "--log",
                str(log),
            ]
        )
    out = capsys.readouterr()
    assert code == 1
    assert "  dead-lettered  3  (exhausted: 3)" in out.out
    assert "first dead letter:" in out.out and "status 500" in out.out
    # The echoed reason is long; piped output still fits 100 columns.
    assert max(len(line) for line in out.out.splitlines()) <= 100, out.out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["status"] for r in records] == ["dead-lettered"] * 3
    assert all(len(r["attempts"]) == 2 for r in records)
    assert token not in out.out + out.err + log.read_text()


def test_refused_connection_and_unknown_ca_are_delivery_failures(
    ca: trustme.CA, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["send", f"http://127.0.0.1:{port}/hook", "--retry", "none"]) == 1
    assert "connect:" in capsys.readouterr().out
    with _https(Recorder(), ca) as server:  # no --ca-bundle: the private CA is unknown
        assert main(["send", f"{server.url}/hook", "--retry", "none"]) == 1
    assert "unknown CA" in capsys.readouterr().out


def test_payload_file_is_sent_as_is_and_cycled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bodies = [
        schemas.example("transaction.create"),
        schemas.example("task.completed"),
        {"event": "new", "thing": {}},
    ]
    path = tmp_path / "bodies.jsonl"
    path.write_text("\n".join(json.dumps(b) for b in bodies))
    app = Recorder()
    with serve_wsgi(app) as server:
        assert (
            main(
                [
                    "send",
                    f"{server.url}/hook",
                    "--payload",
                    str(path),
                    "--count",
                    "6",
                    "--concurrency",
                    "1",
                ]
            )
            == 0
        )
    assert [b for _, _, b in app.requests] == bodies * 2
    assert "is not a valid v1 body" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--count", "0"], "--count 0 must be at least 1"),
        (["--rate", "0"], "--rate 0 must be from 0.001 to 1e+06 per second"),
        (["--concurrency", "0"], "--concurrency 0 must be from 1 to 4096"),
        (["--auth", "bearr:xyz"], "--auth: unknown auth scheme 'bearr'"),
        (["--auth", "bearer:env:R360_UNSET_VAR"], "environment variable 'R360_UNSET_VAR'"),
        (["--retry", "forever"], "unknown retry policy 'forever'"),
        (["--payload", "/no/such.json"], "/no/such.json: no such file; check the path"),
        (["--event", "nope"], "unknown event 'nope'"),
        (["--header", "NoColon"], "--header has no ':' between name and value; use NAME:VALUE"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["send", "http://127.0.0.1:9/hook", *args]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) <= 2 and error in err[-1] and err[-1].startswith("r360-webhooks: error: ")


def test_non_json_payload_and_bad_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    assert main(["send", "http://127.0.0.1:9/hook", "--payload", str(bad)]) == 2
    assert "bad.json: not JSON" in capsys.readouterr().err
    assert main(["send", "ftp://127.0.0.1/hook"]) == 2
    assert "is not an absolute http(s) URL" in capsys.readouterr().err


def test_workers_send_the_same_bodies_as_one_process_and_one_joined_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--workers changes how a run is sent, never what: the same seed, the same 60 bodies."""
    runs = {}
    for workers in ("1", "3"):
        recorder = Recorder()
        log = tmp_path / f"log-{workers}.jsonl"
        with serve_wsgi(recorder) as server:
            code = main(["send", f"{server.url}/hook", "--count", "60", "--seed", "9",
                         "--workers", workers, "--log", str(log), "--no-progress"])  # fmt: skip
        out = capsys.readouterr().out
        assert code == 0, out
        records = [json.loads(line) for line in log.read_text().splitlines()]
        ids = sorted(r["payload"][("transaction" if "transaction" in r["payload"] else "task")]["id"]
                     for r in records)  # fmt: skip
        received = sorted(b[schemas.envelope_of(b).resource]["id"] for _, _, b in recorder.requests)
        assert len(records) == 60 == len(set(ids)) and received == ids
        assert ("3 worker processes" in out) == (workers == "3")
        runs[workers] = ids
    assert runs["1"] == runs["3"]
    assert not list(tmp_path.glob("*.part*"))  # the parts were joined and removed


@pytest.mark.parametrize(
    ("count", "rate", "cores", "expected"),
    [
        (40_000, None, 2, 2),  # issue 14's command: one process per core
        (19_999, None, 2, 1),  # too few to pay for a second start
        (20_000, None, 8, 2),  # one per 10,000 deliveries
        (1_000_000, None, 8, 8),  # at most one per core
        (40_000, 100.0, 2, 1),  # a paced run is one pacer, in one process
        (None, None, 2, 1),  # a capture sent whole: its size is unknown up front
    ],
)
def test_workers_auto_starts_a_process_where_it_pays(
    monkeypatch: pytest.MonkeyPatch,
    count: int | None,
    rate: float | None,
    cores: int,
    expected: int,
) -> None:
    import dataclasses

    from contracts.cli import _send_work

    monkeypatch.setattr(_send_work.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    fields = {f.name: None for f in dataclasses.fields(_send_work.Plan)}
    plan = _send_work.Plan(**{**fields, "count": count, "rate": rate})  # type: ignore[arg-type]
    assert _send_work.auto_workers(plan) == expected


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_evolved_log_line_says_which_changes_made_its_body_and_what_they_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    from contracts.bulk import BulkGenerator

    log = tmp_path / "log.jsonl"
    with serve_wsgi(Recorder()) as server:
        code = main(["send", f"{server.url}/hook", "--evolved", "--count", "40", "--seed", "12",
                     "--workers", workers, "--log", str(log), "--no-progress"])  # fmt: skip
    assert code == 0, capsys.readouterr().out
    made = {body.key: body for body in BulkGenerator(seed=12, evolved=True).take(40)}
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 40
    for line in lines:
        key = line["payload"][schemas.envelope_of(line["payload"]).resource]["id"]
        expected = [{"change": a.name, "added": list(a.added)} for a in made[key].applied]
        assert line["evolution"] == expected and expected  # every evolved body: one change or more
    assert any(change["added"] for line in lines for change in line["evolution"])


def test_from_capture_replays_every_recorded_body_byte_for_byte_in_order_and_says_what_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bodies that are not JSON (a BOM, bytes that are not UTF-8, an array) are traffic too."""
    import base64

    import httpx

    from mockserver.auth import BearerAuth
    from mockserver.record import Recorder as Capture
    from mockserver.record import RecorderConfig

    valid = [schemas.example_bytes("task.completed"), schemas.example_bytes("transaction.create")]
    raw = [valid[0], b"\xef\xbb\xbf" + valid[1], b'{"event": "create", "x": "\xff\xfe"}', b"[1, 2]"]
    raw += [json.dumps({**schemas.example("task.completed"), "n": n}).encode() for n in range(12)]
    capture = tmp_path / "staging.capture.jsonl"
    recorder = Capture(RecorderConfig(out=capture, auth=BearerAuth(TOKEN)))
    with serve_wsgi(recorder) as server:
        for body in raw:
            httpx.post(server.url + "/webhooks", content=body,
                       headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        httpx.post(server.url + "/webhooks", content=valid[0])  # refused: 401, no body kept
    recorder.close()
    with capture.open("a") as more:
        more.write("{oops\n")  # a broken line
    again = tmp_path / "again.jsonl"
    replayed = Capture(RecorderConfig(out=again))
    with serve_wsgi(replayed) as server:
        code = main(["send", server.url + "/webhooks", "--from-capture", str(capture),
                     "--log", str(tmp_path / "log.jsonl"), "--no-progress"])  # fmt: skip
    replayed.close()
    out = capsys.readouterr().out
    assert code == 0, out
    lines = [json.loads(line) for line in again.read_text().splitlines()]
    received = [
        base64.b64decode(line["body_b64"]) if "body_b64" in line else line["body"].encode()
        for line in lines
    ]
    assert received == raw  # each once, byte for byte, in the capture's order
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [base64.b64decode(line["body_b64"]) for line in logged if "body_b64" in line] == [
        raw[2]  # the log says what was sent even when it is not JSON
    ]
    assert (
        f"replaying {len(raw)} bodies from {capture}; skipped 2 lines: "
        "1 refused by the recorder (no body), 1 not JSON"
    ) in out
