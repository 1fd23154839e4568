"""Run one ftops command for the GitHub Action (action.yml) and report it the way GitHub expects.

The action's YAML only passes inputs through `env:`; every decision lives here so it can be tested by
running this file as GitHub would (tests/ci/). Standard library only: it runs before anything but ftops
is installed. Inputs (env): FTOPS_COMMAND, FTOPS_SPEC_DIR, FTOPS_PLAN_FILE, FTOPS_PLAN_ARTIFACT,
FTOPS_COMMENT, FTOPS_ISSUE, FTOPS_INPUT_FOUNDRY, FTOPS_PLANS_DIR, GH_TOKEN; and GitHub's own GITHUB_* variables.

A fleet of runners (docs/ci.md, "A fleet of runners"): `matrix` prints the spec directory's accounts as a
matrix (output `matrix`); `plan` with `foundry` plans that one account and names the artifact its plan file
is uploaded as (`<plan-artifact>-<foundry>`), posting no comment; `merge` reads the plan files action.yml
downloaded into FTOPS_PLANS_DIR, merges them with `ftops merge-plans` and keeps the ONE comment; `apply` with
`foundry` applies the plan saved for that account.

Exit codes: ftops' 0 and 2 (changes, drift) are success for the step, told through the outputs
`exit-code` and `has-changes`; 1 (or anything else) fails the step, after the summary and outputs are
written so the pull-request comment can still show the error.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

COMMANDS = ("validate", "plan", "apply", "drift", "sync", "matrix", "merge")
# A Foundry document's metadata.name (the spec's rule): also safe in an artifact name and a process environment.
# The commands whose exit 2 is information (changes, drift), not an error.
INFORMATION_CODE_2 = ("plan", "drift", "merge")
FOUNDRY_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# GitHub refuses comments and issue bodies above 65,536 characters; keep room for the footer.
BODY_LIMIT = 64_000
DRIFT_LABEL = "ftops-drift"


class ActionError(Exception):
    """A bad input or environment: one line on stderr, exit 1."""


@dataclass(frozen=True)
class Inputs:
    command: str
    spec_dir: str
    plan_file: str
    plan_artifact: str
    comment: bool
    issue: bool
    override: tuple[str, ...] = ()  # soft-mandatory policies let through (plan, apply, sync), with the reason
    override_reason: str = ""
    foundry: str = ""  # one account of a fleet: the Foundry document this runner works on
    plans_dir: str = ""  # merge: where action.yml downloaded the accounts' plan artifacts

    @property
    def artifact(self) -> str:
        """The artifact a plan file travels in: `plan-artifact`, with the account's name in a fleet."""
        return f"{self.plan_artifact}-{self.foundry}" if self.foundry else self.plan_artifact

    @staticmethod
    def from_env(env: dict[str, str]) -> Inputs:
        command = env.get("FTOPS_COMMAND", "").strip()
        if command not in COMMANDS:
            raise ActionError(f"input command: {command!r} is not one of {', '.join(COMMANDS)}")
        spec_dir = env.get("FTOPS_SPEC_DIR", "").strip() or "specs"
        override = tuple(env.get("FTOPS_OVERRIDE", "").replace(",", " ").split())
        reason = env.get("FTOPS_OVERRIDE_REASON", "").strip()
        if bool(override) != bool(reason):
            raise ActionError("inputs override and override-reason go together: the policies to let through, and why")
        foundry = env.get("FTOPS_INPUT_FOUNDRY", "").strip()
        if foundry and not FOUNDRY_NAME.match(foundry):
            raise ActionError(f"input foundry: {foundry[:70]!r} is not a Foundry document's name (metadata.name)")
        inputs = Inputs(command=command, spec_dir=spec_dir, override=override, override_reason=reason,
                        plan_file=env.get("FTOPS_PLAN_FILE", "").strip(),
                        plan_artifact=env.get("FTOPS_PLAN_ARTIFACT", "").strip(),
                        comment=_flag(env, "FTOPS_COMMENT", default=True),
                        issue=_flag(env, "FTOPS_ISSUE", default=False),
                        foundry=foundry, plans_dir=env.get("FTOPS_PLANS_DIR", "").strip())
        inputs.check_fleet()
        return inputs

    def check_fleet(self) -> None:
        """What a fleet's commands need: the artifact name the runners and the merge share."""
        if self.command == "merge" and not self.plan_artifact:
            raise ActionError("command merge needs input plan-artifact: the name the plan jobs upload their plan "
                              "files under (each with -<foundry> appended)")
        if self.foundry and self.command == "plan" and not self.plan_artifact:
            raise ActionError("input foundry with command plan needs input plan-artifact: the plan file is uploaded "
                              "as <plan-artifact>-<foundry> for the merge job")
        if self.foundry and self.command in ("validate", "matrix", "merge"):
            raise ActionError(f"input foundry is for plan, apply, sync and drift, not {self.command}")


def override_args(inputs: Inputs) -> list[str]:
    """`--override NAME ... --reason TEXT` for the commands that judge policies, or nothing."""
    if not inputs.override:
        return []
    return [*(x for name in inputs.override for x in ("--override", name)), "--reason", inputs.override_reason]


def account_args(inputs: Inputs) -> list[str]:
    """`--foundry NAME` for the commands that work on one account of a fleet, or nothing."""
    return ["--foundry", inputs.foundry] if inputs.foundry else []


def _flag(env: dict[str, str], name: str, *, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise ActionError(f"{name}: {value!r} must be true or false")


@dataclass(frozen=True)
class Event:
    """What the triggering GitHub event tells us (from GITHUB_EVENT_NAME and GITHUB_EVENT_PATH)."""

    name: str
    repository: str
    pr_number: int | None = None
    pr_head_repo: str | None = None

    @property
    def is_pull_request(self) -> bool:
        return self.name in ("pull_request", "pull_request_target")

    @property
    def is_fork(self) -> bool:
        # A fork's pull_request run has no secrets, no OIDC token and a read-only GITHUB_TOKEN.
        return self.is_pull_request and self.pr_head_repo is not None and self.pr_head_repo != self.repository

    @staticmethod
    def from_env(env: dict[str, str]) -> Event:
        name = env.get("GITHUB_EVENT_NAME", "")
        repository = env.get("GITHUB_REPOSITORY", "")
        path = env.get("GITHUB_EVENT_PATH", "")
        payload: dict[str, object] = {}
        if path and Path(path).is_file():
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
            payload = loaded if isinstance(loaded, dict) else {}
        pr = payload.get("pull_request")
        if not isinstance(pr, dict):
            return Event(name=name, repository=repository)
        head = pr.get("head") or {}
        head_repo = head.get("repo") if isinstance(head, dict) else None
        full_name = head_repo.get("full_name") if isinstance(head_repo, dict) else None
        number = pr.get("number")
        # A head repository that is gone (a deleted fork) counts as a fork: "" never equals ours.
        return Event(name=name, repository=repository,
                     pr_number=number if isinstance(number, int) else None,
                     pr_head_repo=full_name if isinstance(full_name, str) else "")


@dataclass
class Report:
    """What the step tells GitHub: the Markdown, the outputs, and its own exit code."""

    markdown: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    exit_code: int = 0
    blocked: int = 0  # actions the plan blocks (a failed job, a failed gate, a foreign name ...)
    policy_blocks: list[str] = field(default_factory=list)  # mandatory policies that block the plan

    def add(self, text: str) -> None:
        self.markdown.append(text.rstrip("\n") + "\n")


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str


def ftops(*args: str, merge_stderr: bool = False) -> Ran:
    """Run the ftops installed next to this interpreter; its output also goes to the job log.

    `merge_stderr` keeps apply's progress and notices (stderr) in order with its plan and summary.
    """
    proc = subprocess.run([sys.executable, "-m", "ftops", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE, text=True, check=False)
    stderr = proc.stderr or ""
    sys.stdout.write(proc.stdout)
    sys.stderr.write(stderr)
    return Ran(proc.returncode, proc.stdout, stderr)


def gh(*args: str) -> str:
    """Call the GitHub CLI (on every GitHub-hosted runner; authenticated by GH_TOKEN)."""
    proc = subprocess.run(["gh", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()
        raise ActionError(f"gh {args[0]} {args[1] if len(args) > 1 else ''}: "
                          f"{message[-1] if message else f'exit {proc.returncode}'}")
    return proc.stdout


def fenced(text: str, lang: str = "text") -> str:
    """A Markdown code block whose fence is longer than any run of backticks inside."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    body = text.strip("\n").rstrip()
    return f"{fence}{lang}\n{body}\n{fence}"


def errors_block(ran: Ran) -> str:
    lines = ran.stderr.strip() or ran.stdout.strip() or f"ftops exited {ran.code} without a message"
    return fenced(lines)


# ---------------------------------------------------------------------------------------------- commands


def do_validate(inputs: Inputs, event: Event, report: Report) -> Ran:
    ran = ftops("validate", inputs.spec_dir)
    title = f"### ftops validate: `{inputs.spec_dir}`"
    if ran.code == 0:
        report.add(f"{title}\n\n✅ valid\n\n{fenced(ran.stdout)}")
    else:
        report.add(f"{title}\n\n❌ invalid\n\n{errors_block(ran)}")
    if event.is_fork:
        report.add(FORK_NOTE)
    return ran


FORK_NOTE = ("> **Plan skipped: this pull request comes from a fork.** GitHub gives fork pull requests no "
             "secrets and no OIDC token, so ftops cannot read the live Foundry. The specs were validated "
             "offline; a maintainer can push the branch to this repository to get a plan.")


def count_blocked(plan_file: Path) -> int:
    """How many actions of a saved plan are blocked (0 for a file that is not a plan)."""
    try:
        data = json.loads(plan_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    actions = data.get("actions") if isinstance(data, dict) else None
    return sum(1 for a in actions if isinstance(a, dict) and a.get("blocked")) if isinstance(actions, list) else 0


def policy_blocks(plan_file: Path) -> list[str]:
    """The mandatory policies that block a saved plan (its typed `policy_blocks`), [] for a file that is not a plan."""
    try:
        data = json.loads(plan_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = data.get("policy_blocks") if isinstance(data, dict) else None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def runner_temp(env: dict[str, str]) -> Path:
    return Path(env.get("RUNNER_TEMP") or ".") / "ftops"


def do_plan(inputs: Inputs, event: Event, env: dict[str, str], report: Report) -> Ran | None:
    if event.is_fork:
        report.add(f"### ftops plan: `{inputs.spec_dir}`\n\n{FORK_NOTE}")
        report.outputs["skipped"] = "true"
        return None
    # Always saved: the plan file's typed `blocked` fields say whether apply would be blocked, which
    # neither the exit code nor (without parsing text) the Markdown tells.
    saved = Path(inputs.plan_file) if inputs.plan_file else runner_temp(env) / "plan.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.unlink(missing_ok=True)  # an older run's file must not speak for this plan
    ran = ftops("plan", inputs.spec_dir, "--format", "markdown", "--detailed-exitcode", "--out", str(saved),
                *override_args(inputs), *account_args(inputs))
    if ran.code in (0, 2):
        report.add(ran.stdout)
        report.blocked = count_blocked(saved)
        if inputs.plan_file:
            report.outputs["plan-file"] = inputs.plan_file
    elif ran.code == 1 and (blocks := policy_blocks(saved)):
        # Blocked by policy: the plan (with its policy results) is what reviewers need to see; the check fails.
        report.policy_blocks = blocks
        report.add(f"{ran.stdout}\n\n❌ **blocked by policy** ({', '.join(f'`{b}`' for b in blocks)}): nothing "
                   "can be applied. A soft-mandatory policy is let through with the action's `override` and "
                   f"`override-reason` inputs.\n\n{errors_block(ran)}")
    else:
        report.add(f"### ftops plan: `{inputs.spec_dir}`\n\n❌ plan failed\n\n{errors_block(ran)}")
    if inputs.foundry and saved.is_file():
        # One account of a fleet: action.yml uploads the file (a policy-blocked plan too, so the merged comment
        # shows the block) under a name the merge job's pattern finds.
        report.outputs["artifact-name"] = inputs.artifact
        report.outputs["artifact-file"] = str(saved)
    return ran


def do_apply(inputs: Inputs, env: dict[str, str], report: Report) -> Ran:
    plan = Path(inputs.plan_file) if inputs.plan_file else None
    if plan is not None and not plan.is_file() and inputs.plan_artifact:
        try:
            plan = fetch_saved_plan(inputs, env, report)
        except ActionError as e:
            # Not finding the reviewed plan must not block the merge: plan again, and say why.
            report.add(f"> Could not fetch the saved plan ({e}); planning again.")
            plan = None
    if plan is not None and plan.is_file():
        report.outputs["plan-file"] = str(plan)
        report.add(f"### ftops apply: saved plan `{plan}`\n\nThe plan saved for this change is applied if it is "
                   "still fresh; if the specs or the live Foundry changed since, ftops plans again and "
                   "applies the new plan (shown below).")
        return apply_and_report(report, "apply", str(plan), "--auto-approve", "--on-stale", "replan",
                                *override_args(inputs), *account_args(inputs))
    return replan_and_apply(inputs, env, report)


def replan_and_apply(inputs: Inputs, env: dict[str, str], report: Report) -> Ran:
    """No saved plan: plan again, show it, apply exactly that plan (or its fresh replacement)."""
    fresh = runner_temp(env) / "replan.json"
    fresh.parent.mkdir(parents=True, exist_ok=True)
    report.add(f"### ftops apply: `{inputs.spec_dir}`\n\nNo saved plan was found for this change: "
               "planned again. This is the plan that is applied:")
    planned = ftops("plan", inputs.spec_dir, "--format", "markdown", "--out", str(fresh), *override_args(inputs),
                    *account_args(inputs))
    if planned.code != 0:
        report.add(f"❌ plan failed\n\n{errors_block(planned)}")
        return planned
    report.add(planned.stdout)
    report.outputs["plan-file"] = str(fresh)
    return apply_and_report(report, "apply", str(fresh), "--auto-approve", "--on-stale", "replan",
                            *override_args(inputs), *account_args(inputs))


def apply_and_report(report: Report, *args: str) -> Ran:
    ran = ftops(*args, merge_stderr=True)
    mark = "✅ applied" if ran.code == 0 else "❌ apply failed"
    report.add(f"{mark}\n\n{fenced(ran.stdout or f'ftops exited {ran.code} without a message')}")
    return ran


def do_sync(inputs: Inputs, report: Report) -> Ran:
    report.add(f"### ftops sync: `{inputs.spec_dir}`\n\nThe scheduled tick: apply what is merged, promote "
               "finished jobs; work that only waits for Foundry is left for the next tick.")
    return apply_and_report(report, "apply", inputs.spec_dir, "--auto-approve", *override_args(inputs),
                            *account_args(inputs))


def do_drift(inputs: Inputs, env: dict[str, str], report: Report) -> Ran:
    ran = ftops("drift", inputs.spec_dir, "--format", "markdown", *account_args(inputs))
    if ran.code in (0, 2):
        report.add(ran.stdout)
    else:
        report.add(f"### ftops drift: `{inputs.spec_dir}`\n\n❌ drift check failed\n\n{errors_block(ran)}")
    if inputs.issue and ran.code in (0, 2):
        try:
            number = sync_drift_issue(inputs, env, drifted=ran.code == 2, body=ran.stdout)
        except ActionError as e:
            report.add(f"❌ could not update the drift issue: {e}")
            return Ran(1, ran.stdout, str(e))
        report.outputs["issue-number"] = number or ""
    return ran


def do_matrix(inputs: Inputs, report: Report) -> Ran:
    """The spec directory's accounts as a GitHub Actions matrix (output `matrix`, for fromJSON)."""
    ran = ftops("matrix", inputs.spec_dir, "--format", "json")
    title = f"### ftops matrix: `{inputs.spec_dir}`"
    if ran.code != 0:
        report.add(f"{title}\n\n❌ matrix failed\n\n{errors_block(ran)}")
        return ran
    report.outputs["matrix"] = ran.stdout.strip()
    include = json.loads(ran.stdout).get("include", [])
    names = ", ".join(f"`{e.get('foundry')}` ({e.get('region')})" for e in include)
    report.add(f"{title}\n\n{len(include)} account(s), one plan job each: {names}")
    return ran


def plan_files(plans_dir: Path) -> list[Path]:
    """The plan files action.yml downloaded: one directory per artifact, or the file itself when the pattern
    matched one artifact only (actions/download-artifact v8.0.1, src/download-artifact.ts: a single match is
    extracted into `path` directly)."""
    if not plans_dir.is_dir():
        return []
    return sorted({*plans_dir.glob("*.json"), *plans_dir.glob("*/*.json")})


def do_merge(inputs: Inputs, event: Event, report: Report) -> Ran | None:
    """ONE comment for a fleet: the plan files of the accounts' plan jobs, merged by `ftops merge-plans`."""
    title = f"### ftops plan: `{inputs.spec_dir}`"
    if event.is_fork:
        report.add(f"{title}\n\n{FORK_NOTE}")
        return None
    files = plan_files(Path(inputs.plans_dir)) if inputs.plans_dir else []
    if not files:
        report.add(f"{title}\n\n❌ no plan file was downloaded (artifacts `{inputs.plan_artifact}-*`): every "
                   "account's plan job failed or was skipped; their logs say why.")
        return Ran(1, "", "no plan files")
    # --require-all: an account whose plan job failed fails this check too (the matrix jobs' own names cannot be
    # required by branch protection; this job's can).
    ran = ftops("merge-plans", *map(str, files), "--format", "markdown", "--detailed-exitcode", "--require-all")
    report.blocked = sum(count_blocked(f) for f in files)
    blocks = sorted({b for f in files for b in policy_blocks(f)})
    if ran.code in (0, 2):
        report.add(ran.stdout)
    elif ran.code == 1 and blocks:
        report.policy_blocks = blocks
        report.add(f"{ran.stdout}\n\n❌ **blocked by policy** ({', '.join(f'`{b}`' for b in blocks)}): nothing "
                   f"can be applied.\n\n{errors_block(ran)}")
    else:
        report.add(f"{ran.stdout}\n\n{title}\n\n❌ merging the plans failed\n\n{errors_block(ran)}")
    return ran


# ---------------------------------------------------------------------------------- GitHub integrations


def run_url(env: dict[str, str]) -> str:
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    return f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"


def fetch_saved_plan(inputs: Inputs, env: dict[str, str], report: Report) -> Path | None:
    """Download the plan artifact a pull-request run saved for the head commit of the PR merged here.

    Only runs whose head repository is this repository count: a fork's run could upload an artifact of
    the same name, and its plan must never be applied.
    """
    repo, sha = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_SHA", "")
    pulls = json.loads(gh("api", f"repos/{repo}/commits/{sha}/pulls") or "[]")
    merged = [p for p in pulls if p.get("merged_at")]
    pr = next((p for p in merged if p.get("merge_commit_sha") == sha), merged[0] if merged else None)
    if pr is None:
        report.add(f"No merged pull request points at `{sha[:12]}`; no saved plan to apply.")
        return None
    head_sha = pr["head"]["sha"]
    listing = json.loads(gh("api", f"repos/{repo}/actions/artifacts?name={inputs.artifact}&per_page=100"))
    candidates = [a for a in listing.get("artifacts", [])
                  if not a.get("expired")
                  and a.get("workflow_run", {}).get("head_sha") == head_sha
                  and a["workflow_run"].get("head_repository_id") == a["workflow_run"].get("repository_id")]
    if not candidates:
        report.add(f"No artifact `{inputs.artifact}` was saved for pull request #{pr['number']} "
                   f"(head `{head_sha[:12]}`).")
        return None
    newest = max(candidates, key=lambda a: str(a.get("created_at", "")))
    dest = runner_temp(env) / "saved-plan"
    shutil.rmtree(dest, ignore_errors=True)  # an older download must not speak for this plan
    dest.mkdir(parents=True, exist_ok=True)
    gh("run", "download", str(newest["workflow_run"]["id"]), "--repo", repo,
       "--name", inputs.artifact, "--dir", str(dest))
    plan = dest / Path(inputs.plan_file).name
    report.outputs["saved-plan-pr"] = str(pr["number"])
    return plan if plan.is_file() else None


def sync_drift_issue(inputs: Inputs, env: dict[str, str], *, drifted: bool, body: str) -> str | None:
    """Keep ONE open issue per spec directory while drift lasts; close it when in sync."""
    repo = env.get("GITHUB_REPOSITORY", "")
    title = f"ftops drift: {inputs.spec_dir}" + (f" ({inputs.foundry})" if inputs.foundry else "")  # one per account
    listed = json.loads(gh("issue", "list", "--repo", repo, "--state", "open", "--label", DRIFT_LABEL,
                           "--json", "number,title", "--limit", "100") or "[]")
    existing = next((str(i["number"]) for i in listed if i.get("title") == title), None)
    footer = f"\n\n---\n_Updated by [this run]({run_url(env)}); closed automatically when in sync._"
    if drifted:
        body_file = write_body(env, "drift-issue.md", cap(body) + footer)
        if existing:
            gh("issue", "edit", existing, "--repo", repo, "--body-file", body_file)
            return existing
        gh("label", "create", DRIFT_LABEL, "--repo", repo, "--force", "--color", "d93f0b",
           "--description", "ftops: the live Foundry differs from git")
        url = gh("issue", "create", "--repo", repo, "--title", title, "--label", DRIFT_LABEL,
                 "--body-file", body_file).strip()
        return url.rsplit("/", 1)[-1] or None
    if existing:
        gh("issue", "close", existing, "--repo", repo, "--comment", f"In sync again ([run]({run_url(env)})).")
    return None


def write_body(env: dict[str, str], name: str, text: str) -> str:
    path = runner_temp(env) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def cap(markdown: str, limit: int = BODY_LIMIT) -> str:
    """Cut at a line boundary under `limit` and say where the rest is."""
    if len(markdown) <= limit:
        return markdown
    note = "\n\n… cut to fit GitHub's size limit: the full text is in the run summary and the job log.\n"
    cut = markdown[: limit - len(note)]
    cut = cut[: cut.rfind("\n") + 1] or cut
    # A cut inside an open code fence would swallow the note: close it.
    if cut.count("```") % 2:
        cut += "```\n"
    return cut + note


def comment_body(inputs: Inputs, env: dict[str, str], markdown: str) -> str:
    sha = env.get("GITHUB_SHA", "")[:12]
    footer = (f"\n\n---\n<sub>ftops {inputs.command} of `{inputs.spec_dir}` at `{sha}` · "
              f"[run and full summary]({run_url(env)})")
    if inputs.plan_file and inputs.command == "plan":
        footer += f" · plan file `{Path(inputs.plan_file).name}` saved with the run"
    if inputs.command == "merge":
        footer += f" · each account's plan file saved as artifact `{inputs.plan_artifact}-<account>`"
    return cap(markdown) + footer + "</sub>\n"


# ------------------------------------------------------------------------------------------------ main


def outcome(command: str, code: int, skipped: bool, blocked: int = 0, policy_blocked: bool = False) -> str:
    if skipped:
        return "skipped"
    if policy_blocked:  # a mandatory policy fails on the plan: the step fails
        return "policy-blocked"
    if code == 2 and command not in INFORMATION_CODE_2:
        return "failed"
    if blocked and code in (0, 2):  # apply would end in exit 1 with these: never "success"
        return "blocked"
    return {0: "success", 2: "drift" if command == "drift" else "changes"}.get(code, "failed")


def wants_comment(inputs: Inputs, event: Event) -> bool:
    """The ONE plan comment: a plan of one account, or a fleet's merge; a fleet's plan jobs leave it to the merge."""
    planned = inputs.command == "merge" or (inputs.command == "plan" and not inputs.foundry)
    return inputs.comment and planned and event.is_pull_request and not event.is_fork


def execute(inputs: Inputs, event: Event, env: dict[str, str]) -> Report:
    report = Report()
    ran: Ran | None
    if inputs.command == "validate":
        ran = do_validate(inputs, event, report)
    elif inputs.command == "plan":
        ran = do_plan(inputs, event, env, report)
    elif inputs.command == "apply":
        ran = do_apply(inputs, env, report)
    elif inputs.command == "sync":
        ran = do_sync(inputs, report)
    elif inputs.command == "matrix":
        ran = do_matrix(inputs, report)
    elif inputs.command == "merge":
        ran = do_merge(inputs, event, report)
    else:
        ran = do_drift(inputs, env, report)
    code = ran.code if ran is not None else 0
    # Exit 2 of apply, sync, validate or matrix is a usage error (several Foundry documents and no foundry).
    informed = code == 2 and inputs.command in INFORMATION_CODE_2
    report.outputs.update({
        "exit-code": str(code),
        "outcome": outcome(inputs.command, code, ran is None, report.blocked, bool(report.policy_blocks)),
        "has-changes": "true" if informed else "false",
        "blocked": str(report.blocked),
        "policy-blocked": ",".join(report.policy_blocks),
    })
    # 2 means "there are changes" (plan) or "there is drift" (drift): information, not failure.
    report.exit_code = 0 if code == 0 or informed else (code or 1)
    return report


def publish(report: Report, inputs: Inputs, event: Event, env: dict[str, str]) -> None:
    markdown = "\n".join(report.markdown)
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(markdown + "\n")
    report.outputs["markdown"] = write_body(env, f"{inputs.command}.md", markdown)
    comment = wants_comment(inputs, event)
    report.outputs["comment"] = "true" if comment else "false"
    if comment:
        report.outputs["comment-file"] = write_body(env, "comment.md", comment_body(inputs, env, markdown))
        report.outputs["comment-header"] = f"ftops-plan-{inputs.spec_dir}"
    output = env.get("GITHUB_OUTPUT")
    if output:
        write_outputs(Path(output), report.outputs)


def write_outputs(path: Path, outputs: dict[str, str]) -> None:
    """Each output in GitHub's multiline form (`name<<DELIMITER`, the value, `DELIMITER`) with a random
    delimiter, so no value (a spec-dir input holding a newline, say) can add outputs of its own."""
    with open(path, "a", encoding="utf-8") as f:
        for key, value in outputs.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            while delimiter in value:  # as good as impossible; never write a value that could end early
                delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            f.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")


def main() -> int:
    env = dict(os.environ)
    try:
        inputs = Inputs.from_env(env)
        event = Event.from_env(env)
        report = execute(inputs, event, env)
        publish(report, inputs, event, env)
    except ActionError as e:
        print(f"ftops action: {e}", file=sys.stderr)
        return 1
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
