"""`ftops metrics` on a job trained on the local Foundry, in a terminal without a display."""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.e2e.conftest import Project


@pytest.fixture
def trained(project: Project) -> Project:
    r = project.ftops("apply", "--wait", "--auto-approve")
    assert r.code == 0, r.err
    return project


def test_metrics_by_spec_name_in_every_format(trained: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    r = trained.ftops("metrics", "clippy")
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "Loss" in r.out and "Mean token accuracy" in r.out
    job_id = re.search(r"job (ftjob-[0-9a-f]+) \(succeeded\)", r.out)
    assert job_id is not None and "from results.csv" in r.out
    assert r.out.count("ftchkpt-") == 3  # the three kept checkpoints

    data = json.loads(trained.ftops("metrics", "clippy", "--format", "json").out)
    assert data["job"] == job_id.group(1) and data["source"] == "results.csv"
    assert len(data["steps"]) > 10 and data["steps"][0]["train_loss"] is not None
    assert [c["step"] for c in data["checkpoints"]] == sorted(c["step"] for c in data["checkpoints"])

    md = trained.ftops("metrics", job_id.group(1), "--format", "markdown").out
    block = md[md.index("```mermaid"):]
    block = block[:block.index("```", 3) + 3]
    assert "xychart-beta" in block and re.search(r'x-axis "step" \[[0-9, ]+\]', block)
    assert len(re.findall(r"    line \[[-0-9., e]+\]", block)) == 3


def test_png_is_written_when_the_extra_is_installed(trained: Project) -> None:
    pytest.importorskip("matplotlib")
    png = trained.root / "curves.png"
    r = trained.ftops("metrics", "clippy", "--png", str(png))
    assert r.code == 0, r.err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"Wrote {png}" in r.out


def test_bad_job_names_and_missing_matplotlib_are_one_line_errors(trained: Project,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    r = trained.ftops("metrics", "nope")
    assert r.code == 1 and r.err.strip() == ("error: no FineTuningJob named 'nope' in the specs (known: clippy); "
                                             "or pass an ftjob-... id")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = trained.ftops("metrics", "clippy", "--png", str(trained.root / "x.png"))
    assert r.code == 1 and r.err.strip() == "error: --png needs matplotlib: pip install 'ftops[png]'"


def test_a_spec_with_no_job_yet_says_so(project: Project) -> None:
    r = project.ftops("metrics", "clippy")
    assert r.code == 1 and "no succeeded or running job" in r.err and len(r.err.strip().splitlines()) == 1
