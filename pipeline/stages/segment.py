"""segment: input documents -> paragraph units with exact provenance.

A unit is the piece of text LDA trains on: a paragraph, split at sentence ends when
longer than ``segment.max_chars`` and merged with a neighbour when shorter than
``segment.min_chars``. Page furniture is dropped, headings and titles become the
``heading`` of the units under them, and every decision that removes a line is
written to ``segmentation.tsv``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pipeline import boilerplate, corpus, dates, duplicates, layout
from pipeline.artifacts import RunStore
from pipeline.config import Config, SegmentConfig
from pipeline.errors import ConfigError, InputError
from pipeline.executor import Executor
from pipeline.stages.base import Counts, Progress, Stage

log = logging.getLogger(__name__)

TERMINAL = "。！？!?…"
CLOSERS = "”’」』）)》】\"'"
# A sentence ends at terminal punctuation, plus any closing quotes or brackets after it.
SENTENCE_END = re.compile(rf"[{re.escape(TERMINAL)}]+[{re.escape(CLOSERS)}]*")
# Inside one line, a space after a sentence end starts a new paragraph.
INLINE_BREAK = re.compile(rf"(?<=[{re.escape(TERMINAL + CLOSERS)}])[ \t]+(?=\S)")
MID_SENTENCE = ",，、;；"  # a line ending here breaks off mid-sentence: it is not a title
CLAUSE_BREAK = re.compile(r"[,，、;；:：]")  # a line with one of these inside holds more than one clause
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
    whole_line: bool = False  # the whole of one source line


def normalize(line: str) -> str:
    """Full-width Latin letters and digits to half-width, odd spaces unified, controls dropped."""
    return CONTROL.sub("", line.translate(FULLWIDTH_ALNUM))


def compile_furniture(cfg: SegmentConfig) -> list[re.Pattern[str]]:
    """The furniture patterns, compiled once a process for each set of settings: every
    partition asks for them, and a folder of small files is many partitions."""
    return list(_compiled_furniture(cfg.furniture, tuple(cfg.furniture_patterns)))


@cache
def _compiled_furniture(builtin: bool, extra: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    patterns = list(corpus.load_resource_lines("furniture.txt")) if builtin else []
    compiled = []
    for i, pat in enumerate([*patterns, *extra]):
        try:
            compiled.append(re.compile(pat))
        except re.error as exc:
            where = (
                f"segment.furniture_patterns[{i - len(patterns)}]" if i >= len(patterns) else "furniture.txt"
            )
            raise ConfigError(f"{where}: invalid regular expression {pat!r} ({exc})") from exc
    return tuple(compiled)


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
        # A sentence too long is cut from an offset on, never by copying what is left of
        # it: a line of 200 MB without a sentence end is cut in time linear in its length.
        at = 0
        while len(sentence) - at > max_chars:
            cut = max((sentence.rfind(c, at, at + max_chars) - at for c in ",，;；:：、"), default=-1)
            cut = cut + 1 if cut > max_chars // 3 else max_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[at : at + cut])
            at += cut
        sentence = sentence[at:] if at else sentence
        if len(current) + len(sentence) > max_chars and current:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    # A cut may fall inside a long run of spaces: no unit starts or ends with them.
    return [p.strip() for p in pieces if p.strip()]


def paragraphs(
    doc: corpus.Document,
    cfg: SegmentConfig,
    furniture: list[re.Pattern[str]],
    removed: list[tuple[str, int, str, str]],
    simplify: Callable[[str], str] | None = None,
) -> list[Paragraph]:
    """Lines -> paragraphs: drop furniture, detect titles and headings, re-flow wrapped lines.

    The document's layout decides how lines join: in hard-wrapped text a line that
    reaches the wrap width carries on into the next one (and is never a heading);
    otherwise a long line that breaks off mid-sentence does.
    """
    shape = layout.detect([raw for _, raw in doc.lines], lambda line: ends_sentence(line.rstrip()))
    flow = _Flow(doc.source, cfg, removed)
    for lineno, raw in doc.lines:
        extra = layout.leading(raw)[shape.indent :]  # indentation beyond the common one
        line = normalize(raw).strip()
        if not line:
            flow.open_para = None
            continue
        probe = simplify(line) if simplify else line  # patterns are written in simplified Chinese
        if any(p.search(probe) for p in furniture):
            flow.drop(lineno, "furniture", line)
            continue
        continues = flow.open_para is not None and not extra
        full = shape.wrap is not None and shape.is_full(line, extra)
        if shape.wrap is not None:
            starts_block = not continues and not full
        else:
            starts_block = not (continues and flow.carries_on(line))
        if starts_block and flow.takes_as_title(lineno, line):
            continue
        flow.add_text(lineno, line, continues)
        flow.open_para = flow.continued_by_next(line, full if shape.wrap is not None else None)
    out = parallel_headings(flow.out, doc.source, cfg, removed)
    return out or _title_lines(doc.source, removed)


@dataclass
class _Flow:
    """One document's paragraphs as its lines are read, and what the next line may continue."""

    source: str
    cfg: SegmentConfig
    removed: list[tuple[str, int, str, str]]
    out: list[Paragraph] = field(default_factory=list)
    title: str = ""
    heading: str = ""
    article: int = 0
    open_para: Paragraph | None = None  # a paragraph that may continue on the next line

    def drop(self, lineno: int, kind: str, line: str) -> None:
        self.removed.append((self.source, lineno, kind, line))
        self.open_para = None

    def carries_on(self, line: str) -> bool:
        """Unwrapped text: a long open paragraph that broke off mid-sentence goes on."""
        before = self.open_para
        return (
            before is not None
            and not NUMBERED.match(line)
            and len(before.text) > self.cfg.heading_max_chars
            and not ends_sentence(before.text)
        )

    def takes_as_title(self, lineno: int, line: str) -> bool:
        """A line that starts a block and is a repeated title, a heading or the
        document's first short line is recorded as such, not kept as text."""
        short = len(line) <= 2 * self.cfg.heading_max_chars
        if self.title and short and title_key(line) == title_key(self.title):
            self.article += 1  # the title again: the next article of a multi-article file
            self.heading = line
            self.drop(lineno, "title", line)
            return True
        first = not self.title and not self.out
        if is_heading(line, self.cfg):
            self.title = line if first else self.title
            self.heading = line
            self.drop(lineno, "title" if first else "heading", line)
            return True
        if first and short and not ends_sentence(line) and line[-1] not in MID_SENTENCE:
            self.title = self.heading = line
            self.drop(lineno, "title", line)
            return True
        return False

    def add_text(self, lineno: int, line: str, continues: bool) -> None:
        """The line's paragraphs (a line may join several with inline breaks); the first
        one carries on the open paragraph when the line continues it."""
        pieces = [p.strip() for p in INLINE_BREAK.split(line) if p.strip()]
        for i, piece in enumerate(pieces):
            if i == 0 and continues and self.open_para is not None:
                # Hard-wrapped text: the previous line broke mid-paragraph.
                self.open_para.text += piece
                self.open_para.line_end = lineno
                self.open_para.whole_line = False
                continue
            self.open_para = Paragraph(
                piece, lineno, lineno, self.heading, self.article, whole_line=len(pieces) == 1
            )
            self.out.append(self.open_para)

    def continued_by_next(self, line: str, full: bool | None) -> Paragraph | None:
        """The paragraph the next line may continue: in wrapped text (``full`` given),
        the last one when this line reached the wrap width; otherwise the last one when
        it is long and breaks off mid-sentence."""
        last = self.out[-1] if self.out else None
        if full is not None:
            return last if full else None
        if last is not None and not ends_sentence(last.text) and len(line) > self.cfg.heading_max_chars:
            return last
        return None


def _title_lines(source: str, removed: list[tuple[str, int, str, str]]) -> list[Paragraph]:
    """A document of nothing but title or heading lines (a headline, a short post, a csv
    row of one line): those lines are its text, and no longer listed as removed."""
    held = [r for r in removed if r[0] == source and r[2] in ("title", "heading")]
    for entry in held:
        removed.remove(entry)
    return [Paragraph(entry[3], entry[1], entry[1], "", 0) for entry in held]


def _opening(a: str, b: str) -> int:
    """Length of the opening two lines share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def parallel_headings(
    paras: list[Paragraph], source: str, cfg: SegmentConfig, removed: list[tuple[str, int, str, str]]
) -> list[Paragraph]:
    """Short lines that open a series of parallel sections become those sections' headings.

    A heading may end in 。 (“及时”保障人民生命。), so punctuation alone cannot tell it
    from a short paragraph; structure can: two or more short whole lines of one article,
    one clause each, with the same opening (a quarter of the line or more) and similar
    lengths, each followed by a longer paragraph under the same heading. Sentences of a
    news item that merely start alike (会议讨论了…。 会议确定…。) share too little.
    """
    candidates = [
        i
        for i, p in enumerate(paras[:-1])
        if p.whole_line
        and len(p.text) <= cfg.heading_max_chars
        and not CLAUSE_BREAK.search(p.text)
        and paras[i + 1].article == p.article
        and paras[i + 1].heading == p.heading
        and len(paras[i + 1].text) >= 2 * len(p.text)
    ]
    series: set[int] = set()
    for n, i in enumerate(candidates):
        for j in candidates[n + 1 :]:
            a, b = paras[i], paras[j]
            shared = a.text[: _opening(a.text, b.text)]
            shorter = min(len(a.text), len(b.text))
            similar = max(len(a.text), len(b.text)) <= 1.5 * shorter
            enough = len(shared.strip(CLOSERS + "“‘「『（(《【")) >= 2 and 4 * len(shared) >= shorter
            if a.article == b.article and enough and similar:
                series.update((i, j))
    if not series:
        return paras
    out: list[Paragraph] = []
    current: tuple[int, str, str] | None = None  # (article, heading replaced, new heading)
    for i, p in enumerate(paras):
        if i in series:
            removed.append((source, p.line_start, "heading", p.text))
            current = (p.article, p.heading, p.text)
            continue
        if current is not None and (p.article, p.heading) == current[:2]:
            p.heading = current[2]
        else:
            current = None
        out.append(p)
    removed.sort(key=lambda r: r[1])
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


Removed = tuple[str, int, str, str, int | None, int | None]  # a row of segmentation.tsv
SEGMENTATION_HEADER = ["source", "line", "kind", "text", "text_line", "docs"]
KINDS = ("furniture", "title", "heading", "boilerplate")  # what a removed line or span was taken for


@dataclass
class Segmented:
    """One document cut into units, with what was removed and its size."""

    doc_id: str
    source: str
    units: list[dict[str, Any]]
    removed: list[Removed]
    chars: int  # non-space characters of the document's lines, after normalisation
    bad_bytes: int = 0
    only_boilerplate: bool = False  # every paragraph is boilerplate: kept as text all the same
    signature: Any = None  # MinHash signature of its units' text (segment.duplicates), or None


def visible_chars(text: str) -> int:
    return sum(map(len, text.split()))  # str.split drops exactly the characters isspace() names


TITLE_CHARS = 16  # characters of a document's text that name it when nothing else does


def document_title(
    doc: corpus.Document, removed: list[tuple[str, int, str, str]], units: list[Paragraph]
) -> str:
    """A document's display name: its input.title_field, else its first title or heading
    line before its text, else the start of its text. A heading after the text has begun
    names a section or is a byline ((视频编辑：…)), not the document."""
    if doc.title:
        return doc.title
    start = units[0].line_start if units else float("inf")
    lines = [
        text for _, line, kind, text in removed if kind == "title" or (kind == "heading" and line < start)
    ]
    if lines:
        return lines[0]
    text = " ".join(units[0].text.split()) if units else ""
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS] + "…"


def segment_document(
    doc: corpus.Document,
    cfg: SegmentConfig,
    furniture: list[re.Pattern[str]],
    simplify: Callable[[str], str] | None,
    learned: boilerplate.Boilerplate | None = None,
) -> Segmented:
    """Units of one document. A csv/jsonl record keeps its file line in ``line_start``
    and ``line_end``, and the lines inside its text in ``text_line_start``/``_end``.
    Every unit carries its document's ``title`` (``document_title``). ``learned`` is the
    corpus's boilerplate (``learn_boilerplate``), taken out of the paragraphs."""
    removed: list[tuple[str, int, str, str]] = []
    spans: list[tuple[int, str, int]] = []  # boilerplate taken: line, text, documents holding it
    paras = paragraphs(doc, cfg, furniture, removed, simplify)
    only = False
    if learned:
        paras, only = strip_boilerplate(paras, learned, spans)
        _boilerplate_lines(doc.source, removed, learned, spans)
    paras = to_units(paras, cfg)
    title = document_title(doc, removed, paras)
    record = doc.record_line
    units = []
    for n, p in enumerate(paras, start=1):
        unit: dict[str, Any] = {
            "unit_id": f"{doc.doc_id}-{n:04d}",
            "doc_id": doc.doc_id,
            "source": doc.source,
            "title": title,
            "line_start": p.line_start if record is None else record,
            "line_end": p.line_end if record is None else record,
        }
        if record is not None:
            unit["text_line_start"], unit["text_line_end"] = p.line_start, p.line_end
        unit.update(heading=p.heading, text=p.text, meta=doc.meta)
        if simplify is not None:
            # The original stays in "text" for display; analysis reads the simplified form.
            unit["text_simplified"] = simplify(p.text)
        units.append(unit)
    found: list[tuple[str, int, str, str, int | None]] = [(*r, None) for r in removed]
    found += [(doc.source, line, "boilerplate", text, docs) for line, text, docs in spans]
    rows: list[Removed] = [
        (src, line, kind, text, None, docs) if record is None else (src, record, kind, text, line, docs)
        for src, line, kind, text, docs in sorted(found, key=lambda r: r[1])
    ]
    chars = sum(visible_chars(normalize(raw)) for _, raw in doc.lines)
    sig = duplicates.signature("".join(u["text"] for u in units)) if cfg.duplicates else None
    return Segmented(doc.doc_id, doc.source, units, rows, chars, doc.bad_bytes, only, sig)


# -- boilerplate learned from the corpus ------------------------------------------------


def strip_boilerplate(
    paras: list[Paragraph], learned: boilerplate.Boilerplate, spans: list[tuple[int, str, int]]
) -> tuple[list[Paragraph], bool]:
    """The paragraphs without their boilerplate, each span taken added to ``spans``; and
    whether the document is made of boilerplate only, when it keeps its paragraphs as
    they are (dropping them would drop the document without a word)."""
    out: list[Paragraph] = []
    taken: list[tuple[int, str, int]] = []
    for p in paras:
        cut = learned.cut(p.text)
        for where, text, docs in cut.spans:
            # A trailing span is on the paragraph's last line, the others start on its first.
            taken.append((p.line_end if where == boilerplate.TRAILING else p.line_start, text, docs))
        if cut.whole:
            continue
        if cut.spans:
            p.text = cut.kept
            p.whole_line = False
        out.append(p)
    if paras and not out:
        return paras, True
    spans.extend(taken)
    return out, False


def _boilerplate_lines(
    source: str,
    removed: list[tuple[str, int, str, str]],
    learned: boilerplate.Boilerplate,
    spans: list[tuple[int, str, int]],
) -> None:
    """Title and heading lines that are boilerplate are listed as such: they do not name
    the document (a dateline on a line of its own is no title)."""
    for i, (src, line, kind, text) in enumerate(removed):
        if kind in ("title", "heading") and (cut := learned.cut(text)).whole:
            removed[i] = (src, line, "", text)  # left out below, listed as boilerplate
            spans.append((line, text, max(docs for _, _, docs in cut.spans)))
    removed[:] = [r for r in removed if r[2]]


@contextmanager
def _quiet_reading() -> Iterator[None]:
    """Reading warnings are given once, by the pass that makes the units."""
    logger = logging.getLogger(corpus.__name__)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def count_partition(files: list[corpus.InputFile], config: Config) -> boilerplate.KeyCounts:
    """One partition's candidate boilerplate keys, counted once per document: its
    paragraphs after layout, and its title and heading lines."""
    furniture = compile_furniture(config.segment)
    simplify = simplifier(config.segment)
    counts = boilerplate.KeyCounts()
    with _quiet_reading():
        for doc in corpus.read_documents(config, files, dedupe=False, warn=False):
            removed: list[tuple[str, int, str, str]] = []
            paras = paragraphs(doc, config.segment, furniture, removed, simplify)
            lines = [text for _, _, kind, text in removed if kind in ("title", "heading")]
            counts.add_document([*(p.text for p in paras), *lines])
    return counts


def learn_boilerplate(
    config: Config, files: list[corpus.InputFile], ex: Executor, progress: Progress
) -> boilerplate.Boilerplate:
    """The first pass over the corpus: what repeats in more than
    ``segment.boilerplate_share`` of the documents (and in ``boilerplate_min_docs``)."""
    total = boilerplate.KeyCounts()
    with progress.task(None, "learning boilerplate", "documents") as update:
        for part in ex.map(count_partition, corpus.partitions(files, config.input.encoding), config):
            total.merge(part)
            update(total.documents)
    cfg = config.segment
    return total.learned(cfg.boilerplate_share, cfg.boilerplate_min_docs)


class BoilerplateReport:
    """What boilerplate took: each span as its key sees it (digits and names masked), with
    an example, how often it was taken and in how many documents it was found; and the
    documents made of boilerplate only."""

    LISTED = 50  # spans listed in the manifest and the report
    NAMED = 20  # documents of boilerplate only named in the manifest

    def __init__(self, learned: boilerplate.Boilerplate) -> None:
        self.learned = learned
        self.taken: Counter[str] = Counter()
        self.example: dict[str, tuple[str, int]] = {}
        self.only: list[str] = []
        self.only_count = 0

    def add(self, seg: Segmented) -> None:
        for row in seg.removed:
            if row[2] == "boilerplate":
                masked = boilerplate.mask(row[3])
                self.taken[masked] += 1
                text, docs = self.example.get(masked, (row[3], 0))
                self.example[masked] = (text, max(docs, row[5] or 0))
        if seg.only_boilerplate:
            self.only_count += 1
            if len(self.only) < self.NAMED:
                self.only.append(seg.doc_id)

    def details(self) -> dict[str, Any]:
        listed = sorted(self.taken.items(), key=lambda kv: (-kv[1], kv[0]))[: self.LISTED]
        return {
            "documents": self.learned.documents,
            "learned": len(self.learned.keys),
            "spans": [[self.example[m][0], self.example[m][1], n] for m, n in listed],
            "only_boilerplate": self.only,
            "only_boilerplate_count": self.only_count,
        }

    def warning(self, cfg: SegmentConfig) -> str | None:
        if not self.only_count:
            return None
        n = self.only_count
        named = ", ".join(self.only[:5]) + (f" and {n - 5} more" if n > 5 else "")
        return (
            f"{n} document{'s are' if n != 1 else ' is'} made only of boilerplate (text found in more than "
            f"{cfg.boilerplate_share:.0%} of the documents) and kept as {'they are' if n != 1 else 'it is'}: "
            f"{named} (listed in manifest.json); if that is text, raise segment.boilerplate_share"
        )


def segment_documents(
    docs: Iterable[corpus.Document], cfg: SegmentConfig, learned: boilerplate.Boilerplate | None = None
) -> Iterator[tuple[dict[str, Any], list[Removed]]]:
    """Stream (unit, removed lines) pairs; the pure core of the stage."""
    furniture = compile_furniture(cfg)
    simplify = simplifier(cfg)
    for doc in docs:
        seg = segment_document(doc, cfg, furniture, simplify, learned)
        for n, unit in enumerate(seg.units):
            yield unit, (seg.removed if n == 0 else [])
        if not seg.units:
            yield {}, seg.removed


def _documents(
    config: Config,
    files: list[corpus.InputFile],
    read: corpus.ReadCounts,
    dedupe: bool = True,
    learned: boilerplate.Boilerplate | None = None,
) -> Iterator[Segmented]:
    """Each document segmented, streamed one at a time; what reading gave added to ``read``
    (empty files are named in a warning by the caller that reads every partition)."""
    furniture = compile_furniture(config.segment)
    simplify = simplifier(config.segment)
    for doc in corpus.read_documents(config, files, dedupe=dedupe, counts=read, warn=dedupe):
        yield segment_document(doc, config.segment, furniture, simplify, learned)


def segment_partition(
    files: list[corpus.InputFile], config: Config, learned: boilerplate.Boilerplate | None = None
) -> tuple[list[Segmented], corpus.ReadCounts]:
    """One partition, on a worker; ids are made unique by the caller, which sees them all."""
    read = corpus.ReadCounts()
    return list(_documents(config, files, read, dedupe=False, learned=learned)), read


def _partitioned_documents(
    config: Config,
    files: list[corpus.InputFile],
    ex: Executor,
    read: corpus.ReadCounts,
    learned: boilerplate.Boilerplate | None = None,
) -> Iterator[Segmented]:
    """Documents segmented as partitions by worker processes or on a cluster, ids made
    unique here, in order. A partition is one block of a large jsonl file, or consecutive
    small files together (``corpus.partitions``)."""
    dedup = corpus.IdDeduper()
    partitions = corpus.partitions(files, config.input.encoding)
    for result, counts in ex.map(segment_partition, partitions, config, learned):
        read.merge(counts)
        for seg in result:
            doc_id = dedup(seg.doc_id)
            if doc_id != seg.doc_id:
                seg.doc_id = doc_id
                for n, unit in enumerate(seg.units, start=1):
                    unit["doc_id"], unit["unit_id"] = doc_id, f"{doc_id}-{n:04d}"
            yield seg
    corpus.warn_empty(read.empty)


class Coverage:
    """Where each file's characters went: into units, or removed as furniture, titles
    and headings. A file that keeps little of its text points at a rule that misfired."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, int]] = {}

    def add(self, seg: Segmented) -> None:
        row = self.files.setdefault(seg.source, {"chars": 0, "units": 0, **dict.fromkeys(KINDS, 0)})
        row["chars"] += seg.chars
        row["units"] += sum(visible_chars(u["text"]) for u in seg.units)
        for _src, _line, kind, text, _text_line, _docs in seg.removed:
            row[kind] += visible_chars(text)

    def shares(self) -> dict[str, dict[str, float | int]]:
        """Per file: its characters and the share of them in units and in each removed kind."""
        return {
            source: {
                "chars": row["chars"],
                **{k: round(row[k] / row["chars"], 4) if row["chars"] else 0.0 for k in ("units", *KINDS)},
            }
            for source, row in self.files.items()
        }

    def total(self) -> dict[str, float | int]:
        chars = sum(r["chars"] for r in self.files.values())
        kept = sum(r["units"] for r in self.files.values())
        return {"chars": chars, "units": round(kept / chars, 4) if chars else 0.0}


def coverage_warnings(shares: dict[str, dict[str, float | int]], threshold: float) -> list[str]:
    """One line per file whose units keep less than ``threshold`` of its characters, for
    the first ``COVERAGE_NAMED`` of them; one more line counts the others."""
    advice = {
        "heading": "lower segment.heading_max_chars",
        "title": "lower segment.heading_max_chars",
        "furniture": "set segment.furniture: false or fix segment.furniture_patterns",
        "boilerplate": "raise segment.boilerplate_share or set segment.boilerplate: false",
    }
    lines = []
    for source, row in shares.items():
        if not row["chars"] or row["units"] >= threshold:
            continue
        worst = max(KINDS, key=lambda k: row[k])
        what = "boilerplate" if worst == "boilerplate" else f"{worst} lines"
        lines.append(
            f"{source}: only {row['units']:.0%} of its characters reached units "
            f"({row[worst]:.0%} went to {what}, listed in segmentation.tsv); "
            f"if that is text, {advice[worst]}"
        )
    if len(lines) > COVERAGE_NAMED:
        more = len(lines) - COVERAGE_NAMED
        counted = (
            f"and {more} more file{'s' if more > 1 else ''} kept less than {threshold:.0%} of "
            "their characters (each file's shares are in manifest.json)"
        )
        lines = [*lines[:COVERAGE_NAMED], counted]
    return lines


COVERAGE_WARNING = 0.9  # a file keeping less than this share of its characters is named
COVERAGE_NAMED = 10  # files named one a line; the rest are counted


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    files = corpus.list_inputs(config, warn=True)
    counts: dict[str, int] = {"files": len(files), "documents": 0, "units": 0, "chars": 0, "removed_lines": 0}
    undecodable: dict[str, int] = {}
    coverage = Coverage()
    read = corpus.ReadCounts()
    undated = dates.Undated()
    learned = learn_boilerplate(config, files, ex, progress) if config.segment.boilerplate else None
    taken = BoilerplateReport(learned if learned is not None else boilerplate.Boilerplate({}))
    finder = duplicates.Finder(config.segment.duplicate_similarity) if config.segment.duplicates else None
    found: list[duplicates.Duplicate] = []

    # Removed lines are written as they are found, beside the units: nothing grows with the corpus.
    with store.open_csv("segmentation.tsv", SEGMENTATION_HEADER, delimiter="\t") as removed_out:

        def units() -> Iterator[dict[str, Any]]:
            docs = (
                _partitioned_documents(config, files, ex, read, learned)
                if ex.parallel
                else _documents(config, files, read, learned=learned)
            )
            for seg in progress.track(docs, None, "", "documents"):
                counts["documents"] += 1
                counts["removed_lines"] += len(seg.removed)
                removed_out.writerows(seg.removed)
                coverage.add(seg)
                if seg.units:
                    first = seg.units[0]
                    where = f"{first['source']}:{first['line_start']}"
                    undated.add(where, seg.doc_id, first["meta"], config.input.meta_fields)
                taken.add(seg)
                if finder is not None and (dup := finder.add(seg.doc_id, seg.signature)) is not None:
                    found.append(dup)
                if seg.bad_bytes:
                    undecodable[seg.source] = undecodable.get(seg.source, 0) + seg.bad_bytes
                for unit in seg.units:
                    counts["units"] += 1
                    counts["chars"] += len(unit["text"])
                    yield unit
            if counts["units"] == 0:
                # Raised inside the stream so both writes are abandoned and old outputs stay.
                raise read.nothing_read(config.input.text_field) or InputError(
                    f"{', '.join(config.input.paths)}: no text left after segmentation "
                    "(are the files empty, or is every line furniture?)"
                )

        store.write_jsonl("units.jsonl", units())
    store.write_csv(duplicates.DUPLICATES, duplicates.HEADER, duplicates.rows(found))
    shares = coverage.shares()
    for line in coverage_warnings(shares, COVERAGE_WARNING):
        log.warning("%s", line)
    counts["undecodable_bytes"] = sum(undecodable.values())
    counts["boilerplate_spans"] = sum(taken.taken.values())
    counts["boilerplate_only_documents"] = taken.only_count
    if finder is not None:
        counts["duplicates"] = len(found)
    if (warning := taken.warning(config.segment)) is not None:
        log.warning("%s", warning)
    result: Counts = {**counts, "coverage": coverage.total()["units"]}
    details: dict[str, Any] = {"coverage": shares}
    if learned is not None:
        details["boilerplate"] = taken.details()
    if undecodable:
        details["undecodable_bytes"] = undecodable
    if undated.found:
        details["undated"] = undated.found
    result["details"] = details
    # What the runner checks against the files it fingerprinted before the stage began.
    result["read"] = {
        str(f.path): [f.source, read.read[str(f.path)]] for f in files if str(f.path) in read.read
    }
    return result


def check_dates(config: Config, entry: dict[str, Any]) -> None:
    """A prevalence field by date whose values are not all dates fails before training,
    naming the first bad value and its document (segment recorded them)."""
    field, grain = config.report.prevalence_field, config.report.prevalence_period
    if field and grain != "category":
        error = dates.undated_error((entry.get("details") or {}).get("undated"), field, grain)
        if error:
            raise InputError(error)


STAGE = Stage(
    name="segment",
    sections=("input", "segment"),
    ignore=("input.label_field",),  # read by the report only
    inputs=(),
    outputs=("units.jsonl", "segmentation.tsv", duplicates.DUPLICATES),
    run=run,
    reads=lambda config: [f.path for f in corpus.list_inputs(config)],
    check=check_dates,
)
