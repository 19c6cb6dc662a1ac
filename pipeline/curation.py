"""Topic curation: the merges and drops people ask for in ``labels.yaml``, applied to outputs.

A model's topics are not all worth keeping as they are: two may split one theme, one may
gather boilerplate. Retraining to fix that moves every topic, so people curate instead:
``merge_into: N`` sums a topic's columns into topic N's in every output (its mass and its
terms join N's), ``drop: true`` keeps a topic's column but marks it and keeps it from
being anyone's dominant topic. Applying a curation needs the model's mixes and topics,
never training again.

Merges chain (3 into 1, 1 into 0: 3 and 1 both end in 0). A drop on a topic that is
merged into another has no effect: the topic it ends in decides. Topic ids stay the
model's: a curated column is named by the topic it kept, ``topic_1``, or
``topic_5_dropped``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from pipeline.errors import InputError


@dataclass(frozen=True)
class Curation:
    num_topics: int  # K of the model
    merged: dict[int, int]  # topic -> the topic its columns are summed into (chains resolved)
    dropped: frozenset[int]  # kept topics that no dominant topic may be

    @classmethod
    def none(cls, k: int) -> Curation:
        """Every topic kept as it is."""
        return cls(k, {}, frozenset())

    @classmethod
    def resolve(cls, k: int, merge_into: Mapping[int, int], drop: Iterable[int], source: str) -> Curation:
        """The curation of a model of ``k`` topics from what people wrote (topic -> the topic
        it is merged into, as written; the topics marked to drop), checked: ``source``
        names the file in the errors. Every topic in ``merge_into`` and ``drop`` must be a
        topic of the model."""
        for t, m in sorted(merge_into.items()):
            if not 0 <= m < k:
                raise InputError(
                    f"{source}: topic {t}: merge_into {m} is not a topic id of the model (0 to {k - 1}); "
                    "give the number of the topic to merge it into"
                )
            if m == t:
                raise InputError(
                    f"{source}: topic {t}: merge_into is the topic itself; "
                    "give another topic's number, or remove merge_into"
                )
        merged = {t: _final(t, merge_into, source) for t in sorted(merge_into)}
        curation = cls(k, merged, frozenset(t for t in drop if t not in merged))
        if all(t in curation.dropped for t in curation.kept):
            raise InputError(
                f"{source}: every topic is dropped or merged into a dropped one, so no topic is left "
                "to be a dominant topic; remove drop: true from at least one topic"
            )
        return curation

    @classmethod
    def from_record(cls, k: int, record: Mapping[str, Any] | None) -> Curation:
        """The curation ``record`` wrote to the manifest (none for runs made before curation)."""
        record = record or {}
        merged = {int(t): int(m) for t, m in (record.get("merged") or {}).items()}
        return cls(k, merged, frozenset(int(t) for t in record.get("dropped") or []))

    @cached_property
    def kept(self) -> tuple[int, ...]:
        """The topics that keep a column, ascending: all but those merged into others."""
        return tuple(t for t in range(self.num_topics) if t not in self.merged)

    @cached_property
    def members(self) -> dict[int, tuple[int, ...]]:
        """Each kept topic: itself, then the topics merged into it, ascending."""
        return {t: (t, *sorted(s for s, m in self.merged.items() if m == t)) for t in self.kept}

    def columns(self) -> list[str]:
        """The names of the curated topic columns: ``topic_3``, ``topic_5_dropped``."""
        return [f"topic_{t}_dropped" if t in self.dropped else f"topic_{t}" for t in self.kept]

    def apply(self, thetas: np.ndarray) -> np.ndarray:
        """Mixes over the K topics (rows) as mixes over the kept ones: merged columns summed.

        Without merges the columns are returned as they are, to the bit.
        """
        members = self.members
        if not self.merged:
            return np.array(thetas, dtype=float)
        return np.stack([thetas[..., list(members[t])].sum(axis=-1) for t in self.kept], axis=-1)

    def dominant(self, curated: np.ndarray) -> np.ndarray:
        """The topic id of each curated row's largest column, passing over the dropped topics
        (ties go to the lower id, as ``argmax`` gives them)."""
        kept, open_ = self._columns
        masked = np.where(open_, np.atleast_2d(curated), -np.inf)
        return np.asarray(kept[np.argmax(masked, axis=1)])

    @cached_property
    def _columns(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept topics' ids and which of them are not dropped, as arrays: ``dominant``
        runs for every document and segment."""
        return np.array(self.kept), np.array([t not in self.dropped for t in self.kept])

    def topic_term(self, phi: np.ndarray, shares: np.ndarray) -> np.ndarray:
        """The topic-term rows of the kept topics: a merged topic's row is the mean of its
        members' rows weighted by their shares of the corpus tokens (``shares``, K), which
        is the term distribution of the tokens they hold together. A topic kept alone keeps
        its own row, to the bit."""
        rows = []
        for t in self.kept:
            group = list(self.members[t])
            if len(group) == 1:
                rows.append(phi[t])
                continue
            weights = np.asarray(shares, dtype=float)[group]
            if weights.sum() <= 0:  # topics that hold no tokens: their plain mean
                weights = np.ones(len(group))
            rows.append(weights @ phi[group] / weights.sum())
        return np.array(rows, dtype=float).reshape(len(rows), phi.shape[1])

    def record(self) -> dict[str, Any]:
        """For the manifest: ``{"merged": {"3": 1}, "dropped": [5]}`` (empty when nothing is curated)."""
        return {
            "merged": {str(t): m for t, m in sorted(self.merged.items())},
            "dropped": sorted(self.dropped),
        }


def _final(t: int, merge_into: Mapping[int, int], source: str) -> int:
    """The topic a chain of merges from ``t`` ends in; a cycle is an error."""
    path = [t]
    current = merge_into[t]
    while current in merge_into:
        if current in path:
            cycle = path[path.index(current) :]
            start = cycle.index(min(cycle))  # named from its lowest id, whichever topic found it
            cycle = cycle[start:] + cycle[:start]
            shown = " -> ".join(str(c) for c in [*cycle, cycle[0]])
            raise InputError(
                f"{source}: topic {cycle[0]}: merge_into makes a cycle ({shown}); "
                "remove merge_into from one of these topics"
            )
        path.append(current)
        current = merge_into[current]
    return current
