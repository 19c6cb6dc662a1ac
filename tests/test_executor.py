"""Partitioned stages: worker processes and a Dask local cluster give the files one process gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import corpus, em, engines
from pipeline.config import load_config
from pipeline.stages import assign

from .conftest import DETERMINISTIC, invoke, snapshot, write_config

pytest.importorskip("distributed", reason="Dask distributed is part of the dev install")


def test_dask_local_cluster_gives_files_identical_to_a_local_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small training partitions, so the cluster runs several E-steps a pass.
    monkeypatch.setattr(em, "PARTITION_ROWS", 40)
    names = [*DETERMINISTIC, "units.jsonl", "tokens.jsonl", "segmentation.tsv", "vocab.tsv", "training.json"]
    runs = {}
    for kind in ("local", "dask"):
        folder = tmp_path / kind
        folder.mkdir()
        result = invoke("run", write_config(folder, executor={"kind": kind, "workers": 1}))
        assert result.exit_code == 0, result.stderr
        runs[kind] = snapshot(folder / "runs" / "seeds", names)
    assert runs["dask"] == runs["local"]
    manifest = json.loads(
        (tmp_path / "dask" / "runs" / "seeds" / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["config"]["executor"]["kind"] == "dask"


def test_jsonl_blocks_read_the_same_documents_as_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [{"id": f"r{i}", "text": f"第{i}行的内容。" * (i % 5 + 1)} for i in range(200)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = load_config(write_config(tmp_path, input={"paths": [str(path)], "id_field": "id"}))
    (whole,) = corpus.list_inputs(config)
    blocks = corpus.jsonl_blocks(whole, 1000)
    assert len(blocks) > 5
    one = [(d.doc_id, d.record_line, d.lines) for d in corpus.read_documents(config, [whole])]
    parts = [(d.doc_id, d.record_line, d.lines) for d in corpus.read_documents(config, blocks)]
    assert parts == one
    assert one[-1][1] == 200  # line numbers stay those of the file


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, executor={"kind": "dask", "address": "tcp://127.0.0.1:9"})
    result = invoke("run", config)
    assert result.exit_code == 2
    assert "Error: executor.address: cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr


def test_local_worker_processes_give_files_identical_to_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small inference chunks and partitions, so the seeds make several assign partitions
    # and several training partitions a pass.
    monkeypatch.setattr(engines.base, "CHUNK", 20)
    monkeypatch.setattr(assign, "PARTITION", 40)
    monkeypatch.setattr(em, "PARTITION_ROWS", 30)
    names = [*DETERMINISTIC, "units.jsonl", "tokens.jsonl", "segmentation.tsv", "vocab.tsv", "training.json"]
    runs = []
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        config = write_config(folder, executor={"workers": workers})
        result = invoke("run", config)
        assert result.exit_code == 0, result.stderr
        runs.append(snapshot(folder / "runs" / "seeds", names))
    assert runs[0] == runs[1]
    units = sum(1 for _ in (tmp_path / "w2" / "runs" / "seeds" / "units.jsonl").open(encoding="utf-8"))
    assert units > 3 * assign.PARTITION
