"""Walks the stages in order, skips the fresh ones, logs progress and timings.

A stage is fresh when its fingerprint (its config sections and what it takes from files
people edit in the run folder, the fingerprint of the stage before it, the input files it
reads, and the pipeline's own code) matches the one recorded in ``manifest.json`` after
its last successful run, and its outputs are all present. Fresh stages are skipped and
say so; ``force`` runs them anyway.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import logging
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from stat import S_ISREG
from typing import Any, TypeVar

from pipeline import __version__, corpus
from pipeline.artifacts import DIRECT, MANIFEST, RunStore
from pipeline.config import Config, flatten
from pipeline.errors import InputError, PipelineError, StoreError, unexpected
from pipeline.executor import ExecutorLost, executor_for
from pipeline.stages import STAGE_NAMES, STAGES, Counts, Stage

T = TypeVar("T")
# Every library whose version can change a result: text decoding and conversion, word
# segmentation, config parsing, the models and their start, and where partitions run.
PACKAGES = (
    "charset-normalizer",
    "OpenCC",
    "jieba",
    "rjieba",
    "pydantic",
    "PyYAML",
    "numpy",
    "scipy",
    "scikit-learn",
    "gensim",
    "tomotopy",
    "datasketch",
    "dask",
    "distributed",
)


@dataclass
class StagePlan:
    stage: Stage
    fingerprint: str
    parts: dict[str, str]
    settings: dict[str, Any]
    fresh: bool
    reason: str
    reads: dict[str, str | None]  # the files the stage reads (paths) and their fingerprints


@dataclass
class StageResult:
    name: str
    status: str  # "ran" or "skipped"
    seconds: float
    counts: Counts
    reason: str


Update = Callable[..., None]  # update(done, **facts): how far a task is, and what to show beside it


def _ignore(done: int, **facts: Any) -> None: ...


class Reporter:
    """The one way the runner and the stages reach the screen: a stage never prints, it
    calls these. This one is silent; the CLI's (``pipeline.console``) draws bars on a
    terminal and writes plain lines elsewhere."""

    def stage_started(self, name: str, reason: str) -> None: ...

    def stage_finished(self, result: StageResult) -> None: ...

    def track(self, items: Iterable[T], total: int | None, description: str, unit: str = "") -> Iterator[T]:
        """``items``, passed through while the count of them is shown (``total`` if known)."""
        yield from items

    @contextmanager
    def task(
        self, total: int | None, description: str, unit: str = "", throttle: bool = True
    ) -> Iterator[Update]:
        """Work of ``total`` ``unit`` (units, pass): the yielded ``update(done, **facts)``
        says how many are done, with facts to show beside the count (perplexity=812.4).
        ``description`` names the part of the stage (``K=8 seed 2/3``), "" for the whole.
        Updates may come many times a second: shown lines are throttled, unless
        ``throttle`` is False, when every update is a milestone worth its own line (a
        training pass)."""
        yield _ignore


# -- fingerprints ---------------------------------------------------------------------


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


ROOT = Path(__file__).parent
RESOURCE = re.compile(r"""load_resource_lines\(["']([^"']+)["']\)""")
TEMPLATES = re.compile(r"""PackageLoader\(["'][\w.]+["'], ["']templates["']\)""")


@cache
def code_fingerprint(module: str) -> str:
    """A stage's own code: its module, every pipeline module it imports (directly or
    not, at module level), the resource files they load and the templates they render.
    Editing the report's HTML re-runs the report, not segment and tokenize; a comment in
    a module outside a stage's code leaves it up to date."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(_code_files(module)):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _code_files(module: str) -> set[Path]:
    seen: set[str] = set()
    files: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        path = _module_path(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        files.add(path)
        source = path.read_text(encoding="utf-8")
        files.update(ROOT / "resources" / r for r in RESOURCE.findall(source))
        if TEMPLATES.search(source):  # a module that renders templates: they are its code too
            files.update(p for p in (path.parent / "templates").rglob("*") if p.is_file())
        todo += _imported_names(source)
    return files


@cache
def _imported_names(source: str) -> tuple[str, ...]:
    """What a module's source imports as it is imported, as names that may be modules:
    ``from pipeline import corpus`` names both pipeline and pipeline.corpus."""
    names: list[str] = []
    for node in module_imports(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return tuple(names)


def module_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports a module runs as it is imported: at its top level, in if, try and with
    blocks and class bodies too, but not inside functions, which run when called
    (pipeline/ imports none of its own modules there: a test keeps it so, and a stage's
    code whole)."""
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # Statements only: an import is one, so expressions need not be searched.
            todo += [n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt | ast.excepthandler)]


def _module_path(name: str) -> Path | None:
    """The source file of a pipeline module, None for other packages and for names that
    are not modules (``from pipeline.config import Config``)."""
    if name != "pipeline" and not name.startswith("pipeline."):
        return None
    base = ROOT.joinpath(*name.split(".")[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _section(resolved: dict[str, Any], dotted: str) -> Any:
    node: Any = resolved
    for part in dotted.split("."):
        node = node[part]
    return node


def _settings(resolved: dict[str, Any], stage: Stage) -> dict[str, Any]:
    """The settings that decide a stage's result: its sections less what it ignores."""
    chosen = copy.deepcopy({s: _section(resolved, s) for s in stage.sections})
    for dotted in stage.ignore:
        section, _, key = dotted.rpartition(".")
        chosen.get(section, {}).pop(key, None)
    return chosen


def _all_settings(config: Config, resolved: dict[str, Any], stage: Stage) -> dict[str, Any]:
    """A stage's settings as dotted keys, with those it takes from files people edit in the
    run folder (``Stage.edits``: ``labels.yaml.merged``), so a change names them."""
    return flatten({**_settings(resolved, stage), **stage.edits(config)})


def _stage_files(stage: Stage, config: Config) -> dict[str, str | None]:
    """The fingerprints of the files a stage reads from outside the run folder, by path (a
    file that is missing counts as None, so creating it re-runs the stage)."""
    return {str(p): _fingerprint_if_file(p) for p in stage.reads(config)}


_FINGERPRINTS: dict[tuple[str, int, int], str] = {}


def _fingerprint_if_file(path: Path) -> str | None:
    """A file's fingerprint, None when it is missing or not a regular file: one stat."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _file_record(path, stat)[1] if S_ISREG(stat.st_mode) else None


def _file_record(path: Path, stat: os.stat_result, source: str | None = None) -> tuple[int, str]:
    """A file's size and fingerprint, from one stat and, once a process while the file is
    unchanged, one read however many times it is planned (``source`` names it in an error)."""
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _FINGERPRINTS:
        _FINGERPRINTS[key] = corpus.fingerprint(path, source)
    return stat.st_size, _FINGERPRINTS[key]


def plan(config: Config, store: RunStore, force: bool = False) -> list[StagePlan]:
    """Each stage's fingerprint, whether it is fresh, and why it would run."""
    resolved = config.resolved()
    manifest = store.load_manifest().get("stages", {})
    plans: list[StagePlan] = []
    upstream = ""
    for stage in STAGES:
        settings = _all_settings(config, resolved, stage)
        reads = _stage_files(stage, config)
        parts = {
            "code": code_fingerprint(stage.run.__module__),
            "config": _digest(settings),
            "upstream": upstream,
            "files": _digest(list(reads.values())),
        }
        fp = _digest(parts)
        fresh, reason = _freshness(stage, fp, parts, settings, manifest.get(stage.name), store)
        if force:
            fresh, reason = False, "forced (--force)"
        plans.append(StagePlan(stage, fp, parts, settings, fresh, reason, reads))
        upstream = fp
    return plans


def _changed(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    shown = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _freshness(
    stage: Stage,
    fp: str,
    parts: dict[str, str],
    settings: dict[str, Any],
    entry: dict[str, Any] | None,
    store: RunStore,
) -> tuple[bool, str]:
    if not entry:
        return False, "never run"
    if entry.get("status") not in ("ran", "skipped"):
        return False, "last run did not finish"
    old = entry.get("parts", {})
    if entry.get("fingerprint") != fp:
        if old.get("files") != parts["files"]:
            return False, "input files changed"
        if old.get("config") != parts["config"]:
            old_settings = entry.get("settings")
            if isinstance(old_settings, dict) and old_settings != settings:
                return False, f"config changed: {_changed(old_settings, settings)}"
            return False, f"config changed ({', '.join(stage.sections)})"
        if old.get("upstream") != parts["upstream"]:
            return False, "an earlier stage changed"
        return False, "pipeline code changed"
    missing = [o for o in stage.outputs if not store.exists(o)]
    if missing:
        return False, f"output missing: {missing[0]}"
    files = entry.get("files")
    changed = store.changed(files) if isinstance(files, dict) else None
    if changed is not None:
        return False, f"output changed since it was written: {changed}"
    return True, "up to date"


def _package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "pipeline": __version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def input_fingerprints(config: Config) -> list[dict[str, Any]]:
    out = []
    for f in corpus.list_inputs(config):
        size, digest = _file_record(f.path, f.path.stat(), f.source)
        out.append({"source": f.source, "format": f.format, "bytes": size, "sha256": digest})
    return out


# -- running --------------------------------------------------------------------------


def _select(name: str | None, default: int) -> int:
    if name is None:
        return default
    if name not in STAGE_NAMES:
        raise PipelineError(f"unknown stage {name!r} (stages: {', '.join(STAGE_NAMES)})")
    return STAGE_NAMES.index(name)


def status(config: Config) -> list[StagePlan]:
    """What ``run`` would do now: each stage, fresh or why it would run."""
    store = RunStore(config.run_dir, staged=True)  # what the next run would resume from
    store.trust(*_resumable(store))
    return plan(config, store)


def run_pipeline(
    config: Config,
    *,
    from_stage: str | None = None,
    to_stage: str | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
) -> list[StageResult]:
    """Run the stages from ``from_stage`` to ``to_stage`` (inclusive) on one config."""
    reporter = reporter or Reporter()
    first, last = _select(from_stage, 0), _select(to_stage, len(STAGES) - 1)
    if first > last:
        raise PipelineError(f"--from {from_stage} comes after --to {to_stage}; swap them")
    inputs = input_fingerprints(config)  # validates the inputs before the run folder is touched
    store = RunStore(config.run_dir, staged=True)
    created = not store.run_dir.exists()
    results: list[StageResult] = []
    with store.lock():
        try:
            with executor_for(config) as ex:
                _take_over(store)
                _walk(config, store, ex, reporter, inputs, force, (first, last), from_stage, results)
        except BaseException:
            if created and not any(r.status == "ran" for r in results):
                store.discard()  # the folder this run made, holding nothing a later run could use
            raise
    return results


def _walk(
    config: Config,
    store: RunStore,
    ex: Any,
    reporter: Reporter,
    inputs: list[dict[str, Any]],
    force: bool,
    span: tuple[int, int],
    from_stage: str | None,
    results: list[StageResult],
) -> None:
    """Run or skip the stages of ``span`` (first, last) in order, appending to ``results``,
    then publish the run."""
    first, last = span
    plans = plan(config, store, force=force)
    manifest = store.load_manifest()
    manifest.update(
        {
            "pipeline_version": __version__,
            "config_source": config.source,
            "config": config.resolved(),
            "packages": _package_versions(),
            "inputs": inputs,
        }
    )
    stages_rec = manifest.setdefault("stages", {})
    for p in plans[:first]:
        missing = [o for o in p.stage.outputs if not store.exists(o)]
        if missing:
            raise StoreError(
                f"--from {from_stage}: {p.stage.name} has not written {missing[0]} yet; "
                f"run without --from first"
            )
        p.stage.check(config, stages_rec.get(p.stage.name) or {})
    for p in plans[first : last + 1]:
        if p.fresh:
            entry = stages_rec[p.stage.name]
            entry.update(status="skipped", reason=p.reason)
            result = StageResult(p.stage.name, "skipped", 0.0, entry.get("counts", {}), p.reason)
        else:
            reporter.stage_started(p.stage.name, p.reason)
            result = _run_stage(p, config, store, ex, reporter, manifest)
        reporter.stage_finished(result)
        results.append(result)
        p.stage.check(config, stages_rec[p.stage.name])  # what a later stage would fail on
    manifest["timings"] = {r.name: round(r.seconds, 3) for r in results}
    store.save_manifest(manifest)
    store.publish(set(_owned(stages_rec)[0]))  # only a run that succeeded replaces what people read


def _take_over(store: RunStore) -> None:
    """Make the run folder what the last run left, less anything else: finish a publish a
    killed run began, remove what it was writing when it died, and clear the staging
    folder of all but the outputs of stages that finished, as they recorded them (a
    resumed run reuses those)."""
    store.resume(_owned(store.load_manifest().get("stages", {}))[0])
    store.clean_temporary()
    store.keep_staged(*_resumable(store))


def _resumable(store: RunStore) -> tuple[set[str], set[str]]:
    """The staged artifacts a run may reuse, those the staged manifest records as the
    outputs of finished stages and that are still as recorded; and the retirements."""
    owned, retired = _owned(store.load_manifest().get("stages", {}))
    return {n for n, files in owned.items() if files is None or store.changed(files) is None}, retired


def _owned(stages_rec: dict[str, Any]) -> tuple[dict[str, dict[str, Any] | None], set[str]]:
    """The artifacts the finished stages of a manifest wrote, each with the records of its
    files (None for a manifest from before they were recorded: the declared outputs), and
    the artifacts they retired."""
    owned: dict[str, dict[str, Any] | None] = {}
    retired: set[str] = set()
    for stage in STAGES:
        entry = stages_rec.get(stage.name)
        if not isinstance(entry, dict) or entry.get("status") not in ("ran", "skipped"):
            continue
        files = entry.get("files")
        if isinstance(files, dict):
            for rel, rec in files.items():
                name = rel.split("/")[0]
                owned[name] = {**(owned.get(name) or {}), rel: rec}
        else:
            owned.update(dict.fromkeys(stage.outputs))
        removed = entry.get("removed")
        if isinstance(removed, list):
            retired.update(n for n in removed if isinstance(n, str))
    return owned, retired


def _run_stage(
    p: StagePlan, config: Config, store: RunStore, ex: Any, reporter: Reporter, manifest: dict[str, Any]
) -> StageResult:
    """Run one stage, and record in the manifest how it went: what it wrote, with each
    file's size and hash, or how it failed."""
    name = p.stage.name
    entry: dict[str, Any] = {
        "status": "running",
        "fingerprint": p.fingerprint,
        "parts": p.parts,
        "settings": p.settings,
        "reason": p.reason,
    }
    manifest["stages"][name] = entry
    store.save_manifest(manifest)
    store.touched.clear()
    t0 = time.perf_counter()
    try:
        with _collect_warnings() as warnings:
            counts = p.stage.run(config, store, reporter, ex)
            _check_read(p, counts.pop("read", None) or {})
    except BaseException as exc:
        entry.update(status="failed", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        _save_quietly(store, manifest)
        if isinstance(exc, ExecutorLost):
            raise PipelineError(
                f"executor: lost {exc.what} during {name}; the next run resumes from {name}"
            ) from exc
        if isinstance(exc, Exception) and not isinstance(exc, PipelineError):
            raise PipelineError(unexpected(exc, f"{name} stage")) from exc
        raise
    seconds = time.perf_counter() - t0
    if warnings:
        entry["warnings"] = warnings
    details = counts.pop("details", None)  # structured results belong in the manifest only
    if details is not None:
        entry["details"] = details
    written = sorted(n for n, w in store.touched.items() if w and n != MANIFEST and n not in DIRECT)
    entry.update(
        status="ran",
        seconds=round(seconds, 3),
        counts=counts,
        finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
        files={rel: rec for n in written for rel, rec in store.describe(n).items()},
        removed=sorted(n for n, w in store.touched.items() if not w),
    )
    store.save_manifest(manifest)
    return StageResult(name, "ran", seconds, counts, p.reason)


def _check_read(p: StagePlan, reported: dict[str, Any]) -> None:
    """Refuse to mark a stage done against input it did not read: every file it read must
    be one that was planned, with the bytes that were fingerprinted. ``reported`` gives,
    by path, [name shown, fingerprint of the bytes read] for the files the stage hashed
    as it read them; any other file it reads is fingerprinted again now."""
    for path, shown_digest in reported.items():
        if path not in p.reads:
            raise InputError(f"{shown_digest[0]}: added while the inputs were being read; run again")
    for path, planned in p.reads.items():
        shown, digest = reported.get(path) or (path, None)
        if path not in reported:
            digest = _fingerprint_if_file(Path(path))
        if digest != planned:
            raise InputError(f"{shown}: changed while being read; run again")


class _WarningList(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _collect_warnings() -> Iterator[list[str]]:
    """The warnings a stage logs, for the manifest (they are printed as usual too)."""
    handler = _WarningList()
    logger = logging.getLogger("pipeline")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _save_quietly(store: RunStore, manifest: dict[str, Any]) -> None:
    try:
        store.save_manifest(manifest)
    except PipelineError:
        print("warning: could not record the failure in manifest.json", file=sys.stderr)
