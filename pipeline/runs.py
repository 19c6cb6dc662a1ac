"""Finished runs as objects: open one, list its topics, compare two.

Library side of ``pipeline show`` and ``pipeline compare``; the CLI only prints.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import measures
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

    def topic_term(self) -> tuple[np.ndarray, list[str], tuple[int, ...]]:
        """The curated topic-term matrix (a merged topic's row: the share-weighted mean of
        its members' rows), its vocabulary in dictionary id order, and the kept topic ids
        its rows belong to."""
        dct = self.store.load_dictionary()
        vocab = [dct.id2token[i] for i in range(len(dct))]
        phi = self.store.load_model().topic_term
        k = phi.shape[0]
        curation = self.curation(k)
        return curation.topic_term(phi, self.topic_shares(k)), vocab, curation.kept


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


def _aligned(phi: np.ndarray, vocab: list[str], union: list[str]) -> np.ndarray:
    index = {w: i for i, w in enumerate(union)}
    out = np.zeros((phi.shape[0], len(union)))
    out[:, [index[w] for w in vocab]] = phi
    return out


def compare_runs(a: Run, b: Run, terms: int = 10) -> dict[str, Any]:
    """Match the curated topics of two runs and list what matched, what is new, what
    vanished, and which topics each run dropped (those are not matched). Topics are named
    by their ids in their run."""
    phi_a, vocab_a, ids_a = a.topic_term()
    phi_b, vocab_b, ids_b = b.topic_term()
    topics_a = {t["topic"]: t for t in a.topics()}
    topics_b = {t["topic"]: t for t in b.topics()}
    union = sorted(set(vocab_a) | set(vocab_b))
    A, B = _aligned(phi_a, vocab_a, union), _aligned(phi_b, vocab_b, union)
    top_a = measures.ranked_terms(A, dict(enumerate(union)), terms)
    top_b = measures.ranked_terms(B, dict(enumerate(union)), terms)
    dropped = [
        {"run": side, "topic": t, "name": topics[t].get("name"), "terms": [w for w, _ in top[j]]}
        for side, ids, topics, top in (("a", ids_a, topics_a, top_a), ("b", ids_b, topics_b, top_b))
        for j, t in enumerate(ids)
        if topics.get(t, {}).get("dropped")
    ]
    # The rows of the topics each run keeps; the ids they stand for.
    rows_a = [j for j, t in enumerate(ids_a) if not topics_a.get(t, {}).get("dropped")]
    rows_b = [j for j, t in enumerate(ids_b) if not topics_b.get(t, {}).get("dropped")]
    match, score = measures.match_topics(A[rows_a], B[rows_b])
    similarity = measures.js_similarity(A[rows_a], B[rows_b])
    matched, vanished = [], []
    used: set[int] = set()
    for i, ja in enumerate(rows_a):
        ta, terms_a = ids_a[ja], [w for w, _ in top_a[ja]]
        if match[i] >= 0 and score[i] >= measures.MATCH_MIN:
            jb = rows_b[int(match[i])]
            tb = ids_b[jb]
            used.add(tb)
            terms_b = [w for w, _ in top_b[jb]]
            matched.append(
                {
                    "a": ta,
                    "b": tb,
                    "similarity": round(float(score[i]), 4),
                    "name": topics_a.get(ta, {}).get("name") or topics_b.get(tb, {}).get("name"),
                    "added": [w for w in terms_b if w not in terms_a],
                    "removed": [w for w in terms_a if w not in terms_b],
                }
            )
        else:
            # Unmatched is not unlike everything: a topic of the other run may hold its
            # terms while matched to a closer one (or when the other run has fewer topics).
            closest = int(np.argmax(similarity[i]))
            vanished.append(
                {
                    "a": ta,
                    "name": topics_a.get(ta, {}).get("name"),
                    "terms": terms_a,
                    "closest": ids_b[rows_b[closest]],
                    "best_similarity": round(float(similarity[i, closest]), 4),
                }
            )
    new = [
        {"b": ids_b[jb], "name": topics_b.get(ids_b[jb], {}).get("name"), "terms": [w for w, _ in top_b[jb]]}
        for jb in rows_b
        if ids_b[jb] not in used
    ]
    conf_a, conf_b = flatten(a.manifest.get("config", {})), flatten(b.manifest.get("config", {}))
    config_diff = [
        {"key": k, "a": conf_a.get(k), "b": conf_b.get(k)}
        for k in sorted(conf_a.keys() | conf_b.keys())
        if conf_a.get(k) != conf_b.get(k)
    ]
    return {
        "a": a.name,
        "b": b.name,
        "matched": matched,
        "new": new,
        "vanished": vanished,
        "dropped": dropped,
        "config": config_diff,
    }
