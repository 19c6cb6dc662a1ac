"""The HTML report: a self-contained page, escaped, with every section its data asks for.

The browser tests open the page in headless Chromium (installed by .ci/setup-browser.sh) with all
host names resolving to nothing, and read back what an inline probe script saw.
"""

from __future__ import annotations

import copy
import html
import json
import re
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from pipeline.reporting.html import MAX_DOC_ROWS, render_html
from pipeline.reporting.summary import citation, coverage

CHROMIUM = Path("/usr/bin/chromium")

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


def make_data(k: int = 4) -> dict[str, Any]:
    """A realistic report of a small run: every optional section present."""
    prevalence = [0.34, 0.27, 0.23, 0.16]
    topics = []
    for t in range(k):
        terms = [{"term": w, "weight": round(0.08 / (i + 1), 6)} for i, w in enumerate(TERMS[t])]
        topic: dict[str, Any] = {
            "topic": t,
            "name": ["社区防控", None, "党建引领 <b>", None][t],
            "note": "与 2020 年春季的社区封闭管理有关" if t == 0 else None,
            "terms": terms,
            "prevalence": prevalence[t],
            "coherence": [0.081, -0.023, 0.047, None][t],
            "stability": [0.91, 0.74, 0.88, 0.52][t],
            "diagnostics": {"exclusivity": 0.62 + t / 20, "tokens": 1200 - 100 * t},
            "flags": ["unstable across seeds"] if t == 3 else [],
            "representatives": [
                {**rep, "where": citation(rep)}
                for rep in (
                    {
                        "unit_id": f"doc{t}-000{r}",
                        "weight": round(0.95 - 0.1 * r, 6),
                        "source": f"seeds/00{t}_news.txt" if t != 2 else "posts.jsonl",
                        "line_start": 12 + r * 7,
                        "line_end": 12 + r * 7 + (1 if r and t != 2 else 0),
                        **({"text_line_start": 3, "text_line_end": 5} if t == 2 else {}),
                        "heading": "第三段:授课策略的变革" if t == 1 else "",
                        "text": PASSAGES[t],
                    }
                    for r in range(2)
                )
            ],
        }
        if t != 1:  # one topic without the specific rankings: it falls back to probability
            topic["relevance"] = [{"term": w, "score": -1.0 - i / 10} for i, w in enumerate(TERMS[t][::-1])]
            topic["frex"] = [{"term": w, "score": 0.9 - i / 20} for i, w in enumerate(TERMS[t][2:])]
        topics.append(topic)
    mixes = [
        [0.81, 0.05, 0.1, 0.04],
        [0.1, 0.72, 0.08, 0.1],
        [0.2, 0.1, 0.6, 0.1],
        [0.05, 0.05, 0.1, 0.8],
        [0.3, 0.3, 0.2, 0.2],
    ]
    return {
        "run": "seeds",
        "generated_by": "pipeline 0.1.0",
        "corpus": {
            "files": 5,
            "documents": 5,
            "units": 133,
            "tokens": 4241,
            "terms": 839,
            "removed_lines": 58,
            "coverage": coverage(
                {
                    "seeds/000_news.txt": {
                        "chars": 900,
                        "units": 0.97,
                        "furniture": 0.01,
                        "title": 0.02,
                        "heading": 0,
                    },
                    "seeds/001_news.txt": {
                        "chars": 100,
                        "units": 0.6,
                        "furniture": 0,
                        "title": 0.1,
                        "heading": 0.3,
                    },
                }
            ),
            "removed_tokens": {
                "stopword": 4340,
                "punctuation": 2873,
                "number": 167,
                "rare or too common": 2159,
            },
        },
        "model": {
            "engine": "gensim LdaModel",
            "num_topics": k,
            "passes": 20,
            "iterations": 400,
            "alpha": "auto",
            "eta": 0.01,
            "seed": 42,
        },
        "timings": {"segment": 0.035, "tokenize": 1.851, "dictionary": 1.68, "train": 74.2, "report": 2.1},
        "topics": topics,
        "documents": [
            {"doc_id": f"00{i}_news", "source": f"seeds/00{i}_news.txt", "mix": m}
            for i, m in enumerate(mixes)
        ],
        "segments": {
            "documents": [
                {
                    "doc_id": "001_news",
                    "units": 9,
                    "segments": [
                        {
                            "units": 4,
                            "topic": 0,
                            "weight": 0.7,
                            "first_unit": "001-0001",
                            "last_unit": "001-0004",
                        },
                        {
                            "units": 1,
                            "topic": None,
                            "weight": None,
                            "first_unit": "001-0005",
                            "last_unit": "001-0005",
                        },
                        {
                            "units": 4,
                            "topic": 2,
                            "weight": 0.6,
                            "first_unit": "001-0006",
                            "last_unit": "001-0009",
                        },
                    ],
                }
            ],
            "with_segments": 3,
        },
        "intertopic": [
            {"topic": 0, "x": -0.12, "y": 0.05},
            {"topic": 1, "x": 0.2, "y": 0.1},
            {"topic": 2, "x": -0.08, "y": -0.15},
            {"topic": 3, "x": 0.05, "y": 0.22},
        ],
        "sweep": [
            {
                "k": kk,
                "seed": seed,
                "c_v": 0.4 + 0.02 * kk - 0.002 * kk * kk + 0.01 * seed,
                "c_npmi": 0.01 * kk - 0.03,
                "u_mass": -2.0 - 0.1 * kk,
                "diversity": 1.0 - 0.05 * kk,
                "perplexity": 900 - 30 * kk,
                "stability": None if seed else 0.9 - 0.04 * kk,
            }
            for kk in (2, 4, 6, 8)
            for seed in (0, 1)
        ],
        "chosen_k": {"k": 4, "reason": "C_V 最高且各种子间稳定"},
        "prevalence": {
            "field": "year",
            "periods": ["2019", "2020", "2021", "2022"],
            "values": [
                [0.1, 0.4, 0.3, 0.2],
                [0.5, 0.2, 0.2, 0.1],
                [0.3, 0.3, 0.2, 0.2],
                [0.2, 0.2, 0.3, 0.3],
            ],
        },
    }


# -- static checks ---------------------------------------------------------------------------

NETWORK = [
    re.compile(r"""\b(?:src|href|action|poster|data|srcset)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"""url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I),
    re.compile(r"<(?:link|iframe|object|embed|base)\b", re.I),
]


def test_page_loads_nothing_from_the_network() -> None:
    page = render_html(make_data())
    assert "http://" not in page and "https://" not in page
    for pattern in NETWORK:
        assert not pattern.search(page), pattern.pattern
    assert "<script" not in page.lower()  # no script at all: charts are SVG drawn in Python


def test_urls_in_the_text_stay_text() -> None:
    data = make_data()
    data["topics"][0]["representatives"][0]["text"] = (
        '原文见 https://example.com/a.png" src="//evil.example/x'
    )
    page = render_html(data)
    for pattern in NETWORK:
        assert not pattern.search(page), pattern.pattern
    assert "https://example.com/a.png&quot; src=&quot;//evil.example/x" in page


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


def test_one_card_per_topic_with_its_data_ids() -> None:
    page = render_html(make_data())
    assert page.count('class="topic-card"') == 4
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
    data["topics"] = data["topics"][::-1]
    page = render_html(data)
    cards = re.findall(r'class="topic-card" id="topic-(\d+)"', page)
    assert cards == ["3", "2", "1", "0"]


def test_label_terms_prefer_relevance_and_frex() -> None:
    page = render_html(make_data())
    card0 = page.split('id="topic-0"')[1].split("</article>")[0]
    assert "relevance (λ)</b>网格 群众 服务" in card0
    assert "FREX</b>社区 居民" in card0
    card1 = page.split('id="topic-1"')[1].split("</article>")[0]
    assert "FREX" not in card1 and "top terms</b>学校 教学 学生" in card1


def test_term_chart_is_svg_bars_scaled_to_the_top_term() -> None:
    page = render_html(make_data())
    card1 = page.split('id="topic-1"')[1].split("</article>")[0]
    chart = card1.split("<svg", 1)[1].split("</svg>")[0]
    assert 'class="bar" x="0" y="0" width="100.00%"' in chart
    assert 'width="50.00%"' in chart  # the second term has half the top weight
    assert ">学校</text>" in chart and ">0.080</text>" in chart


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
    data["run"] = "<img src=x onerror=alert(1)>"
    data["documents"][0]["doc_id"] = '"><script>alert(2)</script>'
    page = render_html(data)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; 群众安心" in page
    assert "党建引领 &lt;b&gt;" in page
    assert "&quot;&gt;&lt;script&gt;alert(2)" in page


def test_every_section_present_with_full_data() -> None:
    page = render_html(make_data())
    for section in (
        "summary",
        "prevalence",
        "intertopic",
        "topics",
        "documents",
        "segments",
        "sweep",
        "periods",
    ):
        assert f'<section id="{section}">' in page
        assert f'<a href="#{section}">' in page
    assert "4,340" in page and "stopword tokens" in page  # what cleaning removed
    assert "gensim LdaModel" in page and "1 min 14 s" in page and "total" in page
    assert "Chosen K = 4" in page and "C_V 最高且各种子间稳定" in page
    assert "Prevalence by year" in page and "2022" in page


def test_optional_sections_absent_without_their_data() -> None:
    data = make_data()
    for key in ("intertopic", "sweep", "chosen_k", "prevalence", "documents", "segments"):
        del data[key]
    for topic in data["topics"]:
        for key in ("relevance", "frex", "stability", "diagnostics", "flags", "note", "name"):
            topic.pop(key, None)
    page = render_html(data)
    for section in ("intertopic", "sweep", "periods", "documents", "segments"):
        assert f'id="{section}"' not in page and f'href="#{section}"' not in page
    assert "FREX" not in page and "relevance" not in page and "stability" not in page
    assert page.count('class="topic-card"') == 4
    assert '<span class="tid">Topic 2</span></h3>' in page  # no name: just "Topic n"

    data = make_data()
    for key in ("intertopic", "sweep", "chosen_k", "prevalence", "documents", "segments"):
        data[key] = None
    assert render_html(data).count("<section") == 3  # summary, prevalence, topics


def test_long_documents_show_as_strips_of_their_segments() -> None:
    strips = render_html(make_data()).split('<section id="segments">')[1].split("</section>")[0]
    assert "3 documents change topic inside; the 1 longest are shown" in strips
    blocks = re.findall(r'<span style="flex:(\d+);background:([^"]+)" title="([^"]*)">([^<]*)</span>', strips)
    assert [(int(f), label) for f, _, _, label in blocks] == [(4, "0"), (1, ""), (4, "2")]
    assert blocks[0][1] != blocks[2][1]  # topics 0 and 2 in different colours
    assert "001-0001 … 001-0004 · 4 units · topic 0" in blocks[0][2]
    assert "no tokens" in blocks[1][2]


def test_minimal_data_renders() -> None:
    page = render_html({"run": "r", "topics": [{"topic": 0, "terms": [], "prevalence": 1.0}]})
    assert 'id="topic-0"' in page and "n/a" in page


def test_missing_numbers_show_as_not_available() -> None:
    data = make_data()
    data["topics"][0]["coherence"] = float("nan")
    data["topics"][1]["prevalence"] = None
    page = render_html(data)
    card0 = page.split('id="topic-0"')[1].split("</article>")[0]
    assert "<dt>coherence</dt><dd>n/a</dd>" in card0
    assert not re.search(r"\bnan\b", page, re.I)


def test_intertopic_circle_area_follows_prevalence() -> None:
    page = render_html(make_data())
    circles = re.findall(
        r'<a href="#topic-(\d+)"><title>[^<]*</title><circle class="bubble"[^>]* r="([\d.]+)"', page
    )
    radius = {int(t): float(r) for t, r in circles}
    assert sorted(radius) == [0, 1, 2, 3]
    assert radius[1] ** 2 / radius[0] ** 2 == pytest.approx(0.27 / 0.34, rel=0.01)
    assert '<text class="bubble-id"' in page


def test_heat_map_caps_rows_and_says_so() -> None:
    data = make_data()
    data["documents"] = [
        {"doc_id": f"d{i:03d}", "source": f"s/{i}.txt", "mix": [0.7, 0.1, 0.1, 0.1]} for i in range(300)
    ]
    page = render_html(data)
    heat = page.split('<section id="documents">')[1].split("</section>")[0]
    assert heat.count("<tr><th title") == MAX_DOC_ROWS
    assert f"Showing the first {MAX_DOC_ROWS} of 300 documents" in heat
    assert "d199" in heat and "d200" not in heat
    small = render_html(make_data()).split('<section id="documents">')[1].split("</section>")[0]
    assert "Showing" not in small and small.count("<tr><th title") == 5
    # rows grouped by dominant topic: 000 (topic 0) and 004 (tie, first max is topic 0) lead
    assert re.findall(r"<tr><th title=[^>]*>([^<]+)</th>", small) == [
        "000_news",
        "004_news",
        "001_news",
        "002_news",
        "003_news",
    ]


def test_sweep_plots_each_metric_with_the_chosen_k() -> None:
    page = render_html(make_data())
    sweep = page.split('<section id="sweep">')[1].split("</section>")[0]
    assert sweep.count("<figure>") == 6  # c_v, c_npmi, u_mass, diversity, perplexity, stability
    assert sweep.count('class="guide"') == 6
    assert "8 models over K = 2, 4, 6, 8, 2 seeds each" in sweep


def test_render_is_pure() -> None:
    data = make_data()
    before = copy.deepcopy(data)
    assert render_html(data) == render_html(data)
    assert data == before


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
