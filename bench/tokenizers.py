"""Do jieba and rjieba keep the same tokens? The share of units with identical token lists.

For the seeds and each labelled corpus of ``bench/quality.py`` (a seeded sample of
``--docs`` documents), the pipeline runs to its tokenize stage twice over one segment
output, with ``tokenize.engine: jieba`` and with ``rjieba``, everything else the default
config; the two ``tokens.jsonl`` are compared unit by unit. rjieba is the default only if
every corpus agrees on at least 99.9% of units::

    .venv/bin/python bench/tokenizers.py --docs 2000

Corpora absent from ``../shared/corpora`` are skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from pipeline.config import load_config
from pipeline.runner import run_pipeline

BENCH = Path(__file__).resolve().parent
GOAL = 0.999


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses of the module look themselves up here
    spec.loader.exec_module(module)
    return module


def compare(name: str, paths: list[str], folder: Path, fields: dict[str, str]) -> dict[str, float]:
    import yaml

    base = {"run": {"output_dir": str(folder / "runs"), "name": name}, "input": {"paths": paths, **fields}}
    config = folder / f"{name}.yaml"
    config.write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    out = {}
    for engine in ("jieba", "rjieba"):
        cfg = load_config(config, [f"tokenize.engine={engine}", f"run.name={name}-{engine}"])
        run_pipeline(cfg, to_stage="tokenize")
        out[engine] = cfg.run_dir / "tokens.jsonl"
    return _module("scale").agreement(out["jieba"], out["rjieba"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents sampled from each corpus")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    quality = _module("quality")
    folder = Path(tempfile.mkdtemp(prefix="tokenizers-"))
    rows = [("seeds", compare("seeds", [str(BENCH.parent / "seeds")], folder, {}))]
    for corpus in quality.CORPORA:
        if not corpus.path.exists():
            print(f"{corpus.name}: skipped ({corpus.path} absent)")
            continue
        docs = quality.sample(corpus.read(corpus.path), args.docs, args.seed)
        data = folder / f"{corpus.name}.jsonl"
        quality.write_jsonl(docs, data)
        fields = {"format": "jsonl", "text_field": "text", "id_field": "id"}
        rows.append((corpus.name, compare(corpus.name, [str(data)], folder, fields)))
    print(f"{'corpus':<16} {'units identical':>16} {'token F1':>9}")
    for name, r in rows:
        print(f"{name:<16} {100 * r['units_identical']:>15.2f}% {r['token_f1']:>9.5f}")
    worst = min(r["units_identical"] for _, r in rows)
    verdict = "meets" if worst >= GOAL else "misses"
    print(f"lowest agreement {100 * worst:.2f}% of units: {verdict} the 99.9% goal")


if __name__ == "__main__":
    main()
