"""Several accounts' plan files read as one set (`ftops merge-plans`): one spec directory, one file per Foundry,
each account's region and the accounts no file came for read from the specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftops import FtopsError, UsageError
from ftops.plan import Plan
from ftops.session import merge_plan_files, save_plan_file
from tests.conftest import TWO_ACCOUNTS_SPEC, MakeProject


def _plan(foundry: str, spec_dir: str = "specs") -> Plan:
    return Plan(project=f"ns-{foundry or 'only'}", endpoint="s/g/a", fingerprint="0" * 16, spec_fingerprint="1" * 16,
                spec_dir=spec_dir, foundry=foundry, created_at=1.8e9)


def _saved(root: Path, name: str, plan: Plan) -> str:
    save_plan_file(plan, root / name)
    return name


def test_two_accounts_merge_by_name_with_their_regions(make_project: MakeProject) -> None:
    root = make_project(spec=TWO_ACCOUNTS_SPEC)
    files = [_saved(root, "p.json", _plan("prod")), _saved(root, "d.json", _plan("dev"))]
    merged = merge_plan_files(files, root)
    assert [(a.foundry, a.region, a.path) for a in merged.accounts] == [("dev", "swedencentral", "d.json"),
                                                                        ("prod", "eastus2", "p.json")]
    assert merged.missing == () and merged.specs_read and merged.spec_dir == "specs"
    assert not merged.has_changes


def test_an_account_without_a_plan_file_is_named(make_project: MakeProject) -> None:
    root = make_project(spec=TWO_ACCOUNTS_SPEC)
    merged = merge_plan_files([_saved(root, "d.json", _plan("dev"))], root)
    assert merged.missing == ("prod",)


def test_without_the_specs_the_files_still_merge(make_project: MakeProject, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = make_project(spec=TWO_ACCOUNTS_SPEC)
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # merged on a machine without the checkout
    files = [str(root / _saved(root, n, _plan(f))) for n, f in (("d.json", "dev"), ("p.json", "prod"))]
    merged = merge_plan_files(files, elsewhere)
    assert [(a.foundry, a.region) for a in merged.accounts] == [("dev", None), ("prod", None)]
    assert not merged.specs_read and merged.missing == ()


def test_an_older_file_without_its_foundry_is_the_only_one(make_project: MakeProject) -> None:
    root = make_project()
    merged = merge_plan_files([_saved(root, "old.json", _plan(""))], root)
    assert [(a.foundry, a.region) for a in merged.accounts] == [("local", "swedencentral")]


@pytest.mark.parametrize(("plans", "message"), [
    ([("a.json", "dev", "specs"), ("b.json", "dev", "specs")],
     "b.json: a second plan for Foundry dev (the first: a.json): give one plan file per account"),
    ([("a.json", "dev", "specs"), ("a.json", "dev", "specs")], "a.json: a second plan for Foundry dev"),
    ([("a.json", "dev", "specs"), ("b.json", "prod", "other")],
     "b.json: made for spec directory 'other', a.json for 'specs': one comment merges the plans of one spec directory"),
    ([("a.json", "staging", "specs")],
     "a.json: made for Foundry 'staging', which 'specs' does not declare (Foundry documents: dev, prod)"),
])
def test_a_set_that_is_not_one_directory_s_accounts_once_each_is_refused(
        make_project: MakeProject, plans: list[tuple[str, str, str]], message: str) -> None:
    root = make_project(spec=TWO_ACCOUNTS_SPEC)
    files = [_saved(root, name, _plan(foundry, spec_dir)) for name, foundry, spec_dir in plans]
    with pytest.raises(UsageError) as e:
        merge_plan_files(files, root)
    assert str(e.value).startswith(message), str(e.value)


def test_a_bad_file_is_one_line_with_its_path(make_project: MakeProject) -> None:
    root = make_project(spec=TWO_ACCOUNTS_SPEC)
    (root / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(FtopsError) as e:
        merge_plan_files([_saved(root, "d.json", _plan("dev")), "bad.json"], root)
    assert str(e.value).startswith("bad.json: not a plan file (invalid JSON") and "\n" not in str(e.value)
    with pytest.raises(UsageError, match="no plan files given"):
        merge_plan_files([], root)


def test_a_file_of_several_accounts_merges_as_each_accounts_plan(make_project: MakeProject) -> None:
    """Hostile pass (issue 17): `plan --out all.json` over both accounts, then `merge-plans all.json`: it was
    refused with "apply it whole"; each plan it holds is one account's. With another file for one of them, the
    second plan of that Foundry is refused as with two files."""
    from ftops.session import save_plan_files
    root = make_project(spec=TWO_ACCOUNTS_SPEC)
    save_plan_files([_plan("dev"), _plan("prod")], root / "all.json")
    merged = merge_plan_files(["all.json"], root)
    assert [(a.foundry, a.region, a.path) for a in merged.accounts] == [("dev", "swedencentral", "all.json"),
                                                                        ("prod", "eastus2", "all.json")]
    assert merged.missing == ()
    with pytest.raises(UsageError) as e:
        merge_plan_files(["all.json", _saved(root, "p.json", _plan("prod"))], root)
    assert str(e.value) == "p.json: a second plan for Foundry prod (the first: all.json): give one plan file per account"
