"""Small promises of ``serve`` (audit of issue 13, item 7): deleting an API subscription is one
transaction, ``[server] keep`` is said to be ignored, and the imported JSON Lines state is as
private as the database."""

from __future__ import annotations

import contextlib
import signal
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from mockserver.server import create_app
from mockserver.server.config import ServerConfig, load_config
from mockserver.server.database import Database
from mockserver.server.store import DeliveryStore
from tests._serve_process import start_cli, stop_cli
from tests._server import Sink
from tests.test_server_store import legacy_line


def test_deleting_an_api_subscription_is_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = Sink()
    app = create_app(ServerConfig(state_dir=tmp_path, transport=sink.transport))
    try:
        client = Client(app)
        created = client.post("/v1/subscriptions", json={"id": "api", "url": "http://h.test/"})
        assert created.status_code == 201
        writes: list[bool] = []
        write = Database.write

        @contextlib.contextmanager
        def counted(self: Database, *, durable: bool = False) -> Iterator[Any]:
            writes.append(durable)
            with write(self, durable=durable) as db:
                yield db

        monkeypatch.setattr(Database, "write", counted)
        assert client.delete("/v1/subscriptions/api").status_code == 204
        monkeypatch.undo()
    finally:
        app.close()
    assert writes == [True]  # one durable transaction: deliveries cancelled, settings gone
    again = DeliveryStore(tmp_path)
    assert again.saved_subscriptions() == []
    again.close()


def test_server_keep_is_warned_about_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text("[server]\nkeep = 100\n")
    assert len(load_config(config).warnings) == 1
    process, lines = start_cli("serve", "--port", "0", "--config", str(config), env={})
    lines.next(timeout=30)
    _, err = stop_cli(process, lines, signal.SIGTERM)
    assert process.returncode == 0
    warned = [line for line in err.splitlines() if "keep" in line]
    assert warned == [
        f"warning: {config}: [server] keep is deprecated and ignored (the state is an SQLite "
        "database; nothing is pruned: docs/serve.md shows how); remove the key"
    ]
    config.write_text("[server]\nworkers = 2\n")
    assert load_config(config).warnings == ()


def test_the_imported_json_lines_state_is_private(tmp_path: Path) -> None:
    legacy = tmp_path / "deliveries.jsonl"
    legacy.write_text(legacy_line(1, "delivered") + "\n")
    legacy.chmod(0o644)
    DeliveryStore(tmp_path).close()
    imported = tmp_path / "deliveries.jsonl.imported"
    assert stat.S_IMODE(imported.stat().st_mode) == 0o600
