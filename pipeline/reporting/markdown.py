"""report.md: the run summary and one section per topic, for terminals and code hosts."""

from __future__ import annotations

from typing import Any


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) else str(x)


def render_markdown(summary: dict[str, Any], topics: list[dict[str, Any]]) -> str:
    c = summary["corpus"]
    m = summary["model"]
    lines = [
        f"# Topics of run `{summary['run']}`",
        "",
        "## Corpus",
        "",
        f"- {_num(c['files'])} files, {_num(c['documents'])} documents, {_num(c['units'])} paragraph units",
        f"- {_num(c['tokens'])} tokens after cleaning, vocabulary of {_num(c['terms'])} terms",
        f"- cleaning removed {_num(c['removed_lines'])} lines (furniture, titles and headings; "
        "see `segmentation.tsv`) and "
        + ", ".join(f"{_num(n)} {k}" for k, n in c["removed_tokens"].items())
        + " tokens (see `vocab_audit.json`)",
        "",
        "## Model",
        "",
        f"- {m['engine']}, {m['num_topics']} topics, {m['passes']} passes, "
        f"{m['iterations']} iterations, alpha {m['alpha']}, eta {m['eta']}, seed {m['seed']}",
        "",
        "## Topics at a glance",
        "",
        "| topic | prevalence | coherence (NPMI) | top terms |",
        "|---:|---:|---:|---|",
    ]
    for t in topics:
        coh = "n/a" if t["coherence"] is None else f"{t['coherence']:.3f}"
        terms = " ".join(x["term"] for x in t["terms"][:8])
        lines.append(f"| {t['topic']} | {_pct(t['prevalence'])} | {coh} | {terms} |")
    for t in topics:
        coh = "n/a" if t["coherence"] is None else f"{t['coherence']:.3f}"
        lines += [
            "",
            f"## Topic {t['topic']}: {' · '.join(x['term'] for x in t['terms'][:3])}",
            "",
            f"Prevalence {_pct(t['prevalence'])} of tokens; coherence (NPMI) {coh}.",
            "",
            "Terms: " + ", ".join(f"{x['term']} ({x['weight']:.3f})" for x in t["terms"]),
            "",
        ]
        if t["representatives"]:
            lines.append("Representative passages:")
            lines.append("")
        for r in t["representatives"]:
            heading = f" · {r['heading']}" if r.get("heading") else ""
            lines += [
                f"> {r['text']}",
                ">",
                f"> — `{r['source']}:{r['line_start']}`{heading} (weight {r['weight']:.2f})",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"
