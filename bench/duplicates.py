"""Near-duplicate documents: planted one-character copies found, and false alarms.

Run from the repository root::

    .venv/bin/python bench/duplicates.py                  # every corpus, 2000 documents (xwlb 3000)
    .venv/bin/python bench/duplicates.py --corpora xwlb --thresholds 0.6,0.7,0.8

What is measured
----------------
For each labelled corpus of ``bench/quality.py`` a seeded sample is drawn (``--docs``,
xwlb ``--xwlb-items``). A tenth of its documents, drawn with ``--seed``, get a copy with
one Chinese character replaced by another at a random place, inserted at a random later
position. The documents go through the pipeline's segment stage (furniture and learned
boilerplate removed, as a run would; one jsonl record a document, xwlb items as
their paragraphs) and the near-duplicate finder of ``pipeline.duplicates`` at each
similarity threshold of ``--thresholds`` (Jaccard of 3-character shingles, estimated by
MinHash with LSH):

* found: the share of planted copies listed as duplicates of their source (or, when the
  source is itself a duplicate of an earlier document, of that document);
* false: the documents listed that are not planted copies, as a share of all documents;
  ``true J`` gives how many of those share at least the threshold of their shingles in
  fact (repeats of the corpus's own), the rest are the estimate's errors.

Goal: found ≥ 90% and false < 2% at the default threshold. The table goes to stdout and
``bench/results/duplicates.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality

from pipeline import duplicates


def one_changed(text: str, rng: random.Random) -> str | None:
    places = [i for i, c in enumerate(text) if "\u4e00" <= c <= "\u9fff"]
    if not places:
        return None
    at = rng.choice(places)
    new = text[at]
    while new == text[at]:
        new = chr(0x4E00 + rng.randrange(0x5000))
    return text[:at] + new + text[at + 1 :]


def plant(texts: list[str], seed: int, share: float = 0.1) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The documents with copies inserted: (id, text) in order, and copy id -> source id."""
    rng = random.Random(seed)
    docs = [(f"d{i:05d}", t) for i, t in enumerate(texts)]
    planted: dict[str, str] = {}
    for n, i in enumerate(sorted(rng.sample(range(len(texts)), int(share * len(texts))))):
        copy = one_changed(texts[i], rng)
        if copy is None:
            continue
        source = docs.index((f"d{i:05d}", texts[i]))
        docs.insert(rng.randrange(source + 1, len(docs) + 1), (f"c{n:05d}", copy))
        planted[f"c{n:05d}"] = f"d{i:05d}"
    return docs, planted


def segmented_texts(docs: list[tuple[str, str]], workdir: Path) -> list[tuple[str, str]]:
    """Each document's text as it reaches units, from a segment-only pipeline run."""
    from pipeline.config import load_config
    from pipeline.runner import run_pipeline

    path = workdir / "docs.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": d, "paragraphs": t.split("\n")}, ensure_ascii=False) + "\n" for d, t in docs
        ),
        encoding="utf-8",
    )
    config = load_config(
        None,
        [
            f"input.paths=[{path}]",
            "input.text_field=paragraphs",
            "input.id_field=id",
            f"run.output_dir={workdir / 'runs'}",
            "run.name=dupes",
            "segment.duplicates=false",
        ],
    )
    run_pipeline(config, to_stage="segment", force=True, reporter=quality.StageLog())  # type: ignore[arg-type]
    texts: dict[str, list[str]] = {d: [] for d, _ in docs}
    with (config.run_dir / "units.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            unit = json.loads(line)
            texts[unit["doc_id"]].append(unit["text"])
    return [(d, "".join(texts[d])) for d, _ in docs]


def jaccard(a: str, b: str) -> float:
    x, y = set(duplicates.shingle_hashes(a).tolist()), set(duplicates.shingle_hashes(b).tolist())
    return len(x & y) / len(x | y) if x | y else 0.0


def score(docs: list[tuple[str, str]], planted: dict[str, str], threshold: float) -> dict[str, Any]:
    finder = duplicates.Finder(threshold)
    found: dict[str, str] = {}
    for doc_id, text in docs:
        dup = finder.add(doc_id, duplicates.signature(text))
        if dup is not None:
            found[dup.doc_id] = dup.duplicate_of
    hits = sum(
        1 for c, s in planted.items() if found.get(c) in (s, found.get(s)) and found.get(c) is not None
    )
    texts = dict(docs)
    false = [d for d in found if d not in planted]
    real = sum(1 for d in false if jaccard(texts[d], texts[found[d]]) >= threshold)
    return {
        "found": hits / len(planted),
        "false": len(false) / len(docs),
        "false_n": len(false),
        "real": real,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=2000, help="documents per corpus (default 2000)")
    ap.add_argument("--xwlb-items", type=int, default=3000, help="xwlb items (default 3000)")
    ap.add_argument("--seed", type=int, default=42, help="sample and planting seed (default 42)")
    ap.add_argument("--thresholds", default="0.5,0.6,0.7,0.8,0.9", help="similarity thresholds")
    ap.add_argument("--corpora", default="", help="comma-separated subset of corpora")
    args = ap.parse_args(argv)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    wanted = set(filter(None, args.corpora.split(",")))
    lines = [
        f"# Near-duplicates: one-character copies of a tenth of the documents, seed {args.seed}",
        "",
        "| corpus | documents | copies | threshold | found | false (true J ≥ threshold) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for corpus in quality.CORPORA:
        if wanted and corpus.name not in wanted:
            continue
        if not corpus.path.exists():
            print(f"skipped {corpus.name}: {corpus.path} not found", file=sys.stderr)
            continue
        n = args.xwlb_items if corpus.name == "xwlb" else args.docs
        sample = quality.sample(corpus.read(corpus.path), n, args.seed)
        docs, planted = plant([d.text for d in sample], args.seed)
        workdir = Path(tempfile.mkdtemp(prefix="bench-duplicates-"))
        try:
            docs = segmented_texts(docs, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        for t in thresholds:
            s = score(docs, planted, t)
            lines.append(
                f"| {corpus.name} | {len(docs):,} | {len(planted):,} | {t:.2f} | {s['found']:.1%} | "
                f"{s['false']:.2%} ({s['false_n']}, {s['real']}) |"
            )
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    quality.RESULTS_DIR.mkdir(exist_ok=True)
    (quality.RESULTS_DIR / "duplicates.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
