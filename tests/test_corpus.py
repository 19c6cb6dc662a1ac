"""Reading inputs: encodings, paths, csv/jsonl rows and word lists (pipeline/corpus.py)."""

from __future__ import annotations

import codecs
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pipeline import corpus
from pipeline.config import Config
from pipeline.errors import InputError

# A realistic paragraph, long enough for encoding detection, with a short title line.
SIMPLIFIED = (
    "基层党组织战斗堡垒作用\n"
    "基层党组织在疫情防控中发挥了战斗堡垒作用，广大党员干部冲锋在前，"
    "筑牢了群防群治的严密防线。社区工作者日夜值守，志愿者挨家挨户排查登记。"
)
# The same paragraph in traditional characters: Big5 cannot encode simplified ones.
TRADITIONAL = (
    "基層黨組織戰鬥堡壘作用\n"
    "基層黨組織在疫情防控中發揮了戰鬥堡壘作用，廣大黨員幹部衝鋒在前，"
    "築牢了群防群治的嚴密防線。社區工作者日夜值守，志願者挨家挨戶排查登記。"
)
# ASCII-heavy text: in UTF-16 every other byte is zero.
ENGLISH = "Epidemic prevention\nCommunity workers kept watch day and night; volunteers checked every home."
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED = (SEEDS / "000_1a0ce78baffdf577.txt").read_text(encoding="utf-8")  # 10 KB, 27 lines
LEFT = "疫情防控是一场大考，检验着干部的政治品质和能力作风。"
RIGHT = "越是危难时刻，越是重任在肩，越要冲锋在前。"


def config_for(*paths: str, base: Path | None = None, **input_opts: object) -> Config:
    cfg = Config.model_validate({"input": {"paths": list(paths), **input_opts}})
    if base is not None:
        cfg._base_dir = base
    return cfg


def read_all(cfg: Config) -> list[corpus.Document]:
    return list(corpus.read_documents(cfg))


# -- encodings ---------------------------------------------------------------------


ENCODED = [
    pytest.param(SIMPLIFIED.encode("utf-8"), SIMPLIFIED, id="utf-8"),
    pytest.param(codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), SIMPLIFIED, id="utf-8-bom"),
    pytest.param(SIMPLIFIED.encode("gbk"), SIMPLIFIED, id="gbk"),
    pytest.param(SIMPLIFIED.encode("gb18030"), SIMPLIFIED, id="gb18030"),
    pytest.param(TRADITIONAL.encode("big5"), TRADITIONAL, id="big5"),
    pytest.param(TRADITIONAL.encode("utf-8"), TRADITIONAL, id="utf-8-traditional"),
    pytest.param(TRADITIONAL.encode("gb18030"), TRADITIONAL, id="gb18030-traditional"),
    pytest.param(codecs.BOM_UTF16_LE + SIMPLIFIED.encode("utf-16-le"), SIMPLIFIED, id="utf-16-le-bom"),
    pytest.param(codecs.BOM_UTF16_BE + SIMPLIFIED.encode("utf-16-be"), SIMPLIFIED, id="utf-16-be-bom"),
    pytest.param(SIMPLIFIED.encode("utf-16-le"), SIMPLIFIED, id="utf-16-le-no-bom"),
    pytest.param(SIMPLIFIED.encode("utf-16-be"), SIMPLIFIED, id="utf-16-be-no-bom"),
    pytest.param(TRADITIONAL.encode("utf-16-le"), TRADITIONAL, id="utf-16-le-no-bom-traditional"),
    pytest.param(ENGLISH.encode("utf-16-le"), ENGLISH, id="utf-16-le-no-bom-ascii"),
    pytest.param(ENGLISH.encode("utf-16-be"), ENGLISH, id="utf-16-be-no-bom-ascii"),
]


@pytest.mark.parametrize(("data", "text"), ENCODED)
def test_decode_auto_gives_the_original_text(data: bytes, text: str) -> None:
    decoded, _encoding, bad = corpus.decode(data, "auto", "x")
    assert decoded == text
    assert bad == 0


@pytest.mark.parametrize(("data", "text"), ENCODED)
def test_txt_file_in_any_encoding_reads_as_numbered_lines(tmp_path: Path, data: bytes, text: str) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(data)
    [doc] = read_all(config_for(str(path)))
    assert doc.lines == list(enumerate(text.split("\n"), start=1))
    assert doc.bad_bytes == 0
    assert doc.doc_id == "doc"
    assert doc.source == "doc.txt"


def test_decode_with_a_named_encoding_counts_and_keeps_bad_bytes() -> None:
    data = LEFT.encode("utf-8") + b"\xff" + RIGHT.encode("utf-8")
    text, encoding, bad = corpus.decode(data, "utf-8", "x")
    assert (text, encoding, bad) == (LEFT + "\ufffd" + RIGHT, "utf-8", 1)


def test_decode_auto_gb18030_with_a_stray_byte_keeps_the_rest() -> None:
    data = (LEFT * 3).encode("gb18030") + b"\xff" + (RIGHT * 3).encode("gb18030")
    text, _encoding, bad = corpus.decode(data, "auto", "x")
    assert text == LEFT * 3 + "\ufffd" + RIGHT * 3
    assert bad == 1


def test_decode_auto_utf8_with_a_stray_byte_stays_utf8() -> None:
    data = (LEFT * 3).encode("utf-8") + b"\xff" + (RIGHT * 3).encode("utf-8")
    text, encoding, bad = corpus.decode(data, "auto", "x")
    assert (text, encoding, bad) == (LEFT * 3 + "\ufffd" + RIGHT * 3, "utf-8", 1)


def test_undecodable_bytes_are_counted_on_the_document_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes((LEFT * 3).encode("gb18030") + b"\xff\n" + (RIGHT * 3).encode("gb18030"))
    [doc] = read_all(config_for(str(path)))
    assert doc.bad_bytes == 1
    assert doc.lines == [(1, LEFT * 3 + "\ufffd"), (2, RIGHT * 3)]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", id="png-header"),
        pytest.param(LEFT.encode("utf-8") + b"\x00" + RIGHT.encode("utf-8"), id="nul-in-text"),
        pytest.param(LEFT.encode("gbk") + b"\x00" + RIGHT.encode("gbk"), id="nul-in-gbk-text"),
        # Read as UTF-16, ASCII pairs would make CJK characters: that is not text either.
        pytest.param(b"plain ASCII text with a stray\x00 zero byte in the middle of it", id="nul-in-ascii"),
        pytest.param(b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00>\x00\x01\x00\x00\x00", id="elf-header"),
    ],
)
def test_nul_bytes_mean_binary(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match="binary"):
        corpus.decode(data, "auto", "x")
    path = tmp_path / "image.txt"
    path.write_bytes(data)
    with pytest.raises(InputError, match="binary") as info:
        read_all(config_for(str(path)))
    assert "image.txt" in str(info.value)


def test_unknown_encoding_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no-such-codec"):
        corpus.decode(b"abc", "no-such-codec", "x")


# -- paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        pytest.param("missing.txt", "no such file", id="missing-file"),
        pytest.param("missing_dir/", "no such file", id="missing-folder"),
        pytest.param("empty", "no input files", id="empty-folder"),
        pytest.param("only_pdf", "no input files", id="folder-without-text-files"),
        pytest.param("*.csv", "no files match", id="glob-no-match"),
        pytest.param("empty/**/*.txt", "no files match", id="recursive-glob-no-match"),
    ],
)
def test_paths_that_yield_nothing_raise_naming_the_path(tmp_path: Path, spec: str, words: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "only_pdf").mkdir()
    (tmp_path / "only_pdf" / "scan.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "only_pdf" / ".hidden.txt").write_text("隐藏文件", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("存在的文件", encoding="utf-8")
    with pytest.raises(InputError) as info:
        corpus.list_inputs(config_for(spec, base=tmp_path))
    assert str(info.value).startswith(f"{spec}:")
    assert words in str(info.value)


def test_absolute_missing_path_is_named(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "a.txt"
    with pytest.raises(InputError) as info:
        corpus.list_inputs(config_for(str(target)))
    assert str(target) in str(info.value)


def test_folder_lists_input_files_recursively_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("乙", encoding="utf-8")
    (folder / "a.csv").write_text("text\n甲\n", encoding="utf-8")
    (folder / "sub" / "c.jsonl").write_text('{"text": "丙"}\n', encoding="utf-8")
    (folder / ".hidden.txt").write_text("隐藏", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG")
    files = corpus.list_inputs(config_for("corpus", base=tmp_path))
    assert [(f.source, f.format) for f in files] == [
        ("corpus/a.csv", "csv"),
        ("corpus/b.txt", "txt"),
        ("corpus/sub/c.jsonl", "jsonl"),
    ]


def test_file_named_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("疫情防控", encoding="utf-8")
    files = corpus.list_inputs(config_for("a.txt", str(tmp_path / "a.txt"), "*.txt", base=tmp_path))
    assert len(files) == 1


def test_txt_crlf_and_cr_line_endings_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "win.txt"
    path.write_bytes("标题\r\n第一段。\r\n\r\n第二段。\r第三段。".encode())
    [doc] = read_all(config_for(str(path)))
    assert doc.lines == [(1, "标题"), (2, "第一段。"), (3, ""), (4, "第二段。"), (5, "第三段。")]


# -- csv and jsonl -----------------------------------------------------------------


CSV_TEXT = (
    "id,title,text\n"  # line 1
    "a1,标题一,第一篇正文\n"  # line 2
    'a2,标题二,"第二篇\n跨两行的正文"\n'  # lines 3-4
    "a3,标题三,第三篇正文\n"  # line 5
)


def test_csv_gives_one_document_per_row_with_meta(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    docs = read_all(config_for(str(path), id_field="id", meta_fields=["title"]))
    assert [d.doc_id for d in docs] == ["a1", "a2", "a3"]
    assert [d.meta for d in docs] == [{"title": "标题一"}, {"title": "标题二"}, {"title": "标题三"}]
    texts = [[t for _, t in d.lines] for d in docs]
    assert texts == [["第一篇正文"], ["第二篇", "跨两行的正文"], ["第三篇正文"]]
    assert all(d.source == "rows.csv" for d in docs)


def test_csv_without_id_field_numbers_documents_uniquely(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    ids = [d.doc_id for d in read_all(config_for(str(path)))]
    assert len(set(ids)) == 3
    assert all(i.startswith("rows:") for i in ids)


@pytest.mark.parametrize(
    ("text", "first_lines"),
    [
        pytest.param("id,text\na,甲\nb,乙\n", [2, 3], id="simple"),
        pytest.param(CSV_TEXT, [2, 3, 5], id="quoted-newline"),
        pytest.param("id,text\na,甲\n\nb,乙\n", [2, 4], id="blank-line"),
        pytest.param("id,text\r\na,甲\r\nb,乙\r\n", [2, 3], id="crlf"),
    ],
)
def test_csv_documents_carry_the_source_line_of_their_row(
    tmp_path: Path, text: str, first_lines: list[int]
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(text, encoding="utf-8", newline="")
    docs = read_all(config_for(str(path)))
    assert [d.record_line for d in docs] == first_lines
    assert all(d.lines[0][0] == 1 for d in docs)  # lines count from the start of the record's text


def test_jsonl_gives_one_document_per_row_with_meta_and_line_numbers(tmp_path: Path) -> None:
    rows = [
        {"id": "j1", "text": "第一条记录", "city": "武汉", "year": 2020},
        None,  # a blank line
        {"id": "j2", "text": "第二条\n两行", "city": "北京", "year": 2021},
        {"id": "j3", "text": "第三条记录", "city": "上海", "year": 2022},
    ]
    lines = ["" if r is None else json.dumps(r, ensure_ascii=False) for r in rows]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = read_all(config_for(str(path), id_field="id", meta_fields=["city", "year"]))
    assert [d.doc_id for d in docs] == ["j1", "j2", "j3"]
    assert [d.meta for d in docs] == [
        {"city": "武汉", "year": 2020},
        {"city": "北京", "year": 2021},
        {"city": "上海", "year": 2022},
    ]
    assert [d.record_line for d in docs] == [1, 3, 4]
    assert docs[0].lines == [(1, "第一条记录")]
    assert docs[1].lines == [(1, "第二条"), (2, "两行")]
    assert docs[2].lines == [(1, "第三条记录")]


def test_jsonl_missing_text_field_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "有正文"}\n\n{"body": "字段名不对"}\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_all(config_for(str(path)))
    message = str(info.value)
    assert message.startswith("rows.jsonl:3:")
    assert "'text'" in message
    assert "body" in message  # the fields that do exist are listed


def test_csv_missing_text_field_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("id,body\na,正文\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_all(config_for(str(path)))
    message = str(info.value)
    assert message.startswith("rows.csv:")
    assert "'text'" in message
    assert "body" in message


def test_jsonl_custom_text_field_and_missing_meta_field(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"body": "正文一", "tag": "甲"}\n{"body": "正文二"}\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_all(config_for(str(path), text_field="body", meta_fields=["tag"]))
    assert str(info.value).startswith("rows.jsonl:2:")
    assert "'tag'" in str(info.value)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        pytest.param('{"text": "未闭合', "invalid JSON", id="broken-json"),
        pytest.param('["数组", "不是对象"]', "JSON object", id="not-an-object"),
    ],
)
def test_bad_jsonl_line_is_named(tmp_path: Path, line: str, words: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "第一行"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=words) as info:
        read_all(config_for(str(path)))
    assert str(info.value).startswith("rows.jsonl:2:")


def test_gbk_csv_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    body = "基层党组织在疫情防控中发挥了战斗堡垒作用，广大党员干部冲锋在前。"
    path.write_bytes(f"title,text\n第一篇,{body}\n第二篇,{body}\n".encode("gbk"))
    docs = read_all(config_for(str(path), meta_fields=["title"]))
    assert [d.lines[0][1] for d in docs] == [body, body]
    assert [d.meta["title"] for d in docs] == ["第一篇", "第二篇"]


# -- word lists --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "entry"),
    [
        pytest.param("方舱医院", ("方舱医院", None, None), id="word"),
        pytest.param("方舱医院 10", ("方舱医院", 10, None), id="word-freq"),
        pytest.param("方舱医院 10 n", ("方舱医院", 10, "n"), id="word-freq-pos"),
        pytest.param("方舱医院 n", ("方舱医院", None, "n"), id="word-pos"),
        pytest.param("  方舱医院\t10\tnz  ", ("方舱医院", 10, "nz"), id="tabs-and-spaces"),
    ],
)
def test_read_userdict_line_forms(
    tmp_path: Path, line: str, entry: tuple[str, int | None, str | None]
) -> None:
    path = tmp_path / "dict.txt"
    path.write_text(line + "\n", encoding="utf-8")
    assert corpus.read_userdict(path) == [entry]


def test_read_userdict_bom_crlf_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "dict.txt"
    path.write_bytes(
        codecs.BOM_UTF8 + "健康码\r\n# 注释行\r\n\r\n核酸检测 100\r\n网格员 5 n\r\n动态清零 v\r\n".encode()
    )
    assert corpus.read_userdict(path) == [
        ("健康码", None, None),
        ("核酸检测", 100, None),
        ("网格员", 5, "n"),
        ("动态清零", None, "v"),
    ]


@pytest.mark.parametrize(
    ("bad", "lineno"),
    [
        pytest.param("word ten x y", 3, id="too-many-fields"),
        pytest.param("方舱医院 10 n extra", 2, id="extra-after-pos"),
        pytest.param("方舱医院 1.5", 4, id="fraction-freq"),
    ],
)
def test_read_userdict_rejects_malformed_lines_naming_file_and_line(
    tmp_path: Path, bad: str, lineno: int
) -> None:
    path = tmp_path / "dict.txt"
    good = ["健康码", "核酸检测 10", "网格员 n", "志愿者"]
    lines = [*good[: lineno - 1], bad, *good[lineno - 1 :]]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    with pytest.raises(InputError) as info:
        corpus.read_userdict(path)
    assert str(info.value).startswith(f"{path}:{lineno}:")
    assert bad.strip() in str(info.value)


def test_read_userdict_not_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "dict.txt"
    path.write_bytes("健康码\n".encode() + "核酸检测\n".encode("gbk"))
    with pytest.raises(InputError, match="UTF-8") as info:
        corpus.read_userdict(path)
    assert str(info.value).startswith(f"{path}:2:")


def test_read_userdict_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(InputError) as info:
        corpus.read_userdict(path)
    assert str(path) in str(info.value)


def test_read_word_list_bom_crlf_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "stop.txt"
    path.write_bytes(codecs.BOM_UTF8 + "疫情\r\n# 注释\r\n\r\n  工作  \r\n同志们".encode())
    assert corpus.read_word_list(path) == ["疫情", "工作", "同志们"]


@pytest.mark.parametrize(
    ("encoding", "prefix", "read_in_blocks"),
    [
        ("utf-8", b"", True),
        ("utf-8", codecs.BOM_UTF8, True),
        ("gb18030", b"", True),
        ("utf-16", b"", False),  # the codec writes a BOM; lines cannot be cut bytewise
    ],
)
def test_large_jsonl_read_in_blocks_gives_the_same_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, prefix: bytes, read_in_blocks: bool
) -> None:
    rows = [{"id": f"d{i}", "text": f"{LEFT}\n{RIGHT}{i}", "n": i} for i in range(60)]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(7, "")  # a blank line keeps the numbering of the lines after it
    path = tmp_path / "big.jsonl"
    path.write_bytes(prefix + ("\n".join(lines) + "\n").encode(encoding))
    cfg = config_for(str(path), id_field="id", meta_fields=["n"])
    whole = read_all(cfg)
    monkeypatch.setattr(corpus, "READ_BLOCK", 500)
    pieces = corpus.file_blocks(corpus.list_inputs(cfg)[0], "auto")
    assert (len(pieces) > 5) == read_in_blocks
    blocked = read_all(cfg)
    assert [(d.doc_id, d.record_line, d.lines, d.meta, d.bad_bytes) for d in blocked] == [
        (d.doc_id, d.record_line, d.lines, d.meta, d.bad_bytes) for d in whole
    ]
    assert [d.doc_id for d in whole] == [r["id"] for r in rows]
    assert whole[10].record_line == 12 and whole[10].lines == [(1, LEFT), (2, f"{RIGHT}10")]


# -- damage stays where it is -----------------------------------------------------------


def with_stray_bytes(lines: list[str], every: int, count: int, encoding: str = "utf-8") -> bytes:
    """Lines encoded, with a 0xFF byte before every ``every``-th of the first ones, ``count`` in all."""
    encoded = [line.encode(encoding) for line in lines]
    for i in range(count):
        encoded[i * every] = b"\xff" + encoded[i * every]
    return b"\n".join(encoded)


def test_utf8_file_with_stray_bytes_stays_utf8_and_keeps_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 11 bad bytes in 10 KB: more than one in a thousand, which used to send the whole
    # file to detection and read it as GB18030.
    data = with_stray_bytes(SEED.split("\n"), every=2, count=11)
    assert len(data) < 11_000
    text, encoding, bad = corpus.decode(data, "auto", "x")
    assert (encoding, bad) == ("utf-8", 11)
    assert text.count("\ufffd") == 11
    assert text.replace("\ufffd", "") == SEED
    path = tmp_path / "damaged.txt"
    path.write_bytes(data)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        [doc] = read_all(config_for(str(path)))
    assert (doc.encoding, doc.bad_bytes) == ("utf-8", 11)
    assert [r.getMessage() for r in caplog.records] == [
        "damaged.txt: 11 undecodable bytes as utf-8 replaced with U+FFFD (first at byte 0)"
    ]


def test_utf8_file_with_one_gbk_line_keeps_its_utf8_lines() -> None:
    lines = SEED.split("\n")
    data = b"\n".join(line.encode("gbk") if i == 3 else line.encode() for i, line in enumerate(lines))
    text, encoding, bad = corpus.decode(data, "auto", "x")
    assert encoding == "utf-8"
    got = text.split("\n")
    assert got[:3] + got[4:] == lines[:3] + lines[4:]
    # The damage is the GBK line's: most of its bytes are replaced (some pairs happen to
    # be valid UTF-8 and read as stray letters), and no byte of any other line.
    assert len(lines[3].encode("gbk")) / 2 < bad <= len(lines[3].encode("gbk"))
    assert "\ufffd" in got[3]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_seed_with_stray_bytes_is_still_detected(encoding: str) -> None:
    data = with_stray_bytes(SEED.split("\n"), every=2, count=11, encoding=encoding)
    text, found, bad = corpus.decode(data, "auto", "x")
    assert (found, bad) == ("gb18030", 11)
    assert text.replace("\ufffd", "") == SEED


def test_big5_seed_is_still_detected() -> None:
    import opencc

    traditional = opencc.OpenCC("s2t").convert(SEED)
    # Only what Big5 can encode (it has no 乡, 丨 or emoji): the test is the detection.
    text = "".join(c for c in traditional if c.encode("big5", errors="ignore"))
    assert len(text) > 3000
    decoded, found, bad = corpus.decode(text.encode("big5"), "auto", "x")
    assert (decoded, found, bad) == (text, "big5", 0)


@pytest.mark.parametrize(("encoding", "expected"), [("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")])
@pytest.mark.parametrize("text", [SEED, ENGLISH], ids=["seed", "english"])
def test_utf16_without_bom_is_detected_with_its_byte_order(text: str, encoding: str, expected: str) -> None:
    assert corpus.decode(text.encode(encoding), "auto", "x") == (text, expected, 0)


def test_large_jsonl_of_one_long_record_reads_without_a_false_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The head read to find the encoding ends inside the first line, and inside a character.
    monkeypatch.setattr(corpus, "READ_BLOCK", 1000)
    rows = [{"text": "1" + LEFT * 40}, {"text": RIGHT}]
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    head = path.read_bytes()[:1000]
    assert b"\n" not in head
    with pytest.raises(UnicodeDecodeError):
        head.decode("utf-8")  # a character cut in two
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        docs = read_all(config_for(str(path)))
    assert [d.lines for d in docs] == [[(1, "1" + LEFT * 40)], [(1, RIGHT)]]
    assert [d.bad_bytes for d in docs] == [0, 0]
    assert caplog.records == []


@pytest.mark.parametrize(
    ("configured", "in_blocks"), [("utf16", False), ("utf_32", False), ("utf-8-sig", True)]
)
def test_large_jsonl_in_a_configured_encoding_is_cut_only_where_lines_are_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str, in_blocks: bool
) -> None:
    rows = [{"id": f"d{i}", "text": f"{LEFT}{i}"} for i in range(40)]
    path = tmp_path / "big.jsonl"
    path.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(configured))
    monkeypatch.setattr(corpus, "READ_BLOCK", 500)
    cfg = config_for(str(path), id_field="id", encoding=configured)
    assert (len(corpus.file_blocks(corpus.list_inputs(cfg)[0], configured)) > 1) == in_blocks
    docs = read_all(cfg)
    assert [(d.doc_id, d.lines, d.bad_bytes) for d in docs] == [(r["id"], [(1, r["text"])], 0) for r in rows]


# -- records and files that hold no text --------------------------------------------------


def test_jsonl_records_whose_text_is_not_text_are_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [
        '{"id": "a", "text": "第一条记录"}',
        '{"id": "b", "text": null}',
        '{"id": "c", "text": 2020}',
        '{"id": "d", "text": ["列表", 2]}',
        '{"id": "e", "text": {"正文": "对象"}}',
        '{"id": "f", "text": true}',
        '{"id": "g", "text": ""}',
        '{"id": "h", "text": "最后一条"}',
        '{"id": "i", "text": null}',
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        docs = read_all(config_for(str(path), id_field="id"))
    assert [(d.doc_id, d.record_line, d.lines) for d in docs] == [
        ("a", 1, [(1, "第一条记录")]),
        ("c", 3, [(1, "2020")]),
        ("f", 6, [(1, "true")]),
        ("g", 7, [(1, "")]),
        ("h", 8, [(1, "最后一条")]),
    ]
    assert [r.getMessage() for r in caplog.records] == [
        "rows.jsonl: skipped 4 records whose 'text' is null (2 records), a list of strings and numbers "
        "(1 record), an object (1 record), first at line 2; put the text in a string or a list of strings, "
        "or set input.text_field to the field that holds it"
    ]


def test_one_record_without_text_is_named_in_the_singular(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"body": "正文"}\n{"body": null}\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        docs = read_all(config_for(str(path), text_field="body"))
    assert [d.lines for d in docs] == [[(1, "正文")]]
    assert [r.getMessage() for r in caplog.records] == [
        "rows.jsonl: skipped 1 record whose 'body' is null, first at line 2; "
        "put the text in a string or a list of strings, or set input.text_field to the field that holds it"
    ]


def test_empty_files_are_counted_and_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"")
    (folder / "b.csv").write_bytes(b" \r\n\t\n")
    (folder / "c.jsonl").write_bytes(codecs.BOM_UTF8 + b"\n\n")
    (folder / "d.txt").write_text(LEFT, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        docs = read_all(config_for("corpus", base=tmp_path))
    assert [(d.source, d.lines) for d in docs] == [("corpus/d.txt", [(1, LEFT)])]
    assert [r.getMessage() for r in caplog.records] == [
        "skipped 3 empty input files (0 bytes or only whitespace): corpus/a.txt, corpus/b.csv, "
        "corpus/c.jsonl; check that they were written completely, or remove them from input.paths"
    ]


def test_one_empty_file_is_named_in_the_singular(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        assert read_all(config_for(str(path))) == []
    assert [r.getMessage() for r in caplog.records] == [
        "skipped 1 empty input file (0 bytes or only whitespace): empty.txt; "
        "check that it was written completely, or remove it from input.paths"
    ]


# -- unreadable files ----------------------------------------------------------------------


@pytest.fixture
def locked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a file whose name starts with "locked" for reading is refused, as chmod
    000 would (the tests run as root, whom chmod does not stop)."""
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        mode = args[0] if args else kwargs.get("mode", "r")
        if self.name.startswith("locked") and "r" in mode:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)


@pytest.mark.usefixtures("locked")
@pytest.mark.parametrize("name", ["locked.txt", "locked.csv", "locked.jsonl"])
def test_unreadable_input_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr(corpus, "READ_BLOCK", 10)  # a jsonl file is then cut in blocks, read at its head
    path = tmp_path / name
    path.write_text('{"text": "正文"}\n' * 3, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_all(config_for(str(path)))
    assert str(info.value) == f"{name}: cannot read (Permission denied); check its permissions"


@pytest.mark.usefixtures("locked")
def test_unreadable_input_cannot_be_fingerprinted(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text(LEFT, encoding="utf-8")
    with pytest.raises(InputError) as info:
        corpus.fingerprint(path)
    assert str(info.value) == f"{path}: cannot read (Permission denied); check its permissions"
    with pytest.raises(InputError) as info:
        corpus.fingerprint(path, "corpus/locked.txt")
    assert str(info.value) == "corpus/locked.txt: cannot read (Permission denied); check its permissions"


@pytest.mark.usefixtures("locked")
def test_unreadable_word_list_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "locked_stopwords.txt"
    path.write_text("疫情\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        corpus.read_word_list(path)
    assert str(info.value) == f"{path}: cannot read (Permission denied); check its permissions"


def test_input_removed_after_listing_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "gone.txt"
    path.write_text(LEFT, encoding="utf-8")
    cfg = config_for(str(path))
    files = corpus.list_inputs(cfg)
    path.unlink()
    with pytest.raises(InputError) as info:
        list(corpus.read_documents(cfg, files))
    assert str(info.value) == (
        "gone.txt: cannot read (No such file or directory); check that it still exists and is a readable file"
    )


# -- csv and jsonl edge cases ----------------------------------------------------------------


def test_csv_record_is_not_cut_at_unicode_line_separators(tmp_path: Path) -> None:
    # str.splitlines ends lines at these too; a csv line ends only at \n, \r\n or \r.
    text = 'id,text\na,第一句\u2028第二句\nb,甲\x0c乙\x1c丙\nc,"引号内\u2029段落"\nd,丁\x85戊\x0b己\n'
    path = tmp_path / "rows.csv"
    path.write_text(text, encoding="utf-8", newline="")
    docs = read_all(config_for(str(path), id_field="id"))
    assert [(d.doc_id, d.record_line, d.lines) for d in docs] == [
        ("a", 2, [(1, "第一句\u2028第二句")]),
        ("b", 3, [(1, "甲\x0c乙\x1c丙")]),
        ("c", 4, [(1, "引号内\u2029段落")]),
        ("d", 5, [(1, "丁\x85戊\x0b己")]),
    ]


def test_csv_with_doubled_carriage_returns_numbers_lines_as_txt_does(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes('id,text\r\r\na,甲\r\r\nb,"乙\r\r\n丙"\r\r\nc,丁\r\r\n'.encode())
    docs = read_all(config_for(str(path), id_field="id"))
    assert [(d.doc_id, d.record_line, d.lines) for d in docs] == [
        ("a", 2, [(1, "甲")]),
        ("b", 3, [(1, "乙"), (2, "丙")]),
        ("c", 5, [(1, "丁")]),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param('{"text": ' + "[" * 100_000, "nested too deeply", id="deep-nesting"),
        pytest.param(
            '{"text": "正文", "n": ' + "1" * 5000 + "}", "a number too long to read", id="huge-number"
        ),
    ],
)
def test_jsonl_lines_python_cannot_parse_are_named(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "第一行"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_all(config_for(str(path)))
    assert str(info.value) == f"rows.jsonl:2: invalid JSON ({reason}); one object a line"


def test_jsonl_half_surrogate_pairs_are_replaced_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A \ud83d escape without its partner parses into a str no UTF-8 file can hold.
    lines = [
        r'{"id": "a", "text": "表情\ud83d被截断", "tag": "甲"}',
        r'{"id": "b", "text": "完整表情\ud83d\ude00", "tag": "乙"}',
        r'{"id": "c", "text": "正文", "tag": ["\udc00"]}',
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        docs = read_all(config_for(str(path), id_field="id", meta_fields=["tag"]))
    assert [(d.doc_id, d.lines, d.meta) for d in docs] == [
        ("a", [(1, "表情\ufffd被截断")], {"tag": "甲"}),
        ("b", [(1, "完整表情😀")], {"tag": "乙"}),
        ("c", [(1, "正文")], {"tag": ["\ufffd"]}),
    ]
    assert [r.getMessage() for r in caplog.records] == [
        "rows.jsonl: 2 records hold half a UTF-16 surrogate pair (a \\ud800-\\udfff escape without its "
        "partner), replaced with U+FFFD, first at line 1; whatever wrote the file cut an emoji or other "
        "character in two"
    ]


def test_unlistable_folder_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "corpus").mkdir()

    def deny(path: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(corpus.os, "scandir", deny)  # the folder is listed with scandir
    with pytest.raises(InputError) as info:
        corpus.list_inputs(config_for("corpus", base=tmp_path))
    assert str(info.value) == "corpus: cannot read (Permission denied); check its permissions"


# -- a text field that is a list: the record's paragraphs -----------------------------


@pytest.mark.parametrize(
    ("paragraphs", "lines"),
    [
        pytest.param([LEFT, RIGHT], [(1, LEFT), (2, RIGHT)], id="one-line-each"),
        pytest.param([LEFT, "", RIGHT], [(1, LEFT), (2, ""), (3, RIGHT)], id="an-empty-paragraph"),
        pytest.param(
            [f"{LEFT}\n{RIGHT}", LEFT], [(1, LEFT), (2, RIGHT), (3, LEFT)], id="a-paragraph-of-lines"
        ),
        pytest.param([], [(1, "")], id="no-paragraphs"),
    ],
)
def test_a_list_of_strings_reads_as_its_strings_joined_by_line_ends(
    tmp_path: Path, paragraphs: list[str], lines: list[tuple[int, str]]
) -> None:
    listed, joined = tmp_path / "listed.jsonl", tmp_path / "joined.jsonl"
    listed.write_text(
        json.dumps({"id": "a", "text": paragraphs}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    joined.write_text(json.dumps({"id": "a", "text": "\n".join(paragraphs)}) + "\n", encoding="utf-8")
    (a,) = read_all(config_for(str(listed), id_field="id"))
    (b,) = read_all(config_for(str(joined), id_field="id"))
    assert a.lines == b.lines == lines


TEXT_FIX = "set input.text_field to a field that holds a string or a list of strings"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            [[{"t": LEFT}], [{"t": RIGHT}]],
            f"rows.jsonl:1: every record's 'text' is a list of objects (2 records); {TEXT_FIX}",
        ),
        ([None], f"rows.jsonl:1: every record's 'text' is null (1 record); {TEXT_FIX}"),
        ([{"t": LEFT}], f"rows.jsonl:1: every record's 'text' is an object (1 record); {TEXT_FIX}"),
        ([[1, 2]], f"rows.jsonl:1: every record's 'text' is a list of numbers (1 record); {TEXT_FIX}"),
        (
            [[None, [LEFT]]],
            f"rows.jsonl:1: every record's 'text' is a list of nulls and lists (1 record); {TEXT_FIX}",
        ),
        (
            [[LEFT, {"t": RIGHT}]],
            f"rows.jsonl:1: every record's 'text' is a list of strings and objects (1 record); {TEXT_FIX}",
        ),
        (
            [None, {"t": LEFT}, None],
            "rows.jsonl:1: no record's 'text' is text: it is null (2 records), an object (1 record); "
            f"{TEXT_FIX}",
        ),
        ([None, LEFT], None),  # one record with text: the others are only warned about
        ([[], None], None),  # an empty list is a record without paragraphs, not a wrong field
    ],
)
def test_when_no_record_has_text_the_counts_say_why(
    tmp_path: Path, values: list[Any], message: str | None
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(
        "".join(json.dumps({"text": v}, ensure_ascii=False) + "\n" for v in values), encoding="utf-8"
    )
    counts = corpus.ReadCounts()
    docs = list(corpus.read_documents(config_for(str(path)), counts=counts))
    assert counts.documents == len(docs)
    error = counts.nothing_read("text")
    assert (str(error) if error else None) == message


def test_counts_of_partitions_add_up_to_those_of_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [{"text": None if i % 3 else [{"t": i}]} for i in range(60)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = config_for(str(path))
    whole = corpus.ReadCounts()
    list(corpus.read_documents(cfg, counts=whole))
    merged = corpus.ReadCounts()
    for block in corpus.jsonl_blocks(corpus.list_inputs(cfg)[0], 200):
        part = corpus.ReadCounts()
        list(corpus.read_documents(cfg, [block], dedupe=False, counts=part))
        merged.merge(part)
    assert merged == whole
    assert whole.skipped == {"a list of objects": 20, "null": 40}
    assert whole.first_skipped == "rows.jsonl:1"


# -- input.title_field: each document's display name -------------------------------------


@pytest.mark.parametrize(
    ("value", "title"),
    [
        ("新闻联播", "新闻联播"),
        ("  两行的\n标题 ", "两行的 标题"),  # one line, as a display name
        (2020, "2020"),
        (None, None),  # segment names it
        ("", None),
        (["不是", "标题"], None),
    ],
)
def test_title_field_gives_each_record_its_title(tmp_path: Path, value: Any, title: str | None) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"text": LEFT, "name": value}, ensure_ascii=False) + "\n", encoding="utf-8")
    (doc,) = read_all(config_for(str(path), title_field="name"))
    assert doc.title == title
    assert doc.meta == {}  # carried as the title, not as a meta field


def test_title_field_of_a_csv_row_and_a_txt_file(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text(f"title,text\n标题甲,{LEFT}\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text(LEFT, encoding="utf-8")
    docs = read_all(config_for("rows.csv", "a.txt", base=tmp_path, title_field="title"))
    assert [(d.source, d.title) for d in docs] == [("rows.csv", "标题甲"), ("a.txt", None)]


def test_a_record_without_the_title_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(f'{{"text": "{LEFT}", "title": "甲"}}\n{{"text": "{RIGHT}"}}\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_all(config_for(str(path), title_field="title"))
    assert str(info.value) == "rows.jsonl:2: no field 'title' named in input.title_field"


# -- paths given on the command line, and checking inputs before a run ------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "missing.txt",
            "missing.txt: no such file or folder "
            "(paths on the command line are relative to the working directory)",
        ),
        (
            "empty",
            "empty: folder has no input files (.csv, .jsonl, .md, .text, .txt); "
            "add files or give another path",
        ),
        ("*.csv", "*.csv: no files match this pattern (check the paths given on the command line)"),
    ],
)
def test_paths_given_as_arguments_are_named_as_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    elsewhere = tmp_path / "config_folder"
    elsewhere.mkdir()
    (elsewhere / "missing.txt").write_text(LEFT, encoding="utf-8")  # beside the config: not looked at
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        corpus.list_inputs(config_for("unused", base=elsewhere), [spec])
    assert str(info.value) == message


def test_paths_given_as_arguments_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "new.txt").write_text(LEFT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    files = corpus.list_inputs(config_for("unused", base=tmp_path / "elsewhere"), ["new.txt"])
    assert [(f.path, f.source, f.format) for f in files] == [(tmp_path / "new.txt", "new.txt", "txt")]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"paths": ["nowhere"]},
            "nowhere: no such file or folder (input.paths is relative to the config file)",
        ),
        (
            {"stopwords": ["stop.txt"]},
            "{base}/stop.txt: stopword file not found (paths are relative to the config file)",
        ),
        (
            {"userdict": ["dict.txt"]},
            "{base}/dict.txt: user dictionary file not found (paths are relative to the config file)",
        ),
        (
            {"userdict": ["bad_dict.txt"]},
            "{base}/bad_dict.txt:2: expected 'word [freq] [pos]', got '疫情 1 n extra' "
            "(freq is a whole number, pos a tag such as n or v)",
        ),
        (
            {"stopwords": ["gbk_stop.txt"]},
            "{base}/gbk_stop.txt:1: stopword file is not UTF-8 (save it as UTF-8)",
        ),
        ({"stopwords": ["good_stop.txt"], "userdict": ["good_dict.txt"]}, None),
    ],
)
def test_validate_inputs_finds_what_a_run_would_stop_on(
    tmp_path: Path, settings: dict[str, list[str]], message: str | None
) -> None:
    (tmp_path / "a.txt").write_text(LEFT, encoding="utf-8")
    (tmp_path / "bad_dict.txt").write_text("防控\n疫情 1 n extra\n", encoding="utf-8")
    (tmp_path / "gbk_stop.txt").write_bytes("疫情\n".encode("gbk"))
    (tmp_path / "good_stop.txt").write_text("的\n", encoding="utf-8")
    (tmp_path / "good_dict.txt").write_text("疫情防控 5 n\n", encoding="utf-8")
    data = {
        "input": {"paths": settings.get("paths", ["a.txt"])},
        "tokenize": {k: v for k, v in settings.items() if k != "paths"},
    }
    cfg = Config.model_validate(data)
    cfg._base_dir = tmp_path
    if message is None:
        assert [f.source for f in corpus.validate_inputs(cfg)] == ["a.txt"]
        return
    with pytest.raises(InputError) as info:
        corpus.validate_inputs(cfg)
    assert str(info.value) == message.format(base=tmp_path)


@pytest.mark.usefixtures("locked")
def test_validate_inputs_opens_every_input_file(tmp_path: Path) -> None:
    (tmp_path / "locked.txt").write_text(LEFT, encoding="utf-8")
    with pytest.raises(InputError) as info:
        corpus.validate_inputs(config_for(str(tmp_path / "locked.txt")))
    assert str(info.value) == "locked.txt: cannot read (Permission denied); check its permissions"
