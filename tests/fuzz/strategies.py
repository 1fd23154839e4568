"""Hostile values and texts for the fuzzer."""

from __future__ import annotations

import copy
import math
from typing import Any

import yaml
from hypothesis import strategies as st

CONTROL_TEXT = st.text(alphabet=st.sampled_from(["a", "-", " ", "\n", "\t", "\x1b", "[", "]", "\x07", "\x00", "\x9b",
                                                 "|", "`", "$", "{", "}", "\u202e", "é", ":", "#", "&", "*", "!"]),
                       max_size=40)
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308]),
    st.text(max_size=30), CONTROL_TEXT,
    st.sampled_from(["auto", "", "${FTOPS_X}", "${HOME}", "${", "../../../../etc/passwd", "/etc/passwd", "a" * 300,
                     "2025-13-45", "0x1F", "1e400", "~", "null", "yes", "no", ".nan"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), CONTROL_TEXT), inner, max_size=4)),
    max_leaves=12)
YAML_TOKENS = st.sampled_from([
    "&a ", "*a", "<<: *a", "? ", ": ", "- ", "[", "]", "{", "}", "!!binary ", "!!python/object:os.system ", "!!set ",
    "---\n", "...\n", "%YAML 1.1\n", "\t", "\n", "  ", "\"", "'", "|\n", ">\n", "#", "\x00", "\ufeff", "\x1b[31m",
    "apiVersion: ftops/v1\n", "kind: Foundry\n", "n_epochs: true", "9" * 5000, "[" * 100, "&b [*a,*a,*a,*a]",
])


def dump(docs: list[Any]) -> str:
    return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)


@st.composite
def replaced_value(draw: st.DrawFn, docs: list[Any]) -> list[Any]:
    """`docs` with one value somewhere (any depth) replaced by a hostile one, or a key added/removed."""
    doc = docs[draw(st.integers(0, len(docs) - 1))]
    node: Any = doc
    while True:
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            if draw(st.booleans()) and isinstance(node[key], dict | list) and node[key]:
                node = node[key]
                continue
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[key] = draw(VALUES)
            elif action == "delete":
                del node[key]
            else:
                node[draw(st.text(min_size=1, max_size=12))] = draw(VALUES)
            return docs
        if isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(VALUES)
            return docs
        return docs


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    """`text` with a few splices: deletions, insertions of YAML syntax, duplicated slices."""
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(YAML_TOKENS) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.text(max_size=10)) + text[j:]
    return text


# -- plan files that are well-formed but not what ftops decides ------------------------------------
# Fields a person reads and apply never does (ftops.plan DISPLAY_ONLY): editing them is not an edit of
# what runs. Spelled out here, not imported, so the fuzzer checks the allow-list rather than restating it.
DISPLAY_ONLY = {"reason", "changes", "drift", "progress", "cost", "resource"}


def decisive(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """action id -> the fields that decide what apply does (dependencies as a set)."""
    out: dict[str, dict[str, Any]] = {}
    for a in plan["actions"]:
        fields = {k: v for k, v in a.items() if k not in DISPLAY_ONLY}
        fields["depends_on"] = sorted(set(a.get("depends_on") or []))
        out[a["id"]] = fields
    return out


def _strings(plan: dict[str, Any]) -> list[str]:
    """Every string of the plan's actions: other ids, names, models, files, hashes to swap in."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, str):
            found.add(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(plan["actions"])
    return sorted(found)


def _edited_string(draw: st.DrawFn, value: str, pool: list[str]) -> str:
    """Another plausible string: one of the plan's own, or `value` with its last character changed
    (a hash, an id or a name keeps its shape)."""
    if pool and draw(st.booleans()):
        return draw(st.sampled_from(pool))
    last = value[-1:] or "a"
    return value[:-1] + draw(st.sampled_from([c for c in "0a7f" if c != last]))


def _new_value(draw: st.DrawFn, key: str, value: Any, pool: list[str], ids: list[str]) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + draw(st.integers(1, 100))
    if isinstance(value, float):
        return value + draw(st.sampled_from([0.25, 1.0, 10.0]))
    if isinstance(value, str):
        return _edited_string(draw, value, pool)
    if isinstance(value, list):
        choices = ids if key == "depends_on" else pool
        if value and draw(st.booleans()):
            return value[:-1]
        return [*value, draw(st.sampled_from(choices))] if choices else value
    if value is None:
        return draw(st.sampled_from(pool)) if pool and key != "verdict" else value
    return value


@st.composite
def edited_field(draw: st.DrawFn, plan: dict[str, Any]) -> dict[str, Any]:
    """One decisive field of one action set to another well-typed value."""
    actions = plan["actions"]
    a = actions[draw(st.integers(0, len(actions) - 1))]
    keys = sorted(k for k in a if k not in DISPLAY_ONLY and k not in ("op", "id"))
    key = draw(st.sampled_from(keys))
    a[key] = _new_value(draw, key, a[key], _strings(plan), [x["id"] for x in actions if x is not a])
    return plan


def _appended(deployment: str, file_id: str, job_id: str) -> list[dict[str, Any]]:
    """Actions a tampered plan might add: deletes of what serves, a cancel, a rollout or promotion nobody decided."""
    return [
        {"op": "deployment.delete", "id": f"deployment.{deployment}:delete", "name": deployment, "kind": "Deployment",
         "action": "delete", "reason": "pruned", "live_id": deployment},
        {"op": "file.delete", "id": f"file.{file_id}:delete", "name": file_id, "kind": "File", "action": "delete",
         "reason": "pruned", "file_id": file_id, "live_id": file_id},
        {"op": "job.cancel", "id": f"job.x:orphan:{job_id}", "name": "x", "kind": "FineTuningJob", "action": "cancel",
         "reason": "orphan", "job_id": job_id, "live_id": job_id, "cause": "orphan"},
        {"op": "deployment.rollout", "id": f"deployment.{deployment}:replace", "name": deployment,
         "kind": "Deployment", "action": "replace", "reason": "x", "job": "clippy", "job_hash": "0" * 16,
         "sku": "Developer", "capacity": 1, "spec_hash": "0" * 16, "model": "gpt-4.1-mini-2025-04-14"},
        {"op": "deployment.promote", "id": f"deployment.{deployment}:update", "name": deployment,
         "kind": "Deployment", "action": "update", "reason": "x", "upstream": "evil/chat", "sku": "GlobalStandard",
         "capacity": 1, "spec_hash": "0" * 16, "model": "gpt-4.1-mini-2025-04-14.ft-evil",
         "source": "/subscriptions/x/resourceGroups/y/providers/Microsoft.CognitiveServices/accounts/evil"},
    ]


@st.composite
def appended_action(draw: st.DrawFn, plan: dict[str, Any]) -> dict[str, Any]:
    """An action added: a copy of one under a new id, or one no decision made (a delete, a cancel, a rollout)."""
    actions = plan["actions"]
    live = [a["live_id"] for a in actions if a.get("live_id")] or ["file-0123456789abcdef"]
    names = [a["name"] for a in actions if a["kind"] == "Deployment"] or ["clippy-prod"]
    made = _appended(draw(st.sampled_from(names)), draw(st.sampled_from(live)), draw(st.sampled_from(live)))
    if draw(st.booleans()):
        copy = dict(draw(st.sampled_from(actions)))
        copy["id"] = copy["id"] + ":again"
        made.append(copy)
    extra = draw(st.sampled_from(made))
    if all(extra["id"] != a["id"] for a in actions):
        actions.append(extra)
    return plan


@st.composite
def dropped_action(draw: st.DrawFn, plan: dict[str, Any]) -> dict[str, Any]:
    """An action left out (and out of every dependency list, so that the graph still holds)."""
    actions = plan["actions"]
    gone = actions.pop(draw(st.integers(0, len(actions) - 1)))["id"]
    for a in actions:
        a["depends_on"] = [d for d in a.get("depends_on") or [] if d != gone]
    return plan


@st.composite
def moved_dependency(draw: st.DrawFn, plan: dict[str, Any]) -> dict[str, Any]:
    """A dependency added, removed or pointed at another action (a cycle is possible, and refused too)."""
    actions = plan["actions"]
    a = actions[draw(st.integers(0, len(actions) - 1))]
    others = [x["id"] for x in actions if x is not a]
    deps = list(a.get("depends_on") or [])
    how = draw(st.sampled_from(["add", "remove", "repoint"]))
    if how == "remove" and deps:
        deps.pop(draw(st.integers(0, len(deps) - 1)))
    elif how == "repoint" and deps and others:
        deps[draw(st.integers(0, len(deps) - 1))] = draw(st.sampled_from(others))
    elif others:
        deps.append(draw(st.sampled_from(others)))
    a["depends_on"] = deps
    return plan


def unapproved_plan(plan: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """`plan` (a real plan file's JSON, copied per draw) with one edit of what it approves."""
    return st.one_of(*(st.builds(copy.deepcopy, st.just(plan)).flatmap(edit)
                       for edit in (edited_field, appended_action, dropped_action, moved_dependency)))
