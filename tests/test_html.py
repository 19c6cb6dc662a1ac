"""The HTML report: a self-contained page, escaped, with every section its data asks for.

``make_data`` builds a ReportData by hand, every optional view present. The browser tests
open the page in headless Chromium (installed by .ci/setup-browser.sh): with its command
line, all host names resolving to nothing, reading back what an inline probe script saw;
and through chromedriver (selenium) to move the λ slider, choose a term and search.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import struct
import subprocess
import zlib
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from pipeline.measures import js_similarity
from pipeline.reporting import analysis
from pipeline.reporting.axes import category_axis
from pipeline.reporting.data import (
    Block,
    Corpus,
    Coverage,
    DocumentRows,
    LabelScores,
    Model,
    OverTime,
    Passage,
    ReportData,
    SearchEntry,
    Strip,
    Strips,
    Sweep,
    SweepPoint,
    Term,
    TermShift,
    Topic,
)
from pipeline.reporting.html import EXPLORER_BARS, explorer_ranking, render_html
from pipeline.reporting.summary import coverage

from .conftest import invoke, write_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # any network use fails instead of leaving the box
)

TERMS = [
    ["疫情防控", "疫情", "社区", "居民", "志愿者", "排查", "防控", "服务", "群众", "网格"],
    ["学校", "教学", "学生", "线上", "课堂", "老师", "学习", "师生", "课程", "作业"],
    ["党员", "组织", "基层党组织", "先锋", "模范", "作用", "支部", "党建", "担当", "责任"],
    ["经济", "企业", "复工", "复产", "政策", "发展", "市场", "保障", "就业", "稳定"],
]
PASSAGES = [
    "社区志愿者挨家挨户排查,疫情防控工作落实到每一个网格,居民纷纷点赞。",
    "停课不停学,老师们把课堂搬到线上,学生在家也能按时完成作业。",
    "基层党组织冲在一线,党员发挥先锋模范作用,<script>alert('x')</script> & 群众安心。",
    "各地出台政策支持企业复工复产,稳定就业,保障经济平稳发展。",
]
PLANTED = "药店门口排起长队,居民领取免费口罩。"  # the search test's passage: only it holds 口罩


def _phi(k: int) -> tuple[np.ndarray, dict[int, str], np.ndarray]:
    """Topic-term probabilities over the 40 terms: each topic's own ten terms carry most of
    it, falling with rank, and every topic holds a little of the frequent words 发展 and 工作."""
    vocab = [w for row in TERMS for w in row] + ["工作"]
    rng = np.random.default_rng(7)
    phi = rng.uniform(0.001, 0.004, size=(k, len(vocab)))
    for t in range(k):
        phi[t, t * 10 : t * 10 + 10] += 0.3 / np.arange(1, 11)
    phi[:, -1] += 0.12  # 工作: in every topic, so it ranks high by probability, low by lift
    phi /= phi.sum(axis=1, keepdims=True)
    count = np.round(phi.sum(axis=0) * 1000) + 1
    return phi, dict(enumerate(vocab)), count


def _passage(t: int, r: int) -> Passage:
    record = t == 2
    start = 12 + r * 7
    where = f"posts.jsonl:{start}:3–5" if record else f"seeds/00{t}_news.txt:{start}"
    if r and not record:
        where += f"–{start + 1}"
    return Passage(
        unit_id=f"doc{t}-000{r}",
        doc_id=f"doc{t}",
        weight=round(0.95 - 0.1 * r, 6),
        source="posts.jsonl" if record else f"seeds/00{t}_news.txt",
        line_start=start,
        line_end=start + (1 if r and not record else 0),
        where=where,
        heading="第三段:授课策略的变革" if t == 1 else "",
        text=PASSAGES[t],
        title="基层党建周报" if record else "",
        date="2020-03-05" if record else "",
    )


def make_data(k: int = 4) -> ReportData:
    """A realistic report of a small run: every optional view present."""
    prevalence = [0.34, 0.27, 0.23, 0.16]
    phi, id2token, count = _phi(k)
    names = ["社区防控", None, "党建引领 <b>", None]
    topics = []
    for t in range(k):
        terms = tuple(Term(w, round(0.08 / (i + 1), 6)) for i, w in enumerate(TERMS[t]))
        specific = t != 1  # one topic without the specific rankings: it falls back to probability
        rel = tuple(Term(w, -1.0 - i / 10) for i, w in enumerate(TERMS[t][::-1])) if specific else ()
        frex = tuple(Term(w, 0.9 - i / 20) for i, w in enumerate(TERMS[t][2:])) if specific else ()
        topics.append(
            Topic(
                id=t,
                name=names[t],
                note="与 2020 年春季的社区封闭管理有关" if t == 0 else None,
                prevalence=prevalence[t],
                terms=terms,
                relevance=rel,
                frex=frex,
                coherence=[0.081, -0.023, 0.047, None][t],
                stability=[0.91, 0.74, 0.88, 0.52][t],
                diagnostics={"exclusivity": 0.62 + t / 20, "effective_words": 31.5 - t},
                rank1_units=1200 - 100 * t,
                flags=("unstable across seeds",) if t == 3 else (),
                passages=tuple(_passage(t, r) for r in range(2)),
            )
        )
    mixes = np.array(
        [[0.81, 0.05, 0.1, 0.04], [0.3, 0.3, 0.2, 0.2], [0.1, 0.72, 0.08, 0.1], [0.2, 0.1, 0.6, 0.1],
         [0.05, 0.05, 0.1, 0.8]]
    )  # fmt: skip
    thetas = np.random.default_rng(3).dirichlet(np.ones(k) * 0.3, size=200)
    periods = ["2019", "2020", "2021", "2022"]
    share = np.array([[0.1, 0.4, 0.3, 0.2], [0.5, 0.2, 0.2, 0.1], [0.3, 0.3, 0.2, 0.2], [0.2, 0.2, 0.3, 0.3]])
    cov = coverage(
        {
            "seeds/000_news.txt": {
                "chars": 900,
                "units": 0.97,
                "furniture": 0.01,
                "title": 0.02,
                "heading": 0,
            },
            "seeds/001_news.txt": {"chars": 100, "units": 0.6, "furniture": 0, "title": 0.1, "heading": 0.3},
        }
    )
    assert cov is not None
    return ReportData(
        run="seeds",
        generated_by="pipeline 0.1.0",
        corpus=Corpus(
            files=5,
            documents=5,
            units=133,
            tokens=4241,
            terms=839,
            removed_lines=58,
            removed_tokens={"stopword": 4340, "punctuation": 2873, "number": 167, "rare or too common": 2159},
            coverage=Coverage(
                cov["chars"],
                {kind: cov[kind] for kind in ("units", "furniture", "title", "heading")},
                tuple((f["source"], f["units"], f["mostly"]) for f in cov["low_files"]),
                cov["low_count"],
            ),
        ),
        model=Model("gensim LdaModel", k, 20, 400, "nmf", "auto", "0.01", 42),
        timings={"segment": 0.035, "tokenize": 1.851, "dictionary": 1.68, "train": 74.2, "report": 2.1},
        topics=tuple(topics),
        topic_map={0: (-0.12, 0.05), 1: (0.2, 0.1), 2: (-0.08, -0.15), 3: (0.05, 0.22)},
        documents=DocumentRows(
            doc_ids=("000_news", "004_news", "001_news", "002_news", "003_news"),
            sources=tuple(f"seeds/00{i}_news.txt" for i in (0, 4, 1, 2, 3)),
            mixes=mixes,
            total=5,
            names=("社区防控一线", "复工复产观察", "停课不停学", "党员先锋", "就业稳定"),
        ),
        strips=Strips(
            (
                Strip(
                    "001_news",
                    9,
                    (
                        Block(4, 0, "001-0001", "001-0004"),
                        Block(1, None, "001-0005", "001-0005"),
                        Block(4, 2, "001-0006", "001-0009"),
                    ),
                    "停课不停学",
                ),
            ),
            3,
        ),
        sweep=Sweep(
            tuple(
                SweepPoint(
                    kk,
                    seed,
                    {
                        "c_v": 0.4 + 0.02 * kk - 0.002 * kk * kk + 0.01 * seed,
                        "c_npmi": 0.01 * kk - 0.03,
                        "u_mass": -2.0 - 0.1 * kk,
                        "diversity": 1.0 - 0.05 * kk,
                        "perplexity": 900 - 30 * kk,
                        "stability": None if seed else 0.9 - 0.04 * kk,
                    },
                )
                for kk in (2, 4, 6, 8)
                for seed in (0, 1)
            ),
            4,
            "C_V 最高且各种子间稳定",
        ),
        prevalence=analysis.bootstrap_prevalence(
            "year",
            periods,
            np.repeat(np.arange(4), 5),
            np.repeat(share, 5, axis=0) * np.linspace(50, 150, 20)[:, None],
            np.full(20, 3),
            100,
            42,
        ),
        over_time=OverTime(
            "date",
            ("2019 – 2020", "2021 – 2022"),
            tuple(
                TermShift(
                    t,
                    (tuple(TERMS[t][:4]), tuple(TERMS[t][2:6])),
                    (Term(TERMS[t][5], 0.031),),
                    (Term(TERMS[t][0], -0.042),),
                )
                for t in range(k)
            ),
        ),
        relations=analysis.relations(js_similarity(phi, phi), list(range(k)), thetas),
        explorer=analysis.explorer(
            phi, count / count.sum(), count, np.array(prevalence) * 4241, id2token, 0.6, 30
        ),
        search=(
            *(SearchEntry(t, f"seeds/00{t}_news.txt:{12 + t}", f"doc{t}", PASSAGES[t]) for t in range(k)),
            SearchEntry(0, "posts.jsonl:40:2", "doc9", PLANTED, "药店见闻", "2020-02-01"),
        ),
        labels=None,
        training_notes=("mean topic stability across seeds: 0.762",),
        vanished_labels=(),
    )


def topic(data: ReportData, t: int, **changes: Any) -> ReportData:
    """``data`` with topic ``t`` changed."""
    topics = tuple(dataclasses.replace(x, **changes) if x.id == t else x for x in data.topics)
    return dataclasses.replace(data, topics=topics)


# -- static checks ---------------------------------------------------------------------------

NETWORK = [
    re.compile(r"""\b(?:src|href|action|poster|data|srcset)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"""url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I),
    re.compile(r"<(?:link|iframe|object|embed|base)\b", re.I),
    re.compile(r"<script[^>]*\bsrc\b", re.I),
    re.compile(r"\b(?:fetch|XMLHttpRequest|WebSocket|EventSource|sendBeacon|import)\s*\(", re.I),
]


def test_page_loads_nothing_from_the_network() -> None:
    page = render_html(make_data())
    assert "http://" not in page and "https://" not in page
    for pattern in NETWORK:
        assert not pattern.search(page), pattern.pattern
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts == [
        ' type="application/json" id="explorer-data"',
        ' type="application/json" id="search-data"',
        "",
    ]


def test_urls_in_the_text_stay_text() -> None:
    data = make_data()
    evil = dataclasses.replace(
        data.topics[0].passages[0], text='原文见 https://example.com/a.png" src="//evil.example/x'
    )
    page = render_html(topic(data, 0, passages=(evil,)))
    for pattern in NETWORK[:4]:
        assert not pattern.search(page), pattern.pattern
    assert "https://example.com/a.png&#34; src=&#34;//evil.example/x" in page


def test_page_head_sets_encoding_language_viewport_and_cjk_fonts() -> None:
    page = render_html(make_data())
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh">' in page
    assert '<meta charset="utf-8">' in page
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    for font in ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC"):
        assert font in page
    assert "@media" in page  # responsive rules


class _Balance(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "br", "img", "input", "hr", "link", "wbr", "col", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def test_markup_is_balanced() -> None:
    parser = _Balance()
    parser.feed(render_html(make_data()))
    assert parser.errors == [] and parser.stack == []


def _card(page: str, t: int) -> str:
    return page.split(f'id="topic-{t}"')[1].split("</article>")[0]


def test_one_card_per_topic_with_its_data_ids() -> None:
    page = render_html(make_data())
    assert page.count('<article class="topic-card"') == 4
    for t in range(4):
        assert f'<article class="topic-card" id="topic-{t}">' in page
        assert f'<span class="tid">Topic {t}</span>' in page
        assert f'href="#topic-{t}"' in page  # from the prevalence chart, the map and the heat map
    assert "Topic 0</span> · 社区防控" in page
    assert "与 2020 年春季的社区封闭管理有关" in page
    assert "unstable across seeds" in page
    assert "exclusivity" in page and "stability" in page


def test_ids_are_the_data_ids_not_positions() -> None:
    data = make_data()
    page = render_html(dataclasses.replace(data, topics=data.topics[::-1]))
    assert re.findall(r'class="topic-card" id="topic-(\d+)"', page) == ["3", "2", "1", "0"]


def test_label_terms_prefer_relevance_and_frex() -> None:
    page = render_html(make_data())
    assert "relevance (λ)</b>网格 群众 服务" in _card(page, 0)
    assert "FREX</b>社区 居民" in _card(page, 0)
    card1 = _card(page, 1)
    assert "FREX" not in card1 and "top terms</b>学校 教学 学生" in card1


def test_term_chart_is_bars_scaled_to_the_top_term() -> None:
    chart = _card(render_html(make_data()), 1).split('<div class="rowbars"', 1)[1].split("</figure>")[0]
    assert '<span class="fill" style="width:100.00%"></span><span class="t">学校</span>' in chart
    assert 'style="width:50.00%"' in chart  # the second term has half the top weight
    assert '<span class="v">8.0%</span>' in chart  # its probability, as a percent


def test_passages_highlight_terms_and_cite_source_lines() -> None:
    page = render_html(make_data())
    # the longer term wins over its prefix 疫情
    assert "<mark>疫情防控</mark>" in page and "<mark>疫情</mark>防控" not in page
    assert "<mark>志愿者</mark>" in page and "<mark>线上</mark>" in page
    assert "<code>seeds/000_news.txt:12</code>" in page
    assert "<code>seeds/000_news.txt:19–20</code>" in page
    assert "<code>posts.jsonl:19:3–5</code>" in page  # record line, then the lines inside the record
    assert "第三段:授课策略的变革" in page


def test_summary_shows_where_the_characters_went_and_the_files_that_kept_least() -> None:
    page = render_html(make_data())
    panel = page[page.index('id="coverage"') :]
    panel = panel[: panel.index("</div>")]
    assert '<th>units</th><td class="n">93.3%</td>' in panel  # (900 * 0.97 + 100 * 0.6) / 1000
    assert '<th>heading lines</th><td class="n">3.0%</td>' in panel
    assert 'seeds/001_news.txt</th><td class="n">60.0%, mostly heading' in panel
    assert "seeds/000_news.txt" not in panel


def test_text_from_the_data_is_escaped() -> None:
    data = make_data()
    docs = data.documents
    assert docs is not None
    data = dataclasses.replace(
        data,
        run="<img src=x onerror=alert(1)>",
        documents=dataclasses.replace(docs, doc_ids=('"><script>alert(2)</script>', *docs.doc_ids[1:])),
    )
    page = render_html(data)
    assert "<script>alert" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; 群众安心" in page
    assert "党建引领 &lt;b&gt;" in page
    assert "&#34;&gt;&lt;script&gt;alert(2)" in page
    # the script's data too: JSON in the page cannot close its <script> element
    assert "\\u003cscript\\u003ealert" in page


SECTIONS = (
    "summary", "prevalence", "intertopic", "explorer", "topics", "relations", "documents", "segments",
    "periods", "terms-over-time", "sweep", "search",
)  # fmt: skip


def test_every_section_present_with_full_data() -> None:
    page = render_html(make_data())
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
        assert f'<a href="#{section}">' in page
    assert "4,340" in page and "stopword tokens" in page  # what cleaning removed
    assert "gensim LdaModel" in page and "1 min 14 s" in page and "total" in page
    assert "Chosen K = 4" in page and "C_V 最高且各种子间稳定" in page
    assert "Prevalence by year" in page and "2022" in page


def test_optional_sections_absent_without_their_data() -> None:
    data = make_data()
    bare = dataclasses.replace(
        data,
        topic_map=None,
        documents=None,
        strips=None,
        sweep=None,
        prevalence=None,
        over_time=None,
        relations=None,
        explorer=None,
        search=(),
        training_notes=(),
        topics=tuple(
            dataclasses.replace(
                t, relevance=(), frex=(), stability=None, diagnostics={}, flags=(), note=None, name=None
            )
            for t in data.topics
        ),
    )
    page = render_html(bare)
    for section in SECTIONS[2:]:
        if section != "topics":
            assert f'id="{section}"' not in page and f'href="#{section}"' not in page
    visible = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert "FREX" not in visible and "relevance" not in visible and "stability" not in visible
    assert page.count('<article class="topic-card"') == 4
    assert '<span class="tid">Topic 2</span></h3>' in page  # no name: just "Topic n"
    assert page.count("<section") == 3  # summary, prevalence, topics


def test_long_documents_show_as_strips_of_their_segments() -> None:
    strips = render_html(make_data()).split('<section id="segments">')[1].split("</section>")[0]
    assert "3 documents change topic inside; the 1 longest are shown" in strips
    blocks = re.findall(r'<span style="flex:(\d+);background:([^"]+)" title="([^"]*)">([^<]*)</span>', strips)
    assert [(int(f), label) for f, _, _, label in blocks] == [(4, "0"), (1, ""), (4, "2")]
    assert blocks[0][1] != blocks[2][1]  # topics 0 and 2 in different colours
    assert "001-0001 … 001-0004 · 4 units · topic 0" in blocks[0][2]
    assert "no tokens" in blocks[1][2]


def test_missing_numbers_show_as_not_available() -> None:
    page = render_html(topic(make_data(), 0, coherence=None))
    assert "<dt>coherence (NPMI)</dt><dd>n/a</dd>" in _card(page, 0)
    assert not re.search(r"\bnan\b", page, re.I)


def test_intertopic_circle_area_follows_prevalence() -> None:
    page = render_html(make_data())
    bubble = r'<a href="#topic-(\d+)" data-topic="\d+"><title>[^<]*</title><circle class="bubble"'
    circles = re.findall(bubble + r'[^>]* r="([\d.]+)"', page)
    radius = {int(t): float(r) for t, r in circles}
    assert sorted(radius) == [0, 1, 2, 3]
    assert radius[1] ** 2 / radius[0] ** 2 == pytest.approx(0.27 / 0.34, rel=0.01)
    assert '<text class="bubble-id"' in page


def test_heat_map_shows_its_rows_and_says_how_many_it_leaves_out() -> None:
    data = make_data()
    docs = data.documents
    assert docs is not None
    page = render_html(dataclasses.replace(data, documents=dataclasses.replace(docs, total=300)))
    heat = page.split('<section id="documents">')[1].split("</section>")[0]
    assert heat.count("<tr><th title") == 5
    assert "The 5 documents that carry each topic most, of 300 (295 left out)" in heat
    small = render_html(data).split('<section id="documents">')[1].split("</section>")[0]
    assert "left out" not in small and "5 documents, grouped" in small
    assert re.findall(r"<tr><th title=[^>]*>([^<]+)</th>", small) == list(docs.names)
    assert '<th title="停课不停学 · 001_news · seeds/001_news.txt">停课不停学</th>' in small


def test_sweep_plots_each_metric_with_the_chosen_k() -> None:
    sweep = render_html(make_data()).split('<section id="sweep">')[1].split("</section>")[0]
    assert sweep.count("<figure>") == 6  # c_v, c_npmi, u_mass, diversity, perplexity, stability
    assert sweep.count('class="guide"') == 6
    assert "8 models over K = 2, 4, 6, 8, 2 seeds each" in sweep


def test_prevalence_panels_draw_the_bootstrap_interval() -> None:
    data = make_data()
    prev = data.prevalence
    assert prev is not None
    assert (prev.low <= prev.share + 1e-12).all() and (prev.share <= prev.high + 1e-12).all()
    periods = render_html(data).split('<section id="periods">')[1].split("</section>")[0]
    assert periods.count('class="band"') == 4 and "95% bootstrap interval" in periods


def test_relations_show_hierarchy_merge_pairs_and_correlations() -> None:
    data = make_data()
    rel = data.relations
    assert rel is not None
    section = render_html(data).split('<section id="relations">')[1].split("</section>")[0]
    assert section.count('class="link"') == 3  # k - 1 merges in the dendrogram
    assert sorted(rel.leaves) == [0, 1, 2, 3]
    a, _, s = rel.similar[0]
    assert f'<a href="#topic-{a}">{a}</a>' in section and f"{s:.3f}" in section
    assert section.count("<td style=") == 16  # the correlation of every pair, diagonal left blank


def test_explorer_bars_start_at_the_configured_lambda() -> None:
    data = make_data()
    ex = data.explorer
    assert ex is not None
    bars = render_html(data).split('id="explorer-bars">')[1].split('<div class="term-topics">')[0]
    shown = re.findall(r'<div class="tb" data-term="([^"]+)">', bars)
    assert shown == [ex.terms[j] for j in explorer_ranking(ex, 0, 0.6)]
    assert len(shown) == EXPLORER_BARS
    assert 'type="range" name="lambda" id="lambda" min="0" max="1" step="0.01" value="0.6"' in render_html(
        data
    )


def test_explorer_ranking_is_ldavis_relevance() -> None:
    ex = make_data().explorer
    assert ex is not None
    by_probability = [ex.terms[j] for j in explorer_ranking(ex, 0, 1.0, 3)]
    by_lift = [ex.terms[j] for j in explorer_ranking(ex, 0, 0.0, 3)]
    assert by_probability[0] == "疫情防控" and "工作" in by_probability  # frequent everywhere
    assert "工作" not in by_lift


def test_terms_over_time_list_each_span_and_the_shifts() -> None:
    section = render_html(make_data()).split('<section id="terms-over-time">')[1].split("</section>")[0]
    assert "<th>2019 – 2020</th><th>2021 – 2022</th>" in section
    assert "<td>疫情防控 疫情 社区 居民</td>" in section
    assert "rose: 排查 (+3.1)" in section and "fell: 疫情防控 (-4.2)" in section


def test_dropped_topic_keeps_its_card_but_leaves_the_charts() -> None:
    data = topic(make_data(), 3, dropped=True)
    page = render_html(data)
    assert '<article class="topic-card dropped" id="topic-3">' in page
    prevalence = page.split('<section id="prevalence">')[1].split("</section>")[0]
    assert "#topic-3" not in prevalence and "#topic-2" in prevalence
    assert 'data-topic="3"' not in page.split('<section id="intertopic">')[1].split("</section>")[0]


LONG = re.compile(r"\d\.\d{5,}")  # a number printed with more than 4 decimals


def _long_floats(data: ReportData) -> ReportData:
    """``data`` with every number a float of full precision, as a real run computes them."""
    odd = 1 / 7 / 1000  # 0.000142857142857…: no number stays short after adding it
    topics = tuple(
        dataclasses.replace(
            t,
            prevalence=t.prevalence + odd,
            coherence=None if t.coherence is None else t.coherence + odd,
            stability=None if t.stability is None else t.stability + odd,
            diagnostics={
                "token_share": 0.11858664854397623,
                "coherence": 0.0812345678912,
                "exclusivity": 0.62345678912,
                "effective_words": 135.02728965303535,
                "document_entropy": 0.8036159143324301,
                "stability": 0.9123456789,
            },
            terms=tuple(Term(x.term, x.score + odd) for x in t.terms),
            relevance=tuple(Term(x.term, x.score + odd) for x in t.relevance),
            frex=tuple(Term(x.term, x.score + odd) for x in t.frex),
            passages=tuple(dataclasses.replace(p, weight=p.weight + odd) for p in t.passages),
        )
        for t in data.topics
    )
    docs, sweep, over = data.documents, data.sweep, data.over_time
    assert docs is not None and sweep is not None and over is not None
    points = tuple(
        dataclasses.replace(p, metrics={k: None if v is None else v + odd for k, v in p.metrics.items()})
        for p in sweep.points
    )
    shifts = tuple(
        dataclasses.replace(s, rose=tuple(Term(x.term, x.score + odd) for x in s.rose)) for s in over.topics
    )
    return dataclasses.replace(
        data,
        topics=topics,
        documents=dataclasses.replace(docs, mixes=docs.mixes * (1 - odd)),
        sweep=dataclasses.replace(sweep, points=points),
        over_time=dataclasses.replace(over, topics=shifts),
        timings={k: v + odd for k, v in data.timings.items()},
        labels=LabelScores("label", {"nmi": 0.3123456789, "ari": 0.2, "purity": 0.5}, {"nmi": 0.1, "ari": 0.2,
                           "purity": 0.75555555}),
    )  # fmt: skip


def _visible(page: str) -> str:
    """What a reader can see: the text, and the tooltips and labels of the elements."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    tips = re.findall(r'(?:title|aria-label|placeholder)="([^"]*)"', body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + " ".join(tips))


def test_no_number_on_the_page_has_more_than_four_decimals() -> None:
    data = _long_floats(make_data())
    page = render_html(data)
    assert LONG.findall(_visible(page)) == []
    assert LONG.search(_visible(page.replace("135", "135.02728965303535")))  # the check is not blind
    assert "0.11858664854397623" not in page and "135.0272" not in page


def test_topic_card_names_its_measures_and_leaves_out_the_repeated_token_share() -> None:
    card = _card(render_html(_long_floats(make_data())), 0)
    metrics = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", card))
    assert metrics == {
        "prevalence": "34.0%",
        "coherence (NPMI)": "0.081",
        "stability": "0.91",
        "exclusivity": "0.62",
        "effective words": "135",
        "spread": "0.80",
        "top topic of": "1,200 units",
    }
    assert "token_share" not in card and "effective_words" not in card and "11.9%" not in card


def test_passages_cite_the_document_title_and_date() -> None:
    card = _card(render_html(make_data()), 2)
    assert "<footer><cite>基层党建周报</cite> · 2020-03-05 · <code>posts.jsonl:12:3–5</code>" in card
    assert "topic share 95.0%" in card
    plain = _card(render_html(make_data()), 0)  # no title or date: the file and line alone
    assert "<footer><code>seeds/000_news.txt:12</code> · topic share 95.0%</footer>" in plain


def test_strips_show_document_names() -> None:
    strips = render_html(make_data()).split('<section id="segments">')[1].split("</section>")[0]
    assert '<span class="strip-name" title="停课不停学 · 001_news">停课不停学</span>' in strips
    assert "9 units" in strips


def test_search_placeholder_is_a_word_the_passages_hold() -> None:
    data = make_data()
    page = render_html(data)
    word = re.search(r'id="search-box"[^>]*placeholder="([^"]+)"', page)
    assert word is not None
    assert any(word.group(1) in s.text for s in data.search)
    assert word.group(1) in [x.term for x in data.topics[0].terms]  # the largest topic's
    assert "in the 5 passages this page holds" in page and "<code>units.jsonl</code>" in page


def test_long_date_series_chart_coarser_periods_and_say_so() -> None:
    data = make_data()
    months = [f"{y}-{m:02d}" for y in range(2010, 2024) for m in range(1, 13)]
    rng = np.random.default_rng(1)
    n = len(months) * 3
    mass = rng.dirichlet(np.ones(4), size=n) * 20
    fine = analysis.bootstrap_prevalence(
        "date", months, np.repeat(np.arange(len(months)), 3), mass, np.ones(n), 20, 1
    )
    years = sorted({m[:4] for m in months})
    coarse = analysis.bootstrap_prevalence(
        "date", years, np.repeat(np.arange(len(years)), 36), mass, np.ones(n), 20, 1
    )
    page = render_html(dataclasses.replace(
        data, prevalence=dataclasses.replace(fine, period="month"),
        prevalence_chart=dataclasses.replace(coarse, period="year"),
    ))  # fmt: skip
    periods = page.split('<section id="periods">')[1].split("</section>")[0]
    assert "share of the tokens in each year (prevalence.csv has each of the 168 months)" in periods
    first = periods.split("<svg")[1].split("</svg>")[0]
    assert first.count("<circle") == 14  # a point a year, not a month
    labels = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', first)
    assert "0%" in labels and all(x.endswith("%") or x.isdigit() for x in labels)
    assert {x for x in labels if x.isdigit()} <= set(years)


def test_render_is_pure() -> None:
    data = make_data()
    assert render_html(data) == render_html(data)


# -- in a browser ----------------------------------------------------------------------------

# Records what the page did into attributes of <html>, which --dump-dom then prints.
PROBE = """<script>
(function () {
  var root = document.documentElement, seen = [];
  function note(m) { seen.push(String(m)); root.setAttribute("data-errors", seen.join(" | ")); }
  root.setAttribute("data-errors", "");
  window.addEventListener("error", function (e) {
    var t = e.target;
    note(e.message || "failed to load " + (t && (t.src || t.href)));
  }, true);
  var error = console.error;
  console.error = function () { note([].join.call(arguments, " ")); error.apply(console, arguments); };
  window.addEventListener("load", function () {
    var urls = performance.getEntriesByType("resource").map(function (r) { return r.name; });
    root.setAttribute("data-resources", JSON.stringify(urls));
    root.setAttribute("data-overflow", String(root.scrollWidth - root.clientWidth));
    root.setAttribute("data-cards", String(document.querySelectorAll(".topic-card").length));
    root.setAttribute("data-loaded", "1");
  });
})();
</script>"""


def _chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        print("chromium not installed: run .ci/setup-browser.sh")
        pytest.skip("chromium not installed: run .ci/setup-browser.sh")
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    command = [
        str(CHROMIUM),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *args,
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _probe(tmp_path: Path, page: str, width: int = 1280) -> dict[str, str]:
    path = tmp_path / "probe.html"
    path.write_text(page.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    dom = _chromium(tmp_path, path.as_uri(), "--dump-dom", f"--window-size={width},900").stdout
    tag = re.search(r"<html[^>]*>", dom)
    assert tag, dom[:500]
    return {k: html.unescape(v) for k, v in re.findall(r'data-([a-z]+)="([^"]*)"', tag.group())}


def _png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB(A) PNG to an (h, w, channels) array; zlib and numpy only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:
            cur = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:
            cur = line + prev
        else:  # Average and Paeth depend on the byte just decoded, so they run byte by byte
            cur = np.array(_unfilter_row(int(kind), line.tolist(), prev.tolist(), bpp), np.uint8)
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)[:, :, :3]


def _unfilter_row(kind: int, line: list[int], prev: list[int], bpp: int) -> list[int]:
    out = [(x + (b >> 1 if kind == 3 else b)) & 255 for x, b in zip(line[:bpp], prev, strict=False)]
    for x, b, c in zip(line[bpp:], prev[bpp:], prev, strict=False):
        a = out[-bpp]
        if kind == 3:
            out.append((x + ((a + b) >> 1)) & 255)
            continue
        pa = b - c if b > c else c - b
        pb = a - c if a > c else c - a
        pc = abs(a + b - c - c)
        out.append((x + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255)
    return out


def test_browser_loads_page_without_errors_or_requests(tmp_path: Path) -> None:
    seen = _probe(tmp_path, render_html(make_data()))
    assert seen.get("loaded") == "1"
    assert seen["errors"] == ""
    assert json.loads(seen["resources"]) == []
    assert seen["cards"] == "4"
    assert seen["overflow"] == "0"


def test_browser_fits_a_phone_screen(tmp_path: Path) -> None:
    seen = _probe(tmp_path, render_html(make_data()), width=390)
    assert seen.get("loaded") == "1" and seen["errors"] == ""
    assert seen["overflow"] == "0"  # nothing wider than the screen: the heat map scrolls in its box


def test_browser_probe_sees_errors_and_requests(tmp_path: Path) -> None:
    """The probe is not blind: a broken script and a network image are both reported."""
    page = render_html(make_data()).replace(
        "</main>", '<img src="https://example.com/x.png"><script>notDefined()</script></main>'
    )
    seen = _probe(tmp_path, page)
    assert "notDefined" in seen["errors"]
    assert "failed to load https://example.com/x.png" in seen["errors"]
    assert "https://example.com/x.png" in json.loads(seen["resources"])


def test_browser_screenshot_is_not_blank(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(render_html(make_data()), encoding="utf-8")
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, path.as_uri(), f"--screenshot={shot}", "--window-size=1280,2000")
    pixels = _png_pixels(shot)
    assert pixels.shape == (2000, 1280, 3)
    colors = np.unique(pixels.reshape(-1, 3).astype(np.uint32) @ np.array([65536, 256, 1], np.uint32))
    assert len(colors) > 200  # antialiased text and chart colours, not a flat page
    background = np.all(pixels == pixels[1999, 0], axis=2).mean()
    assert background < 0.95


def test_browser_draws_chinese_glyphs(tmp_path: Path) -> None:
    """Two different Chinese words must look different; without a CJK font both are rows of boxes."""
    page = render_html(make_data()).replace(
        "<main>",
        '<div style="position:fixed;left:0;top:0;z-index:9;background:#fff;color:#000;font-size:48px;'
        'line-height:80px;width:400px"><div>疫情防控</div><div>学校党员</div></div><main>',
    )
    path = tmp_path / "glyphs.html"
    path.write_text(page, encoding="utf-8")
    shot = tmp_path / "glyphs.png"
    _chromium(tmp_path, path.as_uri(), f"--screenshot={shot}", "--window-size=400,200")
    pixels = _png_pixels(shot)
    first, second = pixels[0:80, 0:400], pixels[80:160, 0:400]
    assert (first != 255).any(), "no text drawn"
    assert (first != second).any(), "Chinese renders as boxes: install fonts-noto-cjk (.ci/setup-browser.sh)"


def test_browser_opens_the_seeds_report(seeds_run: Path, tmp_path: Path) -> None:
    """The report.html that `pipeline run` wrote for the seeds: loads clean, every card, not blank."""
    page = (seeds_run / "report.html").read_text(encoding="utf-8")
    topics = json.loads((seeds_run / "topics.json").read_text(encoding="utf-8"))
    seen = _probe(tmp_path, page)
    assert seen.get("loaded") == "1"
    assert seen["errors"] == ""
    assert json.loads(seen["resources"]) == []
    assert seen["cards"] == str(len(topics))
    for t in topics:
        assert f'id="topic-{t["topic"]}"' in page
    shot = tmp_path / "seeds.png"
    _chromium(
        tmp_path, (seeds_run / "report.html").as_uri(), f"--screenshot={shot}", "--window-size=1280,2000"
    )
    pixels = _png_pixels(shot)
    colors = np.unique(pixels.reshape(-1, 3).astype(np.uint32) @ np.array([65536, 256, 1], np.uint32))
    assert len(colors) > 200


# -- driven through chromedriver ---------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Any:
    """One headless Chromium for the module, driven by the system's chromedriver; host names
    resolve to nothing, so a request could not leave the machine, and would show as an error."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        print("chromium or chromedriver not installed: run .ci/setup-browser.sh")
        pytest.skip("chromium or chromedriver not installed: run .ci/setup-browser.sh")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    yield driver
    driver.quit()


def _open(browser: Any, tmp_path: Path, page: str) -> None:
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    browser.get("about:blank")
    browser.get_log("browser")  # start each page with an empty console
    browser.get(path.as_uri())


def _problems(browser: Any) -> tuple[list[str], list[str]]:
    """Console errors and warnings since the page opened, and every resource it requested."""
    console = [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    requests = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (r) { return r.name; })"
    )
    return console, requests


def _bars(browser: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [
        e.get_attribute("data-term") for e in browser.find_elements(By.CSS_SELECTOR, "#explorer-bars .tb")
    ]


def test_browser_lambda_slider_reranks_terms_as_python_does(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    data = make_data()
    ex = data.explorer
    assert ex is not None
    _open(browser, tmp_path, render_html(data))
    assert _bars(browser) == [ex.terms[j] for j in explorer_ranking(ex, 0, 0.6)]
    slider = browser.find_element(By.NAME, "lambda")
    slider.send_keys(Keys.HOME)  # λ = 0: by lift
    assert browser.find_element(By.ID, "lambda-value").text == "0.00"
    by_lift = _bars(browser)
    assert by_lift == [ex.terms[j] for j in explorer_ranking(ex, 0, 0.0)]
    slider.send_keys(Keys.END)  # λ = 1: by probability in the topic
    by_probability = _bars(browser)
    assert by_probability == [ex.terms[j] for j in explorer_ranking(ex, 0, 1.0)]
    assert by_lift != by_probability
    for _ in range(30):  # λ = 0.70 by the arrow keys, one step of 0.01 each
        slider.send_keys(Keys.ARROW_LEFT)
    assert browser.find_element(By.ID, "lambda-value").text == "0.70"
    assert _bars(browser) == [ex.terms[j] for j in explorer_ranking(ex, 0, 0.7)]
    Select(browser.find_element(By.ID, "explorer-topic")).select_by_index(2)
    assert _bars(browser) == [ex.terms[j] for j in explorer_ranking(ex, 2, 0.7)]
    assert _problems(browser) == ([], [])


def test_browser_choosing_a_term_lights_the_topics_that_hold_it(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    data = make_data()
    ex = data.explorer
    assert ex is not None
    _open(browser, tmp_path, render_html(data))
    for term in ("社区", "工作"):
        j = ex.terms.index(term)
        expected = {str(t) for t in range(4) if ex.phi[t, j] >= ex.phi[:, j].max() / 2}
        box = browser.find_element(By.ID, "term-search")
        box.clear()
        box.send_keys(term + "\n")
        browser.execute_script("arguments[0].dispatchEvent(new Event('change'))", box)
        lit = {e.get_attribute("data-topic") for e in browser.find_elements(By.CSS_SELECTOR, "#map a.hit")}
        assert lit == expected
        listed = browser.find_elements(By.CSS_SELECTOR, "#term-topics li")
        mass = ex.phi[:, j] * ex.topic_tokens
        assert listed[0].get_attribute("data-topic") == str(int(np.argmax(mass)))
    assert {"0"} < {str(t) for t in range(4) if ex.phi[t, ex.terms.index("工作")] > 0}  # 工作 is everywhere
    assert len(lit) == 4  # ... and all four topics light up for it
    # a click on a bar chooses its term as well
    browser.find_element(By.CSS_SELECTOR, "#explorer-bars .tb button").click()
    first = _bars(browser)[0]
    assert browser.find_element(By.ID, "term-title").text == f"“{first}” by topic"
    assert _problems(browser) == ([], [])


def test_browser_search_box_finds_a_planted_passage(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, tmp_path, render_html(make_data()))
    box = browser.find_element(By.ID, "search-box")
    box.send_keys("口罩")
    hits = browser.find_elements(By.CSS_SELECTOR, "#search-hits blockquote")
    assert [h.find_element(By.TAG_NAME, "p").text for h in hits] == [PLANTED]
    assert hits[0].get_attribute("data-topic") == "0"
    assert hits[0].find_element(By.TAG_NAME, "mark").text == "口罩"
    assert browser.find_element(By.ID, "search-count").text == (
        "1 of the 5 passages this page holds contains “口罩”; the rest of the corpus is in units.jsonl"
    )
    assert "Topic 0" in browser.find_element(By.CSS_SELECTOR, "#search-hits h4").text
    assert hits[0].find_element(By.TAG_NAME, "footer").text == "药店见闻 · 2020-02-01 · posts.jsonl:40:2"
    box.clear()
    box.send_keys("志愿者")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#search-hits blockquote")) == 1
    box.clear()
    box.send_keys("药店见闻")  # a document's name finds its passages too
    assert len(browser.find_elements(By.CSS_SELECTOR, "#search-hits blockquote")) == 1
    box.clear()
    box.send_keys("疫苗")  # not on the page: the count says where else to look
    assert browser.find_elements(By.CSS_SELECTOR, "#search-hits blockquote") == []
    assert browser.find_element(By.ID, "search-count").text.startswith(
        "0 of the 5 passages this page holds contain “疫苗”; the rest of the corpus is in units.jsonl"
    )
    assert _problems(browser) == ([], [])


def test_browser_driver_sees_console_errors(browser: Any, tmp_path: Path) -> None:
    """The console check is not blind: a broken script is reported."""
    _open(
        browser, tmp_path, render_html(make_data()).replace("</main>", "<script>notDefined()</script></main>")
    )
    console, _ = _problems(browser)
    assert any("notDefined" in m for m in console)


def test_long_series_draw_a_line_without_a_dot_per_point() -> None:
    from pipeline.reporting.charts import MAX_DOTS, line_chart

    xs = [float(i) for i in range(MAX_DOTS + 1)]
    axis = partial(category_axis, [str(x) for x in xs])
    long = line_chart([(x, x % 7) for x in xs], axis, band=[(x, 0.0, 8.0) for x in xs])
    assert "<circle" not in long and 'class="line"' in long and 'class="band"' in long
    short = line_chart([(x, x % 7) for x in xs[:-1]], axis)
    assert short.count("<circle") == MAX_DOTS


def test_heat_map_leaves_shares_under_half_a_percent_blank() -> None:
    data = make_data()
    docs = data.documents
    assert docs is not None
    mixes = docs.mixes.copy()
    mixes[0] = [0.996, 0.004, 0.0, 0.0]
    heat = render_html(dataclasses.replace(data, documents=dataclasses.replace(docs, mixes=mixes)))
    first = heat.split('<section id="documents">')[1].split("<tr><th title")[1].split("</tr>")[0]
    assert first.count("<td></td>") == 3 and "topic 0: 99.6%" in first and ">100</td>" in first


# -- a dated corpus of thousands of documents, through the whole pipeline ----------------------

DATED_DOCS = 2400


def _dated_corpus(path: Path) -> list[str]:
    """2,400 short titled news items, one every three days from 2004 to 2023: each a few
    paragraphs of the planted words of TERMS, one to three themes a document. Returns the
    titles."""
    rng = np.random.default_rng(11)
    titles, lines = [], []
    for i in range(DATED_DOCS):
        day = np.datetime64("2004-01-01") + np.timedelta64(3 * i, "D")
        themes = rng.integers(0, len(TERMS), size=rng.integers(1, 4))
        paragraphs = []
        for t in themes:
            words = rng.choice(TERMS[t], size=rng.integers(8, 15))
            paragraphs.append("，".join("".join(words[j : j + 2]) for j in range(0, len(words), 2)) + "。")
        titles.append(f"第{i + 1}期 {TERMS[themes[0]][i % 10]}简报")
        record = {"id": f"n{i:05d}", "date": str(day), "title": titles[-1], "text": "\n".join(paragraphs)}
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return titles


@pytest.fixture(scope="module")
def dated_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The report of a run on the dated corpus (monthly prevalence over 20 years), and its titles."""
    folder = tmp_path_factory.mktemp("dated")
    titles = _dated_corpus(folder / "news.jsonl")
    config = write_config(
        folder,
        input={
            "paths": [str(folder / "news.jsonl")],
            "id_field": "id",
            "meta_fields": ["date"],
            "title_field": "title",
        },
        model={"num_topics": 4, "passes": 5},
        report={"prevalence_field": "date", "prevalence_period": "month"},
        executor={"workers": 1},
    )
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    return folder / "runs" / "seeds", titles


# Every pair of <text> elements of one <svg> whose boxes, as the browser laid them out, overlap.
OVERLAPS = """
var out = [];
document.querySelectorAll("svg").forEach(function (svg, k) {
  var boxes = [].map.call(svg.querySelectorAll("text"), function (t) {
    var r = t.getBoundingClientRect();
    return [t.textContent, r.left, r.top, r.right, r.bottom];
  });
  for (var i = 0; i < boxes.length; i++) for (var j = i + 1; j < boxes.length; j++) {
    var a = boxes[i], b = boxes[j];
    if (a[1] < b[3] && b[1] < a[3] && a[2] < b[4] && b[2] < a[4]) out.push(k + ": " + a[0] + " / " + b[0]);
  }
});
return out;
"""


def test_browser_overlap_check_is_not_blind(browser: Any, tmp_path: Path) -> None:
    page = render_html(make_data()).replace(
        "</main>",
        '<svg width="200" height="40"><text x="10" y="20">2019</text>'
        '<text x="20" y="22">2020</text></svg></main>',
    )
    _open(browser, tmp_path, page)
    assert browser.execute_script(OVERLAPS) == [
        f"{len(browser.find_elements('tag name', 'svg')) - 1}: 2019 / 2020"
    ]


def test_browser_dated_report_reads_at_every_width(
    browser: Any, tmp_path: Path, dated_run: tuple[Path, list[str]]
) -> None:
    """No two labels of a chart overlap on a laptop or a phone; documents show by title;
    twenty years of months chart as years; the strips span a phone's width."""
    from selenium.webdriver.common.by import By

    run, titles = dated_run
    page = (run / "report.html").read_text(encoding="utf-8")
    months = (run / "prevalence.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert (months[0][:7], months[-1][:7]) == ("2004-01", "2023-09")  # the csv keeps every month
    assert f"share of the tokens in each year (prevalence.csv has each of the {len(months)} months)" in page
    browser.get((run / "report.html").as_uri())
    try:
        for width in (1280, 390):
            browser.set_window_size(width, 1000)
            assert browser.execute_script("return window.innerWidth") == width
            charts = browser.find_elements(By.CSS_SELECTOR, "svg")
            assert len(charts) >= 5 and sum(len(c.find_elements(By.TAG_NAME, "text")) for c in charts) >= 30
            assert browser.execute_script(OVERLAPS) == [], width
            assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        text = browser.execute_script("return document.body.innerText")
        assert sum(title in text for title in titles) >= 20
        assert "n00001" not in text  # documents by name, not by id
        # on a phone the name stands above its strip, which spans the width
        rows = browser.find_elements(By.CSS_SELECTOR, ".strip-row")
        assert rows
        for row in rows[:10]:
            name = row.find_element(By.CLASS_NAME, "strip-name").rect
            strip = row.find_element(By.CLASS_NAME, "strip").rect
            assert strip["width"] >= 0.8 * 390 - 40 and name["y"] + name["height"] <= strip["y"] + 1
        shot = tmp_path / "phone.png"
        rows[0].screenshot(str(shot))
        pixels = _png_pixels(shot)
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # drawn, not blank
    finally:
        browser.set_window_size(1280, 1000)
    assert _problems(browser)[0] == []
