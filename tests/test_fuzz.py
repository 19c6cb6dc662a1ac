"""Fuzzing the way in: random bytes and random mixed-script text, in random encodings and
formats (txt, csv, jsonl, malformed ones too), through corpus.decode, corpus.read_documents,
segment_documents and the tokenizer of the tokenize stage, in this process.

Whatever the input, the only exception allowed is a PipelineError (a message for the
user). Cases are generated from fixed seeds, so a failure names a case that can be
generated again: ``generate(random.Random(seed), i)`` in a loop, as ``cases`` does.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import string
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline import corpus
from pipeline.config import Config, SegmentConfig, load_config
from pipeline.errors import ConfigError, PipelineError
from pipeline.stages.segment import segment_documents, split_sentences
from pipeline.stages.tokenize import Tokenizer

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_TEXT = "".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
SENTENCES = [s for line in SEED_TEXT.splitlines() for s in split_sentences(line)]
CJK = sorted({c for c in SEED_TEXT if "\u4e00" <= c <= "\u9fff"})
FURNITURE = [
    "手机阅读",
    "false",
    "Copyright © 2023 wanshu.net All Rights Reserved.版权所有",
    "工信部备案号:鲁ICP备2020038323号-1",
    "本网站内容仅供参考,内容侵权或错误投诉:640661@qq.com",
    "扫码关注我们的微信公众号",
    "点击查看全文",
    "2023-11-12 21:19:34    小编:ZTFB",
    "发信人: lanxi (兰溪), 信区: Epidemic",
    "--",
    "第3页/共10页",
]
HEADINGS = [
    "一、积极响应党组织号召。",
    "（三）加强宣传教育",
    "第二段:前期防控。",
    "学校党员疫情防控心得体会篇一",
]
POOLS: list[list[str]] = [
    CJK,
    [chr(c) for c in range(0x3400, 0x3480)] + ["\U00020000", "\U0002a6d6", "\U00030000"],  # rare CJK
    list(string.ascii_letters),
    list(string.digits),
    list(string.punctuation),
    list("，。！？；：“”‘’（）《》【】、…—·「」『』〈〉"),
    ["😀", "🎉", "👍🏻", "👨\u200d👩\u200d👧", "🇨🇳", "❤️", "🀄"],
    ["\u0301", "\u0308", "\u20dd", "\u0332", "\u3099"],  # combining marks, also after nothing
    ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1c", "\x1f", "\x7f", "\x85", "\x9f"],
    ["\u200b", "\u200e", "\u202e", "\ufeff", "\ufffd", "\ue000", "\uffff", "\U0010fffd"],
    list("ＡＢＣｘｙｚ０１２３！＃％＆（）"),
    [" ", "\u3000", "\xa0", "\u2002", "\t"],
    ["\r", "\u2028", "\u2029"],
]
LINE_ENDS = ["\n", "\r\n", "\r", "\r\r\n", "\u2028", "\u2029"]
ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030", "big5", "latin-1"]
CONFIGURED = ["utf-8", "utf-8-sig", "gb18030", "big5", "utf-16", "utf-16-le", "latin-1", "ascii"]
EXTENSIONS = {"txt": ".txt", "csv": ".csv", "jsonl": ".jsonl"}


def mixed(r: random.Random, n: int) -> str:
    """n characters from random pools, in runs, as text mixes scripts."""
    out: list[str] = []
    while len(out) < n:
        pool = r.choice(POOLS)
        out += r.choices(pool, k=r.randint(1, 8))
    return "".join(out[:n])


def line(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.3:
        text = r.choice(SENTENCES)
    elif kind < 0.4:
        text = r.choice(FURNITURE)
    elif kind < 0.5:
        text = r.choice(HEADINGS)
    elif kind < 0.6:  # a long paragraph, split at sentence ends, with spaces between some
        text = r.choice(["", " ", "\u3000"]).join(r.choices(SENTENCES, k=r.randint(5, 40)))
    elif kind < 0.65:  # one long sentence without an end
        text = mixed(r, r.randint(600, 1500)).replace("。", "，")
    else:
        text = mixed(r, r.randint(0, 120))
    if r.random() < 0.2:  # furniture or a sentence inside other text
        cut = r.randint(0, len(text))
        text = text[:cut] + r.choice(FURNITURE + SENTENCES) + text[cut:]
    if r.random() < 0.15:
        text = r.choice(["\u3000\u3000", "    ", "\t", " "]) + text
    return text


def lines(r: random.Random) -> list[str]:
    return [line(r) for _ in range(r.choice([0, 1, 1, 2, 3, 5, 8, 20]))]


def joined(r: random.Random, parts: list[str]) -> str:
    one = r.choice(LINE_ENDS)  # most files keep one line end; some mix them
    return "".join(p + (one if r.random() < 0.8 else r.choice(LINE_ENDS)) for p in parts)


def txt(r: random.Random) -> str:
    return joined(r, lines(r))


def text_value(r: random.Random) -> Any:
    kind = r.random()
    if kind < 0.8:
        return joined(r, lines(r)) if r.random() < 0.5 else line(r)
    return r.choice([None, [line(r)], {"p": line(r)}, r.randint(-(10**6), 10**6), 3.5, True, ""])


def malformed_json(r: random.Random) -> str:
    return r.choice(
        [
            '{"text": "未闭合',
            '["数组"]',
            '"字符串"',
            "42",
            "{}",
            '{"id": 1}',
            r'{"text": "半个表情\ud83d"}',
            r'{"text": "\udc00\ud800"}',
            '{"text": "坏转义\\x41"}',
            '{"text": "多余"} 尾巴',
            '{"text": ' + "[" * r.randint(100, 3000) + "]" * r.randint(0, 50) + "}",
            '{"text": "大数", "n": ' + "9" * r.randint(4000, 5000) + "}",
            '{"text": NaN, "n": Infinity}',
            "\x00\x01",
        ]
    )


def jsonl(r: random.Random) -> str:
    rows = []
    for i in range(r.choice([0, 1, 2, 3, 5, 10])):
        if r.random() < 0.1:
            rows.append(malformed_json(r))
            continue
        record: dict[str, Any] = {"id": r.choice([f"d{i}", i, "dup", None]), "text": text_value(r)}
        if r.random() < 0.5:
            record["extra"] = r.choice(["甲", 1, None, [1, 2], {"k": "v"}])
        rows.append(json.dumps(record, ensure_ascii=r.random() < 0.3))
    return joined(r, rows) if r.random() < 0.5 else "\n".join(rows)


def csv_text(r: random.Random) -> str:
    out = io.StringIO()
    writer = csv.writer(
        out,
        quoting=r.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
        lineterminator=r.choice(["\n", "\r\n", "\r\r\n"]),
    )
    header = r.choice([["id", "text"], ["text"], ["text", "id", "extra"], ["id", "body"], ["text", "text"]])
    writer.writerow(header)
    for i in range(r.choice([0, 1, 2, 3, 5, 10])):
        writer.writerow([f"d{i}" if h == "id" else line(r) for h in header][: r.choice([1, 2, 3, 3, 3])])
    text = out.getvalue()
    if r.random() < 0.15:  # an unbalanced quote, a stray field, a NUL
        cut = r.randint(0, len(text))
        text = text[:cut] + r.choice(['"', '","', "\x00", '"\n', "\r"]) + text[cut:]
    return text


def mutate(r: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(r.randint(1, 6)):
        op = r.random()
        at = r.randint(0, len(buf))
        if op < 0.4 and buf and at < len(buf):
            buf[at] = r.randrange(256)
        elif op < 0.7:
            buf[at:at] = bytes(r.randrange(256) for _ in range(r.randint(1, 4)))
        elif op < 0.9:
            del buf[at : at + r.randint(1, 4)]
        else:
            del buf[at:]
    return bytes(buf)


@dataclass
class Case:
    name: str
    data: bytes
    fmt: str
    encoding: str  # what the bytes were written in
    config: Config

    def describe(self) -> str:
        cfg = self.config
        return (
            f"{self.name} ({self.fmt} in {self.encoding}, input.encoding={cfg.input.encoding}, "
            f"id_field={cfg.input.id_field}, meta_fields={cfg.input.meta_fields}, "
            f"segment={cfg.segment.model_dump()}): {self.data[:160]!r}"
        )


def generate(r: random.Random, i: int) -> Case:
    fmt = r.choice(["txt", "csv", "jsonl", "jsonl", "bytes"])
    if fmt == "bytes":
        data = bytes(r.randrange(256) for _ in range(r.randint(0, 400)))
        encoding = "random bytes"
        fmt = r.choice(["txt", "csv", "jsonl"])
    else:
        text = {"txt": txt, "csv": csv_text, "jsonl": jsonl}[fmt](r)
        encoding = r.choice(ENCODINGS)
        data = text.encode(encoding, errors="replace")
        if r.random() < 0.2:
            data = mutate(r, data)
    min_chars = r.choice([1, 10, 30])
    options: dict[str, Any] = {
        "input": {
            "paths": ["unused"],  # the file is handed to read_documents directly
            "encoding": "auto" if r.random() < 0.7 else r.choice(CONFIGURED),
            "id_field": "id" if r.random() < 0.2 else None,
            "meta_fields": ["extra"] if r.random() < 0.1 else [],
        },
        "segment": {
            "min_chars": min_chars,
            "max_chars": r.choice([max(20, min_chars + 1), 50, 600]),
            "heading_max_chars": r.choice([1, 10, 40, 200]),
            "to_simplified": r.random() < 0.1,
        },
    }
    return Case(f"case{i}{EXTENSIONS[fmt]}", data, fmt, encoding, Config.model_validate(options))


def run_case(case: Case, folder: Path, tokenizer: Tokenizer) -> None:
    """The way in for one case; a PipelineError is an answer, anything else a bug."""
    path = folder / case.name
    path.write_bytes(case.data)
    try:
        docs = list(corpus.read_documents(case.config, [corpus.InputFile(path, case.name, case.fmt)]))
        for doc in docs:
            assert all(isinstance(n, int) and isinstance(t, str) for n, t in doc.lines)
            assert doc.bad_bytes >= 0
        for unit, _removed in segment_documents(docs, case.config.segment):
            if not unit:
                continue
            assert unit["line_start"] <= unit["line_end"]
            assert unit["text"].strip()  # see test_a_run_of_spaces_longer_than_max_chars_gives_no_blank_unit
            # units.jsonl is written as UTF-8 JSON: every unit must survive that.
            json.dumps(unit, ensure_ascii=False).encode("utf-8")
            text = unit.get("text_simplified", unit["text"])
            if tokenizer.cfg.pos:
                # jieba.posseg takes about 3 ms a character on runs of rare ideographs (what
                # mis-decoded bytes become), 300 times its plain cut: a prefix keeps it in time.
                text = text[:POS_CHARS]
            tokens = tokenizer(text)
            assert all(isinstance(t, str) and t and t == t.strip() for t in tokens)
    except PipelineError:
        pass


POS_CHARS = 100  # characters of a unit given to the part-of-speech tagger


@pytest.fixture(scope="module")
def tokenizers() -> list[Tokenizer]:
    """jieba, rjieba, jieba again and jieba with part-of-speech tags (every fourth case):
    each built once for the module."""
    jieba = Tokenizer(Config())
    return [
        jieba,
        Tokenizer(Config.model_validate({"tokenize": {"engine": "rjieba"}})),
        jieba,
        Tokenizer(Config.model_validate({"tokenize": {"pos": ["n", "v", "a"]}})),
    ]


BATCHES = [(1, None), (2, None), (3, None), (4, 300)]  # (seed, corpus.READ_BLOCK for the batch)
CASES_PER_BATCH = 600


@pytest.mark.parametrize(("seed", "read_block"), BATCHES, ids=[f"seed{s}" for s, _ in BATCHES])
def test_random_files_read_segment_and_tokenize_or_raise_pipeline_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tokenizers: list[Tokenizer],
    seed: int,
    read_block: int | None,
) -> None:
    if read_block is not None:  # large-file reading: jsonl files cut in blocks, head detection
        monkeypatch.setattr(corpus, "READ_BLOCK", read_block)
    r = random.Random(seed)
    failures = []
    for i in range(CASES_PER_BATCH):
        case = generate(r, i)
        try:
            run_case(case, tmp_path, tokenizers[i % len(tokenizers)])
        except Exception as exc:  # every failure is listed, with its case
            where = traceback.extract_tb(exc.__traceback__)[-1]
            failures.append(
                f"seed {seed} {case.describe()}\n  -> {type(exc).__name__}: {exc} "
                f"at {Path(where.filename).name}:{where.lineno}"
            )
    assert failures == []


def test_decode_of_random_bytes_gives_text_or_an_input_error() -> None:
    r = random.Random(5)
    failures = []
    for i in range(2000):
        kind = r.random()
        if kind < 0.4:
            data = bytes(r.randrange(256) for _ in range(r.randint(0, 300)))
        else:  # text in one encoding, damaged
            data = mutate(r, mixed(r, r.randint(0, 200)).encode(r.choice(ENCODINGS), errors="replace"))
        encoding = "auto" if kind < 0.7 else r.choice([*CONFIGURED, "utf-32", "cp1252", "shift_jis"])
        try:
            text, used, bad = corpus.decode(data, encoding, "x")
            assert isinstance(text, str) and bad >= 0
            assert encoding == "auto" or used == encoding
        except PipelineError:
            pass
        except Exception as exc:  # listed, with its case
            failures.append(f"case {i}: decode({data!r}, {encoding!r}) -> {type(exc).__name__}: {exc}")
    assert failures == []


def test_a_run_of_spaces_longer_than_max_chars_gives_no_blank_unit() -> None:
    # Found by the fuzz at seed 104, case 571 (a jsonl record of U+3000 runs).
    doc = corpus.Document("d", "d.txt", [(1, "疫情防控" + "\u3000" * 45 + "人人有责")])
    cfg = SegmentConfig(min_chars=10, max_chars=20)
    texts = [u["text"] for u, _ in segment_documents([doc], cfg) if u]
    assert texts and all(t.strip() == t for t in texts)


def test_random_file_names_are_listed_with_utf8_names_or_refused(tmp_path: Path) -> None:
    """Any bytes a file name can hold: the folder is listed, every name shown is UTF-8 (it
    goes into every output), or one InputError names the file that cannot be shown."""
    r = random.Random(23)
    failures = []
    for i in range(200):
        folder = tmp_path / f"f{i}"
        folder.mkdir()
        for j in range(r.randint(1, 4)):
            raw = bytes(r.choice([r.randrange(1, 256), *b"abc.-_ ", *"疫情".encode()]) for _ in range(12))
            name = raw.replace(b"/", b"_").lstrip(b".") or b"x"
            with contextlib.suppress(OSError):  # a name the file system refuses
                (folder / os.fsdecode(name + f"{j}.txt".encode())).write_text("正文。", encoding="utf-8")
        config = Config.model_validate({"input": {"paths": [str(folder)]}})
        try:
            for f in corpus.list_inputs(config, warn=True):
                f.source.encode("utf-8")
                json.dumps({"source": f.source}, ensure_ascii=False).encode("utf-8")
        except PipelineError as exc:
            message = str(exc)
            message.encode("utf-8")  # the error itself can be printed
            answers = ("file name is not valid UTF-8; rename it", "add files or fix input.paths")
            assert message.endswith(answers)
        except Exception as exc:  # listed, with its case
            failures.append(f"case {i}: {sorted(os.listdir(folder))!r} -> {type(exc).__name__}: {exc}")
    assert failures == []


DATE_PIECES = ["2019", "2019-07", "2019-07-01", "20190701", "2019年7月1日", "2019/7", "7/1/2019", "", " "]


def test_random_meta_dates_are_periods_or_counted_as_undated() -> None:
    """Whatever a meta field holds, segment's check and the report's periods agree: a value
    is a date of a grain for both, or segment counts it as undated, before training."""
    from pipeline import dates
    from pipeline.reporting import summary

    r = random.Random(11)
    failures = []
    for i in range(2000):
        kind = r.random()
        value: Any = (
            r.choice(DATE_PIECES) + mixed(r, r.randint(0, 4))
            if kind < 0.5
            else r.choice([None, 2019, 20190701, 3.5, True, [2019], {"y": 2019}, mixed(r, r.randint(0, 12))])
        )
        undated = dates.Undated()
        undated.add("f.jsonl:1", "d", {"date": value}, ["date"])
        for grain in dates.GRAINS:
            error = dates.undated_error(undated.found, "date", grain)
            try:
                got = summary.period_of(value, grain, "date")
                if error is not None:
                    failures.append(f"case {i}: {value!r} {grain}: the report reads {got!r}, segment refuses")
            except PipelineError:
                if error is None:
                    failures.append(f"case {i}: {value!r} {grain}: segment passes what the report refuses")
            except Exception as exc:
                failures.append(f"case {i}: {value!r} {grain} -> {type(exc).__name__}: {exc}")
    assert failures == []


def test_random_executor_addresses_load_or_give_one_config_error() -> None:
    r = random.Random(8786)
    pieces = ["tcp://", "tls://", "ucx://", "ws://", "wss://", "inproc://", "http://", "://", "", "tcp:/"]
    hosts = ["127.0.0.1", "[::1]", "scheduler", "10.0.0.5", "", "a b", "主机", "[::1"]
    ports = [":8786", ":0", ":65535", ":65536", ":", "", ":http", ":-1"]
    failures = []
    for i in range(1000):
        tail = mixed(r, 2) if r.random() < 0.1 else ""
        address = r.choice(pieces) + r.choice(hosts) + r.choice(ports) + tail
        try:
            load_config(None, ["executor.kind=dask", f"executor.address={address}"])
        except ConfigError as exc:
            assert str(exc).startswith("--set executor.address=") and "\n" not in str(exc), str(exc)
        except Exception as exc:
            failures.append(f"case {i}: {address!r} -> {type(exc).__name__}: {exc}")
    assert failures == []
