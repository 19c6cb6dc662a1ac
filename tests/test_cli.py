"""The CLI through typer's CliRunner: the run contract, skipping, determinism, errors."""

from __future__ import annotations

import csv
import json
import re
from importlib import metadata
from pathlib import Path

import pytest

from pipeline.artifacts import TEMPORARY
from pipeline.stages import STAGE_NAMES

from .conftest import DETERMINISTIC, OUTPUTS, SEEDS, invoke, snapshot, write_config

RESULT_LIBRARIES = (
    "gensim",
    "jieba",
    "rjieba",
    "numpy",
    "scipy",
    "scikit-learn",
    "tomotopy",
    "OpenCC",
    "pydantic",
    "dask",
    "distributed",
)


def test_default_run_writes_every_output(seeds_run: Path) -> None:
    for name in OUTPUTS:
        assert (seeds_run / name).exists(), name
    manifest = json.loads((seeds_run / "manifest.json").read_text(encoding="utf-8"))
    assert [manifest["stages"][s]["status"] for s in STAGE_NAMES] == ["ran"] * 6
    assert {i["source"] for i in manifest["inputs"]} == {f"seeds/{p.name}" for p in SEEDS.iterdir()}
    # Every library that can change a result is named with its installed version.
    for name in RESULT_LIBRARIES:
        assert manifest["packages"][name] == metadata.version(name), name


def test_num_topics_override_reaches_every_output(run_copy: tuple[Path, Path]) -> None:
    config, run_dir = run_copy
    result = invoke("run", config, "--set", "model.num_topics=5")
    assert result.exit_code == 0, result.stderr
    with (run_dir / "assignments.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert [c for c in header if c.startswith("topic_")] == [f"topic_{i}" for i in range(5)]
    with (run_dir / "documents.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert [c for c in header if c.startswith("topic_")] == [f"topic_{i}" for i in range(5)]
    with (run_dir / "topics.csv").open(encoding="utf-8") as fh:
        assert {int(r["topic"]) for r in csv.DictReader(fh)} == set(range(5))
    topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
    assert [t["topic"] for t in topics] == list(range(5))
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^## Topic \d+", report, flags=re.M)) == 5
    # Only the model and what follows it re-ran.
    for stage in ("segment", "tokenize", "dictionary"):
        assert f"{stage}: skipped (up to date)" in result.stderr
    for stage in ("train", "assign", "report"):
        assert f"{stage}: done in" in result.stderr


def test_second_run_skips_everything_and_force_reproduces_identical_files(
    run_copy: tuple[Path, Path],
) -> None:
    config, run_dir = run_copy
    before = snapshot(run_dir)
    again = invoke("run", config)
    assert again.exit_code == 0
    assert again.stderr.count("skipped (up to date)") == 6
    forced = invoke("run", config, "--force")
    assert forced.exit_code == 0
    assert forced.stderr.count("done in") == 6
    assert snapshot(run_dir) == before


def test_separate_runs_are_byte_identical(seeds_run: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert invoke("run", config).exit_code == 0
    assert snapshot(tmp_path / "runs" / "seeds") == snapshot(seeds_run)


def test_from_and_to_select_stages(run_copy: tuple[Path, Path]) -> None:
    config, _ = run_copy
    result = invoke("run", config, "--from", "assign", "--to", "assign", "--force")
    assert result.exit_code == 0
    assert "assign: done in" in result.stderr
    started = {line.split(":")[0] for line in result.stderr.splitlines()}
    assert not started & {"segment", "tokenize", "dictionary", "train", "report"}
    bad = invoke("run", config, "--from", "fit")
    assert bad.stderr == "Error: unknown stage 'fit' (stages: " + ", ".join(STAGE_NAMES) + ")\n"


def test_stages_command_says_why_a_stage_would_run(run_copy: tuple[Path, Path]) -> None:
    config, _ = run_copy
    fresh = invoke("stages", config)
    assert fresh.exit_code == 0
    assert fresh.stdout.count("up to date") == 6
    changed = invoke("stages", config, "--set", "report.top_terms=5")
    lines = dict(line.split(maxsplit=1) for line in changed.stdout.splitlines())
    assert lines["train"] == "up to date"
    assert lines["report"] == "would run: config changed: report.top_terms 10 -> 5"


def test_validate_prints_resolved_values(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = invoke("validate", config, "--set", "model.num_topics=12")
    assert result.exit_code == 0
    assert "num_topics: 12" in result.stdout
    assert f"output_dir: {tmp_path / 'runs'}" in result.stdout


SEED_TITLE = "《“灯塔大课堂”第十一课——榜样讲党课》学习心得"  # the title line of seeds/000_…
TEXT_FIX = "set input.text_field to a field that holds a string or a list of strings"


def _bad(tmp_path: Path, create: bool = True) -> dict[str, tuple[list[str], str]]:
    """Each bad input: (CLI arguments after 'run CONFIG', exact error message; one that
    ends in '…' is the start of it)."""
    empty = tmp_path / "empty"
    binary = tmp_path / "blob.txt"
    objects = tmp_path / "objects.jsonl"
    if create:
        empty.mkdir()
        binary.write_bytes(b"\x00\x01\x02 binary \x00" * 20)
        objects.write_text(
            "".join(json.dumps({"id": i, "paragraphs": [{"text": "正文"}]}) + "\n" for i in range(2)),
            encoding="utf-8",
        )
    return {
        "missing path": (
            ["--set", "input.paths=[nowhere]"],
            "nowhere: no such file or folder (input.paths is relative to the config file)",
        ),
        "empty folder": (
            ["--set", f"input.paths=[{empty}]"],
            f"{empty}: folder has no input files (.csv, .jsonl, .md, .text, .txt); "
            "add files or fix input.paths",
        ),
        "binary file": (
            ["--set", f"input.paths=[{binary}]"],
            "blob.txt: looks like a binary file, not text (remove it from input.paths)",
        ),
        "unknown key": (
            ["--set", "model.num_topic=5"],
            "--set model.num_topic=5: unknown setting (did you mean 'num_topics'?)",
        ),
        "wrong type": (
            ["--set", "model.passes=lots"],
            "--set model.passes=lots: invalid value 'lots' (Input should be a valid integer, "
            "unable to parse string as an integer)",
        ),
        "out of range": (
            ["--set", "dictionary.no_above=0"],
            "--set dictionary.no_above=0: invalid value 0 (Input should be greater than 0)",
        ),
        "too many topics": (
            ["--set", "model.num_topics=500"],
            "model.num_topics: 500 topics for 132 units with tokens; use at most 132 "
            "(e.g. --set model.num_topics=10)",
        ),
        "all tokens filtered": (["--set", "tokenize.min_len=60"], "every token was filtered out (…"),
        "alpha not above 0": (
            ["--set", "model.alpha=-1"],
            "--set model.alpha=-1: invalid value -1 (Input should be greater than 0)",
        ),
        "eta zero with tomotopy": (
            ["--set", "model.engine=tomotopy", "--set", "model.eta=0"],
            "--set model.eta=0: invalid value 0 (Input should be greater than 0)",
        ),
        "a boolean for a number": (
            ["--set", "model.passes=true"],
            "--set model.passes=true: invalid value true (a number is needed here, not true or false)",
        ),
        "misspelt range key": (
            ["--set", "model.num_topics={min: 4, mx: 12}"],
            "--set model.num_topics={min: 4, mx: 12}: model.num_topics.mx: unknown setting "
            "(did you mean 'max'?)",
        ),
        "label field not a meta field": (
            ["--set", "input.label_field=label"],
            "--set input.label_field=label: invalid value 'label' (not one of input.meta_fields; "
            "add it to input.meta_fields: [label])",
        ),
        "prevalence field not a meta field": (
            ["--set", "report.prevalence_field=month"],
            "--set report.prevalence_field=month: invalid value 'month' (not one of input.meta_fields; "
            "add it to input.meta_fields: [month])",
        ),
        "run name leaves the output folder": (
            ["--set", "run.name=.."],
            "--set run.name=..: invalid value '..' (one plain folder name is needed: letters, digits, "
            "'_', '-' and '.', not starting with '.')",
        ),
        "dictionary empty": (
            ["--set", "dictionary.no_below=1000"],
            "every token was filtered out by the dictionary (…",
        ),
        "every record's text a list of objects": (
            ["--set", f"input.paths=[{objects}]", "--set", "input.text_field=paragraphs"],
            f"objects.jsonl:1: every record's 'paragraphs' is a list of objects (2 records); {TEXT_FIX}",
        ),
        "text field missing from the first record": (
            ["--set", f"input.paths=[{objects}]", "--set", "input.text_field=txt"],
            "objects.jsonl:1: no field 'txt' (fields: id, paragraphs); set input.text_field",
        ),
        "title field missing from the first record": (
            [
                "--set",
                f"input.paths=[{objects}]",
                "--set",
                "input.text_field=paragraphs",
                "--set",
                "input.title_field=title",
            ],
            "objects.jsonl:1: no field 'title' named in input.title_field",
        ),
    }


@pytest.mark.parametrize("case", list(_bad(Path("/nonexistent"), create=False)))
def test_bad_input_gives_one_line_error_and_keeps_earlier_outputs(
    run_copy: tuple[Path, Path], tmp_path: Path, case: str
) -> None:
    config, run_dir = run_copy
    args, message = _bad(tmp_path)[case]
    before = snapshot(run_dir, [*DETERMINISTIC, "units.jsonl", "tokens.jsonl", "vocab.tsv", "report.md"])
    result = invoke("run", config, *args)
    assert result.exit_code == 2
    # Stage progress may come first; the error is one line, the last.
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert errors == [result.stderr.splitlines()[-1]]
    assert "Traceback" not in result.stderr
    if message.endswith("…"):
        assert errors[0].startswith("Error: " + message[:-1])
    else:
        assert errors[0] == "Error: " + message
    after = snapshot(run_dir, list(before))
    assert after == before
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(TEMPORARY)]


def _bad_command(tmp_path: Path, create: bool = True) -> dict[str, tuple[list[str], str]]:
    """Bad input to the commands that check or apply a run: (arguments, with {config}
    and {run} for the seeds run's config and folder; the exact error message)."""
    others, blocker, objects = tmp_path / "others", tmp_path / "blocker.txt", tmp_path / "objects.jsonl"
    bad_dict = tmp_path / "dict.txt"
    if create:
        others.mkdir()
        (others / "notes.txt").write_text("不是输出", encoding="utf-8")
        blocker.write_text("一个文件", encoding="utf-8")
        objects.write_text(json.dumps({"text": [{"text": "正文"}]}) + "\n", encoding="utf-8")
        bad_dict.write_text("疫情防控 many n\n", encoding="utf-8")
    return {
        "validate: missing input path": (
            ["validate", "{config}", "--set", "input.paths=[nowhere]"],
            "nowhere: no such file or folder (input.paths is relative to the config file)",
        ),
        "validate: missing stopword file": (
            ["validate", "{config}", "--set", "tokenize.stopwords=[nope.txt]"],
            f"{tmp_path}/nope.txt: stopword file not found (paths are relative to the config file)",
        ),
        "validate: malformed user dictionary": (
            ["validate", "{config}", "--set", f"tokenize.userdict=[{bad_dict}]"],
            f"{bad_dict}:1: expected 'word [freq] [pos]', got '疫情防控 many n' "
            "(freq is a whole number, pos a tag such as n or v)",
        ),
        "validate: a --set typo": (
            ["validate", "{config}", "--set", "model.num_topic=5"],
            "--set model.num_topic=5: unknown setting (did you mean 'num_topics'?)",
        ),
        "infer: missing path": (
            ["infer", "{run}", "missing.txt"],
            "missing.txt: no such file or folder "
            "(paths on the command line are relative to the working directory)",
        ),
        "infer: --out holds other files": (
            ["infer", "{run}", str(SEEDS), "--out", str(others)],
            f"{others}: this folder holds files the pipeline did not write (notes.txt), so it cannot be a "
            "run folder; choose another --out, or an empty folder",
        ),
        "infer: --out inside a file": (
            ["infer", "{run}", str(SEEDS), "--out", str(blocker / "new")],
            f"{blocker / 'new'}: cannot create the run folder (Not a directory); choose another --out",
        ),
        "infer: records without text": (
            ["infer", "{run}", str(objects)],
            f"objects.jsonl:1: every record's 'text' is a list of objects (1 record); {TEXT_FIX}",
        ),
    }


@pytest.mark.parametrize("case", list(_bad_command(Path("/nonexistent"), create=False)))
def test_bad_input_to_validate_and_infer_gives_one_line_error(
    run_copy: tuple[Path, Path], tmp_path: Path, case: str
) -> None:
    config, run_dir = run_copy
    args, message = _bad_command(tmp_path)[case]
    result = invoke(*(a.replace("{config}", str(config)).replace("{run}", str(run_dir)) for a in args))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert not (run_dir / "infer" / "documents.csv").exists()


def test_infer_reads_new_files_by_their_own_format(tmp_path: Path) -> None:
    """A run trained on jsonl records applies to .txt files, by extension or --format."""
    records = tmp_path / "seeds.jsonl"
    with records.open("w", encoding="utf-8") as fh:
        for path in sorted(SEEDS.iterdir()):
            lines = path.read_text(encoding="utf-8").splitlines()
            fh.write(json.dumps({"id": path.stem, "paragraphs": lines}, ensure_ascii=False) + "\n")
    config = write_config(
        tmp_path,
        input={
            "paths": [str(records)],
            "format": "jsonl",
            "text_field": "paragraphs",
            "id_field": "id",
            "title_field": "id",
        },
        model={"passes": 2},
    )
    assert invoke("run", config).exit_code == 0
    run_dir = tmp_path / "runs" / "seeds"
    new = tmp_path / "new.txt"
    new.write_text((SEEDS / "000_1a0ce78baffdf577.txt").read_text(encoding="utf-8"), encoding="utf-8")
    for args in ([], ["--format", "txt"]):
        result = invoke("infer", run_dir, new, "--out", tmp_path / "inferred", *args)
        assert result.exit_code == 0, result.stderr
        with (tmp_path / "inferred" / "documents.csv").open(encoding="utf-8") as fh:
            (row,) = csv.DictReader(fh)
        assert (row["doc_id"], row["source"], row["title"]) == ("new", "new.txt", SEED_TITLE)
    # Read as the run's own format, the text file is no jsonl.
    result = invoke("infer", run_dir, new, "--format", "jsonl")
    assert result.stderr == "Error: new.txt:1: invalid JSON (Expecting value); one object a line\n"


def test_invalid_yaml_error_names_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("model:\n  num_topics: [5\n", encoding="utf-8")
    result = invoke("run", config)
    assert result.exit_code == 2
    assert re.fullmatch(rf"Error: {re.escape(str(config))}:3:1: invalid YAML: .+\n", result.stderr)


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path, input={"paths": ["nowhere"]})
    result = invoke("run", config, "--verbose")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().endswith(
        "Error: nowhere: no such file or folder (input.paths is relative to the config file)"
    )


def test_topic_diagnostics_do_not_change_with_the_terms_listed(run_copy: tuple[Path, Path]) -> None:
    config, run_dir = run_copy

    def diagnostics() -> list[tuple[float | None, float | None]]:
        topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
        return [(t["coherence"], t["diagnostics"]["exclusivity"]) for t in topics]

    listed = {}
    for n in (3, 10, 30):
        result = invoke("run", config, "--from", "report", "--set", f"report.top_terms={n}")
        assert result.exit_code == 0, result.stderr
        topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
        assert all(len(t["terms"]) == n for t in topics)
        listed[n] = diagnostics()
    assert listed[3] == listed[10] == listed[30]
    assert any(c is not None for c, _ in listed[10])
