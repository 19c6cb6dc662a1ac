"""Many small files against one jsonl, and one huge line against the same text in lines.

Run from the repository root::

    .venv/bin/python bench/files.py                          # 2,000 files, a 5 MB line, 3 repetitions
    .venv/bin/python bench/files.py --files 100000 --line-mb 200 --repeat 1

Corpus
------
``../shared/corpora/xwlb/xwlb_2012-2026.jsonl.xz``, or ``../../shared/...`` from a worktree
(CCTV Xinwen Lianbo news items; research use only). If it is absent the script prints
``skipped: <reason>`` and exits 0. Everything is written to a temporary folder outside the
repository and removed at the end (``--keep`` keeps it).

What is compared, side by side in each repetition
-------------------------------------------------
1. ``files`` / ``jsonl``: the first ``--files`` items, each item's paragraphs joined with
   newlines, as one ``.txt`` file per item in a folder, and as one jsonl of one row per item
   (``id`` = the file's stem, so documents and units are the same). Past the corpus's 74,545
   items, items of two paragraphs or more are cut in two, in order, to make up the number.
2. ``line`` / ``lines``: items' paragraphs until ``--line-mb`` MB of UTF-8 (the corpus read
   again from its start past its end), as one ``.txt`` file of one line (the paragraphs run
   together), and as one ``.txt`` file of one line per paragraph.

Each case is ``pipeline run CONFIG --force`` in a fresh child process (``--to tokenize`` for
``line`` and ``lines``: segment and tokenize are what a huge line tests; ``executor.workers`` =
``--workers``, ``model.passes`` = ``--passes``, every other setting at its default); its wall
time is measured around the child, and the segment and tokenize stages' seconds are read from
``manifest.json``. The two cases of a pair run one after the other within a repetition, and
the figures are medians over ``--repeat`` repetitions. The ratios are files / jsonl and line /
lines (targets: whole run <= 1.5 for files, segment + tokenize <= 2 for the line).

The machine may be shared: the load average before and after is printed; compare ratios
measured in one run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
XWLB = Path("shared") / "corpora" / "xwlb" / "xwlb_2012-2026.jsonl.xz"
# Beside the repository, or beside the folder of its worktrees (/work/wt/NAME).
CORPUS = next(
    (base / XWLB for base in (REPO.parent, REPO.parent.parent) if (base / XWLB).is_file()), REPO.parent / XWLB
)
PAIRS = (("files", "jsonl"), ("line", "lines"))


def items(n: int | None = None, mb: float | None = None) -> list[list[str]]:
    """The paragraphs of the corpus's first ``n`` items, or of its first items up to ``mb`` MB.
    Past the corpus's end, ``mb`` reads it again from the start; ``n`` splits items in two,
    from the first, until there are ``n`` documents (100,000 small posts from 74,545 items)."""
    out: list[list[str]] = []
    size = 0
    while True:
        with lzma.open(CORPUS, "rt", encoding="utf-8") as fh:
            for line in fh:
                paragraphs = [p.strip() for p in json.loads(line)["paragraphs"] if p.strip()]
                if not paragraphs:
                    continue
                out.append(paragraphs)
                size += sum(len(p.encode()) for p in paragraphs)
                if (n is not None and len(out) >= n) or (mb is not None and size >= mb * 2**20):
                    return out
        if n is not None:
            return _split_to(out, n)
        if not out:
            return out


def _split_to(docs: list[list[str]], n: int) -> list[list[str]]:
    """``docs`` with items of two paragraphs or more cut in two, in order, until there are
    ``n`` (or no item left to cut)."""
    out: list[list[str]] = []
    extra = n - len(docs)
    for paragraphs in docs:
        if extra > 0 and len(paragraphs) >= 2:
            half = len(paragraphs) // 2
            out += [paragraphs[:half], paragraphs[half:]]
            extra -= 1
        else:
            out.append(paragraphs)
    return out


def write_inputs(folder: Path, n_files: int, line_mb: float) -> dict[str, Path]:
    """The four inputs: a folder of files, the same as a jsonl, a huge line, the same in lines."""
    files = folder / "files"
    files.mkdir()
    with (folder / "items.jsonl").open("w", encoding="utf-8") as rows:
        for i, paragraphs in enumerate(items(n=n_files)):
            text = "\n".join(paragraphs)
            (files / f"{i:06d}.txt").write_text(text + "\n", encoding="utf-8")
            rows.write(json.dumps({"id": f"{i:06d}", "text": text}, ensure_ascii=False) + "\n")
    paragraphs = [p for item in items(mb=line_mb) for p in item]
    (folder / "line.txt").write_text("".join(paragraphs) + "\n", encoding="utf-8")
    (folder / "lines.txt").write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
    return {
        "files": files,
        "jsonl": folder / "items.jsonl",
        "line": folder / "line.txt",
        "lines": folder / "lines.txt",
    }


def write_config(folder: Path, name: str, path: Path, args: argparse.Namespace) -> Path:
    data: dict[str, Any] = {
        "run": {"name": name, "output_dir": str(folder / "runs")},
        "input": {"paths": [str(path)]},
        "executor": {"workers": args.workers},
        "model": {"passes": args.passes},
    }
    if name == "jsonl":
        data["input"].update(format="jsonl", text_field="text", id_field="id")
    config = folder / f"{name}.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def run_once(folder: Path, name: str, config: Path) -> dict[str, float]:
    """One run in a child process (the line and lines to tokenize, the others whole):
    its wall time and two stages' seconds."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    # The huge line is about segment and tokenize: the runs of that pair stop there.
    until = ["--to", "tokenize"] if name in PAIRS[1] else []
    cmd = [sys.executable, "-m", "pipeline", "run", str(config), "--force", *until]
    log = folder / f"{name}.log"
    t0 = time.perf_counter()
    with log.open("ab") as fh:
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-10:]
        raise SystemExit(f"{name}: pipeline run failed (exit {done.returncode}):\n" + "\n".join(tail))
    stages = json.loads((folder / "runs" / name / "manifest.json").read_text(encoding="utf-8"))["stages"]
    return {
        "segment": stages["segment"]["seconds"],
        "tokenize": stages["tokenize"]["seconds"],
        "run": wall,
    }


def measure(folder: Path, inputs: dict[str, Path], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    configs = {name: write_config(folder, name, path, args) for name, path in inputs.items()}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in inputs}
    for rep in range(args.repeat):
        for pair in PAIRS:
            for name in pair:
                runs[name].append(run_once(folder, name, configs[name]))
                print(f"  repetition {rep + 1}: {name} {runs[name][-1]}", file=sys.stderr)
    return {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}


def table(medians: dict[str, dict[str, float]]) -> str:
    lines = [
        "| case | segment s | tokenize s | segment + tokenize s | run s (line, lines: to tokenize) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, m in medians.items():
        both = m["segment"] + m["tokenize"]
        lines.append(f"| {name} | {m['segment']:.1f} | {m['tokenize']:.1f} | {both:.1f} | {m['run']:.1f} |")
    for a, b in PAIRS:
        x, y = medians[a], medians[b]
        ratios = [x[k] / y[k] for k in ("segment", "tokenize")]
        both = (x["segment"] + x["tokenize"]) / (y["segment"] + y["tokenize"])
        lines.append(
            f"| {a} / {b} | {ratios[0]:.2f} | {ratios[1]:.2f} | {both:.2f} | {x['run'] / y['run']:.2f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--files", type=int, default=2000, help="small files (and jsonl rows)")
    ap.add_argument("--line-mb", type=float, default=5.0, help="MB of text in the single line")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions; medians are reported")
    ap.add_argument("--workers", type=int, default=2, help="executor.workers of the runs")
    ap.add_argument("--passes", type=int, default=2, help="model.passes of the runs")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found (the xwlb corpus is not on this machine)")
        return 0
    folder = Path(tempfile.mkdtemp(prefix="pipeline-bench-files-"))
    try:
        load = os.getloadavg()
        inputs = write_inputs(folder, args.files, args.line_mb)
        medians = measure(folder, inputs, args)
        print(
            f"{args.files} files vs one jsonl; a {args.line_mb:g} MB line vs lines; workers {args.workers}, "
            f"passes {args.passes}, medians of {args.repeat}; load average before {load[0]:.2f}, "
            f"after {os.getloadavg()[0]:.2f} (a shared machine: compare the ratios)"
        )
        print(table(medians))
    finally:
        if args.keep:
            print(f"kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
