"""Piped output fits 100 columns: long lines fold, continuations indented under their start."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from contracts.cli import main
from contracts.cli._width import PIPED_WIDTH, echo, fold


def test_a_short_line_is_left_alone() -> None:
    assert fold("  delivered      3") == "  delivered      3"


def test_a_long_line_folds_under_its_indent() -> None:
    line = "  first dead letter: d-1: " + "status 500 with a long reason " * 8
    folded = fold(line).split("\n")
    assert len(folded) > 1 and all(len(part) <= PIPED_WIDTH for part in folded)
    assert folded[0].startswith("  first dead letter:")
    assert all(part.startswith("      ") for part in folded[1:])
    assert " ".join(p.strip() for p in folded) == line.strip()  # nothing lost, words whole


def test_a_word_longer_than_the_width_is_cut_not_overflowed() -> None:
    folded = fold("x" * 250).split("\n")
    assert "".join(p.strip() for p in folded) == "x" * 250
    assert all(len(part) <= PIPED_WIDTH for part in folded)


def test_echo_to_a_pipe_uses_100_columns() -> None:
    out = io.StringIO()
    echo("word " * 60, stream=out)
    assert max(len(line) for line in out.getvalue().splitlines()) <= PIPED_WIDTH


def test_diff_text_fits_when_piped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from contracts.schemas import schema_dir

    new = tmp_path / "v1"
    shutil.copytree(str(schema_dir()), new)
    text = (new / "asset.json").read_text()
    long_name = "a_property_name_long_enough_to_push_the_line_past_a_hundred_columns_for_sure"
    (new / "asset.json").write_text(text.replace('"id"', f'"{long_name}"', 1))
    assert main(["diff", "bundled", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert long_name in out.replace("\n", "").replace(" ", "")
    assert max(len(line) for line in out.splitlines()) <= PIPED_WIDTH, out
