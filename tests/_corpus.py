"""Bodies for the parity test: generated, evolved, spliced in bulk, and broken on purpose.

Diverse but cheap: every body is drawn fresh from a seeded ``RandomChooser`` (lean or full-size),
and broken bodies are a lean base plus one to three mutations aimed, through the schema walk, at
the places validators disagree on: date-times and URIs (near misses included), opaque IDs at
their bounds, types, required fields, coordinates, the event constant, and anything at all.
"""

from __future__ import annotations

import copy
import json
import random
import string
from collections.abc import Iterator
from typing import Any

from contracts import schemas
from contracts._choice import RandomChooser
from contracts._generate import generate
from contracts.bulk import BulkGenerator
from contracts.evolution._base import any_json, set_at
from contracts.strategies import evolve_drawn
from contracts.walk import Node, iter_nodes

EVENTS = [spec.name for spec in schemas.known_events()]
_COMMON = schemas.load_schema("common")["$defs"]
TIMESTAMP, ID, URL, GEO = (_COMMON[k] for k in ("timestamp", "id", "https_url", "geo_coord"))


class LeanChooser(RandomChooser):
    """Fewer optional fields and shorter lists: the reference validator's cost is per node."""

    def boolean(self) -> bool:
        return self.rng.random() < 0.25

    def integer(self, low: int, high: int) -> int:
        if high - low <= 3 and self.rng.random() < 0.7:
            return low
        return self.rng.randint(low, high)


NEAR_DATE_TIMES = [
    "2020-13-01T00:00:00Z", "2020-01-01T00:00:00", "2016-12-31T23:59:60Z", "1998-12-31T23:59:60+00:00",
    "2020-01-01t00:00:00z", "2020-01-01T00:00:00z", "2020-01-01t00:00:00Z", "2020-02-30T00:00:00Z",
    "2019-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2400-02-29T00:00:00Z",
    "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T00:60:00Z",
    "2020-01-01T00:00:00+24:00", "2020-01-01T00:00:00+23:59", "2020-01-01T00:00:00-00:00",
    "2020-01-01T00:00:00.Z", "2020-01-01T00:00:00.123456789Z", "2020-01-01 00:00:00Z",
    "2020-01-01T00:00:00Z\n", "2020-01-01T00:00:00Z\n\n", "\n2020-01-01T00:00:00Z", "2020-1-01T00:00:00Z",
    "20200101T000000Z", "2020-01-01T00:00:00+0000", "2020-01-01T00:00:00\u221205:00",
    "\uff12\uff10\uff12\uff10-01-01T00:00:00Z", "2020-01-01T00:00:00Z ", " 2020-01-01T00:00:00Z",
    "2020-01-01", "", "2020-04-31T00:00:00Z", "2020-06-31T00:00:00Z", "2020-12-32T00:00:00Z",
    "2020-00-10T00:00:00Z", "2020-01-00T00:00:00Z", "9999-12-31T23:59:59.999Z", "10000-01-01T00:00:00Z",
    "2020-01-01T00:00:00ZZ", "2020-01-01T00:00:00+05", "2020-01-01T00:00Z", "2024-01-16T10:00:13.716Z",
    "2020-01-01T00:00:00.1234+05:30", "2020-01-01T00:00:00,123Z", "2020-01-01T00:00:00UTC",
]  # fmt: skip

NEAR_URIS = [
    "https://exa mple.com", "//no-scheme.example/x", "/relative/path", "relative", "https://x/%zz",
    "https://x/%4", "https://x/%41", "https://b\u00fccher.example/", "http://[::1]/", "http://[::1/",
    "http://[1:2:3:4:5:6:7:8:9]/", "http://[1:2:3:4:5:6:7:8]/", "http://[v1.fe]/", "http://[vz.fe]/",
    "1http://x", "ht tp://x", "h+t.t-p://x", "https://x#a#b", "https://x#a?b/c", "https://x\n",
    "https://x\n\n", "https://x/?q=a b", "mailto:someone@example.com", "urn:isbn:0451450523",
    "https:", "https:/", "", "https://x:port/", "https://x:80/", "https://user:pw@host/",
    "https://us er@host/", "https://x/\\", "https://x/|", "https://x/{}", "https://x/^", '"https://x"',
    "https://x/`", "http://256.1.1.1/", "http://1.2.3.4/", "http://[::ffff:1.2.3.4]/",
    "http://[::ffff:1.2.3.400]/", "https://app.record360.com/m/JqS0", "https://x/\u00e9", "https://x/\t",
    "http://[fe80::1%25eth0]/", "a:b:c", "a://", "https://[]/", "https://x?#", "https://@/",
]  # fmt: skip

ODD_IDS = [
    "", "x" * 255, "x" * 256, "\U0001f69a" * 255, "\U0001f69a" * 256, 40849, None, ["1"], {"id": "1"},
    True, 1.5, " ", "\u0000", "0", "a" * 1000, -1, 10**20,
]  # fmt: skip

ODD_GEO = [
    [0, 0], [-180, -90], [180, 90], [180.0000001, 0], [0, 90.0000001], [-180.1, 0], [37.78, -122.4],
    [0], [0, 0, 0], [], ["1", "2"], [True, False], [None, 0], [10**30, 0], [1e308, 0], [-0.0, 0.0],
    "0,0", {"lon": 0, "lat": 0}, None,
]  # fmt: skip

OTHER_TYPES = [1, -7, 1.5, -0.0, 10**20, "s", "", True, False, None, [], [1], {}, {"a": 1}]


def random_date_time(rng: random.Random) -> str:
    """Near-valid RFC 3339 stamps: every field pushed towards and over its bounds."""
    year = rng.choice([0, 1, 4, 99, 100, 400, 1600, 1900, 2000, 2004, 2023, 2100, 2400, 9999])
    year = rng.randint(0, 9999) if rng.random() < 0.4 else year
    width = rng.choice([4, 4, 4, 4, 3, 5])
    parts = [
        f"{year:0{width}d}",
        "-",
        f"{rng.randint(0, 13):02d}",
        "-",
        f"{rng.choice([rng.randint(0, 32), 28, 29, 30, 31]):02d}",
        rng.choice("TTTTt _"),
        f"{rng.choice([rng.randint(0, 24), 23, 0]):02d}:{rng.choice([rng.randint(0, 60), 59]):02d}",
        f":{rng.choice([rng.randint(0, 61), 59, 60]):02d}",
        rng.choice(["", "", ".0", ".123", ".", ".1234567890123"]),
        rng.choice(["Z", "Z", "z", "+00:00", "-23:59", "+24:00", "+12:60", "", "+0530", "-05:00"]),
    ]
    stamp = "".join(parts)
    return stamp + "\n" if rng.random() < 0.03 else stamp


_URI_CHARS = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%" + ' \u00e9"<>\\^`{|}'


def random_uri(rng: random.Random) -> str:
    """Strings around the RFC 3986 grammar: schemes, authorities, percent-encodings, odd bytes."""
    scheme = rng.choice(["https", "http", "h", "a+b.c-d", "1x", "", "ht tp", "urn", "mailto"])
    middle = rng.choice(["://", "://", ":", ":/", "//", "://[", "://user@", "://[::1]"])
    tail = "".join(rng.choice(_URI_CHARS) for _ in range(rng.randint(0, 24)))
    if rng.random() < 0.3:
        tail += "%" + "".join(rng.choice("0123456789abcdefgXYZ") for _ in range(rng.randint(0, 2)))
    return scheme + middle + tail


def _replacement(node: Node, rng: random.Random, c: RandomChooser) -> Any:
    schema = node.schema
    if schema is TIMESTAMP:
        return rng.choice(NEAR_DATE_TIMES) if rng.random() < 0.5 else random_date_time(rng)
    if schema is URL:
        return rng.choice(NEAR_URIS) if rng.random() < 0.5 else random_uri(rng)
    if schema is ID:
        return rng.choice(ODD_IDS)
    if schema is GEO:
        return rng.choice(ODD_GEO)
    if schema is not None and "const" in schema:
        return rng.choice(["Create", "created", "complete", "", None, 1, schema["const"]])
    if rng.random() < 0.3:
        return any_json(c)
    others = [v for v in OTHER_TYPES if type(v) is not type(node.value)]
    return rng.choice(others)


def mutate(body: dict[str, Any], nodes: list[Node], rng: random.Random) -> dict[str, Any]:
    """One to three mutations of ``body`` (a fresh copy); may land valid, mostly does not.

    The result went through ``json.dumps``/``json.loads``: JSON data, as a body on the wire.
    """
    c = RandomChooser(rng)
    records = [
        n for n in nodes if isinstance(n.value, dict) and n.schema and n.schema.get("required")
    ]
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        try:
            if rng.random() < 0.2:  # drop a required field of some record
                record = rng.choice(records)
                target: Any = body
                for part in record.path:
                    target = target[part]
                present = [k for k in record.schema["required"] if k in target]  # type: ignore[index]
                if present:
                    del target[rng.choice(present)]
                continue
            node = rng.choice(nodes[1:])
            # A copy: the odd values are shared constants, and a later mutation may write
            # into the one placed here (or place it inside itself).
            set_at(body, node.path, copy.deepcopy(_replacement(node, rng, c)))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced this node's parent: skip it
    # Through JSON, as from the wire: a later mutation may have set an int key on an object
    # that replaced a list (set_at), which no JSON body can have.
    mutated: dict[str, Any] = json.loads(json.dumps(body))
    return mutated


def corpus(seed: int, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """``count`` (category, body) pairs for ``seed``: the same seed gives the same bodies."""
    rng = random.Random(seed)
    bulk = BulkGenerator(seed=seed, evolved=True, templates=32)
    bases: list[tuple[str, list[Node]]] = []
    for index in range(count):
        kind = index % 20
        chooser = (RandomChooser if rng.random() < 0.1 else LeanChooser)(rng)
        if kind < 4:
            event = chooser.choice(EVENTS)
            yield "generated", generate(event, chooser)
        elif kind < 7:
            yield "evolved", evolve_drawn(chooser, EVENTS, None).payload
        elif kind < 8:
            yield "bulk-evolved", next(bulk).payload
        else:
            if not bases or rng.random() < 0.05:  # a fresh base every ~20 broken bodies
                base = (
                    evolve_drawn(chooser, EVENTS, None).payload
                    if rng.random() < 0.3
                    else generate(chooser.choice(EVENTS), chooser)
                )
                event = schemas.envelope_of(base).name  # type: ignore[union-attr]
                bases.append((json.dumps(base), list(iter_nodes(base, event=event))))
                del bases[:-8]
            text, nodes = rng.choice(bases)
            yield "mutated", mutate(json.loads(text), nodes, rng)
