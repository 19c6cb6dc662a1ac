"""What ``pipeline run`` shows on stderr: a line as each stage starts and ends, and how
far its long steps are.

On a terminal, rich bars with the count and the time left, gone when the step ends.
Anywhere else (CI, a log file, nohup) plain lines instead: for each step at most one
every ``EVERY`` seconds, plus its last, and one for every milestone (a training pass)::

    train: pass 3/20 · perplexity 812.4 (pass 2) · 0:41 left
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn, Task
from rich.table import Column
from rich.text import Text

from pipeline.runner import Reporter, StageResult, Update

T = TypeVar("T")
EVERY = 5.0  # seconds between two plain lines of one step
REDRAW = 0.05  # seconds between two updates of a bar (a terminal redraws ten times a second)
BAR = 16  # characters of a bar


def duration(seconds: float) -> str:
    """``0:41``, ``12:05``, ``1:02:03``."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def count_text(unit: str, done: int, total: int | None) -> str:
    """``pass 3/20``, ``units 12,000/57,031``, ``documents 3,200``."""
    count = f"{done:,}" if total is None else f"{done:,}/{total:,}"
    return f"{unit} {count}" if unit else count


def facts_text(facts: dict[str, Any]) -> list[str]:
    """``perplexity 812.4``: each fact a stage shows beside its count."""
    return [f"{key.replace('_', ' ')} {_value(v)}" for key, v in facts.items()]


def time_text(done: int, total: int | None, elapsed: float, since: float = 0.0) -> str:
    """The time left at the pace of the ``elapsed`` seconds up to the last update,
    ``since`` seconds ago (so that it counts down between updates); or, when the total is
    unknown, the time taken."""
    if total is None:
        return f"{duration(elapsed + since)} elapsed"
    if done <= 0:
        return ""
    return f"{duration(elapsed * max(0, total - done) / done - since)} left"


class PlainLines:
    """One step's plain lines: at most one every ``every`` seconds by ``clock`` (or one
    per update once something is done, with ``throttle`` off), and the last state if a
    line showed an earlier one. A step that ends within ``every`` seconds writes nothing:
    its stage's own line says enough."""

    def __init__(
        self,
        write: Callable[[str], None],
        prefix: str,
        total: int | None,
        unit: str,
        throttle: bool = True,
        clock: Callable[[], float] = time.monotonic,
        every: float = EVERY,
    ) -> None:
        self.write = write
        self.prefix = prefix
        self.total = total
        self.unit = unit
        self.throttle = throttle
        self.clock = clock
        self.every = every
        self.start = self.last = clock()
        self.state: tuple[int, dict[str, Any]] = (0, {})
        self.shown: tuple[int, dict[str, Any]] | None = None  # the state last written

    def update(self, done: int, **facts: Any) -> None:
        self.state = (done, facts)
        now = self.clock()
        if (not self.throttle and done > 0) or now - self.last >= self.every:
            self._write(now)

    def close(self) -> None:
        if self.shown is not None and self.shown != self.state:
            self._write(self.clock())

    def _write(self, now: float) -> None:
        done, facts = self.state
        shown = [count_text(self.unit, done, self.total), *facts_text(facts)]
        shown.append(time_text(done, self.total, now - self.start))
        self.write(self.prefix + " · ".join(s for s in shown if s))
        self.last, self.shown = now, self.state


class _Row(ProgressColumn):
    """A step's row under its stage's line: its name, a bar, the count, the time left and
    the facts, cut at the terminal's width (the facts go first)."""

    def __init__(self, console: Console, clock: Callable[[], float]) -> None:
        super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis"))
        self.clock = clock
        self.bar = "-" if console.options.ascii_only else "━"
        # Without colours the part to go is blank, as in rich's own bars.
        self.back = self.bar if console.color_system and not console.no_color else " "

    def render(self, task: Task) -> Text:
        f = task.fields
        total = None if task.total is None else int(task.total)
        row = Text(f"  {task.description} ", no_wrap=True, overflow="ellipsis")
        if total:
            filled = round(BAR * min(f["done"], total) / total)
            row.append(self.bar * filled, style="bar.complete").append(
                self.back * (BAR - filled), style="bar.back"
            )
            row.append(" ")
        since = self.clock() - f["updated"]
        shown = [count_text(f["unit"], f["done"], total), time_text(f["done"], total, f["elapsed"], since)]
        row.append(" · ".join(s for s in [*shown, *f["facts"]] if s))
        return row


class ConsoleReporter(Reporter):
    """Stage names, counts and timings on stderr, and how far each long step is: bars on
    a terminal, plain throttled lines elsewhere."""

    def __init__(
        self, console: Console, clock: Callable[[], float] = time.monotonic, every: float = EVERY
    ) -> None:
        self.console = console
        self.clock = clock
        self.every = every
        self.stage = ""
        self._bars: Progress | None = None  # the live display, while a step shows a bar
        self._open = 0

    def _print(self, text: str, markup: bool = True) -> None:
        # A log file keeps each line whole; a terminal wraps at its width.
        self.console.print(text, markup=markup, highlight=False, soft_wrap=not self.console.is_terminal)

    def stage_started(self, name: str, reason: str) -> None:
        self.stage = name
        # A reason can quote what people wrote ("labels.yaml.names ... '[/b]'"): never markup.
        self._print(f"[bold]{name}[/bold]: running ({escape(reason)})")

    def stage_finished(self, result: StageResult) -> None:
        shown = ", ".join(
            f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in result.counts.items()
        )
        if result.status == "skipped":
            self._print(f"[bold]{result.name}[/bold]: skipped ({escape(result.reason)})")
        else:
            self._print(f"[bold]{result.name}[/bold]: done in {result.seconds:.1f}s: {escape(shown)}")
        self.stage = ""

    def _part(self, description: str) -> str:
        """The part of the stage a step is, without the stage's name if it repeats it."""
        if self.stage and (description == self.stage or description.startswith(self.stage + ":")):
            return description[len(self.stage) + 1 :].strip()
        return description

    def track(self, items: Iterable[T], total: int | None, description: str, unit: str = "") -> Iterator[T]:
        with self.task(total, description, unit) as update:
            for done, item in enumerate(items, start=1):
                yield item
                update(done)

    @contextmanager
    def task(
        self, total: int | None, description: str, unit: str = "", throttle: bool = True
    ) -> Iterator[Update]:
        part = self._part(description)
        if self.console.is_terminal:
            with self._bar(part or self.stage, total, unit, throttle) as update:
                yield update
            return
        prefix = (f"{self.stage}: " if self.stage else "") + (f"{part} · " if part else "")
        lines = PlainLines(
            lambda line: self._print(line, markup=False),
            prefix,
            total,
            unit,
            throttle,
            self.clock,
            self.every,
        )
        try:
            yield lines.update
        finally:
            lines.close()

    @contextmanager
    def _bar(self, label: str, total: int | None, unit: str, throttle: bool) -> Iterator[Update]:
        if self._bars is None:
            self._bars = Progress(_Row(self.console, self.clock), console=self.console, transient=True)
            self._bars.start()
        bars = self._bars
        start = drawn = self.clock()
        task_id = bars.add_task(label, total=total, unit=unit, done=0, facts=[], elapsed=0.0, updated=start)
        self._open += 1

        def update(done: int, **facts: Any) -> None:
            nonlocal drawn
            now = self.clock()
            if throttle and now - drawn < REDRAW and done != total:
                return
            drawn = now
            bars.update(task_id, done=done, facts=facts_text(facts), elapsed=now - start, updated=now)

        try:
            yield update
        finally:
            bars.remove_task(task_id)
            self._open -= 1
            if not self._open:
                bars.stop()
                self._bars = None
