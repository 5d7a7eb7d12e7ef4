"""``mockserver/locust.py`` under real Locust, a master and a worker, in subprocesses only.

Importing Locust monkey-patches a process with gevent, so this process never imports it: the
reference consumer runs here (HTTPS with a throwaway CA, bearer auth, 50/s with a burst of 5),
Locust runs in subprocesses on 127.0.0.1 with bounded run time and timeouts, and its CSV and
the consumer's ledger are compared. A fresh interpreter imports every other module of the
packages to prove that none of them pulls in gevent or locust.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mockserver
from mockserver.auth import BearerAuth
from mockserver.consumer import ConsumerConfig
from mockserver.serving import serve_consumer
from tests.servers import free_port

pytestmark = pytest.mark.slow

LOCUSTFILE = str(Path(mockserver.__file__).parent / "locust.py")
TOKEN = "locust-test-token-0123456789"
#: Locust (gevent, ZeroMQ, geventhttpclient) and matplotlib (only ``load --plot`` loads it).
HEAVY = ("gevent", "locust", "geventhttpclient", "zmq", "matplotlib")

_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import contracts, mockserver
imported = []
for package in (contracts, mockserver):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name == "mockserver.locust" or info.name.endswith(".__main__"):
            continue
        importlib.import_module(info.name)
        imported.append(info.name)
heavy = %r
print(json.dumps({
    "imported": imported,
    "loaded": sorted(name for name in sys.modules if name.split(".")[0] in heavy),
}))
"""


def test_no_other_module_imports_locust_gevent_or_matplotlib(repo_root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL % (HEAVY,)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert {"mockserver.load", "contracts.cli.load", "mockserver.delivery"} <= set(
        result["imported"]
    )
    assert result["loaded"] == []


def test_this_pytest_process_never_loaded_locust_or_gevent() -> None:
    assert not [name for name in sys.modules if name.split(".")[0] in HEAVY[:4]]


def _locust(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", LOCUSTFILE, *args]


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_a_master_and_a_worker_send_accepted_and_throttled_webhooks(tmp_path: Path) -> None:
    config = ConsumerConfig(auth=BearerAuth(TOKEN), rate=50, burst=5)
    with serve_consumer(config, tls=True) as consumer:
        assert consumer.ca_pem_path is not None
        env = {
            **os.environ,
            "R360_AUTH": "bearer:env:R360_TEST_TOKEN",
            "R360_TEST_TOKEN": TOKEN,
            "R360_HEADERS": "X-Key-Id: key-1\nX-Tenant: t-7",
            "R360_CA_BUNDLE": str(consumer.ca_pem_path),
            "R360_SEED": "11",
            "R360_EVOLVED_SHARE": "0.5",
        }
        port = str(free_port())
        logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("master", "worker")}
        master = subprocess.Popen(
            _locust(
                "--master", "--headless", "-u", "4", "-r", "4", "--run-time", "5s",
                "--expect-workers", "1", "--host", consumer.url,
                "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
                "--csv", str(tmp_path / "run"), "--only-summary",
            ),
            cwd=tmp_path, env=env, stdout=logs["master"], stderr=subprocess.STDOUT,
        )  # fmt: skip
        worker = subprocess.Popen(
            _locust("--worker", "--master-host", "127.0.0.1", "--master-port", port),
            cwd=tmp_path, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            master_code = master.wait(timeout=45)
            worker_code = worker.wait(timeout=15)
        finally:
            _stop(master, worker)
            for log in logs.values():
                log.close()
        ledger = consumer.consumer.ledger()
    output = "\n".join((tmp_path / f"{n}.log").read_text(errors="replace") for n in logs)
    assert (master_code, worker_code) == (0, 0), output
    with (tmp_path / "run_stats.csv").open(newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"webhook", "webhook [429 throttled]", "Aggregated"}, rows
    total = rows["Aggregated"]
    assert int(total["Request Count"]) > 0 and int(total["Failure Count"]) == 0, output
    accepted = int(rows["webhook"]["Request Count"])
    throttled = int(rows["webhook [429 throttled]"]["Request Count"])
    assert accepted > 0 and throttled > 0 and int(rows["webhook"]["Failure Count"]) == 0
    # The consumer saw every request Locust counted (a request on the wire when the run stopped
    # reaches the consumer but not Locust's statistics); IDs are unique, so no duplicates.
    assert accepted <= ledger["accepted"] <= accepted + 10, (rows, ledger)
    assert throttled <= ledger["rejected"]["429"] <= throttled + 10, (rows, ledger)
    assert set(ledger["rejected"]) == {"429"} and ledger["duplicates"] == 0
    assert "seed 11 (R360_SEED 11 + worker 0)" in output


def test_a_bad_setting_stops_locust_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "R360_EVOLVED_SHARE": "2"}
    done = subprocess.run(
        _locust("--headless", "-u", "1", "--run-time", "1s", "--host", "http://127.0.0.1:9/x"),
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert errors == [
        "r360-webhooks locust: error: R360_EVOLVED_SHARE=2 must be between 0 and 1"
    ], done.stderr
