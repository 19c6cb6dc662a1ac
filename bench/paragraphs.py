"""Topics at the paragraph level, on documents that mix themes; and topic segmentation.

Run from the repository root::

    .venv/bin/python bench/paragraphs.py                 # 200 days, model seeds 42, 43, 44
    .venv/bin/python bench/paragraphs.py --days 300 --seeds 3
    .venv/bin/python bench/paragraphs.py --quick         # smoke run: 20 days, one seed

Corpus
------
``../shared/corpora/xwlb/xwlb_2012-2026.jsonl.xz`` (CCTV Xinwen Lianbo, one record per news item;
see its README.txt; research use only). If it is absent the script prints ``skipped: <reason>``
and exits 0. One document per broadcast day from 2017-01-01 on (when items start to carry a
``section``): a seeded sample of ``--days`` days, each day's items in ``num`` order, their
paragraphs kept as paragraphs (one line each). A paragraph's gold label is its item's section
where the item has exactly one; other paragraphs are trained on but not scored. The gold
segmentation of a day is its items. K = the number of distinct gold labels. Nothing of the
corpus is written inside the repository: the documents go to a temporary folder.

Systems (the same K and model seeds)
------------------------------------
* ``pipeline`` and ``pipeline-tomotopy`` (``model.engine=tomotopy model.iterations=1000``): the
  default config on the day documents, which the pipeline cuts into its own paragraph units. A
  paragraph's mix is the token-weighted mean of the mixes of the units made of its lines
  (``text_line_start``..``text_line_end``); a paragraph no unit holds (a heading) takes the mix
  of the next paragraph of its day that has one. ``+segment`` rows give each paragraph the
  dominant topic of its segment in ``segments.csv`` instead (the context of its neighbours).
* Peers, on one shared hand-written tokenization of each paragraph (``jieba.lcut``, stopwords
  and punctuation dropped, gensim ``Dictionary.filter_extremes()``; as ``bench/quality.py``):
  ``tomotopy-days``: ``tomotopy.LDAModel`` trained 1000 iterations on whole days, each
  paragraph's mix inferred from the model (what a user of whole-document LDA would do);
  ``tomotopy-paragraphs``, ``sklearn-lda`` (batch, 20 iterations) and ``gensim-auto20``
  (``alpha='auto', eta='auto', passes=20``), trained on the paragraphs.

A paragraph a system gives no topic (no tokens) counts as one extra cluster "no topic".

Scores
------
* Paragraph NMI and ARI (scikit-learn) of the dominant topic against the gold label, over the
  scored paragraphs; medians over the model seeds.
* Segmentation of each day against its item boundaries, in paragraphs: Pk (Beeferman et al.
  1999) and WindowDiff (Pevzner and Hearst 2002), k = half the day's mean item length
  (``pipeline.measures``), averaged over days. Systems: the pipeline's ``segments.csv``
  (medians over seeds); TextTiling (NLTK ``TextTilingTokenizer``, its defaults, on each
  paragraph's jieba tokens without punctuation, paragraphs separated by blank lines); and two
  trivial baselines, one segment per day and one per paragraph.
* Same-topic cuts: the share of adjacent segments of ``segments.csv`` whose dominant
  topic is the same (a cut that does not change the topic).

Output: the tables on stdout and as Markdown in ``bench/results/paragraphs.md``
(``paragraphs-quick.md`` with ``--quick``), every seed's rows included.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import lzma
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality

from pipeline import measures

CORPUS = quality.CORPORA_ROOT / "xwlb" / "xwlb_2012-2026.jsonl.xz"
FIRST_DAY = "20170101"
NO_TOPIC = -1


@dataclass
class Day:
    date: str
    paragraphs: list[str]
    items: list[int]  # each paragraph's item number within the day
    labels: list[str | None]  # each paragraph's gold section, None if its item has none or several


@dataclass
class Data:
    days: list[Day]
    k: int

    def paragraphs(self) -> list[tuple[int, int]]:
        """(day, paragraph) of every paragraph, in order."""
        return [(d, p) for d, day in enumerate(self.days) for p in range(len(day.paragraphs))]

    def gold(self) -> list[str | None]:
        return [label for day in self.days for label in day.labels]


@dataclass
class Row:
    system: str
    seed: int | None
    nmi: float | None = None
    ari: float | None = None
    covered: int = 0
    pk: float | None = None
    window_diff: float | None = None
    same_topic: float | None = None  # share of adjacent segments (segments.csv) with one dominant topic
    seconds: float = 0.0
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# -- corpus -------------------------------------------------------------------------------


def read_days(path: Path, n_days: int, seed: int) -> Data:
    by_day: dict[str, list[dict[str, Any]]] = {}
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["date"] >= FIRST_DAY and any(p.strip() for p in row.get("paragraphs") or []):
                by_day.setdefault(row["date"], []).append(row)
    dates = sorted(random.Random(seed).sample(sorted(by_day), min(n_days, len(by_day))))
    days = []
    for date in dates:
        paragraphs: list[str] = []
        items: list[int] = []
        labels: list[str | None] = []
        for n, item in enumerate(sorted(by_day[date], key=lambda r: int(r.get("num") or 0))):
            sections = [s.strip() for s in (item.get("section") or "").split(",") if s.strip()]
            for p in item["paragraphs"]:
                text = " ".join(p.split())  # one line a paragraph
                if text:
                    paragraphs.append(text)
                    items.append(n)
                    labels.append(sections[0] if len(sections) == 1 else None)
        days.append(Day(date, paragraphs, items, labels))
    k = len({label for day in days for label in day.labels if label is not None})
    return Data(days, k)


# -- scores -------------------------------------------------------------------------------


def paragraph_scores(data: Data, topics: Sequence[int]) -> tuple[float, float, int]:
    """NMI, ARI and covered count over the scored paragraphs (NO_TOPIC is one cluster)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    pairs = [(g, t) for g, t in zip(data.gold(), topics, strict=True) if g is not None]
    gold = [g for g, _ in pairs]
    found = [t for _, t in pairs]
    return (
        float(normalized_mutual_info_score(gold, found)),
        float(adjusted_rand_score(gold, found)),
        sum(t != NO_TOPIC for t in found),
    )


def segmentation_scores(data: Data, segmented: Sequence[Sequence[int]]) -> tuple[float, float]:
    """Mean Pk and WindowDiff over days (each day: segment number of each paragraph)."""
    pks, wds = [], []
    for day, hyp in zip(data.days, segmented, strict=True):
        pk = measures.pk(day.items, list(hyp))
        wd = measures.window_diff(day.items, list(hyp))
        if pk is not None and wd is not None:
            pks.append(pk)
            wds.append(wd)
    return float(np.mean(pks)), float(np.mean(wds))


def _fill(values: list[Any], missing: Any) -> list[Any]:
    """Each missing value takes the next present one of its day, else the previous one."""
    out = list(values)
    nxt = missing
    for i in range(len(out) - 1, -1, -1):
        if out[i] is missing:
            out[i] = nxt
        else:
            nxt = out[i]
    prev = missing
    for i in range(len(out)):
        if out[i] is missing:
            out[i] = prev
        else:
            prev = out[i]
    return out


# -- the pipeline -------------------------------------------------------------------------


def write_days(data: Data, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for day in data.days:
            fh.write(
                json.dumps({"id": day.date, "text": "\n".join(day.paragraphs)}, ensure_ascii=False) + "\n"
            )


def same_topic_share(by_doc: dict[str, list[dict[str, str]]]) -> float | None:
    """The share of adjacent segment pairs whose dominant topic is the same."""
    pairs = [pair for rows in by_doc.values() for pair in itertools.pairwise(rows)]
    return sum(a["dominant_topic"] == b["dominant_topic"] for a, b in pairs) / len(pairs) if pairs else None


def run_pipeline(
    data: Data, source: Path, workdir: Path, name: str, seed: int, overrides: list[str]
) -> tuple[list[int], list[int], list[list[int]], float, float | None]:
    """Paragraph topics (own mixes, and their segment's), each day's segmentation, seconds,
    and the share of adjacent segments with one dominant topic."""
    from gensim.corpora import MmCorpus

    from pipeline.config import load_config
    from pipeline.runner import run_pipeline as run

    config_path = workdir / f"{name}.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "run": {"name": name, "seed": seed, "output_dir": str(workdir / "runs")},
                "input": {"paths": [str(source)], "format": "jsonl", "id_field": "id", "text_field": "text"},
                "model": {"num_topics": data.k},
            }
        ),
        encoding="utf-8",
    )
    config = load_config(config_path, overrides)
    t0 = time.perf_counter()
    run(config, force=True, reporter=quality.StageLog())  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    run_dir = config.run_dir
    lengths = [sum(c for _, c in bow) for bow in MmCorpus(str(run_dir / "corpus" / "corpus.mm"))]
    day_of = {day.date: d for d, day in enumerate(data.days)}
    k = data.k
    mass = [np.zeros((len(day.paragraphs), k)) for day in data.days]
    unit_segment: dict[str, int] = {}
    segment_topic: dict[tuple[str, int], int] = {}
    with (run_dir / "segments.csv").open(encoding="utf-8", newline="") as fh:
        by_doc: dict[str, list[dict[str, str]]] = {}
        for row in csv.DictReader(fh):
            by_doc.setdefault(row["doc_id"], []).append(row)
    for doc_id, rows in by_doc.items():
        for row in rows:
            number = int(row["segment"])
            segment_topic[(doc_id, number)] = (
                int(row["dominant_topic"]) if row["dominant_topic"] else NO_TOPIC
            )
            unit_segment[row["first_unit"]] = number
    segment_of_paragraph: list[list[int | None]] = [[None] * len(day.paragraphs) for day in data.days]
    units = (json.loads(line) for line in (run_dir / "units.jsonl").open(encoding="utf-8"))
    with (run_dir / "assignments.csv").open(encoding="utf-8", newline="") as fh:
        current = -1
        last_doc = ""
        for unit, row, n_tok in zip(units, csv.DictReader(fh), lengths, strict=True):
            d = day_of[unit["doc_id"]]
            if unit["doc_id"] != last_doc:
                current, last_doc = -1, unit["doc_id"]
            current = unit_segment.get(unit["unit_id"], current)
            theta = np.array([float(row[f"topic_{t}"]) for t in range(k)])
            for p in range(unit["text_line_start"] - 1, unit["text_line_end"]):
                mass[d][p] += n_tok * theta
                if segment_of_paragraph[d][p] is None:
                    segment_of_paragraph[d][p] = current
    own: list[int] = []
    by_segment: list[int] = []
    segmented: list[list[int]] = []
    for d, day in enumerate(data.days):
        topics = [int(np.argmax(m)) if m.sum() > 0 else None for m in mass[d]]
        own += [NO_TOPIC if t is None else t for t in _fill(topics, None)]
        segs = _fill(segment_of_paragraph[d], None)
        segs = [0 if s is None else s for s in segs]
        segmented.append(segs)
        by_segment += [segment_topic.get((day.date, s), NO_TOPIC) for s in segs]
    return own, by_segment, segmented, seconds, same_topic_share(by_doc)


# -- peers ----------------------------------------------------------------------------------


@dataclass
class Shared:
    """The peers' tokenization of every paragraph."""

    texts: list[list[str]]  # kept tokens of each paragraph
    raw: list[list[str]]  # jieba tokens without punctuation, for TextTiling
    dictionary: Any
    bows: list[list[tuple[int, int]]]
    seconds: float


def tokenize_shared(data: Data, stopwords: frozenset[str]) -> Shared:
    docs = [
        quality.Doc(f"p{i}", "", data.days[d].paragraphs[p]) for i, (d, p) in enumerate(data.paragraphs())
    ]
    prep = quality.prepare(docs, stopwords)
    raw = [[t for t in tokens if t.strip() and not quality.is_symbol(t)] for tokens in prep.raw]
    return Shared(prep.filtered, raw, prep.dictionary, prep.bows, prep.seconds)


def tomotopy_days(data: Data, shared: Shared, seed: int) -> list[int]:
    import tomotopy as tp

    mdl = tp.LDAModel(k=data.k, seed=seed)
    spans = []
    start = 0
    for day in data.days:
        tokens = [w for i in range(start, start + len(day.paragraphs)) for w in shared.texts[i]]
        mdl.add_doc(tokens)
        spans.append((start, start + len(day.paragraphs)))
        start += len(day.paragraphs)
    mdl.train(1000, workers=1)
    docs = [(i, mdl.make_doc(tokens)) for i, tokens in enumerate(shared.texts) if tokens]
    topics = [NO_TOPIC] * len(shared.texts)
    dists, _ = mdl.infer([doc for _, doc in docs], workers=1)
    for (i, _), dist in zip(docs, dists, strict=True):
        topics[i] = int(np.argmax(dist))
    return topics


def tomotopy_paragraphs(data: Data, shared: Shared, seed: int) -> list[int]:
    import tomotopy as tp

    mdl = tp.LDAModel(k=data.k, seed=seed)
    added = [i for i, tokens in enumerate(shared.texts) if tokens and mdl.add_doc(tokens) is not None]
    mdl.train(1000, workers=1)
    topics = [NO_TOPIC] * len(shared.texts)
    for i, doc in zip(added, mdl.docs, strict=True):
        topics[i] = int(np.argmax(doc.get_topic_dist()))
    return topics


def sklearn_lda(data: Data, shared: Shared, seed: int) -> list[int]:
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer

    x = CountVectorizer(analyzer=quality._identity).fit_transform(shared.texts)
    lda = LatentDirichletAllocation(
        n_components=data.k, random_state=seed, learning_method="batch", max_iter=20
    )
    theta = lda.fit_transform(x)
    return [
        int(np.argmax(row)) if tokens else NO_TOPIC for row, tokens in zip(theta, shared.texts, strict=True)
    ]


def gensim_auto20(data: Data, shared: Shared, seed: int) -> list[int]:
    from gensim.models import LdaModel

    lda = LdaModel(
        corpus=shared.bows, id2word=shared.dictionary, num_topics=data.k, random_state=seed,
        alpha="auto", eta="auto", passes=20,
    )  # fmt: skip
    topics = []
    for bow in shared.bows:
        if not bow:
            topics.append(NO_TOPIC)
            continue
        dense = np.zeros(data.k)
        for t, p in lda.get_document_topics(bow, minimum_probability=0):
            dense[t] = p
        topics.append(int(np.argmax(dense)))
    return topics


PEERS: dict[str, Callable[[Data, Shared, int], list[int]]] = {
    "tomotopy-days": tomotopy_days,
    "tomotopy-paragraphs": tomotopy_paragraphs,
    "sklearn-lda": sklearn_lda,
    "gensim-auto20": gensim_auto20,
}
PIPELINES = {"pipeline": [], "pipeline-tomotopy": ["model.engine=tomotopy", "model.iterations=1000"]}


# -- segmentation baselines ---------------------------------------------------------------


def _latin(index: int) -> str:
    """A word of letters for a token number: NLTK's TextTiling keeps only a-z."""
    letters = ""
    while True:
        index, r = divmod(index, 26)
        letters = chr(ord("a") + r) + letters
        if not index:
            return "w" + letters


def text_tiling(data: Data, shared: Shared) -> list[list[int]]:
    """NLTK's TextTiling on each day: segment number of each paragraph. Each jieba token is
    written as a word of letters (TextTiling drops every other character), the same word
    for the same token."""
    from nltk.tokenize.texttiling import TextTilingTokenizer

    tiler = TextTilingTokenizer(stopwords=[])
    tiler.MAX_TEXT_LEN = 10**9  # a day is far below the quadratic limit this guards
    names: dict[str, str] = {}
    out = []
    start = 0
    for day in data.days:
        n = len(day.paragraphs)
        words = [
            " ".join(names.setdefault(t, _latin(len(names))) for t in shared.raw[i]) or "wempty"
            for i in range(start, start + n)
        ]
        start += n
        try:
            pieces = tiler.tokenize("\n\n".join(words))
        except ValueError:  # too short to tile: one segment
            pieces = ["\n\n".join(words)]
        labels: list[int] = []
        for number, piece in enumerate(pieces):
            labels += [number] * len([b for b in piece.split("\n\n") if b.strip()])
        if len(labels) != n:
            raise RuntimeError(f"{day.date}: TextTiling returned {len(labels)} paragraphs of {n}")
        out.append(labels)
    return out


# -- the run ------------------------------------------------------------------------------


def median_rows(rows: Sequence[Row]) -> list[Row]:
    out: list[Row] = []
    for system in dict.fromkeys(r.system for r in rows):
        mine = [r for r in rows if r.system == system]
        failed = [r for r in mine if r.error]
        if failed:
            out.append(failed[0])
            continue

        def med(key: str, mine: list[Row] = mine) -> float | None:
            values = [getattr(r, key) for r in mine if getattr(r, key) is not None]
            return float(statistics.median(values)) if values else None

        out.append(
            Row(
                system, None, med("nmi"), med("ari"), int(med("covered") or 0), med("pk"), med("window_diff"),
                med("same_topic"), float(med("seconds") or 0.0),
            )
        )  # fmt: skip
    return out


def fmt(x: float | None, digits: int = 3) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def markdown(rows: Sequence[Row], scored: int) -> str:
    head = (
        "| system | seed | paragraph NMI | paragraph ARI | covered | Pk | WindowDiff | same-topic cuts "
        "| seconds |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        seed = "median" if r.seed is None else str(r.seed)
        if r.error:
            lines.append(f"| {r.system} | {seed} | failed: {r.error} | | | | | | |")
            continue
        covered = f"{r.covered}/{scored}" if r.nmi is not None else ""
        lines.append(
            f"| {r.system} | {seed} | {fmt(r.nmi)} | {fmt(r.ari)} | {covered} | {fmt(r.pk)} | "
            f"{fmt(r.window_diff)} | {'' if r.same_topic is None else f'{r.same_topic:.1%}'} "
            f"| {r.seconds:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--days", type=int, default=200, help="broadcast days sampled (from 2017 on)")
    ap.add_argument("--seeds", type=int, default=3, help="model seeds SEED, SEED+1, ...")
    ap.add_argument("--seed", type=int, default=42, help="the sample's seed and the first model seed")
    ap.add_argument("--quick", action="store_true", help="20 days, one seed: a smoke run")
    ap.add_argument("--systems", default="", help="comma-separated subset of systems to run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    if args.quick:
        args.days, args.seeds = 20, 1
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found (the xwlb corpus is not on this machine)")
        return 0
    wanted = set(filter(None, args.systems.split(",")))
    t0 = time.perf_counter()
    data = read_days(CORPUS, args.days, args.seed)
    n_par = sum(len(d.paragraphs) for d in data.days)
    scored = sum(g is not None for g in data.gold())
    print(
        f"{len(data.days)} days, {n_par} paragraphs ({scored} scored), K={data.k} "
        f"(read in {time.perf_counter() - t0:.1f}s)",
        file=sys.stderr,
    )
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-paragraphs-"))
    source = workdir / "days.jsonl"
    write_days(data, source)
    stopwords, _ = quality.load_stopwords()
    shared = tokenize_shared(data, stopwords)
    rows: list[Row] = []

    def attempt(system: str, seed: int | None, fn: Callable[[], Row]) -> None:
        if wanted and system.split("+")[0] not in wanted:
            return
        t = time.perf_counter()
        try:
            row = fn()
        except Exception as exc:
            row = Row(system, seed, error=quality.first_line(exc))
        print(
            f"  {system} (seed {seed}): {row.error or f'done in {time.perf_counter() - t:.1f}s'}",
            file=sys.stderr,
        )
        rows.append(row)

    seeds = [args.seed + i for i in range(args.seeds)]
    try:
        for seed in seeds:
            for name, overrides in PIPELINES.items():

                def pipe(name: str = name, overrides: list[str] = overrides, seed: int = seed) -> Row:
                    own, by_seg, segmented, seconds, same = run_pipeline(
                        data, source, workdir, f"{name}-{seed}", seed, overrides
                    )
                    nmi, ari, covered = paragraph_scores(data, own)
                    pk, wd = segmentation_scores(data, segmented)
                    return Row(
                        name, seed, nmi, ari, covered, pk, wd, same, seconds, extra={"by_segment": by_seg}
                    )

                attempt(name, seed, pipe)
                if (
                    rows
                    and (rows[-1].system, rows[-1].seed) == (name, seed)
                    and "by_segment" in rows[-1].extra
                ):
                    nmi, ari, covered = paragraph_scores(data, rows[-1].extra["by_segment"])
                    rows.append(Row(f"{name}+segment", seed, nmi, ari, covered, seconds=rows[-1].seconds))
            for name, peer in PEERS.items():

                def run_peer(peer: Callable[[Data, Shared, int], list[int]] = peer, name: str = name,
                             seed: int = seed) -> Row:  # fmt: skip
                    t = time.perf_counter()
                    topics = peer(data, shared, seed)
                    nmi, ari, covered = paragraph_scores(data, topics)
                    return Row(
                        name, seed, nmi, ari, covered, seconds=shared.seconds + time.perf_counter() - t
                    )

                attempt(name, seed, run_peer)

        def tiling_row() -> Row:
            t = time.perf_counter()
            pk, wd = segmentation_scores(data, text_tiling(data, shared))
            return Row("texttiling", None, pk=pk, window_diff=wd, seconds=time.perf_counter() - t)

        attempt("texttiling", None, tiling_row)
        for name, cut in (
            ("one segment per day", lambda n: [0] * n),
            ("one segment per paragraph", lambda n: list(range(n))),
        ):
            pk, wd = segmentation_scores(data, [cut(len(d.paragraphs)) for d in data.days])
            rows.append(Row(name, None, pk=pk, window_diff=wd))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}", file=sys.stderr)
    by_seed = [r for r in rows if r.seed is not None]
    summary = median_rows(by_seed) + [r for r in rows if r.seed is None]
    header = (
        f"xwlb day documents: {len(data.days)} days from {FIRST_DAY[:4]} on (sample seed {args.seed}), "
        f"{n_par} paragraphs, {scored} with a gold section, K={data.k}; model seeds "
        f"{', '.join(map(str, seeds))}; {quality.versions()}; pipeline {quality.pipeline_source()}"
    )
    table = markdown(summary, scored)
    print(header)
    print(table)
    out = quality.RESULTS_DIR / ("paragraphs-quick.md" if args.quick else "paragraphs.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        f"# Paragraph topics and segmentation\n\n{header}\n\nMedians over the model seeds:\n\n{table}\n\n"
        f"Every seed:\n\n{markdown(by_seed, scored)}\n",
        encoding="utf-8",
    )
    print(f"wrote {out}", file=sys.stderr)
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
