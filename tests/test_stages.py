"""The stage contract, checked once over every stage, and each later stage alone."""

from __future__ import annotations

import csv
import json
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pipeline import corpus, engines
from pipeline.artifacts import RunStore
from pipeline.config import Config, load_config
from pipeline.errors import InputError
from pipeline.executor import LocalExecutor
from pipeline.runner import Reporter, run_pipeline
from pipeline.stages import STAGES, Stage
from pipeline.stages import dictionary as dictionary_stage
from pipeline.stages import segment as segment_stage

from .conftest import SEEDS, invoke, write_config

TEXT_SUFFIXES = {".jsonl", ".csv", ".tsv", ".json", ".md"}


def test_stages_form_a_chain_where_every_input_was_written_before() -> None:
    written: set[str] = set()
    for stage in STAGES:
        assert stage.outputs, stage.name
        assert set(stage.inputs) <= written, f"{stage.name} reads {set(stage.inputs) - written}"
        written |= set(stage.outputs)


def _files(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {
            p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
        }
    return {path.name: path.read_bytes()}


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_stage_contract(stage: Stage, seeds_run: Path, tmp_path: Path) -> None:
    """Alone, on its declared inputs, a stage rewrites exactly its outputs, deterministically."""
    config = load_config(write_config(tmp_path))
    store = RunStore(config.run_dir)
    shutil.copytree(seeds_run, config.run_dir)
    for name in stage.outputs:
        target = store.path(name)
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    before = {p.name: p.stat().st_mtime_ns for p in config.run_dir.iterdir()}
    counts = stage.run(config, store, Reporter(), LocalExecutor(1))
    # Structured results go under "details" (to the manifest only), the fingerprints of the
    # files read under "read" (for the runner only); the rest are printed.
    shown = {k: v for k, v in counts.items() if k not in ("details", "read")}
    assert shown and all(isinstance(v, int | float | str) for v in shown.values())
    after = {p.name: p.stat().st_mtime_ns for p in config.run_dir.iterdir()}
    changed = {n for n in after if before.get(n) != after[n]}
    assert changed == set(stage.outputs)  # nothing else touched, no temporary file left
    for name in stage.outputs:
        fresh, original = _files(store.path(name)), _files(seeds_run / name)
        assert fresh.keys() == original.keys()
        for file, data in fresh.items():
            if Path(file).suffix in TEXT_SUFFIXES:
                assert data == original[file], f"{name}/{file} differs from the full run"


@pytest.mark.parametrize(
    ("tokens", "no_below", "expected"),
    [
        ([["疫情", "防控"], ["疫情", "社区", "疫情"], ["社区"]], 2, [["疫情", "2", "3"], ["社区", "2", "2"]]),
        ([["学校", "学生"], ["学校"], ["学生", "学校"]], 1, [["学校", "3", "3"], ["学生", "2", "2"]]),
        ([["甲乙"], ["丙丁"], ["甲乙", "丙丁"], ["戊己"]], 2, [["丙丁", "2", "2"], ["甲乙", "2", "2"]]),
    ],
)
def test_dictionary_stage_alone(
    tmp_path: Path, tokens: list[list[str]], no_below: int, expected: list[list[str]]
) -> None:
    config = Config.model_validate({"dictionary": {"no_below": no_below, "no_above": 1.0}})
    store = RunStore(tmp_path)
    store.write_jsonl("tokens.jsonl", ({"unit_id": f"u{i}", "tokens": t} for i, t in enumerate(tokens)))
    store.write_json("tokenize_audit.json", {})
    counts = dictionary_stage.run(config, store, Reporter(), LocalExecutor(1))
    with store.path("vocab.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    assert rows == [["token", "doc_freq", "count"], *expected]
    assert counts["units"] == len(tokens)
    from gensim.corpora import MmCorpus

    corpus = MmCorpus(str(store.path("corpus") / "corpus.mm"))
    assert len(corpus) == len(tokens)  # one row per unit, empty rows included


@pytest.mark.parametrize("workers", [1, 2])
def test_dictionary_in_partitions_is_what_one_pass_of_gensim_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Partial dictionaries merged in order number the terms as one Dictionary does, and
    the corpus file and its index are what MmCorpus.serialize writes, empty rows
    (in the middle and at the end) included."""
    from gensim.corpora import Dictionary, MmCorpus

    rng = random.Random(4)
    words = [f"词{i}" for i in range(40)]
    tokens = [[rng.choice(words) for _ in range(rng.randrange(0, 8))] for _ in range(60)] + [[]]
    monkeypatch.setattr(dictionary_stage, "PARTITION", 7)
    config = Config.model_validate({"dictionary": {"no_below": 2, "no_above": 0.5}})
    store = RunStore(tmp_path / "run")
    store.ensure_dir()
    store.write_jsonl("tokens.jsonl", ({"unit_id": f"u{i}", "tokens": t} for i, t in enumerate(tokens)))
    store.write_json("tokenize_audit.json", {})
    counts = dictionary_stage.run(config, store, Reporter(), LocalExecutor(workers))
    ours = store.load_dictionary()
    one = Dictionary(tokens, prune_at=None)
    one.filter_extremes(no_below=2, no_above=0.5, keep_n=None)
    assert list(ours.token2id.items()) == list(one.token2id.items())
    assert (ours.dfs, ours.cfs, ours.num_docs, ours.num_pos) == (one.dfs, one.cfs, one.num_docs, one.num_pos)
    MmCorpus.serialize(str(tmp_path / "gensim.mm"), (one.doc2bow(t) for t in tokens), id2word=one)
    folder = store.path("corpus")
    assert (folder / "corpus.mm").read_bytes() == (tmp_path / "gensim.mm").read_bytes()
    gensim_index = MmCorpus(str(tmp_path / "gensim.mm")).index  # gensim pickles it; ours is .npy
    assert np.load(folder / "corpus.mm.index.npy").tolist() == list(gensim_index)
    assert counts["empty_units"] == sum(not one.doc2bow(t) for t in tokens) > 1


PLANTED = {
    "sport": ["足球", "比赛", "球员", "进球", "教练", "联赛", "球迷", "冠军"],
    "money": ["股票", "市场", "投资", "银行", "利率", "基金", "债券", "股价"],
    "health": ["医院", "医生", "病人", "治疗", "药物", "手术", "护士", "病房"],
}


def test_train_and_assign_recover_planted_topics(tmp_path: Path) -> None:
    """Documents drawn from three disjoint vocabularies: the model must find the three."""
    rng = random.Random(7)
    rows = []
    for i in range(90):
        label = list(PLANTED)[i % 3]
        words = [rng.choice(PLANTED[label]) for _ in range(30)]
        rows.append({"id": f"d{i}", "label": label, "text": "，".join(words) + "。"})
    data = tmp_path / "planted.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config_path = write_config(
        tmp_path,
        input={"paths": [str(data)], "id_field": "id", "meta_fields": ["label"]},
        run={"name": "planted"},
        model={"num_topics": 3, "passes": 10},
        dictionary={"no_above": 1.0},
        tokenize={"builtin_stopwords": False},
    )
    config = load_config(config_path)
    run_pipeline(config)
    topics = json.loads((config.run_dir / "topics.json").read_text(encoding="utf-8"))
    found = sorted(
        next(
            label for label, words in PLANTED.items() if {t["term"] for t in topic["terms"][:5]} <= set(words)
        )
        for topic in topics
    )
    assert found == sorted(PLANTED)
    with (config.run_dir / "documents.csv").open(encoding="utf-8") as fh:
        docs = list(csv.DictReader(fh))
    by_label: dict[str, set[str]] = {}
    for d in docs:
        by_label.setdefault(d["label"], set()).add(d["dominant_topic"])
    assert all(len(t) == 1 for t in by_label.values())  # each label in one topic
    assert len({next(iter(t)) for t in by_label.values()}) == 3  # and the topics differ


def test_assign_distributions_are_full_and_documents_are_inferred_whole(seeds_run: Path) -> None:
    with (seeds_run / "assignments.csv").open(encoding="utf-8") as fh:
        units = list(csv.DictReader(fh))
    k = sum(1 for c in units[0] if c.startswith("topic_"))
    theta = np.array([[float(u[f"topic_{i}"]) for i in range(k)] for u in units])
    assert np.allclose(theta.sum(axis=1), 1.0, atol=1e-9)
    assert (theta > 0).all()  # the full distribution: no topic is cut off
    lengths = [
        len(json.loads(line)["tokens"]) for line in (seeds_run / "tokens.jsonl").open(encoding="utf-8")
    ]
    from gensim.corpora import MmCorpus

    counts = [sum(c for _, c in bow) for bow in MmCorpus(str(seeds_run / "corpus" / "corpus.mm"))]
    assert len(counts) == len(lengths) == len(units)
    # A unit with tokens has its argmax as dominant topic; one without (the seeds have one) none.
    expected_top = [str(t) if n else "" for t, n in zip(theta.argmax(axis=1), counts, strict=True)]
    assert [u["dominant_topic"] for u in units] == expected_top and 0 in counts
    # A document's mix is inferred from its whole bag of words (model.document_mix: whole).
    store = RunStore(seeds_run)
    model, corpus = store.load_model(engines.load_model), list(store.load_corpus())
    with (seeds_run / "documents.csv").open(encoding="utf-8") as fh:
        docs = list(csv.DictReader(fh))
    for d in docs:
        rows = [i for i, u in enumerate(units) if u["doc_id"] == d["doc_id"]]
        bag: dict[int, int] = {}
        for i in rows:
            for term, n in corpus[i]:
                bag[term] = bag.get(term, 0) + int(n)
        (expected,) = model.infer([sorted(bag.items())])
        got = np.array([float(d[f"topic_{i}"]) for i in range(k)])
        # Alone here, in one chunk with the others there: a start drawn elsewhere, the same fit.
        assert np.allclose(got, expected, atol=1e-4)
        assert int(d["n_units"]) == len(rows)


def test_document_mix_units_weights_units_by_tokens(run_copy: tuple[Path, Path]) -> None:
    config, run_dir = run_copy
    result = invoke("run", config, "--set", "model.document_mix=units")
    assert result.exit_code == 0, result.stderr
    assert "train: skipped (up to date)" in result.stderr  # only assign and report run again
    with (run_dir / "assignments.csv").open(encoding="utf-8") as fh:
        units = list(csv.DictReader(fh))
    k = sum(1 for c in units[0] if c.startswith("topic_"))
    theta = np.array([[float(u[f"topic_{i}"]) for i in range(k)] for u in units])
    from gensim.corpora import MmCorpus

    counts = [sum(c for _, c in bow) for bow in MmCorpus(str(run_dir / "corpus" / "corpus.mm"))]
    with (run_dir / "documents.csv").open(encoding="utf-8") as fh:
        docs = list(csv.DictReader(fh))
    for d in docs:
        rows = [i for i, u in enumerate(units) if u["doc_id"] == d["doc_id"]]
        w = np.array([counts[i] for i in rows], dtype=float)
        expected = (theta[rows] * w[:, None]).sum(axis=0) / w.sum()
        got = np.array([float(d[f"topic_{i}"]) for i in range(k)])
        assert np.allclose(got, expected, atol=2e-6)


def test_segments_cover_every_document_in_reading_order(seeds_run: Path) -> None:
    """segments.csv cuts each document into contiguous runs of its units, in order; a
    segment's topic is the dominant one of its units' token-weighted mix."""
    units = [json.loads(line) for line in (seeds_run / "units.jsonl").open(encoding="utf-8")]
    with (seeds_run / "segments.csv").open(encoding="utf-8") as fh:
        segments = list(csv.DictReader(fh))
    with (seeds_run / "assignments.csv").open(encoding="utf-8") as fh:
        assigned = {row["unit_id"]: row for row in csv.DictReader(fh)}
    from gensim.corpora import MmCorpus

    tokens = [sum(c for _, c in bow) for bow in MmCorpus(str(seeds_run / "corpus" / "corpus.mm"))]
    position = {u["unit_id"]: i for i, u in enumerate(units)}
    docs = list(dict.fromkeys(u["doc_id"] for u in units))
    assert list(dict.fromkeys(s["doc_id"] for s in segments)) == docs
    k = sum(c.startswith("topic_") for c in next(iter(assigned.values())))
    for doc in docs:
        mine = [s for s in segments if s["doc_id"] == doc]
        assert [int(s["segment"]) for s in mine] == list(range(len(mine)))
        covered = []
        for s in mine:
            first, last = position[s["first_unit"]], position[s["last_unit"]]
            assert last - first + 1 == int(s["units"])
            assert int(s["line_start"]) == units[first]["line_start"]
            assert int(s["line_end"]) == units[last]["line_end"]
            covered += range(first, last + 1)
            span = range(first, last + 1)
            for i in span:  # each unit names its segment and the segment's topic
                row = assigned[units[i]["unit_id"]]
                assert (row["segment"], row["segment_topic"]) == (s["segment"], s["dominant_topic"])
            thetas = np.array(
                [[float(assigned[units[i]["unit_id"]][f"topic_{t}"]) for t in range(k)] for i in span]
            )
            weights = np.array([tokens[i] for i in span], dtype=float)
            if weights.sum():
                mix = weights @ thetas / weights.sum()
                assert int(s["dominant_topic"]) == int(np.argmax(mix))
                assert float(s["weight"]) == pytest.approx(mix.max(), abs=1e-5)
            else:
                assert s["dominant_topic"] == s["weight"] == ""
        assert covered == [i for i, u in enumerate(units) if u["doc_id"] == doc]
    assert any(int(s["units"]) > 1 for s in segments)
    assert len(segments) > len(docs)  # the seeds' long articles change topic inside


SEED_TITLES = {
    "000_1a0ce78baffdf577": "《“灯塔大课堂”第十一课——榜样讲党课》学习心得",
    "001_bdd1ff1313eac9c1": "学校党员疫情防控心得体会总结(模板9篇)",
    "002_09ae522cb23edad1": "2020战疫一线党旗红不忘初心观后感心得一:",
    "003_966c684f5685b6ac": "3月1日,是第二批市直机关抗疫工…",  # no title; its headings name sections
    "004_efd4f2d932c58f11": "2022我是接班人防疫专题课看见春天观后感(2)",
}


def test_units_documents_and_segments_carry_each_document_s_title(seeds_run: Path) -> None:
    units = [json.loads(line) for line in (seeds_run / "units.jsonl").open(encoding="utf-8")]
    assert {u["doc_id"]: u["title"] for u in units} == SEED_TITLES
    assert all(u["title"] == SEED_TITLES[u["doc_id"]] for u in units)
    for name, columns in (
        ("documents.csv", ["doc_id", "source", "title"]),
        ("segments.csv", ["doc_id", "title"]),
    ):
        with (seeds_run / name).open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0])[: len(columns)] == columns
        assert all(r["title"] == SEED_TITLES[r["doc_id"]] for r in rows), name


def _segment_in_partitions(tmp_path: Path, rows: list[dict[str, object]], **input_opts: object) -> None:
    """The segment stage on a jsonl file of ``rows`` cut into blocks, on two worker processes."""
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = load_config(write_config(tmp_path, input={"paths": [str(path)], **input_opts}))
    segment_stage.run(config, RunStore(config.run_dir), Reporter(), LocalExecutor(2))


def test_partitioned_segment_names_the_first_bad_record_even_when_a_later_block_fails_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"id": i, "body": "疫情防控是一场大考，检验着干部的政治品质和能力作风。"} for i in range(200)]
    monkeypatch.setattr(corpus, "READ_BLOCK", 2000)
    real = segment_stage.segment_partition

    def first_block_slow(files: list[corpus.InputFile], config: Config) -> object:
        if files[0].first_line == 1:
            time.sleep(1.0)  # the second block fails first
        return real(files, config)

    monkeypatch.setattr(segment_stage, "segment_partition", first_block_slow)
    with pytest.raises(InputError) as info:
        _segment_in_partitions(tmp_path, rows, text_field="txt")
    assert str(info.value) == "rows.jsonl:1: no field 'txt' (fields: body, id); set input.text_field"


def test_partitioned_segment_says_why_no_record_has_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"id": i, "paragraphs": [{"text": "疫情防控是一场大考。"}]} for i in range(200)]
    monkeypatch.setattr(corpus, "READ_BLOCK", 2000)
    with pytest.raises(InputError) as info:
        _segment_in_partitions(tmp_path, rows, text_field="paragraphs")
    assert str(info.value) == (
        "rows.jsonl:1: every record's 'paragraphs' is a list of objects (200 records); "
        "set input.text_field to a field that holds a string or a list of strings"
    )


def test_300_tiny_files_give_the_units_of_one_jsonl_of_the_same_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentences = [s + "。" for p in sorted(SEEDS.glob("*.txt")) for s in p.read_text("utf-8").split("。")]
    sentences = [s.strip() for s in sentences if len(s.strip()) > 12]
    texts = [
        f"{sentences[i % len(sentences)]}\n{sentences[(7 * i + 3) % len(sentences)]}" for i in range(300)
    ]
    folder = tmp_path / "files"
    folder.mkdir()
    for i, text in enumerate(texts):
        (folder / f"{i:03d}.txt").write_text(text + "\n", encoding="utf-8")
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"id": f"{i:03d}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)
        )
    )
    monkeypatch.setattr(corpus, "PARTITION_FILES", 40)  # several partitions on two workers

    def units(paths: str, workers: int, **opts: object) -> list[dict[str, object]]:
        config = load_config(write_config(tmp_path, input={"paths": [paths], **opts}))
        store = RunStore(config.run_dir)
        segment_stage.run(config, store, Reporter(), LocalExecutor(workers))
        return [json.loads(line) for line in (config.run_dir / "units.jsonl").open(encoding="utf-8")]

    from_files = units(str(folder), 2)
    assert units(str(folder), 1) == from_files  # the same whatever the partitions
    from_rows = units(str(rows), 2, id_field="id")
    where = ("source", "line_start", "line_end", "text_line_start", "text_line_end")
    assert len(from_files) >= 300
    assert [{k: v for k, v in u.items() if k not in where} for u in from_files] == [
        {k: v for k, v in u.items() if k not in where} for u in from_rows
    ]


def test_small_files_are_read_in_partitions_of_bounded_files_and_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(25):
        (tmp_path / f"{i:02d}.txt").write_text("疫情防控。" * (40 if i == 10 else 1), encoding="utf-8")
    files = corpus.list_inputs(load_config(write_config(tmp_path, input={"paths": [str(tmp_path)]})))
    monkeypatch.setattr(corpus, "PARTITION_FILES", 4)
    monkeypatch.setattr(corpus, "READ_BLOCK", 200)
    parts = list(corpus.partitions(files, "auto"))
    assert [f for part in parts for f in part] == files
    assert max(len(part) for part in parts) == 4
    assert [f.path.name for f in parts[3]] == ["10.txt"]  # 600 bytes: alone
    assert all(sum(f.size or 0 for f in part) <= 200 for part in parts if len(part) > 1)


def test_report_agrees_with_the_other_outputs(seeds_run: Path) -> None:
    topics = json.loads((seeds_run / "topics.json").read_text(encoding="utf-8"))
    units = {u["unit_id"]: u for u in map(json.loads, (seeds_run / "units.jsonl").open(encoding="utf-8"))}
    assert abs(sum(t["prevalence"] for t in topics) - 1) < 1e-4
    with (seeds_run / "topics.csv").open(encoding="utf-8") as fh:
        long = list(csv.DictReader(fh))
    for t in topics:
        assert [r["term"] for r in long if int(r["topic"]) == t["topic"]] == [x["term"] for x in t["terms"]]
        assert len(t["representatives"]) == 3
        for rep in t["representatives"]:
            unit = units[rep["unit_id"]]
            assert unit["text"].startswith(rep["text"].rstrip("…"))
            assert (rep["source"], rep["line_start"]) == (unit["source"], unit["line_start"])
    report = (seeds_run / "report.md").read_text(encoding="utf-8")
    for t in topics:
        rep = t["representatives"][0]
        assert f"`{rep['source']}:{rep['line_start']}`" in report


# -- what re-runs a stage ---------------------------------------------------------------


def _settings_of(stage: Stage) -> set[str]:
    from pipeline.config import flatten
    from pipeline.runner import _settings

    return set(flatten(_settings(Config().resolved(), stage)))


def test_every_setting_of_a_stages_sections_counts_unless_declared_irrelevant() -> None:
    from pipeline.config import TokenizeConfig
    from pipeline.stages import tokenize

    # A new tokenize setting invalidates tokens.jsonl by default; only workers do not.
    assert _settings_of(tokenize.STAGE) == {f"tokenize.{k}" for k in TokenizeConfig.model_fields} - {
        "tokenize.workers"
    }
    for stage in STAGES:
        assert not any(s.startswith("executor.") for s in _settings_of(stage)), stage.name


def test_a_stage_is_fingerprinted_on_its_own_code_and_resources() -> None:
    from pipeline.runner import _code_files

    def names(module: str) -> set[str]:
        return {
            p.relative_to(Path(__file__).parent.parent / "pipeline").as_posix() for p in _code_files(module)
        }

    segment, tokenize, report = (names(f"pipeline.stages.{s}") for s in ("segment", "tokenize", "report"))
    assert {"stages/segment.py", "layout.py", "corpus.py", "resources/furniture.txt"} <= segment
    assert {"stages/tokenize.py", "resources/stopwords.txt", "resources/userdict.txt"} <= tokenize
    assert {"reporting/html.py", "reporting/markdown.py", "labels.py"} <= report
    assert {"reporting/templates/report.html.j2", "reporting/templates/report.js"} <= report
    assert {"reporting/templates/views/topics.html.j2", "reporting/templates/views/search.html.j2"} <= report
    # Editing the report's page re-runs the report alone.
    assert not any(n.startswith("reporting/") for n in segment | tokenize)


PACKAGE = Path(__file__).parent.parent / "pipeline"


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of pipeline/ that the runner fingerprints instead: a test may edit it."""
    from pipeline import runner

    copy = tmp_path / "package" / "pipeline"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runner, "ROOT", copy)
    runner.code_fingerprint.cache_clear()
    yield copy
    runner.code_fingerprint.cache_clear()


def _stale_after_a_comment_in(package: Path, name: str, config: Config) -> list[str]:
    """The stages ``pipeline stages`` would re-run after a comment is added to ``name``."""
    from pipeline import runner

    path = package / name
    original = path.read_bytes()
    comment = b"\n{# a comment #}\n" if path.suffix == ".j2" else b"\n# a comment\n"
    path.write_bytes(original + comment)
    runner.code_fingerprint.cache_clear()
    try:
        return [p.stage.name for p in runner.status(config) if not p.fresh]
    finally:
        path.write_bytes(original)
        runner.code_fingerprint.cache_clear()


@pytest.mark.parametrize(
    ("name", "first_stale"),
    [
        ("engines/__init__.py", "train"),  # once re-ran segment and every later stage
        ("engines/sklearn.py", "train"),
        ("engines/base.py", "train"),
        ("em.py", "train"),
        ("samples.py", "train"),
        ("reporting/summary.py", "report"),  # once retrained the model
        ("reporting/templates/report.html.j2", "report"),
        ("labels.py", "assign"),
        ("assignments.py", "assign"),
        ("stages/dictionary.py", "dictionary"),
        ("corpus.py", "segment"),
        ("errors.py", "segment"),
        ("cli.py", None),
        ("runner.py", None),
        ("infer.py", None),
        ("runs.py", None),
        ("console.py", None),
    ],
)
def test_a_comment_re_runs_the_stages_whose_code_it_is_in_and_the_later_ones(
    name: str, first_stale: str | None, run_copy: tuple[Path, Path], package_copy: Path
) -> None:
    config = load_config(run_copy[0])
    assert _stale_after_a_comment_in(package_copy, "__main__.py", config) == []  # the copy fingerprints alike
    names = [s.name for s in STAGES]
    expected = names[names.index(first_stale) :] if first_stale else []
    assert _stale_after_a_comment_in(package_copy, name, config) == expected


def test_a_comment_outside_a_stages_code_leaves_it_up_to_date(
    run_copy: tuple[Path, Path], package_copy: Path
) -> None:
    """For every module: the stages whose code (import closure) holds it re-run, and those
    after them, as their input changed; every stage before them stays up to date."""
    from pipeline.runner import _code_files

    config = load_config(run_copy[0])
    code = [{p.relative_to(package_copy).as_posix() for p in _code_files(s.run.__module__)} for s in STAGES]
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        holding = [i for i, files in enumerate(code) if name in files]
        expected = [s.name for s in STAGES[min(holding) :]] if holding else []
        assert _stale_after_a_comment_in(package_copy, name, config) == expected, name


def test_pipeline_modules_import_each_other_at_module_level_only() -> None:
    """A stage's code is its module-level import closure: an import of a pipeline module
    inside a function would be code the fingerprint misses."""
    import ast

    from pipeline.runner import module_imports

    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in module_imports(tree)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names, relative = [node.module or ""], node.level > 0
            elif isinstance(node, ast.Import):
                names, relative = [a.name for a in node.names], False
            else:
                continue
            ours = relative or any(n == "pipeline" or n.startswith("pipeline.") for n in names)
            if ours and id(node) not in top:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_stages_open_no_file_themselves() -> None:
    """File I/O lives in the store (artifacts.py) and the input reader (corpus.py); the
    engines write their own model files into a folder the store hands them."""
    allowed = {"artifacts.py", "corpus.py", "engines"}
    root = Path(__file__).parent.parent / "pipeline"
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] in allowed:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#")[0]
            if any(p in code for p in ("open(", "np.save", ".save(", "json.load")):
                found.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert found == []


def test_no_function_in_the_package_is_over_80_lines() -> None:
    """Small functions that read like the spec: a longer one is split before it lands."""
    import ast

    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 80:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_coherence_texts_hold_the_dictionary_s_own_strings(tmp_path: Path) -> None:
    from gensim.corpora import Dictionary

    from pipeline.artifacts import RunStore
    from pipeline.samples import coherence_texts

    store = RunStore(tmp_path)
    rows = [["经济", "发展", "罕见"], ["发展", "合作"], ["罕见"]]
    store.write_jsonl("tokens.jsonl", ({"unit_id": f"u{i}", "tokens": t} for i, t in enumerate(rows)))
    dct = Dictionary([["经济", "发展", "合作"]])
    texts = coherence_texts(store, dct, len(rows))
    assert texts == [["经济", "发展"], ["发展", "合作"], []]
    own = {id(w) for w in dct.token2id}
    assert all(id(w) in own for text in texts for w in text)
