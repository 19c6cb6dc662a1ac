"""Shared fixtures: configs pointing at the seeds, and one seeds run reused by many tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
OUTPUTS = [
    "units.jsonl",
    "tokens.jsonl",
    "dictionary.json",
    "vocab.tsv",
    "corpus",
    "model",
    "assignments.csv",
    "documents.csv",
    "topics.csv",
    "topics.json",
    "report.md",
    "report.html",
    "manifest.json",
]
DETERMINISTIC = ["assignments.csv", "documents.csv", "topics.csv", "topics.json"]


def write_config(folder: Path, name: str = "config.yaml", **sections: dict[str, Any]) -> Path:
    """A config in ``folder`` reading the seeds and writing runs to ``folder/runs``."""
    data: dict[str, Any] = {"run": {"output_dir": "runs"}, "input": {"paths": [str(SEEDS)]}}
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def invoke(*args: str, columns: int = 100) -> Any:
    # Tables are drawn to the terminal's width: the same width wherever the tests run.
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns)})


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default analysis of the seeds, run once; tests copy it before changing it."""
    folder = tmp_path_factory.mktemp("seeds_run")
    config = write_config(folder)
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    return folder / "runs" / "seeds"


@pytest.fixture
def run_copy(seeds_run: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the seeds run and its config: (config path, run folder)."""
    config = write_config(tmp_path)
    run_dir = tmp_path / "runs" / "seeds"
    shutil.copytree(seeds_run, run_dir)
    return config, run_dir


def snapshot(run_dir: Path, names: list[str] = DETERMINISTIC) -> dict[str, bytes]:
    return {n: (run_dir / n).read_bytes() for n in names}
