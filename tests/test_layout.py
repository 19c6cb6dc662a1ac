"""Hard-wrapped and indented text: layout detection, and nothing of a paragraph lost.

The fixtures are the seeds' own paragraphs written the way classic corpora lay them
out: wrapped at 30 to 40 characters, with indented or blank-line paragraph starts,
every line indented as in wire copy, or as a BBS post with \\r\\r\\n line ends.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline import corpus, layout
from pipeline.config import load_config
from pipeline.stages.segment import INLINE_BREAK, ends_sentence, segment_documents

from .conftest import SEEDS, invoke, write_config


def seed_paragraphs() -> list[str]:
    """Every paragraph of the seeds of 60 characters or more (the shorter ones are
    headings, furniture or short units that are merged by design)."""
    out = []
    for path in sorted(SEEDS.iterdir()):
        for line in path.read_text(encoding="utf-8").splitlines():
            for piece in INLINE_BREAK.split(line.strip()):
                piece = piece.strip()
                if len(piece) >= 60 and ends_sentence(piece) and "©" not in piece:
                    out.append(piece)
    return out


PARAGRAPHS = seed_paragraphs()
DOCS = [PARAGRAPHS[i : i + 6] for i in range(0, len(PARAGRAPHS), 6)]


def cut(text: str, first: int, rest: int) -> list[str]:
    """A paragraph cut into lines: ``first`` characters on the first, ``rest`` on the others."""
    lines, start, width = [], 0, first
    while start < len(text):
        lines.append(text[start : start + width])
        start, width = start + width, rest
    return lines


def cut_columns(text: str, width: int) -> list[str]:
    """A paragraph cut at ``width`` display columns, CJK counting two (as byte-wrapped GBK)."""
    lines, line = [], ""
    for c in text:
        if layout.columns(line + c) > width:
            lines.append(line)
            line = ""
        line += c
    return [*lines, line] if line else lines


def indented_starts(width: int, indent: str) -> Callable[[list[str]], list[str]]:
    def write(paras: list[str]) -> list[str]:
        out = []
        for p in paras:
            first, *rest = cut(p, width - len(indent), width)
            out += [indent + first, *rest]
        return out

    return write


def wire_copy(paras: list[str]) -> list[str]:
    out = []
    for p in paras:
        first, *rest = cut(p, 26, 30)
        out += [" " * 28 + first, *(" " * 24 + line for line in rest)]
    return out


def blank_lines(paras: list[str]) -> list[str]:
    out: list[str] = []
    for p in paras:
        out += [*cut(p, 36, 36), ""]
    return out


def bbs(paras: list[str]) -> list[str]:
    out = [
        "发信人: lanxi (兰溪), 信区: Epidemic",
        "标  题: 抗疫心得",
        "发信站: 水木社区 (Sun Mar  1 10:12:01 2020)",
        "",
    ]
    for p in paras:
        out += [*cut_columns(p, 78), ""]
    return [*out, "--", "※ 来源:·水木社区 newsmth.net·[FROM: 202.112.*]"]


SHAPES: dict[str, tuple[Callable[[list[str]], list[str]], str]] = {
    "wrap30-ideographic": (indented_starts(30, "\u3000\u3000"), "\n"),
    "wrap36-ideographic": (indented_starts(36, "\u3000\u3000"), "\n"),
    "wrap38-ideographic": (indented_starts(38, "\u3000\u3000"), "\n"),
    "wrap30-spaces": (indented_starts(30, "    "), "\n"),
    "wrap36-spaces": (indented_starts(36, "  "), "\r\n"),
    "wrap38-spaces": (indented_starts(38, "    "), "\n"),
    "wire-copy": (wire_copy, "\n"),
    "blank-lines-wrapped": (blank_lines, "\n"),
    "bbs-crcrlf": (bbs, "\r\r\n"),
}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def write_shape(folder: Path, shape: str) -> Path:
    write, newline = SHAPES[shape]
    folder.mkdir(parents=True, exist_ok=True)
    for n, paras in enumerate(DOCS):
        (folder / f"{n:03d}.txt").write_bytes(newline.join(write(paras)).encode("utf-8"))
    return folder


def check_units(units: list[dict[str, Any]], docs: dict[str, list[str]]) -> float:
    """Each unit lies inside one paragraph of its own document and the units of a
    paragraph rebuild it; returns the share of paragraph characters in units."""
    rebuilt: dict[tuple[str, int], str] = {}
    for u in units:
        text = squash(u["text"])
        homes = [i for i, p in enumerate(docs[u["doc_id"]]) if text in squash(p)]
        assert len(homes) == 1, f"{u['unit_id']} is not inside one paragraph of its document: {text[:40]}"
        key = (u["doc_id"], homes[0])
        rebuilt[key] = rebuilt.get(key, "") + text
        assert ends_sentence(text) or squash(docs[u["doc_id"]][homes[0]]).endswith(text), u["unit_id"]
    total = kept = 0
    for doc_id, paras in docs.items():
        for i, p in enumerate(paras):
            total += len(squash(p))
            if rebuilt.get((doc_id, i)) == squash(p):
                kept += len(squash(p))
    return kept / total


def test_the_fixtures_are_large_enough_to_mean_something() -> None:
    assert len(PARAGRAPHS) >= 60 and len(DOCS) >= 10


@pytest.mark.parametrize("shape", SHAPES)
def test_wrapped_and_indented_text_reaches_units_whole(shape: str, tmp_path: Path) -> None:
    folder = write_shape(tmp_path / shape, shape)
    cfg = load_config(None, [f"input.paths=[{folder}]"])
    units = [u for u, _ in segment_documents(corpus.read_documents(cfg), cfg.segment) if u]
    docs = {f"{n:03d}": paras for n, paras in enumerate(DOCS)}
    assert check_units(units, docs) >= 0.99


@pytest.mark.parametrize(
    ("shape", "wrap", "indent", "starts"),
    [
        ("wrap36-ideographic", 36, 0, ("indent", "short")),
        ("wire-copy", 30, 24, ("indent", "short")),
        ("blank-lines-wrapped", 36, 0, ("blank", "short")),
    ],
)
def test_layout_is_detected(shape: str, wrap: int, indent: int, starts: tuple[str, ...]) -> None:
    write, _ = SHAPES[shape]
    found = layout.detect(write(DOCS[0]))
    assert (found.wrap, found.indent, found.measure, found.starts) == (wrap, indent, "chars", starts)


def test_a_bbs_post_wrapped_by_columns_is_detected_in_columns() -> None:
    found = layout.detect(bbs(DOCS[0]))
    assert found.measure == "columns" and found.wrap is not None and 76 <= found.wrap <= 78


def test_one_paragraph_a_line_is_not_wrapped() -> None:
    for path in SEEDS.iterdir():
        lines = path.read_text(encoding="utf-8").splitlines()
        assert layout.detect(lines).wrap is None, path.name


def test_bbs_headers_and_signature_are_furniture(tmp_path: Path) -> None:
    folder = write_shape(tmp_path / "bbs", "bbs-crcrlf")
    cfg = load_config(None, [f"input.paths=[{folder}]"])
    removed = [r for _, gone in segment_documents(corpus.read_documents(cfg), cfg.segment) for r in gone]
    assert {kind for _s, _l, kind, _t, _tl, _d in removed} == {"furniture"}
    assert len(removed) == 5 * len(DOCS)  # three header lines, "--" and the 来源 line


def test_a_line_at_the_wrap_width_is_never_a_heading() -> None:
    # The line after an indented start is exactly 36 characters and ends mid-sentence:
    # unwrapped, a 36-character line without a full stop would be a heading.
    lines = indented_starts(36, "\u3000\u3000")(DOCS[0])
    doc = corpus.Document("d", "d.txt", list(enumerate(lines, start=1)))
    cfg = load_config(None, [])
    removed = [r for _, gone in segment_documents([doc], cfg.segment) for r in gone]
    assert removed == []


def test_wrapped_records_carry_their_lines_inside_the_record(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    rows = [{"id": f"r{n}", "text": "\n".join(wire_copy(paras))} for n, paras in enumerate(DOCS)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    cfg = load_config(None, [f"input.paths=[{path}]", "input.id_field=id"])
    units = [u for u, _ in segment_documents(corpus.read_documents(cfg), cfg.segment) if u]
    assert check_units(units, {f"r{n}": paras for n, paras in enumerate(DOCS)}) >= 0.99
    for u in units:
        record = int(u["doc_id"][1:])
        assert u["line_start"] == u["line_end"] == record + 1  # the record's line in the file
        text_lines = rows[record]["text"].split("\n")
        inside = "".join(text_lines[u["text_line_start"] - 1 : u["text_line_end"]])
        assert squash(u["text"]) in squash(inside), u["unit_id"]
        assert u["text_line_end"] - u["text_line_start"] >= 1


def test_coverage_of_each_file_is_in_the_manifest_and_low_coverage_is_named(tmp_path: Path) -> None:
    folder = write_shape(tmp_path / "in", "wire-copy")
    lines = ["一段没有句号的标题", "第一个小标题", "第二个小标题", "这是正文，只有一句。" * 4]
    (folder / "headings.txt").write_text("\n".join(lines), encoding="utf-8")
    config = write_config(tmp_path, input={"paths": [str(folder)]})
    result = invoke("run", config, "--to", "segment")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((tmp_path / "runs" / "seeds" / "manifest.json").read_text(encoding="utf-8"))
    stage = manifest["stages"]["segment"]
    coverage = stage["details"]["coverage"]
    assert all(coverage[f"in/{n:03d}.txt"]["units"] == 1.0 for n in range(len(DOCS)))
    low = coverage["in/headings.txt"]
    assert low["units"] < 0.9
    assert low["units"] + low["title"] + low["heading"] + low["furniture"] == pytest.approx(1.0, abs=1e-3)
    assert stage["warnings"] == [
        f"in/headings.txt: only {low['units']:.0%} of its characters reached units "
        f"({low['heading']:.0%} went to heading lines, listed in segmentation.tsv); "
        "if that is text, lower segment.heading_max_chars"
    ]


def test_report_cites_passages_of_records_by_record_line_and_text_line(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    rows = [{"id": f"r{n}", "text": "\n".join(wire_copy(paras))} for n, paras in enumerate(DOCS)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    config = write_config(tmp_path, input={"paths": [str(path)], "id_field": "id"}, model={"num_topics": 3})
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    run_dir = tmp_path / "runs" / "seeds"
    topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
    reps = [r for t in topics for r in t["representatives"]]
    assert reps
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    for r in reps:
        assert re.fullmatch(r"wire\.jsonl:\d+:\d+–\d+", r["where"]), r["where"]
        record, lines = r["where"].split(":")[1:]
        first, last = map(int, lines.split("–"))
        text = rows[int(record) - 1]["text"].split("\n")[first - 1 : last]
        assert squash(r["text"].rstrip("…"))[:20] in squash("".join(text))
        assert f"`{r['where']}`" in md


def test_paragraphs_that_happen_to_share_a_length_are_not_a_wrap() -> None:
    # One paragraph a line, three of them of equal width (a news transcript can do that):
    # they end sentences, so they are not lines cut at a wrap width.
    same = [p[:139] + "。" for p in PARAGRAPHS if len(p) > 160][:3]
    lines = [same[0], "巴西东南部大火 30多个城市高度警戒", same[1], PARAGRAPHS[0], same[2]]
    assert layout.detect(lines, ends_sentence).wrap is None
    cfg = load_config(None, [])
    doc = corpus.Document("d", "d.txt", list(enumerate(lines, start=1)))
    units = [u for u, _ in segment_documents([doc], cfg.segment) if u]
    assert [u["text"] for u in units] == [same[0], same[1], PARAGRAPHS[0], same[2]]


@pytest.mark.parametrize("n", [3, 63, 64, 200])
def test_display_width_counts_wide_and_full_width_characters_twice(n: int) -> None:
    """Short lines and long ones (a table lookup), with astral characters (𠀀, 🙂) too."""
    text = ("中ａ a，𠀀🙂é" * n)[:n]
    expected = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    assert layout.columns(text) == expected
    assert layout.columns(text) > len(text)
