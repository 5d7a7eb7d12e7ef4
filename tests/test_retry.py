"""Retry presets, ``--retry`` parsing, status rules and ``Retry-After`` (RFC 9110 §10.2.3)."""

from __future__ import annotations

import dataclasses
import email.utils
import itertools
import random
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.delivery import Delivery, FakeClock, Sender
from mockserver.delivery.retry import (
    MAX_DELAY_S,
    PRESETS,
    RetryPolicy,
    classify_status,
    next_delay,
    parse_retry,
    parse_retry_after,
)
from mockserver.delivery.throttle import (
    DEFAULT_THROTTLE_WAIT,
    MAX_THROTTLE_ATTEMPTS,
    ZERO_WAIT_GRACE_S,
    Budget,
    ThrottleRetry,
)
from mockserver.errors import UsageError

NOW = 1_700_000_000.0
HOUR = 3600.0


@pytest.mark.parametrize(
    ("name", "attempts", "window"),
    [
        ("standard", 10, 75 * HOUR + 35 * 60 + 5),
        ("svix", 8, 27 * HOUR + 35 * 60 + 5),
        ("shopify", 8, 254 * 60),
        ("stripe-test", 4, 3.5 * HOUR),
        ("none", 1, 0.0),
        ("quick", 3, 6.0),
    ],
)
def test_presets(name: str, attempts: int, window: float) -> None:
    policy = parse_retry(name)

    assert policy is PRESETS[name]
    assert policy.name == name
    assert policy.max_attempts == attempts
    assert policy.window == window
    assert policy.jitter == 0.1
    assert policy.retry_after_cap == 2 * HOUR


def test_shopify_preset_doubles_over_about_four_hours() -> None:
    delays = PRESETS["shopify"].delays
    assert all(b == 2 * a for a, b in itertools.pairwise(delays))
    assert 3.5 * HOUR <= sum(delays) <= 4.5 * HOUR


def test_policies_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["standard"].jitter = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        PRESETS["bogus"] = PRESETS["none"]  # type: ignore[index]


def test_preset_names_are_case_and_space_insensitive() -> None:
    assert parse_retry("  Standard ") is PRESETS["standard"]


def test_custom_delays_are_the_waits_before_attempts_2_to_n() -> None:
    policy = parse_retry("custom:0, 5,30.5")

    assert policy.delays == (0.0, 5.0, 30.5)
    assert policy.max_attempts == 4
    assert policy.name == "custom:0,5,30.5"


def test_an_unknown_preset_names_it_and_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError) as info:
        parse_retry("agressive")

    message = str(info.value)
    assert "'agressive'" in message
    for name in ("standard", "svix", "shopify", "stripe-test", "none", "quick", "custom:"):
        assert name in message


@pytest.mark.parametrize(
    ("text", "bad"),
    [("custom:5,x", "'x'"), ("custom:-1", "'-1'"), ("custom:", "''"), ("custom:nan", "'nan'")],
)
def test_bad_custom_delays_name_the_bad_item(text: str, bad: str) -> None:
    with pytest.raises(UsageError, match=f"{text!r}: {bad} is not a delay in seconds"):
        parse_retry(text)


@pytest.mark.parametrize(
    "options",
    [{"delays": (-1.0,)}, {"delays": (float("inf"),)}, {"jitter": -0.1}, {"retry_after_cap": -1}],
)
def test_policy_values_are_validated(options: dict[str, object]) -> None:
    fields: dict[str, object] = {"name": "x", "delays": (1.0,), **options}
    with pytest.raises(UsageError, match="retry policy 'x'"):
        RetryPolicy(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (299, "delivered"),
        (410, "gone"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (504, "retry"),
        (301, "redirect"),
        (304, "redirect"),
        (400, "rejected"),
        (404, "rejected"),
        (409, "rejected"),
    ],
)
def test_status_rules(status: int, verdict: str) -> None:
    assert classify_status(status) == verdict


# -- Retry-After ---------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**12))
def test_retry_after_delta_seconds(seconds: int) -> None:
    assert parse_retry_after(str(seconds), NOW) == seconds


@given(st.integers(min_value=-(10**6), max_value=10**8))
def test_retry_after_imf_fixdate_is_relative_to_now(offset: int) -> None:
    value = email.utils.formatdate(NOW + offset, usegmt=True)
    assert parse_retry_after(value, NOW) == max(0, offset)


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
        "Sun Nov  6 08:49:37 1994",  # obsolete asctime
    ],
)
def test_retry_after_accepts_the_three_http_date_forms(value: str) -> None:
    now = datetime(1994, 11, 6, 8, 48, 37, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now) == 60.0


def test_retry_after_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOW) == 0.0


@pytest.mark.parametrize("value", ["", " ", "soon", "-5", "1.5", "+5", "5s", "0x10", "Sun, 99"])
def test_invalid_retry_after_is_none(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


# -- next_delay ----------------------------------------------------------------------------


@given(seed=st.integers(0, 2**32), jitter=st.floats(0, 1), delay=st.floats(0, MAX_DELAY_S))
def test_jitter_multiplies_by_a_factor_in_1_to_1_plus_jitter(
    seed: int, jitter: float, delay: float
) -> None:
    policy = RetryPolicy("p", (delay,), jitter=jitter)
    result = next_delay(policy, 1, random.Random(seed))
    assert delay <= result <= delay * (1 + jitter) * (1 + 1e-12)


@given(
    delay=st.floats(0, 10**5),
    retry_after=st.floats(0, 10**6),
    cap=st.floats(0, 10**5),
)
def test_retry_after_is_honoured_up_to_the_cap(
    delay: float, retry_after: float, cap: float
) -> None:
    policy = RetryPolicy("p", (delay,), jitter=0.0, retry_after_cap=cap)
    result = next_delay(policy, 1, random.Random(0), retry_after)
    assert result == min(max(delay, retry_after), delay + cap)


def test_next_delay_uses_the_delay_for_the_failed_attempt() -> None:
    policy = RetryPolicy("p", (1.0, 2.0, 3.0), jitter=0.0)
    assert [next_delay(policy, n, random.Random(0)) for n in (1, 2, 3)] == [1.0, 2.0, 3.0]


# -- the verifier's policy: a 429 waited out for exactly what it says ----------------------------


def _throttled(*answers: httpx.Response) -> tuple[Sender, FakeClock]:
    queue = list(answers)
    clock = FakeClock(NOW)

    def consumer(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    sender = Sender(
        "http://127.0.0.1:9/hook",
        transport=httpx.MockTransport(consumer),
        retry=ThrottleRetry(per_delivery_s=30.0, clock=clock),
        clock=clock,
    )
    return sender, clock


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [
        ({"Retry-After": "0"}, 0.0),  # RFC 9110: delta-seconds, and 0 is valid: at once
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": email.utils.formatdate(NOW + 12, usegmt=True)}, 12.0),  # an HTTP-date
        ({}, DEFAULT_THROTTLE_WAIT),  # none: one second, as the docs promise
        ({"Retry-After": "soon"}, DEFAULT_THROTTLE_WAIT),  # unusable: the same
    ],
)
def test_the_verifier_waits_a_429_out_for_exactly_its_retry_after(
    retry_after: dict[str, str], waited: float
) -> None:
    sender, clock = _throttled(httpx.Response(429, headers=retry_after), httpx.Response(200))
    with sender:
        delivery = sender.deliver({"n": 1}, event="e")
    assert DEFAULT_THROTTLE_WAIT == 1.0
    assert delivery.delivered and [a.status for a in delivery.attempts] == [429, 200]
    assert clock.sleeps == [pytest.approx(waited)]


def test_the_verifier_retries_only_a_429() -> None:
    sender, clock = _throttled(httpx.Response(503, headers={"Retry-After": "1"}))
    with sender:
        delivery = sender.deliver({"n": 1}, event="e")
    assert len(delivery.attempts) == 1 and clock.sleeps == []
    assert delivery.detail is not None and "waits out only a 429" in delivery.detail


def test_a_limit_that_never_lifts_stops_at_the_per_delivery_limit_and_stops_the_others() -> None:
    budget = Budget(600.0, FakeClock(NOW))
    clock = FakeClock(NOW)
    policy = ThrottleRetry(per_delivery_s=5.0, budget=budget, clock=clock)
    limited = httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "1"}))
    with Sender("http://127.0.0.1:9/h", transport=limited, retry=policy, clock=clock) as sender:
        first = sender.deliver({"n": 1}, event="e")
        second = sender.deliver({"n": 2}, event="e")
    assert sum(clock.sleeps) == 5.0 and len(first.attempts) == 6
    assert "429 never lifted within 5 s, although it said Retry-After: 1" in str(first.detail)
    assert budget.limited is not None
    assert len(second.attempts) == 1 and "not waited for" in str(second.detail)


def test_a_retry_after_longer_than_the_budget_is_not_waited_for() -> None:
    budget_clock, clock = FakeClock(NOW), FakeClock(NOW)
    budget = Budget(60.0, budget_clock)
    sender = Sender(
        "http://127.0.0.1:9/h",
        transport=httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "45"})),
        retry=ThrottleRetry(per_delivery_s=120.0, budget=budget, clock=clock),
        clock=clock,
    )
    budget_clock.advance(30)  # 30 s of the 60 left: a 45 s wait does not fit
    with sender:
        delivery = sender.deliver({"n": 1}, event="e")
    assert clock.sleeps == [] and budget.limited is None  # an honest long wait is no penalty box
    assert "asked to wait 45 s (Retry-After: 45), more than the verifier waits" in str(
        delivery.detail
    )


def _limited_at_once(clock: FakeClock, per_request_s: float) -> httpx.MockTransport:
    """Always 429 ``Retry-After: 0``; each answer takes ``per_request_s`` on ``clock``."""

    def consumer(request: httpx.Request) -> httpx.Response:
        clock.advance(per_request_s)
        return httpx.Response(429, headers={"Retry-After": "0"})

    return httpx.MockTransport(consumer)


def _deliver(clock: FakeClock, transport: httpx.MockTransport, policy: ThrottleRetry) -> Delivery:
    with Sender("http://127.0.0.1:9/h", transport=transport, retry=policy, clock=clock) as sender:
        return sender.deliver({"n": 1}, event="e")


def test_a_retry_after_of_0_forever_stops_once_it_said_so_for_the_grace() -> None:
    """Waits of 0 s add up to nothing: the time since the zero-wait 429s began is what counts."""
    clock = FakeClock(NOW)
    budget = Budget(600.0, clock)
    policy = ThrottleRetry(per_delivery_s=30.0, budget=budget, clock=clock)
    delivery = _deliver(clock, _limited_at_once(clock, 0.5), policy)
    assert ZERO_WAIT_GRACE_S == 2.0
    assert clock.sleeps == [0.0] * 3 and len(delivery.attempts) == 4  # 2 s in after the 4th
    assert "429 never lifted within 2 s of saying Retry-After: 0" in str(delivery.detail)
    assert budget.limited is not None and "Retry-After: 0" in budget.limited


def test_a_zero_wait_run_is_timed_from_its_own_start() -> None:
    """A limiter that rounds down: "1", then "0" for what is left of its window, then lifts.
    The zero-wait run began 1.5 s in, so 3 s in it has lasted 1.5 s, under the grace."""
    clock = FakeClock(NOW)

    def consumer(request: httpx.Request) -> httpx.Response:
        now = clock.now() - NOW
        clock.advance(0.5)
        if now >= 3.0:
            return httpx.Response(200)
        return httpx.Response(429, headers={"Retry-After": "1" if now == 0 else "0"})

    policy = ThrottleRetry(per_delivery_s=30.0, clock=clock)
    delivery = _deliver(clock, httpx.MockTransport(consumer), policy)
    assert delivery.delivered, delivery.detail
    assert [a.started_at - NOW for a in delivery.attempts] == [0.0, 1.5, 2.0, 2.5, 3.0]


def test_a_retry_after_of_0_forever_stops_at_a_shorter_per_delivery_time() -> None:
    clock = FakeClock(NOW)
    policy = ThrottleRetry(per_delivery_s=1.5, budget=Budget(600.0, clock), clock=clock)
    delivery = _deliver(clock, _limited_at_once(clock, 1.0), policy)
    assert len(delivery.attempts) == 2
    assert "429 never lifted within 1.5 s, although it said Retry-After: 0" in str(delivery.detail)


def test_a_retry_after_of_0_forever_stops_after_the_most_attempts() -> None:
    budget = Budget(600.0, FakeClock(NOW))
    clock = FakeClock(NOW)  # never advances: the grace never passes, the count does
    policy = ThrottleRetry(per_delivery_s=30.0, budget=budget, clock=clock)
    transport = _limited_at_once(clock, 0.0)
    with Sender("http://127.0.0.1:9/h", transport=transport, retry=policy, clock=clock) as sender:
        first = sender.deliver({"n": 1}, event="e")
        second = sender.deliver({"n": 2}, event="e")
    assert len(first.attempts) == MAX_THROTTLE_ATTEMPTS == 10_000
    assert f"429 never lifted in {MAX_THROTTLE_ATTEMPTS} attempts" in str(first.detail)
    assert "although it said Retry-After: 0" in str(first.detail)
    assert len(second.attempts) == 1 and "not waited for" in str(second.detail)


def test_a_retry_after_of_0_stops_when_the_run_budget_is_spent() -> None:
    clock = FakeClock(NOW)
    budget = Budget(1.5, clock)
    policy = ThrottleRetry(per_delivery_s=30.0, budget=budget, clock=clock)
    delivery = _deliver(clock, _limited_at_once(clock, 1.0), policy)
    assert len(delivery.attempts) == 2 and budget.expired
    assert "time budget ran out while a 429 was waited out" in str(delivery.detail)
    assert budget.limited is None  # the run ended, not the consumer's limiter proven stuck


def test_an_http_date_in_the_past_is_no_wait_and_still_bounded() -> None:
    clock = FakeClock(NOW)
    past = email.utils.formatdate(NOW - 60, usegmt=True)

    def consumer(request: httpx.Request) -> httpx.Response:
        clock.advance(1.0)
        return httpx.Response(429, headers={"Retry-After": past})

    policy = ThrottleRetry(per_delivery_s=30.0, budget=Budget(600.0, clock), clock=clock)
    delivery = _deliver(clock, httpx.MockTransport(consumer), policy)
    assert set(clock.sleeps) == {0.0} and len(delivery.attempts) == 2
    assert "429 never lifted within 2 s of saying Retry-After: " in str(delivery.detail)
