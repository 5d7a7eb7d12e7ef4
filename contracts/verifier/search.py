"""Find the smallest body a consumer rejects, with Hypothesis doing the shrinking.

Each candidate costs a real HTTP request, so the search is bounded twice: ``examples`` bodies
are tried, and once one fails, shrinking may spend at most the shrink budget more (counted from
that first failure). Past the
budget every candidate counts as accepted, which stops the shrinker at the smallest failure it
has seen so far.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException, NoSuchExample

from contracts.verifier.context import BudgetSpent
from mockserver.delivery import Delivery
from mockserver.delivery.throttle import Budget

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Failure(Generic[T]):
    value: T
    delivery: Delivery
    tried: int


@dataclass(frozen=True, slots=True)
class Search(Generic[T]):
    failure: Failure[T] | None
    tried: int


def smallest_failure(
    strategy: st.SearchStrategy[T],
    judge: Callable[[T], Delivery | None],
    *,
    examples: int,
    shrink_budget: int,
    seed: int,
    budget: Budget | None = None,
) -> Search[T]:
    """Search ``strategy`` for a value ``judge`` fails (returns the failing delivery for).

    The run's ``budget`` bounds the search too: once it is spent, shrinking stops at the
    smallest failure seen; with no failure seen yet, :class:`BudgetSpent` is raised, since the
    examples not tried cannot be claimed as accepted.
    """
    failures: dict[str, tuple[T, Delivery]] = {}
    verdicts: dict[str, bool] = {}
    calls = 0
    spent = False
    # Until a failure: up to ``examples`` tries; after the first one, ``shrink_budget`` more, so
    # how small the reported body gets does not depend on how late the failure turned up.
    limit = examples + shrink_budget

    def fails(value: T) -> bool:
        # A body already judged keeps its verdict: Hypothesis replays its final example, and a
        # consumer that answers differently the second time would otherwise be "flaky".
        nonlocal calls, limit, spent
        key = _key(value)
        if key in verdicts:
            return verdicts[key]
        if calls >= limit:
            return False  # budget spent: nothing new counts, shrinking stops here
        if budget is not None and budget.expired:
            spent = True
            return False
        calls += 1
        try:
            delivery = judge(value)
        except BudgetSpent:
            spent = True
            return False
        verdicts[key] = delivery is not None
        if delivery is not None:
            if not failures:
                limit = calls + shrink_budget
            failures[key] = (value, delivery)
        return delivery is not None

    config = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    try:
        smallest = find(strategy, fails, settings=config, random=random.Random(seed))
    except NoSuchExample:
        if spent:
            size = f" ({budget.seconds:g} s, --max-time)" if budget is not None else ""
            raise BudgetSpent(
                f"the run's time budget{size} ran out after {calls} bodies, before the search ended"
            ) from None
        return Search(None, calls)
    except HypothesisException:
        # Still unstable (the consumer changes its mind about a body): report the smallest
        # failure seen rather than nothing.
        if not failures:
            return Search(None, calls)
        key = min(failures, key=len)
        return Search(Failure(failures[key][0], failures[key][1], calls), calls)
    value, delivery = failures[_key(smallest)]
    return Search(Failure(value, delivery, calls), calls)


def _key(value: Any) -> str:
    payload = getattr(value, "payload", value)
    return json.dumps(payload, sort_keys=False, default=str)
