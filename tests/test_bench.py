"""The benchmark harness judges honestly: medians, labelled fixed figures, exit 1 on a miss.

The benchmarks themselves run in ``make bench`` (minutes, nginx, wrk); this pins the arithmetic
and the verdicts they are read by, with made-up figures.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import run as bench_run
from bench.common import Measure, Row, Target, interleaved


def test_a_measure_is_read_by_its_median_and_spread() -> None:
    measure = Measure((3.0, 1.0, 100.0, 2.0, 4.0))
    assert (measure.median, measure.low, measure.high, measure.runs) == (3.0, 1.0, 100.0, 5)
    with pytest.raises(ValueError, match="at least one run"):
        Measure(())


@pytest.mark.parametrize(
    ("target", "ratio", "holds"),
    [
        (Target.at_least(0.9), 0.9, True),
        (Target.at_least(0.9), 0.89, False),
        (Target.at_most(10), 10.5, False),
        (Target.at_most(10), 4.3, True),
        (Target.between(0.98, 1.02), 1.03, False),
        (Target.between(0.98, 1.02), 0.99, True),
    ],
)
def test_targets_hold_or_miss(target: Target, ratio: float, holds: bool) -> None:
    assert target.holds(ratio) is holds


def test_a_row_compares_medians_and_says_when_it_missed() -> None:
    ours, peer = Measure((8.0, 9.0, 50.0)), Measure((10.0, 10.0, 1.0))
    row = Row.same_run("send", ours, "library", peer, "deliveries/s", Target.at_least(0.9))
    assert row.ratio == pytest.approx(0.9) and not row.missed and row.verdict == "held"
    assert row.ratio_range == (8.0 / 10.0, 50.0 / 1.0)  # worst pairing to best
    slow = Row.same_run("send", 8.0, "library", 10.0, "deliveries/s", Target.at_least(0.9))
    assert slow.missed and slow.verdict == "MISSED"
    info = Row.same_run("send", 1.0, "wrk", 100.0, "deliveries/s")
    assert not info.missed and info.verdict == ""
    alone = Row.alone("verify requests/s", 47.0, "req/s")
    assert alone.ratio is None and not alone.missed


def test_a_fixed_figure_is_labelled_as_one() -> None:
    row = Row.against_fixed("peak RSS", 94.0, "budget (MB)", 150, "MB", Target.at_most(1.0))
    assert row.fixed and row.to_json()["peer_kind"] == "fixed"
    table = bench_run.markdown([row], "header")
    assert "| fixed: budget (MB), 150 |" in table
    same = Row.same_run("x", Measure((1.0, 2.0, 3.0)), "wrk", Measure((4.0, 5.0, 6.0)), "s")
    assert "| wrk: 5 (4-6, 3 runs) |" in bench_run.markdown([same], "header")


def test_contenders_run_interleaved(capsys: pytest.CaptureFixture[str]) -> None:
    order: list[str] = []
    measures = interleaved(
        {"a": lambda: order.append("a") or 1.0, "b": lambda: order.append("b") or 2.0}, 3
    )
    assert order == ["a", "b", "a", "b", "a", "b"]
    assert measures["b"].samples == (2.0, 2.0, 2.0)
    assert "run 3/3  b: 2" in capsys.readouterr().out


def _fake(rows: list[Row]) -> SimpleNamespace:
    return SimpleNamespace(run=lambda: rows)


def test_make_bench_exits_1_when_a_target_misses_and_writes_the_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench-table -->\nold table\n<!-- /bench-table -->\nafter\n")
    held = Row.same_run("fast", 10.0, "peer", 10.0, "x/s", Target.at_least(0.9))
    missed = Row.same_run("slow", 1.0, "peer", 10.0, "x/s", Target.at_least(0.9))
    monkeypatch.setattr(bench_run, "README", readme)
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(bench_run.write_readme, "__defaults__", (readme,))
    monkeypatch.setattr(bench_run, "BENCHMARKS", {"one": _fake([held])})
    assert bench_run.main(["--readme"]) == 0
    text = readme.read_text()
    assert "old table" not in text and "| fast | 10 x/s |" in text and text.endswith("after\n")
    monkeypatch.setattr(bench_run, "BENCHMARKS", {"one": _fake([held]), "two": _fake([missed])})
    assert bench_run.main(["--readme"]) == 1
    assert "MISSED: slow" in capsys.readouterr().err
    readme.write_text("untouched")
    assert bench_run.main(["--readme", "one"]) == 0  # a partial run leaves the README alone
    assert readme.read_text() == "untouched"
