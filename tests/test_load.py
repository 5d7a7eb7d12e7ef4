"""Load mode (``mockserver.load`` and ``r360-webhooks load``): pacing, the series, the findings.

The pacer and the series are checked on a virtual clock and synthetic attempts (exact numbers);
the command runs against the reference consumer on 127.0.0.1 limited to 50/s with a burst of 5,
so 429s appear at 100/s, and the per-second numbers are checked with generous tolerances (a
functional check on a shared 2-core machine, not a benchmark: see bench/ and the README).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from contracts.bulk import BodyMix
from contracts.cli import _load_run as load_cli
from contracts.cli import main
from mockserver.auth import BearerAuth
from mockserver.consumer import ConsumerConfig
from mockserver.delivery import Sender
from mockserver.delivery.clock import FakeClock
from mockserver.delivery.pacing import PlanPacer
from mockserver.delivery.records import Attempt
from mockserver.errors import UsageError
from mockserver.load import LoadPlan, LoadResult, LoadRun, SecondStats, Series
from mockserver.serving import serve_consumer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# -- the plan and the pacer, on a virtual clock ------------------------------------------------


def _starts(plan: LoadPlan) -> list[float]:
    """Start offsets the pacer gives when every booking is taken at once (a fast sender)."""
    clock = FakeClock()
    pacer = PlanPacer(plan, clock)
    starts = []
    while pacer.next_start() < plan.duration_s:
        starts.append(pacer.acquire() - clock.DEFAULT_START)
    return starts


def test_constant_rate_is_evenly_spaced_and_ends_before_the_duration() -> None:
    starts = _starts(LoadPlan(10, 2))
    assert len(starts) == 20
    assert starts == pytest.approx([i / 10 for i in range(20)])


def test_a_ramp_follows_the_plans_integral_second_by_second() -> None:
    plan = LoadPlan(100, 4, ramp=True)
    starts = _starts(plan)
    per_second = [sum(1 for s in starts if i <= s < i + 1) for i in range(4)]
    expected = [plan.expected(i, i + 1) for i in range(4)]
    assert expected == pytest.approx([13.375, 38.125, 62.875, 87.625])
    assert all(abs(got - want) <= 1 for got, want in zip(per_second, expected, strict=True))
    assert plan.start_rate == 1.0 and plan.rate_at(2) == pytest.approx(50.5)


def test_a_late_sender_is_not_made_up_for_with_a_burst() -> None:
    clock = FakeClock()
    pacer = PlanPacer(LoadPlan(10, 10), clock)
    pacer.acquire()
    clock.advance(1.0)  # the sender was busy for a second
    assert pacer.reserve() == 0.0  # goes now...
    assert pacer.reserve() == pytest.approx(0.1)  # ...and the next is one interval later


@pytest.mark.parametrize(
    ("rate", "duration", "message"),
    [
        (0, 1, "--rate 0 must be from 0.001 to 1e+06 per second"),
        (math.inf, 1, "--rate inf must be from 0.001"),
        (1e-300, 1, "--rate 1e-300 must be from 0.001"),
        (10, -1, "--duration -1 must be more than 0 and at most 86400 s"),
        (10, math.nan, "--duration nan must be more than 0"),
    ],
)
def test_a_plan_refuses_nonsense(rate: float, duration: float, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("+", r"\+")):
        LoadPlan(rate, duration)


# -- bodies --------------------------------------------------------------------------------------


def test_the_body_mix_has_the_asked_share_and_unique_ids() -> None:
    mix = BodyMix(seed=4, evolved_share=0.3, templates=16)
    bodies = [next(mix) for _ in range(2000)]
    evolved = sum(1 for b in bodies if b.changes)
    assert 0.25 < evolved / len(bodies) < 0.35
    assert len({b.key for b in bodies}) == len(bodies)
    again = BodyMix(seed=4, evolved_share=0.3, templates=16)
    assert [next(again).body for _ in range(50)] == [b.body for b in bodies[:50]]
    valid, evolved = (BodyMix(seed=1, evolved_share=s, templates=8) for s in (0.0, 1.0))
    assert not any(next(valid).changes for _ in range(50))
    assert all(next(evolved).changes for _ in range(50))
    neighbours = [BodyMix(seed=s, evolved_share=0.5, templates=8) for s in (7, 8)]
    keys = [next(mix).key for mix in neighbours for _ in range(500)]
    assert len(set(keys)) == len(keys)  # mixes of neighbouring seeds (locust workers) never meet
    with pytest.raises(UsageError, match="evolved share 2 must be between 0 and 1"):
        BodyMix(seed=1, evolved_share=2)


# -- the series and what it says ----------------------------------------------------------------


def _attempt(status: int | None, duration: float = 0.01, kind: str | None = None) -> Attempt:
    attempt = Attempt(number=1, started_at=0.0, duration_s=duration, request_headers={})
    attempt.status = status
    attempt.error_kind = kind  # type: ignore[assignment]
    return attempt


def _result(series: Series) -> LoadResult:
    seconds = tuple(series.seconds())
    return LoadResult(
        url="http://127.0.0.1:1/x",
        engine="aiohttp",
        concurrency=4,
        plan=series.plan,
        seconds=seconds,
        totals=series.window(0, len(seconds) - 1),
        elapsed_s=float(len(seconds)),
        _series=series,
    )


def test_the_series_buckets_by_start_second_and_names_the_limits() -> None:
    series = Series(LoadPlan(10, 3.5))
    for _ in range(10):
        series.add(_attempt(202), 0.5)
    for status in [200] * 6 + [429] * 6:
        series.add(_attempt(status), 1.2)
    for _ in range(13):
        series.add(_attempt(429), 2.9)
    series.add(_attempt(500), 2.0)
    series.add(_attempt(None, kind="timeout"), 3.1)
    series.add(_attempt(202), 3.5001)  # went out a moment after the end: the last second
    result = _result(series)
    assert [s.sent for s in result.seconds] == [10, 12, 14, 2]
    assert result.seconds[3].width_s == 0.5 and result.seconds[3].rate == 4.0
    assert result.seconds[2].errors == {"500": 1}
    assert result.totals.errors == {"500": 1, "timeout": 1}
    assert result.held is not None and (result.held.second, result.held.rate) == (1, 12.0)
    assert result.first_429 is not None and (result.first_429.second, result.first_429.rate) == (
        1,
        12.0,
    )
    assert result.first_error is not None and result.first_error.second == 2
    merged = result.windows(2)
    assert [(w.second, w.sent) for w in merged] == [(0, 22), (2, 16)]
    assert merged[1].width_s == 1.5


def test_latency_percentiles_are_those_of_the_second() -> None:
    series = Series(LoadPlan(100, 2))
    for ms in range(1, 101):
        series.add(_attempt(200, ms / 1000), 0.1)
    series.add(_attempt(200, 5.0), 1.1)
    first, second = series.seconds()
    assert (first.latency_p50_s, first.latency_p95_s, first.latency_p99_s) == (0.05, 0.095, 0.099)
    assert second.latency_p50_s == second.latency_p99_s == 5.0


def test_held_is_none_when_the_first_second_fails() -> None:
    series = Series(LoadPlan(10, 2))
    series.add(_attempt(401), 0.0)
    series.add(_attempt(200), 1.0)
    assert _result(series).held is None


def test_the_thread_engine_paces_on_the_senders_clock() -> None:
    """The httpx fallback (a transport, a virtual clock) runs the same plan, exactly."""
    answers = iter([202] * 12 + [429] * 6 + [503] * 2)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers))

    clock = FakeClock()
    sender = Sender(
        "http://127.0.0.1:9/hooks", transport=httpx.MockTransport(handler), retry="none",
        clock=clock,
    )  # fmt: skip
    with sender:
        run = LoadRun(sender, LoadPlan(10, 2), BodyMix(seed=2, evolved_share=0.5, templates=4),
                      concurrency=1)  # fmt: skip
        result = run.run()
    assert result.engine == "httpx"
    assert [(s.sent, s.ok, s.throttled, s.errors) for s in result.seconds] == [
        (10, 10, 0, {}),
        (10, 2, 6, {"503": 2}),
    ]
    assert result.first_429 is not None and result.first_429.second == 1
    assert result.held is not None and result.held.second == 0
    with pytest.raises(UsageError, match="either rate or pacer"):
        sender.deliver_many([], concurrency=1, rate=1, pacer=PlanPacer(LoadPlan(1, 1), clock))


def test_a_load_run_refuses_a_sender_that_retries() -> None:
    with (
        Sender("http://127.0.0.1:9/x", retry="quick") as sender,
        pytest.raises(UsageError, match="counts each request once"),
    ):
        LoadRun(sender, LoadPlan(1, 1), BodyMix(seed=1, evolved_share=0))


# -- end to end on loopback ----------------------------------------------------------------------


def test_load_at_twice_the_consumers_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, plot = tmp_path / "load.json", tmp_path / "load.png"
    with serve_consumer(ConsumerConfig(rate=50, burst=5)) as consumer:
        code = main([
            "load", consumer.url, "--rate", "100", "--duration", "3", "--seed", "7",
            "--report", str(report), "--plot", str(plot),
        ])  # fmt: skip
        ledger = consumer.consumer.ledger()
    out, err = capsys.readouterr()
    assert code == 0, out + err
    data = json.loads(report.read_text())
    assert set(data) == {
        "version", "url", "engine", "concurrency", "rate", "duration_s", "ramp", "start_rate",
        "seed", "evolved_share", "interrupted", "elapsed_s", "seconds", "totals", "held",
        "first_error", "first_429",
    }  # fmt: skip
    assert (data["version"], data["engine"], data["seed"], data["rate"]) == (1, "aiohttp", 7, 100)
    assert data["url"] == consumer.url and data["evolved_share"] == 0.3
    seconds = data["seconds"]
    assert [s["second"] for s in seconds] == [0, 1, 2]
    for s in seconds:
        assert set(s) == {
            "second", "start_s", "width_s", "asked_rate", "sent", "rate", "ok", "throttled",
            "errors", "latency_p50_s", "latency_p95_s", "latency_p99_s",
        }  # fmt: skip
        assert 80 <= s["sent"] <= 120, seconds
        assert s["ok"] + s["throttled"] == s["sent"] and s["errors"] == {}
        assert 0 < s["latency_p50_s"] <= s["latency_p95_s"] <= s["latency_p99_s"] < 5
    totals = data["totals"]
    assert totals["sent"] == sum(s["sent"] for s in seconds)
    assert 270 <= totals["sent"] <= 330 and totals["asked"] == 300
    # 50/s plus the burst of 5 is what a 50/s bucket lets through in 3 s; the rest is 429.
    assert 120 <= totals["ok"] <= 190 and totals["throttled"] >= 100
    assert ledger["accepted"] == totals["ok"] and ledger["rejected"] == {"429": totals["throttled"]}
    assert data["first_429"]["second"] == 0 and 80 <= data["first_429"]["rate"] <= 120
    assert data["first_error"] is None and 80 <= data["held"]["rate"] <= 120
    assert "first 429: second 0 at " in out and "429: none" not in out
    assert out.splitlines()[2].split() == [
        "second",
        "asked/s",
        "sent",
        "2xx",
        "429",
        "p50",
        "ms",
        "p95",
        "ms",
        "p99",
        "ms",
        "errors",
    ]
    assert err.strip() == "seed: 7"  # stderr is no terminal: no live table, no line in 3 s
    content = plot.read_bytes()
    assert content.startswith(PNG_SIGNATURE) and len(content) > 10_000


def test_a_ramp_climbs_and_finds_where_429s_begin() -> None:
    plan = LoadPlan(100, 4, ramp=True)
    with (
        serve_consumer(ConsumerConfig(rate=50, burst=5)) as consumer,
        Sender(consumer.url, retry="none") as sender,
    ):
        run = LoadRun(sender, plan, BodyMix(seed=3, evolved_share=0.3), concurrency=16)
        result = run.run()
    sent = [s.sent for s in result.seconds]
    assert all(a < b for a, b in itertools.pairwise(sent)), sent
    for stats in result.seconds:  # 13.4, 38.1, 62.9, 87.6 asked
        assert abs(stats.sent - stats.asked_rate) <= 0.2 * stats.asked_rate + 2, sent
    assert result.seconds[0].throttled == 0
    first = result.first_429
    # The bucket of 5 runs dry about 0.6 s after the ramp passes 50/s (t = 2): second 2 or 3.
    assert first is not None and 35 <= first.rate <= 95, result.seconds
    assert result.first_error is None and result.held is not None
    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(load_cli._live_renderable(run))
    console.file.close()
    live = console.export_text()
    assert "load ramp 1 to 100/s" in live and "total" in live and "p95 ms" in live


def test_errors_other_than_429_fail_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(load_cli, "PROGRESS_EVERY_S", 0.4)
    with serve_consumer(ConsumerConfig(auth=BearerAuth("right-token-0123456789"))) as consumer:
        code = main(["load", consumer.url, "--rate", "20", "--duration", "1.2", "--seed", "1"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "held without errors (429 aside): nothing, the first second already had errors" in out
    assert "429: none" in out
    assert "401: " in out.splitlines()[3]  # second 0's row names the kind
    assert "sent" in err and "errors" in err  # plain progress lines, as in a CI log


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0", "--duration", "3"], "--rate 0 must be from 0.001 to 1e+06 per second"),
        (
            ["--rate", "10", "--duration", "-1"],
            "--duration -1 must be more than 0 and at most 86400 s",
        ),
        (
            ["--rate", "10", "--duration", "1", "--evolved-share", "2"],
            "--evolved-share 2 must be between 0 and 1",
        ),
        (["--rate", "10", "--duration", "1", "--concurrency", "0"], "--concurrency 0"),
        (["--rate", "10", "--duration", "1", "--plot", "x.svg"], "must name a .png file"),
        (["--rate", "10", "--duration", "1", "--report", "/nope/r.json"], "does not exist"),
        (["--rate", "10", "--duration", "1", "--auth", "bearer"], "--auth: bearer needs more"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["load", "http://127.0.0.1:9/hooks", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("r360-webhooks: error: "), err
    assert message in err


def test_a_bad_url_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "ftp://127.0.0.1/hooks", "--rate", "10", "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an absolute http(s) URL" in err


def test_a_value_argparse_cannot_read_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["load", "http://127.0.0.1:9/hooks", "--rate", "fast", "--duration", "1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid float value: 'fast'" in err


def test_second_stats_json_is_plain_data() -> None:
    stats = SecondStats(0, 0.0, 1.0, 10.0, 10, 9, 1, {}, 0.001, 0.002, 0.003)
    assert json.loads(json.dumps(stats.to_json()))["rate"] == 10.0
