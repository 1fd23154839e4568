"""Training curves and evaluation verdicts: terminal charts (plotext), PNG (matplotlib, optional),
Mermaid `xychart-beta` blocks for Markdown (GitHub renders them), and a verdict table."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from .. import FtopsError
from ..foundry import JobMetrics, StepMetrics
from ._escape import md_cell, md_text

MERMAID_POINTS = 40  # xychart-beta draws every category; more points only crowd the axis


@dataclass(frozen=True)
class Series:
    name: str
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    y_label: str
    series: tuple[Series, ...]

    @property
    def empty(self) -> bool:
        return not any(s.y for s in self.series)


def _series(name: str, steps: Sequence[StepMetrics], attr: str) -> Series:
    points = [(s.step, v) for s in steps if (v := getattr(s, attr)) is not None]
    return Series(name, tuple(float(p[0]) for p in points), tuple(float(p[1]) for p in points))


def _chart(title: str, y_label: str, steps: Sequence[StepMetrics], parts: Sequence[tuple[str, str]]) -> Chart:
    return Chart(title, y_label, tuple(s for name, attr in parts if (s := _series(name, steps, attr)).y))


def loss_chart(m: JobMetrics) -> Chart:
    return _chart("Loss", "loss", m.steps, [("train", "train_loss"), ("valid", "valid_loss"),
                                            ("epoch-end valid", "full_valid_loss")])


def accuracy_chart(m: JobMetrics) -> Chart:
    return _chart("Mean token accuracy", "accuracy", m.steps,
                  [("train", "train_accuracy"), ("valid", "valid_accuracy"),
                   ("epoch-end valid", "full_valid_accuracy")])


# -- terminal -------------------------------------------------------------------------------
def terminal_chart(chart: Chart, width: int = 80, height: int = 20, color: bool = False) -> str:
    """The chart drawn with text characters; needs no display (plain text unless `color`)."""
    import plotext as plt

    plt.clf()
    plt.plotsize(width, height)
    plt.theme("pro" if color else "clear")
    for s in chart.series:
        plt.plot(list(s.x), list(s.y), label=s.name, marker="braille")
    plt.title(chart.title)
    plt.xlabel("step")
    text: str = plt.build()
    plt.clf()
    return text if color else str(plt.uncolorize(text))


# -- PNG ------------------------------------------------------------------------------------
def write_png(charts: Sequence[Chart], path: Path, title: str) -> None:
    """Draw the charts and write them as PNG to exactly `path` (matplotlib would add `.png` to a name
    without a suffix and pick the format from any other suffix)."""
    data = _png_bytes(charts, title)
    try:
        with open(path, "wb") as f:  # closing flushes: a full device fails here, not silently later
            f.write(data)
    except OSError as e:
        raise FtopsError(f"cannot write the PNG: {e.strerror or e}", path=path) from None


def _png_bytes(charts: Sequence[Chart], title: str) -> bytes:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise FtopsError("--png needs matplotlib: pip install 'ftops[png]'") from None
    shown = [c for c in charts if not c.empty]
    fig, axes = pyplot.subplots(len(shown) or 1, 1, figsize=(9, 3.5 * max(1, len(shown))), squeeze=False)
    for ax, chart in zip(axes[:, 0], shown, strict=False):
        for s in chart.series:
            ax.plot(s.x, s.y, label=s.name, marker="o" if len(s.x) < 20 else None)
        ax.set_title(chart.title)
        ax.set_xlabel("step")
        ax.set_ylabel(chart.y_label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        pyplot.close(fig)
    return buffer.getvalue()


# -- Mermaid --------------------------------------------------------------------------------
def _grid(chart: Chart, points: int) -> list[float]:
    """Up to `points` x values (steps) spread over the longest series."""
    xs = max((s.x for s in chart.series), key=len, default=())
    if len(xs) <= points:
        return list(xs)
    return [xs[round(i * (len(xs) - 1) / (points - 1))] for i in range(points)]


def _at(s: Series, x: float) -> float:
    """The series' value at step x: the last point at or before it (the first one before any)."""
    best = s.y[0]
    for sx, sy in zip(s.x, s.y, strict=True):
        if sx > x:
            break
        best = sy
    return best


def mermaid_xychart(chart: Chart, points: int = MERMAID_POINTS) -> str:
    """A ```mermaid xychart-beta block: one line per series, in the order the title lists them."""
    series = [s for s in chart.series if s.y]
    grid = _grid(chart, points)
    if not series or not grid:
        return ""
    values = [[_at(s, x) for x in grid] for s in series]
    top = max(max(v) for v in values)
    names = ", ".join(f"{s.name} ({_ORDINAL[i]})" for i, s in enumerate(series[:len(_ORDINAL)]))
    lines = ["```mermaid", "xychart-beta", f'    title "{chart.title}: {names}"',
             f'    x-axis "step" [{", ".join(str(int(x)) for x in grid)}]',
             f'    y-axis "{chart.y_label}" 0 --> {_fmt(top * 1.1 if top > 0 else 1.0)}']
    lines += [f"    line [{', '.join(_fmt(v) for v in vals)}]" for vals in values]
    return "\n".join([*lines, "```"])


_ORDINAL = ("1st line", "2nd line", "3rd line", "4th line")


def _fmt(v: float) -> str:
    return f"{v:.4g}"


# -- whole reports --------------------------------------------------------------------------
def metrics_json(m: JobMetrics) -> str:
    return orjson.dumps({
        "job": m.job.id, "status": m.job.status, "model": m.job.fine_tuned_model, "source": m.source,
        "steps": [vars(s) for s in m.steps], "checkpoints": [vars(c) for c in m.checkpoints],
    }, option=orjson.OPT_INDENT_2).decode()


def checkpoints_markdown(m: JobMetrics) -> str:
    if not m.checkpoints:
        return ""
    rows = ["| checkpoint | step | full valid loss | full valid accuracy | train loss |", "|---|---:|---:|---:|---:|"]
    for c in m.checkpoints:
        rows.append(f"| `{md_cell(c.id)}` | {c.step} | {_opt(c.full_valid_loss)} | {_opt(c.full_valid_accuracy)} | "
                    f"{_opt(c.train_loss)} |")
    return "\n".join(rows)


def metrics_markdown(m: JobMetrics, name: str) -> str:
    parts = [f"### Training curves: {md_text(name)} (`{md_cell(m.job.id)}`, {md_text(m.job.status)})", ""]
    for chart in (loss_chart(m), accuracy_chart(m)):
        if not chart.empty:
            parts += [mermaid_xychart(chart), ""]
    if not m.steps:
        parts += ["No step metrics yet.", ""]
    if table := checkpoints_markdown(m):
        parts += [table, ""]
    return "\n".join(parts).rstrip() + "\n"


def _opt(v: float | None) -> str:
    return "—" if v is None else f"{v:.4f}"


# -- evaluation verdicts --------------------------------------------------------------------
@dataclass(frozen=True)
class VerdictRow:
    """One evaluated model: its label, its score on each criterion, and the verdict for it."""

    candidate: str
    scores: Mapping[str, float | None]
    verdict: str


def verdict_table_markdown(criteria: Sequence[str], rows: Sequence[VerdictRow], baseline: VerdictRow | None) -> str:
    """| candidate | each criterion (and its difference to the baseline) | verdict |, baseline first."""
    head = ["candidate", *criteria, "verdict"]
    lines = ["| " + " | ".join(_cell(h) for h in head) + " |", "|---|" + "---:|" * len(criteria) + "---|"]
    if baseline is not None:
        lines.append(_row(baseline, criteria, None, baseline=True))
    lines += [_row(r, criteria, baseline, baseline=False) for r in rows]
    return "\n".join(lines) + "\n"


def _row(r: VerdictRow, criteria: Sequence[str], base: VerdictRow | None, *, baseline: bool) -> str:
    cells = [f"{_cell(r.candidate)} (baseline)" if baseline else _cell(r.candidate)]
    for c in criteria:
        v = r.scores.get(c)
        b = base.scores.get(c) if base is not None else None
        text = _opt(v)
        if v is not None and b is not None:
            text += f" ({v - b:+.4f})"
        cells.append(text)
    cells.append(_cell(r.verdict))
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    return md_text(text)  # spec names and verdict reasons: plain text in a table
