"""Policy results on the command line: text and Markdown (escaped), and the --override/--reason options."""

from __future__ import annotations

import pytest

from ftops._exceptions import UsageError
from ftops.cli._policies import author, overrides, policies_markdown, policies_text
from ftops.cli._render import plan_markdown
from ftops.plan import Override, Plan, PolicyResult


def _plan(*results: PolicyResult) -> Plan:
    return Plan(project="p", endpoint="s/g/a", fingerprint="0" * 16, spec_fingerprint="1" * 16, spec_dir="specs",
                created_at=1.8e9, policies=list(results))


def _result(name: str, enforcement: str, passed: bool = False, **kw: object) -> PolicyResult:
    return PolicyResult(policy=name, rule="allowedDeploymentSkus", enforcement=enforcement, passed=passed,  # type: ignore[arg-type]
                        message="passed" if passed else "Deployment/d deploys as GlobalStandard @team #12 *x*",
                        resources=[] if passed else ["Deployment/d"], actions=[] if passed else ["a1"], **kw)


def test_each_state_in_text_and_markdown_with_untrusted_text_escaped() -> None:
    # The model refuses escapes (a plan file's too); built around it: the renderer escapes whatever it is handed.
    over = Override.model_construct(policy="soft", reason="ok by @lead in #3", author="alice\x1b[31m")
    plan = _plan(_result("ok", "hard-mandatory", True), _result("hard", "hard-mandatory"),
                 _result("soft", "soft-mandatory", override=over), _result("note", "advisory"))
    text = "\n".join(policies_text(plan))
    assert "policy ok (hard-mandatory, allowedDeploymentSkus): passed" in text
    assert "policy hard (hard-mandatory, allowedDeploymentSkus): BLOCKS" in text
    assert "soft-mandatory, allowedDeploymentSkus): overridden" in text and "\x1b" not in text
    assert "policy note (advisory, allowedDeploymentSkus): advisory" in text
    md = "\n".join(policies_markdown(plan))
    assert "❌ **policy `hard`**" in md and "✅ **policy `ok`**" in md
    assert "@team" not in md and "@&#8203;team" in md and "\\*x\\*" in md  # pings nobody, no emphasis
    assert "overridden by alice" in md
    assert plan_markdown(plan).count("**policy `") == 4  # the PR comment carries them


def test_override_options() -> None:
    assert overrides(None, None) == []
    with pytest.raises(UsageError, match="--override needs --reason"):
        overrides(["p"], None)
    with pytest.raises(UsageError, match="--reason goes with --override"):
        overrides(None, "why")
    with pytest.raises(UsageError, match=r"metadata\.name"):
        overrides(["Not A Name"], "why")
    (o,) = overrides(["p", "p"], "why\nnot")
    assert (o.policy, o.reason) == ("p", "why not")


def test_the_author_is_the_github_actor_else_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert author() == "octocat"
    monkeypatch.delenv("GITHUB_ACTOR")
    assert author()  # git's user.name or the login name: never empty


@pytest.mark.parametrize("reason", ["\x1b[0m", "\u202e\u202e", "\x07 \x1b]0;title\x07"])
def test_a_reason_of_only_escape_sequences_is_said_as_such(reason: str) -> None:
    """Was: 'names a Policy by its metadata.name' (the empty reason failed the model, the wrong line said)."""
    with pytest.raises(UsageError, match="--override needs --reason TEXT"):
        overrides(["p"], reason)
