"""Reading inputs: the only module that opens input files.

Turns ``input.paths`` (files, folders, globs) into a stream of ``Document`` records,
each with its source lines and line numbers, whatever the format (txt, csv, jsonl)
and encoding (UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK, Big5).
"""

from __future__ import annotations

import codecs
import csv
import glob
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.errors import InputError

log = logging.getLogger(__name__)

READ_BLOCK = 4 << 20  # bytes of a jsonl file read and decoded at a time
EXTENSIONS = {".txt": "txt", ".text": "txt", ".md": "txt", ".csv": "csv", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class InputFile:
    path: Path
    source: str  # the name shown in outputs: stable whatever the working directory
    format: str
    byte_range: tuple[int, int] | None = None  # a block of whole lines of a jsonl file
    first_line: int = 1  # the line number the block starts at
    encoding: str | None = None  # of a block: found at the head of its file


@dataclass
class Document:
    doc_id: str
    source: str
    lines: list[tuple[int, str]]  # (1-based line of the file, or of the record's text; text)
    meta: dict[str, Any] = field(default_factory=dict)
    encoding: str = "utf-8"
    bad_bytes: int = 0
    record_line: int | None = None  # a csv/jsonl record: the file line it starts at


def list_inputs(config: Config) -> list[InputFile]:
    """Every input file, in a stable order; raises InputError for paths that yield nothing."""
    files: list[InputFile] = []
    seen: set[Path] = set()
    fmt = config.input.format
    for spec in config.input.paths:
        found: list[tuple[Path, str]] = []
        target = config.resolve(spec)
        if glob.has_magic(spec):
            base = _glob_base(target)
            for match in sorted(glob.glob(str(target), recursive=True)):
                p = Path(match)
                if p.is_file():
                    found.append((p, f"{base.name}/{p.relative_to(base).as_posix()}"))
            if not found:
                raise InputError(f"{spec}: no files match this pattern (check input.paths)")
        elif target.is_dir():
            for p in sorted(target.rglob("*")):
                wanted = fmt != "auto" or p.suffix.lower() in EXTENSIONS
                if p.is_file() and wanted and not p.name.startswith("."):
                    found.append((p, f"{target.name}/{p.relative_to(target).as_posix()}"))
            if not found:
                kinds = ", ".join(sorted(EXTENSIONS))
                raise InputError(f"{spec}: folder has no input files ({kinds}); add files or fix input.paths")
        elif target.is_file():
            found.append((target, target.name))
        else:
            raise InputError(f"{spec}: no such file or folder (input.paths is relative to the config file)")
        for p, source in found:
            real = p.resolve()
            if real in seen:
                continue
            seen.add(real)
            files.append(InputFile(p, source, fmt if fmt != "auto" else _guess_format(p)))
    return files


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def read_documents(
    config: Config, files: list[InputFile] | None = None, dedupe: bool = True
) -> Iterator[Document]:
    """Stream documents from every input file: one per txt file, one per csv/jsonl row.

    A document id seen before gets a suffix (``id~2``); ``dedupe=False`` leaves that to
    the caller, which partitioned reading needs. Undecodable bytes are counted on the
    first document of their file.
    """
    dedup = IdDeduper()
    for f in (
        block
        for whole in (files if files is not None else list_inputs(config))
        for block in file_blocks(whole, config.input.encoding)
    ):
        if f.byte_range is not None:
            with f.path.open("rb") as fh:
                fh.seek(f.byte_range[0])
                data = fh.read(f.byte_range[1] - f.byte_range[0])
            if f.byte_range[0] == 0 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            # JSON text is UTF-8 (RFC 8259) unless the file's head or the config says otherwise.
            configured = config.input.encoding
            encoding_name = f.encoding or ("utf-8" if configured == "auto" else configured)
            text, encoding, bad = _decode_counting(data, encoding_name, f.source)
        else:
            text, encoding, bad = decode(f.path.read_bytes(), config.input.encoding, f.source)
        if f.format == "txt":
            docs: Iterator[Document] = iter([_txt_document(f, text)])
        elif f.format == "csv":
            docs = _csv_documents(f, text, config)
        else:
            docs = _jsonl_documents(f, text, config, f.first_line)
        for doc in docs:
            if dedupe:
                doc.doc_id = dedup(doc.doc_id)
            doc.encoding, doc.bad_bytes = encoding, bad
            bad = 0
            yield doc


class IdDeduper:
    """Gives repeated document ids a suffix: a, a -> a, a~2."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, doc_id: str) -> str:
        n = self.seen.get(doc_id, 0)
        self.seen[doc_id] = n + 1
        return f"{doc_id}~{n + 1}" if n else doc_id


def jsonl_blocks(f: InputFile, block_bytes: int) -> list[InputFile]:
    """A jsonl file cut at line ends into blocks of about ``block_bytes``."""
    size = f.path.stat().st_size
    if f.format != "jsonl" or size <= block_bytes:
        return [f]
    blocks: list[InputFile] = []
    start, line = 0, 1
    with f.path.open("rb") as fh:
        while start < size:
            fh.seek(min(size, start + block_bytes))
            fh.readline()  # finish the line the cut fell in
            end = min(size, fh.tell())
            fh.seek(start)
            lines = fh.read(end - start).count(b"\n")
            blocks.append(InputFile(f.path, f.source, f.format, (start, end), line))
            start, line = end, line + lines
    return blocks


def file_blocks(f: InputFile, encoding: str) -> list[InputFile]:
    """A file as the pieces it is read in: a large jsonl file as blocks of whole lines
    (about ``READ_BLOCK`` bytes), so reading never holds it whole; anything else whole.

    Blocks are decoded with the encoding found at the head of the file (``auto``) or
    the one configured; a UTF-16 file is read whole, as its lines cannot be cut bytewise.
    """
    if f.format != "jsonl" or f.byte_range is not None or f.path.stat().st_size <= READ_BLOCK:
        return [f]
    with f.path.open("rb") as fh:
        head = fh.read(READ_BLOCK)
    found = encoding
    if encoding == "auto":
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return [f]
        cut = head.rfind(b"\n") + 1 or len(head)  # whole lines: no character cut in two
        _, found, _ = decode(head[:cut], "auto", f.source)
    if found.replace("_", "-").lower().startswith("utf-16"):
        return [f]
    return [replace(b, encoding=found) for b in jsonl_blocks(f, READ_BLOCK)]


def decode(data: bytes, encoding: str, source: str) -> tuple[str, str, int]:
    """Bytes to text: (text, encoding used, count of undecodable bytes replaced)."""
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise InputError(
                f"input.encoding: unknown encoding {encoding!r} (try auto, utf-8, gb18030, big5)"
            ) from exc
        return _decode_counting(data, encoding, source)
    if data.startswith(codecs.BOM_UTF8):
        return _decode_counting(data[3:], "utf-8", source)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_counting(data, "utf-16", source)
    if b"\x00" in data[:8192]:
        raise InputError(f"{source}: looks like a binary file, not text (remove it from input.paths)")
    try:
        return data.decode("utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    # A few stray bytes in an otherwise UTF-8 file are damage, not another encoding.
    damaged = data.decode("utf-8", errors="replace").count("\ufffd")
    if damaged <= max(2, len(data) // 1000):
        return _decode_counting(data, "utf-8", source)
    return _decode_counting(data, _detect(data), source)


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


def _row_document(f: InputFile, row: dict[str, Any], lineno: int, config: Config) -> Document:
    where = f"{f.source}:{lineno}"
    field_ = config.input.text_field
    if field_ not in row:
        keys = ", ".join(sorted(map(str, row))) or "none"
        raise InputError(f"{where}: no field {field_!r} (fields: {keys}); set input.text_field")
    missing = [m for m in config.input.meta_fields if m not in row]
    if missing:
        raise InputError(f"{where}: no field {missing[0]!r} named in input.meta_fields")
    idf = config.input.id_field
    if idf and idf not in row:
        raise InputError(f"{where}: no field {idf!r} named in input.id_field")
    doc_id = str(row[idf]) if idf else f"{Path(f.source).stem}:{lineno}"
    text = "" if row[field_] is None else str(row[field_])
    meta = {m: row[m] for m in config.input.meta_fields}
    lines = list(enumerate(_lines(text), start=1))
    return Document(doc_id, f.source, lines, meta, record_line=lineno)


class _LineCounter:
    """Feeds lines to csv.reader and remembers how many it has taken."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self.taken += 1
            yield line


def _csv_documents(f: InputFile, text: str, config: Config) -> Iterator[Document]:
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
            yield _row_document(f, dict(zip(header, row, strict=False)), start, config)
    except csv.Error as exc:
        raise InputError(f"{f.source}:{lines.taken}: malformed CSV ({exc})") from exc


def _jsonl_documents(f: InputFile, text: str, config: Config, first_line: int = 1) -> Iterator[Document]:
    for lineno, line in enumerate(_lines(text), start=first_line):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{f.source}:{lineno}: invalid JSON ({exc.msg}); one object a line") from exc
        if not isinstance(row, dict):
            raise InputError(f"{f.source}:{lineno}: expected a JSON object, got {type(row).__name__}")
        yield _row_document(f, row, lineno, config)


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
    data = path.read_bytes()
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
