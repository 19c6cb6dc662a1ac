"""Faults: a killed run, two runs at once, a folder that cannot be written, a full disk."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.artifacts import MARKER, STAGING, TEMPORARY, RunStore
from pipeline.errors import StoreError
from pipeline.stages import STAGE_NAMES

from .conftest import SEEDS, invoke, snapshot, write_config

FILES = [
    "units.jsonl",
    "tokens.jsonl",
    "vocab.tsv",
    "assignments.csv",
    "documents.csv",
    "topics.csv",
    "topics.json",
]


def _big_corpus(folder: Path, copies: int = 4) -> Path:
    """The seeds, copied enough times that tokenize and train take a few seconds."""
    corpus = folder / "corpus"
    corpus.mkdir()
    for i in range(copies):
        for f in SEEDS.iterdir():
            (corpus / f"{i:02d}_{f.name}").write_bytes(f.read_bytes())
    return corpus


def _stage_running(run_dir: Path, stage: str) -> bool:
    """Whether the run in progress (its manifest is staged until the run ends) is in ``stage``."""
    try:
        manifest = json.loads((run_dir / STAGING / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return manifest.get("stages", {}).get(stage, {}).get("status") == "running"


def _writing(run_dir: Path, name: str) -> bool:
    folder = run_dir / STAGING
    return folder.is_dir() and any(p.name.startswith(f"{TEMPORARY[0]}{name}.") for p in folder.iterdir())


def _kill_during(config: Path, run_dir: Path, stage: str, partial: str | None, *args: str) -> None:
    """SIGKILL the run while ``stage`` runs (and, if given, while ``partial`` is half written)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", str(config), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120

    def ready() -> bool:
        if not _stage_running(run_dir, stage):
            return False
        return partial is None or _writing(run_dir, partial)

    while not ready():
        assert proc.poll() is None, f"the run ended before {stage} started"
        assert time.time() < deadline
        time.sleep(0.02)
    if partial is None:
        time.sleep(0.5)  # well inside the stage
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize(
    ("stage", "partial", "change"),
    [("tokenize", "tokens.jsonl", "tokenize.min_len=3"), ("train", None, "model.passes=12")],
)
def test_a_killed_run_keeps_earlier_outputs_and_the_next_run_completes_identically(
    tmp_path: Path, stage: str, partial: str | None, change: str
) -> None:
    corpus = _big_corpus(tmp_path)
    fast = {"passes": 4, "iterations": 100}
    killed = write_config(
        tmp_path, "killed.yaml", input={"paths": [str(corpus)]}, run={"name": "killed"}, model=fast
    )
    clean = write_config(
        tmp_path, "clean.yaml", input={"paths": [str(corpus)]}, run={"name": "clean"}, model=fast
    )
    assert invoke("run", killed).exit_code == 0
    run_dir = tmp_path / "runs" / "killed"
    before = snapshot(run_dir, FILES)
    _kill_during(killed, run_dir, stage, partial, "--set", change)
    assert snapshot(run_dir, FILES) == before  # every earlier output still whole and readable
    resumed = invoke("run", killed, "--set", change)
    assert resumed.exit_code == 0, resumed.stderr
    assert "segment: skipped (up to date)" in resumed.stderr
    assert f"{stage}: running (last run did not finish)" in resumed.stderr
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(TEMPORARY)]
    assert invoke("run", clean, "--set", change).exit_code == 0
    assert snapshot(run_dir, FILES) == snapshot(tmp_path / "runs" / "clean", FILES)


def test_a_second_concurrent_run_is_refused(run_copy: tuple[Path, Path]) -> None:
    config, run_dir = run_copy
    with RunStore(run_dir).lock():
        result = invoke("run", config, "--force")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {run_dir}: another run is using this run folder; wait for it to finish\n"


def test_an_output_folder_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    config = write_config(tmp_path, run={"output_dir": str(blocker / "runs")})
    result = invoke("run", config)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {blocker / 'runs' / 'seeds'}: cannot create the run folder (")


def test_a_full_disk_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = RunStore(tmp_path)
    store.write_text("topics.csv", "old\n")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(StoreError, match=r"topics\.csv: cannot write \(the disk is full\); earlier outputs"):
        store.write_text("topics.csv", "new\n")
    assert (tmp_path / "topics.csv").read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "topics.csv"]


def test_spilled_rows_come_back_in_order_and_leave_no_file(tmp_path: Path) -> None:
    import numpy as np

    store = RunStore(tmp_path, staged=True)
    rows = [np.arange(3, dtype=np.float32) + i for i in range(5000)]  # more than a block
    with store.spilled(iter(rows), 3) as back:
        got = np.array(list(back))
        assert got.dtype == np.float32
        spills = [p.name for p in (tmp_path / STAGING).iterdir() if p.name.startswith(TEMPORARY)]
        assert len(spills) == 1
    np.testing.assert_array_equal(got, np.array(rows))
    assert not [p for p in (tmp_path / STAGING).iterdir() if p.name.startswith(TEMPORARY)]


def test_a_full_disk_while_spilling_is_a_store_error_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    store = RunStore(tmp_path, staged=True)

    def rows() -> Any:
        yield np.zeros(2)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StoreError, match=r"cannot write \(the disk is full\)"), store.spilled(rows(), 2):
        pass
    assert not [p for p in (tmp_path / STAGING).iterdir() if p.name.startswith(TEMPORARY)]


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """About 1,000 documents made of the seeds' paragraphs, and a clean run of them."""
    folder = tmp_path_factory.mktemp("thousand")
    paragraphs = [
        line
        for f in sorted(SEEDS.iterdir())
        for line in f.read_text(encoding="utf-8").splitlines()
        if len(line) > 120
    ]
    corpus = folder / "corpus"
    corpus.mkdir()
    for n in range(1000):
        picked = [paragraphs[(n * 7 + i * 13) % len(paragraphs)] for i in range(5)]
        (corpus / f"{n:04d}.txt").write_text(f"第{n}篇\n" + "\n".join(picked) + "\n", encoding="utf-8")
    config = write_config(
        folder,
        "clean.yaml",
        input={"paths": [str(corpus)]},
        run={"name": "clean"},
        model=QUICK,
        segment=REUSED,
    )
    assert invoke("run", config).exit_code == 0
    return corpus, folder / "runs" / "clean"


QUICK = {"passes": 2, "iterations": 50, "num_topics": 5}
# The documents reuse the seeds' paragraphs: learned as boilerplate and found as
# near-duplicates, they would leave too little text for the stages to start workers.
REUSED = {"boilerplate": False, "duplicates": False}


def _start_run(tmp_path: Path, corpus: Path, name: str) -> tuple[subprocess.Popen[str], Path, Path]:
    """A run of the corpus in a process of its own: (the process, its config, its run folder)."""
    config = write_config(
        tmp_path, input={"paths": [str(corpus)]}, run={"name": name}, model=QUICK, segment=REUSED
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", str(config)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # A shell starts background jobs with Ctrl-C ignored, and Python keeps an ignored
        # SIGINT ignored: give the run a terminal's Ctrl-C however the tests were started.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    return proc, config, tmp_path / "runs" / name


PARALLEL = ("segment", "tokenize", "train")  # the stages that run worker processes here


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_sigkill_leaves_no_worker_alive_and_the_next_run_resumes_identically(
    thousand: tuple[Path, Path], tmp_path: Path, stage: str
) -> None:
    import psutil

    corpus, clean = thousand
    proc, config, run_dir = _start_run(tmp_path, corpus, "killed")
    deadline = time.time() + 120
    workers: list[psutil.Process] = []
    while not _stage_running(run_dir, stage) or (stage in PARALLEL and not workers):
        assert proc.poll() is None, f"the run ended before {stage} had started (and had its workers)"
        assert time.time() < deadline
        if _stage_running(run_dir, stage):
            workers = psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    time.sleep(5)
    alive = [p.pid for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"workers of the killed run still alive after 5 s: {alive}"
    resumed = invoke("run", config)
    assert resumed.exit_code == 0, resumed.stderr
    assert f"{stage}: running (last run did not finish)" in resumed.stderr
    names = [*FILES, "segmentation.tsv"]
    assert snapshot(run_dir, names) == snapshot(clean, names)


def test_ctrl_c_prints_one_line_and_the_next_run_resumes(thousand: tuple[Path, Path], tmp_path: Path) -> None:
    corpus, clean = thousand
    proc, config, run_dir = _start_run(tmp_path, corpus, "stopped")
    deadline = time.time() + 120
    while not _stage_running(run_dir, "tokenize"):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.splitlines()[-1] == (
        "Interrupted; outputs of earlier runs are unchanged, and the next `pipeline run` resumes at the "
        "first unfinished stage"
    )
    assert "Traceback" not in stderr
    resumed = invoke("run", config)
    assert resumed.exit_code == 0, resumed.stderr
    assert "segment: skipped (up to date)" in resumed.stderr
    assert snapshot(run_dir, FILES) == snapshot(clean, FILES)


def test_a_worker_of_a_killed_run_does_not_keep_the_run_folder_locked(tmp_path: Path) -> None:
    # The run forks a worker while it holds the lock, then dies by SIGKILL; the worker
    # outlives it for a moment (as it does until the kernel ends it), and the next run
    # must get the folder at once.
    script = (
        "import os, signal, sys, time\n"
        "from pathlib import Path\n"
        "from pipeline.artifacts import RunStore\n"
        "with RunStore(Path(sys.argv[1])).lock():\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(5)\n"
        "        os._exit(0)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    with RunStore(tmp_path / "run").lock():  # refused while the orphan held the lock
        pass


def _records(path: Path, n: int, first: int = 0) -> None:
    lines = [ln for f in sorted(SEEDS.iterdir()) for ln in f.read_text(encoding="utf-8").splitlines()]
    texts = [ln for ln in lines if len(ln) > 100]
    rows = [{"id": f"r{i}", "text": texts[i % len(texts)]} for i in range(first, first + n)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("blocks", [True, False], ids=["between blocks", "before it is read"])
def test_a_file_that_changes_while_segment_reads_it_is_never_marked_up_to_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocks: bool
) -> None:
    """Issue 23: the input cut in half while segment read it; the run finished, recorded the
    cut file's fingerprint, and every later run skipped segment with the old units."""
    from pipeline import corpus

    data = tmp_path / "rows.jsonl"
    _records(data, 200)
    if blocks:  # read in blocks of about 4 kB, as a large file is
        monkeypatch.setattr(corpus, "READ_BLOCK", 4096)
    real = corpus._read
    calls = []

    def read_then_cut(path: Path, source: str, start: int = 0, size: int = -1) -> bytes:
        # The first block (blocks) or, before the file is read (whole), its fingerprint was taken.
        calls.append(start)
        if not blocks and len(calls) == 1:
            _records(data, 100)  # cut in half before the read
        got = real(path, source, start, size)
        if blocks and start > 0 and len(calls) == 3:  # the head, the first block, then cut
            _records(data, 100)
        return got

    monkeypatch.setattr(corpus, "_read", read_then_cut)
    config = write_config(
        tmp_path, input={"paths": [str(data)], "id_field": "id"}, executor={"workers": 1}, model=QUICK
    )
    result = invoke("run", config)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: rows.jsonl: changed while being read; run again"
    assert not (tmp_path / "runs" / "seeds").exists()  # nothing ran: no run folder is left
    monkeypatch.setattr(corpus, "_read", real)
    again = invoke("run", config)
    assert again.exit_code == 0, again.stderr
    assert "segment: done" in again.stderr
    units = (tmp_path / "runs" / "seeds" / "units.jsonl").read_text(encoding="utf-8")
    assert {json.loads(u)["doc_id"] for u in units.splitlines()} == {f"r{i}" for i in range(100)}


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        (
            {"executor": {"kind": "dask", "address": "tcp://127.0.0.1:9"}},
            "Error: executor.address: cannot reach the Dask scheduler at tcp://127.0.0.1:9",
        ),
        ({"input": {"paths": ["{bad}"]}}, "Error: bad.jsonl:2: invalid JSON"),
    ],
    ids=["scheduler unreachable", "input malformed"],
)
def test_a_run_that_fails_before_any_stage_finished_leaves_no_run_folder(
    tmp_path: Path, settings: dict[str, Any], error: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "第一行的内容。"}\n{"text": \n', encoding="utf-8")
    if "input" in settings:
        settings = {"input": {"paths": [str(bad)]}}
    result = invoke("run", write_config(tmp_path, **settings))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith(error)
    assert (tmp_path / "runs").is_dir() and not (tmp_path / "runs" / "seeds").exists()


def test_a_new_run_folder_is_kept_once_a_stage_finished(tmp_path: Path) -> None:
    config = write_config(tmp_path, tokenize={"min_len": 60})
    result = invoke("run", config)
    assert result.exit_code == 2 and "segment: done" in result.stderr
    run_dir = tmp_path / "runs" / "seeds"
    assert (run_dir / STAGING / "units.jsonl").is_file()
    resumed = invoke("run", config, "--set", "tokenize.min_len=2")
    assert resumed.exit_code == 0, resumed.stderr
    assert "segment: skipped (up to date)" in resumed.stderr


def test_a_run_refused_a_new_folder_by_the_lock_leaves_the_other_run_s_folder_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder did not exist when the run looked, and another run made and locked it
    before this one could: being refused, this run removes nothing of the other's."""
    config = write_config(tmp_path)
    run_dir = tmp_path / "runs" / "seeds"
    real = RunStore.lock
    other = contextlib.ExitStack()

    def another_run_first(self: RunStore) -> Any:
        other.enter_context(real(RunStore(run_dir)))
        return real(self)

    monkeypatch.setattr(RunStore, "lock", another_run_first)
    with other:
        result = invoke("run", config)
        assert result.stderr == (
            f"Error: {run_dir}: another run is using this run folder; wait for it to finish\n"
        )
        assert (run_dir / MARKER).is_file() and (run_dir / ".lock").is_file()
