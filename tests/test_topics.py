"""Choosing K, stability, both engines, seed words, labels and prevalence, end to end."""

from __future__ import annotations

import csv
import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest

from pipeline import em
from pipeline.config import load_config
from pipeline.executor import LocalExecutor
from pipeline.runner import run_pipeline

from .conftest import invoke, snapshot, write_config

PLANTED = 4
WORDS = [[f"t{t}w{j:02d}" for j in range(30)] for t in range(PLANTED)]


def planted_corpus(folder: Path, docs: int = 240, seed: int = 3) -> Path:
    """Documents drawn mostly from one of four disjoint vocabularies, with a date and a label."""
    rng = random.Random(seed)
    path = folder / "planted.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(docs):
            main = i % PLANTED
            other = rng.randrange(PLANTED)
            words = [rng.choice(WORDS[main] if rng.random() < 0.85 else WORDS[other]) for _ in range(40)]
            row = {
                "id": f"d{i:03d}",
                "label": f"L{main}",
                "date": f"2020-{1 + i % 3:02d}-15",
                "text": " ".join(words) + "。",
            }
            fh.write(json.dumps(row) + "\n")
    return path


def planted_config(folder: Path, **model: object) -> Path:
    return write_config(
        folder,
        run={"name": "planted"},
        input={
            "paths": [str(planted_corpus(folder))],
            "id_field": "id",
            "meta_fields": ["label", "date"],
            "label_field": "label",
        },
        # Words of one pattern (t0w05, t0w17): the texts of one vocabulary share most of
        # their character shingles, so the near-duplicate finder would set many aside.
        segment={"duplicates": False},
        tokenize={"drop_latin": False, "builtin_stopwords": False},
        dictionary={"no_above": 1.0},
        model={"passes": 10, **model},
        report={"prevalence_field": "date", "prevalence_period": "month"},
    )


def test_sweep_picks_the_planted_number_of_topics(tmp_path: Path) -> None:
    config = load_config(planted_config(tmp_path, num_topics={"min": 2, "max": 7}))
    run_pipeline(config)
    with (config.run_dir / "sweep.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["k"]) for r in rows] == list(range(2, 8))
    assert all(r["c_v"] and r["c_npmi"] and r["u_mass"] and r["perplexity"] for r in rows)
    training = json.loads((config.run_dir / "training.json").read_text(encoding="utf-8"))
    assert training["chosen_k"] == PLANTED, training["reason"]
    topics = json.loads((config.run_dir / "topics.json").read_text(encoding="utf-8"))
    assert len(topics) == PLANTED


def test_seeds_give_every_topic_a_stability_and_labels_and_prevalence_are_scored(tmp_path: Path) -> None:
    config = load_config(planted_config(tmp_path, num_topics=PLANTED, seeds=3))
    run_pipeline(config)
    topics = json.loads((config.run_dir / "topics.json").read_text(encoding="utf-8"))
    stabilities = [t["stability"] for t in topics]
    assert all(s is not None and 0 < s <= 1 for s in stabilities)
    training = json.loads((config.run_dir / "training.json").read_text(encoding="utf-8"))
    assert training["mean_stability"] == pytest.approx(sum(stabilities) / PLANTED, abs=1e-3)
    assert training["mean_stability"] > 0.6
    manifest = json.loads((config.run_dir / "manifest.json").read_text(encoding="utf-8"))
    labels = manifest["stages"]["report"]["details"]["labels"]
    assert labels["documents"]["nmi"] > 0.9 and labels["documents"]["purity"] > 0.9
    with (config.run_dir / "prevalence.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["period"] for r in rows] == ["2020-01", "2020-02", "2020-03"]
    assert all(abs(sum(float(r[f"topic_{t}"]) for t in range(PLANTED)) - 1) < 1e-4 for r in rows)
    for r in rows:  # a bootstrap interval over the period's documents, around the estimate
        for t in range(PLANTED):
            low, share, high = (float(r[f"topic_{t}{end}"]) for end in ("_low", "", "_high"))
            assert low <= share <= high and high - low > 0
        assert int(r["documents"]) > 1
    page = (config.run_dir / "report.html").read_text(encoding="utf-8")
    assert page.count('class="band"') == PLANTED
    over_time = page.split('<section id="terms-over-time">')[1].split("</section>")[0]
    assert "<th>2020-01</th><th>2020-02</th><th>2020-03</th>" in over_time
    report = (config.run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Agreement with `label`" in report and "mean topic stability" in report


def test_single_k_trains_one_model_and_drops_an_old_sweep_table(tmp_path: Path) -> None:
    path = planted_config(tmp_path, num_topics=[3, 4])
    run_pipeline(load_config(path))
    config = load_config(path, ["model.num_topics=4"])
    run_pipeline(config)
    assert not (config.run_dir / "sweep.csv").exists()
    assert json.loads((config.run_dir / "training.json").read_text(encoding="utf-8"))["num_topics"] == 4


def test_tomotopy_engine_writes_the_same_files_reproducibly(tmp_path: Path) -> None:
    path = planted_config(tmp_path, num_topics=PLANTED, engine="tomotopy", iterations=200)
    config = load_config(path)
    run_pipeline(config)
    first = snapshot(config.run_dir)
    run_pipeline(config, force=True)
    assert snapshot(config.run_dir) == first
    topics = json.loads((config.run_dir / "topics.json").read_text(encoding="utf-8"))
    found = {next(i for i, ws in enumerate(WORDS) if t["terms"][0]["term"] in ws) for t in topics}
    assert found == set(range(PLANTED))  # every planted topic recovered
    # New texts drawn from one planted vocabulary get that vocabulary's topic.
    new = tmp_path / "new"
    new.mkdir()
    for w in range(PLANTED):
        (new / f"n{w}.txt").write_text(" ".join(WORDS[w][:20]) + "。\n", encoding="utf-8")
    result = invoke("infer", path, new, "--out", tmp_path / "inferred")
    assert result.exit_code == 0, result.stderr
    with (tmp_path / "inferred" / "documents.csv").open(encoding="utf-8") as fh:
        inferred = {row["doc_id"]: int(row["dominant_topic"]) for row in csv.DictReader(fh)}
    first_words = [t["terms"][0]["term"] for t in topics]
    for w in range(PLANTED):
        topic = inferred[f"n{w}"]
        assert first_words[topic] in WORDS[w]


def test_seed_words_anchor_topics_and_unknown_ones_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = planted_config(tmp_path, num_topics=PLANTED, seed_words=[WORDS[2][:5], ["不存在的词"]])
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        run_pipeline(load_config(path))
    assert any(
        "model.seed_words[1]" in r.getMessage() and "不存在的词" in r.getMessage() for r in caplog.records
    )
    topics = json.loads((load_config(path).run_dir / "topics.json").read_text(encoding="utf-8"))
    assert {t["term"] for t in topics[0]["terms"][:5]} <= set(WORDS[2])


def test_gensim_batch_learning_is_full_em() -> None:
    """With update_every 0, pass P's topics are exactly one E-step over the corpus from
    pass P-1's topics, plus eta: a learning rate of 1, not gensim's shrinking online one."""
    from gensim.corpora import Dictionary

    from pipeline import engines

    rng = random.Random(3)
    docs = [[rng.choice(WORDS[i % PLANTED]) for _ in range(30)] for i in range(120)]
    dct = Dictionary(docs)
    corpus = [dct.doc2bow(d) for d in docs]

    def spec(passes: int, update_every: int) -> engines.TrainSpec:
        return engines.TrainSpec(
            engine="gensim", num_topics=PLANTED, seed=1, passes=passes, iterations=50,
            alpha="symmetric", eta="symmetric", chunksize=50, update_every=update_every,
        )  # fmt: skip

    serial = LocalExecutor(1)
    gaps = {}
    for update_every in (0, 1):
        before, _ = engines.train(spec(2, update_every), corpus, dct, serial)
        after, _ = engines.train(spec(3, update_every), corpus, dct, serial)
        # The third pass's E-step, partition by partition as training seeds it.
        lda, source = before.lda, em.RowSource.of(corpus)
        step = em.EStep.of(lda, source, 1, 2)
        sstats = np.zeros_like(lda.state.sstats)
        for part in source.partitions():
            stats = em.estep(part, step)
            sstats[:, stats.columns] += stats.sstats
        lam = lda.eta + sstats
        gaps[update_every] = np.abs(lam / lam.sum(axis=1, keepdims=True) - after.topic_term).max()
    assert gaps[0] < 1e-6
    assert gaps[1] > 1e-3  # online learning blends, so the check can tell them apart


def test_partitioned_batch_em_with_one_partition_reaches_gensims_fixed_point() -> None:
    """One partition, E-step seeded per pass, gives the topics gensim's own batch EM
    (LdaModel, update_every 0, one chunk a pass) converges to from the same start."""
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel

    from pipeline import engines
    from pipeline.engines import gensim as gensim_engine
    from pipeline.engines import nmf

    rng = random.Random(5)
    docs = [
        [rng.choice(WORDS[i % PLANTED] + WORDS[(i + 1) % PLANTED]) for _ in range(30)] for i in range(200)
    ]
    dct = Dictionary(docs)
    corpus = [dct.doc2bow(d) for d in docs]
    spec = engines.TrainSpec(
        engine="gensim", num_topics=PLANTED, seed=1, passes=60, iterations=100,
        alpha="auto", eta="symmetric", chunksize=2000, update_every=0,
    )  # fmt: skip
    ours, _ = engines.train(spec, corpus, dct, LocalExecutor(1))
    lda = LdaModel(
        id2word=dct, num_topics=PLANTED, passes=60, iterations=100, alpha="auto", chunksize=2000,
        update_every=0, decay=0.0, random_state=1, eval_every=None,
    )  # fmt: skip
    gensim_engine.start_from(lda, nmf.nmf_topics(corpus, len(dct), PLANTED, 1))
    lda.update(corpus)
    theirs = lda.get_topics()
    assert np.abs(ours.topic_term - theirs).max() < 1e-6
    np.testing.assert_allclose(ours.lda.alpha, lda.alpha, rtol=1e-3)


def test_row_source_reads_rows_and_knows_the_empty_ones_without_reading(tmp_path: Path) -> None:
    from gensim.corpora import MmCorpus

    bows = [[], [(0, 2), (3, 1)], [], [], [(1, 1)], [(2, 5)], []]
    MmCorpus.serialize(str(tmp_path / "c.mm"), bows)
    source = em.RowSource.of(MmCorpus(str(tmp_path / "c.mm")))
    np.testing.assert_array_equal(source.nonempty(), [bool(b) for b in bows])
    rows = np.array([0, 1, 4, 6])
    for (ids, counts), r in zip(source.read_rows(rows), rows, strict=True):
        assert list(zip(ids.tolist(), counts.tolist(), strict=True)) == bows[r]
    assert [len(ids) for ids, _ in source.read(0, len(bows))] == [len(b) for b in bows]


def test_batch_em_tracks_gensims_perplexity_and_keeps_the_last_e_steps_mixes(tmp_path: Path) -> None:
    """The perplexity summed inside the E-steps is gensim's log_perplexity of the sample;
    the mixes kept from the last E-step are what inference with the final topics gives,
    once training has converged."""
    from gensim.corpora import Dictionary

    from pipeline import engines

    rng = random.Random(7)
    docs = [
        [rng.choice(WORDS[i % PLANTED] + WORDS[(i + 1) % PLANTED]) for _ in range(30)] for i in range(300)
    ]
    dct = Dictionary(docs)
    corpus = [dct.doc2bow(d) for d in docs]
    sample = np.zeros(len(corpus), dtype=bool)
    sample[::3] = True
    spec = engines.TrainSpec(
        engine="gensim", num_topics=PLANTED, seed=1, passes=30, iterations=200,
        alpha="auto", eta="symmetric", chunksize=2000, update_every=0, eval_rows=sample, mixes_to=tmp_path,
    )  # fmt: skip
    model, log = engines.train(spec, corpus, dct, LocalExecutor(1))
    assert len(log.perplexity) == 30 and log.perplexity[0] > log.perplexity[-1]
    lda = model.lda  # type: ignore[attr-defined]
    chunk = [bow for bow, keep in zip(corpus, sample, strict=True) if keep]
    theirs = np.exp2(-lda.log_perplexity(chunk, total_docs=len(corpus)))
    assert abs(log.perplexity[-1] - theirs) / theirs < 1e-3
    assert model.train_theta is not None and model.train_theta.shape == (len(corpus), PLANTED)
    kept = model.train_theta.read()
    inferred = np.array(list(model.infer(corpus)))
    assert np.abs(kept - inferred).max() < 0.01
    np.testing.assert_allclose(kept.sum(axis=1), 1.0, rtol=1e-5)


def test_batch_em_writes_each_partitions_mixes_to_disk_as_it_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The units' mixes are never gathered in memory: the last pass hands each partition's
    to the writer as soon as its E-step is done, before the next partition's E-step runs
    (one process: the executor runs a partition when the previous one has been taken),
    and the file is the same bytes as ``np.save`` of all of them."""
    from gensim.corpora import Dictionary

    from pipeline import engines
    from pipeline.artifacts import ArrayRows, ArrayWriter

    monkeypatch.setattr(em, "PARTITION_ROWS", 40)
    rng = random.Random(11)
    docs = [[rng.choice(WORDS[i % PLANTED]) for _ in range(20)] for i in range(150)]
    dct = Dictionary(docs)
    corpus = [dct.doc2bow(d) for d in docs]
    esteps: list[int] = []
    appended: list[tuple[int, int]] = []  # (rows, E-steps run by then)
    blocks: list[np.ndarray] = []
    estep, append = em.estep, ArrayWriter.append

    def counted(part: tuple[int, int, int], step: em.EStep) -> em.Statistics:
        esteps.append(part[0])
        return estep(part, step)

    def recorded(self: ArrayWriter, rows: np.ndarray) -> None:
        appended.append((len(rows), len(esteps)))
        blocks.append(np.array(rows))
        append(self, rows)

    monkeypatch.setattr(em, "estep", counted)
    monkeypatch.setattr(ArrayWriter, "append", recorded)
    spec = engines.TrainSpec(
        engine="gensim", num_topics=PLANTED, seed=1, passes=3, iterations=50, alpha="auto",
        eta="symmetric", chunksize=2000, update_every=0, init="random", mixes_to=tmp_path,
    )  # fmt: skip
    model, _ = engines.train(spec, corpus, dct, LocalExecutor(1))
    before_last = 2 * 4  # two passes of four partitions (40 + 40 + 40 + 30 rows)
    assert appended == [
        (40, before_last + 1),
        (40, before_last + 2),
        (40, before_last + 3),
        (30, before_last + 4),
    ]
    np.save(tmp_path / "whole.npy", np.concatenate(blocks))
    assert (tmp_path / engines.base.THETA).read_bytes() == (tmp_path / "whole.npy").read_bytes()
    assert isinstance(model.train_theta, ArrayRows) and model.train_theta.shape == (150, PLANTED)


def test_assign_writes_the_mixes_training_kept(tmp_path: Path) -> None:
    """With batch EM, assignments.csv holds the last E-step's mixes: no second inference."""
    from pipeline import engines

    config = load_config(planted_config(tmp_path, num_topics=PLANTED, passes=3))
    run_pipeline(config)
    model = engines.load_model(config.run_dir / "model")
    assert model.train_theta is not None
    with (config.run_dir / "assignments.csv").open(encoding="utf-8") as fh:
        written = np.array([[float(row[f"topic_{k}"]) for k in range(PLANTED)] for row in csv.DictReader(fh)])
    np.testing.assert_allclose(written, model.train_theta.read(), atol=PLANTED * 1e-6)  # six decimals
    from gensim.corpora import MmCorpus

    inferred = np.array(list(model.infer(MmCorpus(str(config.run_dir / "corpus" / "corpus.mm")))))
    assert np.abs(written - inferred).max() > 1e-5  # after three passes, inferring again differs


def test_gensim_eta_auto_reaches_the_topics(tmp_path: Path) -> None:
    """A learned eta is what the topics use, and the saved model loads back."""
    from pipeline import engines

    path = planted_config(tmp_path, num_topics=PLANTED, eta="auto", passes=3)
    config = load_config(path)
    run_pipeline(config, to_stage="train")
    model = engines.load_model(config.run_dir / "model")
    lda = model.lda  # type: ignore[attr-defined]
    assert not np.allclose(lda.eta, 1.0 / PLANTED)  # eta was learned
    np.testing.assert_array_equal(lda.state.eta, lda.eta)  # and the topics carry it
    lam = lda.state.get_lambda()
    np.testing.assert_allclose(model.topic_term, lam / lam.sum(axis=1, keepdims=True), rtol=1e-5)


def test_gensim_nmf_start_finds_planted_topics_in_short_units() -> None:
    """On five-word units, topics started from the tf-idf factorisation recover the planted
    themes; gensim's near-uniform random start, given the same passes, does clearly worse."""
    from gensim.corpora import Dictionary
    from sklearn.metrics import normalized_mutual_info_score

    from pipeline import engines

    for seed in (1, 2, 3):
        rng = random.Random(seed)
        labels = [i % PLANTED for i in range(400)]
        docs = [
            [rng.choice(WORDS[t] if rng.random() < 0.85 else WORDS[rng.randrange(PLANTED)]) for _ in range(5)]
            for t in labels
        ]
        dct = Dictionary(docs)
        corpus = [dct.doc2bow(d) for d in docs]
        scores = {}
        for init in ("nmf", "random"):
            spec = engines.TrainSpec(
                engine="gensim", num_topics=PLANTED, seed=seed, passes=5, iterations=50, alpha="symmetric",
                eta="symmetric", chunksize=2000, update_every=0, init=init,
            )  # fmt: skip
            model, _ = engines.train(spec, corpus, dct, LocalExecutor(1))
            found = [int(np.argmax(theta)) for theta in model.infer(corpus)]
            scores[init] = normalized_mutual_info_score(labels, found)
        assert scores["nmf"] > 0.9, scores
        assert scores["nmf"] > scores["random"] + 0.05, scores


def test_a_sweep_over_seeds_takes_units_left_without_tokens(tmp_path: Path) -> None:
    """A unit whose every token is filtered out (here: numbers) must not break the sweep."""
    path = planted_config(tmp_path, num_topics=[3, 4], seeds=2)
    with (tmp_path / "planted.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(
            json.dumps({"id": "numbers", "label": "L0", "date": "2020-01-15", "text": "2020 2021 2022。"})
        )
        fh.write("\n")
    config = load_config(path)
    run_pipeline(config)
    tokens = [json.loads(line)["tokens"] for line in (config.run_dir / "tokens.jsonl").open(encoding="utf-8")]
    assert [] in tokens  # the corpus does hold an empty unit
    training = json.loads((config.run_dir / "training.json").read_text(encoding="utf-8"))
    assert training["chosen_k"] in (3, 4) and training["mean_stability"] is not None
    # The empty unit says so: no dominant topic for it, its document or its segment, and it
    # is no topic's representative.
    rows = {
        name: _rows(config.run_dir / name) for name in ("assignments.csv", "documents.csv", "segments.csv")
    }
    assert [
        (r["dominant_topic"], r["dominant_weight"])
        for r in rows["assignments.csv"]
        if r["doc_id"] == "numbers"
    ] == [("", "")]
    assert [r["dominant_topic"] for r in rows["documents.csv"] if r["doc_id"] == "numbers"] == [""]
    assert [(r["dominant_topic"], r["weight"]) for r in rows["segments.csv"] if r["doc_id"] == "numbers"] == [
        ("", "")
    ]
    assert all(r["dominant_topic"] for r in rows["assignments.csv"] if r["doc_id"] != "numbers")
    topics = json.loads((config.run_dir / "topics.json").read_text(encoding="utf-8"))
    assert all(not p["unit_id"].startswith("numbers") for t in topics for p in t["representatives"])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_nmf_start_pools_units_per_document_and_samples_large_corpora(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline.engines import nmf

    corpus = [[(0, 1)], [(1, 2)], [(0, 3)], [(2, 1)], [(1, 1), (2, 4)], [(0, 5)]]
    documents = np.array([0, 0, 1, 2, 2, 3])
    counts, tokens = nmf._start_matrix(corpus, 3, 2, documents)
    assert tokens == 17
    np.testing.assert_array_equal(counts.toarray(), [[1, 2, 0], [3, 0, 0], [0, 1, 5], [5, 0, 0]])
    counts, _ = nmf._start_matrix(corpus, 3, 5, documents)  # fewer documents than topics: units
    assert counts.shape == (6, 3)
    monkeypatch.setattr(nmf, "START_SAMPLE", 2)  # every second document
    counts, tokens = nmf._start_matrix(corpus, 3, 2, documents)
    assert tokens == 17
    np.testing.assert_array_equal(counts.toarray(), [[1, 2, 0], [0, 1, 5]])


def test_the_evaluated_rows_of_a_masked_corpus_are_the_rows_scored() -> None:
    """With rows left out (near-duplicates), the E-step scores the evaluation rows it was
    given, not the rows at their positions among those kept."""
    from gensim.corpora import Dictionary

    from pipeline import engines

    docs = [["一二"] * (i + 1) for i in range(6)]  # row i holds i + 1 tokens
    dct = Dictionary(docs)
    corpus = [dct.doc2bow(d) for d in docs]
    spec = engines.TrainSpec(
        engine="gensim", num_topics=2, seed=1, passes=1, iterations=5,
        alpha="symmetric", eta="symmetric", chunksize=10, update_every=0,
    )  # fmt: skip
    model, _ = engines.train(spec, corpus, dct, LocalExecutor(1))
    keep = np.array([True, False, True, False, True, True])
    evaluate = np.zeros(6, dtype=bool)
    evaluate[4] = True  # the third row kept
    step = em.EStep.of(model.lda, em.RowSource.of(corpus, keep), 1, 0, evaluate=evaluate)
    stats = em.estep((0, 0, 6), step)
    assert stats.words == 5
