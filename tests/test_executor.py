"""Partitioned stages: worker processes and a Dask local cluster give the files one process gives."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline import corpus, em, engines, executor
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


def _scheduler_lost() -> Exception:
    from distributed.client import FutureCancelledError

    return FutureCancelledError("tokenize-1", "scheduler-connection-lost")


def _workers_lost() -> Exception:
    from distributed import KilledWorker

    return KilledWorker("tokenize-1", SimpleNamespace(address="tcp://10.0.0.6:4000"), 3)


class _Future:
    def __init__(self, fn: Any, args: tuple[Any, ...], lost: Any) -> None:
        self.fn, self.args, self.lost = fn, args, lost

    def result(self) -> Any:
        if self.lost is not None:
            raise self.lost()
        return self.fn(*self.args)


class _Client:
    """A Dask client that runs each task in this process, until tokenize's tasks are
    submitted: then they fail as ``lose`` says."""

    scheduler = SimpleNamespace(address="tcp://10.0.0.5:8786")

    def __init__(self, lose: Any) -> None:
        self.lose = lose

    def scheduler_info(self) -> dict[str, Any]:
        return {"workers": {"tcp://10.0.0.6:4000": {}}}

    def scatter(self, obj: Any, broadcast: bool, hash: bool) -> Any:
        return obj

    def submit(self, fn: Any, *args: Any, pure: bool) -> _Future:
        return _Future(fn, args, self.lose if fn.__name__ == "_tokenize_partition" else None)


@pytest.mark.parametrize(
    ("lose", "what"),
    [
        (_scheduler_lost, "the Dask scheduler at tcp://10.0.0.5:8786"),
        (_workers_lost, "the Dask workers that ran its tasks (the last at tcp://10.0.0.6:4000)"),
    ],
    ids=["scheduler", "workers"],
)
def test_a_cluster_lost_mid_run_is_one_line_and_the_next_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lose: Any, what: str
) -> None:
    client = _Client(lose)
    monkeypatch.setattr(executor.DaskExecutor, "_connect", lambda self: client)
    config = write_config(tmp_path, executor={"kind": "dask", "address": "tcp://10.0.0.5:8786"})
    result = invoke("run", config)
    assert result.exit_code == 2
    assert "segment: done" in result.stderr and "Traceback" not in result.stderr
    assert [ln for ln in result.stderr.splitlines() if "Error" in ln] == [
        f"Error: executor: lost {what} during tokenize; the next run resumes from tokenize"
    ]
    client.lose = None
    resumed = invoke("run", config)
    assert resumed.exit_code == 0, resumed.stderr
    assert "segment: skipped (up to date)" in resumed.stderr
    assert "tokenize: running (last run did not finish)" in resumed.stderr


_STARTED = threading.Event()


def _slow_tokenize(*args: Any) -> Any:
    """tokenize's partition, slowed so that the cluster is closed while it runs."""
    from pipeline.stages import tokenize

    _STARTED.set()
    time.sleep(0.5)
    return tokenize._REAL_PARTITION(*args)  # type: ignore[attr-defined]


def test_a_local_cluster_closed_mid_map_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import LocalCluster

    from pipeline.stages import tokenize

    monkeypatch.setattr(tokenize, "_REAL_PARTITION", tokenize._tokenize_partition, raising=False)
    monkeypatch.setattr(tokenize, "_tokenize_partition", _slow_tokenize)
    _STARTED.clear()
    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=None
    )
    address = cluster.scheduler_address

    def close_when_started() -> None:
        if _STARTED.wait(120):
            cluster.close()

    closer = threading.Thread(target=close_when_started, daemon=True)
    closer.start()
    try:
        config = write_config(tmp_path, executor={"kind": "dask", "address": address})
        result = invoke("run", config)
    finally:
        closer.join(timeout=60)
        cluster.close()
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"Error: executor: lost the Dask scheduler at {address} during tokenize; "
        "the next run resumes from tokenize"
    )


_PINNED: list[bytes] = []  # a worker's latest block, above the freed ones in its heap


def _rss_then_churn(mb: int) -> int:
    """This worker's resident bytes as the partition starts; then ``mb`` MB of 1 KB blocks,
    all freed but the last, which stays above them in the heap so that free() alone
    cannot give them back."""
    import psutil

    rss = int(psutil.Process().memory_info().rss)
    blocks = [bytes(1000) for _ in range(mb * 1000)]
    _PINNED[:] = [bytes(1000)]
    del blocks
    return rss


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap, on Linux")
def test_a_worker_gives_back_what_a_partition_freed_before_the_next() -> None:
    # Six partitions on two workers: one worker runs at least two, and starts its second
    # with whatever the first left in its heap.
    starts = list(executor.LocalExecutor(2).map(_rss_then_churn, iter([200] * 6)))
    assert max(starts) - min(starts) < 100 << 20, [s >> 20 for s in starts]


def _fail_on(n: int) -> int:
    if n == 3:
        raise ValueError(f"partition {n} is bad")
    return n * n


def test_a_failed_map_leaves_the_executor_able_to_run_the_next() -> None:
    ex = executor.LocalExecutor(2)
    with pytest.raises(ValueError, match="partition 3 is bad"):
        list(ex.map(_fail_on, iter(range(8))))
    assert list(ex.map(_fail_on, iter([0, 1, 2, 4]))) == [0, 1, 4, 16]


def _scaled(n: int, factor: int) -> int:
    return n * factor


def test_maps_taken_in_turn_keep_their_own_shared_objects_and_order() -> None:
    ex = executor.LocalExecutor(2)
    tens, hundreds = ex.map(_scaled, iter(range(20)), 10), ex.map(_scaled, iter(range(20)), 100)
    pairs = list(zip(tens, hundreds, strict=True))
    assert pairs == [(10 * n, 100 * n) for n in range(20)]


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_the_runs_process_is_one_of_the_workers() -> None:
    # Two workers are this process and one forked process: a forked worker's resident
    # memory counts this process's pages again, so one fork fewer is one copy fewer.
    pids = list(executor.LocalExecutor(2).map(_pid_after, iter([0.1] * 6)))
    assert os.getpid() in pids
    assert len(set(pids)) == 2, pids


def _slow_then_fail(n: int) -> int:
    if n == 0:
        time.sleep(0.3)  # with the forked worker, while this process runs partition 1
        return 0
    raise ValueError(f"partition {n} is bad")


def test_a_failure_in_the_runs_own_partition_waits_for_its_turn() -> None:
    results = executor.LocalExecutor(2).map(_slow_then_fail, iter([0, 1, 2]))
    assert next(results) == 0
    with pytest.raises(ValueError, match="partition 1 is bad"):
        next(results)
