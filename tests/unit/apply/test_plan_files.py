from __future__ import annotations

from pathlib import Path

import pytest

from ftops import FtopsError
from ftops.apply import load_plan_file, save_plan_file
from ftops.plan import Action, Plan


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    plan = Plan(project="p", endpoint="s/g/a", fingerprint="f", spec_dir="specs", created_at=1.0,
                actions=[Action("dataset.d:create", "Dataset", "d", "create", "upload")])
    path = tmp_path / "out" / "plan.json"
    save_plan_file(plan, path)
    assert load_plan_file(path).to_dict() == plan.to_dict()
    assert [p.name for p in path.parent.iterdir()] == ["plan.json"]  # no temporary file left behind


@pytest.mark.parametrize("content,message", [
    (None, "cannot read plan file"),
    ("{not json", "not a plan file (invalid JSON"),
    ("[1, 2]", "not a plan file"),
    ('{"format_version": 1}', "plan file is malformed"),
])
def test_bad_plan_files_are_one_line_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(FtopsError) as e:
        load_plan_file(path)
    assert message in str(e.value) and "\n" not in str(e.value)
