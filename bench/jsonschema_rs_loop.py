"""The peer of ``validate --summary`` and ``drift``: the loop a user would write with jsonschema-rs.

Run as its own process (``python bench/jsonschema_rs_loop.py SCHEMAS FILE LINES [--capture]``), timed
from spawn to exit exactly as our command is (``bench.common.timed``), so both pay an
interpreter's start and their imports: this one imports only ``json`` and ``jsonschema_rs``, and
reads the schemas from one JSON file (``{"root": webhook.json, "resources": [every schema]}``)
that the benchmark writes, as a user's script would load the schema files it ships with.

Each line is ``json.loads``-ed (with ``--capture``, a ``r360-capture/1`` line whose ``body`` is
parsed in turn), then ``is_valid`` against ``webhook.json`` with formats checked. It exits 1
when it read fewer lines than the benchmark says the file has (a peer that skipped work would
flatter us less, but would not be the peer either).
"""

from __future__ import annotations

import json
import sys

import jsonschema_rs


def main(argv: list[str]) -> int:
    schemas, path, expected, *flags = argv
    with open(schemas, encoding="utf-8") as file:
        documents = json.load(file)
    registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in documents["resources"]])
    validator = jsonschema_rs.validator_for(
        documents["root"], registry=registry, validate_formats=True
    )
    capture = "--capture" in flags
    lines = 0
    with open(path, "rb") as bodies:
        for line in bodies:
            body = json.loads(json.loads(line)["body"]) if capture else json.loads(line)
            validator.is_valid(body)
            lines += 1
    if lines != int(expected):
        print(f"read {lines} lines, expected {expected}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
