"""Rendering of plans, drift, status and apply summaries: text (Terraform-like), JSON, Markdown."""

from __future__ import annotations

from typing import Any

import orjson
from rich.markup import escape

from ..apply import ApplyResult
from ..plan import Plan
from ..plan._drift import DriftItem
from ..plan._model import Action
from ..plan._status import StatusRow

SYMBOL = {"create": ("+", "green"), "update": ("~", "yellow"), "replace": ("-/+", "magenta"),
          "delete": ("-", "red"), "cancel": ("x", "red"), "pause": ("||", "cyan"), "resume": (">", "cyan"),
          "wait": ("...", "blue"), "no-op": (" ", "dim")}
ORDER = ("create", "update", "replace", "delete", "cancel", "pause", "resume")


def money(x: float) -> str:
    return f"${x:,.2f}"


def _visible(a: Action, verbose: bool) -> bool:
    return verbose or a.action != "no-op" or bool(a.blocked) or bool(a.drift)


def plan_summary_line(plan: Plan) -> str:
    s = plan.summary()
    parts = [f"{s.get(k, 0)} to {k}" for k in ORDER if s.get(k, 0) or k in ("create", "update", "delete")]
    extra = []
    if s.get("wait"):
        extra.append(f"{s['wait']} in progress")
    blocked = sum(1 for a in plan.actions if a.blocked)
    if blocked:
        extra.append(f"{blocked} blocked")
    return "Plan: " + ", ".join(parts) + (f" ({', '.join(extra)})" if extra else "") + "."


def plan_text(plan: Plan, verbose: bool = False) -> str:
    lines = [f"[bold]ftops plan[/] · project [bold]{escape(plan.project)}[/] · {escape(plan.endpoint)}", ""]
    width = max((len(a.resource) for a in plan.actions), default=10)
    for a in plan.actions:
        if not _visible(a, verbose):
            continue
        sym, color = SYMBOL.get(a.action, ("?", "white"))
        if a.blocked:
            color = "red"
        cost = ""
        if a.action in ("create", "replace") and a.cost.get("training_usd"):
            cost = f"  ~{money(a.cost['training_usd'])} training"
        elif a.kind == "Deployment" and a.action in ("create", "replace") and a.cost.get("monthly_usd"):
            cost = f"  ~{money(a.cost['monthly_usd'])}/month"
        label = "blocked" if a.blocked else a.action
        lines.append(f"  [{color}]{sym:>3} {escape(a.resource):<{width}}  {label:<8}[/] {escape(a.reason)}{cost}")
        for field, (old, new) in a.changes.items():
            lines.append(f"        [dim]{escape(field)}: {escape(str(old))} -> {escape(str(new))}[/]")
        if a.progress and a.action == "wait":
            lines.append(f"        [dim]progress: {escape(a.progress)}[/]")
        if a.depends_on and a.action != "no-op":
            lines.append(f"        [dim]after: {escape(', '.join(a.depends_on))}[/]")
    if not plan.has_changes and not any(a.action == "wait" or a.blocked for a in plan.actions):
        lines.append("  [green]No changes.[/] The live Foundry matches the specs.")
    t = plan.totals()
    lines += ["", plan_summary_line(plan),
              f"Estimated cost: training {money(t['training_usd'])} (this plan) · hosting "
              f"{money(t['monthly_hosting_usd'])}/month (all deployments); estimates from the catalog."]
    return "\n".join(lines)


def plan_markdown(plan: Plan) -> str:
    t = plan.totals()
    rows = ["| | resource | action | reason |", "|---|---|---|---|"]
    for a in plan.actions:
        if a.action == "no-op" and not a.blocked and not a.drift:
            continue
        sym = SYMBOL.get(a.action, ("?", ""))[0]
        label = "**blocked**" if a.blocked else a.action
        rows.append(f"| `{sym.strip() or '='}` | `{a.resource}` | {label} | {a.reason.replace('|', '/')} |")
    if len(rows) == 2:
        rows.append("| | | | No changes: the live Foundry matches the specs. |")
    details = orjson.dumps(plan.to_dict(), option=orjson.OPT_INDENT_2).decode()
    return "\n".join([
        f"### ftops plan: `{plan.project}`",
        "",
        f"**{plan_summary_line(plan)}**",
        "",
        *rows,
        "",
        "| estimated cost | USD |", "|---|---|",
        f"| training (this plan) | {money(t['training_usd'])} |",
        f"| hosting (all deployments, monthly) | {money(t['monthly_hosting_usd'])} |",
        "",
        "<details><summary>Plan details (JSON)</summary>",
        "",
        "```json", details, "```",
        "</details>",
    ])


def plan_json(plan: Plan) -> str:
    return orjson.dumps(plan.to_dict(), option=orjson.OPT_INDENT_2).decode()


def drift_text(items: list[DriftItem], project: str) -> str:
    if not items:
        return f"[green]In sync.[/] project {escape(project)}: the live Foundry matches the specs."
    lines = [f"[bold red]Drift[/] in project {escape(project)}: {len(items)} difference(s)"]
    for d in items:
        lines.append(f"  [yellow]{d.kind:<10}[/] {escape(d.resource)}: {escape(d.reason)} "
                     f"[dim](apply would {d.action})[/]")
    return "\n".join(lines)


def drift_markdown(items: list[DriftItem], project: str) -> str:
    if not items:
        return f"### ftops drift: `{project}`\n\nIn sync: the live Foundry matches the specs."
    rows = ["| kind | resource | reason | apply would |", "|---|---|---|---|"]
    rows += [f"| {d.kind} | `{d.resource}` | {d.reason.replace('|', '/')} | {d.action} |" for d in items]
    return f"### ftops drift: `{project}`\n\n**{len(items)} difference(s)**\n\n" + "\n".join(rows)


def drift_json(items: list[DriftItem], project: str) -> str:
    data: dict[str, Any] = {"format_version": 1, "project": project, "drift": bool(items),
                            "items": [d.to_dict() for d in items]}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def status_table(rows: list[StatusRow]) -> Any:
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    for col in ("kind", "name", "live id", "status", "detail"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.kind, r.name, r.live_id, r.status, r.detail)
    return table


def status_json(rows: list[StatusRow]) -> str:
    return orjson.dumps([r.to_dict() for r in rows], option=orjson.OPT_INDENT_2).decode()


def status_markdown(rows: list[StatusRow]) -> str:
    lines = ["| kind | name | live id | status | detail |", "|---|---|---|---|---|"]
    lines += [f"| {r.kind} | {r.name} | {r.live_id} | {r.status} | {r.detail.replace('|', '/')} |" for r in rows]
    return "\n".join(lines)


def apply_summary(result: ApplyResult) -> str:
    counts = {s: result.count(s) for s in ("done", "no-op", "failed", "skipped", "blocked", "deferred")}
    head = "[green]Apply complete.[/]" if result.ok else "[red]Apply finished with errors.[/]"
    text = f"{head} {counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped, " \
           f"{counts['blocked']} blocked, {counts['deferred']} deferred, {counts['no-op']} unchanged."
    for note in result.notes:
        text += f"\nnote: {escape(note)}"
    if counts["deferred"]:
        text += "\nDeferred actions wait for running jobs: run `ftops apply` again later, or use --wait."
    return text
