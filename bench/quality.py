"""Topic quality of pipeline variants against peer LDA systems, on labelled corpora.

Run from the repository root (needs scikit-learn and tomotopy, which are not project dependencies)::

    .venv/bin/python bench/quality.py                      # all corpora, default sizes
    .venv/bin/python bench/quality.py --quick              # smoke run on tiny samples
    .venv/bin/python bench/quality.py --docs 2000 --seeds 3   # medians over model seeds 42, 43, 44
    .venv/bin/python bench/quality.py --corpora tnews --set segment.heading_max_chars=1
    .venv/bin/python bench/quality.py --peers none \
        --pipelines 'batch=model.update_every=0 model.passes=50' --pipelines 'hmm-off=tokenize.hmm=false'

What is measured
----------------
For every corpus found under ``/work/shared/corpora`` a seeded random sample of labelled
documents is drawn and every system is run on it, in the same process, one after the other,
with the same number of topics K = the number of distinct labels in the sample. Each system
works on whole documents, as a user would run it.

Peers (``--peers``, default all four). They share one tokenization, what a user writes by hand:
``jieba.lcut`` of the whole document; drop stopwords (goto456 ``cn_stopwords.txt`` read at run
time, else the pipeline's built-in list) and whitespace/punctuation tokens; a gensim ``Dictionary``
+ ``filter_extremes()`` with its defaults (no_below=5, no_above=0.5, keep_n=100000). So all four
see the same documents over the same vocabulary; only the model differs.

* ``gensim-default``: ``LdaModel`` with its defaults except ``num_topics=K`` and
  ``random_state=seed`` (1 pass, online, alpha=eta=symmetric). Topic of a document: argmax of
  ``get_document_topics(minimum_probability=0)``; its terms: ``show_topic(i, topn=50)``.
* ``gensim-auto20``: the same with ``alpha='auto', eta='auto', passes=20``.
* ``sklearn-lda``: ``CountVectorizer(analyzer=<identity>)`` over the filtered token lists, then
  ``LatentDirichletAllocation(n_components=K, random_state=seed, learning_method='batch',
  max_iter=20)`` (priors 1/K, its defaults); ``fit`` then ``transform``; topic = argmax of the
  row; terms = the top 50 of ``components_``.
* ``tomotopy-1000``: ``tomotopy.LDAModel(k=K, seed=seed)`` (alpha=0.1, eta=0.01, its defaults),
  ``add_doc`` of the filtered token lists, ``train(1000, workers=1)``; topic = argmax of
  ``doc.get_topic_dist()``; terms = ``get_topic_words(i, top_n=50)``. tomotopy does not take
  empty documents, so a document with no token left is not covered.

Pipeline variants (``--pipelines NAME=OVERRIDES``, repeatable; default ``pipeline`` = the default
config and ``pipeline-tomotopy`` = ``model.engine=tomotopy model.iterations=1000``). OVERRIDES are
``key.path=value`` items separated by whitespace (shell-style quoting; write lists without
spaces, ``tokenize.pos=[n,v,a]``). ``--set`` overrides apply to every variant first, then the
variant's own. The sample is written to a temporary jsonl (``id``, ``label``, ``text``), one
document per record, and run through ``pipeline.runner.run_pipeline`` with a temporary config
(``input.id_field: id``, ``input.meta_fields: [label]``, ``model.num_topics: K``, ``run.seed``,
``report.top_terms: 50``, plus the overrides); the pipeline splits documents into its
paragraph units itself. A document's topic is ``dominant_topic`` in ``documents.csv``; its
topics are the ranked terms of ``topics.csv``.

Seconds: ``train s`` is the training call only: ``LdaModel(...)``, ``LatentDirichletAllocation.fit``,
``tomotopy train()``; for a pipeline variant the train stage (``stages.train.seconds`` of
``manifest.json``). ``total s`` is everything the system needs from raw text to a topic per
document: for a peer the shared tokenization and dictionary (timed once, added to each peer) plus
its own vectorizing, training and assignment; for a pipeline variant the whole ``run_pipeline``
call (all stages). jieba's dictionary loading is not timed for the peers (once per process).

Scores (per corpus and system):

* ``NMI`` / ``ARI``: ``sklearn.metrics.normalized_mutual_info_score`` and
  ``adjusted_rand_score`` of dominant topic vs label, over every sampled document. A document
  the system gives no topic counts as one extra cluster "no topic"; ``covered`` says how many
  documents did get a topic.
* ``NPMI``: mean over topics of gensim ``CoherenceModel(coherence="c_npmi", topn=10)``. To make
  the systems comparable, all are scored over ONE common reference tokenization of the
  sample: ``jieba.lcut`` of each whole document with punctuation/whitespace tokens and single
  characters removed (no stopword removal), with a gensim ``Dictionary`` of those lists (no
  filtering). Each topic is scored on its first 10 terms, in its own ranking (the first 50
  are kept), that occur in the reference: a term the reference lacks (a single character, or
  a word of the pipeline's domain dictionary that plain jieba splits) is passed over for the
  next one, so every system is scored on 10 terms and none gains from terms dropped from its
  list. A topic with fewer than two such terms is left out of the mean, as are NaN topics.

Goals (printed after the table, per corpus and pipeline variant): a tomotopy-engine variant
should have the highest NMI of all peers (what a user would otherwise run on whole
documents); a gensim-engine variant a higher NMI than every gensim and scikit-learn peer;
both an NPMI no lower than the best peer's.

Seeds: ``--seeds N`` runs every system N times, with model seeds SEED, SEED+1, ... (peers'
``random_state``/``seed``, the pipeline's ``run.seed``) on the same sample, drawn with SEED. The
table then gives each score's median over the seeds (and the median seconds), and the goals
compare medians: at 2000 documents, one system's NMI moved by up to 0.036 between seeds 42, 43
and 44 (tomotopy-1000 on thucnews-titles). The Markdown file also lists every seed's row.

The sample is drawn with ``random.Random(seed)`` and kept in its random order (the source files
are sorted by label, which would bias online LDA); all systems see the same documents in the
same order. Temporary files go to a ``tempfile`` directory outside the repository and are removed
at the end (``--keep`` keeps them). The corpora are research-use only: nothing of them is written
inside the repository; ``bench/results/`` (git-ignored) gets the scores table only.

Output: the table on stdout and as Markdown in ``bench/results/quality.md`` (``quality-quick.md``
with ``--quick``). Exit status 0, or 1 if a system failed on some corpus (the failure is in the
table); a missing corpus is reported as ``skipped <name>: <path> not found`` and is not a failure.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import lzma
import math
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

CORPORA_ROOT = Path("/work/shared/corpora")
STOPWORDS_FILE = Path("/work/shared/lexicon/stopwords/goto456/cn_stopwords.txt")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DOCS = 3000
QUICK_DOCS = 300
TOPN = 10
DEPTH = 50  # ranked terms kept per topic: NPMI scores the first TOPN the reference knows
NO_TOPIC = -1


@dataclass(frozen=True)
class Doc:
    id: str
    label: str
    text: str


@dataclass(frozen=True)
class Corpus:
    name: str
    path: Path  # what must exist for the corpus to run
    cap: int  # most documents sampled, whatever --docs says (keeps the full run under ~15 minutes)
    read: Callable[[Path], list[tuple[str, str]]]  # path -> (label, text) pairs


@dataclass
class Result:
    corpus: str
    docs: int
    k: int
    system: str
    covered: int = 0
    nmi: float | None = None
    ari: float | None = None
    npmi: float | None = None
    train_seconds: float | None = None
    seconds: float = 0.0
    engine: str = ""  # pipeline variants: model.engine; peers: ""
    error: str = ""
    seeds: tuple[int, ...] = ()  # the model seed, or the seeds a median row summarises

    @property
    def is_pipeline(self) -> bool:
        return bool(self.engine)


@dataclass
class SystemOutput:
    assigned: dict[str, int]  # doc id -> dominant topic
    topics: list[list[str]]  # top terms of each topic
    seconds: float  # total: raw text to a topic per document
    train_seconds: float | None = None  # the training call only


@dataclass
class Prepared:
    """The peers' shared tokenization: what a user writes by hand before choosing a model."""

    raw: list[list[str]]  # jieba.lcut of each document (also the NPMI reference's source)
    texts: list[list[str]]  # after stopwords and punctuation
    dictionary: Any  # gensim Dictionary after filter_extremes()
    bows: list[list[tuple[int, int]]]
    filtered: list[list[str]]  # texts restricted to the dictionary's vocabulary
    seconds: float  # tokenization + dictionary + bows


# -- corpora --------------------------------------------------------------------------


def read_thucnews(folder: Path) -> list[tuple[str, str]]:
    """THUCNews titles: ``TITLE<TAB>LABEL_ID`` lines in dev, test and train_partial; names from class.txt."""
    classes = (folder / "class.txt").read_text(encoding="utf-8").split()
    pairs = []
    for name in ("dev.txt", "test.txt", "train_partial.txt"):
        path = folder / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            title, sep, label = line.rpartition("\t")
            if sep and title.strip():
                pairs.append((classes[int(label)], title.strip()))
    return pairs


def read_fewclue(path: Path) -> list[tuple[str, str]]:
    """A FewCLUE labelled jsonl: ``label`` and ``text`` of each row."""
    pairs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                if str(row.get("text") or "").strip():
                    pairs.append((str(row["label"]), str(row["text"])))
    return pairs


def read_xwlb(path: Path) -> list[tuple[str, str]]:
    """Xinwen Lianbo items with exactly one section tag: (section, paragraphs joined by newlines)."""
    pairs = []
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            sections = [s.strip() for s in (row.get("section") or "").split(",") if s.strip()]
            text = "\n".join(p for p in row.get("paragraphs") or [] if p.strip())
            if len(sections) == 1 and text.strip():
                pairs.append((sections[0], text))
    return pairs


CORPORA = [
    Corpus("thucnews-titles", CORPORA_ROOT / "thucnews-titles", 5000, read_thucnews),
    Corpus("csldcp", CORPORA_ROOT / "fewclue" / "csldcp_labeled.jsonl", 3000, read_fewclue),
    Corpus("tnews", CORPORA_ROOT / "fewclue" / "tnews_labeled.jsonl", 4293, read_fewclue),
    Corpus("xwlb", CORPORA_ROOT / "xwlb" / "xwlb_2012-2026.jsonl.xz", 3000, read_xwlb),
]


def sample(pairs: Sequence[tuple[str, str]], n: int, seed: int) -> list[Doc]:
    """``n`` documents drawn at random (seeded), in the random order drawn, with ids d00000...."""
    picked = random.Random(seed).sample(range(len(pairs)), min(n, len(pairs)))
    return [Doc(f"d{i:05d}", pairs[j][0], pairs[j][1]) for i, j in enumerate(picked)]


# -- tokens ---------------------------------------------------------------------------


def is_symbol(token: str) -> bool:
    """Whitespace, punctuation, symbols and control characters only (or empty)."""
    return all(unicodedata.category(c)[0] in "PSZC" for c in token)


def load_stopwords() -> tuple[frozenset[str], str]:
    """The baseline's stopwords: goto456 cn_stopwords.txt if present, else the pipeline's list."""
    if STOPWORDS_FILE.is_file():
        words = STOPWORDS_FILE.read_text(encoding="utf-8").split("\n")
        return frozenset(w.strip() for w in words if w.strip()), f"{STOPWORDS_FILE.name} (goto456)"
    from pipeline.corpus import load_resource_lines

    return frozenset(load_resource_lines("stopwords.txt")), "pipeline built-in stopwords.txt"


def reference_texts(raw: Iterable[list[str]]) -> list[list[str]]:
    """The common NPMI reference: jieba tokens without punctuation and single characters."""
    return [[t for t in tokens if len(t.strip()) > 1 and not is_symbol(t)] for tokens in raw]


# -- systems --------------------------------------------------------------------------


class StageLog:
    """A pipeline reporter that prints each finished stage to stderr."""

    def stage_started(self, name: str, reason: str) -> None:
        pass

    def stage_finished(self, result: Any) -> None:
        print(f"    pipeline {result.name}: {result.status} in {result.seconds:.1f}s", file=sys.stderr)

    def track(
        self, items: Iterable[Any], total: int | None, description: str, unit: str = ""
    ) -> Iterable[Any]:
        return items

    def task(self, total: int | None, description: str, unit: str = "", throttle: bool = True) -> Any:
        from contextlib import nullcontext

        return nullcontext(lambda done, **facts: None)


def write_jsonl(docs: Sequence[Doc], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d.id, "label": d.label, "text": d.text}, ensure_ascii=False) + "\n")


def pipeline_config(name: str, data: Path, workdir: Path, k: int, seed: int) -> dict[str, Any]:
    return {
        "run": {"name": name, "seed": seed, "output_dir": str(workdir / "runs")},
        "input": {
            "paths": [str(data)],
            "format": "jsonl",
            "text_field": "text",
            "id_field": "id",
            "meta_fields": ["label"],
        },
        "model": {"num_topics": k},
        "report": {"top_terms": DEPTH},
    }


def run_pipeline_system(
    corpus: str,
    variant: str,
    data: Path,
    k: int,
    seed: int,
    overrides: Sequence[str],
    workdir: Path,
) -> tuple[SystemOutput, str]:
    """Run one pipeline variant through the library; read documents.csv, topics.csv, manifest.json."""
    from pipeline.config import load_config
    from pipeline.runner import run_pipeline

    name = f"{corpus}.{variant}"
    config_path = workdir / f"{name}.yaml"
    config_path.write_text(
        yaml.safe_dump(pipeline_config(name, data, workdir, k, seed), allow_unicode=True), encoding="utf-8"
    )
    config = load_config(config_path, list(overrides))
    if config.model.num_topics != k:
        print(f"    warning: model.num_topics={config.model.num_topics}, not K={k}", file=sys.stderr)
    t0 = time.perf_counter()
    run_pipeline(config, force=True, reporter=StageLog())  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    assigned: dict[str, int] = {}
    labels = {}
    with data.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            labels[row["id"]] = row["label"]
    with (config.run_dir / "documents.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if labels.get(row["doc_id"]) != row["label"]:
                raise RuntimeError(f"documents.csv: doc {row['doc_id']} has label {row['label']!r}")
            if row["dominant_topic"]:  # empty: a document without tokens has no topic
                assigned[row["doc_id"]] = int(row["dominant_topic"])
    topics: dict[int, list[str]] = {}
    with (config.run_dir / "topics.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if int(row["rank"]) <= DEPTH:
                topics.setdefault(int(row["topic"]), []).append(row["term"])
    manifest = json.loads((config.run_dir / "manifest.json").read_text(encoding="utf-8"))
    train_seconds = manifest.get("stages", {}).get("train", {}).get("seconds")
    out = SystemOutput(assigned, [topics[t] for t in sorted(topics)], seconds, train_seconds)
    return out, config.model.engine


def prepare(docs: Sequence[Doc], stopwords: frozenset[str]) -> Prepared:
    """The hand-written tokenization the peers share: jieba, stopwords, Dictionary.filter_extremes()."""
    import jieba
    from gensim.corpora import Dictionary

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()  # loading jieba's dictionary is not timed (it happens once per process)
    t0 = time.perf_counter()
    raw = [jieba.lcut(d.text) for d in docs]
    texts = [[t for t in tokens if t.strip() and not is_symbol(t) and t not in stopwords] for tokens in raw]
    dictionary = Dictionary(texts)
    dictionary.filter_extremes()
    bows = [dictionary.doc2bow(t) for t in texts]
    filtered = [[t for t in text if t in dictionary.token2id] for text in texts]
    return Prepared(raw, texts, dictionary, bows, filtered, time.perf_counter() - t0)


def run_gensim_peer(docs: Sequence[Doc], k: int, seed: int, prep: Prepared, **params: Any) -> SystemOutput:
    """gensim LdaModel on the shared bag of words, with ``params`` on top of its defaults."""
    import numpy as np
    from gensim.models import LdaModel

    t0 = time.perf_counter()
    lda = LdaModel(corpus=prep.bows, id2word=prep.dictionary, num_topics=k, random_state=seed, **params)
    train_seconds = time.perf_counter() - t0
    assigned = {}
    for d, bow in zip(docs, prep.bows, strict=True):
        dense = np.zeros(k)
        for topic, p in lda.get_document_topics(bow, minimum_probability=0):
            dense[topic] = p
        assigned[d.id] = int(np.argmax(dense))
    seconds = prep.seconds + time.perf_counter() - t0
    topics = [[w for w, _ in lda.show_topic(t, topn=DEPTH)] for t in range(k)]
    return SystemOutput(assigned, topics, seconds, train_seconds)


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def run_sklearn_peer(docs: Sequence[Doc], k: int, seed: int, prep: Prepared) -> SystemOutput:
    """scikit-learn batch variational LDA (20 iterations) on a CountVectorizer of the token lists."""
    import numpy as np
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer

    t0 = time.perf_counter()
    vectorizer = CountVectorizer(analyzer=_identity)
    x = vectorizer.fit_transform(prep.filtered)
    lda = LatentDirichletAllocation(n_components=k, random_state=seed, learning_method="batch", max_iter=20)
    t1 = time.perf_counter()
    lda.fit(x)
    train_seconds = time.perf_counter() - t1
    theta = lda.transform(x)
    assigned = {d.id: int(np.argmax(row)) for d, row in zip(docs, theta, strict=True)}
    seconds = prep.seconds + time.perf_counter() - t0
    terms = vectorizer.get_feature_names_out()
    topics = [[str(terms[i]) for i in np.argsort(-row, kind="stable")[:DEPTH]] for row in lda.components_]
    return SystemOutput(assigned, topics, seconds, train_seconds)


def run_tomotopy_peer(docs: Sequence[Doc], k: int, seed: int, prep: Prepared) -> SystemOutput:
    """tomotopy Gibbs LDA, 1000 iterations on one worker, on the token lists (empty ones skipped)."""
    import numpy as np
    import tomotopy as tp

    t0 = time.perf_counter()
    mdl = tp.LDAModel(k=k, seed=seed)
    added: list[str] = []
    for d, tokens in zip(docs, prep.filtered, strict=True):
        if mdl.add_doc(tokens) is not None:
            added.append(d.id)
    t1 = time.perf_counter()
    mdl.train(1000, workers=1)
    train_seconds = time.perf_counter() - t1
    assigned = {i: int(np.argmax(doc.get_topic_dist())) for i, doc in zip(added, mdl.docs, strict=True)}
    seconds = prep.seconds + time.perf_counter() - t0
    topics = [[w for w, _ in mdl.get_topic_words(t, top_n=DEPTH)] for t in range(k)]
    return SystemOutput(assigned, topics, seconds, train_seconds)


PEERS: dict[str, Callable[[Sequence[Doc], int, int, Prepared], SystemOutput]] = {
    "gensim-default": lambda docs, k, seed, prep: run_gensim_peer(docs, k, seed, prep),
    "gensim-auto20": lambda docs, k, seed, prep: run_gensim_peer(
        docs, k, seed, prep, alpha="auto", eta="auto", passes=20
    ),
    "sklearn-lda": run_sklearn_peer,
    "tomotopy-1000": run_tomotopy_peer,
}
DEFAULT_PIPELINES = ["pipeline=", "pipeline-tomotopy=model.engine=tomotopy model.iterations=1000"]


# -- scores ---------------------------------------------------------------------------


def cluster_scores(docs: Sequence[Doc], assigned: dict[str, int]) -> tuple[float, float]:
    """NMI and ARI of dominant topic vs label; unassigned documents form one extra cluster."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels = [d.label for d in docs]
    topics = [assigned.get(d.id, NO_TOPIC) for d in docs]
    return float(normalized_mutual_info_score(labels, topics)), float(adjusted_rand_score(labels, topics))


def mean_npmi(topics: list[list[str]], texts: list[list[str]], dictionary: Any) -> float | None:
    """Mean c_npmi over topics, on each topic's first TOPN terms that the reference texts know."""
    from gensim.models.coherencemodel import CoherenceModel

    known = [[t for t in topic if t in dictionary.token2id][:TOPN] for topic in topics]
    usable = [t for t in known if len(t) >= 2]
    if not usable:
        return None
    cm = CoherenceModel(
        topics=usable, texts=texts, dictionary=dictionary, coherence="c_npmi", topn=TOPN, processes=1
    )
    values = [v for v in cm.get_coherence_per_topic() if not math.isnan(v)]
    return sum(values) / len(values) if values else None


def score(
    result: Result, docs: Sequence[Doc], out: SystemOutput, texts: list[list[str]], dictionary: Any
) -> Result:
    result.covered = sum(d.id in out.assigned for d in docs)
    result.nmi, result.ari = cluster_scores(docs, out.assigned)
    result.npmi = mean_npmi(out.topics, texts, dictionary)
    result.seconds = out.seconds
    result.train_seconds = out.train_seconds
    return result


# -- one corpus -----------------------------------------------------------------------


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def bench_corpus(
    corpus: Corpus,
    n: int,
    seed: int,
    model_seeds: Sequence[int],
    peers: Sequence[str],
    pipelines: Sequence[tuple[str, list[str]]],
    stopwords: frozenset[str],
    workdir: Path,
    verbose: bool,
) -> list[Result]:
    from gensim.corpora import Dictionary

    t0 = time.perf_counter()
    docs = sample(corpus.read(corpus.path), min(n, corpus.cap), seed)
    k = len({d.label for d in docs})
    print(
        f"{corpus.name}: {len(docs)} docs, K={k} (read in {time.perf_counter() - t0:.1f}s)", file=sys.stderr
    )
    results: list[Result] = []
    outputs: list[SystemOutput | None] = []

    def attempt(result: Result, run: Callable[[], SystemOutput]) -> None:
        out = None
        t = time.perf_counter()
        try:
            out = run()
        except Exception as exc:
            result.error = first_line(exc)
            if verbose:
                traceback.print_exc()
        state = f"failed: {result.error}" if result.error else f"done in {time.perf_counter() - t:.1f}s"
        print(f"    {result.system}: {state}", file=sys.stderr)
        results.append(result)
        outputs.append(out)

    prep = prepare(docs, stopwords)
    data = workdir / f"{corpus.name}.jsonl"
    write_jsonl(docs, data)
    for s in model_seeds:
        if len(model_seeds) > 1:
            print(f"  model seed {s}", file=sys.stderr)
        for name in peers:
            peer = Result(corpus.name, len(docs), k, name, seeds=(s,))
            attempt(peer, partial(PEERS[name], docs, k, s, prep))
        for variant, overrides in pipelines:
            result = Result(corpus.name, len(docs), k, variant, engine="?", seeds=(s,))

            def run_variant(
                variant: str = variant, overrides: list[str] = overrides, result: Result = result, s: int = s
            ) -> SystemOutput:
                out, result.engine = run_pipeline_system(corpus.name, variant, data, k, s, overrides, workdir)
                return out

            attempt(result, run_variant)
    texts = reference_texts(prep.raw)
    dictionary = Dictionary(texts)
    for result, out in zip(results, outputs, strict=True):
        if out is not None:
            score(result, docs, out, texts, dictionary)
    return results


def medians(results: Sequence[Result]) -> list[Result]:
    """One row per corpus and system: the median of each score over its seeds.

    A system that failed on any seed keeps the first failure, so a failure is never hidden
    behind the median of the seeds that worked.
    """
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.corpus, r.system), []).append(r)

    def med(values: Iterable[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    rows = []
    for runs in groups.values():
        first = runs[0]
        row = Result(first.corpus, first.docs, first.k, first.system, engine=first.engine)
        row.seeds = tuple(s for r in runs for s in r.seeds)
        failed = [r for r in runs if r.error]
        if failed:
            row.error = failed[0].error
        else:
            row.covered = min(r.covered for r in runs)
            row.nmi = med(r.nmi for r in runs)
            row.ari = med(r.ari for r in runs)
            row.npmi = med(r.npmi for r in runs)
            row.train_seconds = med(r.train_seconds for r in runs)
            row.seconds = med(r.seconds for r in runs) or 0.0
        rows.append(row)
    return rows


def goal_misses(results: Sequence[Result]) -> list[str]:
    """Where a pipeline variant misses its goal on a corpus (see the module docstring)."""
    misses = []
    for corpus in dict.fromkeys(r.corpus for r in results):
        rows = [r for r in results if r.corpus == corpus and not r.error]
        peers = [r for r in rows if not r.is_pipeline]
        for r in rows:
            if not r.is_pipeline or r.nmi is None:
                continue
            if r.engine == "tomotopy":
                rivals = peers
                goal = "highest NMI of all peers"
            else:
                rivals = [o for o in peers if not o.system.startswith("tomotopy")]
                goal = "higher NMI than every gensim/sklearn peer"
            beaten_by = [o for o in rivals if o.nmi is not None and o.nmi >= r.nmi]
            if beaten_by:
                best = max(beaten_by, key=lambda o: o.nmi or 0.0)
                misses.append(
                    f"{corpus} / {r.system}: {goal} missed, NMI {r.nmi:.3f} vs {best.system} {best.nmi:.3f}"
                )
            peer_npmi = [o for o in peers if o.npmi is not None]
            if peer_npmi:
                best = max(peer_npmi, key=lambda o: o.npmi or -1.0)
                if r.npmi is None or r.npmi < (best.npmi or -1.0):
                    misses.append(
                        f"{corpus} / {r.system}: NPMI {fmt(r.npmi)} below the best peer's, "
                        f"{best.system} {best.npmi:.3f}"
                    )
    return misses


# -- output ---------------------------------------------------------------------------

COLUMNS = ["corpus", "docs", "K", "system", "covered", "NMI", "ARI", "NPMI", "train s", "total s"]


def fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table_rows(results: Sequence[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        head = [r.corpus, str(r.docs), str(r.k), r.system]
        if r.error:
            rows.append([*head, "FAILED", "-", "-", "-", "-", "-"])
        else:
            rows.append(
                [
                    *head,
                    str(r.covered),
                    fmt(r.nmi),
                    fmt(r.ari),
                    fmt(r.npmi),
                    fmt(r.train_seconds, 1),
                    fmt(r.seconds, 1),
                ]
            )
    return rows


def text_table(results: Sequence[Result]) -> str:
    rows = [COLUMNS, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(row: list[str]) -> str:
        cells = [
            c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join(line(row) for row in rows)


def markdown_table(results: Sequence[Result], with_seed: bool = False) -> str:
    columns, align = COLUMNS, ["---", "---:", "---:", "---", "---:", "---:", "---:", "---:", "---:", "---:"]
    rows = table_rows(results)
    if with_seed:
        columns, align = [*columns[:4], "seed", *columns[4:]], [*align[:4], "---:", *align[4:]]
        rows = [[*row[:4], str(r.seeds[0]), *row[4:]] for row, r in zip(rows, results, strict=True)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def failures(results: Sequence[Result]) -> list[str]:
    return [f"{r.corpus} / {r.system} (seed {r.seeds[0]}): {r.error}" for r in results if r.error]


def versions() -> str:
    names = ("pipeline", "gensim", "jieba", "scikit-learn", "tomotopy", "numpy")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def pipeline_source() -> str:
    """Where ``pipeline`` was imported from, with its git commit when that is a git checkout."""
    import pipeline

    folder = Path(pipeline.__file__).resolve().parent
    try:
        git = ["git", "-C", str(folder)]
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "."], capture_output=True, text=True)
    except OSError:
        return str(folder)
    if commit.returncode:
        return str(folder)
    return f"{folder} at {commit.stdout.strip()}{' + uncommitted changes' if dirty.stdout.strip() else ''}"


def markdown_report(
    results: Sequence[Result],
    every_seed: Sequence[Result],
    command: str,
    args: argparse.Namespace,
    stop_source: str,
    wall: float,
) -> str:
    """``results``: one (median) row per corpus and system; ``every_seed``: the runs behind them."""
    model_seeds = ", ".join(map(str, args.model_seeds))
    if args.seeds > 1:
        model_seeds += " (scores are medians over them)"
    variants = "; ".join(f"`{n}`: {' '.join(o) or 'defaults'}" for n, o in args.pipelines)
    lines = [
        "# Topic quality: pipeline variants vs peer LDA systems",
        "",
        f"Command: `{command}`  ",
        f"Sample seed {args.seed}; model seeds {model_seeds}; "
        f"pipeline variants: {variants or 'none'}; overrides for all variants: "
        f"{', '.join(args.set) or 'none'}; peers' stopwords: {stop_source}  ",
        f"{time.strftime('%Y-%m-%d %H:%M')}; {versions()}; wall time {wall:.0f}s  ",
        f"pipeline imported from {pipeline_source()}",
        "",
        markdown_table(results),
        "",
        "K = number of distinct labels in the sample; covered = documents that got a topic "
        "(the rest count as one extra cluster). NMI/ARI: dominant topic vs label. NPMI: mean gensim "
        "c_npmi of each topic's top 10 terms over one common reference tokenization (jieba.lcut, "
        "punctuation and single characters removed). train s: the training call (pipeline: the train "
        "stage); total s: raw text to a topic per document. See the docstring of `bench/quality.py`.",
    ]
    misses = goal_misses(results)
    if not args.peers:
        verdict = "Goals: not checked (no peers in this run; they compare with peers of the same run)."
    else:
        verdict = "Goals missed:" if misses else "Goals: all met."
    lines += ["", verdict, ""]
    lines += [f"- {m}" for m in misses]
    if args.seeds > 1:
        lines += ["", "Every seed:", "", markdown_table(every_seed, with_seed=True)]
    failed = failures(every_seed)
    if failed:
        lines += ["", "Failures:", "", *[f"- {f}" for f in failed]]
    return "\n".join(lines) + "\n"


# -- command line ---------------------------------------------------------------------


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``NAME=key=value key=value`` (or just ``NAME``) -> (NAME, overrides)."""
    name, _, rest = text.partition("=")
    name = name.strip()
    if not name or not all(c.isalnum() or c in "_.-" for c in name):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=key.path=value ... (NAME of [A-Za-z0-9_.-])"
        )
    overrides = shlex.split(rest)
    for item in overrides:
        if "=" not in item:
            raise argparse.ArgumentTypeError(f"{text!r}: override {item!r} is not key.path=value")
    return name, overrides


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    names = [c.name for c in CORPORA]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "--corpora", nargs="+", default=names, metavar="NAME", help=f"subset of: {', '.join(names)}"
    )
    p.add_argument("--docs", type=int, default=None, help=f"documents per corpus (default {DEFAULT_DOCS})")
    p.add_argument("--seed", type=int, default=42, help="sampling, peer and pipeline seed (default 42)")
    p.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="model seeds per system: SEED, SEED+1, ...; scores are their medians (default 1)",
    )
    p.add_argument(
        "--peers",
        nargs="+",
        default=list(PEERS),
        metavar="NAME",
        help=f"peer systems, subset of: {', '.join(PEERS)}, or none (default all)",
    )
    p.add_argument(
        "--pipelines",
        action="append",
        type=parse_variant,
        default=None,
        metavar="NAME=OVERRIDES",
        help="a pipeline variant: NAME=key.path=value ... (repeatable; default: "
        + "; ".join(DEFAULT_PIPELINES)
        + ")",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override for every pipeline variant, applied before the variant's own (repeatable)",
    )
    p.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_DOCS} documents per corpus")
    p.add_argument("--out", type=Path, default=None, help="Markdown file (default bench/results/quality.md)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    p.add_argument("--verbose", action="store_true", help="print tracebacks of failures")
    args = p.parse_args(argv)
    args.corpora = [n for item in args.corpora for n in item.split(",") if n]
    unknown = sorted(set(args.corpora) - set(names))
    if unknown:
        p.error(f"unknown corpus {', '.join(unknown)} (choose from {', '.join(names)})")
    args.peers = [n for item in args.peers for n in item.split(",") if n and n != "none"]
    unknown = sorted(set(args.peers) - set(PEERS))
    if unknown:
        p.error(f"unknown peer {', '.join(unknown)} (choose from {', '.join(PEERS)}, or none)")
    if args.pipelines is None:
        args.pipelines = [parse_variant(v) for v in DEFAULT_PIPELINES]
    seen = [n for n, _ in args.pipelines]
    if len(set(seen)) < len(seen) or set(seen) & set(PEERS):
        p.error("--pipelines: every variant needs its own name, different from the peers'")
    if args.docs is None:
        args.docs = QUICK_DOCS if args.quick else DEFAULT_DOCS
    if args.docs < 2:
        p.error("--docs must be at least 2")
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    args.model_seeds = [args.seed + i for i in range(args.seeds)]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(
        [Path(sys.executable).name, "bench/quality.py", *(sys.argv[1:] if argv is None else argv)]
    )
    started = time.perf_counter()
    stopwords, stop_source = load_stopwords()
    pipelines = [(name, [*args.set, *overrides]) for name, overrides in args.pipelines]
    results: list[Result] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    try:
        for corpus in CORPORA:
            if corpus.name not in args.corpora:
                continue
            if not corpus.path.exists():
                print(f"skipped {corpus.name}: {corpus.path} not found")
                continue
            results += bench_corpus(
                corpus,
                args.docs,
                args.seed,
                args.model_seeds,
                args.peers,
                pipelines,
                stopwords,
                workdir,
                args.verbose,
            )
    finally:
        if args.keep:
            print(f"kept the temporary folder {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    wall = time.perf_counter() - started
    summary = medians(results)
    print(text_table(summary))
    for line in goal_misses(summary):
        print(f"goal missed: {line}")
    for line in failures(results):
        print(f"failed {line}")
    print(f"wall time {wall:.0f}s")
    out = args.out or RESULTS_DIR / ("quality-quick.md" if args.quick else "quality.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown_report(summary, results, command, args, stop_source, wall), encoding="utf-8")
    print(f"wrote {out}")
    return 1 if failures(results) else 0


if __name__ == "__main__":
    sys.exit(main())
