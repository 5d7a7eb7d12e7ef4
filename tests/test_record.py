"""``r360-webhooks record``: one whole line per delivery, the body as received, no credential.

Real loopback servers: the recorder alone, in front of the reference consumer (``--forward``),
under concurrent posts, with a size limit and rotation, and as a command stopped by SIGTERM.
"""

from __future__ import annotations

import base64
import json
import signal
import ssl
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import trustme

from contracts import schemas
from mockserver.auth import BearerAuth
from mockserver.consumer import ConsumerConfig
from mockserver.record import Recorder, RecorderConfig
from mockserver.serving import serve_consumer
from tests.servers import serve_wsgi

TOKEN = "record-test-token-3e5c7a9b1d"
BODY = schemas.example_bytes("transaction.create")


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_delivery_is_one_line_with_the_raw_body_header_names_and_no_credential(
    tmp_path: Path,
) -> None:
    recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl"))
    with serve_wsgi(recorder) as server:
        answer = httpx.post(
            server.url + "/webhooks", content=BODY,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}",
                     "X-Signature-Key": TOKEN, "X-Key-Id": "k1"},
        )  # fmt: skip
    recorder.close()
    [line] = lines(tmp_path / "c.jsonl")
    assert answer.status_code == 202
    assert line["format"] == "r360-capture/1" and line["event"] == "transaction.create"
    assert str(line["body"]).encode() == BODY  # byte for byte
    assert {"authorization", "x-signature-key", "x-key-id"} <= set(line["headers"])  # type: ignore[arg-type]
    assert line["auth"] == "Authorization: Bearer [REDACTED]; X-Signature-Key: [REDACTED]"
    assert TOKEN not in (tmp_path / "c.jsonl").read_text()


def test_forwarding_passes_the_consumer_s_answer_back(tmp_path: Path) -> None:
    with serve_consumer(ConsumerConfig(auth=BearerAuth(TOKEN))) as consumer:
        recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl", forward=consumer.url))
        with serve_wsgi(recorder) as server:
            good = httpx.post(server.url + "/webhooks", content=BODY,
                              headers={"Authorization": f"Bearer {TOKEN}",
                                       "Content-Type": "application/json"})  # fmt: skip
            bad = httpx.post(server.url + "/webhooks", content=BODY,
                             headers={"Content-Type": "application/json"})  # fmt: skip
        recorder.close()
        ledger = consumer.consumer.ledger()
    assert (good.status_code, bad.status_code) == (202, 401)  # the consumer's own answers
    assert "WWW-Authenticate" in bad.headers
    assert ledger["accepted"] == 1
    assert [line["answer"]["status"] for line in lines(tmp_path / "c.jsonl")] == [202, 401]  # type: ignore[index]


def test_forwarding_passes_a_gzipped_answer_back_decoded_with_one_server_and_date(
    tmp_path: Path,
) -> None:
    import gzip

    answer_body = json.dumps({"status": "accepted", "note": "zipped"}).encode()
    zipped = gzip.compress(answer_body)

    def gzipping(environ: dict[str, object], start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json"),  # type: ignore[operator]
                                  ("Content-Encoding", "gzip"),
                                  ("Content-Length", str(len(zipped)))])  # fmt: skip
        return [zipped]

    with serve_wsgi(gzipping) as consumer:  # type: ignore[arg-type]
        recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl", forward=consumer.url))
        with serve_wsgi(recorder) as server:
            answer = httpx.post(server.url + "/webhooks", content=BODY)
        recorder.close()
    assert answer.status_code == 200
    assert answer.content == answer_body  # decoded once, by the recorder's client, not twice
    assert "content-encoding" not in answer.headers
    assert answer.headers["content-length"] == str(len(answer_body))
    assert len(answer.headers.get_list("server")) == 1
    assert len(answer.headers.get_list("date")) == 1


def test_required_auth_refuses_and_records_no_body(tmp_path: Path) -> None:
    recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl", auth=BearerAuth(TOKEN)))
    with serve_wsgi(recorder) as server:
        refused = httpx.post(server.url + "/webhooks", content=BODY)
        accepted = httpx.post(server.url + "/webhooks", content=BODY,
                              headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    recorder.close()
    first, second = lines(tmp_path / "c.jsonl")
    assert (refused.status_code, accepted.status_code) == (401, 202)
    assert "body" not in first and first["refused"] == "missing or invalid credentials"
    assert "body" in second


def test_the_auth_header_of_record_auth_is_recorded_by_name_only(tmp_path: Path) -> None:
    """``--auth api-key:X-R360-Key:...``: a header no name rule knows is still the credential."""
    from mockserver.settings import delivery_settings

    auth = delivery_settings(auth="api-key:X-R360-Key:val123").auth
    recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl", auth=auth))
    with serve_wsgi(recorder) as server:
        answer = httpx.post(
            server.url + "/webhooks", content=BODY, headers={"X-R360-Key": "val123"}
        )
    recorder.close()
    [line] = lines(tmp_path / "c.jsonl")
    assert answer.status_code == 202
    assert line["auth"] == "X-R360-Key: [REDACTED]"
    assert "val123" not in (tmp_path / "c.jsonl").read_text()


def test_no_word_of_an_api_key_header_is_recorded(tmp_path: Path) -> None:
    """Only Authorization has a scheme word before its credential; an API key has none."""
    recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl"))
    with serve_wsgi(recorder) as server:
        httpx.post(server.url + "/webhooks", content=BODY,
                   headers={"Authorization": "Basic dXNlcjpwYXNz", "X-Api-Key": "letmein now"})  # fmt: skip
    recorder.close()
    [line] = lines(tmp_path / "c.jsonl")
    assert line["auth"] == "Authorization: Basic [REDACTED]; X-Api-Key: [REDACTED]"
    assert "letmein" not in (tmp_path / "c.jsonl").read_text()


def test_concurrent_posts_never_interleave_and_a_big_body_is_refused(tmp_path: Path) -> None:
    recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl", max_body=4096))
    with serve_wsgi(recorder) as server, ThreadPoolExecutor(8) as pool:
        bodies = [json.dumps({"event": "create", "transaction": {"id": str(n), "pad": "x" * 2000}})
                  for n in range(200)]  # fmt: skip
        statuses = list(pool.map(lambda b: httpx.post(server.url + "/webhooks", content=b)
                                 .status_code, bodies))  # fmt: skip
        big = httpx.post(server.url + "/webhooks", content=b"{" + b" " * 5000 + b"}")
    recorder.close()
    records = lines(tmp_path / "c.jsonl")  # every line parses: none torn or interleaved
    assert statuses == [202] * 200 and big.status_code == 413
    assert sorted(json.loads(str(r["body"]))["transaction"]["id"] for r in records[:-1]
                  if "body" in r) == sorted(str(n) for n in range(200))  # fmt: skip
    assert records[-1]["refused"] == "body larger than 4096 bytes" and "body" not in records[-1]


def test_a_body_that_is_not_utf8_is_kept_exactly(tmp_path: Path) -> None:
    recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl"))
    raw = b'{"event": "create", "x": "\xff\xfe"}'
    with serve_wsgi(recorder) as server:
        httpx.post(server.url + "/webhooks", content=raw)
    recorder.close()
    [line] = lines(tmp_path / "c.jsonl")
    assert base64.b64decode(str(line["body_b64"])) == raw and "body" not in line


def test_the_capture_rotates_by_size(tmp_path: Path) -> None:
    recorder = Recorder(RecorderConfig(out=tmp_path / "c.jsonl", rotate_bytes=1024 * 1024))
    body = json.dumps({"event": "create", "transaction": {"id": "1", "pad": "y" * 300_000}})
    with serve_wsgi(recorder) as server:
        for _ in range(8):
            httpx.post(server.url + "/webhooks", content=body)
    recorder.close()
    rotated = sorted(tmp_path.glob("c.jsonl.*"))
    assert rotated and all(
        p.stat().st_size <= 1024 * 1024 for p in [*rotated, tmp_path / "c.jsonl"]
    )
    total = sum(len(p.read_text().splitlines()) for p in [*rotated, tmp_path / "c.jsonl"])
    assert total == 8


def test_a_body_bigger_than_the_rotation_size_rolls_no_empty_file(tmp_path: Path) -> None:
    """Rotation 1 MiB, bodies of 1.5 MB: one line a file, oldest in ``.1``, none empty."""
    recorder = Recorder(
        RecorderConfig(out=tmp_path / "c.jsonl", rotate_bytes=1024 * 1024, max_body=2_000_000)
    )
    with serve_wsgi(recorder) as server:
        for number in range(3):
            body = json.dumps({"event": "create", "transaction": {"id": str(number),
                                                                  "pad": "z" * 1_500_000}})  # fmt: skip
            assert httpx.post(server.url + "/webhooks", content=body).status_code == 202
    recorder.close()
    files = [tmp_path / "c.jsonl.1", tmp_path / "c.jsonl.2", tmp_path / "c.jsonl"]
    assert sorted(tmp_path.iterdir()) == sorted(files)
    ids = [json.loads(str(line["body"]))["transaction"]["id"] for f in files for line in lines(f)]
    assert ids == ["0", "1", "2"]  # one line each, oldest first: .1, .2, then the file itself


def test_the_command_records_until_sigterm_and_says_how_many(tmp_path: Path) -> None:
    out = tmp_path / "capture.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "contracts", "record", "--port", "0", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split()[2]
        for _ in range(3):
            assert httpx.post(url, content=BODY, timeout=10).status_code == 202
    finally:
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "recorded 3 deliveries" in rest and len(lines(out)) == 3
    assert "POST /webhooks" not in err and "\x1b[" not in err  # no (coloured) access log


def test_the_command_serves_https_with_cert_and_key(
    tmp_path: Path, ca: trustme.CA, ca_pem: Path
) -> None:
    """``--cert/--key``: a client that trusts the CA delivers; one that does not is refused."""
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    out = tmp_path / "capture.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "contracts", "record", "--port", "0", "--out", str(out),
         "--cert", str(cert), "--key", str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[2]
        assert url.startswith("https://127.0.0.1:")
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.post(url, content=BODY, timeout=10)  # the system's CAs do not know ours
        trusted = ssl.create_default_context(cafile=str(ca_pem))
        assert httpx.post(url, content=BODY, verify=trusted, timeout=10).status_code == 202
    finally:
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "recorded 1 deliveries" in rest
    [line] = lines(out)
    assert str(line["body"]).encode() == BODY


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--cert", "/etc/hostname"], "--cert and --key go together"),
        (["--cert", "/etc/hostname", "--key", "/etc/hostname"], "--cert/--key: cannot load them"),
        (["--forward", "http://u:p@127.0.0.1:9/h"], "--forward carries user info"),
        (["--max-body", "10"], "--max-body 10 must be from 1024"),
    ],
)
def test_bad_options_are_one_line(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from contracts.cli import main

    assert main(["record", "--port", "0", "--out", str(tmp_path / "c.jsonl"), *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_sigterm_lets_deliveries_in_flight_finish_and_records_them(tmp_path: Path) -> None:
    """A consumer that answers in 3 s, 5 deliveries in flight, SIGTERM after 1 s: the recorder
    stops accepting, waits for the 5, passes each answer back and records each line."""
    import threading
    import time

    def slow(environ: dict[str, object], start_response: object) -> list[bytes]:
        time.sleep(3)
        start_response("202 Accepted", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"slow but fine"]

    out = tmp_path / "capture.jsonl"
    with serve_wsgi(slow) as consumer:  # type: ignore[arg-type]
        process = subprocess.Popen(
            [sys.executable, "-m", "contracts", "record", "--port", "0", "--out", str(out),
             "--forward", consumer.url + "/hook"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        answers: list[object] = []
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split()[2]

            def post() -> None:
                try:
                    answers.append(httpx.post(url, content=BODY, timeout=10).status_code)
                except httpx.HTTPError as exc:
                    answers.append(type(exc).__name__)

            senders = [threading.Thread(target=post) for _ in range(5)]
            for sender in senders:
                sender.start()
            time.sleep(1)
        finally:
            process.send_signal(signal.SIGTERM)
            rest, err = process.communicate(timeout=30)
        for sender in senders:
            sender.join(timeout=10)
    assert answers == [202] * 5
    assert process.returncode == 0, err
    assert "recorded 5 deliveries" in rest
    assert [line["answer"]["status"] for line in lines(out)] == [202] * 5  # type: ignore[index]
