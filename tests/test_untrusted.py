"""A run folder is data: opening one that someone sent runs none of its code.

Topic models are shared as folders, so a folder whose files were replaced by pickles
that run code when read is the realistic attack. The store writes no pickle and reads
every array with ``allow_pickle=False``; files at the names older versions pickled to
are never opened.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from .conftest import SEEDS, invoke, write_config


class _Payload:
    """Unpickling it writes a file: proof that the folder ran code."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[Path, str]]:
        return (Path.write_text, (self.target, "ran"))


PICKLED = [  # where gensim's save and older versions of the store wrote pickles
    "dictionary.gensim",
    "model/lda.model",
    "model/lda.model.state",
    "model/lda.model.id2word",
    "corpus/corpus.mm.index",
]
ARRAYS = ["mixes.npy", "model/train_theta.npy", "model/lda_sstats.npy", "corpus/corpus.mm.index.npy"]


def _booby_trap(run_dir: Path, target: Path) -> None:
    for name in PICKLED:
        (run_dir / name).write_bytes(pickle.dumps(_Payload(target)))
    for name in ARRAYS:
        np.save(run_dir / name, np.array([_Payload(target)], dtype=object), allow_pickle=True)


@pytest.mark.parametrize(
    "command",
    [
        ["show", "{run}"],
        ["compare", "{run}", "{run}"],
        ["infer", "{run}", str(SEEDS), "--out", "{tmp}/inferred"],
        ["run", "{config}"],
        ["run", "{config}", "--from", "train", "--force"],
    ],
)
def test_a_booby_trapped_run_folder_runs_no_code(
    run_copy: tuple[Path, Path], tmp_path: Path, command: list[str]
) -> None:
    config, run_dir = run_copy
    target = tmp_path / "pwned"
    _booby_trap(run_dir, target)
    args = [a.format(run=run_dir, tmp=tmp_path, config=config) for a in command]
    result = invoke(*args)
    assert not target.exists(), result.stderr
    assert result.exit_code in (0, 2), result.stderr  # done, or one clean error
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ") or "\nError: " in result.stderr


def test_no_file_in_a_run_folder_is_a_pickle(seeds_run: Path) -> None:
    for path in seeds_run.rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:2]
            assert head != b"\x80\x04" and head[:1] != b"\x80", f"{path} looks like a pickle"
            if path.suffix == ".npy":
                np.load(path, allow_pickle=False)  # raises on an object array


def test_two_runs_into_two_folders_give_the_same_bytes(seeds_run: Path, tmp_path: Path) -> None:
    """Every output but the three that carry timings is the same bytes, models included:
    no temporary path, timestamp or absolute location leaks into a file."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    config = write_config(folder)
    result = invoke("run", config, "--set", "run.name=again")
    assert result.exit_code == 0, result.stderr
    other = config.parent / "runs" / "again"
    names = sorted(p.relative_to(seeds_run).as_posix() for p in seeds_run.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(other).as_posix() for p in other.rglob("*") if p.is_file())
    differ = [n for n in names if (seeds_run / n).read_bytes() != (other / n).read_bytes()]
    assert differ == ["manifest.json", "report.html", "report.md"]


def test_a_model_an_older_version_pickled_is_refused_with_the_fix(run_copy: tuple[Path, Path]) -> None:
    _, run_dir = run_copy
    for name in ("lda.json", "lda_sstats.npy"):
        (run_dir / "model" / name).unlink()
    shutil.copy(run_dir / "model" / "alpha.npy", run_dir / "model" / "lda.model")
    result = invoke("show", run_dir)
    assert result.exit_code == 0  # show reads topics.json, not the model
    result = invoke("compare", run_dir, run_dir)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {run_dir / 'model'}: written by an older version that pickled the model, which is "
        "not read; retrain with `pipeline run --from train --force`"
    )
