"""What ``show``, ``compare``, ``stages`` and ``validate`` print, as wide as the terminal.

Widths are rich's: a CJK character takes two columns, and a table cell too narrow for its
text wraps it between words (a word longer than the cell is folded), so no row runs past
the terminal's edge however long a topic's name or terms are.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from pipeline.measures import MATCH_MIN

DEFAULT_WIDTH = 100  # when nothing says how wide: no terminal and no COLUMNS
YAML_NARROWEST = 20  # the narrowest width YAML is folded to


def console() -> Console:
    """A console for standard output as wide as the terminal: rich reads ``COLUMNS``, then
    the terminal of any standard stream; with neither, ``DEFAULT_WIDTH`` columns."""
    width = None if os.environ.get("COLUMNS", "").isdigit() or _terminal() else DEFAULT_WIDTH
    return Console(width=width, highlight=False)


def emit(out: Console, renderable: RenderableType) -> None:
    """Print ``renderable``; to a file or a pipe, without the spaces rich pads a table's
    lines with at their end."""
    if out.is_terminal:
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    out.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _terminal() -> bool:
    for fd in (0, 1, 2):
        try:
            if os.get_terminal_size(fd).columns > 0:
                return True
        except (OSError, ValueError):
            pass
    return False


def _table(out: Console, *columns: str, title: str, caption: str | None = None) -> Table:
    """A table with a rule under its header and no other lines, its columns set apart by
    spaces, which leaves the terms most of the width. A column named ``">..."`` is
    justified right; a ``name`` column takes at most a fifth of the width, and a long name
    wraps in it."""
    table = Table(
        title=Text(title, style="bold"),
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        title_justify="left",
        caption_justify="left",
    )
    for col in columns:
        right = col.startswith(">")
        table.add_column(col.lstrip(">"), justify="right" if right else "left", overflow="fold")
        if col == "name":
            table.columns[-1].max_width = max(12, out.width // 5)
    return table


def _add(table: Table, *cells: str | Text) -> None:
    """A row of plain text: a ``[`` in a name or a term is not rich markup."""
    table.add_row(*(c if isinstance(c, Text) else Text(c) for c in cells))


def _fits(out: Console, table: Table) -> bool:
    """Whether ``table`` fits ``out`` with no cell wrapped."""
    return Measurement.get(out, out.options.update_width(1 << 16), table).maximum <= out.width


def _names(items: list[dict[str, Any]]) -> list[str]:
    """The name column, when any of ``items`` has a name."""
    return ["name"] if any(i["name"] for i in items) else []


def _name(items: list[dict[str, Any]], item: dict[str, Any]) -> list[str]:
    """The name cell of ``item``, when ``items`` have a name column."""
    return [item["name"] or ""] if _names(items) else []


def topics(out: Console, run: str, rows: list[dict[str, Any]]) -> Table:
    """The ``show`` table: id, name (when any topic has one), share, top terms, flags. The
    flags have a column when that leaves every cell on one line; otherwise each flag goes
    on a line of its own under the terms."""
    caption = "share: of the corpus tokens; top terms: ranked by relevance"
    for apart in (any(r["flags"] for r in rows), False):
        head = [">topic", *_names(rows), ">share", "top terms", *(["flags"] if apart else [])]
        table = _table(out, *head, title=f"Topics of {run}", caption=caption)
        for r in rows:
            terms = Text(" ".join(r["terms"]))
            if not apart:
                terms.append("".join(f"\n{f}" for f in r["flags"]), style="italic")
            flags = ["; ".join(r["flags"])] if apart else []
            _add(table, str(r["topic"]), *_name(rows, r), f"{100 * r['prevalence']:.1f}%", terms, *flags)
        if not apart or _fits(out, table):
            break
    return table


def comparison(out: Console, result: dict[str, Any]) -> Group:
    """The ``compare`` output: a summary line, a line naming runs A and B, then a table for
    each kind of topic there is (matched, new in B, vanished from A, dropped or merged)
    and one of the config settings that differ."""
    curated = result["curated"]
    dropped = sum(c["status"] == "dropped" for c in curated)
    summary = Text.assemble(
        (result["a"], "bold"),
        " vs ",
        (result["b"], "bold"),
        f": {len(result['matched'])} matched, {len(result['new'])} new, {len(result['vanished'])} vanished",
        f", {dropped} dropped" if dropped else "",
        f", {len(curated) - dropped} merged" if len(curated) > dropped else "",
    )
    parts: list[RenderableType] = [summary, Text(f"A = {result['a_dir']}, B = {result['b_dir']}")]
    if result["matched"]:
        parts += ["", _matched(out, result["matched"])]
    for side, other, key, title in (
        ("B", "A", "new", "New in B: no topic of A matches"),
        ("A", "B", "vanished", "Vanished from A: no topic of B matches"),
    ):
        if result[key]:
            parts += ["", _unmatched(out, result[key], side, other, title)]
    if curated:
        parts += ["", _curated(out, curated)]
    if result["config"]:
        table = _table(out, "setting", "A", "B", title="Config settings that differ")
        for d in result["config"]:
            _add(table, d["key"], repr(d["a"]), repr(d["b"]))
        parts += ["", table]
    return Group(*parts)


def _matched(out: Console, matched: list[dict[str, Any]]) -> Table:
    caption = (
        f"similarity: 1 - Jensen-Shannon distance of the terms; 1 = the same, under {MATCH_MIN} = no match"
    )
    head = [">A", ">B", ">similarity", *_names(matched), "terms only in A", "terms only in B"]
    table = _table(out, *head, title="Matched", caption=caption)
    for m in matched:
        cells = [str(m["a"]), str(m["b"]), f"{m['similarity']:.3f}", *_name(matched, m)]
        _add(table, *cells, " ".join(m["removed"]), " ".join(m["added"]))
    return table


def _unmatched(out: Console, items: list[dict[str, Any]], side: str, other: str, title: str) -> Table:
    table = _table(out, f">{side}", *_names(items), "top terms", f"closest in {other}", title=title)
    for v in items:
        closest = f"{v['closest']} ({v['best_similarity']:.3f})"
        _add(table, str(v["topic"]), *_name(items, v), " ".join(v["terms"]), closest)
    return table


def _curated(out: Console, curated: list[dict[str, Any]]) -> Table:
    head = ["run", ">topic", "curation", "matches", *_names(curated), "top terms"]
    table = _table(out, *head, title="Dropped or merged in labels.yaml")
    for c in curated:
        what = f"merged into {c['into']}" if c["status"] == "merged" else "dropped"
        other = "B" if c["run"] == "A" else "A"
        match = "none" if c["other"] is None else f"{other} {c['other']} ({c['similarity']:.3f})"
        _add(table, c["run"], str(c["topic"]), what, match, *_name(curated, c), " ".join(c["terms"]))
    return table


def stages(rows: list[tuple[str, str]]) -> Table:
    """The ``stages`` list: each stage and its state; a long reason wraps under itself."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("stage", no_wrap=True)
    table.add_column("state", overflow="fold")
    for name, state in rows:
        _add(table, name, state)
    return table


def as_yaml(data: Any, width: int) -> str:
    """``data`` as YAML with its lines folded to ``width`` columns where YAML can fold them:
    between the words of a long value (a long path cannot fold). PyYAML counts characters,
    not columns, and folds a line only once it has passed its width, so it is given
    narrower widths until every line still too wide is one that cannot fold."""

    def dump(best: int) -> str:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=best).rstrip()

    def too_wide(text: str) -> set[str]:
        return {line for line in text.splitlines() if cell_len(line) > width}

    text = dump(width)
    if too_wide(text):
        unfoldable = too_wide(dump(YAML_NARROWEST))
        best = width
        while not too_wide(text) <= unfoldable and best > YAML_NARROWEST:
            best -= 2
            text = dump(best)
    return text
