"""The slow path: the Python ``jsonschema`` validator, for the details of an invalid body.

Why it is separate: jsonschema's errors carry everything a person needs (the failing keyword, the
instance, the branches of an ``anyOf``), so every :class:`~contracts.schemas.Violation` message
comes from here. But importing ``jsonschema`` pulls its format checkers (about 0.1 s; 1.5 s when
``rfc3987_syntax`` is installed, which this project no longer depends on). So this module is
imported only when a body has already failed the fast path of :mod:`contracts._fastpath`, or when
a caller asks for :func:`contracts.schemas.validator_for` explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry

from contracts.jsontext import format_path, json_type, short
from contracts.schemas import Violation

__all__ = ["python_validator", "violations"]


def python_validator(schema: Mapping[str, Any], registry: Registry[Any]) -> Draft202012Validator:
    """The reference validator: JSON Schema 2020-12 with ``format`` (date-time, uri) checked."""
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def violations(validator: Draft202012Validator, payload: Any) -> list[Violation]:
    """Every violation the reference validator finds, deduplicated and sorted by path."""
    found = {v for error in validator.iter_errors(payload) for v in _violations(error)}
    return sorted(found, key=lambda v: (v.path, v.rule, v.message))


def _violations(error: ValidationError) -> Iterator[Violation]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        deepest = best_match(error.context)
        if deepest.validator not in ("type", "anyOf", "oneOf"):
            yield from _violations(deepest)
            return
    path = format_path(error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        required: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        for name in required:
            if name not in instance and error.message.startswith(repr(name)):
                yield Violation(format_path([*error.absolute_path, name]), "required", "missing")
        return
    rule = str(error.validator)
    if rule in ("anyOf", "oneOf") and all(e.validator == "type" for e in error.context):
        rule = "type"  # a nullable field given the wrong type: say so plainly
    yield Violation(path, rule, _message(error))


def _message(error: ValidationError) -> str:
    rule = error.validator
    value: Any = error.validator_value  # typed Any | Unset; always set on a raised error
    instance: Any = error.instance
    if rule == "type":
        return f"expected {_expected_types(value)}, got {json_type(instance)} {short(instance)}"
    if rule in ("anyOf", "oneOf") and error.context:
        context: list[Any] = [e.validator_value for e in error.context if e.validator == "type"]
        types = [_expected_types(v) for v in context]
        expected = list(dict.fromkeys(types))
        if expected:
            return f"expected {' or '.join(expected)}, got {json_type(instance)} {short(instance)}"
    if rule == "const":
        return f"expected {short(value)}, got {short(instance)}"
    if rule == "format":
        return f"{short(instance)} is not a valid {value}"
    if rule == "maxLength":
        return f"longer than {value} characters ({len(instance)})"
    if rule == "minLength":
        return f"shorter than {value} characters ({len(instance)})"
    if rule in ("minItems", "maxItems"):
        return f"{len(instance)} items; {rule} is {value}"
    if rule in ("minimum", "maximum"):
        return f"{short(instance)} is outside the allowed range ({rule} {value})"
    return error.message if len(error.message) < 200 else error.message[:197] + "..."


def _expected_types(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else " or ".join(value)
