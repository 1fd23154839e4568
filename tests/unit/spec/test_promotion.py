"""Stages and promotion in the spec: `model: {deployment: NAME, soak: ...}` (a follower), a Deployment of another
Foundry's job, the checks of validate (names, gates, cycles of follows and of accounts), `account_waves`, and the
job behind a follower when the Project is one Foundry's (`narrow`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftops import ValidationFailed, load_project
from ftops.checks import check_project, root_base_model
from ftops.spec import FollowRef, account_waves, narrow, source_job_name, upstream_closure
from tests.conftest import BASE_SPEC, MakeProject, follower_spec

FOUNDRY = """apiVersion: ftops/v1
kind: Foundry
metadata: {name: NAME}
spec: {local: true, region: REGION}
"""


def _foundry(name: str, region: str = "eastus2") -> str:
    return FOUNDRY.replace("NAME", name).replace("REGION", region)


_follower = follower_spec


def _placed(spec: str, foundry: str) -> str:
    """BASE_SPEC's resources in Foundry `foundry` (the Foundry document itself left as it is)."""
    return spec.replace("metadata: {name: ", f"metadata: {{foundry: {foundry}, name: ").replace(
        f"metadata: {{foundry: {foundry}, name: local}}", "metadata: {name: local}")


def _errors(e: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [str(p) for p in e.value.problems if p.severity == "error"]


def test_a_follower_in_the_same_foundry_loads_with_its_soak_in_seconds(make_project: MakeProject) -> None:
    make_project(spec=BASE_SPEC + _follower("clippy-stage", "clippy-prod", extra=", soak: 1h30m"))
    project = load_project("specs")
    model = project.deployments["clippy-stage"].spec.model
    assert model == FollowRef(deployment="clippy-prod", soak=5400)
    assert source_job_name(project, project.deployments["clippy-stage"]) == "clippy"
    assert account_waves(project) == [["local"]]


@pytest.mark.parametrize(("soak", "message"), [
    ("3x", "spec.model.soak: duration '3x' is not written like 30m, 24h, 1h30m or 2d"),
    ("91d", "spec.model.soak: a duration is from 0 to 90 days (2160h), not 7862400 s"),
    # hostile pass (issue 17): none of these may load as a soak time, and each is one line saying the form
    ("1e9h", "spec.model.soak: duration '1e9h' is not written like 30m, 24h, 1h30m or 2d"),
    ("24 h", "spec.model.soak: duration '24 h' is not written like 30m, 24h, 1h30m or 2d"),
    ("-1h", "spec.model.soak: duration '-1h' is not written like 30m, 24h, 1h30m or 2d"),
    ("-5", "spec.model.soak: a duration is from 0 to 90 days (2160h), not -5 s"),
    ("99999999999999999999", "spec.model.soak: a duration is from 0 to 90 days (2160h), not a number of that "
                             "many digits"),
    ("1.5", "spec.model.soak: a duration is written like 30m, 24h, 1h30m or 2d"),
    ("true", "spec.model.soak: a duration is written like 30m, 24h, 1h30m or 2d"),
    ("[1]", "spec.model.soak: a duration is written like 30m, 24h, 1h30m or 2d"),
    ("\"\u0662\u0664h\"", "spec.model.soak: duration '\u0662\u0664h' is not written like 30m, 24h, 1h30m or 2d"),
    ("\"\uff12\uff14h\"", "spec.model.soak: duration '\uff12\uff14h' is not written like 30m, 24h, 1h30m or 2d"),
    ("\"%ss\"" % ("9" * 5000), "spec.model.soak: duration '%s' is not written like 30m, 24h, 1h30m or 2d" % ("9" * 40)),
])
def test_a_soak_that_is_no_duration_is_a_located_error(make_project: MakeProject, soak: str, message: str) -> None:
    make_project(spec=BASE_SPEC + _follower("clippy-stage", "clippy-prod", extra=f", soak: {soak}"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert _errors(e) == [f"specs/main.yaml:40: {message}"]


def test_a_follower_of_an_unknown_deployment_is_a_located_error(make_project: MakeProject) -> None:
    make_project(spec=BASE_SPEC + _follower("clippy-stage", "nowhere"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert _errors(e) == ["specs/main.yaml:40: model.deployment names Deployment 'nowhere', which no spec defines"]


def test_a_follower_sets_no_gates_or_evaluation_of_its_own(make_project: MakeProject) -> None:
    spec = BASE_SPEC + _follower("clippy-stage", "clippy-prod") + "  gates: {maxValidLoss: 1.0}\n"
    make_project(spec=spec)
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert _errors(e) == ["specs/main.yaml:42: gates: a follower serves what the Deployment it follows passed: set "
                          "gates and evaluation there"]


def test_both_model_forms_at_once_are_refused(make_project: MakeProject) -> None:
    make_project(spec=BASE_SPEC + _follower("clippy-stage", "clippy-prod", extra=", job: clippy"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert _errors(e) == ["specs/main.yaml:40: unknown field 'spec.model.deployment'"]


def test_follows_in_a_cycle_are_refused_at_each_member(make_project: MakeProject) -> None:
    make_project(spec=BASE_SPEC + _follower("a", "b") + _follower("b", "c") + _follower("c", "a")
                 + _follower("d", "a"))
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert _errors(e) == [
        "specs/main.yaml:40: Deployments follow each other in a cycle: a -> b -> c -> a",
        "specs/main.yaml:47: Deployments follow each other in a cycle: b -> c -> a -> b",
        "specs/main.yaml:54: Deployments follow each other in a cycle: c -> a -> b -> c",
    ]


def test_a_follower_in_another_foundry_orders_the_accounts(make_project: MakeProject) -> None:
    prod = _foundry("prod") + _follower("chat-prod", "clippy-prod", "prod")
    staging = _foundry("staging", "swedencentral") + _follower("chat-staging", "clippy-prod", "staging")
    make_project(spec=_placed(BASE_SPEC, "local").replace("checkpoint: best", "checkpoint: final"),
                 files={"specs/prod.yaml": prod.replace("clippy-prod}", "chat-staging}"),
                        "specs/staging.yaml": staging})
    project = load_project("specs")
    assert account_waves(project) == [["local"], ["staging"], ["prod"]]
    assert source_job_name(project, project.deployments["chat-prod"]) == "clippy"


def test_independent_accounts_share_a_wave(make_project: MakeProject) -> None:
    make_project(spec=_placed(BASE_SPEC, "local"), files={
        "specs/prod.yaml": _foundry("prod") + _follower("chat-prod", "clippy-prod", "prod"),
        "specs/eu.yaml": _foundry("eu", "swedencentral") + _follower("chat-eu", "clippy-prod", "eu"),
        "specs/lab.yaml": _foundry("lab", "swedencentral")})
    assert account_waves(load_project("specs")) == [["lab", "local"], ["eu", "prod"]]


def test_a_narrowed_run_needs_the_accounts_its_chosen_ones_follow_transitively(make_project: MakeProject) -> None:
    prod = _foundry("prod") + _follower("chat-prod", "chat-staging", "prod")  # prod -> staging -> local
    staging = _foundry("staging", "swedencentral") + _follower("chat-staging", "clippy-prod", "staging")
    make_project(spec=_placed(BASE_SPEC, "local").replace("checkpoint: best", "checkpoint: final"),
                 files={"specs/prod.yaml": prod, "specs/staging.yaml": staging,
                        "specs/lab.yaml": _foundry("lab", "swedencentral")})
    project = load_project("specs")
    assert upstream_closure(project, ["prod"]) == ["local", "staging"]
    assert upstream_closure(project, ["staging"]) == ["local"]
    assert upstream_closure(project, ["prod", "local"]) == ["staging"]  # between two chosen ones: read too
    assert upstream_closure(project, ["local"]) == [] and upstream_closure(project, ["lab", "prod"]) == [
        "local", "staging"]
    assert upstream_closure(project, ["prod", "staging", "local"]) == []  # every one chosen: none read only


def test_accounts_that_follow_each_other_in_a_cycle_are_refused(make_project: MakeProject) -> None:
    prod = _foundry("prod") + _follower("chat-prod", "clippy-prod", "prod")
    make_project(spec=_placed(BASE_SPEC, "local") + _follower("back", "chat-prod", "local"),
                 files={"specs/prod.yaml": prod})
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    assert sorted(_errors(e)) == [
        "specs/main.yaml:40: model.deployment names Deployment 'chat-prod' of Foundry 'prod', and Foundry accounts "
        "local, prod depend on each other in a cycle: no account can be planned first",
        "specs/prod.yaml:10: model.deployment names Deployment 'clippy-prod' of Foundry 'local', and Foundry "
        "accounts local, prod depend on each other in a cycle: no account can be planned first",
    ]


def test_other_references_across_accounts_stay_refused(make_project: MakeProject) -> None:
    prod = _foundry("prod") + """---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: prod-job, foundry: prod}
spec: {baseModel: gpt-4.1-mini-2025-04-14, trainingData: train, suffix: prodjob}
"""
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": prod})
    with pytest.raises(ValidationFailed) as e:
        load_project("specs")
    [err] = _errors(e)
    assert err.startswith("specs/prod.yaml:9: trainingData names Dataset 'train' of Foundry 'local'")
    assert "across Foundry accounts only a Deployment's model may refer" in err


def test_one_foundrys_project_still_finds_the_job_behind_a_follower(make_project: MakeProject) -> None:
    """`narrow` keeps every Foundry's resources as a read-only view: prod's follower is priced and checked by the
    base model of dev's job, in prod's region."""
    make_project(spec=_placed(BASE_SPEC, "local"),
                 files={"specs/prod.yaml": _foundry("prod") + _follower("chat-prod", "clippy-prod", "prod")})
    prod = narrow(load_project("specs"), "prod")
    assert list(prod.deployments) == ["chat-prod"] and not prod.jobs
    assert root_base_model(prod, source_job_name(prod, prod.deployments["chat-prod"])) == "gpt-4.1-mini-2025-04-14"
    checked = check_project(prod, count_tokens=False, use_cache=False)
    info = checked.served_model_info(prod.deployments["chat-prod"])
    assert info is not None and info.name.startswith("gpt-4.1-mini")


def test_a_follower_on_a_sku_its_region_does_not_offer_is_refused(make_project: MakeProject) -> None:
    follower = _follower("chat-prod", "clippy-prod", "prod").replace("GlobalStandard", "ProvisionedManaged")
    make_project(spec=_placed(BASE_SPEC, "local"), files={"specs/prod.yaml": _foundry("prod") + follower})
    prod = narrow(load_project("specs"), "prod")
    with pytest.raises(ValidationFailed) as e:
        check_project(prod, count_tokens=False, use_cache=False)
    assert any("sku ProvisionedManaged is not available for fine-tuned gpt-4.1-mini" in r and "in eastus2" in r
               for r in _errors(e))


_SOAK_TEXT = st.text(alphabet=st.sampled_from("0123456789dhms -+.e_\u0662\uff12\n\t"), max_size=30)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_SOAK_TEXT, st.integers(min_value=-10**30, max_value=10**30), st.floats(allow_nan=True),
                 st.booleans(), st.none(), st.lists(st.integers(), max_size=2)))
def test_any_soak_value_loads_as_seconds_within_bounds_or_is_a_validation_error(value: object) -> None:
    """Hostile pass (issue 17): whatever a spec writes as `soak`, it is whole seconds from 0 to 90 days, written
    with ASCII digits in the documented form, or pydantic's one ValidationError: never another exception."""
    from pydantic import ValidationError
    try:
        ref = FollowRef.model_validate({"deployment": "x", "soak": value})
    except ValidationError as e:
        assert e.error_count() == 1 and "\n" not in e.errors()[0]["msg"]
        return
    assert ref.soak is None or (isinstance(ref.soak, int) and 0 <= ref.soak <= 90 * 86_400)
    if isinstance(value, str):
        assert value.strip().isascii() and " " not in value.strip()
