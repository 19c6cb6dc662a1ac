"""The run folder: named artifacts on disk, written atomically, and the manifest.

Stages never open paths themselves; they read and write through a ``RunStore``.
Every write goes to a temporary file in the run folder and is renamed into place
only when complete, so an interrupted or failed run never leaves a partial file
and the previous complete outputs stay readable.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pipeline.errors import StoreError

MANIFEST = "manifest.json"


class RunStore:
    """Named artifacts inside one run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def path(self, name: str) -> Path:
        return self.run_dir / name

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    # -- writing ---------------------------------------------------------------------

    def ensure_dir(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.run_dir}: cannot create the run folder ({exc.strerror})") from exc
        if not os.access(self.run_dir, os.W_OK):
            raise StoreError(f"{self.run_dir}: run folder is not writable (check its permissions)")

    @contextlib.contextmanager
    def write_path(self, name: str, directory: bool = False) -> Iterator[Path]:
        """A temporary path to fill; renamed to ``name`` only if the block succeeds."""
        self.ensure_dir()
        final = self.path(name)
        try:
            if directory:
                tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self.run_dir))
            else:
                fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", dir=self.run_dir)
                os.close(fd)
                tmp = Path(tmp_name)
        except OSError as exc:
            raise StoreError(f"{self.run_dir}: cannot write ({exc.strerror})") from exc
        try:
            yield tmp
            if directory:
                old = None
                if final.exists():
                    old = final.with_name(f".{name}.old")
                    shutil.rmtree(old, ignore_errors=True)
                    os.replace(final, old)
                os.replace(tmp, final)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
            else:
                os.chmod(tmp, 0o644)
                os.replace(tmp, final)
        except OSError as exc:
            _remove(tmp)
            hint = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
            raise StoreError(f"{final}: cannot write ({hint}); earlier outputs are unchanged") from exc
        except BaseException:
            _remove(tmp)
            raise

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
        if not self.run_dir.is_dir():
            return 0
        stale = [p for p in self.run_dir.iterdir() if p.name.startswith(".") and p.name != ".lock"]
        for p in stale:
            _remove(p)
        return len(stale)

    def remove(self, name: str) -> None:
        """Delete an artifact that no longer describes this run, if it exists."""
        _remove(self.path(name))

    # -- reading ---------------------------------------------------------------------

    def _require(self, name: str) -> Path:
        p = self.path(name)
        if not p.exists():
            raise StoreError(f"{p}: missing; run the stage that writes it (pipeline run --force)")
        return p

    def read_path(self, name: str) -> Path:
        return self._require(name)

    def read_jsonl(self, name: str) -> Iterator[dict[str, Any]]:
        with self._require(name).open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def read_text(self, name: str) -> str:
        return self._require(name).read_text(encoding="utf-8")

    def read_json(self, name: str) -> Any:
        with self._require(name).open(encoding="utf-8") as fh:
            return json.load(fh)

    def read_csv(self, name: str) -> Iterator[dict[str, str]]:
        with self._require(name).open(encoding="utf-8", newline="") as fh:
            yield from csv.DictReader(fh)

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
        self.write_json(MANIFEST, manifest)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run folder for one run; a second concurrent run is refused."""
        self.ensure_dir()
        lock_path = self.path(".lock")
        fh = lock_path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.close()
            raise StoreError(
                f"{self.run_dir}: another run is using this run folder; wait for it to finish"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
