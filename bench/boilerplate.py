"""Boilerplate learned from the corpus, and words kept whole, on xwlb news items.

Run from the repository root::

    .venv/bin/python bench/boilerplate.py                 # 3000 items, K = 20, seed 42
    .venv/bin/python bench/boilerplate.py --items 500     # a quicker look
    .venv/bin/python bench/boilerplate.py --set tokenize.new_words=false

Corpus
------
``../shared/corpora/xwlb/xwlb_2012-2026.jsonl.xz`` (CCTV Xinwen Lianbo, one record per news
item; research use only). ``--items`` items are drawn at random (``--seed``) from all years;
they are written, with their ``date``, ``title`` and ``paragraphs`` (a list), to a temporary
jsonl and run through the pipeline with ``input.text_field: paragraphs``,
``input.title_field: title`` and K = ``--k`` topics. Nothing of the corpus is written inside
the repository.

Planted boilerplate
-------------------
Half of the items (every other one, in the sample's order) get two strings of this
script's own invention: a prefix before their first paragraph, ``【晨光快讯·第N期】`` with N
a number of 3 or 4 digits drawn per item, and a credit at the end of their last paragraph,
``（晨光通讯社供稿 编辑：A 校对：B）`` with A and B names drawn per item from 24 made-up
names. The items' own datelines (``央视网消息（新闻联播）：``, 2012-2015 also
``中国网络电视台消息(新闻联播)：``, with full- or half-width brackets) are the corpus's.

Measures
--------
* For each planted string and each dateline: the share of units (``units.jsonl``) whose text
  still holds it (goal: at most 1%).
* The words of the planted strings and the datelines (as jieba cuts them, less the names)
  found among any topic's first 10 terms in ``topics.csv`` (goal: none).
* Other text reaching units: the characters of the units over the characters of the same
  run's units with ``segment.boilerplate: false`` (a segment-only run), both less the
  characters of the planted strings and datelines they hold (goal: at least 90%).
* Words kept whole (``vocab.tsv``): the counts of 一带一路 and of 一带 (goal: 一带 at most a
  tenth of 一带一路), whether 大湾 and 日称 are terms (goal: not), the words found in the corpus
  that ``tokenize_audit.json`` lists, and the count of the rarest term any topic ranks first
  ten at λ = 0 (goal: at least the report's count floor).
* Segments (``segments.csv``): the share of adjacent segments with one dominant topic
  (goal: at most 5%), and the documents cut in segments against those whose segments
  carry two or more topics.

Output: the numbers on stdout and as Markdown in ``bench/results/boilerplate.md``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import lzma
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality

CORPUS = quality.CORPORA_ROOT / "xwlb" / "xwlb_2012-2026.jsonl.xz"
NAMES = [
    *["王小明", "刘芳", "陈建国", "赵丽", "孙伟", "周婷", "吴刚", "郑秀英", "钱多多", "冯雪", "褚明", "卫红"],
    *["蒋立新", "沈静", "韩梅", "杨帆", "朱琳", "秦川", "尤佳", "许诺", "何平", "吕方", "施然", "张乐"],
]
PREFIX = re.compile(r"【晨光快讯·第\d+期】")
CREDIT = re.compile(r"（晨光通讯社供稿 编辑：\w+ 校对：\w+）")
DATELINES = {
    "央视网消息（新闻联播）": re.compile(r"央视网消息[（(]新闻联播[)）]"),
    "中国网络电视台消息(新闻联播)": re.compile(r"中国网络电视台消息[（(]新闻联播[)）]"),
}
MARKERS = {"planted prefix": PREFIX, "planted credit": CREDIT, **DATELINES}
BOILERPLATE_WORDS = {
    "晨光",
    "快讯",
    "通讯社",
    "供稿",
    "编辑",
    "校对",
    "央视网",
    "消息",
    "新闻联播",
    "中国网络电视台",
}


def read_items(path: Path, n: int, seed: int) -> list[dict[str, Any]]:
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    rows = [r for r in rows if any(p.strip() for p in r.get("paragraphs") or [])]
    picked = random.Random(seed).sample(range(len(rows)), min(n, len(rows)))
    return [rows[i] for i in picked]


def plant(items: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Every other item gets the prefix and the credit; ids i00000...."""
    rng = random.Random(seed + 1)
    out = []
    for i, item in enumerate(items):
        paragraphs = [p for p in item["paragraphs"] if p.strip()]
        if i % 2 == 0:
            a, b = rng.sample(NAMES, 2)
            paragraphs[0] = f"【晨光快讯·第{rng.randint(100, 9999)}期】" + paragraphs[0]
            paragraphs[-1] = paragraphs[-1] + f"（晨光通讯社供稿 编辑：{a} 校对：{b}）"
        out.append(
            {"id": f"i{i:05d}", "date": item["date"], "title": item["title"], "paragraphs": paragraphs}
        )
    return out


def run(
    items_path: Path, workdir: Path, name: str, k: int, seed: int, overrides: list[str], to: str | None
) -> Path:
    from pipeline.config import load_config
    from pipeline.runner import run_pipeline

    config_path = workdir / f"{name}.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "run": {"name": name, "seed": seed, "output_dir": str(workdir / "runs")},
                "input": {
                    "paths": [str(items_path)],
                    "format": "jsonl",
                    "text_field": "paragraphs",
                    "id_field": "id",
                    "title_field": "title",
                    "meta_fields": ["date"],
                },
                "model": {"num_topics": k},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    config = load_config(config_path, overrides)
    run_pipeline(config, force=True, to_stage=to, reporter=quality.StageLog())  # type: ignore[arg-type]
    return config.run_dir


def unit_texts(run_dir: Path) -> list[str]:
    with (run_dir / "units.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


def visible(text: str) -> int:
    return sum(map(len, text.split()))


def other_chars(texts: list[str]) -> int:
    """Characters of the units less those of the planted strings and the datelines."""
    total = 0
    for text in texts:
        for pattern in MARKERS.values():
            text = pattern.sub("", text)
        total += visible(text)
    return total


def vocab(run_dir: Path) -> dict[str, int]:
    with (run_dir / "vocab.tsv").open(encoding="utf-8", newline="") as fh:
        return {row["token"]: int(row["count"]) for row in csv.DictReader(fh, delimiter="\t")}


def top_terms(run_dir: Path, n: int = 10) -> dict[int, list[str]]:
    topics: dict[int, list[str]] = {}
    with (run_dir / "topics.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if int(row["rank"]) <= n:
                topics.setdefault(int(row["topic"]), []).append(row["term"])
    return topics


def lowest_at_lambda_zero(run_dir: Path, config_min: int) -> tuple[int, int]:
    """The corpus count of the rarest term among any topic's first 10 by relevance at
    λ = 0, ranked as the report ranks them (``report.relevance_min_count``); and that floor."""
    import numpy as np

    from pipeline import engines, measures
    from pipeline.artifacts import RunStore

    store = RunStore(run_dir)
    model, dct = store.load_model(engines.load_model), store.load_dictionary()
    count = np.asarray([dct.cfs.get(i, 0) for i in range(len(dct))], dtype=float)
    terms = measures.relevance_terms(
        model.topic_term, count / count.sum(), count, dct.id2token, 0.0, 10, config_min
    )
    cfs = {dct.id2token[i]: n for i, n in dct.cfs.items()}
    return min(cfs[t] for topic in terms for t, _ in topic), config_min


def segment_changes(run_dir: Path) -> tuple[float, int, int]:
    """The share of adjacent segments (segments.csv) with one dominant topic; the documents
    cut in two or more segments, and those whose segments carry two or more topics."""
    by_doc: dict[str, list[str]] = {}
    with (run_dir / "segments.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            by_doc.setdefault(row["doc_id"], []).append(row["dominant_topic"])
    pairs = [pair for topics in by_doc.values() for pair in itertools.pairwise(topics)]
    same = sum(a == b for a, b in pairs) / len(pairs) if pairs else 0.0
    cut = sum(len(t) > 1 for t in by_doc.values())
    return same, cut, sum(len(set(t)) > 1 for t in by_doc.values())


def measure(run_dir: Path, baseline: Path) -> dict[str, Any]:
    texts = unit_texts(run_dir)
    shares = {name: sum(bool(p.search(t)) for t in texts) / len(texts) for name, p in MARKERS.items()}
    kept = other_chars(texts) / other_chars(unit_texts(baseline))
    topics = top_terms(run_dir)
    found = sorted({(t, w) for t, words in topics.items() for w in words if w in BOILERPLATE_WORDS})
    counts = vocab(run_dir)
    audit = json.loads((run_dir / "tokenize_audit.json").read_text(encoding="utf-8"))
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    lowest, floor = lowest_at_lambda_zero(run_dir, manifest["config"]["report"]["relevance_min_count"])
    same, cut, change = segment_changes(run_dir)
    return {
        "same_topic_cuts": same,
        "documents_cut": cut,
        "documents_changing": change,
        "units": len(texts),
        "shares": shares,
        "kept": kept,
        "boilerplate_in_top10": found,
        "一带一路": counts.get("一带一路", 0),
        "一带": counts.get("一带", 0),
        "大湾": counts.get("大湾", 0),
        "日称": counts.get("日称", 0),
        "new_words": len(audit.get("new_words", [])),
        "lowest_at_lambda_0": lowest,
        "floor": floor,
    }


def report(m: dict[str, Any], args: argparse.Namespace, seconds: float) -> str:
    lines = [
        f"# Boilerplate and words kept whole: {args.items} xwlb items, K={args.k}, seed {args.seed}",
        "",
        f"Overrides: {' '.join(args.set) or 'none'}; {m['units']:,} units; {seconds:.0f} s.",
        "",
        "| measure | value | goal |",
        "|---|---:|---:|",
    ]
    for name, share in m["shares"].items():
        lines.append(f"| units holding {name} | {share:.2%} | ≤ 1% |")
    found = ", ".join(f"{w} (topic {t})" for t, w in m["boilerplate_in_top10"]) or "none"
    lines += [
        f"| boilerplate words in a topic's top 10 | {found} | none |",
        f"| other text reaching units (vs boilerplate off) | {m['kept']:.1%} | ≥ 90% |",
        f"| count of 一带一路 / 一带 | {m['一带一路']:,} / {m['一带']:,} | 一带 ≤ a tenth |",
        f"| 大湾, 日称 in vocab.tsv | {m['大湾']:,}, {m['日称']:,} | 0, 0 |",
        f"| words found in the corpus (tokenize_audit.json) | {m['new_words']:,} | |",
        f"| rarest term in a top 10 at λ = 0 (count floor) | {m['lowest_at_lambda_0']} ({m['floor']}) "
        "| ≥ floor |",
        f"| adjacent segments with one dominant topic | {m['same_topic_cuts']:.1%} | ≤ 5% |",
        f"| documents cut in segments / whose topic changes | {m['documents_cut']:,} / "
        f"{m['documents_changing']:,} | |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=3000, help="news items sampled (default 3000)")
    ap.add_argument("--k", type=int, default=20, help="number of topics (default 20)")
    ap.add_argument("--seed", type=int, default=42, help="sample, planting and model seed (default 42)")
    ap.add_argument(
        "--set", action="append", default=[], help="a pipeline override key.path=value (repeatable)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = ap.parse_args(argv)
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found")
        return 0
    t0 = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="bench-boilerplate-"))
    try:
        items = plant(read_items(CORPUS, args.items, args.seed), args.seed)
        path = workdir / "items.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8")
        print(
            f"{len(items)} items, {sum(1 for i in range(len(items)) if i % 2 == 0)} planted", file=sys.stderr
        )
        base = run(
            path, workdir, "off", args.k, args.seed, [*args.set, "segment.boilerplate=false"], "segment"
        )
        run_dir = run(path, workdir, "on", args.k, args.seed, list(args.set), None)
        text = report(measure(run_dir, base), args, time.perf_counter() - t0)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(text)
    quality.RESULTS_DIR.mkdir(exist_ok=True)
    (quality.RESULTS_DIR / "boilerplate.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
