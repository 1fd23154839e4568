"""Plans for URL datasets: decided without fetching anything, carrying no secret, refused when tampered with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ftops import FtopsError, PlanNotApproved
from ftops.plan import ImportDataset, Plan
from ftops.plan import _matching as matching
from ftops.session import load_plan_file, save_plan_file, verify_plan
from tests.conftest import BASE_SPEC, MakeProject, chat_jsonl
from tests.unit.plan.snapshots import by_resource, world
from tests.urlserver import Route, serve

SAS = "sv=1&sig=VERYSECRET"


@pytest.fixture
def url_world(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AZURE_TEST_SAS", SAS)
    with serve({"/train.jsonl": Route(chat_jsonl(60).encode(), require_query="sig=VERYSECRET")}) as server:
        url = server.url("/train.jsonl", "${AZURE_TEST_SAS}")
        root = make_project(spec=BASE_SPEC.replace("spec: {path: data/train.jsonl}", f"spec: {{url: '{url}'}}"))
        w = world(root)
    return w  # the server is gone: planning must not need it


def test_the_plan_imports_by_content_hash_without_fetching(url_world: Any) -> None:
    action = by_resource(url_world.plan())["Dataset/train"]
    assert isinstance(action, ImportDataset) and action.identity == "sha256"
    assert action.url.endswith("/train.jsonl?${AZURE_TEST_SAS}") and "?…" in action.reason
    assert action.filename == matching.file_name(url_world.project, "train", action.sha256)
    assert "VERYSECRET" not in orjson.dumps(url_world.plan().to_dict()).decode()


def test_an_imported_file_is_reused(url_world: Any) -> None:
    url_world.upload("train")
    assert by_resource(url_world.plan())["Dataset/train"].op == "noop"


def _tampered(plan: Plan, tmp_path: Path, **change: Any) -> Plan:
    data = plan.to_dict()
    next(a for a in data["actions"] if a["op"] == "dataset.import").update(change)
    path = tmp_path / "plan.json"
    path.write_bytes(orjson.dumps(data))
    return load_plan_file(path)


@pytest.mark.parametrize(("change", "message"), [
    ({"url": "http://127.0.0.1:1/other.jsonl"}, "is not the url the specs name"),
    ({"sha256": "0" * 64}, "is not its url's"),
    ({"identity": "etag"}, "is not its url's"),
    ({"filename": "ftops.x.train.evil.jsonl"}, "does not follow ftops' naming"),
])
def test_a_tampered_import_is_refused(url_world: Any, tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanNotApproved, match=message):
        verify_plan(_tampered(url_world.plan(), tmp_path, **change), url_world.checked)


def test_a_plan_file_cannot_carry_a_query_value(url_world: Any, tmp_path: Path) -> None:
    with pytest.raises(FtopsError, match="malformed at actions"):
        _tampered(url_world.plan(), tmp_path, url=f"http://127.0.0.1:1/train.jsonl?{SAS}")


def test_the_saved_plan_round_trips(url_world: Any, tmp_path: Path) -> None:
    plan = url_world.plan()
    save_plan_file(plan, tmp_path / "plan.json")
    assert load_plan_file(tmp_path / "plan.json").to_dict() == plan.to_dict()
    verify_plan(load_plan_file(tmp_path / "plan.json"), url_world.checked)


def test_held_out_records_are_not_compared_with_a_url_training_set(make_project: MakeProject) -> None:
    from tests.unit.plan.test_evaluations import EVAL_SPEC, heldout

    with serve({"/train.jsonl": Route(chat_jsonl(60).encode())}) as server:
        spec = EVAL_SPEC.replace("spec: {path: data/train.jsonl}", f"spec: {{url: '{server.url('/train.jsonl')}'}}")
        w = world(make_project({"specs/data/heldout.jsonl": heldout()}, spec))
    (warning,) = [str(p) for p in w.checked.warnings if "not compared" in p.message]
    assert "training data 'train' of job 'clippy': it is a url" in warning
