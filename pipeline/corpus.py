"""Reading inputs: the only module that opens input files.

Turns ``input.paths`` (files, folders, globs) into a stream of ``Document`` records,
each with its source lines and line numbers, whatever the format (txt, csv, jsonl)
and encoding (UTF-8 with or without BOM, UTF-16 with or without BOM, GB18030/GBK, Big5).
"""

from __future__ import annotations

import codecs
import csv
import glob
import hashlib
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.errors import InputError

log = logging.getLogger(__name__)

READ_BLOCK = 4 << 20  # bytes of a jsonl file read and decoded at a time
# Share of a file's non-ASCII bytes that must form valid UTF-8 sequences for it to be read
# as UTF-8 with its invalid bytes replaced. GBK and Big5 text forms valid UTF-8 by chance
# in about a third of its bytes (at most 0.92 in a text of 8 characters), damaged UTF-8
# in all but its damaged bytes.
UTF8_SHARE = 0.95
EXTENSIONS = {".txt": "txt", ".text": "txt", ".md": "txt", ".csv": "csv", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class InputFile:
    path: Path
    source: str  # the name shown in outputs: stable whatever the working directory
    format: str
    byte_range: tuple[int, int] | None = None  # a block of whole lines of a jsonl file
    first_line: int = 1  # the line number the block starts at
    encoding: str | None = None  # of a block: found at the head of its file
    digest: str | None = None  # of a block: the fingerprint of its bytes when it was cut
    file_digest: str | None = None  # of a block: that of the whole file, as its blocks were cut
    size: int | None = None  # bytes, as listed: how partitions are sized (reading checks the bytes)


@dataclass
class Document:
    doc_id: str
    source: str
    lines: list[tuple[int, str]]  # (1-based line of the file, or of the record's text; text)
    meta: dict[str, Any] = field(default_factory=dict)
    encoding: str = "utf-8"
    bad_bytes: int = 0
    record_line: int | None = None  # a csv/jsonl record: the file line it starts at
    title: str | None = None  # its input.title_field; None: segment names it


@dataclass(frozen=True)
class _PathsFrom:
    """Where input paths were given, as errors about them say."""

    check: str  # where to look
    fix: str  # what to change
    relative: str  # what a relative path is relative to


CONFIG_PATHS = _PathsFrom(
    "check input.paths", "fix input.paths", "input.paths is relative to the config file"
)
ARGUMENT_PATHS = _PathsFrom(
    "check the paths given on the command line",
    "give another path",
    "paths on the command line are relative to the working directory",
)


def list_inputs(config: Config, paths: list[str] | None = None, warn: bool = False) -> list[InputFile]:
    """Every input file, in a stable order; raises InputError for paths that yield nothing,
    and for a file whose name is not UTF-8 (it could not be named in any output).

    ``paths`` given on the command line replace ``input.paths``: they are relative to
    the working directory, and errors name them as arguments, not as a setting. With
    ``warn``, entries of a folder or pattern that are not regular files (FIFOs, devices,
    sockets, broken links), which are skipped, are named in a warning.
    """
    files: list[InputFile] = []
    seen: set[Path] = set()
    fmt = config.input.format
    origin = CONFIG_PATHS if paths is None else ARGUMENT_PATHS
    for spec in config.input.paths if paths is None else paths:
        target = config.resolve(spec) if paths is None else Path(os.path.abspath(Path(spec).expanduser()))
        special: list[str] = []
        try:
            found = _found(spec, target, fmt, origin, special)
        except OSError as exc:
            raise _unreadable(spec, exc) from exc
        if warn and special:
            n = len(special)
            what = "entry that is not a regular file" if n == 1 else "entries that are not regular files"
            log.warning(
                "%s: skipped %d %s (only regular files are read): %s", spec, n, what, ", ".join(special)
            )
        for p, source, entry in found:
            real = entry.real if entry is not None else p.resolve()
            if real in seen:
                continue
            seen.add(real)
            size = entry.size if entry is not None else None
            files.append(InputFile(p, source, fmt if fmt != "auto" else _guess_format(p), size=size))
    return files


@dataclass(frozen=True)
class _Entry:
    """A regular file found in a folder, as the walk saw it: its size and real path."""

    size: int
    real: Path


def _found(
    spec: str, target: Path, fmt: str, origin: _PathsFrom, special: list[str]
) -> list[tuple[Path, str, _Entry | None]]:
    """The files one input path names, with the names shown for them (and, for a folder's
    files, what the walk saw of them); the entries of a folder or pattern that are not
    regular files are added to ``special``, named."""
    found: list[tuple[Path, str, _Entry | None]] = []
    if glob.has_magic(spec):
        base = _glob_base(target)
        for match in sorted(glob.glob(str(target), recursive=True)):
            p = Path(match)
            shown = _utf8_name(f"{base.name}/{p.relative_to(base).as_posix()}")
            if p.is_file():
                found.append((p, shown, None))
            elif not p.is_dir():
                special.append(f"{shown} ({_kind(p)})")
        if not found:
            raise InputError(f"{spec}: no files match this pattern ({origin.check})")
    elif target.is_dir():
        real = target.resolve()
        for rel, entry in _walk(target):
            p = target.joinpath(*rel)
            wanted = fmt != "auto" or p.suffix.lower() in EXTENSIONS
            shown = f"{target.name}/{'/'.join(rel)}"
            if entry.is_dir() or p.name.startswith("."):
                continue
            if not entry.is_file():
                special.append(f"{_escaped(shown)} ({_kind(p)})")
            elif wanted:
                # A link is resolved; any other file's real path is the folder's plus its own.
                where = p.resolve() if entry.is_symlink() else real.joinpath(*rel)
                found.append((p, _utf8_name(shown), _Entry(entry.stat().st_size, where)))
        if not found:
            kinds = ", ".join(sorted(EXTENSIONS))
            raise InputError(f"{spec}: folder has no input files ({kinds}); add files or {origin.fix}")
    elif target.is_file():
        found.append((target, _utf8_name(target.name), None))
    elif target.exists():
        raise InputError(f"{spec}: not a regular file or folder ({_kind(target)}); {origin.fix}")
    else:
        raise InputError(f"{spec}: no such file or folder ({origin.relative})")
    return found


def _walk(folder: Path) -> list[tuple[tuple[str, ...], os.DirEntry[str]]]:
    """Every entry under ``folder`` as ``sorted(folder.rglob("*"))`` lists them (links to
    folders listed, not followed), with its parts below ``folder``: one scandir a folder,
    and the entries' own cached types, so a folder of 100,000 files costs no stat each."""
    out: list[tuple[tuple[str, ...], os.DirEntry[str]]] = []
    todo: list[tuple[Path, tuple[str, ...]]] = [(folder, ())]
    while todo:
        here, parts = todo.pop()
        with os.scandir(here) as entries:
            for entry in entries:
                rel = (*parts, entry.name)
                out.append((rel, entry))
                if entry.is_dir(follow_symlinks=False):
                    todo.append((Path(entry.path), rel))
    out.sort(key=lambda item: item[0])
    return out


def _escaped(name: str) -> str:
    """A file name as it can be shown: bytes that are not UTF-8 as \\xff escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _utf8_name(shown: str) -> str:
    """``shown``, the name of an input file in outputs, refused if it is not UTF-8: no
    output could name the file, and the run would fail only once it writes one."""
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{_escaped(shown)}: file name is not valid UTF-8; rename it") from None
    return shown


def _kind(path: Path) -> str:
    """What a folder entry that is not a regular file is, in words."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError:
        return "a broken link" if path.is_symlink() else "unreadable"
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"))
    for test, kind in (*kinds, (stat.S_ISBLK, "a device")):
        if test(mode):
            return f"a link to {kind}" if path.is_symlink() else kind
    return "not a regular file"


def _unreadable(source: str, exc: OSError) -> InputError:
    """An input that the operating system refused to open, list or read."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, PermissionError):
        return InputError(f"{source}: cannot read ({reason}); check its permissions")
    return InputError(f"{source}: cannot read ({reason}); check that it still exists and is a readable file")


def _read(path: Path, source: str, start: int = 0, size: int = -1) -> bytes:
    """The bytes of an input file (``size`` bytes from ``start``, or all of it)."""
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            return fh.read(size)
    except OSError as exc:
        raise _unreadable(source, exc) from exc


def _size(path: Path, source: str) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise _unreadable(source, exc) from exc


def _fingerprint(data: bytes) -> str:
    """The fingerprint of bytes read: what ``fingerprint`` gives for a file holding them."""
    return hashlib.sha256(data).hexdigest()[:16]


def changed_while_read(source: str) -> InputError:
    return InputError(f"{source}: changed while being read; run again")


def fingerprint(path: Path, source: str | None = None) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise _unreadable(source or str(path), exc) from exc
    return digest.hexdigest()[:16]


def read_documents(
    config: Config,
    files: list[InputFile] | None = None,
    dedupe: bool = True,
    counts: ReadCounts | None = None,
    warn: bool = True,
) -> Iterator[Document]:
    """Stream documents from every input file: one per txt file, one per csv/jsonl row.

    A document id seen before gets a suffix (``id~2``); ``dedupe=False`` leaves that to
    the caller, which partitioned reading needs. Undecodable bytes are counted on the
    first document of their file. A text field that is a list of strings is the
    record's paragraphs, one a line. Empty files, and csv/jsonl records whose text is
    not text (null, an object, a list of anything but strings), give no documents and
    are named in a warning; ``counts`` adds up the documents and those records, so a
    caller that gets no text can say why (``ReadCounts.nothing_read``). Empty files are
    listed in ``counts.empty`` too; ``warn=False`` leaves their warning to the caller
    (``warn_empty``), which partitioned reading needs to give it once.
    """
    dedup = IdDeduper()
    counts = counts if counts is not None else ReadCounts()
    for whole in files if files is not None else list_inputs(config):
        notes = _Notes()
        for f in file_blocks(whole, config.input.encoding):
            text, encoding, bad = _read_text(f, config.input.encoding, counts)
            if f.byte_range is None and not text.strip():
                counts.empty.append(f.source)
                continue
            if f.format == "txt":
                docs: Iterator[Document] = iter([_txt_document(f, text)])
            elif f.format == "csv":
                docs = _csv_documents(f, text, config, notes)
            else:
                docs = _jsonl_documents(f, text, config, f.first_line, notes)
            for doc in docs:
                if dedupe:
                    doc.doc_id = dedup(doc.doc_id)
                doc.encoding, doc.bad_bytes = encoding, bad
                bad = 0
                counts.documents += 1
                yield doc
        notes.warn(whole.source, config.input.text_field)
        counts.add(whole.source, notes)
    if warn:
        warn_empty(counts.empty)


def warn_empty(empty: list[str]) -> None:
    """One warning naming the empty input files (the first ``EMPTY_NAMED``), if any."""
    if empty:
        n = len(empty)
        shown = ", ".join(empty[:EMPTY_NAMED]) + (f" and {n - EMPTY_NAMED} more" if n > EMPTY_NAMED else "")
        log.warning(
            "skipped %d empty input file%s (0 bytes or only whitespace): %s; "
            "check that %s written completely, or remove %s from input.paths",
            n,
            "" if n == 1 else "s",
            shown,
            "it was" if n == 1 else "they were",
            "it" if n == 1 else "them",
        )


EMPTY_NAMED = 10  # empty files named in the warning; the rest are counted


TEXT_FIX = "put the text in a string or a list of strings, or set input.text_field to the field that holds it"


def _records(n: int) -> str:
    return f"{n} record{'' if n == 1 else 's'}"


def _why_skipped(skipped: dict[str, int]) -> str:
    """'null', or 'null (2 records), an object (1 record)': why records were set aside."""
    if len(skipped) == 1:
        return next(iter(skipped))
    return ", ".join(f"{why} ({_records(n)})" for why, n in skipped.items())


@dataclass
class _Notes:
    """What reading one csv/jsonl file set aside or mended, and the file line of the
    first such record: one warning for each kind, however many records."""

    skipped: dict[str, int] = field(default_factory=dict)  # why the text is not text -> records
    first_skipped: int = 0  # the line of the first record set aside
    surrogates: list[int] = field(default_factory=list)  # half a surrogate pair, replaced

    def skip(self, why: str, lineno: int) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1
        self.first_skipped = self.first_skipped or lineno

    def warn(self, source: str, text_field: str) -> None:
        if self.skipped:
            log.warning(
                "%s: skipped %s whose %r is %s, first at line %d; %s",
                source,
                _records(sum(self.skipped.values())),
                text_field,
                _why_skipped(self.skipped),
                self.first_skipped,
                TEXT_FIX,
            )
        if self.surrogates:
            n = len(self.surrogates)
            log.warning(
                "%s: %d record%s half a UTF-16 surrogate pair (a \\ud800-\\udfff escape without "
                "its partner), replaced with U+FFFD, first at line %d; whatever wrote the file cut "
                "an emoji or other character in two",
                source,
                n,
                " holds" if n == 1 else "s hold",
                self.surrogates[0],
            )


@dataclass
class ReadCounts:
    """What reading gave over all its files: documents, and the records set aside
    because their text is not text, by why. Partitions' counts add up (``merge``)."""

    documents: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    first_skipped: str = ""  # file:line of the first record set aside
    # The fingerprint of each file (by path) as its bytes were read: what the run records
    # is what it read, however the file changes meanwhile.
    read: dict[str, str] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)  # files of 0 bytes or only whitespace, skipped

    def add(self, source: str, notes: _Notes) -> None:
        for why, n in notes.skipped.items():
            self.skipped[why] = self.skipped.get(why, 0) + n
        if notes.skipped and not self.first_skipped:
            self.first_skipped = f"{source}:{notes.first_skipped}"

    def merge(self, other: ReadCounts) -> None:
        self.documents += other.documents
        self.read.update(other.read)
        self.empty += other.empty
        for why, n in other.skipped.items():
            self.skipped[why] = self.skipped.get(why, 0) + n
        self.first_skipped = self.first_skipped or other.first_skipped

    def nothing_read(self, text_field: str) -> InputError | None:
        """Why the inputs gave no documents, when every record was set aside."""
        if self.documents or not self.skipped:
            return None
        n = sum(self.skipped.values())
        if len(self.skipped) == 1:
            what = f"every record's {text_field!r} is {_why_skipped(self.skipped)} ({_records(n)})"
        else:
            what = f"no record's {text_field!r} is text: it is {_why_skipped(self.skipped)}"
        return InputError(
            f"{self.first_skipped}: {what}; set input.text_field to a field that holds a string "
            "or a list of strings"
        )


def _read_text(f: InputFile, configured: str, counts: ReadCounts) -> tuple[str, str, int]:
    """A file, or a block of one, decoded: (text, encoding, undecodable bytes replaced).
    The fingerprint of the file as read goes into ``counts``; a block whose bytes are no
    longer those it was cut from is an InputError."""
    if f.byte_range is None:
        data = _read(f.path, f.source)
        counts.read[str(f.path)] = _fingerprint(data)
        return decode(data, configured, f.source)
    data = _read(f.path, f.source, f.byte_range[0], f.byte_range[1] - f.byte_range[0])
    if f.digest is not None and _fingerprint(data) != f.digest:
        raise changed_while_read(f.source)
    if f.file_digest is not None:
        counts.read[str(f.path)] = f.file_digest
    if f.byte_range[0] == 0 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    # JSON text is UTF-8 (RFC 8259) unless the file's head or the config says otherwise.
    encoding_name = f.encoding or ("utf-8" if configured == "auto" else configured)
    return _decode_counting(data, encoding_name, f.source)


class IdDeduper:
    """Gives repeated document ids a suffix: a, a -> a, a~2."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, doc_id: str) -> str:
        n = self.seen.get(doc_id, 0)
        self.seen[doc_id] = n + 1
        return f"{doc_id}~{n + 1}" if n else doc_id


def jsonl_blocks(f: InputFile, block_bytes: int) -> list[InputFile]:
    """A jsonl file cut at line ends into blocks of about ``block_bytes``, each with the
    fingerprint of its bytes and of the whole file as cut: the reader of a block checks
    that it reads the same bytes."""
    size = _size(f.path, f.source)
    if f.format != "jsonl" or size <= block_bytes:
        return [f]
    blocks: list[InputFile] = []
    whole = hashlib.sha256()
    start, line = 0, 1
    try:
        with f.path.open("rb") as fh:
            while start < size:
                fh.seek(min(size, start + block_bytes))
                fh.readline()  # finish the line the cut fell in
                end = min(size, fh.tell())
                fh.seek(start)
                data = fh.read(end - start)
                whole.update(data)
                block = InputFile(f.path, f.source, f.format, (start, end), line, digest=_fingerprint(data))
                blocks.append(block)
                start, line = end, line + data.count(b"\n")
    except OSError as exc:
        raise _unreadable(f.source, exc) from exc
    return [replace(b, file_digest=whole.hexdigest()[:16]) for b in blocks]


def file_blocks(f: InputFile, encoding: str) -> list[InputFile]:
    """A file as the pieces it is read in: a large jsonl file as blocks of whole lines
    (about ``READ_BLOCK`` bytes), so reading never holds it whole; anything else whole.

    Blocks are decoded with the encoding found at the head of the file (``auto``) or
    the one configured. A file in an encoding whose line end is not the byte 0x0A
    (UTF-16, UTF-32) is read whole, as its lines cannot be cut bytewise.
    """
    if f.format != "jsonl" or f.byte_range is not None or _size(f.path, f.source) <= READ_BLOCK:
        return [f]
    if encoding == "auto":
        head = _read(f.path, f.source, 0, READ_BLOCK).removeprefix(codecs.BOM_UTF8)
        found = _auto_encoding(head, f.source)
    else:
        found = _checked(encoding)
    if not "a\n".encode(found).endswith(b"a\n"):  # a BOM before them is fine (utf-8-sig)
        return [f]
    return [replace(b, encoding=found) for b in jsonl_blocks(f, READ_BLOCK)]


PARTITION_FILES = 1000  # files read in one partition at most, however small


def partitions(files: list[InputFile], encoding: str) -> Iterator[list[InputFile]]:
    """The files as the partitions workers read, in order: each block of a large jsonl
    file alone, consecutive small files together, up to ``READ_BLOCK`` bytes or
    ``PARTITION_FILES`` files. A folder of 100,000 small files is a hundred tasks, not
    100,000, and no partition holds much more text than one block."""
    batch: list[InputFile] = []
    held = 0
    for f in files:
        for block in file_blocks(f, encoding):
            n = block.byte_range[1] - block.byte_range[0] if block.byte_range else block.size
            n = n if n is not None else _size(block.path, block.source)
            if batch and (held + n > READ_BLOCK or len(batch) >= PARTITION_FILES):
                yield batch
                batch, held = [], 0
            batch.append(block)
            held += n
    if batch:
        yield batch


def decode(data: bytes, encoding: str, source: str) -> tuple[str, str, int]:
    """Bytes to text: (text, encoding used, count of undecodable bytes replaced)."""
    if encoding != "auto":
        return _decode_counting(data, _checked(encoding), source)
    if data.startswith(codecs.BOM_UTF8):
        return _decode_counting(data[len(codecs.BOM_UTF8) :], "utf-8", source)
    return _decode_counting(data, _auto_encoding(data, source), source)


def _checked(encoding: str) -> str:
    """A configured encoding, known to Python."""
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InputError(
            f"input.encoding: unknown encoding {encoding!r} (try auto, utf-8, gb18030, big5)"
        ) from exc
    return encoding


def _auto_encoding(data: bytes, source: str) -> str:
    """The encoding of bytes without a UTF-8 BOM; an InputError for a binary file.

    Only looks: nothing is logged, so the head of a file (which may end in a character
    cut in two) can be judged as well as the whole file.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in data[:8192]:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise InputError(f"{source}: looks like a binary file, not text (remove it from input.paths)")
        return utf16
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Stray bytes in an otherwise UTF-8 file are damage, not another encoding: they are
    # replaced where they are, and the rest of the file is read as written.
    if _utf8_share(data) >= UTF8_SHARE:
        return "utf-8"
    return _detect(data)


def _utf8_share(data: bytes) -> float:
    """Share of the non-ASCII bytes of ``data`` that are part of valid UTF-8 sequences."""
    non_ascii = len(data.translate(None, bytes(range(128))))
    if not non_ascii:
        return 1.0
    # surrogateescape turns each invalid byte into one lone surrogate, which encoding
    # with "ignore" drops: what is left is the valid bytes.
    valid = len(data.decode("utf-8", "surrogateescape").encode("utf-8", "ignore"))
    return (valid - (len(data) - non_ascii)) / non_ascii


UTF16_SAMPLE = 1 << 16  # bytes looked at to tell UTF-16 text without a BOM from binary
UTF16_TEXT_SHARE = 0.95  # of its characters that must be letters, digits, punctuation or spaces
UTF16_ASCII_PAIRS = 0.5  # of its code units that may be two printable ASCII bytes
TEXT_CATEGORIES = frozenset("LMNPSZ")


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``data`` is UTF-16 text without a byte order
    mark, None when it is not (binary, or text with stray zero bytes).

    ASCII characters put a zero byte on one side of their code unit, so UTF-16 text has
    most of its zero bytes on one side (CJK characters such as 一, U+4E00, put a few on
    the other): that side gives the byte order. Decoded so, the text must be made of
    letters, digits, punctuation, symbols and spaces, and not mostly of code units whose
    two bytes are printable ASCII: that is how an ASCII file with a stray zero byte reads.
    """
    sample = data[:UTF16_SAMPLE]
    sample = sample[: len(sample) // 2 * 2]
    zero_first, zero_second = sample[0::2].count(0), sample[1::2].count(0)
    if zero_first == zero_second:
        return None
    encoding = "utf-16-be" if zero_first > zero_second else "utf-16-le"
    text = sample.decode(encoding, errors="replace")
    if not text:
        return None
    textual = sum(
        1 for c in text if c in "\t\n\r " or (unicodedata.category(c)[0] in TEXT_CATEGORIES and c != "\ufffd")
    )
    printable = range(0x20, 0x7F)
    ascii_pairs = sum(
        1 for a, b in zip(sample[0::2], sample[1::2], strict=True) if a in printable and b in printable
    )
    if textual < UTF16_TEXT_SHARE * len(text) or ascii_pairs > UTF16_ASCII_PAIRS * (len(sample) // 2):
        return None
    return encoding


def _common_share(text: str) -> float:
    """Share of CJK characters that are common ones (GB2312 after t2s conversion).

    A wrong guess between GB18030 and Big5 still decodes, but into rare characters.
    """
    import opencc

    cjk = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not cjk:
        return 0.0
    simplified = opencc.OpenCC("t2s").convert("".join(cjk))
    common = 0
    for c in simplified:
        try:
            c.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(cjk)


def _detect(data: bytes) -> str:
    sample = data[:200_000]
    decoded: dict[str, str] = {}
    for enc in ("gb18030", "big5"):
        try:
            decoded[enc] = sample.decode(enc)
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 4:  # the sample cut a character in two
                decoded[enc] = sample[: exc.start].decode(enc)
    if len(decoded) == 1:
        return next(iter(decoded))
    if decoded:
        return max(decoded, key=lambda enc: (_common_share(decoded[enc]), enc == "gb18030"))
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["gb18030", "big5", "utf_8"]).best()
    return best.encoding if best is not None else "gb18030"


def _decode_counting(data: bytes, encoding: str, source: str) -> tuple[str, str, int]:
    try:
        return data.decode(encoding), encoding, 0
    except UnicodeDecodeError as exc:
        first = exc.start
    bad = 0

    def count(err: UnicodeError) -> tuple[str, int]:
        nonlocal bad
        assert isinstance(err, UnicodeDecodeError)
        bad += err.end - err.start
        return "\ufffd", err.end

    name = f"pipeline-count-{id(count)}"
    codecs.register_error(name, count)
    text = data.decode(encoding, errors=name)
    log.warning(
        "%s: %d undecodable bytes as %s replaced with U+FFFD (first at byte %d)", source, bad, encoding, first
    )
    return text, encoding, bad


def _guess_format(path: Path) -> str:
    return EXTENSIONS.get(path.suffix.lower(), "txt")


def _glob_base(pattern: Path) -> Path:
    parts = pattern.parts
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            return Path(*parts[:i]) if i else Path(".")
    return pattern.parent


LINE_END = re.compile(r"\r*\n|\r")  # \r\r\n, left by a CRLF file converted twice, is one line end


def _lines(text: str) -> list[str]:
    return LINE_END.split(text)


def _txt_document(f: InputFile, text: str) -> Document:
    lines = [(i, line) for i, line in enumerate(_lines(text), start=1)]
    return Document(doc_id=Path(f.source).stem, source=f.source, lines=lines)


PLURALS = {str: "strings", dict: "objects", list: "lists", bool: "booleans", int: "numbers", float: "numbers"}


def _not_text(value: Any) -> str | None:
    """Why a record's text value is no text ('null', 'an object', 'a list of objects'),
    or None when it is: a string, a number, a boolean, or a list of strings."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        kinds = list(dict.fromkeys(PLURALS.get(type(v), "nulls") for v in value))
        return None if kinds in ([], ["strings"]) else f"a list of {' and '.join(kinds)}"
    return None


def _scalar_text(value: str | int | float | bool) -> str:
    # A number is text too (a code, a year); a boolean keeps its JSON spelling.
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, bool) else str(value)


def _title(value: Any) -> str | None:
    """A title field's value as one line; None when there is none (null, empty, a list)."""
    if value is None or isinstance(value, list | dict):
        return None
    return " ".join(_scalar_text(value).split()) or None


def _row_document(
    f: InputFile, row: dict[str, Any], lineno: int, config: Config, notes: _Notes
) -> Document | None:
    """The document of one csv/jsonl record, or None when its text is not text (null, an
    object, a list of anything but strings): counted in ``notes``."""
    where = f"{f.source}:{lineno}"
    field_ = config.input.text_field
    if field_ not in row:
        keys = ", ".join(sorted(map(str, row))) or "none"
        raise InputError(f"{where}: no field {field_!r} (fields: {keys}); set input.text_field")
    missing = [m for m in config.input.meta_fields if m not in row]
    if missing:
        raise InputError(f"{where}: no field {missing[0]!r} named in input.meta_fields")
    for setting, name in (("id_field", config.input.id_field), ("title_field", config.input.title_field)):
        if name and name not in row:
            raise InputError(f"{where}: no field {name!r} named in input.{setting}")
    value = row[field_]
    why = _not_text(value)
    if why is not None:
        notes.skip(why, lineno)
        return None
    # A list of strings is the record's paragraphs: one line each, as if joined by "\n".
    text = "\n".join(value) if isinstance(value, list) else _scalar_text(value)
    idf = config.input.id_field
    doc_id = str(row[idf]) if idf else f"{Path(f.source).stem}:{lineno}"
    meta = {m: row[m] for m in config.input.meta_fields}
    lines = list(enumerate(_lines(text), start=1))
    title = _title(row[config.input.title_field]) if config.input.title_field else None
    return Document(doc_id, f.source, lines, meta, record_line=lineno, title=title)


# A line of a csv file with its line end, ended as _lines ends lines: csv.reader is fed
# these, not str.splitlines, which also ends lines at U+2028, form feeds and NEL (0x85)
# and so would cut a record of web text in two.
CSV_LINE = re.compile(r"[^\r\n]*(?:\r*\n|\r)|[^\r\n]+")


class _LineCounter:
    """Feeds lines to csv.reader and remembers how many it has taken."""

    def __init__(self, text: str) -> None:
        self._lines = CSV_LINE.findall(text)
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self.taken += 1
            yield line


def _csv_documents(f: InputFile, text: str, config: Config, notes: _Notes) -> Iterator[Document]:
    lines = _LineCounter(text)
    reader = csv.reader(lines)
    header: list[str] | None = None
    end = 0
    try:
        for row in reader:
            start, end = end + 1, lines.taken
            if not row:
                continue  # a blank line
            if header is None:
                header = row
                continue
            doc = _row_document(f, dict(zip(header, row, strict=False)), start, config, notes)
            if doc is not None:
                yield doc
    except csv.Error as exc:
        raise InputError(f"{f.source}:{lines.taken}: malformed CSV ({exc})") from exc


def _jsonl_documents(
    f: InputFile, text: str, config: Config, first_line: int, notes: _Notes
) -> Iterator[Document]:
    for lineno, line in enumerate(_lines(text), start=first_line):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{f.source}:{lineno}: invalid JSON ({exc.msg}); one object a line") from exc
        except ValueError as exc:  # Python refuses integers of more than 4300 digits
            raise InputError(
                f"{f.source}:{lineno}: invalid JSON (a number too long to read); one object a line"
            ) from exc
        except RecursionError as exc:
            raise InputError(
                f"{f.source}:{lineno}: invalid JSON (nested too deeply); one object a line"
            ) from exc
        if not isinstance(row, dict):
            raise InputError(f"{f.source}:{lineno}: expected a JSON object, got {type(row).__name__}")
        if SURROGATE_ESCAPE.search(line):
            # json turns a lone \ud83d into a str that cannot be written as UTF-8: every
            # later write of the text (units.jsonl, the report) would fail on it.
            mended = _mend_surrogates(row)
            if mended != row:
                notes.surrogates.append(lineno)
                row = mended
        doc = _row_document(f, row, lineno, config, notes)
        if doc is not None:
            yield doc


SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _mend_surrogates(value: Any) -> Any:
    """A parsed JSON value with every lone surrogate in its strings replaced by U+FFFD."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_mend_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: _mend_surrogates(v) for k, v in value.items()}
    return value


# -- word lists: stopwords, user dictionaries and built-in resources ------------------


def load_resource_lines(name: str) -> Iterator[str]:
    """Non-comment, non-blank lines of a file in ``pipeline/resources``."""
    from importlib.resources import files

    text = files("pipeline.resources").joinpath(name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.strip()


def _read_lexicon(path: Path, what: str) -> list[tuple[int, str]]:
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found (paths are relative to the config file)")
    data = _read(path, str(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: {what} file is not UTF-8 (save it as UTF-8)") from exc
    return [
        (i, ln.strip())
        for i, ln in enumerate(_lines(text), start=1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]


def read_word_list(path: Path) -> list[str]:
    """A stopword file: one word a line, UTF-8 with or without BOM, LF or CRLF."""
    return [w for _, w in _read_lexicon(path, "stopword")]


def read_userdict(path: Path) -> list[tuple[str, int | None, str | None]]:
    """A jieba user dictionary: 'word [freq] [pos]' a line; checked line by line."""
    entries: list[tuple[str, int | None, str | None]] = []
    for lineno, line in _read_lexicon(path, "user dictionary"):
        parts = line.split()
        word, freq, pos = parts[0], None, None
        rest = parts[1:]
        if rest and rest[0].isdigit():
            freq = int(rest.pop(0))
        if rest:
            pos = rest.pop(0)
        if rest or (pos is not None and not pos.isalpha()):
            raise InputError(
                f"{path}:{lineno}: expected 'word [freq] [pos]', got {line!r} "
                "(freq is a whole number, pos a tag such as n or v)"
            )
        entries.append((word, freq, pos))
    return entries


def validate_inputs(config: Config) -> list[InputFile]:
    """Check what a run would find wrong with its inputs before any work: every input
    path gives files that can be opened, and every user dictionary and stopword file is
    readable and well formed. The input files, as ``list_inputs`` gives them."""
    files = list_inputs(config, warn=True)
    for f in files:
        _read(f.path, f.source, 0, 1)
    for path in config.tokenize.userdict:
        read_userdict(config.resolve(path))
    for path in config.tokenize.stopwords:
        read_word_list(config.resolve(path))
    return files
