"""Topic names people give in ``labels.yaml``, carried from run to run by topic matching.

The report stage writes ``labels.yaml`` (topic id -> name and note) when it is missing;
people edit it. On the next report the names are applied to the topics. When the
model changes, each named topic is matched to the new topics (optimal assignment on
Jensen-Shannon similarity of topic-term distributions, over shared terms) and its name
follows the topic it matched; names whose topic has no good match are reported as
vanished. ``labels_basis.json`` keeps the top terms of the topics the names were given to.

A topic may also be curated (``pipeline.curation``): ``merge_into: N`` and ``drop: true``
follow their topic across a retrain as names do, a merge target through the same match;
an entry whose topic or target no longer matches is dropped and reported with the
vanished names. Names and notes change only the report; a curation changes the assign
stage's outputs, so assign reads it (``curation_written`` is what its fingerprint sees).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from pipeline import measures
from pipeline.artifacts import RunStore
from pipeline.curation import Curation
from pipeline.errors import InputError

log = logging.getLogger(__name__)

LABELS = "labels.yaml"
BASIS = "labels_basis.json"
BASIS_TERMS = 200

HEADER = """\
# Topic names for this run: give each topic a short name and, if you like, a note.
# The next `pipeline run` shows the names in report.md, report.html, topics.json and
# `pipeline show`. When the topics change, names follow the topic they matched.
# merge_into: N sums the topic into topic N in every output (its share, its terms);
# drop: true keeps the topic in the files, marked, but never as a dominant topic.
# Both apply on the next `pipeline run` without retraining (assign and report re-run).
"""


@dataclass(frozen=True)
class Entry:
    """What labels.yaml says about one topic."""

    name: str | None = None
    note: str | None = None
    merge_into: int | None = None
    drop: bool = False

    @property
    def given(self) -> bool:
        return bool(self.name or self.note or self.merge_into is not None or self.drop)

    @property
    def shown(self) -> str:
        """How a warning names the entry: its name, else what it curates."""
        curated = [f"merge_into: {self.merge_into}"] if self.merge_into is not None else []
        curated += ["drop: true"] if self.drop else []
        return f"'{self.name or ''}'" if self.name or not curated else f"({', '.join(curated)})"


def read_labels(store: RunStore) -> dict[int, Entry]:
    """labels.yaml as written, checked entry by entry; no file is no labels."""
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
    out: dict[int, Entry] = {}
    for key, value in data.items():
        if not isinstance(key, int):
            raise InputError(f"{path}: topic id {key!r} is not a number")
        if isinstance(value, str) or value is None:
            value = {"name": value}
        if not isinstance(value, dict):
            raise InputError(f"{path}: topic {key}: expected name and note")
        name, note = value.get("name"), value.get("note")
        merge_into, drop = value.get("merge_into"), value.get("drop", False)
        if merge_into is not None and (isinstance(merge_into, bool) or not isinstance(merge_into, int)):
            raise InputError(
                f"{path}: topic {key}: merge_into {merge_into!r} is not a topic id of the model; "
                "give the number of the topic to merge it into"
            )
        if drop is None:
            drop = False
        if not isinstance(drop, bool):
            raise InputError(
                f"{path}: topic {key}: drop is {drop!r}, not true or false; write drop: true, or remove it"
            )
        out[key] = Entry(str(name) if name else None, str(note) if note else None, merge_into, drop)
    return out


def curation_written(labels: dict[int, Entry]) -> dict[str, Any]:
    """The curation as labels.yaml writes it (merges as written, not resolved), in one
    canonical form: what the assign stage's fingerprint compares, so that an edited name
    or note, or a reformatted file, does not re-run it."""
    return {
        "merged": [[t, e.merge_into] for t, e in sorted(labels.items()) if e.merge_into is not None],
        "dropped": [t for t, e in sorted(labels.items()) if e.drop],
    }


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
    """Names for the current topics, the names (and curation entries) whose topic
    vanished, the curation resolved against the current topics, and the files that record
    them (written last, once every other output of the report is written)."""

    names: list[dict[str, str | None]]
    vanished: list[str]
    text: str
    basis: list[dict[str, float]]
    curation: Curation

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


def match_labels(store: RunStore, phi: np.ndarray, id2token: dict[int, str], *, warn: bool = True) -> Labels:
    """The names and curation in labels.yaml carried over to the current topics by their terms.

    The file's topic ids are those of the topics in labels_basis.json (the model it was
    written for): its curation is checked against those first, so a typo is reported as
    written, and then carried over.
    """
    k = phi.shape[0]
    source = str(store.path(LABELS))
    labels = {t: e for t, e in read_labels(store).items() if e.given}
    current = _basis(phi, id2token)
    old_k = k
    follows: dict[int, int] = {t: t for t in range(k)}  # topic id in the file -> current topic id
    if labels and store.exists(BASIS):
        old = store.read_json(BASIS)
        old_k = len(old)
        vocab = sorted({w for row in [*old, *current] for w in row})
        match, score = measures.match_topics(_as_matrix(old, vocab), _as_matrix(current, vocab))
        follows = {t: int(match[t]) for t in range(old_k) if match[t] >= 0 and score[t] >= measures.MATCH_MIN}
    # A topic the file's model never had is reported below with the vanished ones.
    Curation.resolve(
        old_k,
        {t: e.merge_into for t, e in labels.items() if t < old_k and e.merge_into is not None},
        [t for t, e in labels.items() if t < old_k and e.drop],
        source,
    )  # as written: a wrong id or a cycle is named with the file's own ids
    say = log.warning if warn else log.debug  # assign reads the file too: one warning a run
    names: list[dict[str, str | None]] = [{"name": None, "note": None} for _ in range(k)]
    merge_into: dict[int, int] = {}
    drop: set[int] = set()
    vanished: list[str] = []
    for t_old, entry in sorted(labels.items()):
        if t_old not in follows:
            vanished.append(f"topic {t_old} {entry.shown}")
            say(
                "labels.yaml: no topic matches topic %s %s any more; its entry is dropped", t_old, entry.shown
            )
            continue
        t = follows[t_old]
        names[t] = {"name": entry.name, "note": entry.note}
        if entry.merge_into is not None and entry.merge_into not in follows:
            who = f"topic {t_old}" + (f" '{entry.name}'" if entry.name else "")
            vanished.append(f"topic {entry.merge_into} (merge_into of {who})")
            say(
                "labels.yaml: no topic matches topic %s any more; the merge_into of %s is dropped",
                entry.merge_into,
                who,
            )
        elif entry.merge_into is not None:
            merge_into[t] = follows[entry.merge_into]
        if entry.drop:
            drop.add(t)
    curation = Curation.resolve(k, merge_into, drop, source)
    text = HEADER + yaml.safe_dump(
        {t: _written(n, merge_into.get(t), t in drop) for t, n in enumerate(names)},
        allow_unicode=True,
        sort_keys=True,
    )
    return Labels(names, vanished, text, current, curation)


def _written(name: dict[str, str | None], merge_into: int | None, drop: bool) -> dict[str, Any]:
    """One topic's entry in labels.yaml: the curation keys only where they are given."""
    out: dict[str, Any] = {"name": name["name"] or "", "note": name["note"] or ""}
    if merge_into is not None:
        out["merge_into"] = merge_into
    if drop:
        out["drop"] = True
    return out
