"""The one interface every stage implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.artifacts import RunStore
from pipeline.config import Config
from pipeline.executor import Executor
from pipeline.progress import Progress

Counts = dict[str, Any]


@dataclass(frozen=True)
class Stage:
    """A named step: reads ``inputs`` from the run folder, writes ``outputs``.

    ``sections`` are the config sections whose values decide the stage's result, less
    the settings in ``ignore`` that cannot change it (how many processes run it): a new
    setting in a section re-runs the stage by default. A change to a section, to the
    files ``reads`` names (outside the run folder), to the stage's own code, or to an
    earlier stage makes it run again. ``edits`` are settings a stage takes from files
    people edit in the run folder (the curation in labels.yaml): they count as config,
    by name, so that only the part of such a file that decides the stage's result re-runs
    it. ``run`` returns counts that the runner logs and records in the manifest (with
    ``read``: the fingerprints of the input files as the stage read them, which the runner
    checks against those it planned). Work worth spreading over processes or machines goes
    through the executor it is handed. ``check`` raises a PipelineError when what the stage
    recorded (its manifest entry) shows that a later stage would fail under the config:
    the runner calls it when the stage is done or skipped, before the later stages run.
    """

    name: str
    sections: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Callable[[Config, RunStore, Progress, Executor], Counts]
    ignore: tuple[str, ...] = ()
    reads: Callable[[Config], list[Path]] = lambda config: []
    edits: Callable[[Config], dict[str, Any]] = lambda config: {}
    check: Callable[[Config, dict[str, Any]], None] = lambda config, entry: None
