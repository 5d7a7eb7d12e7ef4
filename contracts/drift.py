"""Drift: how captured traffic differs from the contract, and the schema change it suggests.

Why this module exists (issue 15): our schemas are built from Record360's published example and
v1 API pages, and ten fields are only inferred. The judge of the contract is what Record360
actually sends. :class:`Drift` takes deliveries (:mod:`contracts.captures`) one at a time, in
constant memory, and keeps only counts:

* bodies per event, and bodies of events the contract does not know (a new ``event`` value or a
  new resource: Record360 may add both, so they are drift, not violations);
* violations: the fast path's verdict, the reference validator's (rule, path) once per shape of
  failure (:class:`contracts.verdicts.Judge`);
* undocumented paths, by the strict view's rule (records versus customer-data maps), checked by a
  shape validator derived from the same schemas (:mod:`contracts._shape`);
* which documented fields traffic shows, so the report can name those never seen and the
  *Inferred* ones that traffic confirms.

:meth:`Drift.merge` adds up two partial runs, so a file can be split across processes.
:mod:`contracts.proposal` turns the result into a JSON Patch per schema file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from contracts import schemas
from contracts._shape import Field, Record, Shape
from contracts.captures import Delivery, Problem, Refused
from contracts.jsontext import json_type, short
from contracts.schemas import SchemaSet
from contracts.verdicts import Judge, normal_path

__all__ = ["MAX_ROWS", "Counts", "Drift", "Position", "Seen", "Target", "json_type"]

#: Distinct rows kept per table (violations, undocumented paths, unknown events, problems
#: listed); beyond that, rows are counted in ``Drift.dropped`` so memory stays bounded.
MAX_ROWS = 10_000
_PROBLEMS_LISTED = 20

Position = tuple[int, int]  # (index of the source file, 1-based line)
Target = tuple[str, tuple[str, ...], str]  # (schema file, record pointer, property name)


@dataclass(slots=True)
class Seen:
    """How often something was seen, where first, with which JSON types, when, and an example."""

    count: int = 0
    first: Position = (1 << 62, 0)
    types: set[str] = field(default_factory=set)
    example: str = ""
    first_date: str | None = None
    last_date: str | None = None

    def see(self, at: Position, date: str | None, value: Any = None, typed: bool = False) -> None:
        self.count += 1
        if typed:
            self.types.add(json_type(value))
            if at < self.first:
                self.example = short(value)
        if at < self.first:
            self.first = at
        if date is not None:  # ISO dates compare as strings; called for most bodies: no min()
            if self.first_date is None or date < self.first_date:
                self.first_date = date
            if self.last_date is None or date > self.last_date:
                self.last_date = date

    def merge(self, other: Seen) -> None:
        if other.first < self.first and other.example:
            self.example = other.example
        self.count += other.count
        self.first = min(self.first, other.first)
        self.types |= other.types
        dates = [d for d in (self.first_date, other.first_date) if d]
        self.first_date = min(dates) if dates else None
        dates = [d for d in (self.last_date, other.last_date) if d]
        self.last_date = max(dates) if dates else None


@dataclass(slots=True)
class Counts:
    """Everything a drift run keeps: plain data, so partial runs travel between processes."""

    bodies: int = 0
    walked: int = 0  # bodies of known events (shares are of those that could hold the path)
    events: Counter[str] = field(default_factory=Counter)
    first_date: str | None = None
    last_date: str | None = None
    unknown: dict[tuple[str, tuple[str, ...]], Seen] = field(default_factory=dict)
    violations: dict[tuple[str, str], Seen] = field(default_factory=dict)
    undocumented: dict[str, Seen] = field(default_factory=dict)
    targets: dict[Target, Seen] = field(default_factory=dict)
    present: dict[str, Seen] = field(default_factory=dict)  # documented fields seen
    problems: int = 0
    refused: int = 0  # deliveries the recorder refused (no body): neither judged nor problems
    problem_lines: list[tuple[Position, str]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)

    def row(self, table: dict[Any, Seen], name: str, key: Any) -> Seen:
        """The row ``key`` of ``table``, made if there is room (else counted in ``dropped``)."""
        found = table.get(key)
        if found is None:
            if len(table) >= MAX_ROWS:
                self.dropped[name] += 1
                return Seen()  # counted in dropped, then forgotten
            found = table[key] = Seen()
        return found

    def seen_field(self, path: str) -> Seen:
        """The row of a documented field (never dropped: the schemas bound their number)."""
        found = self.present.get(path)
        if found is None:
            found = self.present[path] = Seen()
        return found

    def date(self, date: str | None) -> None:
        if date is not None:
            self.first_date = min(self.first_date or date, date)
            self.last_date = max(self.last_date or date, date)

    def merge(self, other: Counts) -> None:
        """Add ``other``'s counts (from different lines) to these."""
        self.bodies += other.bodies
        self.walked += other.walked
        self.events.update(other.events)
        self.problems += other.problems
        self.refused += other.refused
        self.problem_lines = sorted(self.problem_lines + other.problem_lines)[:_PROBLEMS_LISTED]
        self.dropped.update(other.dropped)
        self.date(other.first_date)
        self.date(other.last_date)
        tables: list[tuple[str, dict[Any, Seen], dict[Any, Seen]]] = [
            ("unknown events", self.unknown, other.unknown),
            ("violations", self.violations, other.violations),
            ("undocumented", self.undocumented, other.undocumented),
            ("undocumented", self.targets, other.targets),
            ("present", self.present, other.present),
        ]
        for name, mine, theirs in tables:
            for key, seen in theirs.items():
                row = mine.get(key)
                if row is not None:
                    row.merge(seen)
                elif len(mine) < MAX_ROWS or mine is self.present:
                    mine[key] = seen
                else:
                    self.dropped[name] += seen.count


class Drift:
    """One pass over deliveries, judged against ``schema_set`` (the bundled contract by default).

    Call :meth:`add` for each item of :func:`contracts.captures.read_captures`; read
    :attr:`counts`. Memory depends on the variety of findings (bounded by :data:`MAX_ROWS`),
    never on the number of bodies.
    """

    def __init__(self, schema_set: SchemaSet | None = None) -> None:
        self.schema_set = schema_set or schemas.bundled()
        self.counts = Counts()
        self.judge = Judge(self.schema_set)
        self.shapes = {
            spec.name: Shape(self.schema_set, spec.name) for spec in self.schema_set.known_events
        }
        self._specs = {spec.name: spec for spec in self.schema_set.known_events}
        self._inferred = {event: _inferred(shape) for event, shape in self.shapes.items()}
        self._seen_fields: set[str] = set()  # outlives reset(): the watch only ever shrinks
        self._validators: dict[str, jsonschema_rs.Validator] = {}
        self._next_rebuild = 0
        self._record_events: dict[tuple[str, tuple[str, ...]], set[str]] | None = None

    def reset(self) -> None:
        """Start new counts (for the next chunk of a file), keeping what the watch learnt."""
        self.counts = Counts()
        self._next_rebuild = 0

    def add(self, item: Delivery | Problem | Refused, source: int = 0) -> None:
        """Count one delivery (or one unusable line) of source file number ``source``."""
        counts, at = self.counts, (source, item.line)
        if isinstance(item, Refused):
            counts.refused += 1
            return
        if isinstance(item, Problem):
            counts.problems += 1
            if len(counts.problem_lines) < _PROBLEMS_LISTED:
                counts.problem_lines.append((at, item.reason))
            return
        body, date = item.body, _date(item.time)
        counts.bodies += 1
        counts.date(date)
        exact = self.schema_set.event_of(body)
        spec = self._specs[exact] if exact else self.schema_set.envelope_of(body)
        if spec is None or (exact is None and spec.resource in body):
            value = body.get("event", "<missing>")
            key = (short(value), tuple(sorted(k for k in body if k != "event")))
            counts.row(counts.unknown, "unknown events", key).see(at, date)
            return
        counts.events[spec.name] += 1
        counts.walked += 1
        for rule_at in self.judge.violations(spec.schema_name, body):
            counts.row(counts.violations, "violations", rule_at).see(at, date)
        self._shape(spec.name, body, at, date)

    def _shape(self, event: str, body: dict[str, Any], at: Position, date: str | None) -> None:
        counts = self.counts
        for parts, names in self._inferred[event]:  # counted in every body: a few lookups
            seen = {
                path for record in _records(body, parts) for name, path in names if name in record
            }
            for path in seen:
                counts.seen_field(path).see(at, date)
        if counts.walked > self._next_rebuild:  # fewer watched fields: fewer errors per body
            self._validators.clear()
            self._next_rebuild = 2 * counts.walked
        validator = self._validators.get(event)
        if validator is None:
            shape = self.shapes[event]
            validator = shape.validator(_watched(shape, self._seen_fields))
            self._validators[event] = validator
        if validator.is_valid(body):
            return
        records = self.shapes[event].records
        found: dict[str, tuple[Record, str, Any]] = {}
        for error in validator.iter_errors(body):
            where = tuple(error.schema_path)
            if where[-1] == "not":  # additionalProperties/not: an undocumented key
                record, key = records[where[:-2]], str(error.instance_path[-1])
                value = _at(body, error.instance_path)
                found.setdefault(normal_path([*record.parts, key]), (record, key, value))
            else:  # dependentSchemas/NAME/properties/NAME: a watched field is present
                record = records[where[:-4]]
                found.setdefault(record.fields[str(where[-3])].path, (record, "", None))
        targets: dict[Target, Any] = {}
        for path, (record, key, value) in found.items():
            if not key:
                self._seen_fields.add(path)
                counts.seen_field(path).see(at, date)
                continue
            counts.row(counts.undocumented, "undocumented", path).see(at, date, value, typed=True)
            targets.setdefault((record.schema_file, record.pointer, key), value)
        for target, value in targets.items():  # once per body, however many places
            counts.row(counts.targets, "undocumented", target).see(at, date, value, typed=True)

    def bodies_where(self, path: str, events: Counter[str]) -> int:
        """How many of the judged bodies (``events``: bodies per event) could hold ``path``: those
        of the events whose resource is its root (``$.task...``: the task events), or all for a
        key of the envelope itself. The denominator of a path's share: a task field seen in 4 of
        30 tasks is 13 %, however many transactions came along."""
        chosen = [
            spec.name
            for spec in self.schema_set.known_events
            if path.startswith(root := schemas.format_path([spec.resource]))
            and path[len(root) : len(root) + 1] in ("", ".", "[")
        ]
        return sum(events[name] for name in chosen) if chosen else sum(events.values())

    def bodies_with(self, target: Target, events: Counter[str]) -> int:
        """How many judged bodies could hold ``target``'s record: those of every event whose
        shape has it (``photo.json`` is in transactions and tasks). The patch's provenance."""
        if self._record_events is None:
            self._record_events = {}
            for name, shape in self.shapes.items():
                for record in shape.records.values():
                    key = (record.schema_file, record.pointer)
                    self._record_events.setdefault(key, set()).add(name)
        chosen = self._record_events.get((target[0], target[1]), set())
        return sum(events[name] for name in chosen)

    def fields(self) -> Iterator[tuple[str, Field]]:
        """Every documented field of the events traffic showed, as (event, field)."""
        for event, shape in self.shapes.items():
            if self.counts.events[event]:
                for field_ in shape.fields.values():
                    yield event, field_


def _watched(shape: Shape, seen: set[str]) -> list[str]:
    """Fields still worth an error: those never seen (inferred ones are counted apart)."""
    return [
        path
        for path, field_ in shape.fields.items()
        if field_.provenance != "inferred" and path not in seen
    ]


def _inferred(shape: Shape) -> list[tuple[tuple[str | int | None, ...], list[tuple[str, str]]]]:
    """Inferred fields by record: (record parts, [(name, path)]), each record walked once."""
    by_record = [
        (r.parts, [(f.name, f.path) for f in r.fields.values() if f.provenance == "inferred"])
        for r in shape.records.values()
    ]
    return [(parts, names) for parts, names in by_record if names]


def _records(value: Any, parts: tuple[str | int | None, ...]) -> list[dict[str, Any]]:
    """The objects at ``parts`` in ``value`` (ints and None: every item, every map value)."""
    level = [value]
    for head in parts:
        below: list[Any] = []
        for node in level:
            if isinstance(head, str):
                if type(node) is dict and head in node:
                    below.append(node[head])
            elif head is None:
                if type(node) is dict:
                    below.extend(node.values())
            elif type(node) is list:
                below.extend(node)
        if not below:
            return []
        level = below
    return [node for node in level if type(node) is dict]


def _at(body: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        body = body[part]
    return body


def _date(time: str | None) -> str | None:
    if time is None or len(time) < 10 or time[4] != "-" or time[7] != "-":
        return None
    return time[:10]
