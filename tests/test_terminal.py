"""show, compare, stages and validate drawn to the terminal's width (COLUMNS; a CJK
character counts two columns), and compare's account of curated topics."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.cells import cell_len

from pipeline import display
from pipeline.runs import compare_runs, open_run

from .conftest import invoke, write_config

LONG_CJK = "社区防疫宣传与居民科学防疫知识普及以及基层服务工作的长期观察和总结报告"
LONG_LATIN = "A topic [/b] with a very long English name that goes on and on and on"  # not markup


def _edit_labels(run_dir: Path, topics: dict[int, dict[str, Any]]) -> None:
    path = run_dir / "labels.yaml"
    labels = yaml.safe_load(path.read_text(encoding="utf-8"))
    for t, values in topics.items():
        labels[t].update(values)
    path.write_text(yaml.safe_dump(labels, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def runs(seeds_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The seeds run; the same with 4 topics ("fewer": topics vanish); the same with a topic
    dropped, one merged into another and two very long names ("curated")."""
    folder = tmp_path_factory.mktemp("terminal")
    config = write_config(folder)
    base = folder / "runs"
    for name in ("seeds", "fewer", "curated"):
        shutil.copytree(seeds_run, base / name)  # copied: segment to train stay up to date
    fewer = invoke("run", config, "--set", "run.name=fewer", "--set", "model.num_topics=4")
    assert fewer.exit_code == 0, fewer.stderr
    k = len(json.loads((seeds_run / "topics.json").read_text(encoding="utf-8")))
    drop, source, target = 1, k - 1, 0
    _edit_labels(
        base / "curated",
        {
            drop: {"drop": True},
            source: {"merge_into": target},
            2: {"name": LONG_CJK},
            3: {"name": LONG_LATIN},
        },
    )
    curated = invoke("run", config, "--set", "run.name=curated")
    assert curated.exit_code == 0, curated.stderr
    return {"config": config, "base": base, "k": k, "drop": drop, "source": source, "target": target}


def _commands(runs: dict[str, Any]) -> list[list[Any]]:
    base = runs["base"]
    return [
        ["show", base / "seeds"],
        ["show", base / "fewer"],
        ["show", base / "curated"],
        ["compare", base / "seeds", base / "fewer"],
        ["compare", base / "fewer", base / "seeds"],
        ["compare", base / "curated", base / "seeds"],
        ["compare", base / "seeds", base / "curated"],
        ["stages", runs["config"], "--set", "run.name=curated", "--set", "report.top_terms=5"],
    ]


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_no_line_is_wider_than_the_terminal(runs: dict[str, Any], columns: int) -> None:
    for args in _commands(runs):
        result = invoke(*args, columns=columns)
        assert result.exit_code == 0, (args, result.stderr)
        widest = max(result.stdout.splitlines(), key=cell_len)
        assert cell_len(widest) <= columns, (args, widest)


def _topic_rows(stdout: str) -> dict[int, str]:
    """The lines of each row of the ``show`` table, joined: from the line that starts with
    the topic's id to the next such line."""
    body = stdout.split("─\n", 1)[1].split("\nshare: ")[0].splitlines()
    rows: dict[int, str] = {}
    current = -1
    for line in body:
        start = re.match(r"\s*(\d+)\s", line)
        if start:
            current = int(start.group(1))
        rows[current] = rows.get(current, "") + line + "\n"
    return rows


def _terms(topic: dict[str, Any]) -> list[str]:
    """The terms ``show`` lists for a topic of topics.json."""
    return [x["term"] for x in (topic.get("relevance") or topic["terms"])[:8]]


def _flag_words(topic: dict[str, Any]) -> list[str]:
    """The words of the flags ``show`` lists for a topic of topics.json."""
    marks = ["dropped"] if topic.get("dropped") else []
    marks += [f"merged {', '.join(map(str, topic['merged']))}"] if topic.get("merged") else []
    return [w for f in [*topic["flags"], *marks] for w in f.split()]


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("run", ["seeds", "curated"])
def test_a_topic_s_row_keeps_its_share_terms_and_flags_together(
    runs: dict[str, Any], run: str, columns: int
) -> None:
    result = invoke("show", runs["base"] / run, columns=columns)
    assert result.exit_code == 0, result.stderr
    rows = _topic_rows(result.stdout)
    topics = json.loads((runs["base"] / run / "topics.json").read_text(encoding="utf-8"))
    assert sorted(rows) == [t["topic"] for t in topics]
    for t in topics:
        row = rows[t["topic"]]
        first = row.splitlines()[0]
        assert f"{100 * t['prevalence']:.1f}%" in first  # id and share on one line
        words = row.split()
        terms = _terms(t)
        # Each term whole and in order, then each flag's words, though a long name's pieces
        # may come between them.
        found = iter(words)
        assert all(word in found for word in terms + _flag_words(t))


def test_a_long_name_wraps_inside_its_cell(runs: dict[str, Any]) -> None:
    result = invoke("show", runs["base"] / "curated", columns=80)
    rows = _topic_rows(result.stdout)
    topics = {
        t["topic"]: t for t in json.loads((runs["base"] / "curated" / "topics.json").read_text("utf-8"))
    }
    for t, name, joiner in ((2, LONG_CJK, ""), (3, LONG_LATIN, " ")):
        # What is left of the row without its id, share, terms and flags: the name, in pieces.
        rest = rows[t].split()[1:]
        for word in [f"{100 * topics[t]['prevalence']:.1f}%", *_terms(topics[t]), *_flag_words(topics[t])]:
            rest.remove(word)
        assert joiner.join(rest) == name


def _section(stdout: str, title: str) -> list[list[str]]:
    """The header and rows of the compare table titled ``title``: its lines, cut at runs of
    two or more spaces, until a blank line or its caption."""
    text = "\n".join(line.rstrip() for line in stdout.splitlines())  # rich pads a table's lines
    lines = text.split(f"\n{title}\n", 1)[1].split("\n\n")[0].splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("─"))
    rows = [lines[rule - 1]] + [line for line in lines[rule + 1 :] if not line.startswith("similarity:")]
    return [re.split(r"\s{2,}", line.strip()) for line in rows]


def test_compare_names_the_curation_once_and_explains_a_and_b(runs: dict[str, Any]) -> None:
    base, drop, source, target = runs["base"], runs["drop"], runs["source"], runs["target"]
    result = invoke("compare", base / "curated", base / "seeds", columns=200)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        lines[0].rstrip()
        == f"curated vs seeds: {runs['k'] - 2} matched, 0 new, 0 vanished, 1 dropped, 1 merged"
    )
    assert lines[1].rstrip() == f"A = {base / 'curated'}, B = {base / 'seeds'}"
    curated = _section(result.stdout, "Dropped or merged in labels.yaml")
    assert curated[0][:4] == ["run", "topic", "curation", "matches"]
    assert [row[:4] for row in curated[1:]] == sorted(
        [
            ["A", str(drop), "dropped", f"B {drop} (1.000)"],
            ["A", str(source), f"merged into {target}", f"B {source} (1.000)"],
        ],
        key=lambda r: int(r[1]),
    )
    # The topics of B they stand for are neither new nor vanished.
    assert "New in B" not in result.stdout and "Vanished from A" not in result.stdout
    matched = {
        int(r[0]): (int(r[1]), float(r[2])) for r in _section(result.stdout, "Matched")[1:] if r[0].isdigit()
    }
    assert drop not in matched and source not in matched
    for t in set(range(runs["k"])) - {drop, source, target}:
        assert matched[t] == (t, 1.0)
    back = invoke("compare", base / "seeds", base / "curated", columns=200)
    assert "merged into" in back.stdout
    assert [r[:3] for r in _section(back.stdout, "Dropped or merged in labels.yaml")[1:]] == sorted(
        [["B", str(drop), "dropped"], ["B", str(source), f"merged into {target}"]], key=lambda r: int(r[1])
    )
    assert "New in B" not in back.stdout and "Vanished from A" not in back.stdout


def test_a_curated_topic_is_listed_once_and_matched_to_the_other_run_s_own(runs: dict[str, Any]) -> None:
    base, drop, source, target = runs["base"], runs["drop"], runs["source"], runs["target"]
    result = compare_runs(open_run(base / "curated"), open_run(base / "curated"))
    assert result["new"] == result["vanished"] == []
    assert [(c["run"], c["topic"], c["status"], c["into"], c["other"]) for c in result["curated"]] == [
        *sorted([("A", drop, "dropped", None, drop), ("A", source, "merged", target, source)]),
        *sorted([("B", drop, "dropped", None, drop), ("B", source, "merged", target, source)]),
    ]
    assert all(c["similarity"] == 1.0 for c in result["curated"])
    against_fewer = compare_runs(open_run(base / "curated"), open_run(base / "fewer"))
    listed = [v["topic"] for v in against_fewer["vanished"]] + [m["a"] for m in against_fewer["matched"]]
    listed += [c["topic"] for c in against_fewer["curated"] if c["run"] == "A"]
    assert sorted(listed) == list(range(runs["k"]))  # each topic of A once


def test_compare_lists_vanished_topics_with_their_closest(runs: dict[str, Any]) -> None:
    base = runs["base"]
    result = invoke("compare", base / "seeds", base / "fewer", columns=80)
    vanished = _section(result.stdout, "Vanished from A: no topic of B matches")
    assert vanished[0] == ["A", "top terms", "closest in B"]
    data = compare_runs(open_run(base / "seeds"), open_run(base / "fewer"))
    assert len(data["vanished"]) >= runs["k"] - 4
    closest = [r[-1] for r in vanished[1:] if r[0].isdigit()]
    assert closest == [f"{v['closest']} ({v['best_similarity']:.3f})" for v in data["vanished"]]


def test_stages_wraps_a_long_reason_under_itself(runs: dict[str, Any]) -> None:
    args = ["stages", runs["config"], "--set", "report.top_terms=5", "--set", "report.excerpt_chars=99"]
    wide = invoke(*args, columns=200).stdout.splitlines()
    narrow = invoke(*args, columns=50).stdout.splitlines()
    reason = "would run: config changed: report.excerpt_chars 160 -> 99, report.top_terms 10 -> 5"
    assert wide[-1].rstrip() == f"report      {reason}"
    assert max(map(cell_len, narrow)) <= 50
    at = next(i for i, ln in enumerate(narrow) if ln.startswith("report "))
    assert len(narrow) > at + 1 and all(ln.startswith(" " * 12) for ln in narrow[at + 1 :])
    assert " ".join(" ".join(narrow[at:]).split()) == f"report {reason}"


def test_validate_folds_a_long_value_and_stays_yaml(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    pattern = " ".join(["广告"] * 5 + ["advertisement"] * 8)
    result = invoke("validate", config, "--set", f"segment.furniture_patterns=[{pattern}]", columns=60)
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load(result.stdout)["segment"]["furniture_patterns"] == [pattern]
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"# {config}: valid; 5 input files", f"# run folder: {tmp_path / 'runs' / 'seeds'}"]
    folded = [ln for ln in lines if "advertisement" in ln]
    assert len(folded) > 1 and all(cell_len(ln) <= 60 for ln in folded)


@pytest.mark.parametrize(
    ("columns", "terminal", "expected"),
    [("73", None, 73), (None, None, display.DEFAULT_WIDTH), (None, 132, 132), ("61", 132, 61)],
)
def test_the_width_is_columns_then_the_terminal_then_the_default(
    monkeypatch: pytest.MonkeyPatch, columns: str | None, terminal: int | None, expected: int
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)

    def size(fd: int = 1) -> os.terminal_size:
        if terminal is None:
            raise OSError("not a terminal")
        return os.terminal_size((terminal, 40))

    monkeypatch.setattr(os, "get_terminal_size", size)
    assert display.console().width == expected
