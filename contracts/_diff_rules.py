"""The rules of ``r360-webhooks diff``: each kind of difference, once, with a fixed severity.

One registry, as for checks and evolutions: :data:`RULES` is filled only by :func:`_rule` below,
refuses a name twice, and is what ``docs/diff.md``'s table must equal (a test compares them). The
severity of a rule answers one question, the consumer's: can a body valid under NEW surprise code
written against OLD? ``contracts.diff`` explains the direction; this module lists the answers,
and at its end how each rule words its one-line message ("maxLength 255 -> 1000").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from contracts._schemanode import Target
from contracts.errors import UsageError
from contracts.jsontext import short as show
from contracts.reference import provenance_of

__all__ = [
    "RULES",
    "Difference",
    "Rule",
    "Severity",
    "bound_change",
    "change",
    "description_change",
    "ref_change",
]


class Severity(IntEnum):
    """How much a difference matters to consumers, ordered (``--fail-on`` compares with ``>=``).

    The names are those oasdiff and Buf report: ``breaking``, ``warning``, ``info``.
    """

    INFO = 1
    WARNING = 2
    BREAKING = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, name: str) -> Severity:
        try:
            return cls[name.upper()]
        except KeyError:
            known = ", ".join(str(s) for s in sorted(cls, reverse=True))
            raise UsageError(f"unknown severity {name!r}; use one of {known}") from None


@dataclass(frozen=True, slots=True)
class Rule:
    """A kind of difference: a stable kebab-case name, its severity and why it has that severity."""

    name: str
    severity: Severity
    summary: str


#: Every rule by name, in the order the docs list them. Filled by :func:`_rule` only.
RULES: dict[str, Rule] = {}


def _rule(name: str, severity: Severity, summary: str) -> str:
    if name in RULES:
        raise ValueError(f"diff rule {name!r} is registered twice; rename the second")
    RULES[name] = Rule(name, severity, summary)
    return name


_I, _W, _B = Severity.INFO, Severity.WARNING, Severity.BREAKING
EVENT_ADDED = _rule("event-added", _I, "a new event type: consumers acknowledge unknown events")
EVENT_REMOVED = _rule("event-removed", _B, "an event type is no longer sent; consumers wait for it")
SCHEMA_ADDED = _rule("schema-added", _I, "a new schema file")
SCHEMA_REMOVED = _rule(
    "schema-removed", _W, "a schema file left the set; code that loads it by name breaks"
)
DEFINITION_ADDED = _rule("definition-added", _I, "a new entry under `$defs`")
DEFINITION_REMOVED = _rule(
    "definition-removed", _W, "a `$defs` entry left the set; code that refers to it breaks"
)
PROPERTY_ADDED = _rule("property-added", _I, "a new property: objects are open, readers ignore it")
PROPERTY_ADDED_CLOSED = _rule(
    "property-added-to-closed-object", _B, "a new property where OLD forbade unknown ones"
)
PROPERTY_REMOVED = _rule("property-removed", _B, "a property is gone; readers rely on it")
REQUIRED_ADDED = _rule("required-added", _I, "a property is now always sent (fewer bodies)")
REQUIRED_REMOVED = _rule("required-removed", _B, "a property may now be missing")
TYPE_NARROWED = _rule(
    "type-narrowed", _I, "fewer JSON types allowed (`string` or `null` to `string`)"
)
TYPE_WIDENED = _rule("type-widened", _B, "more JSON types allowed (`string` to `string` or `null`)")
TYPE_CHANGED = _rule("type-changed", _B, "a JSON type OLD never allowed (`number` to `string`)")
BRANCH_ADDED = _rule(
    "branch-added",
    _W,
    "`anyOf`/`oneOf` gained an alternative of a type already allowed; it may or may not "
    "admit bodies OLD rejects",
)
BRANCH_REMOVED = _rule("branch-removed", _I, "`anyOf`/`oneOf` lost an alternative (fewer bodies)")
ADDITIONAL_CLOSED = _rule(
    "additional-properties-closed",
    _W,
    "`additionalProperties: false`: fewer bodies, but Record360's objects are open by policy",
)
ADDITIONAL_OPENED = _rule(
    "additional-properties-opened", _B, "unknown properties allowed where OLD forbade them"
)
ENUM_ADDED = _rule("enum-added", _I, "values limited to a list (`enum` or `const`) where any was")
ENUM_REMOVED = _rule("enum-removed", _B, "values no longer limited to a list")
ENUM_VALUE_ADDED = _rule(
    "enum-value-added", _B, "a new value in a closed `enum` (or a changed `const`)"
)
ENUM_VALUE_REMOVED = _rule("enum-value-removed", _I, "a value left an `enum` (fewer bodies)")
EXT_VALUE_ADDED = _rule(
    "extensible-enum-value-added", _I, "a new value in an `x-extensible-enum` list (open by mark)"
)
EXT_VALUE_REMOVED = _rule(
    "extensible-enum-value-removed", _I, "a value left an `x-extensible-enum` list"
)
FORMAT_ADDED = _rule("format-added", _I, "a `format` now checked (fewer bodies)")
FORMAT_REMOVED = _rule("format-removed", _B, "a `format` dropped: any string now")
FORMAT_CHANGED = _rule(
    "format-changed", _W, "a different `format`: neither set of strings contains the other"
)
PATTERN_ADDED = _rule("pattern-added", _I, "a `pattern` now checked (fewer bodies)")
PATTERN_REMOVED = _rule("pattern-removed", _B, "a `pattern` dropped: any string now")
PATTERN_CHANGED = _rule(
    "pattern-changed", _W, "a different `pattern`: whether it admits more cannot be decided here"
)
BOUND_RULES = {
    ("minLength", True): _rule("min-length-increased", _I, "`minLength` raised or added"),
    ("minLength", False): _rule("min-length-decreased", _B, "`minLength` lowered or removed"),
    ("maxLength", True): _rule("max-length-decreased", _I, "`maxLength` lowered or added"),
    ("maxLength", False): _rule("max-length-increased", _B, "`maxLength` raised or removed"),
    ("minItems", True): _rule("min-items-increased", _I, "`minItems` raised or added"),
    ("minItems", False): _rule("min-items-decreased", _B, "`minItems` lowered or removed"),
    ("maxItems", True): _rule("max-items-decreased", _I, "`maxItems` lowered or added"),
    ("maxItems", False): _rule("max-items-increased", _B, "`maxItems` raised or removed"),
    ("minimum", True): _rule(
        "minimum-increased", _I, "lower bound (`minimum`, `exclusiveMinimum`) raised or added"
    ),
    ("minimum", False): _rule("minimum-decreased", _B, "lower bound lowered or removed"),
    ("maximum", True): _rule(
        "maximum-decreased", _I, "upper bound (`maximum`, `exclusiveMaximum`) lowered or added"
    ),
    ("maximum", False): _rule("maximum-increased", _B, "upper bound raised or removed"),
}
REF_CHANGED = _rule(
    "ref-changed", _I, "a `$ref` points elsewhere or was inlined; the targets are compared in place"
)
DESCRIPTION_CHANGED = _rule(
    "description-changed", _I, "a description or its provenance label changed"
)
TITLE_CHANGED = _rule("title-changed", _I, "a title changed")
EXAMPLES_CHANGED = _rule("examples-changed", _I, "`examples` changed")
ANNOTATION_CHANGED = _rule(
    "annotation-changed", _I, "another annotation (`default`, `deprecated`, `x-*`...) changed"
)
KEYWORD_CHANGED = _rule(
    "keyword-changed",
    _W,
    "a keyword this tool does not classify changed (`multipleOf`, `allOf`, `not`...): review it",
)


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference: the rule it falls under, where (file + JSON Pointer) and a one-line what."""

    rule: str
    pointer: str
    message: str

    @property
    def severity(self) -> Severity:
        return RULES[self.rule].severity

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": str(self.severity),
            "rule": self.rule,
            "pointer": self.pointer,
            "message": self.message,
        }

    def __str__(self) -> str:
        return f"{self.severity}  {self.rule}  {self.pointer}  {self.message}"


# -- how each rule words its message -----------------------------------------------------------


def bound_change(old: tuple[float, bool] | None, new: tuple[float, bool] | None, name: str) -> str:
    def keyword(bound: tuple[float, bool]) -> str:
        return f"exclusive{name.title()}" if bound[1] else name

    if old is None or new is None:
        bound, verb = (new, "added") if old is None else (old, "removed")
        assert bound is not None
        return f"{keyword(bound)} {show(bound[0])} {verb}"
    if keyword(old) == keyword(new):
        return f"{keyword(new)} {show(old[0])} -> {show(new[0])}"
    return f"{keyword(old)} {show(old[0])} -> {keyword(new)} {show(new[0])}"


def change(key: str, o: Mapping[str, Any], n: Mapping[str, Any]) -> str:
    if key not in o:
        return f"{key} {show(n[key])} added"
    if key not in n:
        return f"{key} {show(o[key])} removed"
    return f"{key} {show(o[key])} -> {show(n[key])}"


def description_change(o: Mapping[str, Any], n: Mapping[str, Any]) -> str:
    """Say when the provenance label (``Documented:``, ``Seen in v1:``...) is what changed."""
    if "description" not in o or "description" not in n:
        return "description added" if "description" in n else "description removed"
    old_label, old_text = provenance_of(o["description"])
    new_label, new_text = provenance_of(n["description"])
    if old_label == new_label:
        return "description changed"
    also = "; text changed" if old_text.strip() != new_text.strip() else ""
    return f"provenance {show(old_label or 'none')} -> {show(new_label or 'none')}{also}"


def ref_change(old: Target | None, new: Target | None) -> str:
    def name(target: Target) -> str:
        return target[0] + (f"#{target[1]}" if target[1] else "")

    if old is None and new is not None:
        return f"now a $ref to {name(new)}"
    if new is None and old is not None:
        return f"$ref {name(old)} inlined"
    assert old is not None and new is not None
    return f"$ref {name(old)} -> {name(new)}"
