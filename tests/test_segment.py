"""segment: lines -> paragraph units (pipeline/stages/segment.py).

Table cases are written as a Chinese reader would cut the text: furniture and titles
are not text, short unpunctuated or numbered lines are headings, paragraphs follow
blank lines, sentence-end spaces and hard wraps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline import corpus
from pipeline.config import Config, SegmentConfig, load_config
from pipeline.stages.segment import (
    ends_sentence,
    is_heading,
    normalize,
    segment_documents,
    split_long,
    split_sentences,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
DEFAULT = Config().segment

TITLE = "学校党员疫情防控心得体会"
# Paragraphs of 50+ characters: above min_chars (30), below heading_max_chars * 2 (80).
P1 = "近期，全球范围内爆发的新冠疫情给人们的生活带来了巨大的冲击，尤其对于学校来说，疫情的防控工作尤为重要。"
P2 = (
    "作为学校中的党员，我们积极参与并投身到疫情防控的前线，通过自身的努力和实践，积累了一系列宝贵的心得体会。"
)
P3 = "疫情防控必须从校内人员管控做起。作为学校党员，我们严格要求自己，带头做好每日健康监测和出入登记。"
SHORT = "全体党员都做到了这一点。"  # 12 characters: below min_chars
# One sentence hard-wrapped over three lines (the breaks fall mid-word).
WRAP = [
    "近期，全球范围内爆发的新冠疫情给人们的生活带来了巨大的冲击，尤其对于学校来说，疫情的防",
    "控工作尤为重要。作为学校中的党员，我们积极参与并投身到疫情防控的前线，通过自身的努力和实",
    "践，积累了一系列宝贵的心得体会。",
]
# A document without a title whose first line (41-80 chars) breaks after a comma.
WRAP_FIRST = [
    "近期，全球范围内爆发的新冠疫情给人们的日常生活和工作都带来了巨大的冲击，尤其对于学校来说，",
    "疫情的防控工作尤为重要。作为学校中的党员，我们积极参与并投身到疫情防控的前线。",
]
FULL_WIDTH = (
    "２０２０年，ＣＯＶＩＤ－１９疫情给人们的生活带来了巨大冲击，全体党员ｗｉｔｈ群众积极参与防控工作。"
)
HALF_WIDTH = "2020年，COVID－19疫情给人们的生活带来了巨大冲击，全体党员with群众积极参与防控工作。"

Unit = tuple[int, int, str, str]  # line_start, line_end, heading, text


def document(lines: list[str], doc_id: str = "d") -> corpus.Document:
    return corpus.Document(doc_id, f"{doc_id}.txt", lines=list(enumerate(lines, start=1)))


def segment(
    lines: list[str], cfg: SegmentConfig = DEFAULT
) -> tuple[list[dict[str, Any]], list[tuple[str, int, str, str]]]:
    units, removed = [], []
    for unit, gone in segment_documents([document(lines)], cfg):
        removed.extend(row[:4] for row in gone)  # a txt line has no text_line
        if unit:
            units.append(unit)
    return units, removed


def brief(units: list[dict[str, Any]]) -> list[Unit]:
    return [(u["line_start"], u["line_end"], u["heading"], u["text"]) for u in units]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", normalize(text))


def assert_provenance(units: list[dict[str, Any]], lines: dict[int, str]) -> None:
    """Each unit's text is in its source lines line_start..line_end, joined (spaces ignored)."""
    for u in units:
        assert u["line_start"] <= u["line_end"]
        source = "".join(lines.get(i, "") for i in range(u["line_start"], u["line_end"] + 1))
        assert squash(u["text"]) in squash(source), u["unit_id"]


# to_units only ever merges a short paragraph with the one after it (or, for the very
# last paragraph of a document, the one before it).

CASES = [
    # -- furniture lines are dropped ------------------------------------------------
    pytest.param(
        ["手机阅读", "", TITLE, P1],
        [(4, 4, TITLE, P1)],
        id="furniture-mobile-reading",
    ),
    pytest.param(
        [TITLE, P1, "查看全文"],
        [(2, 2, TITLE, P1)],
        id="furniture-read-full-text",
    ),
    pytest.param(
        [TITLE, "推荐文章", P1, P2],
        [(3, 3, TITLE, P1), (4, 4, TITLE, P2)],
        id="furniture-recommended",
    ),
    pytest.param(
        [TITLE, P1, "", "您可能关注的文档"],
        [(2, 2, TITLE, P1)],
        id="furniture-you-may-like",
    ),
    pytest.param(
        [TITLE, P1, "Copyright © 2023 wanshu.net All Rights Reserved.版权所有"],
        [(2, 2, TITLE, P1)],
        id="furniture-copyright",
    ),
    pytest.param(
        [TITLE, P1, "版权所有：某某市融媒体中心"],
        [(2, 2, TITLE, P1)],
        id="furniture-chinese-copyright",
    ),
    pytest.param(
        [TITLE, P1, "工信部备案号:鲁ICP备2020038323号-1"],
        [(2, 2, TITLE, P1)],
        id="furniture-icp",
    ),
    pytest.param(
        [TITLE, "格式:DOC 上传日期:2023-11-12 21:19:34 页码:10", P1],
        [(3, 3, TITLE, P1)],
        id="furniture-doc-format-line",
    ),
    pytest.param(
        [TITLE, "2023-11-12 21:19:34    小编:ZTFB", P1],
        [(3, 3, TITLE, P1)],
        id="furniture-date-time-byline",
    ),
    pytest.param(
        [TITLE, "2023年11月12日 小编：张三", P1], [(3, 3, TITLE, P1)], id="furniture-date-byline-without-time"
    ),
    pytest.param(
        [TITLE, P1, "false", P2],
        [(2, 2, TITLE, P1), (4, 4, TITLE, P2)],
        id="furniture-lone-false",
    ),
    pytest.param(
        ["手机阅读", "查看全文", "false"],
        [],
        id="only-furniture-no-units",
    ),
    # -- titles and headings --------------------------------------------------------
    pytest.param(
        [TITLE, P1, TITLE, P2],
        [(2, 2, TITLE, P1), (4, 4, TITLE, P2)],
        id="repeated-title",
    ),
    pytest.param(
        [f"{TITLE}篇一", P1, f"{TITLE}篇二", P2],
        [(2, 2, f"{TITLE}篇一", P1), (4, 4, f"{TITLE}篇二", P2)],
        id="repeated-title-with-ordinal",
    ),
    pytest.param(
        ["看见春天观后感(2)", "推荐文章", P1, "看见春天观后感(六)", P2],
        [(3, 3, "看见春天观后感(2)", P1), (5, 5, "看见春天观后感(六)", P2)],
        id="repeated-title-with-bracketed-ordinal",
    ),
    pytest.param(
        ["战疫一线党旗红观后感心得一：", P1, "战疫一线党旗红观后感心得二：", P2],
        [(2, 2, "战疫一线党旗红观后感心得一：", P1), (4, 4, "战疫一线党旗红观后感心得二：", P2)],
        id="repeated-title-with-colon",
    ),
    pytest.param(
        [TITLE, P1, "担当作为，推动防疫措施严格落实", P2, P3],
        [
            (2, 2, TITLE, P1),
            (4, 4, "担当作为，推动防疫措施严格落实", P2),
            (5, 5, "担当作为，推动防疫措施严格落实", P3),
        ],
        id="short-unpunctuated-line-is-heading",
    ),
    pytest.param(
        [P1, "多措并举，助力辖区商铺有序复业", P2],
        [(1, 1, "", P1), (3, 3, "多措并举，助力辖区商铺有序复业", P2)],
        id="no-title-then-heading",
    ),
    pytest.param(
        [TITLE, P1, "一、积极响应党组织号召。", P2],
        [(2, 2, TITLE, P1), (4, 4, "一、积极响应党组织号召。", P2)],
        id="numbered-chinese-heading-with-full-stop",
    ),
    pytest.param(
        [TITLE, P1, "第二段:前期防控。", P2],
        [(2, 2, TITLE, P1), (4, 4, "第二段:前期防控。", P2)],
        id="numbered-paragraph-heading",
    ),
    pytest.param(
        [TITLE, P1, "1、建立组织体系，强化领导分工。", P2],
        [(2, 2, TITLE, P1), (4, 4, "1、建立组织体系，强化领导分工。", P2)],
        id="short-arabic-numbered-heading",
    ),
    pytest.param(
        [TITLE, P1, "（三）加强宣传教育", P2],
        [(2, 2, TITLE, P1), (4, 4, "（三）加强宣传教育", P2)],
        id="bracketed-numbered-heading",
    ),
    pytest.param(
        [TITLE, "1、建立组织体系，强化领导分工。" + P1, P2],
        [(2, 2, TITLE, "1、建立组织体系，强化领导分工。" + P1), (3, 3, TITLE, P2)],
        id="long-numbered-line-is-text",
    ),
    pytest.param(
        [TITLE, "人民高于一切，生命重于泰山。", P1],
        [(2, 3, TITLE, "人民高于一切，生命重于泰山。" + P1)],
        id="short-sentence-is-text-not-heading",
    ),
    # -- paragraphs -----------------------------------------------------------------
    pytest.param(
        [TITLE, P1 + " " + P2],
        [(2, 2, TITLE, P1), (2, 2, TITLE, P2)],
        id="space-after-full-stop-splits",
    ),
    pytest.param(
        [TITLE, P1 + "\u3000\u3000" + P2 + " " + P3],
        [(2, 2, TITLE, P1), (2, 2, TITLE, P2), (2, 2, TITLE, P3)],
        id="ideographic-space-after-full-stop-splits",
    ),
    pytest.param(
        [TITLE, "他说：“疫情就是命令。” " + P2],
        [(2, 2, TITLE, "他说：“疫情就是命令。”" + P2)],
        id="split-after-closing-quote-then-merge-short",
    ),
    pytest.param(
        [TITLE, "疫情防控，人人有责 " + P1],
        [(2, 2, TITLE, "疫情防控，人人有责 " + P1)],
        id="space-without-full-stop-does-not-split",
    ),
    pytest.param(
        [TITLE, *WRAP, P3],
        [(2, 4, TITLE, "".join(WRAP)), (5, 5, TITLE, P3)],
        id="hard-wrapped-lines-reflow",
    ),
    pytest.param(
        [TITLE, WRAP[0], "", P3],
        [(2, 2, TITLE, WRAP[0]), (4, 4, TITLE, P3)],
        id="blank-line-ends-paragraph",
    ),
    pytest.param(
        [TITLE, WRAP[0], "手机阅读", WRAP[1]],
        [(2, 2, TITLE, WRAP[0]), (4, 4, TITLE, WRAP[1])],
        id="furniture-line-ends-paragraph",
    ),
    pytest.param(
        ["\u3000\u3000" + P1, "\u3000\u3000" + P2],
        [(1, 1, "", P1), (2, 2, "", P2)],
        id="indented-paragraphs-no-title",
    ),
    pytest.param(
        [WRAP_FIRST[0], WRAP_FIRST[1]],
        [(1, 2, "", WRAP_FIRST[0] + WRAP_FIRST[1])],
        id="hard-wrapped-first-line-is-not-a-title",
    ),
    # -- normalisation ----------------------------------------------------------------
    pytest.param(
        [TITLE, FULL_WIDTH],
        [(2, 2, TITLE, HALF_WIDTH)],
        id="full-width-alnum-to-half-width",
    ),
    pytest.param(
        ["\ufeff" + TITLE, "\u3000\u3000" + P1 + "\u200b"],
        [(2, 2, TITLE, P1)],
        id="bom-zero-width-and-indent-removed",
    ),
    # -- short units are merged ---------------------------------------------------------
    pytest.param(
        [TITLE, SHORT, P1],
        [(2, 3, TITLE, SHORT + P1)],
        id="short-first-paragraph-merged-forward",
    ),
    pytest.param(
        [TITLE, P1, SHORT],
        [(2, 3, TITLE, P1 + SHORT)],
        id="short-last-paragraph-merged-back",
    ),
    pytest.param(
        [TITLE, SHORT, "", "大家都很努力。"],
        [(2, 4, TITLE, SHORT + "大家都很努力。")],
        id="two-short-paragraphs-merged-together",
    ),
    pytest.param(
        [TITLE, P1, SHORT, "二、上下联动，层层落实", P2],
        [(2, 3, TITLE, P1 + SHORT), (5, 5, "二、上下联动，层层落实", P2)],
        id="short-paragraph-before-heading-stays-in-its-section",
    ),
    pytest.param(
        [f"{TITLE}篇一", P1, SHORT, f"{TITLE}篇二", P2],
        [(2, 3, f"{TITLE}篇一", P1 + SHORT), (5, 5, f"{TITLE}篇二", P2)],
        id="short-paragraph-at-article-end-merged-back",
    ),
]


@pytest.mark.parametrize(("lines", "expected"), CASES)
def test_lines_to_units(lines: list[str], expected: list[Unit]) -> None:
    units, _removed = segment(lines)
    assert brief(units) == expected


@pytest.mark.parametrize(("lines", "expected"), [c for c in CASES if not c.marks])
def test_units_have_provenance_and_are_never_removed_lines(lines: list[str], expected: list[Unit]) -> None:
    units, removed = segment(lines)
    assert_provenance(units, dict(enumerate(lines, start=1)))
    gone = {text for _source, _line, _kind, text in removed}
    for u in units:
        assert u["text"] not in gone
        assert u["text"] == u["text"].strip()
    # every non-blank line is either in a unit or recorded as removed
    covered = {i for u in units for i in range(u["line_start"], u["line_end"] + 1)}
    covered |= {line for _source, line, _kind, _text in removed}
    assert {i for i, t in enumerate(lines, start=1) if t.strip()} <= covered


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("手机阅读", "furniture"),
        ("查看全文", "furniture"),
        ("推荐文章", "furniture"),
        ("您可能关注的文档", "furniture"),
        ("格式:DOC 上传日期:2023-11-12 21:19:34 页码:10", "furniture"),
        ("2023-11-12 21:19:34    小编:ZTFB", "furniture"),
        ("本网站内容仅供参考,内容侵权或错误投诉:640661@qq.com", "furniture"),
        ("false", "furniture"),
        ("一、积极响应党组织号召。", "heading"),
        ("担当作为，推动防疫措施严格落实", "heading"),
    ],
)
def test_removed_lines_are_recorded_with_kind_and_line(line: str, kind: str) -> None:
    _units, removed = segment([TITLE, P1, line, P2])
    assert (1, "title", TITLE) in [(n, k, t) for _s, n, k, t in removed]
    assert ("d.txt", 3, kind, line) in removed


def test_document_without_units_still_reports_its_removed_lines() -> None:
    pairs = list(segment_documents([document(["手机阅读", "查看全文"])], DEFAULT))
    assert pairs == [
        (
            {},
            [
                ("d.txt", 1, "furniture", "手机阅读", None, None),
                ("d.txt", 2, "furniture", "查看全文", None, None),
            ],
        )
    ]


def test_unit_fields_ids_and_meta() -> None:
    doc = corpus.Document("doc7", "folder/doc7.csv", [(5, P1), (5, P2)], meta={"city": "武汉"})
    units = [u for u, _ in segment_documents([doc], DEFAULT) if u]
    assert [u["unit_id"] for u in units] == ["doc7-0001", "doc7-0002"]
    assert all(u["doc_id"] == "doc7" and u["source"] == "folder/doc7.csv" for u in units)
    assert all(u["meta"] == {"city": "武汉"} for u in units)
    assert [(u["line_start"], u["line_end"]) for u in units] == [(5, 5), (5, 5)]
    assert [u["title"] for u in units] == [P1[:16] + "…"] * 2


# -- long units are split at sentence ends --------------------------------------------

LONG = P1 + P2 + P3 + "人民至上、生命至上！" + P1 + "难道不是吗？" + P2 + "“坚决打赢疫情防控阻击战。”" + P3


@pytest.mark.parametrize("max_chars", [60, 80, 120, 200])
def test_long_paragraph_split_at_sentence_ends(max_chars: int) -> None:
    cfg = SegmentConfig(min_chars=10, max_chars=max_chars)
    units, _ = segment([TITLE, LONG], cfg)
    assert len(units) > 1
    assert all(len(u["text"]) <= max_chars for u in units)
    assert "".join(u["text"] for u in units) == LONG
    sentences = set(split_sentences(LONG))
    for u in units:
        # no sentence shorter than max_chars is ever cut in two
        assert all(s in sentences for s in split_sentences(u["text"])), u["text"]
        assert (u["line_start"], u["line_end"], u["heading"]) == (2, 2, TITLE)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("疫情防控" * 60, id="no-punctuation"),
        pytest.param("疫情防控，" * 50 + "人人有责。", id="one-sentence-of-clauses"),
        pytest.param(P1 + "疫情防控、联防联控、群防群治" * 10 + "。" + P2, id="long-middle-sentence"),
    ],
)
def test_overlong_sentence_is_cut_within_max_chars(text: str) -> None:
    cfg = SegmentConfig(min_chars=10, max_chars=60)
    units, _ = segment([TITLE, text], cfg)
    assert all(len(u["text"]) <= 60 for u in units)
    assert "".join(u["text"] for u in units) == text


def test_default_max_chars_splits_a_seed_sized_paragraph() -> None:
    text = (P1 + P2 + P3) * 6  # about 930 characters
    units, _ = segment([TITLE, text])
    assert len(units) == 2
    assert all(len(u["text"]) <= DEFAULT.max_chars for u in units)
    assert "".join(u["text"] for u in units) == text
    assert all(u["text"][-1] == "。" for u in units)


def test_split_long_prefers_a_comma_inside_an_overlong_sentence() -> None:
    sentence = "面对突如其来的疫情" * 3 + "，" + "广大党员干部冲锋在前" * 3 + "。"
    pieces = split_long(sentence, 40)
    assert pieces[0] == "面对突如其来的疫情" * 3 + "，"
    assert "".join(pieces) == sentence


@pytest.mark.parametrize(
    "line",
    [
        (P1 + P2 + P3) * 332,  # about 50,000 characters of sentences
        "疫情防控工作尤为重要" * 5000,  # 50,000 characters without a sentence end or a comma
    ],
    ids=["sentences", "no sentence end"],
)
def test_a_long_line_becomes_units_within_the_bound_holding_its_text_whole_in_order(line: str) -> None:
    units, _ = segment([TITLE, line])
    assert len(line) >= 50_000
    assert all(len(u["text"]) <= DEFAULT.max_chars for u in units)
    assert "".join(u["text"] for u in units) == line
    assert {(u["line_start"], u["line_end"]) for u in units} == {(2, 2)}


def test_split_long_cuts_a_sentence_without_ends_at_the_bound() -> None:
    assert split_long("一" * 1000, 300) == ["一" * 300] * 3 + ["一" * 100]


# -- helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("２０２０年", "2020年"),
        ("ＡＢＣｘｙｚ", "ABCxyz"),
        ("疫情\u3000防控", "疫情 防控"),
        ("疫情\xa0防控", "疫情 防控"),
        ("疫情\u200b防控\ufeff", "疫情防控"),
        ("疫情\t防控", "疫情 防控"),
        ("，。！？（）", "，。！？（）"),  # full-width punctuation is kept
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("担当作为，推动防疫措施严格落实", True),
        ("第二段:前期防控。", True),
        ("一、积极响应党组织号召。", True),
        ("（一）加强领导，精准施策。", True),
        ("3、加强疫情监测，严格应急值守。", True),
        ("人民高于一切，生命重于泰山。", False),
        ("何以乐学？", False),
        (P1, False),
        ("一、" + P1, False),
    ],
)
def test_is_heading(line: str, heading: bool) -> None:
    assert is_heading(line, DEFAULT) is heading


def test_split_sentences_keeps_closing_quotes() -> None:
    text = "他说：“疫情就是命令！”我们立即行动。还有什么犹豫的呢？！最后一句没有句号"
    assert split_sentences(text) == [
        "他说：“疫情就是命令！”",
        "我们立即行动。",
        "还有什么犹豫的呢？！",
        "最后一句没有句号",
    ]


# -- the real seeds ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeds() -> tuple[list[corpus.Document], list[dict[str, Any]], list[tuple[str, int, str, str]]]:
    cfg = load_config(None, [f"input.paths=[{SEEDS}]"])
    docs = list(corpus.read_documents(cfg))
    units, removed = [], []
    for unit, gone in segment_documents(docs, cfg.segment):
        removed.extend(row[:4] for row in gone)
        if unit:
            units.append(unit)
    return docs, units, removed


def test_seeds_all_files_give_units(seeds: Any) -> None:
    docs, units, _ = seeds
    assert len(docs) == len(list(SEEDS.glob("*.txt")))
    assert {u["doc_id"] for u in units} == {d.doc_id for d in docs}


def test_seeds_no_furniture_in_units(seeds: Any) -> None:
    _, units, removed = seeds
    furniture = {text for _s, _n, kind, text in removed if kind == "furniture"}
    assert {"查看全文", "手机阅读", "您可能关注的文档", "推荐文章", "false"} <= furniture
    assert any("ICP备" in f for f in furniture)
    for u in units:
        for line in furniture:
            assert line not in u["text"], (u["unit_id"], line)
        for marker in ("查看全文", "手机阅读", "ICP备", "版权所有", "上传日期", "小编:"):
            assert marker not in u["text"], (u["unit_id"], marker)


def test_seeds_no_unit_is_a_heading_or_title(seeds: Any) -> None:
    _, units, removed = seeds
    headings = {text for _s, _n, kind, text in removed if kind in ("heading", "title")}
    assert "担当作为,推动防疫措施严格落实" in headings
    assert "学校党员疫情防控心得体会总结篇三" in headings
    texts = {u["text"] for u in units}
    assert not texts & headings
    assert all(u["heading"] != u["text"] for u in units)
    # only seed 003 starts without a title, so only its first unit has no heading
    assert [u["unit_id"] for u in units if not u["heading"]] == ["003_966c684f5685b6ac-0001"]


def test_seeds_units_within_max_chars_and_traceable(seeds: Any) -> None:
    docs, units, _ = seeds
    lines = {d.doc_id: dict(d.lines) for d in docs}
    assert all(len(u["text"]) <= DEFAULT.max_chars for u in units)
    for u in units:
        assert_provenance([u], lines[u["doc_id"]])


def test_seed_002_gives_at_least_25_units(seeds: Any) -> None:
    _, units, _ = seeds
    unit_002 = [u for u in units if u["source"].split("/")[-1].startswith("002_")]
    assert len(unit_002) >= 25
    # five articles, each under its own title
    assert len({u["heading"] for u in unit_002}) == 5


@pytest.mark.parametrize(
    "lines",
    [
        ["国足世预赛主场迎战日本"],  # a headline: the whole document is one short line
        ["科技巨头发布新款折叠屏手机", "售价创新低"],  # two short lines, no sentence punctuation
    ],
)
def test_a_document_of_only_short_lines_keeps_them_as_text(lines: list[str]) -> None:
    doc = corpus.Document("d", "rows.jsonl", [(i, t) for i, t in enumerate(lines, start=1)])
    pairs = list(segment_documents([doc], Config().segment))
    units = [u for u, _ in pairs if u]
    assert "".join(u["text"] for u in units) == "".join(lines)
    assert units[0]["line_start"] == 1 and units[-1]["line_end"] == len(lines)
    assert all(kind not in ("title", "heading") for _, removed in pairs for _, _, kind, _, _ in removed)


def test_ascii_full_stop_after_chinese_ends_a_sentence() -> None:
    assert ends_sentence("本文研究了水稻的抗病基因.")
    assert not ends_sentence("版本 v1.")


def test_seed_004_parallel_lines_ending_in_a_full_stop_are_headings(seeds: Any) -> None:
    _, units, removed = seeds
    series = ["“及时”保障人民生命。", "“及时”回应社会关切。", "“及时”遏制疫情蔓延。"]
    source = "seeds/004_efd4f2d932c58f11.txt"
    assert [(line, kind, text) for s, line, kind, text in removed if text in series and s == source] == [
        (12, "heading", series[0]),
        (14, "heading", series[1]),
        (16, "heading", series[2]),
    ]
    under = [u for u in units if u["heading"] in series]
    assert [(u["heading"], u["line_start"]) for u in under] == list(zip(series, [13, 15, 17], strict=True))
    assert not any(h in u["text"] for u in units for h in series)


@pytest.mark.parametrize(
    "lines",
    [
        # Two short sentences with different openings stay text.
        [TITLE, "人民高于一切。", P1, "我们必须坚持。", P2],
        # Parallel lines followed by short text only are not section headings.
        [TITLE, "“及时”保障人民生命。", "全体党员都做到了。", "“及时”回应社会关切。", "全体党员都做到了。"],
    ],
)
def test_short_sentences_that_are_not_a_parallel_series_stay_text(lines: list[str]) -> None:
    units, removed = segment(lines)
    assert [kind for _s, _n, kind, _t in removed] == ["title"]
    assert "".join(u["text"] for u in units) == "".join(lines[1:])


def test_sentences_that_merely_start_alike_are_not_parallel_headings() -> None:
    lines = [
        TITLE,
        "会议讨论了中共中央政治局向中央委员会作的工作报告。",
        P1,
        "会议确定将以上内容作为二十届二中全会的议题。",
        P2,
        "稳中加固、稳中向好，体现在经济运行。",
        P3,
        "稳中加固、稳中向好，体现在民生保障。",
        P1,
    ]
    _units, removed = segment(lines)
    assert [kind for _s, _n, kind, _t in removed] == ["title"]


# -- every unit carries its document's title ----------------------------------------------


@pytest.mark.parametrize(
    ("lines", "given", "title"),
    [
        pytest.param([TITLE, P1, P2], None, TITLE, id="its-title-line"),
        pytest.param([TITLE, P1, P2], "新闻联播 标题", "新闻联播 标题", id="the-title-field-first"),
        pytest.param([TITLE, "一、加强组织领导", P1], None, TITLE, id="the-title-before-a-heading"),
        pytest.param(
            ["一、加强组织领导", P1, "二、落实责任", P2], None, "一、加强组织领导", id="a-heading-first"
        ),
        pytest.param([P1, P2], None, P1[:16] + "…", id="else-the-start-of-its-text"),
        pytest.param([P1, "二、落实责任", P2], None, P1[:16] + "…", id="not-a-section-heading"),
        pytest.param([P1, P2, "(视频编辑：张贝龙 文字编辑：温凤浩)"], None, P1[:16] + "…", id="not-a-byline"),
        pytest.param(["全体党员都做到了这一点"], None, "全体党员都做到了这一点", id="a-short-text-whole"),
    ],
)
def test_units_carry_their_document_s_title(lines: list[str], given: str | None, title: str) -> None:
    doc = document(lines)
    doc.title = given
    units = [u for u, _ in segment_documents([doc], DEFAULT) if u]
    assert units and all(u["title"] == title for u in units)


# -- a text field that is a list of paragraphs ---------------------------------------------

BYLINE = "(视频编辑：张贝龙 文字编辑：温凤浩)"
# Records as news archives hold them: a list of paragraphs, with titles, headings, short
# paragraphs to merge, a paragraph to split, hard-wrapped lines, furniture and a byline.
RECORDS = [
    {"id": "r1", "title": "古巴领导人将访华", "paragraphs": [P1, SHORT, P2, BYLINE]},
    {"id": "r2", "title": "保障房更宜居", "paragraphs": [TITLE, *WRAP, P3]},
    {
        "id": "r3",
        "title": "防控心得",
        "paragraphs": ["一、加强组织领导", LONG + LONG, "二、落实责任", P3, SHORT],
    },
    {"id": "r4", "title": "", "paragraphs": ["手机阅读", P2, "查看全文", P1]},
    {"id": "r5", "title": "只有一段", "paragraphs": [P3]},
]


def test_a_list_of_paragraphs_gives_the_units_of_the_paragraphs_joined_by_line_ends(tmp_path: Path) -> None:
    listed, joined = tmp_path / "listed.jsonl", tmp_path / "joined.jsonl"
    listed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), encoding="utf-8")
    joined.write_text(
        "".join(
            json.dumps({**r, "paragraphs": "\n".join(r["paragraphs"])}, ensure_ascii=False) + "\n"
            for r in RECORDS
        ),
        encoding="utf-8",
    )

    def segmented(path: Path) -> tuple[list[dict[str, Any]], list[Any]]:
        cfg = load_config(None, [f"input.paths=[{path}]", "input.text_field=paragraphs", "input.id_field=id"])
        cfg.input.title_field = "title"
        units, removed = [], []
        for unit, gone in segment_documents(corpus.read_documents(cfg), cfg.segment):
            removed += [row[1:] for row in gone]  # all but the file's name
            if unit:
                units.append({k: v for k, v in unit.items() if k != "source"})
        return units, removed

    units, removed = segmented(listed)
    assert (units, removed) == segmented(joined)
    # Lines are paragraphs: wrapped ones re-flow, short ones merge, a long one is split.
    assert [(u["unit_id"], u["text_line_start"], u["text_line_end"], u["heading"]) for u in units] == [
        ("r1-0001", 1, 1, ""),
        ("r1-0002", 2, 3, ""),
        ("r2-0001", 2, 4, TITLE),
        ("r2-0002", 5, 5, TITLE),
        ("r3-0001", 2, 2, "一、加强组织领导"),
        ("r3-0002", 2, 2, "一、加强组织领导"),
        ("r3-0003", 4, 5, "二、落实责任"),
        ("r4-0001", 2, 2, ""),
        ("r4-0002", 4, 4, ""),
        ("r5-0001", 1, 1, ""),
    ]
    # Titled by the title field, else by the start of the text.
    assert list(dict.fromkeys((u["doc_id"], u["title"]) for u in units)) == [
        ("r1", "古巴领导人将访华"),
        ("r2", "保障房更宜居"),
        ("r3", "防控心得"),
        ("r4", P2[:16] + "…"),
        ("r5", "只有一段"),
    ]
    assert {kind for _, kind, _, _, _ in removed} == {"furniture", "title", "heading"}
