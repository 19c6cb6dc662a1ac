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

from pipeline.config import InputFormat, load_config
from pipeline.corpus import validate_inputs
from pipeline.errors import PipelineError, unexpected
from pipeline.infer import infer as run_infer
from pipeline.runner import Reporter, StageResult, run_pipeline, status
from pipeline.runs import compare_runs, open_run, topic_table
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


INTERRUPTED = 130  # the shell's status for a program stopped by Ctrl-C


def _fail(exc: BaseException, verbose: bool) -> None:
    if verbose:
        traceback.print_exc()
    # A config with several problems names each on its own line.
    for line in str(exc).splitlines() or [type(exc).__name__]:
        print(f"Error: {line}", file=sys.stderr)
    raise typer.Exit(code=getattr(exc, "exit_code", 2))


@contextmanager
def _errors(verbose: bool) -> Iterator[None]:
    """The one exception boundary: every failure leaves as ``Error: ...`` and exit 2."""
    try:
        yield
    except PipelineError as exc:
        _fail(exc, verbose)
    except KeyboardInterrupt:
        print(
            "Interrupted; outputs of earlier runs are unchanged, and the next `pipeline run` "
            "resumes at the first unfinished stage",
            file=sys.stderr,
        )
        raise typer.Exit(code=INTERRUPTED) from None
    except Exception as exc:  # a foreign exception that no layer below turned into a PipelineError
        _fail(PipelineError(unexpected(exc)), verbose)


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
        report = cfg.run_dir.resolve() / "report.html"
        console.print(
            f"Finished; open the report: {report} (text version: report.md)"
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
    """Check a config and its input paths, user dictionaries and stopword files; print
    every resolved setting.

    Example: pipeline validate configs/default.yaml --set model.num_topics=12
    """
    with _errors(verbose):
        cfg = load_config(config, set_ or [])
        files = validate_inputs(cfg)
        resolved: dict[str, Any] = cfg.resolved()
        shown = f"{len(files)} input file{'' if len(files) == 1 else 's'}"
        typer.echo(f"# {config}: valid; {shown}; run folder {cfg.run_dir}")
        typer.echo(yaml.safe_dump(resolved, allow_unicode=True, sort_keys=False).rstrip())


RunArg = Annotated[
    Path,
    typer.Argument(help="A run folder (runs/<name>) or the config file that made it.", show_default=True),
]


@app.command()
def show(run: RunArg = DEFAULT_CONFIG, verbose: VerboseOpt = False) -> None:
    """Show the topics of a finished run as a table: id, name, prevalence, top terms, flags.

    Curated topics are flagged: "dropped", or "merged 3, 7" with the topics merged into them.

    Example: pipeline show runs/seeds
    """
    from rich.table import Table

    with _errors(verbose):
        r = open_run(run)
        table = Table(title=f"Topics of {r.name}")
        for col, justify in (
            ("topic", "right"),
            ("name", "left"),
            ("prevalence", "right"),
            ("top terms", "left"),
            ("flags", "left"),
        ):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for row in topic_table(r):
            table.add_row(
                str(row["topic"]),
                row["name"],
                f"{100 * row['prevalence']:.1f}%",
                " ".join(row["terms"]),
                "; ".join(row["flags"]),
            )
        Console(width=160).print(table)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="The first run folder or config.")],
    run_b: Annotated[Path, typer.Argument(help="The second run folder or config.")],
    verbose: VerboseOpt = False,
) -> None:
    """Match the topics of two runs: matched, new and vanished topics, and config differences.

    Topics are compared as curated in each run's labels.yaml: merged topics as one, dropped
    topics listed apart.

    Example: pipeline compare runs/seeds runs/seeds-k12
    """
    with _errors(verbose):
        result = compare_runs(open_run(run_a), open_run(run_b))
    out = Console(width=160, highlight=False)
    out.print(
        f"[bold]{result['a']}[/bold] vs [bold]{result['b']}[/bold]: {len(result['matched'])} matched, "
        f"{len(result['new'])} new, {len(result['vanished'])} vanished"
        + (f", {len(result['dropped'])} dropped" if result["dropped"] else "")
    )
    for m in result["matched"]:
        name = f" ({m['name']})" if m["name"] else ""
        change = f" +{' '.join(m['added'])}" if m["added"] else ""
        change += f" -{' '.join(m['removed'])}" if m["removed"] else ""
        out.print(f"matched  {m['a']:>3} -> {m['b']:<3} similarity {m['similarity']:.3f}{name}{change}")
    for n in result["new"]:
        out.print(f"new          {n['b']:<3} {' '.join(n['terms'])}")
    for v in result["vanished"]:
        out.print(
            f"vanished {v['a']:>3}        {' '.join(v['terms'])} "
            f"(closest: topic {v['closest']} of the other run, similarity {v['best_similarity']:.3f})"
        )
    for d in result["dropped"]:
        name = f" ({d['name']})" if d["name"] else ""
        out.print(f"dropped  {d['run']} {d['topic']:<3}      {' '.join(d['terms'])}{name}")
    for d in result["config"]:
        out.print(f"config   {d['key']}: {d['a']!r} -> {d['b']!r}")


FormatOpt = Annotated[
    InputFormat,
    typer.Option("--format", help="Format of the new files; auto picks by each file's extension."),
]


@app.command()
def infer(
    run: Annotated[Path, typer.Argument(help="The run folder (or config) whose model to apply.")],
    paths: Annotated[list[str], typer.Argument(help="New input files, folders or globs.")],
    out: Annotated[Path | None, typer.Option("--out", help="Output folder [default: RUN/infer].")] = None,
    fmt: FormatOpt = "auto",
    verbose: VerboseOpt = False,
) -> None:
    """Apply a trained run to new texts; writes assignments.csv and documents.csv.

    New files are read by their own format (txt, csv, jsonl by extension, or --format),
    whatever the run was trained on.

    Example: pipeline infer runs/seeds new_texts/ --out runs/seeds/new
    """
    with _errors(verbose):
        r = open_run(run)
        target = out or r.store.run_dir / "infer"
        stats = run_infer(r, paths, target, fmt)
    typer.echo(
        f"{stats['documents']} documents, {stats['units']} units; {stats['oov_tokens']} of "
        f"{stats['tokens']} tokens ({100 * stats['oov_share']:.1f}%) not in the run's vocabulary; "
        f"wrote {target / 'assignments.csv'} and documents.csv"
    )
