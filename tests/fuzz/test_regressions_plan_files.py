"""Named regressions for tampered plan files (issues 7 and 19): refused with one line before any change.

The old loader accepted each of these and apply half-ran or crashed (an edited dataset path uploaded
/etc/passwd under the dataset's name). The typed plan of issue 7 item 1 refuses them; these tests hold
it to that through the CLI, with the live state compared before and after. Issue 19: a well-formed plan
that is not what ftops decides (a delete appended, an action dropped, a capacity or a dependency edited)
ran as written; apply now runs a fresh decision only when the file approved exactly it. The same
tamperings on an applied account, through the real clients: tests/e2e/test_plan_file_trust.py."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ._harness import assert_contract, run_cli, write_project
from .test_fuzz_plan_files import live_counts


@pytest.fixture(scope="module")
def planned() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp))
        code, _out, err = run_cli("plan", "specs", "--out", "plan.json", where=root)
        assert code == 0, err
        yield root


def _dataset(plan: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in plan["actions"] if a["kind"] == "Dataset")


def _path_to_etc_passwd(plan: dict[str, Any]) -> None:
    _dataset(plan)["path"] = "/etc/passwd"


def _path_escaping_the_root(plan: dict[str, Any]) -> None:
    _dataset(plan)["path"] = "specs/../../../../etc/passwd"


def _hash_of_other_bytes(plan: dict[str, Any]) -> None:
    _dataset(plan)["sha256"] = "0" * 64


def _unknown_action(plan: dict[str, Any]) -> None:
    plan["actions"][-1]["action"] = "explode"


def _created_at_text(plan: dict[str, Any]) -> None:
    plan["created_at"] = "yesterday"


def _actions_not_a_list(plan: dict[str, Any]) -> None:
    plan["actions"] = {"a": 1}


def _action_not_a_mapping(plan: dict[str, Any]) -> None:
    plan["actions"][0] = 42


def _delete_appended(plan: dict[str, Any]) -> None:
    plan["actions"].append({"op": "deployment.delete", "id": "deployment.clippy-prod:delete", "name": "clippy-prod",
                            "kind": "Deployment", "action": "delete", "reason": "pruned", "live_id": "clippy-prod"})


def _upload_dropped(plan: dict[str, Any]) -> None:
    gone = _dataset(plan)["id"]
    plan["actions"] = [a for a in plan["actions"] if a["id"] != gone]
    for a in plan["actions"]:
        a["depends_on"] = [d for d in a["depends_on"] if d != gone]


def _capacity_edited(plan: dict[str, Any]) -> None:
    next(a for a in plan["actions"] if a["kind"] == "Deployment")["capacity"] = 500


def _dependency_removed(plan: dict[str, Any]) -> None:
    next(a for a in plan["actions"] if a["kind"] == "Deployment")["depends_on"] = []


def _rollout(plan: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in plan["actions"] if a["kind"] == "Deployment")


def _replace_without_consent(plan: dict[str, Any]) -> None:
    _rollout(plan).update(action="replace", interrupts=False)  # a delete + create the downtime check cannot see


def _model_format_edited(plan: dict[str, Any]) -> None:
    _rollout(plan)["model_format"] = "Mistral AI"


TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "dataset-path-etc-passwd": _path_to_etc_passwd,
    "dataset-path-escaping-the-root": _path_escaping_the_root,
    "dataset-hash-of-other-bytes": _hash_of_other_bytes,
    "unknown-action": _unknown_action,
    "created-at-not-a-number": _created_at_text,
    "actions-not-a-list": _actions_not_a_list,
    "action-not-a-mapping": _action_not_a_mapping,
    "deployment-delete-appended": _delete_appended,
    "upload-dropped": _upload_dropped,
    "capacity-edited": _capacity_edited,
    "dependency-removed": _dependency_removed,
    "replace-without-interrupts": _replace_without_consent,
    "model-format-edited": _model_format_edited,
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampered_plan_file_is_refused_and_changes_nothing(planned: Path, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        shutil.copytree(planned, root)
        plan = json.loads((root / "plan.json").read_text())
        TAMPERINGS[name](plan)
        (root / "plan.json").write_text(json.dumps(plan))
        before = live_counts(root)
        code, out, err = run_cli("apply", "plan.json", "--auto-approve", where=root)
        assert_contract(code, out, err)
        assert code == 1, out
        assert len(err.strip().splitlines()) == 1, err
        assert live_counts(root) == before
