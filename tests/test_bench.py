"""The benchmark harness judges honestly: medians, labelled fixed figures, exit 1 on a miss.

The benchmarks themselves run in ``make bench`` (minutes, nginx, wrk); this pins the arithmetic
and the verdicts they are read by, with made-up figures.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import common
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
    with pytest.raises(ValueError, match="a fixed figure is one value"):
        Row("peak RSS", Measure((1.0,)), "budget", Measure((1.0, 2.0)), "MB", fixed=True)
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
    assert "old table" not in text and "| fast | 10 (1 run) x/s |" in text
    assert text.endswith("after\n")
    monkeypatch.setattr(bench_run, "BENCHMARKS", {"one": _fake([held]), "two": _fake([missed])})
    assert bench_run.main(["--readme"]) == 1
    assert "MISSED: slow" in capsys.readouterr().err
    readme.write_text("untouched")
    assert bench_run.main(["--readme", "one"]) == 0  # a partial run leaves the README alone
    assert readme.read_text() == "untouched"


def test_a_same_run_row_with_unequal_runs_is_refused() -> None:
    """Issue 14, item 5: the median of N for both sides, never three of ours against one."""
    three, two = Measure((1.0, 2.0, 3.0)), Measure((4.0, 5.0))
    with pytest.raises(ValueError, match="ours has 3 runs and wrk 2 runs"):
        Row.same_run("send", three, "wrk", two, "deliveries/s", Target.at_least(0.1))
    with pytest.raises(ValueError, match="ours has 1 run and sender alone 2 runs"):
        Row.same_run("serve", 881.0, "sender alone", two, "deliveries/s")
    fixed = Row.against_fixed("pacing", three, "asked", 1000, "deliveries/s")  # one value: fine
    assert fixed.ratio_range == (1.0 / 1000, 3.0 / 1000)


@pytest.mark.parametrize("runs", [2, 3, 5])
def test_figures_carry_their_spread_whenever_there_is_more_than_one_run(runs: int) -> None:
    ours = Measure(tuple(float(10 + n) for n in range(runs)))
    peer = Measure(tuple(float(20 + n) for n in range(runs)))
    same = bench_run.markdown([Row.same_run("x", ours, "peer", peer, "s")], "header")
    assert f"(10-{9 + runs}, {runs} runs) s |" in same
    assert f"| peer: {bench_run._figure(peer)} |" in same and f"{runs} runs)" in same
    low, high = 10 / (19 + runs), (9 + runs) / 20
    assert f"x ({low:.3g}-{high:.3g}) |" in same
    fixed = bench_run.markdown([Row.against_fixed("x", ours, "budget", 100, "s")], "header")
    assert f"(10-{9 + runs}, {runs} runs) s | fixed: budget, 100 |" in fixed
    assert f"x ({10 / 100:.3g}-{(9 + runs) / 100:.3g}) |" in fixed


def test_a_single_run_says_so() -> None:
    assert bench_run._figure(Measure((59.1,))) == "59.1 (1 run)"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_the_revision_is_the_short_head_and_says_when_the_tree_was_dirty(tmp_path: Path) -> None:
    assert bench_run.revision(tmp_path) == "unknown (not a git checkout)"
    _git(tmp_path, "init", "-q")
    (tmp_path / "README.md").write_text("one\n")
    _git(tmp_path, "add", "README.md")
    _git(tmp_path, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "one")
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    (tmp_path / "untracked.txt").write_text("not part of the code measured")
    assert bench_run.revision(tmp_path) == head
    (tmp_path / "README.md").write_text("two\n")
    assert bench_run.revision(tmp_path) == f"{head}+dirty"


def test_the_table_and_the_results_name_the_revision_and_the_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-table -->\n<!-- /bench-table -->\n")
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(bench_run.write_readme, "__defaults__", (readme,))
    monkeypatch.setattr(bench_run, "revision", lambda: "abc1234+dirty")
    row = Row.same_run("fast", 10.0, "peer", 10.0, "x/s", Target.at_least(0.9))
    monkeypatch.setattr(bench_run, "BENCHMARKS", {"one": _fake([row])})
    assert bench_run.main(["--readme"]) == 0
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    assert readme.read_text().startswith(
        f"<!-- bench-table -->\nRun of {today} at abc1234+dirty on a "
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["revision"] == "abc1234+dirty" and results["started"].startswith(today)
    assert results["quick"] is False


def test_a_quick_run_never_writes_the_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-table -->\nthe last full run\n<!-- /bench-table -->\n")
    monkeypatch.setattr(bench_run, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(bench_run.write_readme, "__defaults__", (readme,))
    monkeypatch.setattr(bench_run, "QUICK", True)
    monkeypatch.setattr(bench_run, "BENCHMARKS", {"one": _fake([Row.alone("x", 1.0, "s")])})
    assert bench_run.main(["--readme"]) == 0
    assert "the last full run" in readme.read_text()
    assert "a quick run's figures are not the benchmark's" in capsys.readouterr().out


def test_knobs_read_the_environment_first_then_quick_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("R360_TEST_KNOB", raising=False)
    monkeypatch.setattr(common, "QUICK", False)
    assert common.knob("R360_TEST_KNOB", 5, 2) == 5
    monkeypatch.setattr(common, "QUICK", True)
    assert common.knob("R360_TEST_KNOB", 5, 2) == 2
    monkeypatch.setenv("R360_TEST_KNOB", "7")
    assert common.knob("R360_TEST_KNOB", 5, 2) == 7


def test_a_command_is_timed_from_spawn_to_exit_and_must_exit_as_expected() -> None:
    assert common.timed([sys.executable, "-c", "pass"]) > 0
    assert common.timed([sys.executable, "-c", "raise SystemExit(1)"], exit_codes=(1,)) > 0
    with pytest.raises(SystemExit, match="exited 3"):
        common.timed([sys.executable, "-c", "raise SystemExit(3)"])
