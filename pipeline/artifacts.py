"""The run folder: named artifacts on disk, written atomically, and the manifest.

Stages never open paths themselves; they read and write through a ``RunStore``.
Every write goes to a temporary file and is renamed into place only when complete,
so an interrupted or failed run never leaves a partial file.

A run (``staged=True``) writes its artifacts into ``.pipeline-staging/`` and reads
them from there first; only when the whole run succeeds are they published into the
run folder, together. What people read (``assignments.csv``, ``topics.*``,
``report.*``, ``pipeline show``) therefore always comes from one complete run, while a
failed or killed run's finished stages stay staged for the next run to resume from.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import json
import logging
import mmap
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from pipeline.errors import StoreError

log = logging.getLogger(__name__)

EXCEL_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
MANIFEST = "manifest.json"
DICTIONARY = "dictionary.json"  # a gensim Dictionary, as JSON
CORPUS = "corpus"  # folder: corpus.mm + its row index
CORPUS_FILE = "corpus.mm"
CORPUS_INDEX = "corpus.mm.index.npy"  # each row's byte offset (gensim pickles its own index)
DICTIONARY_FORMAT = "pipeline-dictionary/1"
MM_HEADER = b"%%MatrixMarket matrix coordinate real general\n"
MODEL = "model"  # folder: the engine's files plus topic_term.npy and alpha.npy
TRAINING = "training.json"  # how the model was trained: engine, K, seed, per-pass perplexity
SWEEP = "sweep.csv"  # the scores of every (K, seed) model of a sweep
MARKER = ".pipeline-run"  # a folder holding this was made by the tool: it may write and clean it
INFER_MARKER = ".pipeline-infer"  # the same, for the outputs of `pipeline infer`
LOCK = ".lock"
STAGING = ".pipeline-staging"  # a run's artifacts until it succeeds
PUBLISHING = ".pipeline-publishing"  # in the staging folder while it is being published
REMOVED = ".pipeline-removed"  # in the staging folder: artifacts the run retired, one a line
# Files people edit, read and written in place: a staged copy would hide their edits.
DIRECT = frozenset({"labels.yaml", "labels_basis.json"})
HASH_ALWAYS = 16 << 20  # bytes: an output up to this size is hashed on every check, a larger one when touched
# Every temporary name the store makes starts with one of these, and cleaning removes
# nothing else: a run folder's other entries are never deleted by pattern.
TEMPORARY = (".pipeline-tmp.", ".pipeline-old.")


def is_run_folder(folder: Path) -> bool:
    """A folder this tool made: it holds the marker (or, from before the marker, a
    manifest this tool wrote)."""
    if (folder / MARKER).is_file():
        return True
    manifest = folder / MANIFEST
    try:
        return manifest.is_file() and '"pipeline_version"' in manifest.read_text(encoding="utf-8")[:4096]
    except (OSError, UnicodeDecodeError):
        return False


LONG = 100  # entries of a JSON list or object above which each is written on one line

_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def dumps_indented(data: Any, depth: int = 0) -> str:
    """``json.dumps(data, ensure_ascii=False, indent=2)``, except that a list or object of
    more than ``LONG`` entries (the manifest's input files, their coverage) has each entry
    on one line, encoded by the C encoder: writing the manifest of 100,000 files takes
    a fraction of a second, not seconds, and it is written twice for every stage."""
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(data, dict) and data:
        if len(data) > LONG:
            rows = (f"{_compact(str(k))}: {_compact(v)}" for k, v in data.items())
        else:
            rows = (f"{_compact(str(k))}: {dumps_indented(v, depth + 1)}" for k, v in data.items())
        return "{\n" + ",\n".join(inner + r for r in rows) + "\n" + pad + "}"
    if isinstance(data, list | tuple) and data:
        encode = _compact if len(data) > LONG else (lambda v: dumps_indented(v, depth + 1))
        return "[\n" + ",\n".join(inner + encode(v) for v in data) + "\n" + pad + "]"
    return _compact(data)


class RunStore:
    """Named artifacts inside one run folder."""

    def __init__(
        self,
        run_dir: Path,
        marker: str = MARKER,
        staged: bool = False,
        named_by: str = "run.name or run.output_dir",
    ) -> None:
        # Normalised, so that "runs/.." is judged as the folder it names, even before
        # "runs" exists.
        self.run_dir = Path(os.path.normpath(run_dir))
        self.marker = marker
        self.named_by = named_by  # what the user changes to choose another folder
        self.staged = staged
        self.staging = self.run_dir / STAGING
        # What this process staged since ``touched`` was last cleared: name -> True when
        # written, False when retired. The runner records it as each stage's outputs.
        self.touched: dict[str, bool] = {}
        # When set (``trust``), the only staged artifacts and retirements believed:
        # ``pipeline stages`` looks without first clearing the staging folder as a run does.
        self.trusted: tuple[Collection[str], Collection[str]] | None = None

    def _staged(self, name: str) -> bool:
        return self.staged and name not in DIRECT

    def trust(self, owned: Collection[str], retired: Collection[str]) -> None:
        """Read only the staged artifacts in ``owned``, and believe only the retirements in
        ``retired``: what a run would keep of the staging folder (``keep_staged``)."""
        self.trusted = (owned, retired)

    def _retired(self) -> set[str]:
        marks = self.staging / REMOVED
        found = set(marks.read_text(encoding="utf-8").split("\n")) - {""} if marks.is_file() else set()
        return found if self.trusted is None else found & set(self.trusted[1])

    def path(self, name: str) -> Path:
        """Where an artifact is read: the run's staged copy, else the published one."""
        trusted = self.trusted is None or name in self.trusted[0] or name == MANIFEST
        if self._staged(name) and trusted and (self.staging / name).exists():
            return self.staging / name
        return self.run_dir / name

    def exists(self, name: str) -> bool:
        if self._staged(name) and name in self._retired():
            return False
        return self.path(name).exists()

    # -- writing ---------------------------------------------------------------------

    def ensure_dir(self) -> None:
        """Create the run folder, or take over an empty one; refuse a folder of other files.

        A run writes, replaces and cleans files in its folder, so it must never be
        pointed at a folder that holds anything else (a repository, a corpus).
        """
        try:
            if self.run_dir.is_dir() and (self.run_dir / self.marker).is_file():
                return
            ours = self.marker == MARKER and is_run_folder(self.run_dir)
            if self.run_dir.is_dir() and not ours:
                others = sorted(p.name for p in self.run_dir.iterdir() if p.name != LOCK)
                if others:
                    raise StoreError(
                        f"{self.run_dir}: this folder holds files the pipeline did not write "
                        f"({', '.join(others[:3])}{', …' if len(others) > 3 else ''}), so it cannot be a "
                        f"run folder; choose another {self.named_by}, or an empty folder"
                    )
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.run_dir, os.W_OK):
                raise StoreError(
                    f"{self.run_dir}: run folder is not writable (check its permissions, "
                    f"or choose another {self.named_by})"
                )
            (self.run_dir / self.marker).write_text(
                "This folder was made by pipeline: it writes and cleans the files in it.\n", encoding="utf-8"
            )
        except OSError as exc:
            reason = _reason(exc)
            raise StoreError(
                f"{self.run_dir}: cannot create the run folder ({reason}); choose another {self.named_by}"
            ) from exc

    def discard(self) -> None:
        """Remove a run folder that a failed run created and left with nothing of use: the
        tool's own entries in it, then the folder if that empties it. Call while holding
        the lock: a run that comes after finds no folder, or is refused while it is held."""
        for name in (STAGING, LOCK, self.marker):
            _remove(self.run_dir / name)
        with contextlib.suppress(OSError):
            self.run_dir.rmdir()

    @contextlib.contextmanager
    def write_path(self, name: str, directory: bool = False) -> Iterator[Path]:
        """A temporary path to fill; renamed to ``name`` only if the block succeeds."""
        self.ensure_dir()
        folder = self.staging if self._staged(name) else self.run_dir
        final = folder / name
        try:
            folder.mkdir(exist_ok=True)
            if directory:
                tmp = Path(tempfile.mkdtemp(prefix=f"{TEMPORARY[0]}{name}.", dir=folder))
            else:
                fd, tmp_name = tempfile.mkstemp(prefix=f"{TEMPORARY[0]}{name}.", dir=folder)
                os.close(fd)
                tmp = Path(tmp_name)
        except OSError as exc:
            raise StoreError(f"{self.run_dir}: cannot write ({_reason(exc)})") from exc
        try:
            yield tmp
            if not directory:
                os.chmod(tmp, 0o644)
            _replace(tmp, final)
            if self._staged(name):
                self._retire(name, False)
                self.touched[name] = True
        except OSError as exc:
            _remove(tmp)
            reason = _reason(exc)
            raise StoreError(
                f"{self.run_dir / name}: cannot write ({reason}); earlier outputs are unchanged"
            ) from exc
        except BaseException:
            _remove(tmp)
            raise

    def _retire(self, name: str, retired: bool) -> None:
        names = self._retired()
        if (name in names) == retired:
            return
        names = names | {name} if retired else names - {name}
        marks = self.staging / REMOVED
        marks.write_text("".join(f"{n}\n" for n in sorted(names)), encoding="utf-8")

    def resume(self, owned: Collection[str]) -> None:
        """Finish a publish that a killed run began; call only while holding the lock.
        ``owned``: as for ``publish``, from the staged manifest."""
        if (self.staging / PUBLISHING).exists():
            self.publish(owned)

    def keep_staged(self, owned: Collection[str], retired: Collection[str]) -> list[str]:
        """Clear the staging folder of everything but the manifest, the artifacts in
        ``owned`` (the outputs of stages that finished, which a resumed run reuses) and
        the retirements in ``retired``; the names removed. Call only while holding the lock.

        Nothing else there was written by this tool for this run folder: whatever it is,
        it must never be read as an artifact or published.
        """
        if not self.staging.is_dir():
            return []
        keep = {*owned, MANIFEST, REMOVED}
        dropped = sorted(p.name for p in self.staging.iterdir() if p.name not in keep)
        for name in dropped:
            _remove(self.staging / name)
        marks = self._retired()
        if marks - set(retired):
            (self.staging / REMOVED).write_text(
                "".join(f"{n}\n" for n in sorted(marks & set(retired))), encoding="utf-8"
            )
        return dropped

    def publish(self, owned: Collection[str]) -> None:
        """Move the staged artifacts in ``owned`` (the outputs the runs' stages recorded)
        and the manifest into the run folder, drop the retired ones, and discard anything
        else that is staged.

        A marker is written first: a run killed half-way through is finished by the
        next one (``resume``), so the run folder never stays half old, half new.
        """
        if not self.staging.is_dir():
            return
        try:
            (self.staging / PUBLISHING).touch()
            for name in sorted(self._retired()):
                if _plain(name):
                    _remove(self.run_dir / name)
            wanted = {*owned, MANIFEST}
            staged = [p for p in self.staging.iterdir() if p.name in wanted]
            # The manifest last: it says which run the published files come from.
            for p in sorted(staged, key=lambda p: (p.name == MANIFEST, p.name)):
                _replace(p, self.run_dir / p.name)
            shutil.rmtree(self.staging)
        except OSError as exc:
            raise StoreError(
                f"{self.run_dir}: cannot publish the run's outputs ({_reason(exc)}); "
                "the next `pipeline run` finishes it"
            ) from exc

    @contextlib.contextmanager
    def open_write(self, name: str, newline: str | None = None) -> Iterator[IO[str]]:
        with self.write_path(name) as tmp, tmp.open("w", encoding="utf-8", newline=newline) as fh:
            yield fh

    def write_text(self, name: str, text: str) -> None:
        with self.open_write(name) as fh:
            fh.write(text)

    def write_json(self, name: str, data: Any) -> None:
        self.write_text(name, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n")

    def write_jsonl(self, name: str, rows: Iterable[dict[str, Any]]) -> int:
        n = 0
        with self.open_write(name) as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
                n += 1
        return n

    @contextlib.contextmanager
    def open_csv(self, name: str, header: list[str], delimiter: str = ",") -> Iterator[Any]:
        """A csv writer whose header is written; the file is renamed into place at the end."""
        with self.open_write(name, newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n", delimiter=delimiter)
            writer.writerow(header)
            yield writer

    def write_csv(self, name: str, header: list[str], rows: Iterable[list[Any]], delimiter: str = ",") -> int:
        n = 0
        with self.open_csv(name, header, delimiter) as writer:
            for row in rows:
                writer.writerow(row)
                n += 1
        return n

    def clean_temporary(self) -> int:
        """Remove temporary files a killed run left behind; call only while holding the lock."""
        stale = [
            p
            for folder in (self.run_dir, self.staging)
            if folder.is_dir()
            for p in folder.iterdir()
            if p.name.startswith(TEMPORARY)
        ]
        for p in stale:
            _remove(p)
        return len(stale)

    def remove(self, name: str) -> None:
        """Retire an artifact that no longer describes this run, if it exists (staged: at publish)."""
        if self._staged(name):
            _remove(self.staging / name)
            self.touched.pop(name, None)
            if (self.run_dir / name).exists():
                self.staging.mkdir(exist_ok=True)
                self._retire(name, True)
                self.touched[name] = False
            return
        _remove(self.run_dir / name)

    # -- what a stage wrote, and whether it is still whole ------------------------------

    def describe(self, name: str) -> dict[str, dict[str, int | str]]:
        """Size, modification time and SHA-256 of an artifact's files as they are now:
        ``{"units.jsonl": {...}}``, or one entry per file of a folder (``corpus/corpus.mm``)."""
        path = self.path(name)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        out: dict[str, dict[str, int | str]] = {}
        for p in files:
            rel = name if p == path else f"{name}/{p.relative_to(path).as_posix()}"
            try:
                stat = p.stat()
                out[rel] = {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": _sha256(p)}
            except OSError as exc:
                raise StoreError(f"{p}: cannot read back what was just written ({_reason(exc)})") from exc
        return out

    def changed(self, records: dict[str, Any]) -> str | None:
        """The first file of ``records`` (``describe``'s, from when a stage finished) that
        is missing or not what was written, else None. Sizes are always compared; contents
        when the file is small, or when its modification time moved."""
        for rel, rec in sorted(records.items()):
            name, _, inner = rel.partition("/")
            if not _plain(name) or (inner and ".." in inner.split("/")):
                return rel
            path = self.path(name) / inner if inner else self.path(name)
            try:
                stat = path.stat()
                if not path.is_file() or stat.st_size != rec.get("bytes"):
                    return rel
                touched = stat.st_mtime_ns != rec.get("mtime_ns")
                if (stat.st_size <= HASH_ALWAYS or touched) and _sha256(path) != rec.get("sha256"):
                    return rel
            except OSError:
                return rel
        return None

    # -- reading ---------------------------------------------------------------------

    def _require(self, name: str) -> Path:
        p = self.path(name)
        if not p.exists():
            raise StoreError(f"{p}: missing; run the stage that writes it (pipeline run --force)")
        return p

    def read_path(self, name: str) -> Path:
        return self._require(name)

    def corrupt(self, name: str, what: str) -> StoreError:
        """The error for an artifact that exists but cannot be read back."""
        return corrupt(self.path(name), what)

    def _numbered_lines(self, name: str) -> Iterator[tuple[int, str]]:
        """(line number, line) of every non-blank line of a text artifact."""
        try:
            with self._require(name).open(encoding="utf-8") as fh:
                yield from ((n, line) for n, line in enumerate(fh, start=1) if line.strip())
        except (OSError, UnicodeDecodeError) as exc:
            raise self.corrupt(name, _unreadable(exc)) from exc

    def read_lines(self, name: str) -> Iterator[str]:
        """The non-blank lines of a text artifact, unparsed (for workers that parse them)."""
        return (line for _, line in self._numbered_lines(name))

    def read_numbered_lines(self, name: str) -> Iterator[tuple[int, str]]:
        """(line number, line) of the non-blank lines, for workers that parse them with
        ``parse_row``."""
        return self._numbered_lines(name)

    def read_jsonl(self, name: str) -> Iterator[dict[str, Any]]:
        path = self.path(name)
        for lineno, line in self._numbered_lines(name):
            yield parse_row(path, lineno, line)

    def read_jsonl_where(
        self, name: str, keep: Callable[[int], bool]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(row number, row) of the rows whose number ``keep`` accepts; only those are parsed."""
        path = self.path(name)
        for i, (lineno, line) in enumerate(self._numbered_lines(name)):
            if keep(i):
                yield i, parse_row(path, lineno, line)

    def read_text(self, name: str) -> str:
        try:
            return self._require(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self.corrupt(name, _unreadable(exc)) from exc

    def read_json(self, name: str) -> Any:
        text = self.read_text(name)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.corrupt(name, f"line {exc.lineno}: {exc.msg}") from exc

    def read_csv(self, name: str) -> Iterator[dict[str, str]]:
        try:
            with self._require(name).open(encoding="utf-8", newline="") as fh:
                yield from csv.DictReader(fh)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise self.corrupt(name, _unreadable(exc)) from exc

    # -- typed artifacts: the engines' and gensim's own formats, behind one door ------

    # Nothing here is pickled: a run folder someone sends you is data, and opening it
    # (show, compare, infer, a resumed run) must not run code it carries.

    def save_dictionary(self, dct: Any) -> None:
        """The gensim ``Dictionary`` as JSON: its counts, and each term by id with its
        document and collection frequencies."""
        terms = [[i, dct[i], dct.dfs.get(i, 0), dct.cfs.get(i, 0)] for i in sorted(dct.token2id.values())]
        data = {
            "format": DICTIONARY_FORMAT,
            "num_docs": dct.num_docs,
            "num_pos": dct.num_pos,
            "num_nnz": dct.num_nnz,
            "terms": terms,
        }
        self.write_text(DICTIONARY, json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def load_dictionary(self) -> Any:
        """The gensim ``Dictionary``, rebuilt from its JSON, with ``id2token`` filled."""
        from gensim.corpora import Dictionary

        data = self.read_json(DICTIONARY)
        try:
            if data["format"] != DICTIONARY_FORMAT:
                raise ValueError(f"format {data['format']!r}")
            dct = Dictionary()
            for i, token, df, cf in data["terms"]:
                dct.token2id[str(token)] = int(i)
                dct.dfs[int(i)], dct.cfs[int(i)] = int(df), int(cf)
            dct.num_docs, dct.num_pos, dct.num_nnz = (
                int(data["num_docs"]),
                int(data["num_pos"]),
                int(data["num_nnz"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise self.corrupt(DICTIONARY, f"not a dictionary of this version ({exc})") from exc
        dct.id2token = {i: t for t, i in dct.token2id.items()}
        return dct

    def save_corpus_parts(self, parts: Iterable[CorpusPart], num_terms: int) -> None:
        """The corpus from parts formatted elsewhere (workers), in row order: the same
        bytes, and the same index, as gensim's ``MmCorpus.serialize`` writes."""
        # Each row's offset, 8 bytes a row (the index gensim reads back whole anyway).
        offsets: list[np.ndarray] = []
        rows = nnz = 0
        with self.write_path(CORPUS, directory=True) as tmp_dir:
            with (tmp_dir / CORPUS_FILE).open("wb") as fh:
                fh.write(MM_HEADER + b" " * 50 + b"\n")  # overwritten with the shape below
                for part in parts:
                    starts = np.asarray(part.starts, dtype=np.int64)
                    offsets.append(np.where(starts >= 0, fh.tell() + starts, -1))
                    fh.write(part.data)
                    rows += len(part.starts)
                    nnz += part.nnz
                index = np.concatenate(offsets) if offsets else np.zeros(0, dtype=np.int64)
                if len(index) and index[-1] == -1:
                    index[-1] = fh.tell()  # gensim leaves a last empty row pointing at the end
                stats = f"{rows} {num_terms} {nnz}".encode()
                if len(stats) > 50:
                    raise StoreError(f"{CORPUS}: {rows} rows x {num_terms} terms is too large to write")
                fh.seek(len(MM_HEADER))
                fh.write(stats)
            np.save(tmp_dir / CORPUS_INDEX, index)

    def load_corpus(self) -> Any:
        """The bag-of-words corpus, streamed from disk (a gensim ``MmCorpus`` whose row
        index is read from ``.npy`` without pickle: gensim's own loader unpickles it)."""
        from gensim import matutils
        from gensim.corpora import MmCorpus

        class Corpus(MmCorpus):
            def __init__(self, fname: str, index: np.ndarray) -> None:
                self.index, self.length = index, None
                matutils.MmReader.__init__(self, fname)

        folder = self._require(CORPUS)
        try:
            return Corpus(str(folder / CORPUS_FILE), np.load(folder / CORPUS_INDEX, allow_pickle=False))
        except Exception as exc:
            raise self.corrupt(CORPUS, type(exc).__name__) from exc

    def save_model(self, model: Any) -> None:
        with self.write_model() as folder:
            model.save(folder)

    def load_model(self, loader: Callable[[Path], Any]) -> Any:
        """The trained topic model, read by ``loader`` from the model folder (the engines'
        ``load_model``: the store knows the folder, not the engines' formats)."""
        path = self._require(MODEL)
        try:
            return loader(path)
        except StoreError as exc:
            raise StoreError(f"{path}: {exc}") from exc
        except Exception as exc:
            raise self.corrupt(MODEL, f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc

    @contextlib.contextmanager
    def open_array(self, name: str, shape: tuple[int, int], dtype: str = "float64") -> Iterator[ArrayWriter]:
        """A ``.npy`` array of ``shape`` to fill in row order (``ArrayWriter.append``), written
        to disk as it comes: its rows are never held in memory together. Renamed to ``name``
        only if the block succeeds with every row written."""
        with self.write_path(name) as tmp, write_rows(tmp, shape, dtype) as array:
            yield array

    @contextlib.contextmanager
    def write_model(self) -> Iterator[Path]:
        """The model folder to fill; renamed to ``model`` only if the block succeeds."""
        with self.write_path(MODEL, directory=True) as tmp_dir:
            yield tmp_dir

    def train_model(self, train: Callable[[Path], tuple[Any, Any]]) -> tuple[Any, Any]:
        """``train(folder)`` trains a model, writing into ``folder`` what it computes as it
        goes (the units' mixes, ``TrainSpec.mixes_to``) and returning (model, log); the
        model then saves itself beside them. The folder becomes ``model`` only if both
        succeed."""
        with self.write_model() as folder:
            model, log = train(folder)
            model.save(folder)
        return model, log

    @contextlib.contextmanager
    def spilled(self, rows: Iterable[np.ndarray], width: int) -> Iterator[Iterator[np.ndarray]]:
        """``rows`` (each ``width`` numbers of the first row's type) written to a scratch
        file as they come, all of them before the block starts, then read back in order a
        block at a time: what one pass computes for the next to use, never held whole (nor
        copied into the worker processes forked in between). The file is removed when the
        block ends."""
        self.ensure_dir()
        folder = self.staging if self.staged else self.run_dir  # where write_path's files go
        try:
            folder.mkdir(exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f"{TEMPORARY[0]}spill.", dir=folder)
        except OSError as exc:
            raise StoreError(f"{self.run_dir}: cannot write ({_reason(exc)})") from exc
        tmp = Path(tmp_name)
        try:
            count, dtype = 0, np.dtype("float64")
            try:
                with os.fdopen(fd, "wb") as fh:
                    for row in rows:
                        if not count:
                            dtype = np.asarray(row).dtype
                        fh.write(np.ascontiguousarray(row, dtype=dtype).tobytes())
                        count += 1
            except OSError as exc:
                raise StoreError(f"{self.run_dir}: cannot write ({_reason(exc)})") from exc
            yield ArrayRows(tmp, (count, width), dtype, 0).rows()
        finally:
            _remove(tmp)

    def read_rows(self, name: str) -> ArrayRows:
        """A 2-D ``.npy`` array, read a block of rows at a time as it is used: never held
        whole, nor mapped (a memory map's pages count in resident memory once read)."""
        path = self._require(name)
        try:
            return ArrayRows.open(path)
        except (OSError, ValueError) as exc:
            raise self.corrupt(name, f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc

    # -- exports for spreadsheets and data frames -------------------------------------

    def save_parquet(self, name: str, source_csv: str) -> None:
        """A csv artifact as a typed Parquet table (ids as text, weights as floats)."""
        import pyarrow as pa
        from pyarrow import csv as pacsv
        from pyarrow import parquet as pq

        text_columns = {"unit_id": pa.string(), "doc_id": pa.string()}
        table = pacsv.read_csv(
            self._require(source_csv),
            convert_options=pacsv.ConvertOptions(column_types=text_columns, strings_can_be_null=False),
        )
        with self.write_path(name) as tmp:
            pq.write_table(table, tmp)

    def save_workbook(self, name: str, sheets: dict[str, tuple[list[str], Iterable[list[Any]]]]) -> None:
        """An .xlsx workbook, one sheet per entry, streamed (openpyxl write-only mode).

        Characters a worksheet cannot hold (control characters other than tab and line
        ends, which meta fields may carry) are dropped from the cells.
        """
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        def clean(value: Any) -> Any:
            return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

        wb = Workbook(write_only=True)
        for title, (header, rows) in sheets.items():
            ws = wb.create_sheet(title=title)
            ws.append([clean(h) for h in header])
            for n, row in enumerate(rows):
                if n == EXCEL_MAX_ROWS:
                    log.warning(
                        "report.export: sheet %s cut at %d rows (Excel's limit); use the Parquet export",
                        title,
                        EXCEL_MAX_ROWS,
                    )
                    break
                ws.append([clean(v) for v in row])
        with self.write_path(name) as tmp:
            wb.save(tmp)

    # -- manifest --------------------------------------------------------------------

    def load_manifest(self) -> dict[str, Any]:
        p = self.path(MANIFEST)
        if not p.exists():
            return {}
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}  # an unreadable manifest only means every stage re-runs
        return data if isinstance(data, dict) else {}

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        self.write_text(MANIFEST, dumps_indented(manifest) + "\n")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run folder for one run; a second concurrent run is refused."""
        self.ensure_dir()
        lock_path = self.path(LOCK)
        fh = lock_path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.close()
            raise StoreError(
                f"{self.run_dir}: another run is using this run folder; wait for it to finish"
            ) from exc
        held = True

        def forget_in_child() -> None:
            # A worker forked during the run must not hold the lock: after the run is
            # killed, it would refuse the next run until the kernel has ended the worker.
            # Closing the child's copy leaves the parent's lock in place.
            if held:
                fh.close()

        os.register_at_fork(after_in_child=forget_in_child)
        try:
            yield
        finally:
            held = False
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()


Doc = tuple[Any, Any]  # a corpus row: term ids and counts (numpy arrays)


@dataclass
class CorpusPart:
    """Consecutive corpus rows as Matrix Market lines ("row term count", 1-based)."""

    data: bytes
    starts: list[int]  # each row's first byte in ``data``, -1 for a row without entries
    nnz: int


ROW_BLOCK = 2000  # rows of a 2-D array read at a time


class ArrayWriter:
    """A 2-D ``.npy`` file of a known shape, written a block of rows at a time, in order,
    with plain writes: the same bytes as ``np.save`` of the whole array, which is never in
    memory. (A writable memory map would do as much, but the pages it fills count in the
    process's resident memory until it is closed.)"""

    def __init__(self, fh: IO[bytes], shape: tuple[int, int], dtype: Any) -> None:
        self.fh, self.shape, self.dtype = fh, shape, np.dtype(dtype)
        self.rows = 0  # written so far
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(fh, header)

    def append(self, rows: np.ndarray) -> None:
        """The next rows (a 2-D block, or one row)."""
        block = np.ascontiguousarray(rows, dtype=self.dtype).reshape(-1, self.shape[1])
        if self.rows + len(block) > self.shape[0]:
            raise ValueError(f"{self.rows + len(block)} rows written to an array of {self.shape[0]}")
        self.fh.write(block.tobytes())
        self.rows += len(block)


def release_pages(array: np.ndarray) -> None:
    """Drop from this process's resident memory the pages it has read of an array mapped
    read-only from its file (a loaded model's arrays are): they stay in the page cache,
    and a later read maps them again. Anything else is left as it is."""
    mapped = getattr(array, "_mmap", None)  # numpy's memmap keeps its mmap here
    if isinstance(array, np.memmap) and array.mode == "r" and isinstance(mapped, mmap.mmap):
        with contextlib.suppress(AttributeError, OSError):  # no madvise here: nothing to drop
            mapped.madvise(mmap.MADV_DONTNEED)


@contextlib.contextmanager
def write_rows(path: Path, shape: tuple[int, int], dtype: Any) -> Iterator[ArrayWriter]:
    """An ``ArrayWriter`` into ``path``; every row must have been written when the block ends."""
    with path.open("wb") as fh:
        writer = ArrayWriter(fh, shape, dtype)
        yield writer
        if writer.rows != shape[0]:
            raise ValueError(f"{path.name}: {writer.rows} of {shape[0]} rows written")


@dataclass(frozen=True)
class ArrayRows:
    """A 2-D numeric ``.npy`` file, read a block of rows at a time with plain reads: memory
    holds one block, never the array (a memory map's pages would count in the process's
    resident memory as they are read). Opening checks its header: an object array (a
    pickle) or anything but a plain 2-D array of numbers is refused with ``ValueError``."""

    path: Path
    shape: tuple[int, int]
    dtype: np.dtype
    offset: int  # where the rows start

    @classmethod
    def open(cls, path: Path) -> ArrayRows:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
            offset = fh.tell()
        if fortran or len(shape) != 2 or dtype.kind not in "fiu":
            raise ValueError(f"{path.name}: not a 2-D array of numbers ({dtype}, shape {shape})")
        rows = cls(path, (int(shape[0]), int(shape[1])), dtype, offset)
        if path.stat().st_size != offset + rows.shape[0] * rows.shape[1] * dtype.itemsize:
            raise ValueError(f"{path.name}: its size does not match its shape {shape}")
        return rows

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows [start, stop) as an array in memory."""
        stop = self.shape[0] if stop is None else min(stop, self.shape[0])
        width = self.shape[1]
        with self.path.open("rb") as fh:
            fh.seek(self.offset + start * width * self.dtype.itemsize)
            data = np.fromfile(fh, dtype=self.dtype, count=max(0, stop - start) * width)
        return data.reshape(-1, width)

    def __getitem__(self, rows: slice) -> np.ndarray:
        """Rows ``[start:stop]`` as an array in memory, as an in-memory array's slice."""
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("rows: a slice with step 1")
        return self.read(start, stop)

    def blocks(self, size: int = ROW_BLOCK) -> Iterator[np.ndarray]:
        """Every row, ``size`` rows at a time, in order."""
        for start in range(0, self.shape[0], size):
            yield self.read(start, start + size)

    def rows(self) -> Iterator[np.ndarray]:
        """Every row, in order, read a block at a time."""
        for block in self.blocks():
            yield from block


def corrupt(path: Path, what: str) -> StoreError:
    """The error for an artifact that exists but cannot be read back."""
    return StoreError(f"{path}: corrupt or unreadable ({what}); re-create it with `pipeline run --force`")


def parse_row(path: Path, lineno: int, line: str) -> dict[str, Any]:
    """One line of a jsonl artifact, in any process; ``path`` and ``lineno`` name it in the error."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise corrupt(path, f"line {lineno}: {exc.msg}") from exc
    if not isinstance(row, dict):
        raise corrupt(path, f"line {lineno}: not a JSON object")
    return row


def read_corpus_rows(path: str, index: Any, size: int, start: int, end: int) -> list[Doc]:
    """Rows [start, end) of the Matrix Market corpus, read straight from its bytes.

    ``index`` is each row's byte offset (-1 for an empty row), ``size`` the file's size.
    A worker on any machine that sees the file reads just its own rows this way.
    """
    import numpy as np

    offsets = index[start:end]
    used = offsets[offsets >= 0]
    if not len(used):
        return [(np.zeros(0, dtype=np.int64), np.zeros(0))] * (end - start)
    after = index[end:]
    after = after[after >= 0]
    stop = int(after[0]) if len(after) else size
    try:
        with open(path, "rb") as fh:
            fh.seek(int(used[0]))
            data = fh.read(stop - int(used[0]))
    except OSError as exc:
        reason = _reason(exc)
        raise StoreError(f"{path}: cannot read the corpus ({reason}); re-create it with --force") from exc
    # Lines of "row term count", 1-based and sorted by row: parsed at C speed.
    triples = np.array(data.split(), dtype=np.float64).reshape(-1, 3)
    rows = triples[:, 0].astype(np.int64) - 1 - start
    bounds = np.searchsorted(rows, np.arange(end - start + 1))
    ids = triples[:, 1].astype(np.int64) - 1
    counts = triples[:, 2]
    return [(ids[bounds[r] : bounds[r + 1]], counts[bounds[r] : bounds[r + 1]]) for r in range(end - start)]


def read_corpus_rows_at(path: str, index: Any, size: int, rows: Any) -> list[Doc]:
    """The rows numbered ``rows`` (ascending) of the Matrix Market corpus, each read alone."""
    import numpy as np

    # Where each row's entries stop: the next row's offset that is not -1, or the file's end.
    offsets = np.where(index >= 0, index, size)
    stops = np.append(np.minimum.accumulate(offsets[::-1])[::-1][1:], size)
    empty: Doc = (np.zeros(0, dtype=np.int64), np.zeros(0))
    out: list[Doc] = []
    try:
        with open(path, "rb") as fh:
            for r in rows:
                if index[r] < 0:
                    out.append(empty)
                    continue
                fh.seek(int(index[r]))
                triples = np.array(fh.read(int(stops[r] - index[r])).split(), dtype=np.float64)
                triples = triples.reshape(-1, 3)
                out.append((triples[:, 1].astype(np.int64) - 1, triples[:, 2]))
    except OSError as exc:
        reason = _reason(exc)
        raise StoreError(f"{path}: cannot read the corpus ({reason}); re-create it with --force") from exc
    return out


def _plain(name: str) -> bool:
    """A name a stage may give an artifact: one entry of the run folder, not a path out of it."""
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unreadable(exc: Exception) -> str:
    """Why an artifact could not be read back, in words."""
    if isinstance(exc, OSError):
        return _reason(exc)
    return "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)


def _reason(exc: OSError) -> str:
    """What went wrong, in words, also for an OSError without errno (numpy raises those)."""
    if exc.errno == errno.ENOSPC or "No space left" in str(exc):
        return "the disk is full"
    return exc.strerror or str(exc) or type(exc).__name__


def _replace(source: Path, target: Path) -> None:
    """Rename a file or folder into place; a folder replaces the old one whole."""
    if not source.is_dir() or not target.exists():
        os.replace(source, target)
        return
    old = target.with_name(f"{TEMPORARY[1]}{target.name}")
    _remove(old)
    os.replace(target, old)
    os.replace(source, target)
    _remove(old)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
