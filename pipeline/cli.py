"""The command line: parse, call one library function, turn PipelineError into ``Error: ...``."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pipeline import display
from pipeline.config import InputFormat, load_config
from pipeline.console import ConsoleReporter
from pipeline.corpus import validate_inputs
from pipeline.errors import PipelineError, unexpected
from pipeline.infer import default_out
from pipeline.infer import infer as run_infer
from pipeline.runner import run_pipeline, status
from pipeline.runs import compare_runs, open_run, topic_table
from pipeline.stages import STAGE_NAMES

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
            else f"Finished; outputs in {cfg.run_dir.resolve()}",
            soft_wrap=not console.is_terminal,  # a log keeps the path on one line
        )


@app.command()
def stages(config: ConfigArg = DEFAULT_CONFIG, set_: SetOpt = None, verbose: VerboseOpt = False) -> None:
    """List the stages: up to date, or why each would run.

    Example: pipeline stages configs/default.yaml
    """
    with _errors(verbose):
        cfg = load_config(config, set_ or [])
        rows = [(p.stage.name, "up to date" if p.fresh else f"would run: {p.reason}") for p in status(cfg)]
        display.emit(display.console(), display.stages(rows))


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
        # Plain text, not rich's markup: the output stays YAML.
        shown = f"{len(files)} input file{'' if len(files) == 1 else 's'}"
        typer.echo(f"# {config}: valid; {shown}\n# run folder: {cfg.run_dir}")
        typer.echo(display.as_yaml(resolved, display.console().width))


RunArg = Annotated[
    Path,
    typer.Argument(help="A run folder (runs/<name>) or the config file that made it.", show_default=True),
]


@app.command()
def show(run: RunArg = DEFAULT_CONFIG, verbose: VerboseOpt = False) -> None:
    """Show the topics of a finished run as a table: id, name, share, top terms, flags.

    Curated topics are flagged: "dropped", or "merged 3, 7" with the topics merged into them.
    The table takes the terminal's width (COLUMNS when set).

    Example: pipeline show runs/seeds
    """
    with _errors(verbose):
        r = open_run(run)
        out = display.console()
        display.emit(out, display.topics(out, r.name, topic_table(r)))


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="The first run folder or config.")],
    run_b: Annotated[Path, typer.Argument(help="The second run folder or config.")],
    verbose: VerboseOpt = False,
) -> None:
    """Match the topics of two runs, A and B: matched, new, vanished, dropped and merged.

    Topics are compared as curated in each run's labels.yaml: a topic with those merged
    into it as one. A topic either run dropped or merged is listed once, as "dropped" or
    "merged into N", with the topic of the other run it matches. Then the config settings
    that differ.

    Example: pipeline compare runs/seeds runs/seeds-k12
    """
    with _errors(verbose):
        result = compare_runs(open_run(run_a), open_run(run_b))
    out = display.console()
    display.emit(out, display.comparison(out, result))


FormatOpt = Annotated[
    InputFormat,
    typer.Option("--format", help="Format of the new files; auto picks by each file's extension."),
]


@app.command()
def infer(
    run: Annotated[Path, typer.Argument(help="The run folder (or config) whose model to apply.")],
    paths: Annotated[list[str], typer.Argument(help="New input files, folders or globs.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder, outside any run folder [default: RUN-infer].")
    ] = None,
    fmt: FormatOpt = "auto",
    verbose: VerboseOpt = False,
) -> None:
    """Apply a trained run to new texts; writes assignments.csv, documents.csv, segments.csv and infer.json.

    New files are read by their own format (txt, csv, jsonl by extension, or --format),
    whatever the run was trained on.

    Example: pipeline infer runs/seeds new_texts/ --out runs/seeds-new
    """
    with _errors(verbose):
        r = open_run(run)
        target = out or default_out(r)
        stats = run_infer(r, paths, target, fmt)
    typer.echo(
        f"{stats['documents']} documents, {stats['units']} units; {stats['oov_tokens']} of "
        f"{stats['tokens']} tokens ({100 * stats['oov_share']:.1f}%) not in the run's vocabulary; "
        f"wrote assignments.csv, documents.csv, segments.csv and infer.json to {target}"
    )
