"""Boilerplate learned from the corpus (pipeline/boilerplate.py and the segment stage).

The planted boilerplate is invented here: a bulletin prefix with an issue number, a
credit with two names at a paragraph's end, and a dateline on a line of its own. The
news text around it is made of distinct sentences, so nothing else repeats.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from pipeline import boilerplate, corpus
from pipeline.config import Config, load_config
from pipeline.runner import run_pipeline
from pipeline.stages.segment import count_partition, segment_documents

PLACES = ["东湖区", "西山县", "南港市", "北岭镇", "青石乡", "白沙村", "红旗街道", "金水湾", "松林社区"]
THINGS = ["水稻育秧", "旧房改造", "河道清淤", "夜校开课", "果园嫁接", "道路硬化", "图书捐赠", "义诊活动"]
DEEDS = ["有序推进", "顺利完成", "全面铺开", "取得实效", "稳步开展", "广受欢迎"]
NAMES = ["林一帆", "郭晓", "马丽娟", "黄河清", "宋佳", "唐明"]


def sentence(rng: random.Random) -> str:
    place, thing, deed = rng.choice(PLACES), rng.choice(THINGS), rng.choice(DEEDS)
    people, next_thing = rng.randint(2, 900), rng.choice(THINGS)
    return f"{place}的{thing}工作{deed}，当地{people}名群众参与其中，{next_thing}也在同步筹划。"


def news(rng: random.Random, paragraphs: int = 3) -> list[str]:
    return [sentence(rng) + sentence(rng) for _ in range(paragraphs)]


def planted(n: int = 40, seed: int = 7) -> list[list[str]]:
    """``n`` documents; the even ones carry the prefix and the credit, every fourth a
    dateline line of its own."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        paras = news(rng)
        if i % 2 == 0:
            a, b = rng.sample(NAMES, 2)
            paras[0] = f"【星河晚报·第{rng.randint(10, 9999)}期】{paras[0]}"
            paras[-1] = f"{paras[-1]}（星河社供稿 记者：{a} 编辑：{b}）"
        if i % 4 == 0:
            paras.insert(0, "本报讯（星河新闻）：")
        docs.append(paras)
    return docs


def document(paras: list[str], n: int) -> corpus.Document:
    return corpus.Document(f"d{n}", f"d{n}.txt", lines=list(enumerate(paras, start=1)))


def learn(docs: list[list[str]], share: float = 0.1, min_docs: int = 3) -> boilerplate.Boilerplate:
    counts = boilerplate.KeyCounts()
    for paras in docs:
        counts.add_document(paras)
    return counts.learned(share, min_docs)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("【星河晚报·第1234期】", "【星河晚报·第0期】"),
        ("（记者：林一帆 编辑：郭晓）", "（记者：# 编辑：#）"),
        ("（记者 马丽娟）", "（记者 #）"),
        ("2023年5月6日电", "0年0月0日电"),
        ("本报讯（星河新闻）：", "本报讯（星河新闻）："),  # nothing to mask
        ("记者林一帆报道", "记者林一帆报道"),  # a name inside a run is text, not masked
    ],
)
def test_digits_and_names_are_masked_in_keys(text: str, key: str) -> None:
    assert boilerplate.mask(text) == key


@pytest.mark.parametrize(
    ("text", "kept", "spans"),
    [
        # prefix and credit go, the news stays
        (
            "【星河晚报·第77期】南港市的河道清淤工作顺利完成。（星河社供稿 记者：宋佳 编辑：唐明）",
            "南港市的河道清淤工作顺利完成。",
            ["【星河晚报·第77期】", "（星河社供稿 记者：宋佳 编辑：唐明）"],
        ),
        # a learned line of its own is boilerplate whole
        ("本报讯（星河新闻）：", "", ["本报讯（星河新闻）："]),
        # the dateline before the text, with the prefix before it: both go
        ("【星河晚报·第5期】本报讯（星河新闻）：白沙村的夜校开课了。", "白沙村的夜校开课了。", None),
        # a bracket that is not boilerplate stays
        ("南港市（东部）的河道清淤工作顺利完成。", "南港市（东部）的河道清淤工作顺利完成。", []),
    ],
)
def test_learned_spans_are_cut_and_the_rest_of_the_paragraph_is_kept(
    text: str, kept: str, spans: list[str] | None
) -> None:
    learned = learn(planted())
    cut = learned.cut(text)
    assert cut.kept == kept
    assert cut.whole == (kept == "")
    if spans is not None:
        assert [t for _, t, _ in cut.spans] == spans


def test_a_span_in_too_few_documents_is_not_learned() -> None:
    docs = planted()
    counts = boilerplate.KeyCounts()
    for paras in docs:
        counts.add_document(paras)
    prefix = boilerplate.key(boilerplate.LEADING, "【星河晚报·第1期】")
    assert counts.counts[prefix] == 20  # once per document, however often it repeats in one
    assert prefix in counts.learned(0.49, 3).keys  # 20 of 40 documents: more than 49%
    assert prefix not in counts.learned(0.5, 3).keys  # not more than 50%
    assert prefix not in counts.learned(0.1, 21).keys  # fewer than 21 documents


def titles(n: int = 40, seed: int = 11) -> list[list[str]]:
    """``n`` one-line titles: every third opens with the word 图集：, every third ends in
    (多图), every fifth opens with the bulletin prefix 【星河快讯】."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        title = f"{rng.choice(PLACES)}{rng.choice(THINGS)}{rng.choice(DEEDS)}"
        if i % 3 == 0:
            title = f"图集：{title}"
        if i % 3 == 1:
            title = f"{title}(多图)"
        if i % 5 == 0:
            title = f"【星河快讯】{title}"
        docs.append([title])
    return docs


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("图集：东湖区水稻育秧有序推进", "图集：东湖区水稻育秧有序推进"),  # a word, not furniture
        ("西山县旧房改造顺利完成(多图)", "西山县旧房改造顺利完成(多图)"),
        ("【星河快讯】南港市河道清淤全面铺开", "南港市河道清淤全面铺开"),  # four letters: furniture
        ("【星河快讯】图集：北岭镇夜校开课取得实效", "图集：北岭镇夜校开课取得实效"),
    ],
)
def test_a_span_of_fewer_than_three_letters_is_a_word_and_stays(text: str, kept: str) -> None:
    learned = learn(titles())
    assert learned.cut(text).kept == kept


def test_partition_counts_add_up_to_the_counts_of_one_pass() -> None:
    docs = planted()
    whole = boilerplate.KeyCounts()
    for paras in docs:
        whole.add_document(paras)
    merged = boilerplate.KeyCounts()
    for start in range(0, len(docs), 7):
        part = boilerplate.KeyCounts()
        for paras in docs[start : start + 7]:
            part.add_document(paras)
        merged.merge(part)
    assert (merged.documents, merged.counts) == (whole.documents, whole.counts)


def test_segment_removes_planted_boilerplate_and_keeps_the_news() -> None:
    docs = planted()
    learned = learn(docs)
    cfg = Config().segment
    units = [u for u, _ in segment_documents([document(p, n) for n, p in enumerate(docs)], cfg, learned) if u]
    text = "".join(u["text"] for u in units)
    for planted_text in ("星河晚报", "星河社供稿", "本报讯"):
        assert planted_text not in text
    rng = random.Random(7)
    news_chars = sum(len(p) for p in news(rng))  # the first document's news, as planted() drew it
    first = "".join(u["text"] for u in units if u["doc_id"] == "d0")
    assert len(first) == news_chars


def test_a_document_of_boilerplate_only_is_kept_and_reported() -> None:
    docs = planted()
    lonely = ["本报讯（星河新闻）："]
    learned = learn([*docs, lonely])
    pairs = list(segment_documents([document(lonely, 99)], Config().segment, learned))
    assert [u["text"] for u, _ in pairs if u] == ["本报讯（星河新闻）："]
    assert not any(row[2] == "boilerplate" for _, rows in pairs for row in rows)


def _jsonl(folder: Path, docs: list[list[str]], files: int = 1) -> list[Path]:
    paths = []
    for f in range(files):
        path = folder / f"news{f}.jsonl"
        rows = [{"id": f"n{i}", "paragraphs": p} for i, p in enumerate(docs) if i % files == f]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        paths.append(path)
    return paths


def _segment_run(tmp_path: Path, name: str, docs: list[list[str]], *extra: str) -> Path:
    paths = _jsonl(tmp_path, docs, files=3)
    config = load_config(
        None,
        [
            f"input.paths=[{','.join(str(p) for p in paths)}]",
            "input.text_field=paragraphs",
            "input.id_field=id",
            f"run.output_dir={tmp_path / 'runs'}",
            f"run.name={name}",
            "segment.boilerplate_min_docs=3",
            *extra,
        ],
    )
    run_pipeline(config, to_stage="segment")
    return config.run_dir


def test_the_stage_lists_what_it_took_and_counts_it(tmp_path: Path) -> None:
    run_dir = _segment_run(tmp_path, "one", planted())
    with (run_dir / "segmentation.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    taken = [r for r in rows if r["kind"] == "boilerplate"]
    assert {r["text"][:6] for r in taken} == {"【星河晚报·", "（星河社供稿", "本报讯（星河"}
    assert {r["docs"] for r in taken if r["text"].startswith("【")} == {"20"}
    assert all(r["docs"] == "" for r in rows if r["kind"] != "boilerplate")
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    seg = manifest["stages"]["segment"]
    assert seg["counts"]["boilerplate_spans"] == len(taken) == 20 + 20 + 10
    details = seg["details"]["boilerplate"]
    assert details["documents"] == 40
    assert sorted(n for _, _, n in details["spans"]) == [10, 20, 20]
    assert all(row["boilerplate"] > 0 for row in seg["details"]["coverage"].values())
    # A dateline on a line of its own does not name its document.
    units = [json.loads(line) for line in (run_dir / "units.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {u["title"] for u in units if u["doc_id"] == "n0"} == {units[0]["text"][:16] + "…"}


def test_workers_and_partitions_do_not_change_what_is_learned(tmp_path: Path) -> None:
    one = _segment_run(tmp_path, "one", planted(), "executor.workers=1")
    two = _segment_run(tmp_path, "two", planted(), "executor.workers=2")
    for name in ("units.jsonl", "segmentation.tsv"):
        assert (one / name).read_bytes() == (two / name).read_bytes()


def test_boilerplate_false_keeps_every_span(tmp_path: Path) -> None:
    run_dir = _segment_run(tmp_path, "kept", planted(), "segment.boilerplate=false")
    lines = (run_dir / "units.jsonl").read_text(encoding="utf-8").splitlines()
    assert sum("星河晚报" in json.loads(line)["text"] for line in lines) == 20


def test_count_partition_reads_title_and_heading_lines_too(tmp_path: Path) -> None:
    (path,) = _jsonl(tmp_path, [["星河晚报", *news(random.Random(1))]])
    config = load_config(None, [f"input.paths=[{path}]", "input.text_field=paragraphs"])
    counts = count_partition(corpus.list_inputs(config), config)
    assert counts.documents == 1
    assert boilerplate.key(boilerplate.WHOLE, "星河晚报") in counts.counts
