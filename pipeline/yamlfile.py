"""YAML that people write: a key given twice in one mapping is an error, not a silent win.

PyYAML keeps the last of two equal keys. The config and ``labels.yaml`` are typed by
hand, where a repeated key is a slip whose first value would vanish without a word, so
both are read through :func:`load_unique`, which names every repeat with its line.
"""

from __future__ import annotations

from typing import Any

import yaml

Loc = tuple[int | str, ...]


class DuplicateKeys(Exception):
    def __init__(self, found: list[tuple[yaml.Mark, Loc, int]]) -> None:
        super().__init__(found)
        self.found = found  # (where the second one is, its key path, line of the first)


class _Loader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping."""

    def construct_document(self, node: yaml.Node) -> Any:
        found: list[tuple[yaml.Mark, Loc, int]] = []
        _find_duplicates(node, (), found, set())
        if found:
            raise DuplicateKeys(found)
        return super().construct_document(node)


def _find_duplicates(
    node: yaml.Node, loc: Loc, found: list[tuple[yaml.Mark, Loc, int]], seen: set[int]
) -> None:
    if id(node) in seen:  # an alias to a node already walked (or to itself)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            line = key.start_mark.line + 1
            if (key.tag, key.value) in first:
                found.append((key.start_mark, (*loc, key.value), first[key.tag, key.value]))
            else:
                first[key.tag, key.value] = line
            _find_duplicates(value, (*loc, key.value), found, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _find_duplicates(item, (*loc, i), found, seen)


def load_unique(text: str) -> Any:
    """``yaml.safe_load``, but a repeated key raises :class:`DuplicateKeys` naming each."""
    return yaml.load(text, Loader=_Loader)


def key_lines(text: str) -> dict[Loc, int]:
    """The line (1-based) of every key of a YAML document, by its path of keys; empty
    when the text does not parse (the parse error is reported elsewhere)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node | None, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    path = (*loc, _scalar(key))
                    lines.setdefault(path, key.start_mark.line + 1)
                    walk(value, path)

    walk(root, ())
    return lines


def _scalar(node: yaml.ScalarNode) -> int | str:
    """A key as safe_load gives it: the ints of a labels file as ints."""
    if node.tag == "tag:yaml.org,2002:int":
        try:
            return int(node.value)
        except ValueError:  # 0x10, 1_000: rare in a labels file; the line is a nicety
            return node.value
    return node.value
