"""A progress display for apply: a bar per upload, a line per finished action (on stderr)."""

from __future__ import annotations

import threading

from rich.console import RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from ..apply import Outcome
from ..plan import Action
from ._escape import terminal
from ._output import err
from ._views import view_of

MARK = {"done": "[green]✓[/]", "no-op": "[dim]=[/]", "failed": "[red]✗[/]", "skipped": "[yellow]-[/]",
        "blocked": "[red]![/]", "deferred": "[blue]…[/]"}


class _OnlyWithTotal(ProgressColumn):
    """Shows the wrapped column for tasks with a known size (uploads), nothing for the others."""

    def __init__(self, inner: ProgressColumn) -> None:
        super().__init__()
        self.inner = inner

    def render(self, task: Task) -> RenderableType:
        return self.inner.render(task) if task.total is not None else Text("")


class ProgressReporter:
    def __init__(self, enabled: bool = True) -> None:
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), _OnlyWithTotal(BarColumn()),
                                  _OnlyWithTotal(DownloadColumn()), TimeElapsedColumn(), console=err,
                                  transient=True, disable=not enabled)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        self._label = ""  # "<foundry>/" before each resource when several accounts apply at once

    def for_account(self, foundry: str) -> ProgressReporter:
        """A reporter for one of several accounts applied at once: the same display, its resources named
        `<foundry>/<resource>` (two accounts may hold resources of one name)."""
        other = ProgressReporter.__new__(ProgressReporter)
        other._progress, other._tasks, other._lock = self._progress, self._tasks, self._lock
        other._label = f"{foundry}/"
        return other

    def _key(self, action: Action) -> str:
        return self._label + action.id

    def _name(self, action: Action) -> str:
        return escape(self._label + action.resource)

    def __enter__(self) -> ProgressReporter:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, action: Action) -> None:
        total = view_of(action).size(action)
        with self._lock:
            self._tasks[self._key(action)] = self._progress.add_task(f"{action.action} {self._name(action)}",
                                                                     total=total)

    def progress(self, action: Action, advance: int, total: int | None) -> None:
        with self._lock:
            task = self._tasks.get(self._key(action))
        if task is not None:
            self._progress.update(task, advance=advance)

    def status(self, action: Action, text: str) -> None:
        with self._lock:
            task = self._tasks.get(self._key(action))
        if task is not None:
            described = f"{action.action} {self._name(action)}: {escape(terminal(text))}"
            self._progress.update(task, description=described)

    def warn(self, action: Action, text: str) -> None:
        """A line on stderr whether or not the progress display is on (CI logs must show an outage)."""
        self.status(action, text)
        self._progress.console.print(f"[yellow]![/] {self._name(action)}: {escape(terminal(text))}")

    def finish(self, action: Action, outcome: Outcome) -> None:
        with self._lock:
            task = self._tasks.pop(self._key(action), None)
        if task is not None:
            self._progress.remove_task(task)
        if outcome.state == "no-op":
            return
        took = f" [dim]({outcome.seconds:.1f}s)[/]" if outcome.seconds >= 0.1 else ""
        self._progress.console.print(f"{MARK.get(outcome.state, '?')} {self._name(action)} {action.action}: "
                                     f"{escape(terminal(outcome.message))}{took}")
