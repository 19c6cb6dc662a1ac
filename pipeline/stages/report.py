"""report: topic summaries (topics.csv, topics.json), diagnostics and the reports people read.

Engine-blind: ``reporting.build`` computes one ReportData from the model's topic-term
matrix, the units' mixes (``mixes.npy``) and the units; this stage writes it as
``topics.csv``, ``topics.json``, ``report.md`` and ``report.html`` (one self-contained
page), plus ``prevalence.csv`` when ``report.prevalence_field`` names a meta field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline import engines
from pipeline.artifacts import CORPUS, DICTIONARY, MODEL, TRAINING, RunStore
from pipeline.config import Config
from pipeline.executor import Executor
from pipeline.labels import LABELS, RESOLVED, names_written, written_entries
from pipeline.reporting import outputs
from pipeline.reporting.build import load_report_inputs, report_data
from pipeline.reporting.data import Topic
from pipeline.reporting.html import render_html
from pipeline.reporting.markdown import render_markdown
from pipeline.stages.base import Counts, Progress, Stage


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    model = store.load_model(engines.load_model)
    m = config.model
    steps = engines.get(model.engine).describe(m.passes, m.iterations, m.init)
    inputs = load_report_inputs(config, store, progress, model, steps)
    data = report_data(inputs, progress)
    store.write_csv("topics.csv", outputs.TOPICS_CSV, outputs.topics_csv(data))
    store.write_json("topics.json", [outputs.topic_json(t) for t in data.topics])
    if data.prevalence is not None:
        store.write_csv(
            "prevalence.csv", outputs.prevalence_header(data), outputs.prevalence_csv(data.prevalence)
        )
    else:
        store.remove("prevalence.csv")
    store.write_text("report.md", render_markdown(data))
    store.write_text("report.html", render_html(data))
    _exports(config, store, data.topics)
    shares = {t.id: t.prevalence for t in data.topics}
    inputs.labels.write(store, inputs.topic_term, inputs.dictionary.id2token, shares)
    counts: Counts = {"topics": len(data.topics), "flagged": sum(1 for t in data.topics if t.flags)}
    if data.summary.labels is not None:
        lab = data.summary.labels
        counts["details"] = {"labels": {"field": lab.field, "units": lab.units, "documents": lab.documents}}
    return counts


def _exports(config: Config, store: RunStore, topics: tuple[Topic, ...]) -> None:
    if "parquet" in config.report.export:
        store.save_parquet("assignments.parquet", "assignments.csv")
    else:
        store.remove("assignments.parquet")
    if "xlsx" not in config.report.export:
        store.remove("results.xlsx")
        return

    def csv_sheet(
        name: str, extra: Iterator[dict[str, Any]] | None = None
    ) -> tuple[list[str], Iterator[list[Any]]]:
        rows = store.read_csv(name)
        first = next(rows)
        header = list(first)
        extra_cols = ["heading", "text"] if extra is not None else []

        def numbers(row: dict[str, str], unit: dict[str, Any] | None) -> list[Any]:
            values: list[Any] = [
                (float(v) if v else None) if k.startswith("topic_") or k == "dominant_weight" else v
                for k, v in row.items()
            ]
            return values + ([unit["heading"], unit["text"]] if unit is not None else [])

        def body() -> Iterator[list[Any]]:
            units = extra
            yield numbers(first, next(units) if units is not None else None)
            for row in rows:
                yield numbers(row, next(units) if units is not None else None)

        return header + extra_cols, body()

    topic_rows = (
        [t.id, t.name or "", r, x.term, round(x.score, 6)]
        for t in topics
        for r, x in enumerate(t.terms, start=1)
    )
    store.save_workbook(
        "results.xlsx",
        {
            "units": csv_sheet("assignments.csv", store.read_jsonl("units.jsonl")),
            "documents": csv_sheet("documents.csv"),
            "topics": (["topic", "name", "rank", "term", "weight"], topic_rows),
        },
    )


STAGE = Stage(
    name="report",
    sections=("report", "input.label_field"),
    inputs=(
        MODEL,
        TRAINING,
        DICTIONARY,
        CORPUS,
        "units.jsonl",
        "tokens.jsonl",
        "assignments.csv",
        "mixes.npy",
        "segments.csv",
        "vocab_audit.json",
    ),
    outputs=("topics.csv", "topics.json", "report.md", "report.html", RESOLVED),
    run=run,
    # The names and notes people write in labels.yaml (its curation reaches the report
    # through assign's outputs).
    edits=lambda config: {LABELS: names_written(written_entries(RunStore(config.run_dir, staged=True)))},
)
