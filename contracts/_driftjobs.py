"""Run drift over files, split across processes when they are big enough to be worth it.

Why: a drift pass is bound by Python's JSON parsing (two ``json.loads`` per captured line), so a
million bodies take a minute on one core. Each file is cut at line boundaries into chunks that
worker processes read on their own (nothing but offsets crosses the pipe); each returns the
:class:`~contracts.drift.Counts` of its chunk, with lines numbered from the chunk's start, and
the counts are shifted to file line numbers and merged here. Small inputs stay in this process.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from contracts.captures import check_readable, parse_line
from contracts.drift import Counts, Drift
from contracts.schemas import SchemaSet

__all__ = ["MIN_SPLIT_BYTES", "analyse", "default_jobs"]

#: Files smaller than this are read by one process: forking costs more than it saves.
MIN_SPLIT_BYTES = 64 * 1024 * 1024

Chunk = tuple[int, str, int, int]  # (source index, path, start byte, end byte)


def default_jobs() -> int:
    """One process per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def analyse(
    sources: Sequence[str], *, schema_set: SchemaSet, schema_dir: str | None = None, jobs: int = 1
) -> tuple[Drift, Counts]:
    """Drift over every source in order: the engine (its shapes) and the merged counts.

    ``schema_dir`` is where ``schema_set`` was read from (``None``: bundled), so that a worker
    can read the same set. Every source is checked before any is read (a bad one is an
    :class:`~contracts.errors.InputError`).
    """
    for source in sources:
        check_readable(source)
    drift = Drift(schema_set)
    chunks = _chunks(sources, jobs)
    if jobs <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            _read(drift, chunk)
        return drift, drift.counts
    context = get_context("fork")  # the parent's imports and compiled schemas come along
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        results = list(pool.map(_work, [(schema_dir, chunk) for chunk in chunks]))
    offsets: dict[int, int] = {}
    for (index, _, _, _), (counts, lines) in zip(chunks, results, strict=True):
        _shift(counts, index, offsets.get(index, 0))
        offsets[index] = offsets.get(index, 0) + lines
        drift.counts.merge(counts)
    return drift, drift.counts


def _chunks(sources: Sequence[str], jobs: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for index, source in enumerate(sources):
        size = Path(source).stat().st_size
        pieces = 1 if jobs <= 1 or size < MIN_SPLIT_BYTES else 2 * jobs
        cuts = [0]
        with open(source, "rb") as handle:
            for piece in range(1, pieces):
                handle.seek(max(cuts[-1], size * piece // pieces))
                handle.readline()  # to the start of the next line
                cuts.append(min(handle.tell(), size))
        cuts.append(size)
        chunks += [(index, source, a, b) for a, b in itertools.pairwise(cuts) if b > a]
        if size == 0:
            chunks.append((index, source, 0, 0))
    return chunks


def _read(drift: Drift, chunk: Chunk) -> int:
    """Add every line of ``chunk`` to ``drift``; lines are numbered from the chunk's start."""
    index, source, start, end = chunk
    number, position = 0, start
    add = drift.add
    with open(source, "rb") as handle:
        handle.seek(start)
        for raw in handle:
            if position >= end:
                break
            position += len(raw)
            number += 1
            if not raw.isspace():
                add(parse_line(raw, source, number), index)
    return number


_WORKER: dict[str | None, Drift] = {}


def _work(job: tuple[str | None, Chunk]) -> tuple[Counts, int]:
    schema_dir, chunk = job
    drift = _WORKER.get(schema_dir)
    if drift is None:
        schema_set = SchemaSet.from_dir(schema_dir) if schema_dir else None
        drift = _WORKER[schema_dir] = Drift(schema_set)
    drift.reset()
    lines = _read(drift, chunk)
    return drift.counts, lines


def _shift(counts: Counts, index: int, offset: int) -> None:
    """Renumber a chunk's lines of source ``index`` by ``offset`` (its first line's number - 1)."""
    if offset == 0:
        return

    def moved(at: tuple[int, int]) -> tuple[int, int]:
        return (at[0], at[1] + offset) if at[0] == index else at

    for table in (counts.unknown, counts.violations, counts.undocumented, counts.targets):
        for seen in table.values():
            seen.first = moved(seen.first)
    for seen in counts.present.values():
        seen.first = moved(seen.first)
    counts.problem_lines = [(moved(at), reason) for at, reason in counts.problem_lines]
