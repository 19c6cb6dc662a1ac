"""Furniture patterns (pipeline/resources/furniture.txt): a line is dropped only when it
IS furniture, never because it mentions 扫码, 版权 or 点击 in a sentence.

In csv/jsonl a whole document is often one line, so a pattern that matched anywhere in
a line would drop whole documents.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline import corpus
from pipeline.config import Config, SegmentConfig
from pipeline.stages.segment import compile_furniture, normalize, segment_documents

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
DEFAULT = Config().segment
PATTERNS = list(corpus.load_resource_lines("furniture.txt"))

TITLE = "学校党员疫情防控心得体会"
P1 = "近期，全球范围内爆发的新冠疫情给人们的生活带来了巨大的冲击，尤其对于学校来说，疫情的防控工作尤为重要。"
P2 = (
    "作为学校中的党员，我们积极参与并投身到疫情防控的前线，通过自身的努力和实践，积累了一系列宝贵的心得体会。"
)
# Longer than any pattern lets a furniture line run on (each bounds it to about 100 characters).
LONG = P1 + P2 + P1 + P2

FURNITURE = [
    # the furniture cases of test_segment.py and the seeds' own furniture lines
    "手机阅读",
    "查看全文",
    "推荐文章",
    "您可能关注的文档",
    "2022我是接班人防疫专题课看见春天观后感相关文章:",
    "false",
    "格式:DOC 上传日期:2023-11-12 21:19:34 页码:10",
    "2023-11-12 21:19:34    小编:ZTFB",
    "2023年11月12日 小编：张三",
    "Copyright © 2023 wanshu.net All Rights Reserved.版权所有",
    "Copyright © wanshu.net All Rights Reserved.版权所有",
    "版权所有：某某市融媒体中心",
    "工信部备案号:鲁ICP备2020038323号-1",
    "本网站内容仅供参考,内容侵权或错误投诉:640661@qq.com",
    # more of the same kinds
    "上一篇 下一篇",
    "上一篇：学校党员疫情防控心得体会",
    "返回顶部 | 打印本页 | 关闭窗口",
    "分享到：微信 微博 QQ空间",
    "责任编辑：王五",
    "© 2020 某某日报社",
    "主办单位：某某市委宣传部 © 2021",
    "某某市融媒体中心 版权所有",
    "版权所有，翻版必究",
    "版权所有 © 2020 某某网 保留所有权利",
    "all rights reserved.",
    "京公网安备 11010502030143号",
    "备案号：京ICP证030173号",
    "本站部分内容来源于网络，如有侵权请联系删除。",
    "联系我们：editor@example.com",
    "扫一扫",
    "微信扫一扫，分享到朋友圈",
    "扫一扫在手机打开当前页",
    "扫码关注我们的微信公众号，获取更多精彩内容",
    "长按识别二维码关注",
    "扫描下方二维码",
    "关注微信公众号，获取更多资讯",
    "欢迎关注我们的公众号",
    "点击查看全文",
    "【点击下载】",
    "点击这里查看原文",
    "免费下载本文完整版",
    "12",
    "第3页/共10页",
    "发信人: lanxi (兰溪), 信区: Epidemic",
    "※ 来源:·水木社区 newsmth.net·[FROM: 202.112.*]",
    "--",
]

PROSE = [
    # the three of the report: they mention furniture words and are text
    "扫码登记后进入小区，社区工作人员逐一测量体温并登记信息，确保不漏一户。",
    "版权所有权益受法律保护，这是知识产权保护的基本原则，企业应当依法维权。",
    "点击查看详情后，市民可以在线预约核酸检测，大大节省了排队时间。",
    # more sentences that mention the same words
    "市民可以通过微信扫一扫进行健康申报，工作人员会在后台及时核对每一条信息。",
    "企业须取得ICP备案号后才能上线网站，否则将被有关部门依法处罚并责令整改。",
    "社区通过关注微信公众号的方式发布防疫通知，居民足不出户就能了解最新政策。",
    "本站工作人员连续奋战七十二小时，保障了每一趟列车的安全运行和旅客的健康。",
    "大家可以在学习强国上点击阅读相关文章，深入学习领会习近平总书记的重要讲话精神。",
    "分享到朋友圈的内容必须真实可靠，我们每个人都不能成为谣言的传播者。",
    "下载文档之前，请先确认文件来源可靠，防止病毒入侵电脑造成信息泄露。",
]


def segment_line(line: str, cfg: SegmentConfig = DEFAULT) -> tuple[list[str], list[str]]:
    """A line between a title and a paragraph of a document: (unit texts, furniture lines)."""
    doc = corpus.Document("d", "d.txt", [(1, TITLE), (2, line), (3, ""), (4, P1)])
    units, furniture = [], []
    for unit, removed in segment_documents([doc], cfg):
        furniture += [text for _s, _n, kind, text, _t, _d in removed if kind == "furniture"]
        if unit:
            units.append(unit["text"])
    return units, furniture


def squash(text: str) -> str:
    return re.sub(r"\s+", "", normalize(text))


def test_every_builtin_pattern_is_anchored_at_the_start() -> None:
    # ^ is what keeps a pattern from matching inside a paragraph, and searching a line
    # of megabytes fast: the pattern is tried at its first position only.
    assert PATTERNS
    for pattern in PATTERNS:
        assert re.sub(r"^\(\?[a-z]+\)", "", pattern).startswith("^"), pattern


@pytest.mark.parametrize("line", FURNITURE)
def test_furniture_lines_are_dropped(line: str) -> None:
    units, furniture = segment_line(line)
    assert furniture == [normalize(line).strip()]
    assert units == [P1]


def test_every_pattern_is_needed_by_some_furniture_line() -> None:
    compiled = compile_furniture(DEFAULT)
    unused = [p.pattern for p in compiled if not any(p.search(normalize(line)) for line in FURNITURE)]
    assert unused == []


@pytest.mark.parametrize("line", PROSE)
def test_paragraphs_that_mention_furniture_words_reach_units(line: str) -> None:
    units, furniture = segment_line(line)
    assert furniture == []
    assert units == [line, P1]


@pytest.mark.parametrize("line", FURNITURE)
@pytest.mark.parametrize("where", ["before", "after", "inside"])
def test_furniture_text_inside_a_long_line_keeps_the_line(line: str, where: str) -> None:
    whole = {"before": line + LONG, "after": LONG + line, "inside": LONG + line + LONG}[where]
    units, furniture = segment_line(whole)
    assert furniture == []
    assert squash("".join(units)) == squash(whole + P1)


def test_a_5_mb_one_line_jsonl_document_keeps_its_text(tmp_path: Path) -> None:
    # The seeds, furniture lines and all, joined into one line: the copyright and ICP
    # lines of seed 003 are then words inside a document, not lines of their own.
    seeds = "".join(p.read_text(encoding="utf-8").replace("\n", "") for p in sorted(SEEDS.glob("*.txt")))
    text = PROSE[0] + seeds * (5_000_000 // len(seeds.encode()) + 1)
    assert "版权所有" in text and "ICP备" in text
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"id": "big", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    cfg = Config.model_validate({"input": {"paths": [str(path)], "id_field": "id"}})
    units: list[dict[str, Any]] = []
    removed: list[Any] = []
    for unit, gone in segment_documents(corpus.read_documents(cfg), cfg.segment):
        removed += gone
        if unit:
            units.append(unit)
    assert removed == []
    assert units[0]["text"].startswith(PROSE[0])
    assert squash("".join(u["text"] for u in units)) == squash(text)
    assert {u["doc_id"] for u in units} == {"big"}


def test_seed_furniture_lines_are_still_the_ones_dropped() -> None:
    cfg = Config.model_validate({"input": {"paths": [str(SEEDS)]}})
    dropped = [
        (Path(s).name[:3], line, text)
        for _unit, gone in segment_documents(corpus.read_documents(cfg), cfg.segment)
        for s, line, kind, text, _t, _d in gone
        if kind == "furniture"
    ]
    assert dropped == [
        ("000", 26, "查看全文"),
        ("000", 27, "false"),
        ("001", 1, "手机阅读"),
        ("001", 5, "格式:DOC 上传日期:2023-11-12 21:19:34 页码:10"),
        ("001", 7, "2023-11-12 21:19:34    小编:ZTFB"),
        ("001", 181, "您可能关注的文档"),
        ("003", 23, "Copyright © wanshu.net All Rights Reserved.版权所有"),
        ("003", 24, "本网站内容仅供参考,内容侵权或错误投诉:640661@qq.com"),
        ("003", 25, "工信部备案号:鲁ICP备2020038323号-1"),
        ("004", 2, "推荐文章"),
        ("004", 18, "2022我是接班人防疫专题课看见春天观后感相关文章:"),
    ]


def test_extra_patterns_still_apply_as_written() -> None:
    cfg = SegmentConfig(furniture_patterns=["扫码"])  # a user's own pattern is searched as given
    units, furniture = segment_line(PROSE[0], cfg)
    assert (units, furniture) == ([P1], [PROSE[0]])
