"""One contract, checked over every registered engine: the same files on every run, a saved
model that loads back to the same mixes, mixes that are distributions over K topics,
planted topics found, progress told step by step, and a whole run through the CLI."""

from __future__ import annotations

import csv
import json
import os
import random
import re
from dataclasses import replace
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from pipeline import engines
from pipeline.artifacts import RunStore, release_pages
from pipeline.config import ModelConfig
from pipeline.errors import StoreError
from pipeline.executor import LocalExecutor

from .conftest import invoke, write_config

K = 3
WORDS = [[f"t{t}w{j:02d}" for j in range(20)] for t in range(K)]
LENGTH = {"gensim": 50, "tomotopy": 200, "sklearn": 50}  # model.iterations: seconds, not minutes


def planted() -> tuple[object, list[list[tuple[int, int]]], list[int]]:
    """90 units of 30 words, each drawn mostly from one of K disjoint vocabularies, and
    one unit without words: (dictionary, bag-of-words corpus, each unit's vocabulary)."""
    from gensim.corpora import Dictionary

    rng = random.Random(3)
    labels = [i % K for i in range(90)]
    docs = [
        [rng.choice(WORDS[t] if rng.random() < 0.9 else WORDS[rng.randrange(K)]) for _ in range(30)]
        for t in labels
    ]
    dct = Dictionary([*docs, []])
    return dct, [dct.doc2bow(d) for d in [*docs, []]], labels


def spec(name: str, rows: int) -> engines.TrainSpec:
    return engines.TrainSpec(
        engine=name, num_topics=K, seed=1, passes=10, iterations=LENGTH[name], alpha="auto",
        eta="symmetric", chunksize=2000, update_every=0, eval_rows=np.arange(rows) % 2 == 0,
    )  # fmt: skip


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("name", list(engines.ENGINES))
def test_engine_trains_on_a_subset_with_evaluation_rows_over_the_whole_corpus(name: str) -> None:
    """Duplicates left out of training make the corpus a Subset; the evaluation rows still
    number the whole corpus's rows, the last ones included."""
    from pipeline.samples import Subset

    dct, corpus, _ = planted()
    keep = np.arange(len(corpus)) >= 30  # the first 30 units are left out
    request = spec(name, len(corpus))
    request.eval_rows = (np.arange(len(corpus)) >= 30) & (np.arange(len(corpus)) % 2 == 0)
    steps: list[engines.TrainStep] = []
    model, _ = engines.train(request, Subset(corpus, keep), dct, LocalExecutor(1), steps.append)
    assert model.topic_term.shape == (K, len(dct)) and steps[-1].done == steps[-1].total


def test_the_config_offers_every_registered_engine() -> None:
    assert set(get_args(ModelConfig.model_fields["engine"].annotation)) == set(engines.ENGINES)
    starts = set(get_args(ModelConfig.model_fields["init"].annotation))
    for name, engine in engines.ENGINES.items():
        assert engine.name == name
        assert set(engine.starts) <= starts and engine.setting in ModelConfig.model_fields
        assert engine.unit in ("pass", "iteration")


@pytest.mark.parametrize("name", list(engines.ENGINES))
def test_engine_contract(name: str, tmp_path: Path) -> None:
    from sklearn.metrics import normalized_mutual_info_score

    dct, corpus, labels = planted()
    request = spec(name, len(corpus))
    steps: list[engines.TrainStep] = []
    for folder in (tmp_path / "a", tmp_path / "b", tmp_path / "c"):
        folder.mkdir()
    # Trained into the folder it is saved in (as the train stage does), and elsewhere.
    model, _ = engines.train(
        replace(request, mixes_to=tmp_path / "a"), corpus, dct, LocalExecutor(1), steps.append
    )
    again, _ = engines.train(replace(request, mixes_to=tmp_path / "c"), corpus, dct, LocalExecutor(1))
    for trained, folder in ((model, tmp_path / "a"), (again, tmp_path / "b")):
        trained.save(folder)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")  # reproducible, to the byte
    assert json.loads((tmp_path / "a" / "engine.json").read_text(encoding="utf-8"))["engine"] == name

    loaded = engines.load_model(tmp_path / "a")
    mixes = np.array(list(model.unit_distributions(corpus)))
    inferred = np.array(list(model.infer(corpus)))
    np.testing.assert_array_equal(np.array(list(loaded.unit_distributions(corpus))), mixes)
    np.testing.assert_array_equal(np.array(list(loaded.infer(corpus))), inferred)
    np.testing.assert_array_equal(loaded.topic_term, model.topic_term)
    for rows in (mixes, inferred):
        assert rows.shape == (len(corpus), K) and (rows >= 0).all()
        np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(model.topic_term.sum(axis=1), 1.0, atol=1e-9)

    # The planted topics: units sorted by vocabulary, topics by their first word.
    assert normalized_mutual_info_score(labels, mixes[: len(labels)].argmax(axis=1)) > 0.9
    first = [dct[int(i)] for i in model.topic_term.argmax(axis=1)]
    assert sorted(next(t for t in range(K) if w in WORDS[t]) for w in first) == list(range(K))

    engine = engines.get(name)
    unit, total = engines.progress_total(request)
    assert len(steps) == engine.steps(request) and steps[-1].done == total
    assert all(s.unit == unit == engine.unit and s.total == total for s in steps)
    assert [s.done for s in steps] == sorted({s.done for s in steps})


def test_a_loaded_gensim_model_maps_its_arrays_from_the_files(tmp_path: Path) -> None:
    """Mapped, not read into memory: a worker forked to infer then counts the pages it
    reads, not a copy of every topics x terms array of its parent."""
    dct, corpus, _ = planted()
    model, _ = engines.train(spec("gensim", len(corpus)), corpus, dct, LocalExecutor(1))
    model.save(tmp_path)
    loaded = engines.load_model(tmp_path)
    lda = loaded.lda  # type: ignore[attr-defined]
    for array in (loaded.topic_term, lda.expElogbeta, lda.state.sstats):
        assert isinstance(array, np.memmap) and not array.flags.writeable
    np.testing.assert_array_equal(np.array(list(loaded.infer(corpus))), np.array(list(model.infer(corpus))))


def _rss_kb() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc to read resident memory")
def test_released_pages_of_a_mapped_array_leave_this_process_and_its_values_stay(tmp_path: Path) -> None:
    values = np.arange(8 * 2**20, dtype=np.float64).reshape(1024, -1)  # 64 MB
    np.save(tmp_path / "a.npy", values)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    assert float(mapped.sum()) == float(values.sum())  # every page read
    before = _rss_kb()
    release_pages(mapped)
    assert before - _rss_kb() > 48 * 1024
    np.testing.assert_array_equal(mapped, values)
    held = values.copy()
    release_pages(held)  # not mapped from a file: left as it is
    np.testing.assert_array_equal(held, values)


@pytest.mark.parametrize("name", list(engines.ENGINES))
def test_engine_runs_the_pipeline_on_the_seeds(name: str, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = invoke("run", config, "--set", f"model.engine={name}", "--set", "model.num_topics=4")
    assert result.exit_code == 0, result.stderr
    run_dir = tmp_path / "runs" / "seeds"
    with (run_dir / "assignments.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert [c for c in header if c.startswith("topic_")] == [f"topic_{t}" for t in range(4)]
    training = json.loads((run_dir / "training.json").read_text(encoding="utf-8"))
    assert training["engine"] == name and training["num_topics"] == 4
    assert f"- {name}, 4 topics, " in (run_dir / "report.md").read_text(encoding="utf-8")


def test_an_engine_not_registered_is_refused_with_the_choices(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = invoke("validate", config, "--set", "model.engine=skleran")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --set model.engine=skleran: invalid value 'skleran' "
        "(allowed: 'gensim', 'tomotopy' or 'sklearn')\n"
    )


def test_sklearn_refuses_seed_words(tmp_path: Path) -> None:
    config = write_config(tmp_path, model={"engine": "sklearn", "seed_words": [["学校", "学生"]]})
    result = invoke("run", config)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: {config}: model.seed_words: the sklearn engine takes one number as its topic-word "
        "prior, not seed words; remove model.seed_words, or choose another model.engine"
    )


def test_a_model_from_an_engine_this_version_lacks_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "engine.json").write_text(
        '{"engine": "mallet", "seed": 1, "num_topics": 3}\n', encoding="utf-8"
    )
    with pytest.raises(StoreError) as error:
        RunStore(tmp_path).load_model(engines.load_model)
    assert str(error.value) == (
        f"{folder}: written by engine 'mallet', which this version does not have (gensim, tomotopy, "
        "sklearn); retrain with `pipeline run --from train --force`"
    )


def test_no_module_outside_the_engines_asks_which_engine_it_has() -> None:
    """What differs between engines is a property of the registered engine, never a test
    of its name elsewhere (a fourth engine would have to find every such test)."""
    package = Path(engines.__file__).parent.parent
    asked = re.compile(r"engine\s*(==|!=|\bin\b)\s*[\"'(\[]|[\"'](gensim|tomotopy|sklearn)[\"']\s*(==|!=)")
    found = [
        f"{path.relative_to(package)}:{n}"
        for path in sorted(package.rglob("*.py"))
        if "engines" not in path.relative_to(package).parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if asked.search(line)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("iterations", "marks"),
    [
        (1000, list(range(710, 1001, 10))),  # the last 30%, a state every 10 iterations
        (400, list(range(290, 401, 10))),
        (25, [25]),  # fewer than 10 in the last 30%: the last state alone
        (1, [1]),
    ],
)
def test_tomotopy_averages_the_sampler_states_of_its_last_iterations(
    iterations: int, marks: list[int]
) -> None:
    from pipeline.engines.tomotopy import sample_marks

    assert sample_marks(iterations) == marks


def test_packed_terms_give_back_every_term_in_id_order() -> None:
    terms = ["新闻联播", "a", "", "发展", "😀表情", "x" * 300]
    packed = engines.PackedTerms(terms)
    assert len(packed) == len(terms)
    assert list(packed) == terms
    assert packed[-1] == terms[-1] and packed[-len(terms)] == terms[0]
    with pytest.raises(IndexError):
        packed[len(terms)]
    assert list(engines.PackedTerms([])) == []


def test_training_on_packed_terms_gives_the_model_a_list_gives() -> None:
    dct, corpus, _ = planted()
    terms = [dct[i] for i in range(len(dct))]
    on_list, _ = engines.train(spec("gensim", len(corpus)), corpus, terms, LocalExecutor(1))
    packed, _ = engines.train(
        spec("gensim", len(corpus)), corpus, engines.PackedTerms(terms), LocalExecutor(1)
    )
    np.testing.assert_array_equal(packed.topic_term, on_list.topic_term)
