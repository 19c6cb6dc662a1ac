"""How the pipeline scales on a large news corpus, against a plain hand-written script.

Run from the repository root::

    .venv/bin/python bench/scale.py                         # 10%, 50%, 100% of the corpus
    .venv/bin/python bench/scale.py --sizes 0.1,0.5 --repeat 3
    .venv/bin/python bench/scale.py --quick                 # smoke run on a tiny sample
    .venv/bin/python bench/scale.py --sizes 1,10 --topics 50 --dask   # ten times the corpus

Corpus
------
``../shared/corpora/xwlb/xwlb_2012-2026.jsonl.xz`` (CCTV Xinwen Lianbo, 74,545 news items; see
its README.txt; research use only). If it is absent the script prints ``skipped: <reason>`` and
exits 0. For each size f a seeded random subset of round(f * N) items is drawn (the subsets are
nested: the 10% items are among the 50% items) and written, in corpus (date) order, to a
temporary jsonl outside the repository (under ``tempfile.gettempdir()``), one row per item:
``id``, ``date``, ``text`` = the item's paragraphs joined with newlines, so the segment stage
makes paragraph units. Nothing of the corpus is written inside the repository; the temporary
files are removed at the end (``--keep`` keeps them).

Multiples of the corpus (``--sizes 1,10``): a corpus of m times the items' text, made of
recombined real items (``write_multiples``): rounds over every broadcast day, each cutting
the day's items into documents of three items, their paragraphs in turn, until the day has
m times its text; no two documents of a day share more than ``LIKENESS`` of their text
(two of three items of like length share a half; a near-duplicate needs 0.7), and an item
that would sits the round out (the table gives the ratio of characters). The 1x corpus is
round 0, nested in the others.
Each multiple gets one measurement only (so does each fraction with ``--whole-only``): the
whole run with the default config
(``executor.workers``, ``model.num_topics``, ``model.passes`` as given), its wall time, peak
memory of all its processes and stage seconds, against those of the smallest multiple.
``--dask`` then runs it again on a Dask cluster started as a user would (``dask scheduler``
and ``dask worker --nworkers W --nthreads 1``, processes of their own) and compares every
file of the two run folders by sha256, but ``manifest.json``, ``report.html`` and
``report.md``, which name times, paths and the executor.

What is measured, per size and repetition
-----------------------------------------
Every pipeline run is a fresh child process, ``<venv>/bin/pipeline run CONFIG --set ...``, with
``executor.workers=--workers`` (2), ``model.num_topics=--topics``, ``model.passes=--passes``, every
other setting at its default. Its wall time is measured around the child (interpreter start-up
included) and its peak resident memory is that of all its processes together (the child and its
workers, their RSS summed every 0.1 s; with whole runs, also the stage the peak fell in,
and the peak of their proportional set sizes summed, PSS: a page that forked processes
share counts once in all, where RSS counts it in each).

Before the runs, this machine's two-process ceiling: one plain-Python task alone, then two at
once in two processes; ceiling = 2 x t1 / t2. Parallel speed-ups are printed beside their share
of it.

1. ``full run`` in a new run folder, with ``tokenize.engine=jieba`` (the plain script's segmenter;
   so are runs 2 and 3): wall time, peak memory, and each stage's seconds as recorded
   in ``manifest.json`` (``stages[*].seconds``). ``tokens/s`` = kept tokens written by the
   tokenize stage (its ``counts.tokens``) / its seconds.
2. ``train, one worker``: ``--force --from train --to train --set executor.workers=1`` on the
   same folder: the train stage's seconds, and whether the model's arrays and training.json are
   the same bytes as with the workers.
3. ``re-run``: the same command with only ``model.num_topics`` changed to K+1: wall time, and the
   stages the manifest marks ``skipped``. Compared with train + assign + report seconds of the
   full run (K+1 topics cost ~5% more training than K, which counts against the re-run).
   ``--rerun-max F`` skips this measurement for sizes above F.
4. ``rjieba``: ``--set tokenize.engine=rjieba --to tokenize`` on the same run folder: the
   tokenize stage's seconds, and rjieba's agreement with jieba over the same units (the share
   of units whose kept tokens are identical, and token F1); then a whole run with rjieba (the
   default config) in a run folder of its own, timed like the full run.
5. ``plain script``: a fresh child process (this file with ``--plain``) doing the same work by
   hand on the same units: reads the run's ``units.jsonl`` texts; ``jieba.lcut`` of each text in a
   single-process loop (timed on its own: ``lcut loop``); keeps tokens of 2+ characters that are
   not whitespace or in the pipeline's built-in stopword list; gensim ``Dictionary`` +
   ``filter_extremes`` with the run's ``dictionary.*`` settings and ``doc2bow``; ``LdaModel`` with
   the run's num_topics, passes, iterations, chunksize, update_every (and, as the pipeline, a
   learning rate of 1 in batch mode), alpha, eta, seed and ``eval_every=None``. Its wall time is
   measured the same way as the pipeline's.

6. ``report page``: the full run's ``report.html``: its size, and the time headless Chromium
   (``/usr/bin/chromium`` driven by ``/usr/bin/chromedriver`` through selenium) takes to open it
   from disk, navigation start to the end of the load event (its script included), median of 3
   loads in one browser; and the report stage's seconds. ``--prevalence-field date`` sets
   ``report.prevalence_field`` (by month), so the page also holds prevalence intervals and
   topics over time. ``--report-only`` measures the full run and the page only.

Ratios (medians of ``--repeat`` repetitions; default 3 repetitions for sizes below 50%, 1 above):

* train speed-up = train seconds with one worker / with the workers. Target >= 1.6.
* tokenize speed-up = lcut loop seconds / pipeline tokenize-stage seconds (same units, so this is
  the throughput ratio), for jieba (the full run) and for rjieba (run 4).
* peak memory / that of the smallest size measured. Target at 100% vs 10%: <= 1.5.
* end-to-end = full-run wall / plain-script wall, with jieba and with rjieba. Targets <= 0.45
  and <= 0.35.
* re-run = re-run wall / (train + assign + report seconds of the full run). Target <= 1.1.

The machine is shared: the load average before and after each size is printed with the table.
Output: the table on stdout and as Markdown in ``bench/results/scale.md`` (``scale-quick.md`` with
``--quick``); ``bench/results/`` is git-ignored.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import lzma
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpora" / "xwlb" / "xwlb_2012-2026.jsonl.xz"
RESULTS = REPO / "bench" / "results"
STAGES = ["segment", "tokenize", "dictionary", "train", "assign", "report"]
PREVALENCE_FIELD: str | None = None  # report.prevalence_field of the runs (--prevalence-field)
MULTIPLES = False  # --sizes are multiples of the corpus (1,10), not fractions
DAYS: int | None = None  # multiples: the first broadcast days only (--quick)
CEILING: dict[str, float] = {}  # two_process_ceiling(), measured once before the runs
SEED = 42
CHILD_ENV = dict(os.environ)  # PYTHONPATH gets the code snapshot (see snapshot_code)


# -- child processes ------------------------------------------------------------------


@dataclass
class Child:
    seconds: float
    cpu_seconds: float  # user + system of the child and the worker processes it waited for
    max_rss_mb: float
    returncode: int
    max_pss_mb: float = 0.0  # proportional set size summed: a page shared by n processes counts 1/n
    rss_peak_at: float = 0.0  # seconds from the start to the RSS peak


def run_child(cmd: list[str], log: Path) -> Child:
    """Run ``cmd`` with output to ``log``: its wall time, CPU time, and the peak of the
    resident memory of all its processes together (the child and its workers, sampled
    every 0.1 s)."""
    import psutil

    with log.open("ab") as fh:
        fh.write(("\n$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=log.parent, env=CHILD_ENV)
        peak = peak_pss = 0
        peak_at = 0.0
        watched = psutil.Process(proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            total = pss = 0
            with contextlib.suppress(psutil.Error):
                for p in [watched, *watched.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        full = p.memory_full_info()  # smaps_rollup: rss and pss of one instant
                        total += full.rss
                        pss += full.pss
            if total > peak:
                peak, peak_at = total, time.perf_counter() - t0
            peak_pss = max(peak_pss, pss)
            time.sleep(0.1)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = max(peak / 2**20, usage.ru_maxrss / 1024)  # a process too short to sample
    return Child(
        seconds, usage.ru_utime + usage.ru_stime, peak_mb, proc.returncode, peak_pss / 2**20, peak_at
    )


def stage_at(seconds: float, stage_s: dict[str, float], wall: float) -> str:
    """The stage a moment of a whole run falls in, from the stages' recorded seconds (the
    start-up before the first stage is spread over the run in proportion)."""
    scale = wall / max(sum(stage_s.values()), 1e-9)
    elapsed = 0.0
    for name in STAGES:
        elapsed += stage_s.get(name, 0.0) * scale
        if seconds <= elapsed:
            return name
    return STAGES[-1]


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def two_process_ceiling(n: int = 30_000_000) -> dict[str, float]:
    """What two processes get on this machine on plain Python work: one task alone, then
    two tasks at once in two processes; the ceiling is 2 x t1 / t2 (1.0 to 2.0)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        pool.submit(int).result()
        t = time.perf_counter()
        pool.submit(_spin, n).result()
        one = time.perf_counter() - t
        t = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        two = time.perf_counter() - t
    return {"one_s": one, "two_s": two, "ceiling": 2 * one / two}


def pipeline_cmd() -> list[str]:
    script = Path(sys.executable).parent / "pipeline"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from pipeline.cli import app; app()"]


def must(child: Child, what: str, log: Path) -> Child:
    if child.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise SystemExit(f"{what} failed (exit {child.returncode}); last lines of {log}:\n" + "\n".join(tail))
    return child


def snapshot_code(folder: Path) -> Path:
    """A copy of the pipeline package that every child imports (PYTHONPATH, working directory
    outside the repository): edits made to the repository during the benchmark neither change
    what is measured nor invalidate the run folders' fingerprints between runs."""
    target = folder / "code"
    shutil.copytree(REPO / "pipeline", target / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    CHILD_ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    return target


# -- the sample -----------------------------------------------------------------------


def write_samples(sizes: list[float], folder: Path) -> dict[float, dict[str, Any]]:
    """One jsonl per size: nested seeded random subsets of the items, in corpus order."""
    with lzma.open(CORPUS, "rt", encoding="utf-8") as fh:
        n = sum(1 for _ in fh)
    order = list(range(n))
    random.Random(SEED).shuffle(order)
    rank = [0] * n
    for r, i in enumerate(order):
        rank[i] = r
    wanted = {f: max(1, round(f * n)) for f in sizes}
    info: dict[float, dict[str, Any]] = {
        f: {"path": folder / f"xwlb-{f:g}.jsonl", "items": 0, "chars": 0} for f in sizes
    }
    outs = {f: info[f]["path"].open("w", encoding="utf-8") for f in sizes}
    try:
        with lzma.open(CORPUS, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                targets = [f for f in sizes if rank[i] < wanted[f]]
                if not targets:
                    continue
                item = json.loads(line)
                text = "\n".join(item["paragraphs"])
                row = json.dumps({"id": item["id"], "date": item["date"], "text": text}, ensure_ascii=False)
                for f in targets:
                    outs[f].write(row + "\n")
                    info[f]["items"] += 1
                    info[f]["chars"] += len(text)
    finally:
        for out in outs.values():
            out.close()
    return info


def write_config(folder: Path, sample: Path, name: str) -> Path:
    data = {
        "run": {"name": name, "seed": SEED, "output_dir": str(folder / "runs")},
        "input": {
            "paths": [str(sample)],
            "format": "jsonl",
            "text_field": "text",
            "id_field": "id",
            "meta_fields": ["date"],
        },
    }
    if PREVALENCE_FIELD:
        data["report"] = {"prevalence_field": PREVALENCE_FIELD}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


# -- one repetition at one size -------------------------------------------------------


def measure_once(folder: Path, sample: Path, name: str, args: argparse.Namespace) -> dict[str, Any]:
    config = write_config(folder, sample, name)
    run_dir = folder / "runs" / name
    log = folder / f"{name}.log"
    sets = ["--set", f"executor.workers={args.workers}", "--set", f"model.passes={args.passes}"]
    # The first runs cut words with jieba, the plain script's segmenter; rjieba, the default,
    # follows on the same units (run 4) and in a whole run of its own.
    base = [*pipeline_cmd(), "run", str(config), *sets, "--set", "tokenize.engine=jieba"]
    k = args.topics
    out: dict[str, Any] = {}

    full = must(run_child([*base, "--set", f"model.num_topics={k}"], log), "full run", log)
    m = manifest(run_dir)
    st = m["stages"]
    out["stage_s"] = {s: st[s].get("seconds", 0.0) for s in STAGES}
    out["units"] = st["segment"]["counts"].get("units")
    out["tokens"] = st["tokenize"]["counts"].get("tokens")
    out["tokenize_workers"] = st["tokenize"]["counts"].get("workers")
    out["terms"] = st["dictionary"]["counts"].get("terms")
    out["full_s"] = full.seconds
    out["full_cpu_s"] = full.cpu_seconds
    out["rss_mb"] = full.max_rss_mb
    out["tokens_per_s"] = out["tokens"] / max(out["stage_s"]["tokenize"], 1e-9)
    out["tar_s"] = sum(out["stage_s"][s] for s in ("train", "assign", "report"))
    out["page"] = page_metrics(run_dir / "report.html")
    if args.report_only:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        return out

    # The same training in one process: its time, and whether its outputs are the same bytes
    # (the model's arrays and training.json; gensim's own pickles carry a timestamp).
    def trained_files() -> dict[str, bytes]:
        files = {
            p.name: p.read_bytes() for p in (run_dir / "model").iterdir() if p.suffix in (".npy", ".json")
        }
        return {**files, "training.json": (run_dir / "training.json").read_bytes()}

    trained = trained_files()
    one = [*base, "--set", f"model.num_topics={k}", "--set", "executor.workers=1"]
    must(run_child([*one, "--force", "--from", "train", "--to", "train"], log), "train in one process", log)
    out["train_1_s"] = manifest(run_dir)["stages"]["train"]["seconds"]
    out["train_identical"] = trained_files() == trained

    if args.rerun_max is None or args.size <= args.rerun_max:
        rerun = must(run_child([*base, "--set", f"model.num_topics={k + 1}"], log), "re-run", log)
        st = manifest(run_dir)["stages"]
        out["rerun_s"] = rerun.seconds
        out["skipped"] = [s for s in STAGES if st[s]["status"] == "skipped"]
        out["rerun_reasons"] = {s: st[s].get("reason", "") for s in STAGES if st[s]["status"] == "ran"}

    jieba_tokens = folder / f"{name}.jieba-tokens.jsonl"
    shutil.copyfile(run_dir / "tokens.jsonl", jieba_tokens)
    rj = must(
        run_child([*base, "--set", "tokenize.engine=rjieba", "--to", "tokenize"], log), "rjieba run", log
    )
    st = manifest(run_dir)["stages"]
    assert st["tokenize"]["status"] == "ran", "the rjieba run did not re-run tokenize"
    out["rjieba_s"] = st["tokenize"]["seconds"]
    out["rjieba_rss_mb"] = rj.max_rss_mb
    out["agreement"] = agreement(jieba_tokens, run_dir / "tokens.jsonl")
    jieba_tokens.unlink()

    # The whole run with rjieba, from nothing, in a run folder of its own.
    rj_config = write_config(folder, sample, f"{name}-rjieba")
    rj_cmd = [*pipeline_cmd(), "run", str(rj_config), *sets, "--set", f"model.num_topics={k}"]
    rj_full = must(run_child([*rj_cmd, "--set", "tokenize.engine=rjieba"], log), "rjieba full run", log)
    out["rjieba_full_s"] = rj_full.seconds

    plain_json = folder / f"{name}.plain.json"
    plain = must(
        run_child(
            [sys.executable, str(Path(__file__).resolve()), "--plain", str(run_dir), str(plain_json)], log
        ),
        "plain script",
        log,
    )
    p = json.loads(plain_json.read_text(encoding="utf-8"))
    out["plain_s"] = plain.seconds
    out["plain_cpu_s"] = plain.cpu_seconds
    out["lcut_cpu_s"] = p["lcut_cpu_s"]
    out["plain_rss_mb"] = plain.max_rss_mb
    out["lcut_s"] = p["lcut_s"]
    out["plain_parts"] = p
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.rmtree(folder / "runs" / f"{name}-rjieba", ignore_errors=True)
    return out


def page_metrics(page: Path, loads: int = 3) -> dict[str, Any]:
    """report.html's size and the median time headless Chromium takes to open it."""
    out: dict[str, Any] = {"mb": page.stat().st_size / 1e6, "open_s": None}
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        out["why"] = "chromium or chromedriver not installed (.ci/setup-browser.sh)"
        return out
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
    try:
        times = []
        for _ in range(loads):
            driver.get("about:blank")
            driver.get(page.as_uri())  # returns once the load event has run
            times.append(
                driver.execute_script(
                    "var t = performance.getEntriesByType('navigation')[0];"
                    "return t.loadEventEnd - t.startTime;"
                )
                / 1000
            )
        out["open_s"] = statistics.median(times)
        out["sections"] = driver.execute_script("return document.querySelectorAll('main section').length")
    finally:
        driver.quit()
    return out


def agreement(jieba_tokens: Path, rjieba_tokens: Path) -> dict[str, float]:
    """How closely rjieba's kept tokens follow jieba's: the share of units with identical
    token lists, and token-level F1 (the multiset overlap of each unit's tokens, summed)."""
    from collections import Counter

    same = units = overlap = n_jieba = n_rjieba = 0
    with jieba_tokens.open(encoding="utf-8") as a, rjieba_tokens.open(encoding="utf-8") as b:
        for la, lb in zip(a, b, strict=True):
            ta, tb = json.loads(la)["tokens"], json.loads(lb)["tokens"]
            units += 1
            same += ta == tb
            overlap += sum((Counter(ta) & Counter(tb)).values())
            n_jieba, n_rjieba = n_jieba + len(ta), n_rjieba + len(tb)
    return {
        "units_identical": same / max(units, 1),
        "token_f1": 2 * overlap / max(n_jieba + n_rjieba, 1),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of every numeric field over the repetitions (the first run's other fields)."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = statistics.median(r[key] for r in runs)
    out["stage_s"] = {s: statistics.median(r["stage_s"][s] for r in runs) for s in STAGES}
    if "train_identical" in runs[0]:
        out["train_identical"] = all(r["train_identical"] for r in runs)
    return out


# -- the plain script -------------------------------------------------------------------


def plain(run_dir: Path, out: Path) -> None:
    """What a user writes by hand, on the run's units and with the run's settings."""
    t_start = time.perf_counter()
    import logging

    import jieba
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel

    jieba.setLogLevel(logging.WARNING)
    cfg = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["config"]
    d, m = cfg["dictionary"], cfg["model"]
    stop_file = REPO / "pipeline" / "resources" / "stopwords.txt"
    stop = {w.strip() for w in stop_file.read_text(encoding="utf-8").splitlines() if w.strip()}
    with (run_dir / "units.jsonl").open(encoding="utf-8") as fh:
        texts = [(u := json.loads(line)).get("text_simplified", u["text"]) for line in fh if line.strip()]
    jieba.initialize()
    t, c = time.perf_counter(), time.process_time()
    cut = [jieba.lcut(text) for text in texts]
    lcut_s, lcut_cpu_s = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    docs = [[w for w in ws if len(w) >= 2 and w not in stop and not w.isspace()] for ws in cut]
    filter_s = time.perf_counter() - t
    t = time.perf_counter()
    dct = Dictionary(docs)
    dct.filter_extremes(no_below=d["no_below"], no_above=d["no_above"], keep_n=d["keep_n"])
    bows = [dct.doc2bow(doc) for doc in docs]
    dictionary_s = time.perf_counter() - t
    t = time.perf_counter()
    LdaModel(
        bows,
        id2word=dct,
        num_topics=m["num_topics"],
        passes=m["passes"],
        iterations=m["iterations"],
        chunksize=m["chunksize"],
        update_every=m["update_every"],
        decay=0.0 if m["update_every"] == 0 else 0.5,  # as the pipeline: batch is full EM
        alpha=m["alpha"],  # as the pipeline's: auto (learned) by default
        eta=m["eta"] if isinstance(m["eta"], float) or m["eta"] == "auto" else None,
        random_state=cfg["run"]["seed"],
        eval_every=None,
    )
    lda_s = time.perf_counter() - t
    result = {
        "units": len(texts),
        "lcut_s": lcut_s,
        "lcut_cpu_s": lcut_cpu_s,
        "filter_s": filter_s,
        "dictionary_s": dictionary_s,
        "lda_s": lda_s,
        "in_process_s": time.perf_counter() - t_start,
    }
    out.write_text(json.dumps(result), encoding="utf-8")


# -- ten times the corpus ----------------------------------------------------------------

GROUP = 3  # items of one day a recombined document takes


def write_multiples(multiples: list[int], folder: Path) -> dict[float, dict[str, Any]]:
    """One jsonl per multiple m: rounds over every broadcast day until m times the day's
    text is written. In each round a day's items are cut into documents of ``GROUP`` items
    (``_day_round``), their paragraphs in turn, so no two documents hold the same items;
    an item may sit a round out, so a day takes more rounds than m (at most 3m). The
    multiples are nested: the 1x corpus is the first round, the 10x its first rounds."""
    days: dict[str, list[list[str]]] = {}
    with lzma.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            days.setdefault(item["date"], []).append(item["paragraphs"])
    info: dict[float, dict[str, Any]] = {
        float(m): {"path": folder / f"xwlb-x{m}.jsonl", "items": 0, "chars": 0} for m in multiples
    }
    outs = {m: info[float(m)]["path"].open("w", encoding="utf-8") for m in multiples}
    try:
        for date in sorted(days)[:DAYS]:
            items, made = days[date], list[frozenset[int]]()
            lengths = [sum(map(len, paragraphs)) for paragraphs in items]
            written = dict.fromkeys(multiples, 0)
            target: dict[int, int] = {}
            r = 0
            while r < 3 * max(multiples) and (not target or any(written[m] < target[m] for m in multiples)):
                for j, group in enumerate(_day_round(lengths, r, date, made)):
                    text = "\n".join(p for i in group for p in items[i])
                    record = {"id": f"{date}-{r}-{j}", "date": date, "text": text}
                    row = json.dumps(record, ensure_ascii=False)
                    for m in multiples:
                        if not target or written[m] < target[m]:
                            outs[m].write(row + "\n")
                            written[m] += len(text)
                            info[float(m)]["items"] += 1
                            info[float(m)]["chars"] += len(text)
                if r == 0:  # the day's text, once: each multiple takes m times as much
                    target = {m: m * written[m] for m in multiples}
                r += 1
    finally:
        for out in outs.values():
            out.close()
    return info


LIKENESS = 0.55  # the most text two documents of one day may share, as a share of their union


def _day_round(lengths: list[int], r: int, date: str, made: list[frozenset[int]]) -> list[list[int]]:
    """Round ``r``'s documents of one day (its items' lengths given), ``GROUP`` items each
    (the last one what is left). Round 0 takes the items in order. Later rounds shuffle
    them; each document takes the first item left and the first partners that keep the
    text it shares with every document made that day (the shared items' characters over
    those of both) under ``LIKENESS``. An item that finds no such partners sits the round
    out. So no two documents are near-duplicates, as the same items or one long shared
    item would make them; the corpus is a little under m times the items' text."""
    rng = random.Random(f"{SEED}-{date}-{r}")
    left = list(range(len(lengths)))
    if r:
        rng.shuffle(left)

    def likeness(group: frozenset[int]) -> float:
        size = sum(lengths[i] for i in group)
        return max(
            (
                sum(lengths[i] for i in group & other) / max(1, size + sum(lengths[i] for i in other - group))
                for other in made
            ),
            default=0.0,
        )

    groups: list[list[int]] = []
    while left:
        first, rest = left[0], left[1:]
        width = len(left) if len(left) < 2 * GROUP else GROUP  # the last document takes the rest
        options = (
            [frozenset(left[:width])]
            if not r
            else (frozenset((first, *partners)) for partners in itertools.combinations(rest, width - 1))
        )
        group = next((g for g in options if not r or likeness(g) < LIKENESS), None)
        if group is None:  # sits this round out
            left = rest
            continue
        made.append(group)
        groups.append(sorted(group))
        left = [i for i in left if i not in group]
    return groups


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int) -> Any:
    """A Dask cluster on this machine, as a user starts one: ``dask scheduler`` and
    ``dask worker --nworkers N --nthreads 1``, each a process of its own; its address."""
    dask = str(Path(sys.executable).parent / "dask")
    info = folder / "scheduler.json"
    info.unlink(missing_ok=True)
    log = (folder / "dask.log").open("ab")
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--scheduler-file", str(info), "--no-dashboard", "--port", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=CHILD_ENV,
            cwd=folder,
        )
    ]
    try:
        for _ in range(300):
            if info.is_file() and info.stat().st_size:
                break
            time.sleep(0.1)
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    "--scheduler-file",
                    str(info),
                    "--nworkers",
                    str(workers),
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=CHILD_ENV,
                cwd=folder,
            )
        )
        address = json.loads(info.read_text(encoding="utf-8"))["address"]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(30)
        log.close()


VARYING = {"manifest.json", "report.html", "report.md"}  # they name times, paths and the executor


def file_digests(run_dir: Path) -> dict[str, str]:
    """sha256 of every file of a run folder but those that name times, paths or the executor."""
    import hashlib

    out = {}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        name = str(path.relative_to(run_dir))
        if name in VARYING:
            continue
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        out[name] = h.hexdigest()
    return out


def measure_whole(folder: Path, sample: Path, name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The whole run with the default config (and on a Dask cluster with ``--dask``)."""
    config = write_config(folder, sample, name)
    run_dir = folder / "runs" / name
    log = folder / f"{name}.log"
    sets = [
        "--set",
        f"executor.workers={args.workers}",
        "--set",
        f"model.passes={args.passes}",
        "--set",
        f"model.num_topics={args.topics}",
    ]
    full = must(run_child([*pipeline_cmd(), "run", str(config), *sets], log), "whole run", log)
    st = manifest(run_dir)["stages"]
    out: dict[str, Any] = {
        "full_s": full.seconds,
        "full_cpu_s": full.cpu_seconds,
        "rss_mb": full.max_rss_mb,
        "pss_mb": full.max_pss_mb,
        "stage_s": {s: st[s].get("seconds", 0.0) for s in STAGES},
        "units": st["segment"]["counts"].get("units"),
        "duplicates": st["segment"]["counts"].get("duplicates", 0),
        "terms": st["dictionary"]["counts"].get("terms"),
    }
    out["rss_stage"] = stage_at(full.rss_peak_at, out["stage_s"], full.seconds)
    if args.dask:
        digests = file_digests(run_dir)
        shutil.rmtree(run_dir)
        with dask_cluster(folder, args.workers) as address:
            dask_sets = ["--set", "executor.kind=dask", "--set", f"executor.address={address}"]
            on_dask = must(
                run_child([*pipeline_cmd(), "run", str(config), *sets, *dask_sets], log), "dask run", log
            )
        out["dask_s"] = on_dask.seconds
        theirs = file_digests(run_dir)
        out["dask_differs"] = sorted(
            n for n in digests.keys() | theirs.keys() if digests.get(n) != theirs.get(n)
        )
        out["dask_files"] = len(digests)
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return out


def multiples_table(results: list[dict[str, Any]]) -> str:
    base = results[0]
    lines = [
        "### Multiples of the corpus: the whole run with the default config",
        "",
        "| corpus | documents | characters | units | duplicates found | terms | "
        + " | ".join(STAGES)
        + f" | wall s (CPU) | wall vs {pct(base['size'])} | peak RSS MB, all processes (stage) "
        f"| RSS vs {pct(base['size'])} | peak PSS MB, all processes | PSS vs {pct(base['size'])} "
        "| on a Dask cluster: wall s, files |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * len(STAGES) + "---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        dask = "not run"
        if "dask_s" in r:
            same = "identical" if not r["dask_differs"] else "DIFFER: " + ", ".join(r["dask_differs"])
            dask = f"{fmt(r['dask_s'])}, {r['dask_files']} files {same}"
        lines.append(
            f"| {pct(r['size'])} | {r['items']:,} | {r['chars']:,} ({r['chars'] / base['chars']:.2f}×) "
            f"| {r['units']:,} | {r['duplicates']:,} | {r['terms']:,} | "
            + " | ".join(fmt(r["stage_s"][s]) for s in STAGES)
            + f" | {fmt(r['full_s'])} ({fmt(r['full_cpu_s'])}) | {r['full_s'] / base['full_s']:.2f}× "
            f"| {r['rss_mb']:,.0f} ({r['rss_stage']}) | {r['rss_mb'] / base['rss_mb']:.2f}× "
            f"| {r['pss_mb']:,.0f} | {r['pss_mb'] / base['pss_mb']:.2f}× | {dask} |"
        )
    return "\n".join(lines)


# -- the table --------------------------------------------------------------------------


def pct(size: float) -> str:
    return f"x{size:g}" if MULTIPLES else f"{size * 100:g}%"


def fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def skipped_cell(r: dict[str, Any]) -> str:
    cell = ", ".join(r["skipped"]) or "none"
    ran = [f"{s} ran: {r['rerun_reasons'][s]}" for s in STAGES[:3] if s in r["rerun_reasons"]]
    return cell + (f" ({'; '.join(ran)})" if ran else "")


def page_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "### The report page",
        "",
        "| size | documents | report.html MB (<15) | open in headless Chromium, s (<5) | sections "
        "| report stage s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        p = r["page"]
        opened = fmt(p["open_s"], 2) if p.get("open_s") is not None else p.get("why", "n/a")
        lines.append(
            f"| {pct(r['size'])} | {r['items']:,} | {p['mb']:.2f} | {opened} | {p.get('sections', '–')} "
            f"| {fmt(r['stage_s']['report'])} |"
        )
    return "\n".join(lines)


def tables(results: list[dict[str, Any]]) -> str:
    if "plain_s" not in results[0] and "page" not in results[0]:  # multiples of the corpus
        return multiples_table(results)
    if "plain_s" not in results[0]:  # --report-only
        return page_table(results)
    return full_tables(results) + "\n\n" + page_table(results)


def full_tables(results: list[dict[str, Any]]) -> str:
    base = results[0]
    lines = [
        "### Stage wall times (seconds, from manifest.json) and the plain script",
        "",
        "| size | items | units | kept tokens | terms | " + " | ".join(STAGES) + " | pipeline wall (CPU) "
        "| plain: lcut / filter / dictionary / LDA | plain wall (CPU) |",
        "|---:|---:|---:|---:|---:|" + "---:|" * len(STAGES) + "---:|---|---:|",
    ]
    for r in results:
        p = r["plain_parts"]
        lines.append(
            f"| {pct(r['size'])} | {r['items']:,} | {r['units']:,} | {r['tokens']:,} | {r['terms']:,} | "
            + " | ".join(fmt(r["stage_s"][s]) for s in STAGES)
            + f" | {fmt(r['full_s'])} ({fmt(r['full_cpu_s'])}) | {fmt(p['lcut_s'])} / {fmt(p['filter_s'])} / "
            f"{fmt(p['dictionary_s'])} / {fmt(p['lda_s'])} | {fmt(r['plain_s'])} ({fmt(r['plain_cpu_s'])}) |"
        )
    ceiling = CEILING.get("ceiling", float("nan"))
    lines += [
        "",
        "### Against the targets",
        "",
        f"Two processes of plain Python work on this machine: {ceiling:.2f}× one "
        f"({fmt(CEILING.get('one_s', float('nan')), 2)} s for one task alone, "
        f"{fmt(CEILING.get('two_s', float('nan')), 2)} s for two at once).",
        "",
        "| size | train w=2 vs w=1 (≥1.6×), share of ceiling | same bytes | tokenize vs lcut loop "
        "(share of ceiling) | rjieba tokenize vs lcut | rjieba = jieba: units, token F1 | peak RSS MB, "
        f"all processes | RSS vs {pct(base['size'])} (≤1.5×) | whole run vs plain, jieba (≤0.45×) "
        "| whole run vs plain, rjieba (≤0.35×) | re-run K+1 vs train+assign+report (≤1.1×) "
        "| skipped on re-run |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        agree = r.get("agreement") or {}
        train_x = r["train_1_s"] / r["stage_s"]["train"]
        tok_x = r["lcut_s"] / r["stage_s"]["tokenize"]
        lines.append(
            f"| {pct(r['size'])} | {train_x:.2f}× ({fmt(r['train_1_s'])} / {fmt(r['stage_s']['train'])} s), "
            f"{train_x / ceiling:.0%} | {'yes' if r['train_identical'] else 'NO'} "
            f"| {tok_x:.2f}× ({tok_x / ceiling:.0%}) "
            f"| {r['lcut_s'] / r['rjieba_s']:.2f}× ({fmt(r['rjieba_s'])} s) "
            f"| {agree.get('units_identical', float('nan')):.1%}, {agree.get('token_f1', float('nan')):.2%} "
            f"| {r['rss_mb']:,.0f} | {r['rss_mb'] / base['rss_mb']:.2f}× "
            f"| {r['full_s'] / r['plain_s']:.2f}× ({fmt(r['full_s'])} / {fmt(r['plain_s'])} s) "
            f"| {r['rjieba_full_s'] / r['plain_s']:.2f}× ({fmt(r['rjieba_full_s'])} s) "
            + (
                f"| {r['rerun_s'] / r['tar_s']:.2f}× ({fmt(r['rerun_s'])} / {fmt(r['tar_s'])} s) "
                f"| {skipped_cell(r)} |"
                if "rerun_s" in r
                else "| not measured (--rerun-max) | – |"
            )
        )
    return "\n".join(lines)


def header(args: argparse.Namespace) -> str:
    from importlib import metadata

    versions = []
    for name in ("jieba", "rjieba", "gensim", "numpy"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} not installed")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    return (
        f"# Scale benchmark: {CORPUS.name}\n\n"
        f"{time.strftime('%Y-%m-%d %H:%M')}; commit {commit}{' + uncommitted changes' if dirty else ''}; "
        f"Python {platform.python_version()}, {', '.join(versions)}; {os.cpu_count()} cores. "
        f"K={args.topics}, passes={args.passes}, executor.workers={args.workers}, every other setting at "
        f"its default; medians of {args.repeat or 'the default number of'} repetition(s). "
        "See the docstring of bench/scale.py for what each number is.\n"
        + "".join(f"\n**Note:** {n}.\n" for n in args.notes)
    )


# -- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default="0.1,0.5,1.0", help="corpus fractions, comma separated")
    ap.add_argument("--topics", type=int, default=20, help="model.num_topics (the re-run uses one more)")
    ap.add_argument("--passes", type=int, default=2, help="model.passes")
    ap.add_argument("--workers", type=int, default=2, help="executor.workers of the runs (training: 1 too)")
    ap.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions per size, medians (default: 3 below 50%%, else 1)",
    )
    ap.add_argument(
        "--rerun-max",
        type=float,
        default=None,
        help="skip the num_topics re-run above this size (saves time)",
    )
    ap.add_argument("--quick", action="store_true", help="a tiny sample, K=5, 1 pass: a smoke run")
    ap.add_argument("--report-only", action="store_true", help="the full run and the report page only")
    ap.add_argument("--prevalence-field", default=None, help="report.prevalence_field of the runs (date)")
    ap.add_argument(
        "--dask",
        action="store_true",
        help="with --sizes 1,10: also run each on a local Dask cluster and compare the files",
    )
    ap.add_argument(
        "--whole-only",
        action="store_true",
        help="fractions too: the whole run with the default config only (as for multiples)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (samples and runs)")
    ap.add_argument("--plain", nargs=2, metavar=("RUN_DIR", "OUT_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        quick_sizes = (
            "1,2" if any(float(s) > 1 for s in args.sizes.split(",") if s.strip()) else "0.004,0.008"
        )
        args.sizes, args.topics, args.passes = quick_sizes, 5, 1
        args.repeat = args.repeat or 1
    args.notes = []
    global PREVALENCE_FIELD
    PREVALENCE_FIELD = args.prevalence_field
    args.size_list = sorted({float(s) for s in args.sizes.split(",") if s.strip()})
    # Multiples of the corpus (1,10): recombined documents, the whole run only.
    args.multiples = any(s > 1 for s in args.size_list)
    global MULTIPLES, DAYS
    MULTIPLES = args.multiples
    DAYS = 40 if args.quick and args.multiples else None
    if args.multiples and not all(s == int(s) for s in args.size_list):
        ap.error("--sizes: fractions in (0, 1] (0.1,0.5,1.0) or whole multiples of the corpus (1,10)")
    if not args.size_list or not all(s > 0 for s in args.size_list):
        ap.error("--sizes: fractions in (0, 1], e.g. 0.1,0.5,1.0")
    if args.dask and not (args.multiples or args.whole_only):
        ap.error("--dask: with multiples of the corpus (--sizes 1,10) or --whole-only")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.plain:
        plain(Path(args.plain[0]), Path(args.plain[1]))
        return 0
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found (the xwlb corpus is not on this machine)")
        return 0
    folder = Path(tempfile.mkdtemp(prefix="pipeline-scale-", dir=tempfile.gettempdir()))
    print(f"temporary folder: {folder}", file=sys.stderr)
    results: list[dict[str, Any]] = []
    try:
        t = time.perf_counter()
        if args.multiples:
            samples = write_multiples([int(s) for s in args.size_list], folder)
        else:
            samples = write_samples(args.size_list, folder)
        print(f"samples written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        snapshot_code(folder)
        CEILING.update(two_process_ceiling())
        print(f"two-process ceiling: {CEILING['ceiling']:.2f}x", file=sys.stderr)
        for size in args.size_list:
            info = samples[size]
            repeat = args.repeat or (3 if size < 0.5 else 1)
            measure = measure_whole if args.multiples or args.whole_only else measure_once
            load_before = os.getloadavg()[0]
            runs = []
            args.size = size
            for i in range(repeat):
                print(
                    f"size {pct(size)} ({info['items']:,} items), repetition {i + 1}/{repeat} ...",
                    file=sys.stderr,
                )
                runs.append(measure(folder, info["path"], f"xwlb-{size:g}-{i}", args))
            r = median_of(runs)
            r.update(size=size, items=info["items"], chars=info["chars"], repeat=repeat)
            r["load"] = (load_before, os.getloadavg()[0])
            results.append(r)
            print(tables([r]), file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    loads = "; ".join(
        f"{pct(r['size'])}: {r['load'][0]:.2f} -> {r['load'][1]:.2f} ({r['repeat']} rep.)" for r in results
    )
    text = header(args) + f"\nLoad average (1 min) before -> after each size: {loads}.\n\n" + tables(results)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("scale-quick.md" if args.quick else "scale.md")
    out.write_text(text + "\n", encoding="utf-8")
    print(f"\nwritten: {out.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
