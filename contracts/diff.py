"""Classify every difference between two schema sets the way it matters for webhooks.

Record360 *writes* webhook bodies and consumers *read* them, so the question is the reverse of the
request-side one that oasdiff and openapi-diff answer (they call a newly required field breaking,
which for a body a consumer receives is harmless; oasdiff#1160): **can a body that is valid under
NEW surprise code written against OLD?** When every body NEW allows is one that OLD, with its open
objects, allowed too, the change is compatible. So fewer possible bodies (a new required
property, a narrowed type, a tightened constraint) is compatible, and more possible bodies (a
property no longer required, a widened type, a relaxed constraint, a new value in a closed enum)
is breaking. Record360's policy adds what counting bodies cannot see: new properties and new event
types are promised, so consumers already accept them; a removed property or event is breaking,
because consumers rely on it arriving.

The walk is structural: events by ``event`` value and resource key (as a consumer routes a body),
other files by name, then within each file ``$ref``, ``properties``, ``required``,
``additionalProperties``, ``items``/``prefixItems``, ``anyOf``/``oneOf``, ``type``,
``enum``/``const``, ``format``, ``pattern``, the length, size and range bounds and the
annotations. A keyword it does not classify is a ``warning`` (``keyword-changed``), never
silence. The rules and their severities are in :mod:`contracts._diff_rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from contracts import _diff_rules as rules
from contracts._diff_rules import RULES, Difference, Rule, Severity
from contracts._schemanode import (
    Side,
    Target,
    Types,
    branches,
    canon,
    combinator,
    enum_values,
    hop,
    lower_bound,
    may_be,
    same_types,
    show_types,
    types_of,
    upper_bound,
    view,
    within,
    without_ref,
)
from contracts.jsontext import short as show
from contracts.schemaset import WEBHOOK, SchemaSet, escape

__all__ = ["RULES", "Difference", "Rule", "Severity", "diff"]


def diff(old: SchemaSet, new: SchemaSet) -> list[Difference]:
    """Every difference between ``old`` and ``new``, as a consumer written against ``old`` meets it.

    Events come first, then each file in name order, walked from its root and its ``$defs``. A
    change inside a definition that other files ``$ref`` is reported once, where it is made
    (``/common.json/$defs/id``), not at every reference to it.
    """
    return _Walk(old, new).run()


# Keywords the walk reads itself; annotations are info; anything else is keyword-changed.
_HANDLED = frozenset({
    "$ref", "$id", "$schema", "$defs", "type", "anyOf", "oneOf", "enum", "const",
    "x-extensible-enum", "format", "pattern", "minLength", "maxLength", "minItems", "maxItems",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "properties", "required",
    "additionalProperties", "items", "prefixItems",
})  # fmt: skip
_ANNOTATIONS = frozenset({
    "description", "title", "examples", "$comment", "default", "deprecated", "readOnly",
    "writeOnly", "contentMediaType", "contentEncoding",
})  # fmt: skip
# Annotations with a rule of their own; the others are annotation-changed.
_SPOKEN_FOR = frozenset({"description", "title", "examples"})


class _Walk:
    def __init__(self, old: SchemaSet, new: SchemaSet) -> None:
        self.old, self.new = old, new
        self.found: dict[Difference, None] = {}  # in walk order, each once
        self.walked: set[str] = set()  # files compared from their root, under the same name
        self.active: set[tuple[Target | None, Target | None]] = set()  # $refs being followed

    def emit(self, rule: str, pointer: str, message: str) -> None:
        self.found.setdefault(Difference(rule, pointer, message), None)

    def run(self) -> list[Difference]:
        old, new = self.old, self.new
        old_events = {(e.event, e.resource): e for e in old.envelopes}
        new_events = {(e.event, e.resource): e for e in new.envelopes}
        for index, e in enumerate(new.envelopes):
            if (e.event, e.resource) not in old_events:
                message = f"new event {show(e.event)} on {show(e.resource)} ({e.file})"
                self.emit(rules.EVENT_ADDED, f"/{WEBHOOK}/anyOf/{index}", message)
        for index, e in enumerate(old.envelopes):
            if (e.event, e.resource) not in new_events:
                message = f"event {show(e.event)} on {show(e.resource)} ({e.file}) is gone"
                self.emit(rules.EVENT_REMOVED, f"/{WEBHOOK}/anyOf/{index}", message)
        pairs = [(WEBHOOK, WEBHOOK)]
        pairs += [(e.file, new_events[k].file) for k, e in old_events.items() if k in new_events]
        envelopes = {e.file for e in (*old.envelopes, *new.envelopes)} | {WEBHOOK}
        for name in sorted((old.documents.keys() | new.documents.keys()) - envelopes):
            if name not in new.documents:
                self.emit(
                    rules.SCHEMA_REMOVED, f"/{escape(name)}", f"{name} is no longer in the set"
                )
            elif name not in old.documents:
                self.emit(rules.SCHEMA_ADDED, f"/{escape(name)}", f"{name} is new")
            else:
                pairs.append((name, name))
        self.walked = {old_file for old_file, new_file in pairs if old_file == new_file}
        for old_file, new_file in sorted(pairs, key=lambda pair: pair[1]):
            self.file(old_file, new_file)
        return list(self.found)

    def file(self, old_file: str, new_file: str) -> None:
        old_doc, new_doc = self.old.documents[old_file], self.new.documents[new_file]
        if new_file == WEBHOOK:  # its anyOf is the list of events, compared in run()
            old_doc = {k: v for k, v in old_doc.items() if k != "anyOf"}
            new_doc = {k: v for k, v in new_doc.items() if k != "anyOf"}
        root = f"/{escape(new_file)}"
        self.node(Side(old_doc, old_file), Side(new_doc, new_file), root)
        old_defs, new_defs = old_doc.get("$defs", {}), new_doc.get("$defs", {})
        for name in [*old_defs, *(n for n in new_defs if n not in old_defs)]:
            where = f"{root}/$defs/{escape(name)}"
            if name not in new_defs:
                self.emit(rules.DEFINITION_REMOVED, where, f"$defs/{name} is gone")
            elif name not in old_defs:
                self.emit(rules.DEFINITION_ADDED, where, f"$defs/{name} is new")
            else:
                self.node(Side(old_defs[name], old_file), Side(new_defs[name], new_file), where)

    # -- one node -----------------------------------------------------------------------------

    def node(self, old: Side, new: Side, at: str, *, whole: bool = False) -> None:
        """Compare the two schema nodes found at ``at``.

        Annotations are compared as written here, beside any ``$ref`` (a target's own title and
        description are compared where the target lives). ``whole`` pairs a plain node with one
        alternative of an ``anyOf`` on the other side: only what they assert is compared, since
        their types and annotations were compared at ``at`` already.
        """
        old_hop, new_hop = hop(self.old, old), hop(self.new, new)
        if not whole:
            if old_hop != new_hop and _plain(old) and _plain(new):
                self.emit(rules.REF_CHANGED, at, rules.ref_change(old_hop, new_hop))
            self._annotations(without_ref(old).schema, without_ref(new).schema, at)
            if old_hop is not None and old_hop == new_hop and self._walked(old_hop):
                return  # the same target, compared where it lives
        key = (old_hop, new_hop)
        if key in self.active:  # a recursive schema: this pair is being compared already
            return
        if key != (None, None):
            self.active.add(key)
        try:
            self._compare(view(self.old, old), view(self.new, new), at, whole)
        finally:
            self.active.discard(key)

    def _compare(self, old: Side, new: Side, at: str, whole: bool) -> None:
        o, n = old.schema, new.schema
        if not isinstance(o, Mapping) or not isinstance(n, Mapping):  # `false`: no value at all
            if o != n:
                self.emit(rules.KEYWORD_CHANGED, at, f"schema {show(o)} -> {show(n)}")
            return
        old_types, new_types = types_of(self.old, old), types_of(self.new, new)
        if not whole:
            self._types(old_types, new_types, at)
        old_kind, new_kind = combinator(o), combinator(n)
        if old_kind is None and new_kind is None:
            self._assertions(old, new, at, old_types, new_types)
            return
        if old_kind is not None and new_kind is not None and old_kind != new_kind:
            self.emit(rules.KEYWORD_CHANGED, at, f"{old_kind} -> {new_kind}")
        self._alternatives(old, new, at, old_types, new_types)

    def _alternatives(
        self, old: Side, new: Side, at: str, old_types: Types, new_types: Types
    ) -> None:
        """Pair the alternatives of two nodes (a plain node is one), then compare each pair.

        Pairs are found by the same ``$ref`` target, then the same types, then overlapping types,
        then the last one of each side. What is left over is a change of types (reported by
        the parent) or, when its types were allowed already, ``branch-added``/``branch-removed``.
        """
        old_alts, new_alts = branches(old), branches(new)
        old_types_each = [types_of(self.old, view(self.old, s)) for s, _ in old_alts]
        new_types_each = [types_of(self.new, view(self.new, s)) for s, _ in new_alts]
        old_hops = [hop(self.old, s) for s, _ in old_alts]
        new_hops = [hop(self.new, s) for s, _ in new_alts]
        tests: tuple[Callable[[int, int], bool], ...] = (
            lambda i, j: old_hops[i] is not None and old_hops[i] == new_hops[j],
            lambda i, j: same_types(old_types_each[i], new_types_each[j]),
            lambda i, j: (
                within(new_types_each[j], old_types_each[i])
                or within(old_types_each[i], new_types_each[j])
            ),
        )
        old_left, new_left = list(range(len(old_alts))), list(range(len(new_alts)))
        pairs: list[tuple[int, int]] = []
        for matches in tests:
            for j in list(new_left):
                i = next((i for i in old_left if matches(i, j)), None)
                if i is not None:
                    pairs.append((i, j))
                    old_left.remove(i)
                    new_left.remove(j)
        if len(old_left) == len(new_left) == 1:
            pairs.append((old_left.pop(), new_left.pop()))
        for i, j in sorted(pairs, key=lambda pair: pair[1]):
            (old_alt, old_suffix), (new_alt, new_suffix) = old_alts[i], new_alts[j]
            whole = not old_suffix or not new_suffix
            self.node(old_alt, new_alt, at + (new_suffix or old_suffix), whole=whole)
        for j in new_left:
            if within(new_types_each[j], old_types):
                message = f"new alternative ({show_types(new_types_each[j])})"
                self.emit(rules.BRANCH_ADDED, at + new_alts[j][1], message)
        for i in old_left:
            if within(old_types_each[i], new_types):
                message = f"alternative gone ({show_types(old_types_each[i])})"
                self.emit(rules.BRANCH_REMOVED, at + old_alts[i][1], message)

    # -- keywords -----------------------------------------------------------------------------

    def _annotations(self, o: Any, n: Any, at: str) -> None:
        if not isinstance(o, Mapping) or not isinstance(n, Mapping):
            return
        if o.get("description") != n.get("description"):
            self.emit(rules.DESCRIPTION_CHANGED, at, rules.description_change(o, n))
        if o.get("title") != n.get("title"):
            self.emit(rules.TITLE_CHANGED, at, rules.change("title", o, n))
        if o.get("examples") != n.get("examples"):
            self.emit(rules.EXAMPLES_CHANGED, at, "examples changed")
        others = {k for k in (*o, *n) if k.startswith("x-") and k != "x-extensible-enum"}
        for key in sorted(others | ((o.keys() | n.keys()) & _ANNOTATIONS) - _SPOKEN_FOR):
            if o.get(key) != n.get(key):
                self.emit(rules.ANNOTATION_CHANGED, at, rules.change(key, o, n))

    def _types(self, old: Types, new: Types, at: str) -> None:
        if same_types(old, new):
            return
        if within(new, old):
            rule = rules.TYPE_NARROWED
        elif within(old, new):
            rule = rules.TYPE_WIDENED
        else:
            rule = rules.TYPE_CHANGED
        self.emit(rule, at, f"type {show_types(old)} -> {show_types(new)}")

    def _assertions(
        self, old: Side, new: Side, at: str, old_types: Types, new_types: Types
    ) -> None:
        o, n = old.schema, new.schema
        self._values(o, n, at)

        def both(kind: str) -> bool:  # a string keyword matters only if both may be strings
            return may_be(old_types, kind) and may_be(new_types, kind)

        if both("string"):
            self._keyword(
                o, n, at, "format", (rules.FORMAT_ADDED, rules.FORMAT_REMOVED, rules.FORMAT_CHANGED)
            )
            self._keyword(
                o,
                n,
                at,
                "pattern",
                (rules.PATTERN_ADDED, rules.PATTERN_REMOVED, rules.PATTERN_CHANGED),
            )
            self._count(o, n, at, "minLength", "maxLength")
        if both("number"):
            self._range(o, n, at)
        if both("array"):
            self._count(o, n, at, "minItems", "maxItems")
            self._items(old, new, at)
        if both("object"):
            self._object(old, new, at)
        for key in sorted((o.keys() | n.keys()) - _HANDLED - _ANNOTATIONS):
            if not key.startswith("x-") and o.get(key) != n.get(key):
                self.emit(rules.KEYWORD_CHANGED, at, rules.change(key, o, n))

    def _values(self, o: Mapping[str, Any], n: Mapping[str, Any], at: str) -> None:
        old_values, new_values = enum_values(o), enum_values(n)
        if old_values is None and new_values is not None:
            self.emit(rules.ENUM_ADDED, at, f"values limited to {show(new_values)}")
        elif old_values is not None and new_values is None:
            self.emit(rules.ENUM_REMOVED, at, f"any value now (was {show(old_values)})")
        elif old_values is not None and new_values is not None:
            self._listed(
                old_values, new_values, at, rules.ENUM_VALUE_ADDED, rules.ENUM_VALUE_REMOVED
            )
        old_open, new_open = o.get("x-extensible-enum"), n.get("x-extensible-enum")
        if isinstance(old_open, list) and isinstance(new_open, list):
            self._listed(old_open, new_open, at, rules.EXT_VALUE_ADDED, rules.EXT_VALUE_REMOVED)
        elif old_open != new_open:
            self.emit(rules.ANNOTATION_CHANGED, at, rules.change("x-extensible-enum", o, n))

    def _listed(self, old: list[Any], new: list[Any], at: str, added: str, removed: str) -> None:
        old_keys, new_keys = {canon(v) for v in old}, {canon(v) for v in new}
        for value in new:
            if canon(value) not in old_keys:
                self.emit(added, at, f"new value {show(value)}")
        for value in old:
            if canon(value) not in new_keys:
                self.emit(removed, at, f"value {show(value)} gone")

    def _keyword(
        self, o: Mapping[str, Any], n: Mapping[str, Any], at: str, key: str, kinds: tuple[str, ...]
    ) -> None:
        if o.get(key) != n.get(key):
            added, removed, changed = kinds
            rule = added if key not in o else removed if key not in n else changed
            self.emit(rule, at, rules.change(key, o, n))

    def _count(
        self, o: Mapping[str, Any], n: Mapping[str, Any], at: str, low: str, high: str
    ) -> None:
        if o.get(low, 0) != n.get(low, 0):  # an absent minimum count is 0
            self.emit(
                rules.BOUND_RULES[(low, n.get(low, 0) > o.get(low, 0))], at, rules.change(low, o, n)
            )
        old_high, new_high = o.get(high), n.get(high)
        if old_high != new_high:
            tighter = old_high is None or (new_high is not None and new_high < old_high)
            self.emit(rules.BOUND_RULES[(high, tighter)], at, rules.change(high, o, n))

    def _range(self, o: Mapping[str, Any], n: Mapping[str, Any], at: str) -> None:
        old_low, new_low = lower_bound(o), lower_bound(n)
        if old_low != new_low:
            tighter = old_low is None or (new_low is not None and new_low > old_low)
            message = rules.bound_change(old_low, new_low, "minimum")
            self.emit(rules.BOUND_RULES[("minimum", tighter)], at, message)
        old_high, new_high = upper_bound(o), upper_bound(n)
        if old_high != new_high:
            # At one value the exclusive bound is tighter: compare (value, not exclusive).
            tighter = old_high is None or (
                new_high is not None
                and (new_high[0], not new_high[1]) < (old_high[0], not old_high[1])
            )
            message = rules.bound_change(old_high, new_high, "maximum")
            self.emit(rules.BOUND_RULES[("maximum", tighter)], at, message)

    def _items(self, old: Side, new: Side, at: str) -> None:
        o, n = old.schema, new.schema
        old_prefix, new_prefix = o.get("prefixItems", []), n.get("prefixItems", [])
        old_items, new_items = o.get("items", True), n.get("items", True)
        for index in range(max(len(old_prefix), len(new_prefix))):
            before = old_prefix[index] if index < len(old_prefix) else old_items
            after = new_prefix[index] if index < len(new_prefix) else new_items
            where = f"{at}/prefixItems/{index}" if index < len(new_prefix) else f"{at}/items"
            self.node(Side(before, old.file), Side(after, new.file), where)
        if old_items is not True or new_items is not True:
            self.node(Side(old_items, old.file), Side(new_items, new.file), f"{at}/items")

    def _object(self, old: Side, new: Side, at: str) -> None:
        o, n = old.schema, new.schema
        old_props, new_props = o.get("properties", {}), n.get("properties", {})
        old_req, new_req = set(o.get("required", [])), set(n.get("required", []))
        old_extra = o.get("additionalProperties", True)
        new_extra = n.get("additionalProperties", True)
        for name in [*old_props, *(p for p in new_props if p not in old_props)]:
            where = f"{at}/properties/{escape(name)}"
            if name in old_props and name in new_props:
                self.node(Side(old_props[name], old.file), Side(new_props[name], new.file), where)
            elif name in old_props:
                was = " (was required)" if name in old_req else ""
                self.emit(rules.PROPERTY_REMOVED, where, f"{show(name)} removed{was}")
            elif old_extra is False:
                self.emit(
                    rules.PROPERTY_ADDED_CLOSED, where, f"{show(name)} added; OLD allows no others"
                )
            else:
                kind = "required" if name in new_req else "optional"
                self.emit(rules.PROPERTY_ADDED, where, f"new {kind} property {show(name)}")
                if isinstance(old_extra, Mapping):  # OLD said what an unknown key may hold
                    self.node(Side(old_extra, old.file), Side(new_props[name], new.file), where)
        for name in sorted(new_req - old_req):
            if name in old_props or name not in new_props:  # else: told as property-added
                where = f"{at}/properties/{escape(name)}"
                self.emit(rules.REQUIRED_ADDED, where, f"{show(name)} is now required")
        for name in sorted(old_req - new_req):
            if name in new_props or name not in old_props:  # else: told as property-removed
                where = f"{at}/properties/{escape(name)}"
                self.emit(rules.REQUIRED_REMOVED, where, f"{show(name)} is no longer required")
        if old_extra is False and new_extra is not False:
            self.emit(rules.ADDITIONAL_OPENED, at, "unknown properties allowed again")
        elif new_extra is False and old_extra is not False:
            self.emit(rules.ADDITIONAL_CLOSED, at, "additionalProperties: false")
        elif old_extra is not True or new_extra is not True:
            where = f"{at}/additionalProperties"
            self.node(Side(old_extra, old.file), Side(new_extra, new.file), where)

    def _walked(self, target: Target) -> bool:
        """Whether ``target`` is compared where it lives: a file root or one of its ``$defs``."""
        file, fragment = target
        if file not in self.walked:
            return False
        if fragment == "":
            return True
        name = fragment.removeprefix("/$defs/")
        return (
            fragment.startswith("/$defs/")
            and "/" not in name
            and all(name in s.documents[file].get("$defs", {}) for s in (self.old, self.new))
        )


def _plain(side: Side) -> bool:
    """A node whose ``$ref`` could be said to have moved: not an empty schema (any value), and
    not an ``anyOf``/``oneOf``, whose alternatives are paired with the other side instead."""
    schema = side.schema
    return isinstance(schema, Mapping) and schema != {} and combinator(schema) is None
