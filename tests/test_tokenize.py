"""tokenize: text -> tokens with jieba, dictionaries, stopwords and filters."""

from __future__ import annotations

import codecs

import pytest

from pipeline.config import Config
from pipeline.stages.tokenize import Tokenizer

# Words a user dictionary must teach jieba: without it each is cut in two or more pieces.
NEW_WORDS = {
    "方舱医院": "各地建设方舱医院收治轻症病人",
    "动态清零": "坚持动态清零总方针不动摇",
    "健康宝": "进入社区须出示健康宝",
}


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer(Config())


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    """keep_words, a user stopword file and a user dictionary, with BOM and CRLF."""
    base = tmp_path_factory.mktemp("tokenize")
    # The words under test sit on the first line, right after the BOM.
    (base / "stop.txt").write_bytes(codecs.BOM_UTF8 + "集体\r\n# 注释\r\n\r\n武汉\r\n".encode())
    (base / "dict.txt").write_bytes(
        codecs.BOM_UTF8 + "方舱医院\r\n# 注释\r\n动态清零 10 n\r\n\r\n健康宝 n\r\n".encode()
    )
    cfg = Config.model_validate(
        {"tokenize": {"keep_words": ["我们"], "stopwords": ["stop.txt"], "userdict": ["dict.txt"]}}
    )
    cfg._base_dir = base
    return Tokenizer(cfg)


@pytest.fixture(scope="module")
def permissive() -> Tokenizer:
    cfg = Config.model_validate(
        {
            "tokenize": {
                "builtin_stopwords": False,
                "builtin_userdict": False,
                "min_len": 1,
                "drop_numbers": False,
                "drop_latin": False,
            }
        }
    )
    return Tokenizer(cfg)


# text, tokens that must be kept, tokens (or pieces) that must not appear
CASES = [
    pytest.param("我们是一个团结的集体。", {"团结", "集体"}, {"我们", "一个", "是", "的"}, id="stopwords"),
    pytest.param(
        "2020年3月，十四名医生奔赴武汉。",
        {"医生", "奔赴", "武汉"},
        {"2020", "2020年", "3", "3月", "十四", "十四名", "年", "月"},
        id="numbers",
    ),
    pytest.param("去年腊月二十九早上以来", {"腊月", "早上"}, {"二十九"}, id="chinese-numeral"),
    pytest.param("几十名志愿者参与其中", {"志愿者"}, {"几十名", "几十"}, id="approximate-chinese-number"),
    pytest.param(
        "这是一份2020年的COVID-19报告，使用APP和WiFi登记。",
        {"报告", "登记"},
        {"COVID", "COVID-19", "19", "APP", "WiFi", "2020"},
        id="latin-and-digits",
    ),
    pytest.param(
        "疫情防控——人人有责！“早发现、早报告”……",
        {"疫情防控", "人人有责", "发现", "报告"},
        {"——", "！", "“", "”", "、", "……", "早"},
        id="punctuation-and-single-chars",
    ),
    pytest.param(
        "党和人民的灯塔照亮前路，村里家家户户早已做好准备。",
        {"灯塔", "照亮", "家家户户"},
        {"党", "和", "的", "，", "。", "早", "已"},
        id="single-characters",
    ),
    pytest.param("全力做好疫情防控工作", {"疫情防控"}, {"疫情", "防控"}, id="term-yiqing-fangkong"),
    pytest.param("抗击新冠肺炎疫情的斗争", {"新冠肺炎"}, {"新冠", "肺炎"}, id="term-xinguan-feiyan"),
    pytest.param("党员干部要冲锋在前", {"党员干部"}, {"党员", "干部"}, id="term-dangyuan-ganbu"),
    pytest.param(
        "基层党组织发挥战斗堡垒作用", {"基层党组织"}, {"基层", "党组织"}, id="term-jiceng-dangzuzhi"
    ),
    pytest.param("坚决打赢这场阻击战", {"阻击战"}, {"阻击"}, id="term-zujizhan"),
    pytest.param("医务人员成为最美的逆行者", {"逆行者"}, {"逆行"}, id="term-nixingzhe"),
    pytest.param("全面落实联防联控措施", {"联防联控"}, {"联防"}, id="term-lianfang-liankong"),
    pytest.param("形成群防群治的工作格局", {"群防群治"}, {"群防"}, id="term-qunfang-qunzhi"),
    pytest.param("有序推进复工复产", {"复工复产"}, {"复工"}, id="term-fugong-fuchan"),
    pytest.param("各地学校停课不停学", {"停课不停学"}, {"停课"}, id="term-tingke-butingxue"),
    pytest.param("打赢疫情防控阻击战", {"疫情防控", "阻击战"}, {"防控阻击战"}, id="two-terms-adjacent"),
    pytest.param(
        "坚持联防联控、群防群治，推动复工复产",
        {"联防联控", "群防群治", "复工复产"},
        {"、", "，"},
        id="three-terms-in-a-list",
    ),
    pytest.param("广大党员干部冲锋在前", {"党员干部"}, {"广大党员"}, id="term-dangyuan-ganbu-after-guangda"),
    pytest.param("各级党员干部带头落实", {"党员干部"}, {"干部带头"}, id="term-dangyuan-ganbu-before-daitou"),
    pytest.param("第二批工作队抵达武汉", {"工作队", "武汉"}, {"第二批"}, id="ordinal-number"),
    pytest.param("一百多名志愿者参与其中", {"志愿者"}, {"一百多名"}, id="number-duo-measure-word"),
    pytest.param("十余名党员赶到现场", {"党员", "现场"}, {"十余名"}, id="number-yu-measure-word"),
]


@pytest.mark.parametrize(("text", "kept", "dropped"), CASES)
def test_default_tokens(tok: Tokenizer, text: str, kept: set[str], dropped: set[str]) -> None:
    tokens = tok(text)
    assert kept <= set(tokens), tokens
    assert not dropped & set(tokens), tokens
    assert all(len(t) >= 2 for t in tokens), tokens
    assert all(t in text for t in tokens)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("我们", "stopword"),
        ("进一步", "stopword"),
        ("，", "punctuation"),
        ("——", "punctuation"),
        ("“", "punctuation"),
        ("2020", "number"),
        ("3月", "number"),
        ("十四", "number"),
        ("50%", "number"),
        ("２０２０", "number"),
        ("APP", "latin"),
        ("COVID-19", "latin"),
        ("家", "short"),
        ("疫情", None),
        ("疫情防控", None),
        ("党员干部", None),
    ],
)
def test_reason(tok: Tokenizer, token: str, reason: str | None) -> None:
    assert tok.reason(token) == reason


def test_removed_tokens_are_counted_by_filter(tok: Tokenizer) -> None:
    before = {name: counter.copy() for name, counter in tok.removed.items()}
    tokens = tok("我们在2020年使用APP，家家户户都参与疫情防控。")
    assert "疫情防控" in tokens
    added = {name: counter - before[name] for name, counter in tok.removed.items()}
    assert added["stopword"]["我们"] == 1
    assert added["number"]["2020"] == 1
    assert added["latin"]["APP"] == 1
    assert added["punctuation"]["，"] == 1
    assert not any(token in c for c in added.values() for token in tokens)


# text, the measure or date suffix jieba cut from its number (dropped), words that stay
SUFFIXES = [
    ("俄罗斯国防部16日称，联军推进", "日称", {"俄罗斯国防部", "联军", "推进"}),
    ("3月份以来，订单增加", "月份", {"订单", "增加"}),
    ("10年来，村里发生了变化", "年来", {"村里", "变化"}),
    ("从1日起实施新规", "日起", {"实施", "新规"}),
]


@pytest.mark.parametrize(("text", "suffix", "kept"), SUFFIXES)
def test_a_suffix_cut_from_its_number_goes_with_the_number(
    tok: Tokenizer, text: str, suffix: str, kept: set[str]
) -> None:
    before = tok.removed["number_suffix"][suffix]
    tokens = tok(text)
    assert suffix not in tokens and kept <= set(tokens)
    assert tok.removed["number_suffix"][suffix] == before + 1


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("每个月份都有计划", "月份"),  # not after a number: a word
        ("受访者称赞日称的做法", "日称"),  # after a word, not a number
        ("二是分工明确,人民是党赖以生存的根基", "人民"),  # after a comma, not a number
    ],
)
def test_the_same_suffix_elsewhere_is_a_word(tok: Tokenizer, text: str, word: str) -> None:
    before = tok.removed["number_suffix"].copy()
    assert word in tok(text)
    assert tok.removed["number_suffix"] == before


# -- user configuration ------------------------------------------------------------------


def test_keep_words_takes_a_word_off_the_stoplist(tok: Tokenizer, custom: Tokenizer) -> None:
    assert "我们" not in tok("我们是一个团结的集体。")
    assert "我们" in custom("我们是一个团结的集体。")
    assert custom.reason("我们") is None
    assert custom.reason("他们") == "stopword"  # the rest of the built-in list still applies


@pytest.mark.parametrize("word", ["集体", "武汉"])
def test_user_stopword_file_adds_words(tok: Tokenizer, custom: Tokenizer, word: str) -> None:
    text = "我们是一个团结的集体，医生奔赴武汉。"
    assert word in tok(text)
    assert word not in custom(text)
    assert custom.reason(word) == "stopword"
    assert "团结" in custom(text)


@pytest.mark.parametrize(("word", "text"), list(NEW_WORDS.items()))
def test_user_dictionary_makes_a_new_word_one_token(
    tok: Tokenizer, custom: Tokenizer, word: str, text: str
) -> None:
    assert word not in tok(text)  # without the dictionary jieba cuts it apart
    assert word in custom(text)


def test_user_dictionary_keeps_the_builtin_terms(custom: Tokenizer) -> None:
    assert {"疫情防控", "阻击战"} <= set(custom("打赢疫情防控阻击战"))


def test_switches_off_filters(permissive: Tokenizer) -> None:
    tokens = permissive("我们在2020年使用APP，家家户户都参与疫情防控。")
    assert {"我们", "2020", "APP", "在"} <= set(tokens)
    assert "，" not in tokens and "。" not in tokens  # punctuation always goes
    assert permissive.reason("家") is None
