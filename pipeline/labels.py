"""Topic names people give in ``labels.yaml``, carried from run to run by topic matching.

The report stage writes ``labels.yaml`` (topic id -> name and note) when it is missing;
people edit it. On the next report the names are applied to the topics. When the
model changes, each named topic is matched to the new topics (optimal assignment on
Jensen-Shannon similarity of topic-term distributions, over shared terms) and its name
follows the topic it matched; names whose topic has no good match are reported as
vanished. ``labels_basis.json`` keeps the top terms of the topics the names were given to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import yaml

from pipeline import measures
from pipeline.artifacts import RunStore
from pipeline.errors import InputError

log = logging.getLogger(__name__)

LABELS = "labels.yaml"
BASIS = "labels_basis.json"
BASIS_TERMS = 200

HEADER = """\
# Topic names for this run: give each topic a short name and, if you like, a note.
# The next `pipeline run` shows the names in report.md, report.html, topics.json and
# `pipeline show`. When the topics change, names follow the topic they matched.
"""


def read_labels(store: RunStore) -> dict[int, dict[str, str | None]]:
    if not store.exists(LABELS):
        return {}
    path = store.path(LABELS)
    try:
        data = yaml.safe_load(store.read_text(LABELS)) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError(f"{where}: invalid YAML in labels ({exc.problem}); fix or delete the file") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected 'topic id: {{name: ..., note: ...}}' entries")
    out: dict[int, dict[str, str | None]] = {}
    for key, value in data.items():
        if not isinstance(key, int):
            raise InputError(f"{path}: topic id {key!r} is not a number")
        if isinstance(value, str) or value is None:
            value = {"name": value}
        if not isinstance(value, dict):
            raise InputError(f"{path}: topic {key}: expected name and note")
        name, note = value.get("name"), value.get("note")
        out[key] = {"name": str(name) if name else None, "note": str(note) if note else None}
    return out


def _basis(phi: np.ndarray, id2token: dict[int, str]) -> list[dict[str, float]]:
    top = np.argsort(-phi, axis=1, kind="stable")[:, :BASIS_TERMS]
    return [{id2token[int(i)]: round(float(phi[k, i]), 6) for i in top[k]} for k in range(phi.shape[0])]


def _as_matrix(rows: list[dict[str, float]], vocab: list[str]) -> np.ndarray:
    index = {w: i for i, w in enumerate(vocab)}
    m = np.full((len(rows), len(vocab)), 1e-9)
    for k, row in enumerate(rows):
        for w, p in row.items():
            m[k, index[w]] = p
    return m / m.sum(axis=1, keepdims=True)


@dataclass
class Labels:
    """Names for the current topics, the names whose topic vanished, and the files that
    record them (written last, once every other output of the report is written)."""

    names: list[dict[str, str | None]]
    vanished: list[str]
    text: str
    basis: list[dict[str, float]]

    def write(self, store: RunStore) -> None:
        if not store.exists(LABELS) or store.read_text(LABELS) != self.text:
            store.write_text(LABELS, self.text)
        store.write_json(BASIS, self.basis)


def apply_labels(
    store: RunStore, phi: np.ndarray, id2token: dict[int, str]
) -> tuple[list[dict[str, str | None]], list[str]]:
    """Names for the current topics, and the names whose topic vanished; labels.yaml rewritten."""
    labels = match_labels(store, phi, id2token)
    labels.write(store)
    return labels.names, labels.vanished


def match_labels(store: RunStore, phi: np.ndarray, id2token: dict[int, str]) -> Labels:
    """The names in labels.yaml carried over to the current topics by their terms."""
    k = phi.shape[0]
    labels = read_labels(store)
    current = _basis(phi, id2token)
    names: list[dict[str, str | None]] = [{"name": None, "note": None} for _ in range(k)]
    vanished: list[str] = []
    named = {t: v for t, v in labels.items() if v.get("name") or v.get("note")}
    if named and store.exists(BASIS):
        old = store.read_json(BASIS)
        vocab = sorted({w for row in [*old, *current] for w in row})
        match, score = measures.match_topics(_as_matrix(old, vocab), _as_matrix(current, vocab))
        for t_old, value in named.items():
            if t_old < len(old) and match[t_old] >= 0 and score[t_old] >= measures.MATCH_MIN:
                names[int(match[t_old])] = value
            else:
                vanished.append(f"topic {t_old} '{value.get('name') or ''}'")
    elif named:
        for t, value in named.items():
            if t < k:
                names[t] = value
            else:
                vanished.append(f"topic {t} '{value.get('name') or ''}'")
    for v in vanished:
        log.warning("labels.yaml: no topic matches %s any more; its name is dropped", v)
    text = HEADER + yaml.safe_dump(
        {t: {"name": n["name"] or "", "note": n["note"] or ""} for t, n in enumerate(names)},
        allow_unicode=True,
        sort_keys=True,
    )
    return Labels(names, vanished, text, current)
