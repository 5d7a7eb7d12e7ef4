"""The drift loop end to end, as a team would run it in staging (issue 15's "done when").

``record --forward`` sits in front of the reference consumer; ``send --evolved`` delivers through
it; ``drift`` on the capture names exactly the paths the applied evolutions added (the oracle is
the sender's log, which says what each change added, not drift's rule) and nothing else; the patch written by ``--apply`` takes
every captured body with nothing left undocumented; ``diff`` calls the patch compatible; and the
capture closes the loop: ``send --from-capture`` replays it byte for byte, and ``verify
--corpus`` makes its bodies test cases of the consumer.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.cli import main
from contracts.evolution import catalogue
from contracts.verdicts import normalise
from mockserver.auth import BearerAuth
from mockserver.consumer import ConsumerConfig
from mockserver.record import Recorder, RecorderConfig
from mockserver.serving import RunningConsumer, serve_consumer
from tests.servers import serve_wsgi

pytestmark = pytest.mark.slow

TOKEN = "drift-e2e-token-6b8d0f2a4c"


@pytest.fixture(scope="module")
def consumer() -> Iterator[RunningConsumer]:
    with serve_consumer(ConsumerConfig(auth=BearerAuth(TOKEN))) as running:
        yield running


@pytest.fixture(scope="module")
def captured(
    consumer: RunningConsumer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict[str, Any]]]:
    """The capture of 80 evolved deliveries sent through ``record --forward``, and the sender's
    log of them (each line with the evolutions applied to its body)."""
    folder = tmp_path_factory.mktemp("drift")
    capture, log = folder / "capture.jsonl", folder / "sent.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "contracts", "record", "--port", "0", "--out", str(capture),
         "--forward", consumer.url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[2]
        code = main(["send", url, "--evolved", "--count", "80", "--seed", "31", "--concurrency",
                     "4", "--auth", f"bearer:{TOKEN}", "--log", str(log), "--no-progress"])  # fmt: skip
        assert code == 0
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    return capture, sent


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def test_drift_names_exactly_the_paths_the_evolutions_added(
    captured: tuple[Path, list[dict[str, Any]]],
    consumer: RunningConsumer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capture, sent = captured
    assert len(capture.read_text().splitlines()) == 80
    assert consumer.consumer.ledger()["accepted"] == 80  # the consumer got them all, through it
    # The oracle is the sender's own account of what it added (its log), not drift's rule: the
    # paths each applied change added, but for the changes that add to customer-data maps and
    # lists (checklist fields, notation sections), which the catalogue marks as documented.
    outside = {name for name, change in catalogue().items() if change.undocumented}
    expected = {
        normalise(path)
        for line in sent
        for change in line["evolution"]
        if change["change"] in outside
        for path in change["added"]
    }
    assert expected  # evolved traffic adds something, or this test proves nothing
    assert len(sent) == 80 and all(line["evolution"] for line in sent)
    report = tmp_path / "drift.json"
    code, _ = run(["drift", str(capture), "--report-json", str(report), "--apply",
                   str(tmp_path / "patched")], capsys)  # fmt: skip
    data = json.loads(report.read_text())
    assert code == 3  # only undocumented paths: the contract is behind the traffic
    assert data["violations"] == [] and data["bodies"] == 80
    assert {row["path"] for row in data["undocumented"]} == expected

    # The patched schema set takes every captured body, with nothing left undocumented...
    code, out = run(["drift", str(capture), "--schemas", str(tmp_path / "patched")], capsys)
    assert code == 0, out
    # ...and it is compatible with the bundled set: nothing a consumer of it would trip on.
    code, out = run(["diff", "bundled", str(tmp_path / "patched"), "--fail-on", "warning"], capsys)
    assert code == 0, out
    assert "property-added" in out


def test_send_from_capture_replays_the_bodies_byte_for_byte(
    captured: tuple[Path, list[dict[str, Any]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capture, _ = captured
    again = tmp_path / "again.jsonl"
    recorder = Recorder(RecorderConfig(out=again))
    with serve_wsgi(recorder) as server:
        code, out = run(["send", server.url + "/webhooks", "--from-capture", str(capture),
                         "--no-progress"], capsys)  # fmt: skip
    recorder.close()
    assert code == 0, out
    first = [json.loads(line)["body"] for line in capture.read_text().splitlines()]
    second = [json.loads(line)["body"] for line in again.read_text().splitlines()]
    assert sorted(first) == sorted(second) and len(second) == 80


def test_verify_corpus_makes_the_captured_bodies_test_cases(
    captured: tuple[Path, list[dict[str, Any]]],
    consumer: RunningConsumer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capture, _ = captured
    report = tmp_path / "verify.json"
    code, out = run(["verify", consumer.url, "--auth", f"bearer:{TOKEN}", "--corpus", str(capture),
                     "--checks", "accepts-valid,tolerates-evolution", "--examples", "3",
                     "--seed", "4", "--report-json", str(report)], capsys)  # fmt: skip
    assert code == 0, out
    [accepts, _] = json.loads(report.read_text())["checks"]
    assert "80 captured" in accepts["message"]
