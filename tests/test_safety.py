"""Safe to point at your own folders: the run folder belongs to the tool, no failure
escapes as a traceback, and a broken artifact is a clear error (issue rows D1, D5, D7,
D8, D10)."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.artifacts import MARKER, RunStore
from pipeline.errors import StoreError

from .conftest import REPO, SEEDS, invoke, snapshot, write_config


def _listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _git_repo(folder: Path) -> Path:
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / "notes.txt").write_text("my only copy\n", encoding="utf-8")
    (folder / ".gitignore").write_text("*.tmp\n", encoding="utf-8")
    return folder


def test_run_name_dotdot_inside_a_git_clone_stops_and_leaves_the_repository_alone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    before = _listing(clone / ".git")
    result = invoke("run", clone / "configs" / "default.yaml", "--set", "run.name=..")
    assert result.exit_code == 2
    assert result.stderr.count("Error: ") == 1 and "Traceback" not in result.stderr
    assert _listing(clone / ".git") == before
    status = subprocess.run(
        ["git", "-C", str(clone), "status", "--porcelain"], capture_output=True, text=True
    )
    assert status.returncode == 0 and status.stdout == ""
    assert not (clone / "units.jsonl").exists()


def test_an_output_folder_that_is_a_git_repository_is_refused(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path / "work" / "myrepo")
    before = _listing(repo)
    config = write_config(tmp_path, run={"output_dir": str(tmp_path / "work"), "name": "myrepo"})
    result = invoke("run", config)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {repo}: this folder holds files the pipeline did not write (.git, .gitignore, notes.txt), "
        "so it cannot be a run folder; choose another run.name or run.output_dir, or an empty folder\n"
    )
    assert _listing(repo) == before


def test_an_empty_folder_becomes_a_run_folder_and_carries_the_marker(tmp_path: Path) -> None:
    (tmp_path / "runs" / "seeds").mkdir(parents=True)
    store = RunStore(tmp_path / "runs" / "seeds")
    store.write_text("a.txt", "x\n")
    assert (tmp_path / "runs" / "seeds" / MARKER).is_file()
    assert RunStore(tmp_path / "runs" / "seeds").read_text("a.txt") == "x\n"


def test_cleaning_removes_only_the_tools_own_temporary_names(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "run")
    store.write_text("topics.csv", "t\n")
    for name in (".git", ".ci", ".env"):
        (tmp_path / "run" / name).mkdir()
    (tmp_path / "run" / ".pipeline-tmp.units.jsonl.abc123").write_text("half", encoding="utf-8")
    (tmp_path / "run" / ".pipeline-old.model").mkdir()
    assert store.clean_temporary() == 2
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        ".ci",
        ".env",
        ".git",
        MARKER,
        "topics.csv",
    ]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (
            "{run}",
            "{run}: --out is a run folder, and its assignments.csv and documents.csv would be replaced; "
            "choose another folder (default: RUN-infer, beside the run folder)",
        ),
        (
            "{run}/.pipeline-staging",
            "{run}/.pipeline-staging: --out is inside the run folder {run}, whose files belong to its runs; "
            "choose a folder outside it (default: RUN-infer, beside the run folder)",
        ),
        (
            "{run}/model/new",
            "{run}/model/new: --out is inside the run folder {run}, whose files belong to its runs; "
            "choose a folder outside it (default: RUN-infer, beside the run folder)",
        ),
    ],
)
def test_infer_refuses_to_write_into_or_inside_a_run_folder(
    run_copy: tuple[Path, Path], out: str, message: str
) -> None:
    config, run_dir = run_copy
    before = _listing(run_dir)
    result = invoke("infer", run_dir, str(SEEDS), "--out", out.format(run=run_dir))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message.format(run=run_dir)}\n"
    assert _listing(run_dir) == before
    # The next run finds nothing of infer's to publish.
    assert invoke("run", config).stderr.count("skipped (up to date)") == 6
    assert _listing(run_dir) == {**before, "manifest.json": (run_dir / "manifest.json").read_bytes()}


def test_infer_writes_beside_the_run_folder_by_default(run_copy: tuple[Path, Path]) -> None:
    _config, run_dir = run_copy
    before = _listing(run_dir)
    result = invoke("infer", run_dir, str(SEEDS))
    assert result.exit_code == 0, result.stderr
    out = run_dir.with_name("seeds-infer")
    assert f"wrote assignments.csv, documents.csv, segments.csv and infer.json to {out}" in result.stdout
    assert (out / "documents.csv").is_file() and (out / "infer.json").is_file()
    assert _listing(run_dir) == before


def test_a_run_publishes_only_what_its_stages_wrote(run_copy: tuple[Path, Path], tmp_path: Path) -> None:
    """What is found in the staging folder (infer's outputs put there as in issue 23) is
    cleared when a run starts: never read as an artifact, never published."""
    config, run_dir = run_copy
    infer = invoke("infer", run_dir, str(SEEDS / "000_1a0ce78baffdf577.txt"), "--out", tmp_path / "new")
    assert infer.exit_code == 0, infer.stderr
    before = _published(run_dir)
    staging = run_dir / ".pipeline-staging"
    staging.mkdir()
    for name in ("assignments.csv", "documents.csv", "infer.json"):
        shutil.copy(tmp_path / "new" / name, staging / name)
    (staging / ".pipeline-removed").write_text("topics.json\n../../outside.txt\n", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("mine\n", encoding="utf-8")
    assert invoke("stages", config).stdout.count("up to date") == 6  # nothing staged is read
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("skipped (up to date)") == 6
    after = _published(run_dir)
    assert {n: after[n] for n in ("assignments.csv", "documents.csv")} == {
        n: before[n] for n in ("assignments.csv", "documents.csv")
    }
    assert "infer.json" not in after and "topics.json" in after
    assert (tmp_path / "outside.txt").read_text(encoding="utf-8") == "mine\n"
    assert not staging.exists()


def test_xlsx_export_drops_control_characters_of_meta_fields(tmp_path: Path) -> None:
    import openpyxl

    rows = [{"id": f"d{i}", "src": "来源\v网站\x01", "text": p} for i, p in enumerate(_seed_paragraphs())]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = write_config(
        tmp_path,
        input={"paths": [str(path)], "id_field": "id", "meta_fields": ["src"]},
        model={"num_topics": 3},
        report={"export": ["xlsx"]},
    )
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    wb = openpyxl.load_workbook(tmp_path / "runs" / "seeds" / "results.xlsx", read_only=True)
    sheet = list(wb["documents"].iter_rows(values_only=True))
    assert sheet[1][sheet[0].index("src")] == "来源网站"


def _seed_paragraphs() -> list[str]:
    lines = [ln for f in sorted(SEEDS.iterdir()) for ln in f.read_text(encoding="utf-8").splitlines()]
    return [ln for ln in lines if len(ln) > 200][:40]


@pytest.mark.parametrize(
    ("command", "damage", "message"),
    [
        (
            "show",
            "topics.json",
            "{run}/topics.json: corrupt or unreadable (line ",
        ),
        ("compare", "topics.json", "{run}/topics.json: corrupt or unreadable (line "),
        ("compare", "model/engine.json", "{run}/model: corrupt or unreadable (FileNotFoundError:"),
    ],
)
def test_a_corrupt_artifact_is_a_clear_error(
    run_copy: tuple[Path, Path], command: str, damage: str, message: str
) -> None:
    _config, run_dir = run_copy
    target = run_dir / damage
    if damage == "model/engine.json":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:40])
    args = {"show": [run_dir], "compare": [run_dir, run_dir]}[command]
    result = invoke(command, *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: " + message.format(run=run_dir))
    assert "re-create it with `pipeline run --force`" in result.stderr


@pytest.mark.parametrize(
    ("damage", "stage", "shown"),
    [
        ("tokens.jsonl", "tokenize", "tokens.jsonl"),  # cut short: the size differs
        ("model/engine.json", "train", "model/engine.json"),  # missing from its folder
        ("corpus/corpus.mm", "dictionary", "corpus/corpus.mm"),  # same size, other bytes
        ("topics.json", "report", "topics.json"),
    ],
)
def test_a_skipped_stage_whose_output_changed_runs_again_and_says_which_file(
    run_copy: tuple[Path, Path], damage: str, stage: str, shown: str
) -> None:
    config, run_dir = run_copy
    before = snapshot(run_dir)
    target = run_dir / damage
    data = target.read_bytes()
    if damage == "model/engine.json":
        target.unlink()
    elif damage == "corpus/corpus.mm":
        target.write_bytes(data[:-2] + (b"9\n" if data[-2:] != b"9\n" else b"8\n"))
    else:
        target.write_bytes(data[:40])
    stages = invoke("stages", config)
    assert f"would run: output changed since it was written: {shown}" in stages.stdout
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    assert f"{stage}: running (output changed since it was written: {shown})" in result.stderr
    assert result.stderr.count("skipped (up to date)") == 5
    assert target.read_bytes() == data and snapshot(run_dir) == before


def test_a_disk_full_error_without_errno_still_says_the_disk_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(tmp_path)

    def numpy_like(*args: object, **kwargs: object) -> None:
        raise OSError("Not enough free space to write 1,000,000 bytes; No space left on device")

    monkeypatch.setattr(os, "replace", numpy_like)
    with pytest.raises(StoreError, match=r"cannot write \(the disk is full\); earlier outputs are unchanged"):
        store.write_text("topics.csv", "new\n")
    with pytest.raises(StoreError) as info:
        monkeypatch.setattr(os, "replace", lambda *a, **k: (_ for _ in ()).throw(OSError("weird")))
        store.write_text("topics.csv", "new\n")
    assert "(None)" not in str(info.value) and "(weird)" in str(info.value)


def test_a_foreign_exception_in_a_stage_is_one_error_line_naming_the_stage(
    run_copy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.stages import report

    config, _run_dir = run_copy

    def boom(*args: object, **kwargs: object) -> str:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(report, "render_markdown", boom)
    result = invoke("run", config, "--force", "--from", "report")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: report stage: ZeroDivisionError: division by zero (unexpected; run again with --verbose "
        "for the traceback, and report it if the cause is not yours)"
    )


def test_errno_is_used_for_the_disk_full_message() -> None:
    from pipeline.errors import unexpected

    assert unexpected(OSError(errno.ENOSPC, "No space left on device", "/x/y")) == (
        "/x/y: cannot read or write (the disk is full); check the path, its permissions and free space"
    )


def _published(run_dir: Path) -> dict[str, bytes]:
    """Everything a reader sees in the run folder (the staged run in progress aside)."""
    return {
        p.relative_to(run_dir).as_posix(): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and not p.relative_to(run_dir).parts[0].startswith(".pipeline-") and p.name != ".lock"
    }


def test_a_failed_run_leaves_every_published_output_from_the_last_complete_run(
    run_copy: tuple[Path, Path], tmp_path: Path
) -> None:
    config, run_dir = run_copy
    before, shown = _published(run_dir), invoke("show", run_dir).stdout
    english = tmp_path / "english.txt"
    english.write_text(
        "This corpus is English only. It has no Chinese words at all.\n" * 40, encoding="utf-8"
    )
    result = invoke("run", config, "--set", f"input.paths=[{english}]")
    assert result.exit_code == 2
    assert "segment: done" in result.stderr  # the new units were written, but only staged
    assert _published(run_dir) == before
    assert invoke("show", run_dir).stdout == shown


def test_a_failure_in_the_report_keeps_the_old_assignments_and_the_next_run_resumes(
    run_copy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.stages import report

    config, run_dir = run_copy
    before = _published(run_dir)
    real = report.render_html

    def full(*args: object, **kwargs: object) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "render_html", full)
    result = invoke("run", config, "--set", "model.num_topics=5")
    assert result.exit_code == 2 and "the disk is full" in result.stderr
    assert _published(run_dir) == before  # assignments.csv still has the 8 topics of topics.json
    monkeypatch.setattr(report, "render_html", real)
    result = invoke("run", config, "--set", "model.num_topics=5")
    assert result.exit_code == 0, result.stderr
    assert "train: skipped (up to date)" in result.stderr and "assign: skipped (up to date)" in result.stderr
    header = (run_dir / "assignments.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith(",topic_3,topic_4") and header.count("topic_") == 5
    assert len(json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))) == 5
    assert not (run_dir / ".pipeline-staging").exists()


def test_special_files_in_an_input_folder_are_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (corpus / "null.txt").symlink_to("/dev/null")
    config = write_config(tmp_path, input={"paths": [str(corpus)]}, model={"passes": 2, "num_topics": 3})
    warning = (
        f"{corpus}: skipped 3 entries that are not regular files (only regular files are read): "
        "corpus/gone.txt (a broken link), corpus/null.txt (a link to a device), corpus/pipe.txt (a FIFO)"
    )
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        assert invoke("validate", config).exit_code == 0
        assert [r.getMessage() for r in caplog.records] == [warning]
        caplog.clear()
        result = invoke("run", config)
        assert result.exit_code == 0, result.stderr
        named = [r.getMessage() for r in caplog.records if r.name == "pipeline.corpus"]
        assert named == [warning]  # the inputs are listed three times, the warning given once
    manifest = json.loads((tmp_path / "runs" / "seeds" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["stages"]["segment"]["warnings"] == [warning]
    assert manifest["stages"]["segment"]["counts"]["files"] == len(list(SEEDS.iterdir()))
