"""The fast validator and the reference give the same verdict, body by body (issue 14, item 3).

``contracts.schemas.validate`` trusts jsonschema-rs (with ``format`` restated as patterns) for
every valid body, so a body the fast path accepts and the Python validator rejects would be a
violation nobody sees. These tests run both on 100,000+ bodies (generated, evolved, spliced and
mutated: see ``tests/_corpus.py``) and on the format strings alone, and any disagreement fails.
The bodies are built and checked in two processes (one per core).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator

from contracts import schemas
from contracts._fastpath import with_patterns
from contracts.errors import SchemaError
from contracts.schemas import SchemaSet, Violation
from tests._corpus import (
    GEO,
    NEAR_DATE_TIMES,
    NEAR_URIS,
    TIMESTAMP,
    URL,
    corpus,
    random_date_time,
    random_uri,
)

BODIES = 100_400  # a few are not objects of a known event after mutation: 100,000+ compared
CHUNKS = 8  # seeds; two worker processes take them in turn
SHOWN = 3


def _check_chunk(seed: int, count: int) -> tuple[Counter[str], list[str]]:
    """Both validators on ``count`` bodies of ``seed``: a tally and the first disagreements."""
    schema_set = schemas.bundled()
    tally: Counter[str] = Counter()
    disagreements: list[str] = []
    for category, body in corpus(seed, count):
        judged = schema_set.judged_as(body)
        if isinstance(judged, Violation):  # not an object, unknown event: no validator runs
            tally["judged before validation"] += 1
            continue
        fast = schema_set.fast_validator(judged.name).is_valid(body)
        reference = schema_set.validator_for(judged.name).is_valid(body)
        tally[f"{category} {'valid' if reference else 'invalid'}"] += 1
        if fast != reference and len(disagreements) < SHOWN:
            disagreements.append(
                f"{category} (seed {seed}): fast says {fast}, jsonschema says {reference}: "
                + json.dumps(body, ensure_ascii=False)[:3000]
            )
    return tally, disagreements


@pytest.mark.slow
def test_fast_and_reference_validators_agree_on_100k_bodies() -> None:
    schema_set = schemas.bundled()
    for spec in schema_set.known_events:  # compile (and import jsonschema) once, before forking
        schema_set.validator_for(spec.name)
        schema_set.fast_validator(spec.name)
    seeds = list(range(CHUNKS))
    counts = [BODIES // CHUNKS + (1 if i < BODIES % CHUNKS else 0) for i in seeds]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
        results = list(pool.map(_check_chunk, seeds, counts))
    tally: Counter[str] = sum((t for t, _ in results), Counter())
    disagreements = [line for _, lines in results for line in lines]
    assert disagreements == []
    assert tally.total() - tally["judged before validation"] >= 100_000
    # The corpus is what it claims: valid bodies of every kind, and plenty broken ones.
    assert tally["generated valid"] >= 20_000 and tally["generated invalid"] == 0
    assert tally["evolved valid"] >= 15_000 and tally["evolved invalid"] == 0
    assert tally["bulk-evolved valid"] >= 5_000
    assert tally["mutated invalid"] >= 50_000 and tally["mutated valid"] >= 1_000


def _date_time_strings() -> list[str]:
    rng = random.Random(14)
    grid = [
        f"{year:04d}-{month:02d}-{day:02d}T12:00:00Z"
        for year in (0, 1, 4, 99, 100, 400, 1600, 1900, 2000, 2004, 2023, 2100, 2400, 9999)
        for month in range(14)
        for day in range(33)
    ]
    clock = [
        f"2024-02-29{sep}{hour:02d}:{minute:02d}:{second:02d}{frac}{offset}"
        for sep in "Tt "
        for hour in (0, 9, 19, 23, 24, 29)
        for minute in (0, 59, 60)
        for second in (0, 59, 60, 61)
        for frac in ("", ".5", ".")
        for offset in ("Z", "z", "+00:00", "-23:59", "+24:00", "+23:60", "", "+0100", "Z\n")
    ]
    fuzz = [random_date_time(rng) for _ in range(40_000)]
    return [*NEAR_DATE_TIMES, *grid, *clock, *fuzz]


def _uri_strings() -> list[str]:
    rng = random.Random(3986)
    hexes = ["0", "1", "ffff", "FFFF", "12345", "g", ""]
    ipv6 = [
        "http://[" + ":".join(rng.choice(hexes) for _ in range(rng.randint(1, 9))) + "]/"
        for _ in range(3000)
    ]
    ipv6 += [f"http://[{a}::{b}]/" for a in ("", "1", "1:2", "1:2:3:4:5:6") for b in hexes]
    octets = ["0", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "300", "01"]
    ipv4 = [
        f"http://{a}.{b}.{c}.{d}/" for a, b, c, d in (rng.sample(octets, 4) for _ in range(2000))
    ]
    fuzz = [random_uri(rng) for _ in range(40_000)]
    return [*NEAR_URIS, *ipv6, *ipv4, *fuzz]


@pytest.mark.parametrize(
    ("name", "schema", "strings"),
    [("date-time", TIMESTAMP, _date_time_strings()), ("uri", URL, _uri_strings())],
    ids=["date-time", "uri"],
)
def test_format_patterns_match_the_format_checker(
    name: str, schema: dict[str, object], strings: list[str]
) -> None:
    fast = jsonschema_rs.validator_for(
        with_patterns(schema, "common.json"), pattern_options=jsonschema_rs.RegexOptions()
    )
    checker = Draft202012Validator.FORMAT_CHECKER
    verdicts = Counter(checker.conforms(s, name) for s in strings)
    disagreements = [s for s in strings if fast.is_valid(s) != checker.conforms(s, name)]
    assert disagreements == []
    assert verdicts[True] > 1000 and verdicts[False] > 1000


def test_geo_coord_bounds_agree() -> None:
    fast = jsonschema_rs.validator_for(GEO)
    reference = Draft202012Validator(GEO)
    values = [
        [x, y]
        for x in (-180.5, -180, -0.0, 0, 179.999999, 180, 180.0000001)
        for y in (-91, -90, 90, 90.5)
    ]
    assert all(fast.is_valid(v) == reference.is_valid(v) for v in values)


def test_a_format_without_a_pattern_is_refused_not_skipped() -> None:
    documents = {name: dict(schemas.load_schema(name)) for name in schemas.schema_names()}
    documents["user"] = {
        **documents["user"],
        "properties": {**documents["user"]["properties"], "email": {"format": "email"}},
    }
    with pytest.raises(
        SchemaError, match=r"user\.json uses format 'email'.*contracts/_formats\.py"
    ):
        SchemaSet(documents, origin="test").fast_validator("transaction.create")
