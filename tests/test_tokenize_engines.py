"""tokenize.engine: rjieba cuts like jieba, with the same dictionaries, filters and audit."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import Config, load_config
from pipeline.executor import LocalExecutor
from pipeline.runner import run_pipeline
from pipeline.stages import tokenize
from pipeline.stages.tokenize import Tokenizer, _token_line
from tests.conftest import write_config
from tests.test_tokenize import CASES, NEW_WORDS

RJIEBA = {"tokenize": {"engine": "rjieba"}}

# Agreement with jieba on the seeds, measured over their 133 units: 100% of the units get
# identical token lists (token F1 1.0). The raw cuts differ only in hyphenated Latin and
# number runs (rjieba keeps "TD-LTE" and "1-5" whole, jieba splits them at the hyphen), which
# the latin and number filters drop either way; on 15,025 paragraphs of news transcripts the
# kept tokens were identical as well. The thresholds leave room for a couple of units to
# change with a future jieba or rjieba release, and still catch the mistakes they guard
# against, measured the same way: two-character built-in words given BUILTIN_FREQ instead of
# suggest_freq (or the compounds given suggest_freq) 96.2% identical, F1 0.9988; HMM off
# 36.1%, F1 0.980; no built-in dictionary 21.8%, F1 0.934.
MIN_IDENTICAL = 0.98
MIN_F1 = 0.999


@pytest.fixture(scope="module")
def rj() -> Tokenizer:
    return Tokenizer(Config.model_validate(RJIEBA))


@pytest.fixture(scope="module")
def jb() -> Tokenizer:
    return Tokenizer(Config.model_validate({"tokenize": {"engine": "jieba"}}))


# -- the same cuts and filters as jieba ---------------------------------------------------


@pytest.mark.parametrize(("text", "kept", "dropped"), CASES)
def test_jieba_follows_the_table(jb: Tokenizer, text: str, kept: set[str], dropped: set[str]) -> None:
    """Every case of the tokenizer's table (run there with the default, rjieba), domain
    terms included, holds for jieba, one setting away, too."""
    tokens = jb(text)
    assert kept <= set(tokens), tokens
    assert not dropped & set(tokens), tokens
    assert all(len(t) >= 2 for t in tokens), tokens


@pytest.mark.parametrize(
    "text",
    [
        "全力做好疫情防控工作，广大党员干部冲锋在前",
        "基层党组织坚持联防联控、群防群治，推动复工复产",
        "各地学校停课不停学，医务人员成为最美的逆行者",
        "打赢疫情防控阻击战，抗击新冠肺炎疫情",
    ],
)
def test_domain_terms_stay_one_token(rj: Tokenizer, jb: Tokenizer, text: str) -> None:
    assert rj(text) == jb(text)


def test_filters_count_the_same(rj: Tokenizer, jb: Tokenizer) -> None:
    text = "我们在2020年使用APP和COVID-19检测，家家户户都参与疫情防控。十余名党员赶到现场！"
    rj.take_counts()
    jb.take_counts()
    assert rj(text) == jb(text)
    (r_removed, r_new), (j_removed, j_new) = rj.take_counts(), jb.take_counts()
    # rjieba keeps "COVID-19" whole where jieba cuts COVID|-|19: both are dropped, and only
    # the latin and number counts say how.
    for name in ("stopword", "short"):
        assert r_removed[name] == j_removed[name], name
    assert r_removed["punctuation"] == j_removed["punctuation"] - Counter({"-": 1})
    assert r_removed["latin"]["APP"] == 1
    assert r_removed["number"]["2020"] == 1
    assert r_new == j_new


def test_user_configuration_applies(tmp_path: Path) -> None:
    """keep_words, a stopword file and a user dictionary (with and without freq and tag)."""
    (tmp_path / "stop.txt").write_text("集体\n武汉\n", encoding="utf-8")
    (tmp_path / "dict.txt").write_text("方舱医院\n动态清零 10 n\n健康宝 n\n", encoding="utf-8")
    cfg = Config.model_validate(
        {
            "tokenize": {
                "engine": "rjieba",
                "keep_words": ["我们"],
                "stopwords": ["stop.txt"],
                "userdict": ["dict.txt"],
            }
        }
    )
    cfg._base_dir = tmp_path
    tok = Tokenizer(cfg)
    assert "我们" in tok("我们是一个团结的集体。")
    assert "集体" not in tok("我们是一个团结的集体。")
    for word, text in NEW_WORDS.items():
        assert word in tok(text)


def test_permissive_filters(jb: Tokenizer) -> None:
    cfg = Config.model_validate(
        {
            "tokenize": {
                "engine": "rjieba",
                "builtin_stopwords": False,
                "builtin_userdict": False,
                "min_len": 1,
                "drop_numbers": False,
                "drop_latin": False,
            }
        }
    )
    tokens = Tokenizer(cfg)("我们在2020年使用APP，家家户户都参与疫情防控。")
    assert {"我们", "2020", "APP", "在"} <= set(tokens)
    assert "，" not in tokens and "。" not in tokens


def test_hmm_switch(rj: Tokenizer) -> None:
    text = "他来到了网易杭研大厦"
    off = Tokenizer(Config.model_validate({"tokenize": {"engine": "rjieba", "hmm": False}}))
    assert "杭研" in rj(text)  # joined by the HMM
    assert "杭研" not in off(text)


def test_new_words_are_words_outside_the_dictionary(rj: Tokenizer) -> None:
    rj.take_counts()
    tokens = rj("他来到了网易杭研大厦，在疫情防控一线工作")
    _, new = rj.take_counts()
    assert "杭研" in tokens and new["杭研"] == 1  # found by the HMM
    assert "疫情防控" not in new and "工作" not in new  # built-in and jieba dictionary words


def test_pos_filter_uses_rjieba_tags() -> None:
    pos = {"tokenize": {"engine": "rjieba", "pos": ["n"]}}
    tok = Tokenizer(Config.model_validate(pos))
    tokens = tok("医生积极救治病人")
    assert {"医生", "病人"} <= set(tokens)
    assert "救治" not in tokens  # a verb
    removed, _ = tok.take_counts()
    assert removed["pos"]["救治"] == 1
    assert "疫情防控" in tok("全力做好疫情防控工作")  # built-in words are tagged nz


# -- worker processes -----------------------------------------------------------------


def test_workers_give_what_one_process_gives() -> None:
    config = Config.model_validate(RJIEBA)
    lines = [
        json.dumps({"unit_id": f"u{i}", "text": str(case.values[0])}, ensure_ascii=False) + "\n"
        for i, case in enumerate(CASES)
    ]
    chunks = [lines[i : i + 3] for i in range(0, len(lines), 3)]

    def collect(workers: int) -> tuple[list[str], Counter[str]]:
        text: list[str] = []
        stop: Counter[str] = Counter()
        parts = LocalExecutor(workers).map(tokenize._tokenize_partition, chunks, tokenize.Segmenter(config))
        for out, *_, removed, _ in parts:
            text.append(out)
            stop.update(removed["stopword"])
        return text, stop

    assert collect(2) == collect(1)


# -- the stage on the seeds -------------------------------------------------------------


def _tokens(run_dir: Path) -> list[list[str]]:
    with (run_dir / "tokens.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["tokens"] for line in fh]


def _audit(run_dir: Path) -> Any:
    return json.loads((run_dir / "tokenize_audit.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def seeds_tokens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Seeds to tokens with jieba, then rjieba in the same run folder, then rjieba in 2 workers."""
    folder = tmp_path_factory.mktemp("engines")
    config_path = write_config(folder)
    run_dir = folder / "runs" / "seeds"
    out: dict[str, Any] = {}
    run_pipeline(load_config(config_path, ["tokenize.engine=jieba"]), to_stage="tokenize")
    out["jieba"], out["jieba_audit"] = _tokens(run_dir), _audit(run_dir)
    results = run_pipeline(load_config(config_path, ["tokenize.engine=rjieba"]), to_stage="tokenize")
    out["statuses"] = {r.name: r.status for r in results}
    out["rjieba"], out["rjieba_audit"] = _tokens(run_dir), _audit(run_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tokenize, "PARALLEL_MIN_UNITS", 0)
        mp.setattr(tokenize, "CHUNK", 40)
        results = run_pipeline(
            load_config(config_path, ["tokenize.engine=rjieba", "executor.workers=2"]),
            to_stage="tokenize",
            force=True,
        )
    out["workers"] = results[-1].counts["workers"]
    out["rjieba_2"], out["rjieba_2_audit"] = _tokens(run_dir), _audit(run_dir)
    with (run_dir / "tokens.jsonl").open(encoding="utf-8", newline="") as fh:
        out["rjieba_2_lines"] = list(fh)
    return out


def test_changing_the_engine_reruns_tokenize_only(seeds_tokens: dict[str, Any]) -> None:
    assert seeds_tokens["statuses"] == {"segment": "skipped", "tokenize": "ran"}


def test_rjieba_agrees_with_jieba_on_the_seeds(seeds_tokens: dict[str, Any]) -> None:
    a, b = seeds_tokens["jieba"], seeds_tokens["rjieba"]
    assert len(a) == len(b) > 100
    identical = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    matched = sum(sum((Counter(x) & Counter(y)).values()) for x, y in zip(a, b, strict=True))
    precision, recall = matched / sum(map(len, b)), matched / sum(map(len, a))
    f1 = 2 * precision * recall / (precision + recall)
    assert identical >= MIN_IDENTICAL, f"{identical:.3f} of units identical"
    assert f1 >= MIN_F1, f"token F1 {f1:.4f}"


def test_rjieba_audit_matches_jieba(seeds_tokens: dict[str, Any]) -> None:
    j, r = seeds_tokens["jieba_audit"], seeds_tokens["rjieba_audit"]
    for name in ("stopword", "short", "pos"):
        assert r[name] == j[name], name
    # Hyphenated runs: jieba's "1", "-", "5" (two numbers and a punctuation mark) are
    # rjieba's one number "1-5"; they are a handful on the seeds.
    for name in ("punctuation", "latin", "number"):
        assert abs(r[name]["removed"] - j[name]["removed"]) <= 0.01 * j[name]["removed"] + 1, name
    assert r["hmm_new_words"] == j["hmm_new_words"]


def test_token_lines_are_what_write_jsonl_writes(seeds_tokens: dict[str, Any]) -> None:
    """Workers format tokens.jsonl lines themselves: byte for byte RunStore.write_jsonl's."""
    lines = seeds_tokens["rjieba_2_lines"]
    assert lines == [
        json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines
    ]
    tricky = ["疫情", 'a"b', "c\\d", "\x01", "\u2028"]
    assert (
        _token_line("u-1", tricky)
        == json.dumps({"unit_id": "u-1", "tokens": tricky}, ensure_ascii=False, separators=(",", ":")) + "\n"
    )


def test_rjieba_in_worker_processes(seeds_tokens: dict[str, Any]) -> None:
    assert seeds_tokens["workers"] == 2
    assert seeds_tokens["rjieba_2"] == seeds_tokens["rjieba"]
    assert seeds_tokens["rjieba_2_audit"] == seeds_tokens["rjieba_audit"]
