"""Topic curation in labels.yaml (merge_into, drop): the rules, the errors, and a curated
seeds run that re-runs assign and report only."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from pipeline import engines, tiling
from pipeline.artifacts import RunStore
from pipeline.assignments import segment_topic
from pipeline.curation import Curation
from pipeline.errors import InputError
from pipeline.labels import RESOLVED, curation_written, ensure_labels, match_labels, read_labels

from .conftest import DETERMINISTIC, invoke, snapshot, write_config

# -- the rules, on small arrays -------------------------------------------------------------


def test_a_merged_topic_s_column_is_the_sum_of_its_members() -> None:
    curation = Curation.resolve(4, {3: 1}, [], "labels.yaml")
    thetas = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.1, 0.3, 0.1]])
    assert curation.kept == (0, 1, 2)
    assert curation.members == {0: (0,), 1: (1, 3), 2: (2,)}
    np.testing.assert_allclose(curation.apply(thetas), [[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    assert curation.columns() == ["topic_0", "topic_1", "topic_2"]


def test_chains_of_merges_end_in_one_topic() -> None:
    curation = Curation.resolve(5, {3: 1, 1: 0, 4: 3}, [], "labels.yaml")
    assert curation.merged == {1: 0, 3: 0, 4: 0}
    assert curation.kept == (0, 2)
    assert curation.members == {0: (0, 1, 3, 4), 2: (2,)}
    np.testing.assert_allclose(curation.apply(np.full((1, 5), 0.2)), [[0.8, 0.2]])


def test_a_dropped_topic_keeps_its_column_but_is_never_dominant() -> None:
    curation = Curation.resolve(3, {}, [1], "labels.yaml")
    curated = curation.apply(np.array([[0.2, 0.7, 0.1], [0.1, 0.3, 0.6], [0.4, 0.5, 0.1]]))
    assert curation.columns() == ["topic_0", "topic_1_dropped", "topic_2"]
    assert curation.dominant(curated).tolist() == [0, 2, 0]
    # Ids, not column positions: with topic 0 merged into 2, column 0 is topic 1.
    merged = Curation.resolve(3, {0: 2}, [1], "labels.yaml")
    assert merged.dominant(np.array([[0.3, 0.7]])).tolist() == [2]


def test_a_segment_s_topic_is_named_by_id_and_passes_over_dropped_topics() -> None:
    segment = tiling.Segment(0, 2, np.array([0.2, 0.5, 0.3]), tokens=40)
    assert segment.dominant == 1
    kept = {1: 0, 2: 0, 3: 4, 5: 6}  # the columns of topics 0, 4 and 6
    assert segment_topic(segment, Curation(7, kept, frozenset())) == 4
    assert segment_topic(segment, Curation(7, kept, frozenset({4}))) == 6
    assert segment_topic(tiling.Segment(0, 0, np.zeros(3), tokens=0), Curation(7, kept, frozenset())) is None


def test_a_drop_on_a_merged_topic_is_decided_by_the_topic_it_joins() -> None:
    curation = Curation.resolve(3, {2: 0}, [2], "labels.yaml")
    assert curation.dropped == frozenset()
    assert curation.columns() == ["topic_0", "topic_1"]


def test_a_merged_topic_s_terms_are_its_members_weighted_by_their_tokens() -> None:
    phi = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    shares = np.array([0.6, 0.1, 0.3])
    curation = Curation.resolve(3, {2: 0}, [], "labels.yaml")
    curated = curation.topic_term(phi, shares)
    np.testing.assert_allclose(curated[0], (0.6 * phi[0] + 0.3 * phi[2]) / 0.9)
    assert curated[1].tobytes() == phi[1].tobytes()  # a topic kept alone keeps its row, to the bit
    assert Curation.none(3).topic_term(phi, shares).tobytes() == phi.tobytes()


def test_the_manifest_record_rebuilds_the_curation() -> None:
    curation = Curation.resolve(6, {3: 1, 4: 3}, [5], "labels.yaml")
    assert curation.record() == {"merged": {"3": 1, "4": 1}, "dropped": [5]}
    assert json.loads(json.dumps(curation.record())) == curation.record()
    assert Curation.from_record(6, json.loads(json.dumps(curation.record()))) == curation
    assert Curation.none(4).record() == {"merged": {}, "dropped": []}
    assert Curation.from_record(4, None) == Curation.none(4)
    thetas = np.random.default_rng(0).dirichlet(np.ones(4), size=3)
    assert Curation.none(4).apply(thetas).tobytes() == thetas.tobytes()


# -- the errors, each one line ----------------------------------------------------------------


def _phi(k: int = 4, seed: int = 0) -> tuple[np.ndarray, dict[int, str]]:
    rng = np.random.RandomState(seed)
    return rng.dirichlet(np.full(50, 0.05), size=k), {i: f"词{i:02d}" for i in range(50)}


def _template(store: RunStore, phi: np.ndarray, id2token: dict[int, str]) -> None:
    """labels.yaml and its basis as assign writes them for a model with no labels yet."""
    shares = np.full(len(phi), 1 / len(phi))
    assert ensure_labels(store, phi, id2token, shares, match_labels(store, phi, id2token))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {1: {"merge_into": 9}},
            "topic 1: merge_into 9 is not a topic id of the model (0 to 3); "
            "give the number of the topic to merge it into",
        ),
        (
            {1: {"merge_into": "教育"}},
            "topic 1: merge_into '教育' is not a topic id of the model; "
            "give the number of the topic to merge it into",
        ),
        (
            {2: {"name": "学校", "merge_into": 2}},
            "topic 2: merge_into is the topic itself; give another topic's number, or remove merge_into",
        ),
        (
            {0: {"merge_into": 3}, 3: {"merge_into": 1}, 1: {"merge_into": 3}},
            "topic 1: merge_into makes a cycle (1 -> 3 -> 1); remove merge_into from one of these topics",
        ),
        (
            {0: {"drop": "maybe"}},
            "topic 0: drop is 'maybe', not true or false; write drop: true, or remove it",
        ),
        (
            {0: {"drop": True}, 1: {"drop": True}, 2: {"merge_into": 0}, 3: {"drop": True}},
            "every topic is dropped or merged into a dropped one, so no topic is left to be a dominant "
            "topic; remove drop: true from at least one topic",
        ),
    ],
)
def test_a_wrong_curation_is_one_line_naming_the_file_the_topic_and_the_fix(
    tmp_path: Path, entries: dict[int, dict[str, Any]], message: str
) -> None:
    store = RunStore(tmp_path)
    store.write_text("labels.yaml", yaml.safe_dump(entries, allow_unicode=True))
    phi, id2token = _phi()
    with pytest.raises(InputError) as err:
        match_labels(store, phi, id2token)
    assert str(err.value) == f"{tmp_path / 'labels.yaml'}: {message}"


def test_the_fingerprinted_curation_ignores_names_notes_and_layout(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.write_text("labels.yaml", "3: {merge_into: 1, name: 甲}\n5:\n  drop: true\n  note: 乙\n0: 丙\n")
    written = curation_written(read_labels(store))
    assert written == {"merged": [[3, 1]], "dropped": [5]}
    store.write_text("labels.yaml", "5: {drop: true}\n3: {name: 丁, merge_into: 1}\n")
    assert curation_written(read_labels(store)) == written


def test_curation_follows_its_topics_across_a_retrain(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    phi, id2token = _phi(5)
    _template(store, phi, id2token)
    labels = yaml.safe_load(store.read_text("labels.yaml"))
    labels[0].update(name="甲", merge_into=3)  # into a topic that will vanish
    labels[1]["merge_into"] = 2
    labels[3]["drop"] = True  # a topic that will vanish
    labels[4]["drop"] = True
    store.write_text("labels.yaml", yaml.safe_dump(labels, allow_unicode=True))
    # The next model: old topics 2, 0, 1 and 4 at 0, 1, 3 and 4; old topic 3 replaced by a new one.
    new_phi = np.vstack([phi[2], phi[0], _phi(1, seed=9)[0], phi[1], phi[4]])
    result = match_labels(store, new_phi, id2token)
    assert [n["name"] for n in result.names] == [None, "甲", None, None, None]
    assert result.curation == Curation(5, {3: 0}, frozenset({4}))
    assert result.vanished == ["topic 3 (merge_into of topic 0 '甲')", "topic 3 (drop: true)"]
    result.write(store, new_phi, id2token, {})
    written = yaml.safe_load(store.read_text(RESOLVED))
    curation = {t: {k: v for k, v in e.items() if k in ("merge_into", "drop")} for t, e in written.items()}
    assert curation == {0: {}, 1: {}, 2: {}, 3: {"merge_into": 0}, 4: {"drop": True}}


def test_vanished_entries_are_warned_once_a_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """assign reads labels.yaml quietly; the report, which lists the vanished entries, warns."""
    store = RunStore(tmp_path)
    phi, id2token = _phi(5)
    _template(store, phi, id2token)
    labels = yaml.safe_load(store.read_text("labels.yaml"))
    labels[3].update(name="丙", drop=True)
    store.write_text("labels.yaml", yaml.safe_dump(labels, allow_unicode=True))
    new_phi = np.vstack([phi[0], phi[1], phi[2], _phi(1, seed=9)[0], phi[4]])
    with caplog.at_level("WARNING"):
        quiet = match_labels(store, new_phi, id2token, warn=False)
        assert caplog.records == []
        loud = match_labels(store, new_phi, id2token)
    assert quiet.vanished == loud.vanished == ["topic 3 '丙'"]
    assert [r.getMessage() for r in caplog.records] == [
        "labels.yaml: no topic matches topic 3 '丙' any more; its entry is left out"
    ]


# -- a curated seeds run ----------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _topic_columns(rows: list[dict[str, str]]) -> list[str]:
    return [c for c in rows[0] if c.startswith("topic_")]


def _copy_run(run_dir: Path, folder: Path) -> tuple[Path, Path]:
    config = write_config(folder)
    target = folder / "runs" / "seeds"
    shutil.copytree(run_dir, target)
    return config, target


def _edit_labels(run_dir: Path, topics: dict[int, dict[str, Any]]) -> None:
    """Change some topics' entries in labels.yaml, as a person would."""
    path = run_dir / "labels.yaml"
    labels = yaml.safe_load(path.read_text(encoding="utf-8"))
    for t, values in topics.items():
        labels[t].update(values)
    path.write_text(yaml.safe_dump(labels, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def curated(seeds_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The seeds run with its most frequent dominant topic dropped and two others merged."""
    config, run_dir = _copy_run(seeds_run, tmp_path_factory.mktemp("curated"))
    k = len(_topic_columns(_rows(seeds_run / "assignments.csv")))
    counts = Counter(r["dominant_topic"] for r in _rows(seeds_run / "assignments.csv") if r["dominant_topic"])
    drop = int(counts.most_common(1)[0][0])
    others = [t for t in range(k) if t != drop]
    target, source = others[0], others[-1]
    _edit_labels(run_dir, {source: {"merge_into": target}, drop: {"drop": True}})
    stages = invoke("stages", config, columns=200)  # each reason on one line
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    return {
        "config": config,
        "run_dir": run_dir,
        "k": k,
        "drop": drop,
        "source": source,
        "target": target,
        "stages": stages.stdout,
        "stderr": result.stderr,
    }


def test_curation_reruns_assign_and_report_only(curated: dict[str, Any]) -> None:
    source, target, drop = curated["source"], curated["target"], curated["drop"]
    lines = dict(line.split(maxsplit=1) for line in curated["stages"].splitlines())
    assert lines["assign"] == (
        f"would run: config changed: labels.yaml.dropped [] -> [{drop}], "
        f"labels.yaml.merged [] -> [[{source}, {target}]]"
    )
    assert lines["train"] == "up to date"
    for stage in ("segment", "tokenize", "dictionary", "train"):
        assert f"{stage}: skipped (up to date)" in curated["stderr"]
    for stage in ("assign", "report"):
        assert f"{stage}: done in" in curated["stderr"]
    manifest = json.loads((curated["run_dir"] / "manifest.json").read_text(encoding="utf-8"))
    statuses = {name: manifest["stages"][name]["status"] for name in manifest["stages"]}
    assert statuses == {
        "segment": "skipped",
        "tokenize": "skipped",
        "dictionary": "skipped",
        "train": "skipped",
        "assign": "ran",
        "report": "ran",
    }
    details = manifest["stages"]["assign"]["details"]
    assert details["curation"] == {"merged": {str(source): target}, "dropped": [drop]}
    assert len(details["topic_shares"]) == curated["k"]
    assert abs(sum(details["topic_shares"]) - 1) < 1e-5
    assert invoke("stages", curated["config"]).stdout.count("up to date") == 6


def test_curated_outputs_sum_merged_columns_and_never_choose_a_dropped_topic(
    curated: dict[str, Any], seeds_run: Path
) -> None:
    run_dir, k = curated["run_dir"], curated["k"]
    source, target, drop = curated["source"], curated["target"], curated["drop"]
    expected = [f"topic_{t}_dropped" if t == drop else f"topic_{t}" for t in range(k) if t != source]
    for name in ("assignments.csv", "documents.csv"):
        before, after = _rows(seeds_run / name), _rows(run_dir / name)
        assert _topic_columns(after) == expected, name
        old = np.array([[float(r[f"topic_{t}"]) for t in range(k)] for r in before])
        new = np.array([[float(r[c]) for c in expected] for r in after])
        kept = [t for t in range(k) if t != source]
        summed = old[:, kept]
        summed[:, kept.index(target)] += old[:, source]
        np.testing.assert_allclose(new, summed, atol=2e-6, rtol=0)  # each side rounded to 6 d.p.
        assert all(r["dominant_topic"] != str(drop) for r in after), name
    assert str(drop) in {r["dominant_topic"] for r in _rows(seeds_run / "assignments.csv")}  # it was
    for r in _rows(run_dir / "assignments.csv"):
        assert r["segment_topic"] not in (str(drop), str(source))
    assert all(r["dominant_topic"] not in (str(drop), str(source)) for r in _rows(run_dir / "segments.csv"))
    mixes = np.load(run_dir / "mixes.npy")
    units = _rows(run_dir / "assignments.csv")
    assert mixes.shape == (len(units), k - 1) and mixes.dtype == np.float64
    written = np.array([[float(r[c]) for c in expected] for r in units])
    np.testing.assert_allclose(mixes, written, atol=2e-6, rtol=0)
    topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
    assert [t["topic"] for t in topics] == [t for t in range(k) if t != source]
    marks = {t["topic"]: (t["dropped"], t["merged"]) for t in topics}
    assert marks[drop] == (True, []) and marks[target] == (False, [source])


def test_show_marks_curated_topics_and_compare_matches_the_kept_ones(
    curated: dict[str, Any], seeds_run: Path
) -> None:
    run_dir, k = curated["run_dir"], curated["k"]
    source, target, drop = curated["source"], curated["target"], curated["drop"]
    shown = invoke("show", run_dir)
    assert shown.exit_code == 0, shown.stderr
    assert "dropped" in shown.stdout and f"merged {source}" in shown.stdout
    result = invoke("compare", run_dir, seeds_run)
    assert result.exit_code == 0, result.stderr
    matched = {  # the rows of the matched table: A, B, similarity
        int(a): (int(b), similarity)
        for a, b, similarity in re.findall(r"^\s*(\d+)\s+(\d+)\s+(\d\.\d{3})\b", result.stdout, re.M)
    }
    untouched = [t for t in range(k) if t not in (source, target, drop)]
    for t in untouched:  # the same terms: matched to themselves, exactly
        assert matched[t] == (t, "1.000")
    assert drop not in matched
    assert matched[target][0] in (target, source)  # the merged topic is one of its two
    assert re.search(rf"^A\s+{drop}\s+dropped\s", result.stdout, re.M)
    assert ", 1 dropped" in result.stdout.splitlines()[0]


def test_infer_applies_the_run_s_curation(curated: dict[str, Any], tmp_path: Path) -> None:
    from .conftest import SEEDS

    out = tmp_path / "inferred"
    result = invoke("infer", curated["run_dir"], SEEDS, "--out", out)
    assert result.exit_code == 0, result.stderr
    inferred = _rows(out / "assignments.csv")
    assert _topic_columns(inferred) == _topic_columns(_rows(curated["run_dir"] / "assignments.csv"))
    assert all(r["dominant_topic"] != str(curated["drop"]) for r in inferred)


def test_a_name_reruns_the_report_only_and_removing_the_curation_restores_every_output(
    curated: dict[str, Any], seeds_run: Path, tmp_path: Path
) -> None:
    config, run_dir = _copy_run(curated["run_dir"], tmp_path)
    _edit_labels(run_dir, {curated["target"]: {"name": "合并的主题"}})
    renamed = invoke("run", config)
    assert renamed.exit_code == 0, renamed.stderr
    assert renamed.stderr.count("skipped (up to date)") == 5
    assert "report: running (config changed: labels.yaml." in renamed.stderr, renamed.stderr
    topics = json.loads((run_dir / "topics.json").read_text(encoding="utf-8"))
    assert "合并的主题" in [t["name"] for t in topics]
    shutil.copy(seeds_run / "labels.yaml", run_dir / "labels.yaml")
    restored = invoke("run", config)
    assert restored.exit_code == 0, restored.stderr
    assert "assign: running (config changed: labels.yaml.dropped" in restored.stderr
    names = [*DETERMINISTIC, "segments.csv", "mixes.npy"]
    assert snapshot(run_dir, names) == snapshot(seeds_run, names)


def test_curation_is_carried_to_new_topic_ids_and_the_next_run_is_up_to_date(
    curated: dict[str, Any], tmp_path: Path
) -> None:
    """After a retrain the report rewrites labels.yaml in the new ids; assign applied the
    same curation, so the next run finds every stage fresh."""
    config, run_dir = _copy_run(curated["run_dir"], tmp_path)
    first = invoke("run", config, "--set", "model.num_topics=7")
    assert first.exit_code == 0, first.stderr
    again = invoke("run", config, "--set", "model.num_topics=7")
    assert again.stderr.count("skipped (up to date)") == 6, again.stderr
    store = RunStore(run_dir)
    model, dct = store.load_model(engines.load_model), store.load_dictionary()
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    applied = manifest["stages"]["assign"]["details"]["curation"]
    assert match_labels(store, model.topic_term, dct.id2token).curation.record() == applied
    assert applied["dropped"] or applied["merged"]  # something was carried over


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"merge_into": 1},
            "topic 1: merge_into is the topic itself; give another topic's number, or remove merge_into",
        ),
        ({"drop": "maybe"}, "topic 1: drop is 'maybe', not true or false; write drop: true, or remove it"),
    ],
)
def test_a_wrong_curation_stops_the_run_with_one_line_and_changes_no_output(
    run_copy: tuple[Path, Path], entry: dict[str, Any], message: str
) -> None:
    """A value that is wrong on its face stops the run before any stage; one that needs the
    model (a merge into itself, say) stops it in assign, before any output is published."""
    config, run_dir = run_copy
    _edit_labels(run_dir, {1: entry})
    before = snapshot(run_dir, [*DETERMINISTIC, "manifest.json"])
    result = invoke("run", config)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: {run_dir / 'labels.yaml'}: {message}"
    assert snapshot(run_dir, [*DETERMINISTIC, "manifest.json"]) == before


# -- labels.yaml is the user's ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        (
            "0:\n  name: 甲\n1:\n  name: 乙\n  mergeinto: 0\n",
            ["5: topic 1: unknown key 'mergeinto' (did you mean 'merge_into'?)"],
        ),
        (
            "0:\n  nmae: 甲\n  color: red\n",
            [
                "2: topic 0: unknown key 'nmae' (did you mean 'name'?)",
                "3: topic 0: unknown key 'color' (allowed: name, note, merge_into, drop)",
            ],
        ),
        (
            "3:\n  name: 甲\n1: {name: 乙}\n3:\n  name: 丙\n",
            ["4: topic 3 is given twice (first given at line 1); keep one of them"],
        ),
        (
            "0:\n  name: 甲\n  name: 乙\n",
            ["3: topic 0: duplicate key 'name' (first given at line 2); keep one of them"],
        ),
    ],
)
def test_labels_yaml_typos_and_repeated_keys_are_named_with_their_lines(
    tmp_path: Path, text: str, messages: list[str]
) -> None:
    store = RunStore(tmp_path)
    store.write_text("labels.yaml", text)
    with pytest.raises(InputError) as err:
        read_labels(store)
    assert str(err.value).splitlines() == [f"{tmp_path / 'labels.yaml'}:{m}" for m in messages]


def test_labels_yaml_is_written_with_each_topic_s_share_and_top_terms(seeds_run: Path) -> None:
    text = (seeds_run / "labels.yaml").read_text(encoding="utf-8")
    topics = json.loads((seeds_run / "topics.json").read_text(encoding="utf-8"))
    heads = [line for line in text.splitlines() if line[:1].isdigit()]
    assert len(heads) == len(topics)
    for head, topic in zip(heads, topics, strict=True):
        assert head.startswith(f"{topic['topic']}:  # {100 * topic['prevalence']:.1f}% · ")
        assert head.split(" · ")[1].split()[:3] == [t["term"] for t in topic["terms"][:3]]
    entries = yaml.safe_load(text)
    assert entries[0] == {"name": "", "note": ""}


def test_a_user_s_labels_yaml_survives_any_number_of_runs_byte_for_byte(
    run_copy: tuple[Path, Path],
) -> None:
    config, run_dir = run_copy
    path = run_dir / "labels.yaml"
    mine = (
        "# my names\n1: {name: 学校, note: '校园'}   # checked by hand\n\n4:\n  drop: true  # boilerplate\n"
    )
    path.write_text(mine, encoding="utf-8")
    for args in ([], [], ["--set", "model.num_topics=7"], ["--set", "model.num_topics=7"], ["--force"]):
        result = invoke("run", config, *args)
        assert result.exit_code == 0, result.stderr
        assert path.read_text(encoding="utf-8") == mine
    resolved = yaml.safe_load((run_dir / RESOLVED).read_text(encoding="utf-8"))
    assert "学校" in [e["name"] for e in resolved.values()]  # carried to the K=7 model's ids


def test_a_deleted_labels_yaml_is_written_again_in_the_current_ids(
    curated: dict[str, Any], tmp_path: Path
) -> None:
    config, run_dir = _copy_run(curated["run_dir"], tmp_path)
    before = snapshot(run_dir, [*DETERMINISTIC, "segments.csv"])
    (run_dir / "labels.yaml").unlink()
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    entries = yaml.safe_load((run_dir / "labels.yaml").read_text(encoding="utf-8"))
    assert entries[curated["source"]]["merge_into"] == curated["target"]
    assert entries[curated["drop"]]["drop"] is True
    assert snapshot(run_dir, [*DETERMINISTIC, "segments.csv"]) == before  # the curation carried over


def test_assign_reads_the_dictionary_before_its_forks_only_to_match_a_labels_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dictionary's parse would stay in the pages every worker forked to infer counts:
    assign reads it first only when labels.yaml must be matched to the topics by their terms."""
    config = write_config(tmp_path, model={"num_topics": 4})
    assert invoke("run", config, "--to", "train").exit_code == 0
    reads: list[str] = []
    load = RunStore.load_dictionary

    def counted(self: RunStore) -> Any:
        reads.append("read")
        return load(self)

    monkeypatch.setattr(RunStore, "load_dictionary", counted)
    assert invoke("run", config, "--to", "assign").exit_code == 0
    assert len(reads) == 1  # labels.yaml's first writing, after the mixes
    store = RunStore(tmp_path / "runs" / "seeds")
    labels = yaml.safe_load(store.read_text("labels.yaml"))
    labels[0]["name"] = "甲"
    store.write_text("labels.yaml", yaml.safe_dump(labels, allow_unicode=True))
    reads.clear()
    assert invoke("run", config, "--from", "assign", "--to", "assign", "--force").exit_code == 0
    assert len(reads) == 2  # a named topic to match by its terms first, then the end's
