"""What text preparation must deliver on the seeds, and the optional conversions."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from pipeline import corpus
from pipeline.config import Config, load_config
from pipeline.runner import run_pipeline
from pipeline.stages.segment import segment_documents
from pipeline.stages.tokenize import Tokenizer

from .conftest import SEEDS, write_config

DOMAIN = [
    "疫情防控",
    "新冠肺炎",
    "党员干部",
    "基层党组织",
    "阻击战",
    "逆行者",
    "联防联控",
    "群防群治",
    "复工复产",
    "停课不停学",
]


def _tokens(run_dir: Path) -> list[list[str]]:
    return [json.loads(line)["tokens"] for line in (run_dir / "tokens.jsonl").open(encoding="utf-8")]


def test_top_terms_hold_no_stopword_single_character_number_or_furniture(seeds_run: Path) -> None:
    stopwords = set(corpus.load_resource_lines("stopwords.txt"))
    furniture = [re.compile(p) for p in corpus.load_resource_lines("furniture.txt")]
    with (seeds_run / "topics.csv").open(encoding="utf-8") as fh:
        terms = [r["term"] for r in csv.DictReader(fh) if int(r["rank"]) <= 10]
    assert terms
    for term in terms:
        assert term not in stopwords, term
        assert len(term) >= 2, term
        assert not re.fullmatch(r"[\d.%]+|[零一二三四五六七八九十百千万]+", term), term
        assert not any(p.search(term) for p in furniture), term


def test_every_domain_term_in_the_seeds_is_one_token(seeds_run: Path) -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in SEEDS.iterdir())
    present = [t for t in DOMAIN if t in text]
    assert len(present) >= 6  # the seeds hold most of them
    tokens = {t for row in _tokens(seeds_run) for t in row}
    for term in present:
        assert term in tokens, term


def test_traditional_characters_are_analysed_as_simplified_and_shown_as_written(tmp_path: Path) -> None:
    source = tmp_path / "trad.txt"
    text = "疫情防控工作中，各級黨組織和廣大黨員幹部衝鋒在前，築牢聯防聯控的堅固防線。"
    source.write_text(text + "\n", encoding="big5")
    config = Config.model_validate({"segment": {"to_simplified": True}, "input": {"paths": [str(source)]}})
    (doc,) = corpus.read_documents(config)
    (unit, _), *_ = segment_documents([doc], config.segment)
    assert unit["text"] == text  # the original, for display
    assert (
        unit["text_simplified"]
        == "疫情防控工作中，各级党组织和广大党员干部冲锋在前，筑牢联防联控的坚固防线。"
    )
    tokens = Tokenizer(config)(unit["text_simplified"])
    assert {"党员干部", "联防联控"} <= set(tokens)


def test_phrases_join_collocations_and_list_them_as_candidates(tmp_path: Path) -> None:
    rows = [
        {"id": f"d{i}", "text": "志愿服务队伍深入社区开展核酸检测，居民积极配合。" * 2} for i in range(30)
    ]
    rows += [{"id": f"e{i}", "text": "学校组织师生开展线上教学，家长普遍认可。"} for i in range(30)]
    data = tmp_path / "p.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = load_config(
        write_config(
            tmp_path,
            input={"paths": [str(data)], "id_field": "id"},
            tokenize={"phrases": True, "phrases_min_count": 5, "phrases_threshold": 0.3},
            dictionary={"no_above": 1.0},
            model={"num_topics": 2, "passes": 2},
        )
    )
    run_pipeline(config, to_stage="tokenize")
    with (config.run_dir / "phrases.tsv").open(encoding="utf-8") as fh:
        found = {r["phrase"]: float(r["npmi"]) for r in csv.DictReader(fh, delimiter="\t")}
    assert found and all(score >= 0.3 for score in found.values())
    joined = {t for row in _tokens(config.run_dir) for t in row}
    assert "核酸检测" in joined or "社区核酸检测" in joined
    plain = Tokenizer(config)("".join(r["text"] for r in rows[:1] + rows[-1:]))
    new_tokens = joined - set(plain)
    assert new_tokens and new_tokens <= set(found)  # every joined token is a listed candidate
