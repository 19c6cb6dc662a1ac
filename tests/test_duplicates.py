"""Near-duplicate documents (pipeline/duplicates.py): found, listed, set aside.

The fixture is the seeds plus a copy of one seed file with one character changed:
the copy must be found, left out of training and of the passages, and still get its
mixes in every output.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline import duplicates
from pipeline.config import load_config
from pipeline.runner import run_pipeline

from .conftest import SEEDS

STORY = "南港市的河道清淤工作顺利完成，当地三百名群众参与其中，图书捐赠也在同步筹划。" * 3
OTHER = "西山县的果园嫁接工作稳步开展，技术员走进田间地头，手把手教农户修剪和嫁接果树。" * 3


def one_changed(text: str, at: int) -> str:
    return text[:at] + ("甲" if text[at] != "甲" else "乙") + text[at + 1 :]


def test_shingles_are_distinct_stable_and_ignore_spaces() -> None:
    a = duplicates.shingle_hashes("河道清淤 工作")
    assert len(a) == 4  # 河道清 道清淤 清淤工 淤工作
    assert np.array_equal(a, duplicates.shingle_hashes("河道清淤工作"))
    assert len(duplicates.shingle_hashes("河道")) == 1  # shorter than a shingle: one
    assert len(duplicates.shingle_hashes("  ")) == 0


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # one character changed: a duplicate of the first
        ([STORY, one_changed(STORY, 10)], [None, "d0"]),
        # different stories: none
        ([STORY, OTHER], [None, None]),
        # a third copy points at the original, not at the first duplicate
        ([STORY, one_changed(STORY, 10), one_changed(STORY, 30)], [None, "d0", "d0"]),
        # a text without characters is never a duplicate
        (["", ""], [None, None]),
    ],
)
def test_each_document_is_a_duplicate_of_the_first_original_it_matches(
    texts: list[str], expected: list[str | None]
) -> None:
    finder = duplicates.Finder(0.7)
    found = [finder.add(f"d{i}", duplicates.signature(t)) for i, t in enumerate(texts)]
    assert [d.duplicate_of if d else None for d in found] == expected
    assert all(d.similarity >= 0.7 for d in found if d)


def test_planted_one_character_copies_are_found(tmp_path: Path) -> None:
    """Every seed document and a one-character copy of each: all five copies found."""
    finder = duplicates.Finder(0.7)
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    for i, text in enumerate(texts):
        assert finder.add(f"s{i}", duplicates.signature(text)) is None
    for i, text in enumerate(texts):
        found = finder.add(f"c{i}", duplicates.signature(one_changed(text, len(text) // 2)))
        assert found is not None and found.duplicate_of == f"s{i}"


def test_the_sorted_runs_of_the_band_index_find_what_its_dict_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys leave the dict for sorted runs every few documents, runs merge: the same
    duplicates, of the same originals, as when every key stays in the dict."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    paragraphs = [p for t in texts for p in t.split("\n") if len(p) > 40]
    docs = [*paragraphs, *(one_changed(p, len(p) // 2) for p in paragraphs[::3]), *paragraphs[::4]]
    sigs = [duplicates.signature(d) for d in docs]

    def found() -> list[tuple[str, str]]:
        finder = duplicates.Finder(0.7)
        hits = [finder.add(f"d{i}", s) for i, s in enumerate(sigs)]
        return [(h.doc_id, h.duplicate_of) for h in hits if h]

    whole = found()
    monkeypatch.setattr(duplicates, "RECENT", 30)
    assert found() == whole
    assert len(whole) >= len(paragraphs[::3]) + len(paragraphs[::4])


def _run(tmp_path: Path, *overrides: str) -> Path:
    inputs = tmp_path / "inputs"
    shutil.copytree(SEEDS, inputs)
    first = sorted(inputs.glob("*.txt"))[0]
    text = first.read_text(encoding="utf-8")
    (inputs / "zz_copy.txt").write_text(one_changed(text, len(text) // 2), encoding="utf-8")
    config = load_config(
        None, [f"input.paths=[{inputs}]", f"run.output_dir={tmp_path / 'runs'}", "run.name=dupes", *overrides]
    )
    run_pipeline(config)
    return config.run_dir


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_near_duplicate_is_listed_left_out_of_training_and_keeps_its_mixes(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    (dup,) = _csv(run_dir / "duplicates.csv")
    assert (dup["doc_id"], dup["duplicate_of"]) == ("zz_copy", "000_1a0ce78baffdf577")
    assert float(dup["similarity"]) >= 0.7  # estimated: one change in a long text can read 1.0
    docs = {d["doc_id"]: d for d in _csv(run_dir / "documents.csv")}
    assert docs["zz_copy"]["duplicate_of"] == "000_1a0ce78baffdf577"
    assert {d["duplicate_of"] for i, d in docs.items() if i != "zz_copy"} == {""}
    assert docs["zz_copy"]["dominant_topic"] != ""  # it still has its mix
    training = json.loads((run_dir / "training.json").read_text(encoding="utf-8"))
    copy_units = [u for u in _csv(run_dir / "assignments.csv") if u["doc_id"] == "zz_copy"]
    assert training["duplicates_left_out"]["documents"] == 1
    assert training["duplicates_left_out"]["units"] == sum(1 for u in copy_units if u["dominant_topic"])
    topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
    quoted = [p for t in topics for p in t["representatives"]]
    assert quoted and not any("zz_copy" in json.dumps(p, ensure_ascii=False) for p in quoted)
    assert "1 near-duplicate documents found" in (run_dir / "report.md").read_text(encoding="utf-8")


def test_train_duplicates_keeps_them_in_training(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "model.train_duplicates=true")
    assert len(_csv(run_dir / "duplicates.csv")) == 1
    training = json.loads((run_dir / "training.json").read_text(encoding="utf-8"))
    assert "duplicates_left_out" not in training


def test_duplicates_false_finds_none(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "segment.duplicates=false")
    assert _csv(run_dir / "duplicates.csv") == []
    assert {d["duplicate_of"] for d in _csv(run_dir / "documents.csv")} == {""}


@pytest.mark.parametrize("engine", ["tomotopy", "sklearn"])
def test_other_engines_leave_duplicates_out_and_still_give_them_mixes(engine: str, tmp_path: Path) -> None:
    run_dir = _run(tmp_path, f"model.engine={engine}", "model.iterations=50")
    training = json.loads((run_dir / "training.json").read_text(encoding="utf-8"))
    assert training["duplicates_left_out"]["documents"] == 1
    units = _csv(run_dir / "assignments.csv")
    copy = [u for u in units if u["doc_id"] == "zz_copy"]
    assert any(u["dominant_topic"] for u in copy)  # inferred, not left at the prior
    k = sum(1 for c in units[0] if c.startswith("topic_"))
    mixes = np.array([[float(u[f"topic_{i}"]) for i in range(k)] for u in units])
    assert np.allclose(mixes.sum(axis=1), 1.0, atol=1e-5)
