"""The strict view: which parts of a body the contract does not describe.

The schemas are open on purpose (Record360 may add properties at any time), so validation alone
cannot tell a documented field from a new one. This module derives the strict reading from the
same open schemas instead of keeping a closed second copy that would drift:

* an object schema that lists ``properties`` and says nothing about ``additionalProperties`` is a
  *record*: a key it does not list is undocumented;
* an object schema with ``additionalProperties`` (a schema or ``true``) is a *map*: its keys are
  data chosen by the customer (checklist labels, notation sections, ``extended`` attributes), so
  new keys are described, and their values are walked with the ``additionalProperties`` schema.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts import schemas
from contracts.schemas import JSON
from contracts.walk import iter_nodes

__all__ = ["undocumented"]


def undocumented(
    payload: JSON, *, event: str | None = None, schema_set: schemas.SchemaSet | None = None
) -> list[str]:
    """JSON paths in ``payload`` that the contract does not describe, in document order.

    Unknown keys are reported where they appear (``$.transaction.photos[0].blur_score``); their
    contents are not walked further. For a body of an unknown event, the unknown resource key is
    reported and a known resource key is walked with its usual schema. ``schema_set`` is the
    bundled contract unless given.
    """
    if not isinstance(payload, Mapping):
        return []
    chosen = schema_set or schemas.bundled()
    if event is None:
        spec = chosen.envelope_of(payload)
        event = spec.name if spec else chosen.known_events[0].name
    return [
        schemas.format_path(n.path)
        for n in iter_nodes(payload, event=event, schema_set=chosen)
        if n.schema is None
    ]
