"""Peak memory of each stage on two sizes of a news corpus: what grows with the units.

Run from the repository root::

    .venv/bin/python bench/memory.py                          # 2,000 and 8,000 items, K=100
    .venv/bin/python bench/memory.py --items 1000 --scale 4 --topics 50
    .venv/bin/python bench/memory.py --code /tmp/old-checkout  # the same runs with other code

Corpus
------
``../shared/corpora/xwlb/xwlb_2012-2026.jsonl.xz`` (CCTV Xinwen Lianbo news items; research
use only), looked for beside the repository and beside its parent folder (a worktree).
If it is absent the script prints ``skipped: <reason>`` and exits 0. The small size is
every n-th item, ``--items`` of them; the large one ``--scale`` times as many, every
(n/scale)-th item, so the small sample is part of the large one. Each is written, in
corpus order, to a temporary jsonl outside the repository (removed at the end), one row
per item: ``id``, ``date``, ``text`` = its paragraphs joined with newlines, so the segment
stage makes paragraph units.

What is measured
----------------
Each stage runs in a child process of its own, ``python -m pipeline run CONFIG --from S
--to S`` (``PYTHONPATH`` = ``--code``), in order on one run folder, with
``executor.workers=--workers``, ``model.num_topics=--topics``, ``model.passes=--passes``,
``model.iterations=--iterations``, ``report.prevalence_field=date``. Its peak resident
memory is ``ru_maxrss`` of ``os.wait4`` on the child: the largest of the child and the
worker processes it waited for (not their sum; workers are forked from it and share its
pages). Every child pays the interpreter and its imports, so a stage's growth from the
small to the large size, not its level, is what depends on the units. Timings are not
measured (``--workers`` 2 on a busy machine would not be a fair clock).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NAME = "xwlb_2012-2026.jsonl.xz"
CANDIDATES = [
    REPO.parent / "shared" / "corpora" / "xwlb" / NAME,
    REPO.parent.parent / "shared" / "corpora" / "xwlb" / NAME,
]
STAGES = ["segment", "tokenize", "dictionary", "train", "assign", "report"]


def write_samples(corpus: Path, items: int, scale: int, folder: Path) -> list[tuple[Path, int]]:
    """The small and the large sample (nested: every n-th item and every (n/scale)-th)."""
    with lzma.open(corpus, "rt", encoding="utf-8") as fh:
        total = sum(1 for _ in fh)
    large_step = max(1, total // (items * scale))
    steps = [large_step * scale, large_step]
    paths = [folder / f"xwlb-every-{s}.jsonl" for s in steps]
    counts = [0, 0]
    outs = [p.open("w", encoding="utf-8") for p in paths]
    try:
        with lzma.open(corpus, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                limits = (items, items * scale)
                wanted = [j for j, s in enumerate(steps) if i % s == 0 and counts[j] < limits[j]]
                if not wanted:
                    continue
                item = json.loads(line)
                text = "\n".join(item["paragraphs"])
                row = json.dumps({"id": item["id"], "date": item["date"], "text": text}, ensure_ascii=False)
                for j in wanted:
                    outs[j].write(row + "\n")
                    counts[j] += 1
    finally:
        for out in outs:
            out.close()
    return list(zip(paths, counts, strict=True))


def write_config(folder: Path, sample: Path, name: str) -> Path:
    text = (
        f"run: {{name: {name}, seed: 42, output_dir: {json.dumps(str(folder / 'runs'))}}}\n"
        f"input: {{paths: [{json.dumps(str(sample))}], format: jsonl, text_field: text, id_field: id, "
        "meta_fields: [date]}\n"
    )
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_stage(code: Path, config: Path, stage: str, settings: list[str], log: Path) -> int:
    """One stage in a child process; its peak RSS in KiB (the largest process)."""
    cmd = [sys.executable, "-m", "pipeline", "run", str(config), "--from", stage, "--to", stage]
    for s in settings:
        cmd += ["--set", s]
    env = {**os.environ, "PYTHONPATH": str(code)}
    with log.open("a", encoding="utf-8") as out:
        child = subprocess.Popen(cmd, cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{stage} failed ({child.returncode}); see {log}")
    return int(usage.ru_maxrss)


def measure(code: Path, folder: Path, sample: Path, name: str, args: argparse.Namespace) -> dict[str, Any]:
    config = write_config(folder, sample, name)
    settings = [
        f"executor.workers={args.workers}",
        f"model.num_topics={args.topics}",
        f"model.passes={args.passes}",
        f"model.iterations={args.iterations}",
        "report.prevalence_field=date",
    ]
    log = folder / f"{name}.log"
    peaks = {stage: run_stage(code, config, stage, settings, log) for stage in STAGES}
    manifest = json.loads((folder / "runs" / name / "manifest.json").read_text(encoding="utf-8"))
    units = manifest["stages"]["segment"]["counts"].get("units")
    return {"units": units, "peaks": peaks}


def table(results: list[tuple[int, dict[str, Any]]], args: argparse.Namespace) -> str:
    (items_a, a), (items_b, b) = results
    lines = [
        f"K={args.topics}, {args.passes} passes, {args.iterations} iterations, {args.workers} workers; "
        f"code: {args.code}",
        "",
        f"| stage | peak RSS, {items_a:,} items ({a['units']:,} units) | "
        f"{items_b:,} items ({b['units']:,} units) | growth |",
        "|---|---:|---:|---:|",
    ]
    for stage in STAGES:
        pa, pb = a["peaks"][stage] / 1024, b["peaks"][stage] / 1024
        lines.append(f"| {stage} | {pa:,.0f} MB | {pb:,.0f} MB | {pb - pa:+,.0f} MB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000, help="news items in the small sample")
    parser.add_argument("--scale", type=int, default=4, help="the large sample is this many times larger")
    parser.add_argument("--topics", type=int, default=100)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout whose pipeline is measured")
    parser.add_argument("--corpus", type=Path, default=None, help="the xwlb .jsonl.xz (default: looked for)")
    args = parser.parse_args(argv)
    corpus = args.corpus or next((c for c in CANDIDATES if c.exists()), None)
    if corpus is None or not corpus.exists():
        print(f"skipped: the xwlb corpus is not at {' or '.join(str(c) for c in CANDIDATES)}")
        return 0
    args.code = args.code.resolve()
    with tempfile.TemporaryDirectory(prefix="pipeline-memory-") as tmp:
        folder = Path(tmp)
        samples = write_samples(corpus, args.items, args.scale, folder)
        results = []
        for n, (sample, items) in enumerate(samples):
            print(f"measuring {items:,} items ...", file=sys.stderr, flush=True)
            results.append((items, measure(args.code, folder, sample, f"size{n}", args)))
    print(table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
