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

    def topic_term(self) -> tuple[np.ndarray, list[str]]:
        """The topic-term matrix and its vocabulary, in dictionary id order."""
        dct = self.store.load_dictionary()
        vocab = [dct.id2token[i] for i in range(len(dct))]
        return self.store.load_model().topic_term, vocab


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
    """One row per topic: id, name, prevalence, top terms (relevance), flags."""
    rows = []
    for t in run.topics():
        ranked = t.get("relevance") or t["terms"]
        rows.append(
            {
                "topic": t["topic"],
                "name": t.get("name") or "",
                "prevalence": t["prevalence"],
                "terms": [x["term"] for x in ranked[:terms]],
                "flags": t.get("flags") or [],
            }
        )
    return rows


def _aligned(phi: np.ndarray, vocab: list[str], union: list[str]) -> np.ndarray:
    index = {w: i for i, w in enumerate(union)}
    out = np.zeros((phi.shape[0], len(union)))
    out[:, [index[w] for w in vocab]] = phi
    return out


def compare_runs(a: Run, b: Run, terms: int = 10) -> dict[str, Any]:
    """Match the topics of two runs and list what matched, what is new, what vanished."""
    phi_a, vocab_a = a.topic_term()
    phi_b, vocab_b = b.topic_term()
    union = sorted(set(vocab_a) | set(vocab_b))
    A, B = _aligned(phi_a, vocab_a, union), _aligned(phi_b, vocab_b, union)
    match, score = measures.match_topics(A, B)
    similarity = measures.js_similarity(A, B)
    top_a = measures.ranked_terms(A, dict(enumerate(union)), terms)
    top_b = measures.ranked_terms(B, dict(enumerate(union)), terms)
    names_a = {t["topic"]: t.get("name") for t in a.topics()}
    names_b = {t["topic"]: t.get("name") for t in b.topics()}
    matched, vanished = [], []
    used: set[int] = set()
    for ta in range(A.shape[0]):
        tb = int(match[ta])
        terms_a = [w for w, _ in top_a[ta]]
        if tb >= 0 and score[ta] >= measures.MATCH_MIN:
            used.add(tb)
            terms_b = [w for w, _ in top_b[tb]]
            matched.append(
                {
                    "a": ta,
                    "b": tb,
                    "similarity": round(float(score[ta]), 4),
                    "name": names_a.get(ta) or names_b.get(tb),
                    "added": [w for w in terms_b if w not in terms_a],
                    "removed": [w for w in terms_a if w not in terms_b],
                }
            )
        else:
            # Unmatched is not unlike everything: a topic of the other run may hold its
            # terms while matched to a closer one (or when the other run has fewer topics).
            closest = int(np.argmax(similarity[ta]))
            vanished.append(
                {
                    "a": ta,
                    "name": names_a.get(ta),
                    "terms": terms_a,
                    "closest": closest,
                    "best_similarity": round(float(similarity[ta, closest]), 4),
                }
            )
    new = [
        {"b": tb, "name": names_b.get(tb), "terms": [w for w, _ in top_b[tb]]}
        for tb in range(B.shape[0])
        if tb not in used
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
        "config": config_diff,
    }
