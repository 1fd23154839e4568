"""Azure RBAC as ftops reads it: the action of a request, wildcard matching, and the roles that grant it."""

from __future__ import annotations

import pytest

from ftops.foundry._permissions import (
    DEPLOYMENTS_WRITE,
    FILES_WRITE,
    FINE_TUNES_WRITE,
    Need,
    Permissions,
    granting,
    lacks,
    need_of,
)

ACCOUNT = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a"


@pytest.mark.parametrize("method,path,action", [
    ("POST", "/openai/v1/files", FILES_WRITE),
    ("POST", "/openai/v1/uploads/upload_1/parts", FILES_WRITE),
    ("DELETE", "/openai/files/file-1", "Microsoft.CognitiveServices/accounts/OpenAI/files/delete"),
    ("POST", "/openai/v1/fine_tuning/jobs", FINE_TUNES_WRITE),
    ("POST", "/openai/v1/fine_tuning/jobs/ftjob-1/cancel", FINE_TUNES_WRITE),
    ("GET", "/openai/v1/fine_tuning/jobs", "Microsoft.CognitiveServices/accounts/OpenAI/fine-tunes/read"),
    ("POST", "/openai/v1/fine_tuning/alpha/graders/run", FINE_TUNES_WRITE),
    ("POST", "/openai/v1/chat/completions", "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"),
    ("POST", "/openai/v1/evals", "Microsoft.CognitiveServices/accounts/OpenAI/evals/write"),
    ("PUT", f"{ACCOUNT}/deployments/d", DEPLOYMENTS_WRITE),
    ("PATCH", f"{ACCOUNT}/deployments/d", DEPLOYMENTS_WRITE),
    ("DELETE", f"{ACCOUNT}/deployments/d", "Microsoft.CognitiveServices/accounts/deployments/delete"),
    ("GET", f"{ACCOUNT}/models", "Microsoft.CognitiveServices/accounts/models/read"),
])
def test_the_action_of_a_request(method: str, path: str, action: str) -> None:
    need = need_of(method, path)
    assert need is not None and need.action == action and need.data == path.startswith("/openai/")


def test_no_action_is_named_for_paths_azure_does_not_authorize_so() -> None:
    assert need_of("GET", f"{ACCOUNT}/providers/Microsoft.Authorization/permissions") is None
    assert need_of("GET", "/elsewhere") is None


def test_wildcards_and_not_actions_as_azure_matches_them() -> None:
    p = Permissions.parse({"value": [{"actions": ["microsoft.cognitiveservices/*/read"], "notActions": [],
                                      "dataActions": ["Microsoft.CognitiveServices/accounts/OpenAI/*"],
                                      "notDataActions": ["Microsoft.CognitiveServices/accounts/OpenAI/files/*"]}]})
    assert p.allows(Need("Microsoft.CognitiveServices/accounts/deployments/read", False))
    assert not p.allows(Need(DEPLOYMENTS_WRITE, False))
    assert p.allows(Need(FINE_TUNES_WRITE, True)) and not p.allows(Need(FILES_WRITE, True))
    assert not p.allows(Need(FINE_TUNES_WRITE, False))  # a data action is not granted by `actions`


def test_a_second_assignment_adds_what_the_first_lacks() -> None:
    p = Permissions.parse({"value": [{"actions": ["Microsoft.CognitiveServices/*/read"]},
                                     {"actions": [DEPLOYMENTS_WRITE]}]})
    assert p.allows(Need(DEPLOYMENTS_WRITE, False))


@pytest.mark.parametrize("body", [None, [], {"value": "x"}, {"value": [None, {"actions": "*"}]}])
def test_odd_answers_grant_nothing(body: object) -> None:
    assert not Permissions.parse(body).allows(Need(DEPLOYMENTS_WRITE, False))


def test_the_roles_that_grant_an_action_as_the_reference_says() -> None:
    # "Azure AI Users may train (fine-tune) models, only AI Owners may deploy them" (reference 001); the OpenAI
    # Contributor role may do both, the OpenAI User neither.
    assert granting(Need(FINE_TUNES_WRITE, True)) == ["Azure AI Owner", "Azure AI User",
                                                       "Cognitive Services OpenAI Contributor"]
    assert granting(Need(DEPLOYMENTS_WRITE, False)) == ["Azure AI Owner", "Cognitive Services OpenAI Contributor"]
    assert lacks(DEPLOYMENTS_WRITE) == ("the identity lacks Microsoft.CognitiveServices/accounts/deployments/write; "
                                        "a role that grants it: Azure AI Owner or Cognitive Services OpenAI Contributor")
    assert lacks("Microsoft.Storage/storageAccounts/write").endswith("a role that grants it: a custom role")


@pytest.mark.parametrize("method,path,action", [
    ("POST", "/api/projects/lab/openai/v1/files", FILES_WRITE),
    ("POST", "/api/projects/lab/openai/v1/fine_tuning/jobs", FINE_TUNES_WRITE),
    ("GET", "/api/projects/lab/openai/fine_tuning/jobs", "Microsoft.CognitiveServices/accounts/OpenAI/fine-tunes/read"),
])
def test_a_foundry_projects_route_needs_the_same_data_action(method: str, path: str, action: str) -> None:
    need = need_of(method, path)
    assert need is not None and need.action == action and need.data


# -- Azure's wildcards from a hostile answer -----------------------------------------------------------------
def test_a_pattern_of_many_wildcards_matches_in_polynomial_time() -> None:
    # As a regular expression, `M*M*...X` took exponential time: apply's permission check hung (issue 19).
    import time

    from ftops.foundry._permissions import glob_match

    start = time.monotonic()
    assert not glob_match("M*" * 40 + "X", "M" * 200)
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("pattern,action,expected", [
    ("Microsoft.CognitiveServices/*", "microsoft.cognitiveservices/accounts/deployments/write", True),
    ("Microsoft.CognitiveServices/*/read", "Microsoft.CognitiveServices/accounts/deployments/read", True),
    ("Microsoft.CognitiveServices/*/read", "Microsoft.CognitiveServices/accounts/deployments/write", False),
    ("*", "anything", True),
    ("a*b*c", "abc", True),
    ("a*b*c", "aXbYcZ", False),
    ("a*b*c", "aXbYbZc", True),
    ("exact", "exact", True),
    ("exact", "exactly", False),
    ("", "", True),
    ("**", "x", True),
])
def test_azure_wildcards(pattern: str, action: str, expected: bool) -> None:
    from ftops.foundry._permissions import glob_match

    assert glob_match(pattern, action) is expected


def test_a_next_link_is_followed_on_arms_own_host_only() -> None:
    from types import SimpleNamespace

    import pytest

    from ftops import FoundryError
    from ftops.foundry._client import FoundryClient

    me = SimpleNamespace(arm=SimpleNamespace(_client=SimpleNamespace(_base_url="https://management.azure.com")))
    same = "https://MANAGEMENT.azure.com/subscriptions/s/permissions?$skipToken=1"
    assert FoundryClient._same_arm_host(me, same) == same  # type: ignore[arg-type]
    assert FoundryClient._same_arm_host(me, None) is None  # type: ignore[arg-type]
    for elsewhere in ("https://evil.example/steal", "http://management.azure.com/x",
                      "https://management.azure.com.evil.example/x"):
        with pytest.raises(FoundryError, match="another host"):
            FoundryClient._same_arm_host(me, elsewhere)  # type: ignore[arg-type]
