"""Topic names and curation that people give in ``labels.yaml``, carried from run to run.

``labels.yaml`` is the user's file. The assign stage writes it once, when it is missing:
one entry a topic, each with a comment giving the topic's share and top terms, so a
person can name topic 7 without looking it up. The tool never writes it again, so every
edit (comments, order, layout) survives any number of runs byte for byte.

Its topic ids are those of the model it was written for, whose top terms
``labels_basis.json`` keeps. When the model changes, each entry is matched to the new
topics (optimal assignment on Jensen-Shannon similarity of topic-term distributions,
over shared terms) and follows the topic it matched; entries whose topic has no good
match are reported as vanished. What the entries come to in the current topic ids is
written to ``labels.resolved.yaml`` (the tool's, rewritten by every report) and said in
a line of the run's output. Deleting ``labels.yaml`` makes the next run write it again
in the current ids, carrying over what ``labels.resolved.yaml`` says.

``merge_into: N`` and ``drop: true`` (``pipeline.curation``) follow their topics as names
do, a merge target through the same match. Names and notes change only the report; the
curation changes assign's outputs, so each stage's fingerprint takes only its own part
of the file (``curation_written``, ``names_written``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from pipeline import measures
from pipeline.artifacts import RunStore
from pipeline.curation import Curation
from pipeline.errors import InputError
from pipeline.yamlfile import DuplicateKeys, key_lines, load_unique

log = logging.getLogger(__name__)

LABELS = "labels.yaml"
BASIS = "labels_basis.json"
RESOLVED = "labels.resolved.yaml"
BASIS_TERMS = 200
COMMENT_TERMS = 8
KEYS = ("name", "note", "merge_into", "drop")

HEADER = """\
# Topic names for this run: give each topic a short name and, if you like, a note.
# The comment after each topic id gives its share of the tokens and its top terms.
# merge_into: N sums the topic into topic N in every output (its share, its terms);
# drop: true keeps the topic in the files, marked, but never as a dominant topic.
# Names change the report only; merge_into and drop re-run assign and report, never
# training. This file is yours: the tool wrote it once and never rewrites it. Its ids
# are those of the model it was written for: after a retrain, names follow the topic
# they match, and labels.resolved.yaml lists them in the new ids (delete this file to
# have the next run write it again in those ids).
"""

RESOLVED_HEADER = """\
# Written by every report; edit labels.yaml, not this file. The entries of labels.yaml
# as they apply to this run's topics, by the ids of this run's outputs.
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


def read_labels(store: RunStore, name: str = LABELS) -> dict[int, Entry]:
    """A labels file, checked: every problem found is one line of one InputError."""
    if not store.exists(name):
        return {}
    path = store.path(name)
    text = store.read_text(name)
    try:
        data = load_unique(text) or {}
    except DuplicateKeys as exc:
        raise InputError(
            "\n".join(
                f"{path}:{mark.line + 1}: {_repeated(loc)} (first given at line {first}); keep one of them"
                for mark, loc, first in exc.found
            )
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError(f"{where}: invalid YAML in labels ({exc.problem}); fix or delete the file") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected 'topic id: {{name: ..., note: ...}}' entries")
    lines = key_lines(text)
    problems: list[str] = []
    out: dict[int, Entry] = {}
    for key, value in data.items():
        try:
            out[key] = _entry(key, value, _placer(str(path), lines, key))
        except _Problems as exc:
            problems += [p if p.startswith(str(path)) else f"{path}: {p}" for p in exc.problems]
    if problems:
        raise InputError("\n".join(problems))
    return out


class _Problems(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems


def _placer(path: str, lines: dict[tuple[int | str, ...], int], key: Any) -> Callable[[Any], str]:
    return lambda k: f"{path}:{lines.get((key, k), lines.get((key,), 1))}"


def _repeated(loc: tuple[int | str, ...]) -> str:
    if len(loc) == 1:
        return f"topic {loc[0]} is given twice"
    return f"topic {loc[0]}: duplicate key {loc[-1]!r}"


def _entry(key: Any, value: Any, at: Callable[[Any], str]) -> Entry:
    """One topic's entry, or every problem with it (``at(k)`` places key ``k``)."""
    if not isinstance(key, int) or isinstance(key, bool):
        raise _Problems([f"topic id {key!r} is not a number; give the topic's id (0, 1, ...)"])
    if isinstance(value, str) or value is None:
        value = {"name": value}
    if not isinstance(value, dict):
        raise _Problems([f"topic {key}: expected name and note"])
    problems = []
    for k in value:
        if k not in KEYS:
            close = difflib.get_close_matches(str(k), KEYS, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(KEYS)}"
            problems.append(f"{at(k)}: topic {key}: unknown key {k!r} ({hint})")
    name, note = value.get("name"), value.get("note")
    merge_into, drop = value.get("merge_into"), value.get("drop", False)
    if merge_into is not None and (isinstance(merge_into, bool) or not isinstance(merge_into, int)):
        problems.append(
            f"topic {key}: merge_into {merge_into!r} is not a topic id of the model; "
            "give the number of the topic to merge it into"
        )
    if drop is None:
        drop = False
    if not isinstance(drop, bool):
        problems.append(f"topic {key}: drop is {drop!r}, not true or false; write drop: true, or remove it")
    if problems:
        raise _Problems(problems)
    return Entry(str(name) if name else None, str(note) if note else None, merge_into, drop)


def written_entries(store: RunStore) -> dict[int, Entry]:
    """The entries that apply: labels.yaml's, or, while it is missing, those of
    labels.resolved.yaml that the next labels.yaml will carry."""
    if store.exists(LABELS):
        return {t: e for t, e in read_labels(store).items() if e.given}
    return {t: e for t, e in read_labels(store, RESOLVED).items() if e.given}


def curation_written(labels: dict[int, Entry]) -> dict[str, Any]:
    """The curation as written (merges as written, not resolved), in one canonical form:
    what the assign stage's fingerprint compares, so that an edited name or note, a
    comment, or a reformatted file does not re-run it."""
    return {
        "merged": [[t, e.merge_into] for t, e in sorted(labels.items()) if e.merge_into is not None],
        "dropped": [t for t, e in sorted(labels.items()) if e.drop],
    }


def names_written(labels: dict[int, Entry]) -> dict[str, Any]:
    """The names and notes as written, in one canonical form: what the report's
    fingerprint compares."""
    return {"names": [[t, e.name, e.note] for t, e in sorted(labels.items()) if e.name or e.note]}


def model_id(phi: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(phi, dtype=np.float64).tobytes()).hexdigest()[:16]


def _basis(phi: np.ndarray, id2token: Mapping[int, str]) -> list[dict[str, float]]:
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
    """The entries carried over to the current topics: each topic's name, the entries
    whose topic vanished, the curation resolved against the current topics, and where
    each current topic's entry came from (its id in labels.yaml)."""

    names: list[dict[str, str | None]]
    vanished: list[str]
    curation: Curation
    origin: dict[int, int]  # current topic id -> its id in labels.yaml
    model: str  # model_id of the current topics

    def resolved_text(self, phi: np.ndarray, id2token: dict[int, str], shares: dict[int, float]) -> str:
        """labels.resolved.yaml: every current topic's entry, with where it came from."""
        entries = {
            t: Entry(n["name"], n["note"], self.curation.merged.get(t), t in self.curation.dropped)
            for t, n in enumerate(self.names)
        }
        notes = {t: f"labels.yaml's topic {o}" for t, o in self.origin.items() if o != t}
        text = RESOLVED_HEADER + f"# model {self.model}\n"
        text += entries_text(entries, phi, id2token, shares, notes)
        if self.vanished:
            text += "# No topic of this run matches these entries of labels.yaml:\n"
            text += "".join(f"#   {v}\n" for v in self.vanished)
        return text

    def write(
        self, store: RunStore, phi: np.ndarray, id2token: dict[int, str], shares: dict[int, float]
    ) -> None:
        store.write_text(RESOLVED, self.resolved_text(phi, id2token, shares))


def entries_text(
    entries: dict[int, Entry],
    phi: np.ndarray,
    id2token: dict[int, str],
    shares: dict[int, float],
    notes: dict[int, str] | None = None,
) -> str:
    """One YAML entry a topic, each after a comment with its share (or curation) and top terms."""
    notes = notes or {}
    top = np.argsort(-phi, axis=1, kind="stable")[:, :COMMENT_TERMS]
    out = []
    for t in range(phi.shape[0]):
        e = entries.get(t, Entry())
        about = [
            f"merged into {e.merge_into}" if e.merge_into is not None else f"{100 * shares.get(t, 0):.1f}%"
        ]
        about += ["dropped"] if e.drop and e.merge_into is None else []
        about += [" ".join(id2token[int(i)] for i in top[t])]
        about += [notes[t]] if t in notes else []
        lines = [f"{t}:  # {' · '.join(about)}"]
        lines += [f"  name: {_quoted(e.name)}", f"  note: {_quoted(e.note)}"]
        lines += [f"  merge_into: {e.merge_into}"] if e.merge_into is not None else []
        lines += ["  drop: true"] if e.drop else []
        out.append("\n".join(lines) + "\n")
    return "".join(out)


def _quoted(text: str | None) -> str:
    return json.dumps(text or "", ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def match_labels(
    store: RunStore, phi: np.ndarray, id2token: Mapping[int, str], *, warn: bool = True
) -> Labels:
    """The names and curation of labels.yaml carried over to the current topics by their terms.

    The file's topic ids are those of the topics in labels_basis.json (the model it was
    written for): its curation is checked against those first, so a typo is reported as
    written, and then carried over. While labels.yaml is missing, the entries of
    labels.resolved.yaml carry over if they were resolved for these very topics.
    """
    k = phi.shape[0]
    source = str(store.path(LABELS))
    current = model_id(phi)
    if store.exists(LABELS):
        labels = {t: e for t, e in read_labels(store).items() if e.given}
    else:
        labels = _carried(store, current)
    old_k = k
    follows: dict[int, int] = {t: t for t in range(k)}  # topic id in the file -> current topic id
    if labels and store.exists(LABELS) and store.exists(BASIS):
        old = store.read_json(BASIS)
        old_k = len(old)
        vocab = sorted({w for row in [*old, *_basis(phi, id2token)] for w in row})
        match, score = measures.match_topics(_as_matrix(old, vocab), _as_matrix(_basis(phi, id2token), vocab))
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
    origin: dict[int, int] = {}
    for t_old, entry in sorted(labels.items()):
        if t_old not in follows:
            vanished.append(f"topic {t_old} {entry.shown}")
            say(
                "labels.yaml: no topic matches topic %s %s any more; its entry is left out",
                t_old,
                entry.shown,
            )
            continue
        t = follows[t_old]
        origin[t] = t_old
        names[t] = {"name": entry.name, "note": entry.note}
        if entry.merge_into is not None and entry.merge_into not in follows:
            who = f"topic {t_old}" + (f" '{entry.name}'" if entry.name else "")
            vanished.append(f"topic {entry.merge_into} (merge_into of {who})")
            say(
                "labels.yaml: no topic matches topic %s any more; the merge_into of %s is left out",
                entry.merge_into,
                who,
            )
        elif entry.merge_into is not None:
            merge_into[t] = follows[entry.merge_into]
        if entry.drop:
            drop.add(t)
    moved = {t: o for t, o in origin.items() if o != t}
    if moved:
        shown = ", ".join(f"{o} is now {t}" for t, o in sorted(moved.items(), key=lambda x: x[1]))
        say(
            "labels.yaml: its topics have new ids (%s); labels.resolved.yaml lists them in this run's ids",
            shown,
        )
    curation = Curation.resolve(k, merge_into, drop, source)
    return Labels(names, vanished, curation, origin, current)


def _carried(store: RunStore, current: str) -> dict[int, Entry]:
    """labels.resolved.yaml's entries, if they were resolved for the topics ``current`` names."""
    if not store.exists(RESOLVED):
        return {}
    first = store.read_text(RESOLVED).split("# model ", 1)
    if len(first) < 2 or first[1][:16] != current:
        return {}
    return {t: e for t, e in read_labels(store, RESOLVED).items() if e.given}


def ensure_labels(
    store: RunStore, phi: np.ndarray, id2token: dict[int, str], shares: np.ndarray, labels: Labels
) -> bool:
    """Write labels.yaml if it is missing (with the entries ``labels`` carried over) and
    the basis its ids refer to if that is missing; never touch a labels.yaml that exists.
    True when labels.yaml was written."""
    written = False
    if not store.exists(LABELS):
        entries = {
            t: Entry(n["name"], n["note"], labels.curation.merged.get(t), t in labels.curation.dropped)
            for t, n in enumerate(labels.names)
        }
        store.write_text(LABELS, HEADER + entries_text(entries, phi, id2token, dict(enumerate(shares))))
        store.write_json(BASIS, _basis(phi, id2token))
        written = True
    elif not store.exists(BASIS):  # a file made by hand: its ids are the current topics'
        store.write_json(BASIS, _basis(phi, id2token))
    return written
