"""Words found in the corpus (pipeline/newwords.py) and kept whole by the tokenizer; the
relevance ranking's count floor.

The planted words are invented: 青禾湾区 (jieba: 青禾 | 湾区) and 澜湄走廊 (澜湄 | 走廊), each
in many contexts, so that they are frequent, cohesive and free, and 青禾 and 澜湄 occur
nowhere else.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from pipeline import measures, newwords
from pipeline.config import Config, load_config
from pipeline.runner import run_pipeline
from pipeline.stages.tokenize import Tokenizer

BEFORE = ["推进", "建设", "支持", "关于", "发展", "考察", "规划", "聚焦", "打造", "服务"]
AFTER = ["项目", "建设", "发展", "产业", "规划", "合作", "交通", "人才", "生态", "开放"]


POOL = [*BEFORE, *AFTER, "群众", "参与", "工作", "成效", "明显", "欢迎", "广泛", "进展", "顺利", "各项"]


def planted_texts(n: int = 120, seed: int = 5) -> list[str]:
    """Sentences holding a planted word between common words, and as many sentences of
    common words alone: every common word occurs in many contexts, as in real text."""
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        word = "青禾湾区" if i % 2 else "澜湄走廊"
        texts.append(f"{rng.choice(BEFORE)}{word}{rng.choice(AFTER)}，{''.join(rng.sample(POOL, 3))}。")
        texts.append("".join(rng.sample(POOL, 4)) + "。")
    return texts


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer(Config())


def test_planted_words_are_found_with_how_they_were_cut(tok: Tokenizer) -> None:
    found = {w.word: w for w in newwords.discover(planted_texts(), 10, tok._words)}
    assert {"青禾湾区", "澜湄走廊"} <= set(found)
    assert found["青禾湾区"].pieces == ("青禾", "湾区")
    assert found["青禾湾区"].count == 60
    assert found["青禾湾区"].pmi >= newwords.MIN_PMI and found["青禾湾区"].entropy >= newwords.MIN_ENTROPY
    # Pairs of common words repeat too, but hold no fragment: each word occurs elsewhere.
    assert not set(found) - {"青禾湾区", "澜湄走廊"}


@pytest.mark.parametrize(
    ("texts", "why"),
    [
        (["青禾湾区建设。"] * 5, "too rare: fewer than min_count"),
        (["关于青禾湾区建设"] * 30, "not free: always the same neighbours"),
    ],
)
def test_strings_that_do_not_behave_as_words_are_not_found(
    tok: Tokenizer, texts: list[str], why: str
) -> None:
    assert [w.word for w in newwords.discover(texts, 10, tok._words)] == [], why


@pytest.mark.parametrize(
    ("string", "word"),
    [
        ("一带一路", True),
        ("的青禾湾", False),  # a function character at its edge
        ("日称", False),  # a measure that follows a number
        ("神舟十", False),  # ends with a numeral
    ],
)
def test_edge_rules(string: str, word: bool) -> None:
    rng = random.Random(1)
    runs = [f"{a}{string}{b}" for a in "甲乙丙丁戊己庚辛" for b in "子丑寅卯辰巳午未"]
    runs += ["".join(rng.sample(POOL, 4)) for _ in range(300)]  # other text, so the string is rare
    counts = newwords.ngram_counts(runs, 10)
    assert (string in {g for g, *_ in newwords.candidates(runs, counts)}) is word


def test_the_tokenizer_keeps_new_words_whole(tok: Tokenizer) -> None:
    assert "青禾" in tok("推进青禾湾区建设")
    whole = Tokenizer(Config(), ["青禾湾区"])
    assert whole("推进青禾湾区建设") == ["推进", "青禾湾区", "建设"]


def test_tokenize_stage_lists_the_words_it_found(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    rows = [{"id": f"n{i}", "text": t} for i, t in enumerate(planted_texts())]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = load_config(
        None,
        [
            f"input.paths=[{path}]",
            "input.id_field=id",
            f"run.output_dir={tmp_path / 'runs'}",
            "segment.boilerplate=false",
            "segment.duplicates=false",
        ],
    )
    run_pipeline(config, to_stage="dictionary")
    audit = json.loads((config.run_dir / "tokenize_audit.json").read_text(encoding="utf-8"))
    assert {w[0]: w[4] for w in audit["new_words"]} == {"青禾湾区": "青禾 湾区", "澜湄走廊": "澜湄 走廊"}
    vocab = (config.run_dir / "vocab.tsv").read_text(encoding="utf-8")
    assert "青禾湾区\t" in vocab and "青禾\t" not in vocab


def test_relevance_leaves_terms_under_the_count_floor_out() -> None:
    phi = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    count = np.array([100, 3, 50])  # term 1 is rare: the highest lift in topic 0 at λ = 0
    share = count / count.sum()
    names = {0: "常见", 1: "罕见", 2: "其他"}
    assert measures.relevance_terms(phi, share, count, names, 0.0, 3, 1)[0][0][0] == "罕见"
    floored = measures.relevance_terms(phi, share, count, names, 0.0, 3, 10)
    assert [[t for t, _ in row] for row in floored] == [["常见", "其他"], ["其他", "常见"]]


def test_new_words_are_found_in_a_worker_when_there_are_workers(tmp_path: Path) -> None:
    """The segmenter and n-gram counts of discovery would stay in the run's process, and
    in every worker forked after it; in a worker they are gone with it, same words."""
    from pipeline.artifacts import RunStore
    from pipeline.executor import LocalExecutor
    from pipeline.stages.tokenize import find_new_words

    path = tmp_path / "news.jsonl"
    rows = [{"id": f"n{i}", "text": t} for i, t in enumerate(planted_texts())]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = load_config(None, [f"input.paths=[{path}]", "input.id_field=id", f"run.output_dir={tmp_path}"])
    run_pipeline(config, to_stage="segment")
    mapped: list[str] = []

    class Recording(LocalExecutor):
        def map(self, fn, partitions, *shared, on_event=None):  # type: ignore[no-untyped-def]
            mapped.append(fn.__name__)
            return super().map(fn, partitions, *shared, on_event=on_event)

    store = RunStore(config.run_dir)
    alone = find_new_words(config, store, None, None, LocalExecutor(1))
    assert find_new_words(config, store, None, None, Recording(2)) == alone
    assert mapped == ["_discover"] and {w.word for w in alone} == {"青禾湾区", "澜湄走廊"}
