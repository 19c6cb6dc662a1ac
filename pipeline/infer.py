"""Apply a finished run to new texts: same segmentation, tokenization, dictionary and model.

Library side of ``pipeline infer``. Writes ``assignments.csv`` and ``documents.csv``
in the run's format, curated as the run's own were (``Run.curation``), and ``infer.json``
with how many tokens were out of vocabulary. New files are read by their own format
(their extension, or the one asked for), not the run's: a run trained on jsonl can be
applied to .txt files.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import corpus, engines
from pipeline.artifacts import INFER_MARKER, RunStore, is_run_folder
from pipeline.assignments import write_assignments
from pipeline.config import InputFormat
from pipeline.errors import InputError, StoreError
from pipeline.runs import Run
from pipeline.stages.segment import segment_documents
from pipeline.stages.tokenize import Tokenizer


def default_out(run: Run) -> Path:
    """Where ``infer`` writes when no --out is given: a folder beside the run folder
    (``runs/seeds-infer``), as everything inside a run folder belongs to its runs."""
    return run.store.run_dir.with_name(f"{run.store.run_dir.name}-infer")


def _check_out(out_dir: Path) -> None:
    """Refuse an output folder that is a run folder or lies inside one: a run owns every
    name in its folder, and would publish or overwrite what infer wrote there."""
    if is_run_folder(out_dir):
        raise StoreError(
            f"{out_dir}: --out is a run folder, and its assignments.csv and documents.csv would be "
            "replaced; choose another folder (default: RUN-infer, beside the run folder)"
        )
    absolute = Path(os.path.abspath(out_dir))
    for folder in dict.fromkeys([*absolute.parents, *absolute.resolve().parents]):
        if is_run_folder(folder):
            raise StoreError(
                f"{out_dir}: --out is inside the run folder {folder}, whose files belong to its runs; "
                "choose a folder outside it (default: RUN-infer, beside the run folder)"
            )


def infer(run: Run, paths: list[str], out_dir: Path, fmt: InputFormat = "auto") -> dict[str, Any]:
    """Topic distributions for the texts at ``paths`` (relative to the working directory)
    under the model of ``run``; ``fmt`` is their format, auto by each file's extension."""
    _check_out(out_dir)
    config = run.config()
    config.input.format = fmt
    files = corpus.list_inputs(config, paths)
    config.input.paths = [str(Path(p).resolve()) for p in paths]
    model = run.store.load_model(engines.load_model)
    dct = run.store.load_dictionary()
    tokenizer = Tokenizer(config)
    stats: dict[str, Any] = {"documents": 0, "units": 0, "tokens": 0, "oov_tokens": 0}
    read = corpus.ReadCounts()
    docs = corpus.read_documents(config, files, counts=read)

    def units() -> Iterator[tuple[dict[str, Any], list[tuple[int, int]]]]:
        for unit, _ in segment_documents(docs, config.segment):
            if not unit:
                continue
            tokens = tokenizer(unit.get("text_simplified", unit["text"]))
            bow, missing = dct.doc2bow(tokens, return_missing=True)
            stats["units"] += 1
            stats["tokens"] += len(tokens)
            stats["oov_tokens"] += sum(missing.values())
            yield unit, bow

    pending: deque[tuple[dict[str, Any], int]] = deque()  # units whose distribution is being inferred

    def bows() -> Iterator[list[tuple[int, int]]]:
        for unit, bow in units():
            pending.append((unit, int(sum(c for _, c in bow))))
            yield bow

    def rows() -> Iterator[tuple[dict[str, Any], np.ndarray, int]]:
        for theta in model.infer(bows()):
            unit, n_tok = pending.popleft()
            yield unit, theta, n_tok
        if stats["tokens"] == stats["oov_tokens"]:
            # Raised inside the stream, so no output file is written.
            nothing = read.nothing_read(config.input.text_field)
            if nothing is not None:
                raise nothing
            raise InputError(
                f"{', '.join(paths)}: no usable text ({stats['units']} units, none with a word of the "
                "run's vocabulary); check the paths, and that the texts are like the run's"
            )

    store = RunStore(out_dir, marker=INFER_MARKER, named_by="--out")
    created = not out_dir.exists()
    try:
        counts = write_assignments(store, rows(), run.curation(model.num_topics), config.input.meta_fields)
    except BaseException:
        if created:
            store.discard()  # the folder this call made, with nothing in it
        raise
    stats["documents"] = counts["documents"]
    stats["oov_share"] = round(stats["oov_tokens"] / stats["tokens"], 4) if stats["tokens"] else 0.0
    store.write_json("infer.json", {"run": str(run.store.run_dir), "paths": config.input.paths, **stats})
    return stats
