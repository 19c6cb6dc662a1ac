"""show, compare, infer, topic labels and exports, through the CLI."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import yaml

from pipeline.artifacts import RunStore
from pipeline.labels import ensure_labels, match_labels
from pipeline.runs import compare_runs, open_run

from .conftest import SEEDS, invoke


def _dominant(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [r["dominant_topic"] for r in csv.DictReader(fh)]


def test_show_lists_every_topic(run_copy: tuple[Path, Path]) -> None:
    _, run_dir = run_copy
    result = invoke("show", run_dir)
    assert result.exit_code == 0, result.stderr
    topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
    for t in topics:
        assert t["relevance"][0]["term"] in result.stdout
        assert f"{100 * t['prevalence']:.1f}%" in result.stdout


def test_show_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = invoke("show", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path}: not a finished run folder (no manifest.json or topics.json); "
        "run `pipeline run` first\n"
    )


def test_compare_a_run_with_itself_matches_every_topic_exactly(run_copy: tuple[Path, Path]) -> None:
    _, run_dir = run_copy
    result = invoke("compare", run_dir, run_dir)
    assert result.exit_code == 0, result.stderr
    k = len(json.loads((run_dir / "topics.json").read_text(encoding="utf-8")))
    assert result.stdout.startswith(f"seeds vs seeds: {k} matched, 0 new, 0 vanished\n")
    rows = re.findall(r"^\s*(\d+)\s+(\d+)\s+(\d\.\d{3})\s*$", result.stdout, re.M)  # no terms differ
    assert rows == [(str(t), str(t), "1.000") for t in range(k)]


def test_compare_two_seeds_lists_matches_and_the_config_difference(run_copy: tuple[Path, Path]) -> None:
    config, run_dir = run_copy
    assert invoke("run", config, "--set", "run.seed=7", "--set", "run.name=other").exit_code == 0
    result = invoke("compare", run_dir, run_dir.parent / "other")
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^run\.seed\s+42\s+7\s*$", result.stdout, re.M)  # a row of the config table
    assert "\nMatched" in result.stdout


def test_infer_on_the_seeds_gives_the_run_s_dominant_topics(
    run_copy: tuple[Path, Path], tmp_path: Path
) -> None:
    _, run_dir = run_copy
    out = tmp_path / "inferred"
    result = invoke("infer", run_dir, SEEDS, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert _dominant(out / "assignments.csv") == _dominant(run_dir / "assignments.csv")
    with (
        (out / "documents.csv").open(encoding="utf-8") as fh,
        (run_dir / "documents.csv").open(encoding="utf-8") as gh,
    ):
        assert next(csv.reader(fh)) == next(csv.reader(gh))  # the same columns
    info = json.loads((out / "infer.json").read_text(encoding="utf-8"))
    assert info["oov_tokens"] > 0 and 0 < info["oov_share"] < 1  # stopword-free tokens cut by the dictionary
    assert "not in the run's vocabulary" in result.stdout


def test_an_edited_label_shows_everywhere_after_the_next_run(run_copy: tuple[Path, Path]) -> None:
    config, run_dir = run_copy
    labels = yaml.safe_load((run_dir / "labels.yaml").read_text(encoding="utf-8"))
    labels[2] = {"name": "校园防疫", "note": "学校与师生"}
    (run_dir / "labels.yaml").write_text(yaml.safe_dump(labels, allow_unicode=True), encoding="utf-8")
    result = invoke("run", config)
    assert result.exit_code == 0
    assert "report: running (config changed: labels.yaml.names [] ->" in result.stderr
    assert "assign: skipped" in result.stderr  # only the report re-ran
    assert "train: skipped" in result.stderr
    topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
    assert (topics[2]["name"], topics[2]["note"]) == ("校园防疫", "学校与师生")
    assert "## Topic 2: 校园防疫" in (run_dir / "report.md").read_text(encoding="utf-8")
    assert "校园防疫" in (run_dir / "report.html").read_text(encoding="utf-8")
    assert "校园防疫" in invoke("show", run_dir).stdout
    again = invoke("run", config)
    assert again.stderr.count("skipped (up to date)") == 6


def test_labels_follow_their_topic_and_vanished_names_are_reported(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    rng = np.random.RandomState(0)
    phi = rng.dirichlet(np.full(50, 0.05), size=4)
    id2token = {i: f"词{i:02d}" for i in range(50)}
    ensure_labels(store, phi, id2token, np.full(4, 0.25), match_labels(store, phi, id2token))
    labels = yaml.safe_load(store.read_text("labels.yaml"))
    labels[0]["name"], labels[3]["name"] = "甲", "丁"
    store.write_text("labels.yaml", yaml.safe_dump(labels, allow_unicode=True))
    written = store.read_text("labels.yaml")
    # The next model has the same topics in another order, and topic 3 replaced by a new one.
    new_phi = np.vstack([phi[2], phi[0], rng.dirichlet(np.full(50, 0.05)), phi[1]])
    result = match_labels(store, new_phi, id2token)
    assert [n["name"] for n in result.names] == [None, "甲", None, None]
    assert result.vanished == ["topic 3 '丁'"]
    result.write(store, new_phi, id2token, {})
    assert store.read_text("labels.yaml") == written  # the user's file, never rewritten
    resolved = store.read_text("labels.resolved.yaml")
    assert yaml.safe_load(resolved)[1]["name"] == "甲"  # in the new ids
    assert (
        "labels.yaml's topic 0"
        in resolved.splitlines()[[line[:2] for line in resolved.splitlines()].index("1:")]
    )
    assert "#   topic 3 '丁'" in resolved


def test_exports_write_parquet_and_a_workbook(run_copy: tuple[Path, Path]) -> None:
    import openpyxl
    import pyarrow.parquet as pq

    config, run_dir = run_copy
    result = invoke("run", config, "--set", "report.export=[parquet, xlsx]")
    assert result.exit_code == 0, result.stderr
    table = pq.read_table(run_dir / "assignments.parquet")
    assert table.num_rows == len(_dominant(run_dir / "assignments.csv"))
    assert str(table.schema.field("unit_id").type) == "string"
    wb = openpyxl.load_workbook(run_dir / "results.xlsx", read_only=True)
    assert wb.sheetnames == ["units", "documents", "topics"]
    header = next(wb["units"].iter_rows(values_only=True))
    assert header[:2] == ("unit_id", "doc_id") and header[-1] == "text"
    shutil.rmtree(run_dir / "infer", ignore_errors=True)


def test_compare_names_the_closest_topic_of_a_vanished_one(run_copy: tuple[Path, Path]) -> None:
    config, run_dir = run_copy
    assert invoke("run", config, "--set", "model.num_topics=4", "--set", "run.name=fewer").exit_code == 0
    result = compare_runs(open_run(run_dir), open_run(run_dir.parent / "fewer"))
    assert len(result["vanished"]) >= 4  # 8 topics against 4
    assert all(v["best_similarity"] > 0 and v["closest"] in range(4) for v in result["vanished"])
    shown = invoke("compare", run_dir, run_dir.parent / "fewer")
    assert shown.exit_code == 0, shown.stderr
    for v in result["vanished"]:  # a row of the vanished table: id, terms, closest topic
        closest = f"{v['closest']} ({v['best_similarity']:.3f})"
        assert re.search(
            rf"^\s*{v['topic']}\s+{v['terms'][0]} .*\s{re.escape(closest)}\s*$", shown.stdout, re.M
        )


def test_infer_on_text_without_a_known_word_is_an_error(run_copy: tuple[Path, Path], tmp_path: Path) -> None:
    _, run_dir = run_copy
    english = tmp_path / "english.txt"
    english.write_text("Nothing here is Chinese, so no word is in the run's vocabulary.\n", encoding="utf-8")
    out = tmp_path / "inferred"
    result = invoke("infer", run_dir, english, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {english}: no usable text (1 units, none with a word of the run's vocabulary); "
        "check the paths, and that the texts are like the run's\n"
    )
    assert not (out / "assignments.csv").exists()
