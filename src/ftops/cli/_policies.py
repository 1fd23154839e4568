"""The policies of a plan on the command line: their results as text and Markdown, the overrides given with
`--override NAME --reason TEXT` and who gave them (GITHUB_ACTOR, else `git config user.name`)."""

from __future__ import annotations

import getpass
import os
import subprocess
from typing import TYPE_CHECKING

from rich.markup import escape

from .. import UsageError
from ._escape import md_cell, md_text, terminal

if TYPE_CHECKING:  # ftops.plan loads openai and the Azure SDK: `plan` loads them once the local Foundry starts
    from ..plan import Override, Plan, PolicyResult

AUTHOR_CHARS = 100


def overrides(names: list[str] | None, reason: str | None) -> list[Override]:
    """The overrides of the command line, each with the reason and the author; a usage error when one of
    --override and --reason comes without the other."""
    names = names or []
    if not names:
        if reason is not None:
            raise UsageError("--reason goes with --override NAME (the soft-mandatory Policy it lets through)")
        return []
    shown = terminal(reason or "").strip()  # what is recorded: checked as it will be, not as typed
    if not shown:
        raise UsageError("--override needs --reason TEXT (recorded in the plan and on what it lets through)")
    if len(shown) > 500:
        raise UsageError("--reason is longer than 500 characters")
    who = author()
    from ..plan import Override

    try:
        return [Override(policy=name, reason=shown, author=who) for name in dict.fromkeys(names)]
    except ValueError:  # pydantic's ValidationError: a name no Policy can have
        raise UsageError("--override names a Policy by its metadata.name (lower case letters, digits and '-')") \
            from None


def author() -> str:
    """Who overrides: the GitHub actor in a workflow, else git's user.name, else the login name."""
    name = os.environ.get("GITHUB_ACTOR", "").strip() or _git_user() or _login()
    return terminal(name)[:AUTHOR_CHARS].strip() or "unknown"


def _git_user() -> str:
    try:
        done = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


def _state(r: PolicyResult) -> str:
    if r.passed:
        return "passed"
    if r.override is not None and r.enforcement == "soft-mandatory":
        return "overridden"
    if r.blocks:
        return "BLOCKS"
    return "advisory" if r.enforcement == "advisory" else "failed, no change to block"


def policies_text(plan: Plan) -> list[str]:
    """One line per Policy (rich markup), an override on a line of its own."""
    color = {"passed": "green", "BLOCKS": "red"}
    lines: list[str] = []
    for r in plan.policies:
        state = _state(r)
        found = "" if r.passed else f" {escape(terminal(r.message))}"
        lines.append(f"  [{color.get(state, 'yellow')}]policy {escape(r.policy)} ({r.enforcement}, {r.rule}): "
                     f"{state}[/]{found}")
        if state == "overridden" and r.override is not None:
            lines.append(f"        [dim]overridden by {escape(terminal(r.override.author))}: "
                         f"{escape(terminal(r.override.reason))}[/]")
    return lines


def policies_markdown(plan: Plan) -> list[str]:
    """One list item per Policy, for the PR comment."""
    mark = {"passed": "✅", "BLOCKS": "❌"}
    items = []
    for r in plan.policies:
        state = _state(r)
        text = f"- {mark.get(state, '⚠️')} **policy `{md_cell(r.policy)}`** ({r.enforcement}, `{r.rule}`): **{state}**"
        if not r.passed:
            text += f" {md_text(r.message)}"
        if state == "overridden" and r.override is not None:
            text += f" (overridden by {md_text(r.override.author)}: {md_text(r.override.reason)})"
        items.append(text)
    return items
