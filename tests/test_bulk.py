"""contracts.bulk: reproducible, unique, valid (or evolved) bodies without Hypothesis."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contracts import evolution, schemas
from contracts.bulk import BulkGenerator, sample_body
from contracts.errors import InvalidArgument
from contracts.strict import undocumented


@pytest.mark.parametrize("evolved", [False, True])
def test_bodies_are_valid_unique_and_carry_their_id(evolved: bool) -> None:
    items = BulkGenerator(seed=11, evolved=evolved, templates=32).take(3000)
    assert len({item.key for item in items}) == 3000
    for item in items[:400]:
        payload = item.payload
        assert schemas.validate(payload) == []
        resource = payload[schemas.spec_for(item.event).resource]
        assert resource["id"] == item.key
        for form in resource.get("forms", []):
            assert form["transaction_id"] == item.key
        if "view_url" in resource and "opaque-id" not in item.changes:
            assert resource["view_url"].endswith(f"/{item.key}")
        assert bool(item.changes) is evolved
        if not evolved:
            assert undocumented(payload) == []


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    first = [i.body for i in BulkGenerator(seed=5).take(200)]
    assert first == [i.body for i in BulkGenerator(seed=5).take(200)]
    assert first != [i.body for i in BulkGenerator(seed=6).take(200)]


def test_both_events_and_requested_changes() -> None:
    items = BulkGenerator(seed=1, templates=40).take(500)
    assert {i.event for i in items} == {"transaction.create", "task.completed"}
    only = BulkGenerator(seed=1, event="task.completed", changes=["opaque-id"]).take(50)
    assert {i.changes for i in only} == {("opaque-id",)}
    assert all(len(i.key) > 20 for i in only)


def test_sample_body_is_reproducible_and_checks_arguments() -> None:
    assert sample_body(seed=3, evolved=True) == sample_body(seed=3, evolved=True)
    assert sample_body("task.completed", seed=3).changes == ()
    with pytest.raises(InvalidArgument, match="unknown change 'nope'"):
        sample_body(seed=1, changes=["nope"])
    with pytest.raises(InvalidArgument, match="templates must be at least 1"):
        BulkGenerator(templates=0)
    names = evolution.applicable_changes("task.completed")
    assert sample_body("task.completed", seed=2, changes=names).changes


def test_the_same_seed_makes_the_same_bodies_in_every_process() -> None:
    """``send --workers`` rebuilds the stream in each process, whose string hashing differs."""
    script = (
        "import hashlib; from contracts.bulk import BulkGenerator; bodies = b''.join(b.body for b"
        " in BulkGenerator(seed=12, evolved=True).take(40)); print(hashlib.sha256(bodies).hexdigest())"
    )
    digests = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True, env=env)  # fmt: skip
        digests.add(done.stdout)
    assert len(digests) == 1
