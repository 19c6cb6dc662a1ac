"""segment: input documents -> paragraph units with exact provenance.

A unit is the piece of text LDA trains on: a paragraph, split at sentence ends when
longer than ``segment.max_chars`` and merged with a neighbour when shorter than
``segment.min_chars``. Page furniture is dropped, headings and titles become the
``heading`` of the units under them, and every decision that removes a line is
written to ``segmentation.tsv``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline import corpus, executor
from pipeline.artifacts import RunStore
from pipeline.config import Config, SegmentConfig
from pipeline.errors import ConfigError, InputError
from pipeline.stages.base import Counts, Progress, Stage

TERMINAL = "。！？!?…"
CLOSERS = "”’」』）)》】\"'"
# A sentence ends at terminal punctuation, plus any closing quotes or brackets after it.
SENTENCE_END = re.compile(rf"[{re.escape(TERMINAL)}]+[{re.escape(CLOSERS)}]*")
# Inside one line, a space after a sentence end starts a new paragraph.
INLINE_BREAK = re.compile(rf"(?<=[{re.escape(TERMINAL + CLOSERS)}])[ \t]+(?=\S)")
MID_SENTENCE = ",，、;；"  # a line ending here breaks off mid-sentence: it is not a title
NUMBERED = re.compile(
    r"^(第[一二三四五六七八九十百\d]+[段章节部分篇条点]|[一二三四五六七八九十]+[、.．]|"
    r"[（(][一二三四五六七八九十\d]+[)）]|\d+[、.．](?!\d))"
)
# Trailing ordinals that vary between the articles of one file: 篇一, (2), (六), 心得三:
ORDINAL_SUFFIX = re.compile(r"([（(][^()（）]{1,3}[)）]|篇?[一二三四五六七八九十\d]+)?[:：]?$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\ufeff]")
FULLWIDTH_ALNUM = {
    **{0xFF10 + i: 0x30 + i for i in range(10)},
    **{0xFF21 + i: 0x41 + i for i in range(26)},
    **{0xFF41 + i: 0x61 + i for i in range(26)},
    0x3000: 0x20,
    0x00A0: 0x20,
    0x2002: 0x20,
    0x2003: 0x20,
    0x09: 0x20,
}


@dataclass
class Paragraph:
    text: str
    line_start: int
    line_end: int
    heading: str
    article: int


@dataclass
class Segmented:
    units: list[dict[str, Any]]
    removed: list[tuple[str, int, str, str]] = field(default_factory=list)  # source, line, kind, text


def normalize(line: str) -> str:
    """Full-width Latin letters and digits to half-width, odd spaces unified, controls dropped."""
    return CONTROL.sub("", line.translate(FULLWIDTH_ALNUM))


def compile_furniture(cfg: SegmentConfig) -> list[re.Pattern[str]]:
    patterns = list(corpus.load_resource_lines("furniture.txt")) if cfg.furniture else []
    compiled = []
    for i, pat in enumerate([*patterns, *cfg.furniture_patterns]):
        try:
            compiled.append(re.compile(pat))
        except re.error as exc:
            where = (
                f"segment.furniture_patterns[{i - len(patterns)}]" if i >= len(patterns) else "furniture.txt"
            )
            raise ConfigError(f"{where}: invalid regular expression {pat!r} ({exc})") from exc
    return compiled


def simplifier(cfg: SegmentConfig) -> Callable[[str], str] | None:
    """OpenCC traditional-to-simplified conversion, when ``segment.to_simplified`` asks for it."""
    if not cfg.to_simplified:
        return None
    import opencc

    convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
    return convert


def ends_sentence(text: str) -> bool:
    core = text.rstrip(CLOSERS)
    if core[-1:] in TERMINAL:
        return True
    # An ASCII full stop ends a Chinese sentence too (not "3.", "v1.", "Mr.").
    return core[-1:] == "." and len(core) > 1 and "\u4e00" <= core[-2] <= "\u9fff"


def is_heading(text: str, cfg: SegmentConfig) -> bool:
    """Short lines without sentence-final punctuation, and short numbered section lines."""
    if len(text) > cfg.heading_max_chars:
        return False
    if NUMBERED.match(text):
        return True
    return not ends_sentence(text) and text[-1] not in MID_SENTENCE


def title_key(text: str) -> str:
    return ORDINAL_SUFFIX.sub("", text).strip()


def split_sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in SENTENCE_END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return [s for s in out if s.strip()]


def split_long(text: str, max_chars: int) -> list[str]:
    """Pack whole sentences into pieces of at most ``max_chars``; cut only a too-long sentence."""
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        while len(sentence) > max_chars:
            cut = max((sentence.rfind(c, 0, max_chars) for c in ",，;；:：、"), default=-1)
            cut = cut + 1 if cut > max_chars // 3 else max_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut])
            sentence = sentence[cut:]
        if len(current) + len(sentence) > max_chars and current:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return pieces


def paragraphs(
    doc: corpus.Document,
    cfg: SegmentConfig,
    furniture: list[re.Pattern[str]],
    removed: list[tuple[str, int, str, str]],
    simplify: Callable[[str], str] | None = None,
) -> list[Paragraph]:
    """Lines -> paragraphs: drop furniture, detect titles and headings, re-flow wrapped lines."""
    out: list[Paragraph] = []
    title = ""
    heading = ""
    article = 0
    open_para: Paragraph | None = None  # a paragraph that may continue on the next line
    for lineno, raw in doc.lines:
        indented = raw[:1] in (" ", "\u3000", "\t", "\xa0")
        line = normalize(raw).strip()
        if not line:
            open_para = None
            continue
        probe = simplify(line) if simplify else line  # patterns are written in simplified Chinese
        if any(p.search(probe) for p in furniture):
            removed.append((doc.source, lineno, "furniture", line))
            open_para = None
            continue
        if title and title_key(line) == title_key(title) and len(line) <= 2 * cfg.heading_max_chars:
            article += 1
            heading = line
            removed.append((doc.source, lineno, "title", line))
            open_para = None
            continue
        if is_heading(line, cfg) and not (
            open_para
            and not indented
            and not NUMBERED.match(line)
            and len(open_para.text) > cfg.heading_max_chars
            and not ends_sentence(open_para.text)
        ):
            if not title and not out:
                title = line
                removed.append((doc.source, lineno, "title", line))
            else:
                removed.append((doc.source, lineno, "heading", line))
            heading = line
            open_para = None
            continue
        if (
            not title
            and not out
            and len(line) <= 2 * cfg.heading_max_chars
            and not ends_sentence(line)
            and line[-1] not in MID_SENTENCE
        ):
            title = heading = line
            removed.append((doc.source, lineno, "title", line))
            continue
        pieces = [p.strip() for p in INLINE_BREAK.split(line) if p.strip()]
        for i, piece in enumerate(pieces):
            if i == 0 and open_para is not None and not indented:
                # Hard-wrapped text: the previous line broke mid-sentence.
                open_para.text += piece
                open_para.line_end = lineno
                continue
            open_para = Paragraph(piece, lineno, lineno, heading, article)
            out.append(open_para)
        last = out[-1] if out else None
        open_para = (
            last
            if last is not None and not ends_sentence(last.text) and len(line) > cfg.heading_max_chars
            else None
        )
    if not out:
        # Nothing but title or heading lines (a headline, a short post, a csv row of one
        # line): those lines are the text.
        held = [r for r in removed if r[0] == doc.source and r[2] in ("title", "heading")]
        for entry in held:
            removed.remove(entry)
            out.append(Paragraph(entry[3], entry[1], entry[1], "", 0))
    return out


def to_units(paras: list[Paragraph], cfg: SegmentConfig) -> list[Paragraph]:
    """Split long paragraphs at sentence ends, then merge short ones within an article."""
    split: list[Paragraph] = []
    for p in paras:
        if len(p.text) <= cfg.max_chars:
            split.append(p)
            continue
        for piece in split_long(p.text, cfg.max_chars):
            split.append(Paragraph(piece, p.line_start, p.line_end, p.heading, p.article))
    return merge_short(split, cfg)


def _joined(a: Paragraph, b: Paragraph) -> Paragraph:
    return Paragraph(a.text + b.text, a.line_start, b.line_end, a.heading, a.article)


def merge_short(units: list[Paragraph], cfg: SegmentConfig) -> list[Paragraph]:
    """Merge each unit under ``min_chars`` into a neighbour of the same article.

    Preference: the next unit under the same heading, then the previous unit, then the
    next unit of the article; a merge never makes a unit longer than ``max_chars``.
    """
    units = list(units)
    out: list[Paragraph] = []
    i = 0
    while i < len(units):
        p = units[i]
        if len(p.text) < cfg.min_chars:
            nxt = units[i + 1] if i + 1 < len(units) else None
            prev = out[-1] if out else None

            def fits(a: Paragraph | None, b: Paragraph | None) -> bool:
                return (
                    a is not None
                    and b is not None
                    and a.article == b.article
                    and len(a.text) + len(b.text) <= cfg.max_chars
                )

            if nxt is not None and fits(p, nxt) and nxt.heading == p.heading:
                units[i + 1] = Paragraph(
                    p.text + nxt.text, p.line_start, nxt.line_end, nxt.heading, p.article
                )
                i += 1
                continue
            if prev is not None and fits(prev, p):
                out[-1] = _joined(prev, p)
                i += 1
                continue
            if nxt is not None and fits(p, nxt):
                units[i + 1] = _joined(p, nxt)
                i += 1
                continue
        out.append(p)
        i += 1
    return out


def segment_documents(
    docs: Iterable[corpus.Document], cfg: SegmentConfig
) -> Iterator[tuple[dict[str, Any], list[tuple[str, int, str, str]]]]:
    """Stream (unit, removed lines) pairs; the pure core of the stage."""
    furniture = compile_furniture(cfg)
    simplify = simplifier(cfg)
    for doc in docs:
        removed: list[tuple[str, int, str, str]] = []
        units = to_units(paragraphs(doc, cfg, furniture, removed, simplify), cfg)
        for n, p in enumerate(units, start=1):
            unit = {
                "unit_id": f"{doc.doc_id}-{n:04d}",
                "doc_id": doc.doc_id,
                "source": doc.source,
                "line_start": p.line_start,
                "line_end": p.line_end,
                "heading": p.heading,
                "text": p.text,
                "meta": doc.meta,
            }
            if simplify is not None:
                # The original stays in "text" for display; analysis reads the simplified form.
                unit["text_simplified"] = simplify(p.text)
            yield unit, (removed if n == 1 else [])
        if not units:
            yield {}, removed


DocResult = tuple[str, int, list[dict[str, Any]], list[tuple[str, int, str, str]]]


def _documents(config: Config, files: list[corpus.InputFile], dedupe: bool = True) -> Iterator[DocResult]:
    """(doc id, undecodable bytes, units, removed lines) per document, streamed one at a time."""
    for doc in corpus.read_documents(config, files, dedupe=dedupe):
        units, removed = [], []
        for unit, rem in segment_documents([doc], config.segment):
            removed.extend(rem)
            if unit:
                units.append(unit)
        yield doc.doc_id, doc.bad_bytes, units, removed


def segment_partition(files: list[corpus.InputFile], config: Config) -> list[DocResult]:
    """One partition, on a worker; ids are made unique by the caller, which sees them all."""
    return list(_documents(config, files, dedupe=False))


def _partitioned_documents(config: Config, files: list[corpus.InputFile]) -> Iterator[DocResult]:
    """Documents segmented as partitions by worker processes or on a cluster, ids made
    unique here, in order. A partition is one file, or one block of a large jsonl file."""
    partitions = ([block] for f in files for block in corpus.file_blocks(f, config.input.encoding))
    dedup = corpus.IdDeduper()
    for result in executor.current().map(segment_partition, partitions, config):
        for raw_id, bad, units, removed in result:
            doc_id = dedup(raw_id)
            if doc_id != raw_id:
                for n, unit in enumerate(units, start=1):
                    unit["doc_id"], unit["unit_id"] = doc_id, f"{doc_id}-{n:04d}"
            yield doc_id, bad, units, removed


def run(config: Config, store: RunStore, progress: Progress) -> Counts:
    files = corpus.list_inputs(config)
    counts: dict[str, int] = {"files": len(files), "documents": 0, "units": 0, "removed_lines": 0}
    undecodable: dict[str, int] = {}

    # Removed lines are written as they are found, beside the units: nothing grows with the corpus.
    header = ["source", "line", "kind", "text"]
    with store.open_csv("segmentation.tsv", header, delimiter="\t") as removed_out:

        def units() -> Iterator[dict[str, Any]]:
            parallel = executor.current().parallel
            docs = _partitioned_documents(config, files) if parallel else _documents(config, files)
            for _, bad, doc_units, removed in progress.track(docs, None, "segment"):
                counts["documents"] += 1
                counts["removed_lines"] += len(removed)
                removed_out.writerows(removed)
                if bad:
                    source = doc_units[0]["source"] if doc_units else (removed[0][0] if removed else "?")
                    undecodable[source] = undecodable.get(source, 0) + bad
                for unit in doc_units:
                    counts["units"] += 1
                    yield unit
            if counts["units"] == 0:
                # Raised inside the stream so both writes are abandoned and old outputs stay.
                raise InputError(
                    f"{', '.join(config.input.paths)}: no text left after segmentation "
                    "(are the files empty, or is every line furniture?)"
                )

        store.write_jsonl("units.jsonl", units())
    counts["undecodable_bytes"] = sum(undecodable.values())
    result: Counts = dict(counts)
    if undecodable:
        result["details"] = {"undecodable_bytes": undecodable}
    return result


STAGE = Stage(
    name="segment",
    sections=("input", "segment"),
    inputs=(),
    outputs=("units.jsonl", "segmentation.tsv"),
    run=run,
    summary="cut inputs into paragraph units",
)
