"""Rendering of plans, drift, status and apply summaries: text (Terraform-like), JSON, Markdown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from rich.markup import escape

from ..foundry import public_url
from ..plan import (
    Action,
    DriftItem,
    Finding,
    GitSource,
    Plan,
    Promote,
    Scalar,
    StatusRow,
    Verdict,
    short_commit,
    shown_repository,
    verdicts,
)
from ._escape import md_cell, md_text, terminal
from ._policies import policies_markdown, policies_text
from ._views import money, view_of

if TYPE_CHECKING:  # plan, drift and status render without importing apply
    from ..apply import ApplyResult
    from ..session import AccountPlan, MergedPlans

# Each verb's symbol and colour (a test checks every verb has one: an action is never drawn as `?`).
SYMBOL = {"create": ("+", "green"), "update": ("~", "yellow"), "replace": ("-/+", "magenta"),
          "delete": ("-", "red"), "cancel": ("x", "red"), "pause": ("||", "cyan"), "resume": (">", "cyan"),
          "wait": ("...", "blue"), "no-op": (" ", "dim")}
ORDER = ("create", "update", "replace", "delete", "cancel", "pause", "resume")
MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
CUT_NOTE_ROOM = 600  # kept free for the line that says what did not fit
FINDING_NAMES = 3  # resources named in a group of identical findings; the rest are counted
HIDDEN_CHANGES = ("spec hash",)  # shown only when nothing else changed


def signed(x: float) -> str:
    return ("+" if x > 0 else "-" if x < 0 else "±") + money(abs(x))


def shown(value: Scalar) -> str:
    """A field's value for people: what is not set (or does not exist yet) reads `(none)`, booleans as
    YAML spells them; never a Python repr. A value the plan cannot know yet is the planner's
    `(known after apply: ...)` text."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FindingGroup:
    """Identical findings (one severity, kind and message) for several resources: one line, counted."""

    severity: str
    message: str
    resources: tuple[str, ...]

    def names(self, fmt: Callable[[str], str]) -> str:
        named = ", ".join(fmt(r) for r in self.resources[:FINDING_NAMES])
        more = len(self.resources) - FINDING_NAMES
        return f"{named} and {more} more ({len(self.resources)} in all)" if more > 0 else named


def group_findings(findings: list[Finding]) -> list[FindingGroup]:
    """One group per distinct (severity, kind, message), in the order of first appearance."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for f in findings:
        groups.setdefault((f.severity, f.kind, f.message), []).append(f.resource)
    return [FindingGroup(sev, msg, tuple(dict.fromkeys(res))) for (sev, _kind, msg), res in groups.items()]


def _visible(a: Action, verbose: bool) -> bool:
    return verbose or a.action != "no-op" or bool(a.blocked) or bool(a.drift) or a.duplicate_of is not None


def plan_summary_line(plan: Plan) -> str:
    return f"Plan: {plan_counts(plan)}."


def plan_counts(plan: Plan) -> str:
    """`1 to create, 0 to update, 0 to delete (1 blocked)`: what the plan changes, and what waits or is blocked."""
    counts: dict[str, int] = {}
    for a in plan.actions:
        if a.is_change:
            counts[a.action] = counts.get(a.action, 0) + 1
    parts = [f"{counts.get(k, 0)} to {k}" for k in ORDER if counts.get(k, 0) or k in ("create", "update", "delete")]
    extra = []
    waiting = sum(1 for a in plan.actions if a.action == "wait" or (a.pending and a.changes_something))
    if waiting:
        extra.append(f"{waiting} waiting for Foundry")
    blocked = sum(1 for a in plan.actions if a.blocked)
    if blocked:
        extra.append(f"{blocked} blocked")
    return ", ".join(parts) + (f" ({', '.join(extra)})" if extra else "")


def field_changes(a: Action) -> list[tuple[str, Scalar, Scalar]]:
    """(field, before, after) for a person: the spec's fields, not internal tags or hashes unless alone."""
    rows = [(k, old, new) for k, (old, new) in a.changes.items() if k not in HIDDEN_CHANGES]
    return rows or [(k, old, new) for k, (old, new) in a.changes.items()]


def _label(a: Action) -> str:
    if a.blocked:
        return "blocked"
    return "pending" if a.pending and a.changes_something else a.action


def plan_text(plan: Plan, verbose: bool = False) -> str:
    lines = [f"[bold]ftops plan[/] · namespace [bold]{escape(plan.project)}[/] · account "
             f"{escape(terminal(plan.endpoint))}"]
    if plan.data_plane:
        project = f" (Foundry project {terminal(plan.foundry_project)})" if plan.foundry_project else ""
        # A plan file may come from elsewhere: its endpoint is redacted again, not trusted.
        where = (f"data plane {terminal(public_url(plan.data_plane))}{project} · identity: "
                 f"{terminal(plan.identity)}")
        lines.append(f"[dim]{escape(where)}[/]")
    if plan.provenance is not None:
        lines.append(f"[dim]{escape(terminal(source_line(plan.provenance)))}[/]")
    lines.append("")
    width = max((len(a.resource) for a in plan.actions), default=10)
    for a in plan.actions:
        if not _visible(a, verbose):
            continue
        sym, color = SYMBOL[a.action]
        color = "red" if a.blocked else "blue" if a.pending else color
        lines.append(f"  [{color}]{sym:>3} {escape(a.resource):<{width}}  {_label(a):<8}[/] "
                     f"{escape(terminal(a.reason))}{view_of(a).note(a)}")
        for name, old, new in field_changes(a):
            lines.append(f"        [dim]{escape(terminal(name))}: {escape(terminal(shown(old)))} -> "
                         f"{escape(terminal(shown(new)))}[/]")
        if a.progress and a.action == "wait":
            lines.append(f"        [dim]progress: {escape(terminal(str(a.progress)))}[/]")
        if a.depends_on and a.action != "no-op":
            lines.append(f"        [dim]after: {escape(', '.join(a.depends_on))}[/]")
    if not plan.has_changes and not any(a.action == "wait" or a.blocked for a in plan.actions):
        lines.append("  [green]No changes.[/] The live Foundry matches the specs.")
    for g in group_findings(plan.findings):
        color = "red" if g.severity == "error" else "yellow"
        lines.append(f"  [{color}]{g.severity}:[/] {escape(terminal(g.names(str)))}: {escape(terminal(g.message))}")
    lines += notice_lines(plan)
    lines += policies_text(plan)
    lines += ["", plan_summary_line(plan), *(escape(x) for x in cost_text(plan, plan.totals()))]
    return "\n".join(lines)


def source_line(source: GitSource) -> str:
    """What apply records on the jobs and deployments it writes: `recorded on what apply writes: commit …`."""
    where = f" of {shown_repository(source.repository)}" if source.repository else ""
    return f"recorded on what apply writes: commit {short_commit(source.revision)}{where}"


def notice_lines(plan: Plan) -> list[str]:
    """The notifications apply would send (Notification specs), one line each."""
    return [f"  [magenta]  @ notify {escape(n.notification)} ({n.target})[/] {escape(n.event)}: "
            f"{escape(terminal(n.text))}" for n in plan.notifications]


def _canary_label(plan: Plan) -> str | None:
    """The evaluation canaries this plan deploys, or None when it deploys none."""
    runs = [a for a in plan.actions if view_of(a).canaries]
    if not runs:
        return None
    return f"evaluation canaries (this plan: {len(runs)} evaluation(s), billed by the hour, about 1 h each; " \
           "tokens billed besides)"


def _unmanaged_label(plan: Plan) -> str | None:
    u = plan.unmanaged
    if not u.deployments:
        return None
    unpriced = f", {u.unpriced} not priced: no job says which model they serve" if u.unpriced else ""
    return f"other deployments on this account, not managed by this project ({u.deployments}{unpriced})"


def cost_markdown(plan: Plan, t: dict[str, float]) -> list[str]:
    rows = ["| estimated cost | before | after | change |", "|---|---|---|---|",
            f"| hosting (monthly) | {money(t['monthly_hosting_before_usd'])} | {money(t['monthly_hosting_usd'])} "
            f"| {signed(t['monthly_hosting_delta_usd'])} |",
            f"| training (this plan) | | {money(t['training_usd'])} | |"]
    if label := _canary_label(plan):
        rows.append(f"| {label} | | {money(t['canary_hosting_usd'])} | |")
    if label := _unmanaged_label(plan):
        other = money(t["monthly_unmanaged_usd"])
        rows.append(f"| {label}, monthly | {other} | {other} | {signed(0)} |")
    return rows


def cost_text(plan: Plan, t: dict[str, float]) -> list[str]:
    lines = [f"Estimated cost: training {money(t['training_usd'])} (this plan) · hosting "
             f"{money(t['monthly_hosting_before_usd'])} -> {money(t['monthly_hosting_usd'])}/month "
             f"({signed(t['monthly_hosting_delta_usd'])}); estimates from the catalog."]
    if label := _canary_label(plan):
        lines.append(f"  + {label}: {money(t['canary_hosting_usd'])}")
    if label := _unmanaged_label(plan):
        lines.append(f"  also on the bill: {label}: {money(t['monthly_unmanaged_usd'])}/month")
    return lines


def _md_row(a: Action) -> str:
    sym = SYMBOL[a.action][0]
    label = "**blocked**" if a.blocked else _label(a)
    fields = "<br>".join(f"`{md_cell(name)}`: {md_text(shown(old))} → {md_text(shown(new))}"
                         for name, old, new in field_changes(a))
    return f"| `{sym.strip() or '='}` | `{md_cell(a.resource)}` | {label} | {fields} | {md_text(a.reason)} |"


def _md_findings(plan: Plan) -> list[str]:
    return [f"- **{g.severity}** {g.names(lambda r: f'`{md_cell(r)}`')}: {md_text(g.message)}"
            for g in group_findings(plan.findings)]


def _take(parts: list[str], room: int) -> tuple[list[str], int]:
    """The leading parts that fit in `room` characters (one newline each), and the room left."""
    kept: list[str] = []
    for part in parts:
        if len(part) + 1 > room:
            break
        kept.append(part)
        room -= len(part) + 1
    return kept, room


def plan_markdown(plan: Plan, *, limit: int = MARKDOWN_LIMIT, full_plan_hint: str = "", title: str = "") -> str:
    """A PR comment: summary, cost as Infracost shows it, findings, one row per change, the verdicts;
    everything counts against `limit` characters (GitHub refuses a longer comment), and what did not fit
    is counted in one line that says where the whole plan is. `title` replaces the heading (Markdown as given:
    a merged comment names the account)."""
    t = plan.totals()
    head = [
        title or f"### ftops plan: `{md_cell(plan.project)}`", "",
        f"**{plan_summary_line(plan)}**", "",
        *cost_markdown(plan, t), "",
        *([f"_{md_text(source_line(plan.provenance))}_", ""] if plan.provenance is not None else []),
    ]
    table = ["| | resource | action | changes | reason |", "|---|---|---|---|---|"]
    rows = [_md_row(a) for a in plan.actions if _visible(a, False)] or \
        ["| | | | | No changes: the live Foundry matches the specs. |"]
    foot = ["", "_Costs are estimates from the ftops catalog (list prices)._"]
    findings = [*policies_markdown(plan), *_md_findings(plan)]  # policies first: a block must show
    tables = [verdicts_markdown([v]) for v in verdicts(plan)]
    room = limit - sum(len(x) + 1 for x in head + table + foot) - CUT_NOTE_ROOM
    # Findings may use what the rows and tables leave, and at least half: neither crowds the other out.
    others = sum(len(x) + 1 for x in rows + tables)
    kept_findings, _ = _take(findings, max(room // 2, room - others))
    room -= sum(len(x) + 1 for x in kept_findings)
    kept_rows, room = _take(rows, room)
    kept_tables, room = _take(tables, room)
    body = head + ([*kept_findings, ""] if kept_findings else []) + table + kept_rows + foot
    body += [x for v in kept_tables for x in ("", v)]
    left = {"finding(s)": len(findings) - len(kept_findings), "resource(s)": len(rows) - len(kept_rows),
            "evaluation table(s)": len(tables) - len(kept_tables)}
    if any(left.values()):
        what = ", ".join(f"{n} more {k}" for k, n in left.items() if n)
        where = md_text(full_plan_hint) if full_plan_hint else "run `ftops plan --format json` for the whole plan"
        body += ["", f"**{what} not shown** (the comment is capped at {limit:,} characters); {where}."]
    return "\n".join(body)


def plan_json(plan: Plan) -> str:
    return orjson.dumps(plan.to_dict(), option=orjson.OPT_INDENT_2).decode()


def drift_text(items: list[DriftItem], waiting: list[Action], project: str) -> str:
    lines = [f"[green]In sync.[/] project {escape(project)}: the live Foundry matches the specs."] if not items else \
        [f"[bold red]Drift[/] in project {escape(project)}: {len(items)} difference(s)"]
    for d in items:
        lines.append(f"  [yellow]{d.kind:<10}[/] {escape(d.resource)}: {escape(terminal(d.reason))} "
                     f"[dim](apply would {d.action})[/]")
    for a in waiting:
        lines.append(f"  [blue]{'waiting':<10}[/] {escape(a.resource)}: {escape(terminal(a.reason))}")
    return "\n".join(lines)


def drift_markdown(items: list[DriftItem], waiting: list[Action], project: str) -> str:
    title = f"### ftops drift: `{md_cell(project)}`\n\n"
    if not items:
        body = "In sync: the live Foundry matches the specs."
    else:
        rows = ["| class | resource | reason | apply would |", "|---|---|---|---|"]
        rows += [f"| {d.kind} | `{md_cell(d.resource)}` | {md_text(d.reason)} | {d.action} |" for d in items]
        body = f"**{len(items)} difference(s)**\n\n" + "\n".join(rows)
    if waiting:
        body += "\n\nWaiting for Foundry (not drift): " + ", ".join(f"`{md_cell(a.resource)}`" for a in waiting)
    return title + body


def drift_json(items: list[DriftItem], waiting: list[Action], project: str) -> str:
    data: dict[str, Any] = {"format_version": 2, "project": project, "drift": bool(items),
                            "items": [d.to_dict() for d in items],
                            "waiting": [{"resource": a.resource, "reason": a.reason} for a in waiting]}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def status_table(rows: list[StatusRow]) -> Any:
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    recorded = any(r.provenance is not None for r in rows)  # the column only when something recorded one
    for col in ("kind", "name", "live id", "status", "detail", *(("provenance",) if recorded else ())):
        table.add_column(col, overflow="fold")
    for r in rows:
        cells = (r.kind, r.name, r.live_id, r.status, r.detail,
                 *((_provenance(r, model=False),) if recorded else ()))  # the detail shows the model
        table.add_row(*(escape(terminal(x)) for x in cells))
    return table


def _provenance(row: StatusRow, *, model: bool = True) -> str:
    """Where the row's live object came from, one line (tags anyone may edit: escaped by the caller)."""
    return row.provenance.describe(model=model) if row.provenance is not None else ""


def status_json(rows: list[StatusRow]) -> str:
    return orjson.dumps([r.to_dict() for r in rows], option=orjson.OPT_INDENT_2).decode()


def status_markdown(rows: list[StatusRow]) -> str:
    recorded = any(r.provenance is not None for r in rows)
    lines = ["| kind | name | live id | status | detail |" + (" provenance |" if recorded else ""),
             "|---|---|---|---|---|" + ("---|" if recorded else "")]
    lines += ["| " + " | ".join(md_text(x) for x in (r.kind, r.name, r.live_id, r.status, r.detail,
                                                     *((_provenance(r),) if recorded else ()))) + " |"
              for r in rows]
    return "\n".join(lines)


def _soaking_only(result: ApplyResult, plan: Plan | None) -> bool:
    """Every deferred action is a promotion waiting out its soak (typed: `Promote.soaking`), which --wait does
    not wait for: the stage before serves the model, and only time is missing."""
    if plan is None:
        return False
    actions = plan.by_id()
    deferred = [actions.get(o.action_id) for o in result.outcomes if o.state == "deferred"]
    return bool(deferred) and all(isinstance(a, Promote) and a.soaking is not None for a in deferred)


def apply_summary(result: ApplyResult, plan: Plan | None = None) -> str:
    """The counts of an apply, its notes, and what it leaves waiting (`plan`: the plan applied)."""
    counts = {s: result.count(s) for s in ("done", "no-op", "failed", "skipped", "blocked", "deferred")}
    head = "[green]Apply complete.[/]" if result.ok else "[red]Apply finished with errors.[/]"
    text = f"{head} {counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped, " \
           f"{counts['blocked']} blocked, {counts['deferred']} deferred, {counts['no-op']} unchanged."
    for note in result.notes:
        text += f"\nnote: {escape(terminal(note))}"
    if result.waiting and _soaking_only(result, plan):
        text += ("\nWaiting out a soak: the stage before serves the model, and the soak time is not over (--wait does "
                 "not wait for it). The first `ftops apply` after it ends (a scheduled sync) promotes.")
    elif result.waiting:
        text += ("\nWaiting for Foundry: deferred actions follow running jobs. The next `ftops apply` (a scheduled "
                 "sync) continues; or use --wait.")
    return text


def verdicts_markdown(found: list[tuple[str, Verdict]]) -> str:
    """One table per evaluation-gated deployment: each candidate's scores, the baseline, the verdict."""
    from ._charts import VerdictRow, verdict_table_markdown
    parts = []
    for deployment, v in found:
        rows = [VerdictRow(c.label, c.scores, "winner" if c.model == v.winner else "pass" if c.passed else
                           f"fail: {c.why}") for c in v.candidates]
        base = VerdictRow(v.baseline.model, v.baseline.scores, "" if v.baseline.items else "not deployable") \
            if v.baseline is not None else None
        head = f"#### evaluation `{md_cell(v.evaluation)}` for `{md_cell(deployment)}`: " + \
            ("passed" if v.passed else "**failed** (the served model keeps serving)")
        parts.append(head + "\n\n" + verdict_table_markdown(v.criteria, rows, base))
    return "\n".join(parts)


# ----------------------------------------------------------- several accounts' plans, one comment (merge-plans)

MERGED_FORMAT_VERSION = 1
NO_PLAN = "no plan file: its plan job failed or was skipped"


def _account_label(a: AccountPlan) -> str:
    return a.foundry or "(the only Foundry)"


def _cost_cell(plan: Plan) -> str:
    t = plan.totals()
    return (f"training {money(t['training_usd'])} · hosting {money(t['monthly_hosting_before_usd'])} → "
            f"{money(t['monthly_hosting_usd'])}/month ({signed(t['monthly_hosting_delta_usd'])})")


def _policies_cell(plan: Plan) -> str:
    """What the Policies found, in a few words: a block first, then the counts."""
    if not plan.policies:
        return "none"
    if blocks := plan.policy_blocks:
        return "**blocked** by " + ", ".join(f"`{md_cell(r.policy)}`" for r in blocks)
    failed = sum(1 for r in plan.policies if not r.passed)
    overridden = sum(1 for r in plan.policies if r.override is not None)
    words = [f"{len(plan.policies) - failed} passed"]
    if failed:
        words.append(f"{failed} failed ({overridden} overridden)" if overridden else f"{failed} failed, advisory")
    return ", ".join(words)


def _changes_cell(plan: Plan) -> str:
    refused = f" · **preflight: {len(plan.refused)} error(s)**" if plan.refused else ""
    return md_text(plan_counts(plan)) + refused


def merged_summary_markdown(merged: MergedPlans) -> tuple[list[str], list[str]]:
    """The head of the merged comment and its table's rows: one per account (and per account whose plan is
    missing), and the total."""
    changed = sum(1 for a in merged.accounts if a.plan.has_changes)
    total = len(merged.accounts) + len(merged.missing)
    head = [f"### ftops plan: `{md_cell(merged.spec_dir)}`, {total} account(s)", "",
            f"**Changes in {changed} of {len(merged.accounts)} planned account(s)"
            + (f"; {len(merged.missing)} without a plan" if merged.missing else "") + ".**", "",
            "| account | region | namespace | changes | estimated cost | policies |", "|---|---|---|---|---|---|"]
    rows = [f"| `{md_cell(_account_label(a))}` | {md_text(a.region or '-')} | `{md_cell(a.plan.project)}` | "
            f"{_changes_cell(a.plan)} | {_cost_cell(a.plan)} | {_policies_cell(a.plan)} |" for a in merged.accounts]
    rows += [f"| `{md_cell(name)}` | | | **{NO_PLAN}** | | |" for name in merged.missing]
    if len(merged.accounts) > 1:
        rows.insert(0, f"| **all accounts** | | | | {_total_cost_cell([a.plan for a in merged.accounts])} | |")
    return head, rows


def _total_cost_cell(plans: list[Plan]) -> str:
    totals = [p.totals() for p in plans]

    def total(key: str) -> float:
        return sum(t[key] for t in totals)
    return (f"training {money(total('training_usd'))} · hosting {money(total('monthly_hosting_before_usd'))} → "
            f"{money(total('monthly_hosting_usd'))}/month ({signed(total('monthly_hosting_delta_usd'))})")


def _section_title(a: AccountPlan) -> str:
    where = f" ({md_text(a.region)})" if a.region else ""
    return f"### `{md_cell(_account_label(a))}`{where}: namespace `{md_cell(a.plan.project)}`"


def _shares(sizes: list[int], room: int) -> list[int]:
    """Each section's limit: a section that fits an equal share of what is left keeps its size, and what it
    leaves goes to the larger ones (so a small account's plan is never cut for a large one's)."""
    shares = [0] * len(sizes)
    left = room
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for k, i in enumerate(order):
        shares[i] = max(0, min(sizes[i], left // (len(order) - k)))
        left -= shares[i]
    return shares


def merged_markdown(merged: MergedPlans, *, limit: int = MARKDOWN_LIMIT) -> str:
    """ONE pull-request comment for several accounts: the summary table, then each account's plan as
    `plan_markdown` renders it, cut per account the same way so the whole stays within `limit` characters."""
    head, rows = merged_summary_markdown(merged)
    room = limit - sum(len(x) + 1 for x in head) - CUT_NOTE_ROOM
    kept_rows, room = _take(rows, room)
    whole = [_account_markdown(a, MARKDOWN_LIMIT * 100) for a in merged.accounts]
    sections: list[str] = []
    left_out: list[AccountPlan] = []
    for a, text, share in zip(merged.accounts, whole, _shares([len(t) + 6 for t in whole], room), strict=True):
        if len(text) + 6 > share:  # six: the rule and blank lines between sections
            text = _account_markdown(a, share - 6)
        if len(text) + 6 > share:  # even the plan's head does not fit its share: name the account only
            left_out.append(a)
            continue
        sections += ["", "---", "", text]
    if left_out or len(kept_rows) < len(rows):
        sections += ["", _left_out_note(left_out, len(rows) - len(kept_rows), limit)]
    return "\n".join(head + kept_rows + sections)


def _left_out_note(left_out: list[AccountPlan], rows: int, limit: int) -> str:
    """One line for what did not fit, naming a few accounts and counting the rest (it must fit CUT_NOTE_ROOM)."""
    parts = []
    if rows:
        parts.append(f"{rows} more row(s) of the table")
    if left_out:
        named = ", ".join(f"`{md_cell(_account_label(a))}`" for a in left_out[:FINDING_NAMES])
        more = f" and {len(left_out) - FINDING_NAMES} more" if len(left_out) > FINDING_NAMES else ""
        parts.append(f"the plans of {named}{more}")
    return (f"**{' and '.join(parts)} are not shown** (the comment is capped at {limit:,} characters); each "
            "account's plan is in its plan job's run summary and its plan file.")


def _account_markdown(a: AccountPlan, limit: int) -> str:
    return plan_markdown(a.plan, limit=limit, title=_section_title(a),
                         full_plan_hint=f"the whole plan is in the plan file {a.path}")


def merged_text(merged: MergedPlans) -> str:
    """The merged plans on a terminal: one line per account, then each account's plan."""
    lines = [f"[bold]ftops plan[/] · {escape(terminal(merged.spec_dir))} · {len(merged.accounts)} plan file(s)", ""]
    width = max((len(_account_label(a)) for a in merged.accounts), default=8)
    regions = max((len(a.region or "-") for a in merged.accounts), default=1)
    for a in merged.accounts:
        name, region = escape(terminal(_account_label(a))), escape(terminal(a.region or "-"))
        lines.append(f"  {name:<{width}}  {region:<{regions}}  {escape(plan_counts(a.plan))}  "
                     f"[dim]{escape(terminal(a.path))}[/]")
    lines += [f"  [red]{escape(terminal(name)):<{width}}  {NO_PLAN}[/]" for name in merged.missing]
    for a in merged.accounts:
        lines += ["", f"[bold]== {escape(terminal(_account_label(a)))}[/]", plan_text(a.plan)]
    return "\n".join(lines)


def merged_json(merged: MergedPlans) -> str:
    """For machines: per account, its file, region and what its plan holds in sum (the files hold the rest)."""
    accounts = [{"foundry": a.foundry, "region": a.region, "file": a.path, "project": a.plan.project,
                 "has_changes": a.plan.has_changes, "summary": a.plan.summary(),
                 "cost": {**a.plan.totals(), "estimate": True, "currency": "USD"},
                 "blocked": sum(1 for x in a.plan.actions if x.blocked), "refused": len(a.plan.refused),
                 "policy_blocks": [r.policy for r in a.plan.policy_blocks]} for a in merged.accounts]
    data = {"format_version": MERGED_FORMAT_VERSION, "spec_dir": merged.spec_dir, "has_changes": merged.has_changes,
            "accounts": accounts, "missing": list(merged.missing), "specs_read": merged.specs_read}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
