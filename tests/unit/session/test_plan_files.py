"""Plan files: written atomically, read back whole, and refused (one line, nothing run) when wrong or stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ftops import FtopsError, PlanNotApproved, StalePlanError
from ftops.plan import Plan, decide
from ftops.session import load_plan_file, save_plan_file, verify_plan
from tests.conftest import BASE_SPEC, MakeProject
from tests.unit.plan.snapshots import world


def _fresh(make_project: MakeProject) -> tuple[Plan, Any]:
    w = world(make_project())
    return decide(w.checked, w.state(), endpoint="s/g/a", created_at=1.8e9), w.checked


def test_save_and_load_round_trip(tmp_path: Path, make_project: MakeProject) -> None:
    plan, _ = _fresh(make_project)
    path = tmp_path / "out" / "plan.json"
    save_plan_file(plan, path)
    assert load_plan_file(path).to_dict() == plan.to_dict()
    assert [p.name for p in path.parent.iterdir()] == ["plan.json"]  # no temporary file left behind


@pytest.mark.parametrize("content,message", [
    (None, "cannot read plan file"),
    ("{not json", "not a plan file (invalid JSON"),
    ("[1, 2]", "not a plan file"),
    ('{"format_version": 1}', "format_version 1"),
    ('{"format_version": 2}', "format_version 2; this ftops reads 3"),  # before jobs carried their request
    ('{"format_version": 3}', "plan file is malformed"),
    ('{"format_version": 3, "actions": "x"}', "plan file is malformed"),
    ('{"format_version": "' + "x" * 100_000 + '"}', "format_version 'xxxxx"),  # was repeated whole
])
def test_bad_plan_files_are_one_line_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(FtopsError) as e:
        load_plan_file(path)
    assert message in str(e.value) and "\n" not in str(e.value) and len(str(e.value)) < 300


def _tamper(plan: Plan, tmp_path: Path, edit: Any) -> Plan:
    data = plan.to_dict()
    edit(data)
    path = tmp_path / "tampered.json"
    path.write_bytes(orjson.dumps(data))
    return load_plan_file(path)


def _upload(data: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in data["actions"] if a["op"] == "dataset.upload")


@pytest.mark.parametrize("edit,message,refusal", [
    (lambda d: _upload(d).update(path="specs/data/valid.jsonl"), "is not the file the specs name", PlanNotApproved),
    (lambda d: _upload(d).update(sha256="0" * 64), "is not its file's", PlanNotApproved),
    (lambda d: _upload(d).update(filename="ftops.local.train.evil.jsonl"), "does not follow ftops' naming",
     PlanNotApproved),
    (lambda d: d["actions"][0]["depends_on"].append("nowhere:create"), "depends on unknown action", PlanNotApproved),
    (lambda d: d["actions"][0]["depends_on"].append(d["actions"][-1]["id"]), "cycle", PlanNotApproved),
    (lambda d: d.update(project="other"), "is for project 'other'", StalePlanError),
    (lambda d: d.update(spec_fingerprint="f" * 16), "specs or their data changed", StalePlanError),
])
def test_a_plan_that_does_not_fit_the_specs_is_refused_before_anything_runs(
        tmp_path: Path, make_project: MakeProject, edit: Any, message: str, refusal: type[Exception]) -> None:
    # Stale (the specs moved: `--on-stale replan` plans again) or not approved (edited: always refused).
    plan, checked = _fresh(make_project)
    with pytest.raises(refusal, match=message):
        verify_plan(_tamper(plan, tmp_path, edit), checked)


def test_a_path_outside_the_project_does_not_even_load(tmp_path: Path, make_project: MakeProject) -> None:
    plan, _ = _fresh(make_project)
    with pytest.raises(FtopsError, match="malformed at actions"):
        _tamper(plan, tmp_path, lambda d: _upload(d).update(path="/etc/passwd"))


def test_edited_specs_make_a_saved_plan_stale(make_project: MakeProject) -> None:
    plan, _ = _fresh(make_project)
    edited = world(make_project(spec=BASE_SPEC.replace("capacity: 50", "capacity: 60")))
    with pytest.raises(StalePlanError, match="specs or their data changed"):
        verify_plan(plan, edited.checked)


def test_a_plan_file_never_replaces_a_device_or_a_directory(tmp_path: Path, make_project: MakeProject) -> None:
    plan, _ = _fresh(make_project)
    (tmp_path / "d").mkdir()
    for target in (tmp_path / "d", Path("/dev/null")):
        with pytest.raises(FtopsError, match="not a regular file"):
            save_plan_file(plan, target)
    assert Path("/dev/null").is_char_device()


@pytest.mark.parametrize("field,value", [
    ("reason", "ok\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"),
    ("reason", "line one\nline two"),
    ("author", "mallory\u202eecila"),
    ("reason", "x" * 501),
])
def test_a_hand_edited_override_that_the_command_line_could_not_give_is_refused(
        tmp_path: Path, make_project: MakeProject, field: str, value: str) -> None:
    """An override in a plan file becomes the `ftops-override` tag Azure keeps (and az, the portal, show):
    one the command line could not have given (escape sequences, line breaks, bidi overrides) is refused."""
    plan, _ = _fresh(make_project)
    override = {"policy": "p", "reason": "why", "author": "alice", field: value}

    def edit(data: dict[str, Any]) -> None:
        data["policies"] = [{"policy": "p", "rule": "expression", "enforcement": "soft-mandatory", "passed": False,
                             "message": "m", "override": override}]

    with pytest.raises(FtopsError, match="plan file is malformed") as e:
        _tamper(plan, tmp_path, edit)
    assert "\n" not in str(e.value) and "\x1b" not in str(e.value) and "\u202e" not in str(e.value)


@pytest.mark.parametrize("spec_dir", ["a\x00b", "specs\n", "\x1b[31mspecs"])
def test_a_spec_dir_with_control_characters_does_not_load(tmp_path: Path, make_project: MakeProject,
                                                          spec_dir: str) -> None:
    """A NUL in a path raised ValueError from pathlib (an internal error); an escape could color the terminal."""
    plan, _ = _fresh(make_project)
    f = tmp_path / "plan.json"
    data = orjson.loads(plan.model_dump_json())
    f.write_bytes(orjson.dumps({**data, "spec_dir": spec_dir}))
    with pytest.raises(FtopsError, match="spec_dir"):
        load_plan_file(f)


STAGE = BASE_SPEC + """---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: clippy-stage}
spec:
  model: {deployment: clippy-prod}
  sku: {name: GlobalStandard, capacity: 5}
"""


def test_a_promotion_from_another_stage_than_the_specs_name_is_refused(tmp_path: Path,
                                                                       make_project: MakeProject) -> None:
    w = world(make_project(spec=STAGE))
    plan = decide(w.checked, w.state(), endpoint="s/g/a", created_at=1.8e9)
    [promote] = [a for a in plan.to_dict()["actions"] if a["op"] == "deployment.promote"]
    assert promote["upstream"] == "local/clippy-prod"
    verify_plan(plan, w.checked)  # as decided: fits

    def elsewhere(d: dict[str, Any]) -> None:
        next(a for a in d["actions"] if a["op"] == "deployment.promote").update(upstream="evil/chat")

    with pytest.raises(PlanNotApproved, match="does not serve the model of evil/chat in the specs"):
        verify_plan(_tamper(plan, tmp_path, elsewhere), w.checked)
