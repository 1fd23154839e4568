"""Charts of training curves and the verdict table, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ftops.cli import _charts as charts
from ftops.foundry import CheckpointMetrics, JobMetrics, LiveJob, StepMetrics, parse_results_csv

CSV = (b"step,train_loss,train_mean_token_accuracy,valid_loss,validation_mean_token_accuracy,full_valid_loss,"
       b"full_valid_mean_token_accuracy\n" + b"".join(
           f"{s},{2 / s:.4f},{1 - 1 / (s + 1):.4f},{2.2 / s:.4f},{0.9 - 1 / (s + 2):.4f},"
           f"{'0.5' if s % 50 == 0 else ''},{'0.8' if s % 50 == 0 else ''}\n".encode() for s in range(1, 151)))


def metrics() -> JobMetrics:
    job = LiveJob(id="ftjob-1", status="succeeded", model="gpt-4.1-mini", created_at=0, fine_tuned_model="ft-1",
                  metadata={}, training_file=None, validation_file=None, n_epochs=3)
    cps = tuple(CheckpointMetrics(f"ftchkpt-{e}", 50 * e, None, 0.3, 0.5, 0.5, 0.8) for e in (1, 2, 3))
    return JobMetrics(job, tuple(parse_results_csv(CSV)), cps, "results.csv")


def test_results_csv_parses_plain_and_base64() -> None:
    import base64

    rows = parse_results_csv(CSV)
    assert len(rows) == 150 and rows[0] == StepMetrics(1, 2.0, 0.5, 2.2, 0.5667, None, None)
    assert rows[49].full_valid_loss == 0.5 and rows[49].full_valid_accuracy == 0.8
    assert parse_results_csv(base64.b64encode(CSV)) == rows
    assert parse_results_csv(b"not a csv at all") == []


def test_terminal_chart_is_plain_text_without_a_display() -> None:
    text = charts.terminal_chart(charts.loss_chart(metrics()), width=60, height=15)
    assert "\x1b" not in text and "Loss" in text and "train" in text and "valid" in text
    assert len(text.splitlines()) >= 10


def test_mermaid_block_is_a_valid_xychart() -> None:
    block = charts.mermaid_xychart(charts.loss_chart(metrics()))
    lines = block.splitlines()
    assert lines[0] == "```mermaid" and lines[1] == "xychart-beta" and lines[-1] == "```"
    assert re.fullmatch(r'    title "[^"]+"', lines[2])
    x = re.fullmatch(r'    x-axis "step" \[([0-9, ]+)\]', lines[3])
    assert x is not None
    steps = [int(v) for v in x.group(1).split(", ")]
    assert len(steps) == charts.MERMAID_POINTS and steps == sorted(steps) and steps[-1] == 150
    assert re.fullmatch(r'    y-axis "loss" 0 --> [0-9.]+', lines[4])
    series = [re.fullmatch(r"    line \[([-0-9., e]+)\]", ln) for ln in lines[5:-1]]
    assert len(series) == 3 and all(s is not None and len(s.group(1).split(", ")) == len(steps) for s in series)


def test_markdown_report_and_verdict_table() -> None:
    md = charts.metrics_markdown(metrics(), "clippy")
    assert md.count("```mermaid") == 2 and "| `ftchkpt-2` | 100 | 0.5000 |" in md
    table = charts.verdict_table_markdown(
        ["exact", "rouge|l"],
        [charts.VerdictRow("epoch 3", {"exact": 0.62, "rouge|l": 0.71}, "promote"),
         charts.VerdictRow("epoch 2", {"exact": 0.55, "rouge|l": None}, "below threshold")],
        charts.VerdictRow("clippy-prod (serving)", {"exact": 0.5, "rouge|l": 0.6}, "—"))
    lines = table.splitlines()
    assert lines[0] == "| candidate | exact | rouge\\|l | verdict |"
    assert lines[1] == "|---|---:|---:|---|"
    assert lines[2] == "| clippy-prod (serving) (baseline) | 0.5000 | 0.6000 | — |"
    assert lines[3] == "| epoch 3 | 0.6200 (+0.1200) | 0.7100 (+0.1100) | promote |"
    assert lines[4] == "| epoch 2 | 0.5500 (+0.0500) | — | below threshold |"


def test_png_is_written_when_matplotlib_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves.png"
    m = metrics()
    charts.write_png([charts.loss_chart(m), charts.accuracy_chart(m)], out, "clippy")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_without_matplotlib_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from ftops._exceptions import FtopsError

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(FtopsError, match=r"pip install 'ftops\[png\]'"):
        charts.write_png([charts.loss_chart(metrics())], tmp_path / "x.png", "t")
    assert not (tmp_path / "x.png").exists()


def test_png_is_written_to_exactly_the_path_named(tmp_path: Path) -> None:
    """matplotlib appended `.png` to a name without a suffix (`--png /dev/full` made /dev/full.png)."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves"
    charts.write_png([charts.loss_chart(metrics())], out, "clippy")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and sorted(p.name for p in tmp_path.iterdir()) == ["curves"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_png_write_failure_is_one_line() -> None:
    pytest.importorskip("matplotlib")
    from ftops._exceptions import FtopsError

    with pytest.raises(FtopsError) as e:
        charts.write_png([charts.loss_chart(metrics())], Path("/dev/full"), "clippy")
    assert str(e.value) == "/dev/full: cannot write the PNG: No space left on device"
    assert not Path("/dev/full.png").exists()


def test_a_png_into_a_directory_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from ftops._exceptions import FtopsError

    with pytest.raises(FtopsError, match="cannot write the PNG: Is a directory"):
        charts.write_png([charts.loss_chart(metrics())], tmp_path, "clippy")
    assert list(tmp_path.iterdir()) == []
