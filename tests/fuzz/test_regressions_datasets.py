"""Named regressions the fuzzer found in `ftops.datasets` (owned by the datasets work of issue 7):
each must end in one located line, exit 1, or be ignored (a damaged cache is rebuilt)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tests.conftest import chat_jsonl, chat_line

from ._harness import assert_contract, run_cli, write_project

PENDING = pytest.mark.xfail(strict=True, reason="found by tests/fuzz; the fix belongs in ftops.datasets")


def _validate(files: dict[str, str | bytes]) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp), files=files)
        return run_cli("validate", "--no-tokens", "specs", where=root)


def test_a_message_role_that_is_a_list_is_a_located_problem() -> None:
    rec = json.loads(chat_line(0))
    rec["messages"][0]["role"] = []
    code, out, err = _validate({"specs/data/train.jsonl": json.dumps(rec) + "\n" + chat_jsonl(12)})
    assert_contract(code, out, err)
    assert code == 1 and err.startswith("specs/data/train.jsonl:1: ")


def test_a_hash_cache_with_null_entries_is_rebuilt() -> None:
    code, out, err = _validate({".ftops/cache/datasets.json": '{"version": 1, "entries": null}'})
    assert_contract(code, out, err)
    assert code == 0


def test_a_hash_cache_with_a_list_of_entries_is_rebuilt() -> None:
    code, out, err = _validate({".ftops/cache/datasets.json": '{"version": 1, "entries": []}'})
    assert_contract(code, out, err)
    assert code == 0


@pytest.mark.parametrize("report", [None, {}, {"sha256": 1}])
def test_a_hash_cache_entry_with_a_damaged_report_is_rescanned(report: object) -> None:
    """The entry's stat and options match the file, so the cache is trusted; its report is garbage."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp))
        assert run_cli("validate", "--no-tokens", "specs", where=root)[0] == 0
        cache = root / ".ftops" / "cache" / "datasets.json"
        data = json.loads(cache.read_text())
        for entry in data["entries"].values():
            entry["report"] = report
        cache.write_text(json.dumps(data))
        code, out, err = run_cli("validate", "--no-tokens", "specs", where=root)
        assert_contract(code, out, err)
        assert code == 0
