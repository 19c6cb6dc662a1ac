"""Finished runs as objects: open one, list its topics, compare two.

Library side of ``pipeline show`` and ``pipeline compare``; the CLI only prints.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import engines, measures
from pipeline.artifacts import RunStore
from pipeline.config import Config, drop_retired, flatten, load_config
from pipeline.curation import Curation
from pipeline.errors import InputError


@dataclass
class Run:
    store: RunStore
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return self.store.run_dir.name

    def config(self) -> Config:
        """The resolved config the run used (paths already absolute)."""
        data = copy.deepcopy(self.manifest["config"])
        drop_retired(data)  # runs made before executor.workers replaced them
        return Config.model_validate(data)

    def topics(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.store.read_json("topics.json")
        return data

    def _assign_details(self) -> dict[str, Any]:
        details: dict[str, Any] = self.manifest.get("stages", {}).get("assign", {}).get("details") or {}
        return details

    def curation(self, k: int) -> Curation:
        """The curation the run's outputs were written with (none for runs made before
        curation), for its model of ``k`` topics."""
        return Curation.from_record(k, self._assign_details().get("curation"))

    def topic_shares(self, k: int) -> np.ndarray:
        """Each topic's share of the corpus tokens before curation (equal shares for runs
        made before they were recorded: they matter only to merged topics)."""
        shares = self._assign_details().get("topic_shares")
        return np.asarray(shares, dtype=float) if shares and len(shares) == k else np.full(k, 1.0 / k)

    def topic_term(self) -> tuple[np.ndarray, list[str]]:
        """The model's topic-term matrix, before curation, and its vocabulary in dictionary
        id order."""
        dct = self.store.load_dictionary()
        model = self.store.load_model(engines.load_model)
        return model.topic_term, [dct.id2token[i] for i in range(len(dct))]


def open_run(ref: str | Path) -> Run:
    """A run from its folder, or from a config file (its run folder)."""
    path = Path(ref)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        path = load_config(path).run_dir
    store = RunStore(path)
    if not store.exists("manifest.json") or not store.exists("topics.json"):
        raise InputError(
            f"{ref}: not a finished run folder (no manifest.json or topics.json); run `pipeline run` first"
        )
    return Run(store, store.load_manifest())


def topic_table(run: Run, terms: int = 8) -> list[dict[str, Any]]:
    """One row per topic: id, name, prevalence, top terms (relevance), flags; a curated
    topic is flagged "dropped", or "merged 3, 7" with the topics merged into it."""
    rows = []
    for t in run.topics():
        ranked = t.get("relevance") or t["terms"]
        dropped, merged = bool(t.get("dropped")), [int(m) for m in t.get("merged") or []]
        marks = ["dropped"] if dropped else []
        marks += [f"merged {', '.join(map(str, merged))}"] if merged else []
        rows.append(
            {
                "topic": t["topic"],
                "name": t.get("name") or "",
                "prevalence": t["prevalence"],
                "terms": [x["term"] for x in ranked[:terms]],
                "flags": [*(t.get("flags") or []), *marks],
                "dropped": dropped,
                "merged": merged,
            }
        )
    return rows


@dataclass
class _Side:
    """One run's topics for a comparison, as rows over the two runs' vocabulary: first each
    kept topic's curated row, then each merged topic's own row (what it was before merging)."""

    ids: list[int]  # the topic id of each row
    rows: np.ndarray
    status: list[str]  # "kept", "dropped" or "merged"
    into: dict[int, int]  # a merged topic -> the topic it ends in
    names: dict[int, str | None]
    terms: list[list[str]]  # each row's top terms

    def where(self, *status: str) -> list[int]:
        return [i for i, s in enumerate(self.status) if s in status]


def _side(run: Run, phi: np.ndarray, vocab: list[str], union: list[str], terms: int) -> _Side:
    k = phi.shape[0]
    curation = run.curation(k)
    merged = sorted(curation.merged)
    index = {w: i for i, w in enumerate(union)}
    rows = np.zeros((len(curation.kept) + len(merged), len(union)))
    rows[:, [index[w] for w in vocab]] = np.vstack(
        [curation.topic_term(phi, run.topic_shares(k)), phi[merged]]
    )
    ids = [*curation.kept, *merged]
    status = [
        "merged" if t in curation.merged else "dropped" if t in curation.dropped else "kept" for t in ids
    ]
    ranked = measures.ranked_terms(rows, dict(enumerate(union)), terms)
    names = {t["topic"]: t.get("name") for t in run.topics()}
    return _Side(ids, rows, status, dict(curation.merged), names, [[w for w, _ in r] for r in ranked])


def _pairs(sim: np.ndarray) -> list[tuple[int, int, float]]:
    """The one-to-one matching of rows to columns with the largest total similarity: the
    pairs similar enough to be the same topic."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-sim)
    return [
        (int(i), int(j), float(sim[i, j]))
        for i, j in zip(rows, cols, strict=True)
        if sim[i, j] >= measures.MATCH_MIN
    ]


def compare_runs(a: Run, b: Run, terms: int = 10) -> dict[str, Any]:
    """Match the curated topics of two runs (A and B) and list what matched, what is new in
    B, what vanished from A, and the topics each run's labels.yaml dropped or merged, each
    with the topic of the other run it stands for, if any. A curated topic is listed there
    only: the topic of the other run it stands for is neither new nor vanished. Topics are
    named by their ids in their run."""
    (phi_a, vocab_a), (phi_b, vocab_b) = a.topic_term(), b.topic_term()
    union = sorted(set(vocab_a) | set(vocab_b))
    sa, sb = _side(a, phi_a, vocab_a, union, terms), _side(b, phi_b, vocab_b, union, terms)
    # First the topics each run keeps and does not drop, one to one.
    open_a, open_b = sa.where("kept"), sb.where("kept")
    similarity = measures.js_similarity(sa.rows[open_a], sb.rows[open_b])
    matched = [(open_a[i], open_b[j], s) for i, j, s in _pairs(similarity)]
    left_a = [i for i in open_a if i not in {m[0] for m in matched}]
    left_b = [j for j in open_b if j not in {m[1] for m in matched}]
    # Then what is left over against the curated topics: a topic one run dropped or merged
    # away is often one the other run still has.
    rows_a, rows_b = left_a + sa.where("dropped", "merged"), left_b + sb.where("dropped", "merged")
    sim = measures.js_similarity(sa.rows[rows_a], sb.rows[rows_b])
    sim[: len(left_a), : len(left_b)] = 0  # two uncurated topics had their chance above
    other_a = {rows_a[i]: (rows_b[j], s) for i, j, s in _pairs(sim)}
    other_b = {j: (i, s) for i, (j, s) in other_a.items()}
    conf_a, conf_b = flatten(a.manifest.get("config", {})), flatten(b.manifest.get("config", {}))
    return {
        "a": a.name,
        "b": b.name,
        "a_dir": str(a.store.run_dir),
        "b_dir": str(b.store.run_dir),
        "matched": [_matched(sa, sb, i, j, s) for i, j, s in matched],
        "new": [
            _unmatched(sb, sa, j, similarity[:, open_b.index(j)], open_a) for j in left_b if j not in other_b
        ],
        "vanished": [
            _unmatched(sa, sb, i, similarity[open_a.index(i)], open_b) for i in left_a if i not in other_a
        ],
        "curated": [
            *_curated("A", sa, sb, other_a),
            *_curated("B", sb, sa, other_b),
        ],
        "config": [
            {"key": k, "a": conf_a.get(k), "b": conf_b.get(k)}
            for k in sorted(conf_a.keys() | conf_b.keys())
            if conf_a.get(k) != conf_b.get(k)
        ],
    }


def _matched(sa: _Side, sb: _Side, i: int, j: int, similarity: float) -> dict[str, Any]:
    ta, tb = sa.ids[i], sb.ids[j]
    return {
        "a": ta,
        "b": tb,
        "similarity": round(similarity, 4),
        "name": sa.names.get(ta) or sb.names.get(tb),
        "added": [w for w in sb.terms[j] if w not in sa.terms[i]],
        "removed": [w for w in sa.terms[i] if w not in sb.terms[j]],
    }


def _unmatched(
    side: _Side, other: _Side, i: int, similarity: np.ndarray, open_other: list[int]
) -> dict[str, Any]:
    """A topic no topic of the other run matched, with the other run's closest open topic:
    unmatched is not unlike everything, as a topic of the other run may hold its terms
    while matched to a closer one (or when the other run has fewer topics)."""
    closest = int(np.argmax(similarity))
    return {
        "topic": side.ids[i],
        "name": side.names.get(side.ids[i]),
        "terms": side.terms[i],
        "closest": other.ids[open_other[closest]],
        "best_similarity": round(float(similarity[closest]), 4),
    }


def _curated(
    label: str, side: _Side, other: _Side, counterparts: dict[int, tuple[int, float]]
) -> list[dict[str, Any]]:
    """The topics of run ``label`` that its labels.yaml dropped or merged, by id, each with
    the topic of the other run it matches (``counterparts``: row -> row, similarity)."""
    out = []
    for i in sorted(side.where("dropped", "merged"), key=side.ids.__getitem__):
        t = side.ids[i]
        j, similarity = counterparts.get(i, (None, None))
        out.append(
            {
                "run": label,
                "topic": t,
                "status": side.status[i],
                "into": side.into.get(t),
                "name": side.names.get(t),
                "terms": side.terms[i],
                "other": None if j is None else other.ids[j],
                "similarity": None if similarity is None else round(similarity, 4),
            }
        )
    return out
