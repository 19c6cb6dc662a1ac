"""The command line: parse, call one library function, turn PipelineError into ``Error: ...``."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.runner import Reporter, StageResult, run_pipeline, status
from pipeline.stages import STAGE_NAMES

T = TypeVar("T")
DEFAULT_CONFIG = Path("configs/default.yaml")

app = typer.Typer(
    help="Topic modeling for Chinese text: clean, segment, tokenize, train LDA, report.\n\n"
    "Example: pipeline run configs/default.yaml --set model.num_topics=5",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigArg = Annotated[
    Path, typer.Argument(help="YAML config file; paths inside it are relative to it.", show_default=True)
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a setting: key.path=value (repeatable).", metavar="KEY=VALUE"),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks and library logs.")]


def _fail(exc: BaseException, verbose: bool) -> None:
    if verbose:
        traceback.print_exc()
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(f"Error: {message}", file=sys.stderr)
    raise typer.Exit(code=getattr(exc, "exit_code", 2))


@contextmanager
def _errors(verbose: bool) -> Iterator[None]:
    try:
        yield
    except PipelineError as exc:
        _fail(exc, verbose)


class ConsoleReporter(Reporter):
    """Stage names, counts and timings on stderr, and a progress bar on long steps."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def stage_started(self, name: str, reason: str) -> None:
        self.console.print(f"[bold]{name}[/bold]: running ({reason})")

    def stage_finished(self, result: StageResult) -> None:
        shown = ", ".join(
            f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in result.counts.items()
        )
        if result.status == "skipped":
            self.console.print(f"[bold]{result.name}[/bold]: skipped ({result.reason})")
        else:
            self.console.print(f"[bold]{result.name}[/bold]: done in {result.seconds:.1f}s: {shown}")

    def _bar(self) -> Progress:
        return Progress(
            TextColumn("  {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )

    def track(self, items: Iterable[T], total: int | None, description: str) -> Iterator[T]:
        if not self.console.is_terminal:
            yield from items
            return
        with self._bar() as bar:
            yield from bar.track(items, total=total, description=description)

    @contextmanager
    def task(self, total: int, description: str) -> Iterator[Callable[[int], None]]:
        if not self.console.is_terminal:
            yield lambda done: None
            return
        with self._bar() as bar:
            task_id = bar.add_task(description, total=total)
            yield lambda done: bar.update(task_id, completed=done)


@app.command()
def run(
    config: ConfigArg = DEFAULT_CONFIG,
    set_: SetOpt = None,
    from_stage: Annotated[
        str | None, typer.Option("--from", help=f"First stage to run: {', '.join(STAGE_NAMES)}.")
    ] = None,
    to_stage: Annotated[str | None, typer.Option("--to", help="Last stage to run.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run stages even when up to date.")] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Run the pipeline: segment, tokenize, dictionary, train, assign, report.

    Stages whose inputs and settings are unchanged since their last run are skipped.

    Example: pipeline run configs/default.yaml --set model.num_topics=5 --force
    """
    console = Console(stderr=True, highlight=False)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    with _errors(verbose):
        cfg = load_config(config, set_ or [])
        run_pipeline(
            cfg, from_stage=from_stage, to_stage=to_stage, force=force, reporter=ConsoleReporter(console)
        )
        report = cfg.run_dir.resolve() / "report.md"
        console.print(
            f"Finished; the report is {report}"
            if report.exists()
            else f"Finished; outputs in {cfg.run_dir.resolve()}"
        )


@app.command()
def stages(config: ConfigArg = DEFAULT_CONFIG, set_: SetOpt = None, verbose: VerboseOpt = False) -> None:
    """List the stages: up to date, or why each would run.

    Example: pipeline stages configs/default.yaml
    """
    with _errors(verbose):
        cfg = load_config(config, set_ or [])
        for p in status(cfg):
            mark = "up to date" if p.fresh else f"would run: {p.reason}"
            typer.echo(f"{p.stage.name:<11} {mark}")


@app.command()
def validate(config: ConfigArg = DEFAULT_CONFIG, set_: SetOpt = None, verbose: VerboseOpt = False) -> None:
    """Check a config and print every resolved setting.

    Example: pipeline validate configs/default.yaml --set model.num_topics=12
    """
    with _errors(verbose):
        cfg = load_config(config, set_ or [])
        resolved: dict[str, Any] = cfg.resolved()
        typer.echo(f"# {config}: valid; run folder {cfg.run_dir}")
        typer.echo(yaml.safe_dump(resolved, allow_unicode=True, sort_keys=False).rstrip())


def main() -> None:  # pragma: no cover - console script entry
    app()
