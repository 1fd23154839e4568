"""`ftops metrics JOB [DIR]`: a job's training curves (loss, accuracy) and checkpoint metrics.

JOB is the name of a FineTuningJob spec (the newest succeeded or running job of this project created
under that name or, whatever it was called then, of the same training content) or a raw `ftjob-...` id.
The layers (and openai) are imported inside the command, so that `ftops --help` starts fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ... import FtopsError, UsageError
from .._options import FOUNDRY
from .._output import out

if TYPE_CHECKING:
    from ...foundry import JobMetrics
    from ...session import Session

LIVE_STATUSES = ("succeeded", "running")


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    @app.command()
    def metrics(
        job: str = typer.Argument(..., metavar="JOB", help="FineTuningJob spec name, or an ftjob-... id."),
        spec_dir: Path = typer.Argument(Path("specs"), metavar="[DIR]", help="Spec directory (default specs/)."),
        png: Path = typer.Option(None, "--png", help="Also write the curves as a PNG to exactly this file "
                                 "(a .png name, or none; needs ftops[png])."),
        fmt: Format = typer.Option(Format.text, "--format", "-f", help="text | json | markdown"),
        width: int = typer.Option(80, "--width", help="Width of the terminal charts."),
        foundry: str | None = FOUNDRY,
    ) -> None:
        """Show a job's train/valid loss and accuracy curves and its checkpoints' metrics."""
        from .._local import session

        if png is not None:
            _check_png_path(png)
        with session(spec_dir, foundry) as s:  # the SDKs load inside, while the local Foundry starts on the other core
            from ...foundry import read_job_metrics
            from .. import _charts as charts

            job_id, name = _find_job(s, job)
            m = read_job_metrics(s.client, job_id)
        if png is not None:
            charts.write_png([charts.loss_chart(m), charts.accuracy_chart(m)], png, f"{name} ({m.job.id})")
        if fmt is Format.json:
            out.print(charts.metrics_json(m), markup=False)
        elif fmt is Format.markdown:
            out.print(charts.metrics_markdown(m, name), markup=False)
        else:
            out.print(_text(m, name, width), markup=False)
        if png is not None and fmt is Format.text:
            out.print(f"Wrote {png}", markup=False)


def _check_png_path(path: Path) -> None:
    """Refuse, before any work, a name that is not a PNG's: the file is written exactly where named, so
    `curves.jpg` would hold PNG bytes. A name without a suffix (a device, a pipe) is written as is."""
    if path.suffix and path.suffix.lower() != ".png":
        raise UsageError(f"--png {path}: the file name must end in .png (or have no suffix); ftops writes PNG only")


def _find_job(s: Session, job: str) -> tuple[str, str]:
    """(job id, display name) for a spec name or a raw job id."""
    from ...plan import jobs_of_spec, project_filter

    if job.startswith("ftjob-"):
        return job, job
    project = s.checked.project
    if job not in project.jobs:
        known = ", ".join(sorted(project.jobs)) or "none"
        raise UsageError(f"no FineTuningJob named {job!r} in the specs (known: {known}); or pass an ftjob-... id")
    live = s.client.list_jobs(metadata=project_filter(project.project_name))
    usable = [j for j in jobs_of_spec(s.checked, job, live) if j.status in LIVE_STATUSES]
    adopted = project.jobs[job].spec.adopt
    if not usable and adopted:  # made outside ftops and adopted by the spec (ftops import)
        return adopted, job
    if not usable:
        raise FtopsError(f"job {job!r} has no succeeded or running job on the Foundry yet; run `ftops apply`")
    newest = max(usable, key=lambda j: (j.created_at, j.id))
    return newest.id, job


def _text(m: JobMetrics, name: str, width: int) -> str:
    from .. import _charts as charts

    lines = [f"{name}: job {m.job.id} ({m.job.status}), model {m.job.fine_tuned_model or '—'}, "
             f"{len(m.steps)} steps from {m.source}"]
    for chart in (charts.loss_chart(m), charts.accuracy_chart(m)):
        if not chart.empty:
            lines += ["", charts.terminal_chart(chart, width=width)]
    if m.checkpoints:
        lines += ["", "checkpoint                                 step  full valid loss  full valid acc"]
        lines += [f"{c.id:<42} {c.step:>5}  {_opt(c.full_valid_loss):>15}  {_opt(c.full_valid_accuracy):>14}"
                  for c in m.checkpoints]
    if not m.steps:
        lines += ["", "No step metrics yet."]
    return "\n".join(lines)


def _opt(v: float | None) -> str:
    return "—" if v is None else f"{v:.4f}"
