"""The spec file `ftops import` writes: ordered, commented, loads back through `ftops validate`, and the plan
over it (offline, on the same snapshot) changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from ftops.checks import validate_dir
from ftops.cli import main
from ftops.cli._import_yaml import comment_text, import_yaml
from ftops.foundry import Snapshot
from ftops.plan import LiveState, decide, decide_import
from tests.conftest import FOUNDRY, MakeProject
from tests.unit.plan.test_import_specs import BASE, deployment, file, job, write_import


def _snapshot() -> Snapshot:
    return Snapshot(files=[file("file-t", "Train Set.jsonl\n# injected: true"), file("file-v", "valid.jsonl")],
                    jobs=[job("ftjob-1", validation_file="file-v")],
                    deployments=[deployment("bot-prod", f"{BASE}.ft-ftjob-1")])


def test_the_file_is_ordered_commented_and_validates(make_project: MakeProject, capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    root = make_project(spec=FOUNDRY)
    decision = decide_import(validate_dir(root / "specs", root), _snapshot(), {})
    text = import_yaml(decision, {d.name: "a" * 64 for d in decision.datasets}, where="https://x",
                       now=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    assert text.startswith("# Written by `ftops import` on 2026-01-02 00:00 UTC from https://x.")
    assert "\n# injected" not in text and "# file-t (Train Set.jsonl?# injected: true" in text
    docs = list(yaml.safe_load_all(text))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Dataset", "train-set-jsonl-injected-true"), ("Dataset", "valid"), ("FineTuningJob", "bot"), ("Deployment", "bot-prod")]
    assert list(docs[2]["spec"]) == ["baseModel", "method", "trainingType", "trainingData", "validationData",
                                     "hyperparameters", "suffix", "seed", "adopt"]
    assert docs[3]["spec"]["model"] == {"job": "bot", "checkpoint": "final"}

    write_import(root, decision)
    with pytest.raises(SystemExit) as done:
        main(["validate", str(root / "specs")])
    assert done.value.code == 0, capsys.readouterr().err


def test_the_plan_over_imported_specs_is_empty(make_project: MakeProject) -> None:
    root = make_project(spec=FOUNDRY)
    snap = _snapshot()
    write_import(root, decide_import(validate_dir(root / "specs", root), snap, {}))
    checked = validate_dir(root / "specs", root)
    plan = decide(checked, LiveState(snap, now=1_800_000_000.0))
    assert not plan.has_changes and {a.action for a in plan.actions} == {"no-op"}, [a.reason for a in plan.actions]
    assert not any(a.blocked for a in plan.actions)


def test_comment_text_is_one_printable_line() -> None:
    assert comment_text("a\nb\r\x1b[31mc\u2028") == "a?b??[31mc?"


def test_import_refuses_an_existing_file_before_connecting(make_project: MakeProject, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(spec=FOUNDRY)
    (root / "specs" / "imported.yaml").write_text("# mine\n")
    with pytest.raises(SystemExit) as done:
        main(["import", str(root / "specs"), "--out", str(root / "specs" / "imported.yaml")])
    err = capsys.readouterr().err
    assert done.value.code == 1 and "exists" in err and "--force" in err and err.count("\n") == 1
    assert (root / "specs" / "imported.yaml").read_text() == "# mine\n"
