"""report.md: the run summary and one section per topic, for terminals and code hosts."""

from __future__ import annotations

from typing import Any


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) else str(x)


def _opt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def topic_title(t: dict[str, Any]) -> str:
    name = t.get("name")
    terms = " · ".join(x["term"] for x in (t.get("relevance") or t["terms"])[:3])
    return f"Topic {t['topic']}: {name}" if name else f"Topic {t['topic']}: {terms}"


def render_markdown(data: dict[str, Any]) -> str:
    c, m = data["corpus"], data["model"]
    lines = [
        f"# Topics of run `{data['run']}`",
        "",
        "## Corpus",
        "",
        f"- {_num(c['files'])} files, {_num(c['documents'])} documents, {_num(c['units'])} paragraph units",
        f"- {_num(c['tokens'])} tokens after cleaning, vocabulary of {_num(c['terms'])} terms",
        f"- cleaning removed {_num(c['removed_lines'])} lines (furniture, titles and headings; "
        "see `segmentation.tsv`) and "
        + ", ".join(f"{_num(n)} {k}" for k, n in c["removed_tokens"].items())
        + " tokens (see `vocab_audit.json`)",
        *_coverage_lines(c.get("coverage")),
        "",
        "## Model",
        "",
        f"- {m['engine']}, {m['num_topics']} topics, {_training_steps(m)}, "
        f"alpha {m['alpha']}, eta {m['eta']}, seed {m['seed']}",
    ]
    training = data.get("training") or {}
    if data.get("chosen_k"):
        lines.append(f"- chosen by a sweep: {data['chosen_k']['reason']} (see `sweep.csv`)")
    if training.get("mean_stability") is not None:
        lines.append(f"- mean topic stability across seeds: {training['mean_stability']:.3f}")
    for w in training.get("warnings") or []:
        lines.append(f"- warning: {w}")
    for v in data.get("vanished_labels") or []:
        lines.append(f"- label dropped: no topic matches {v} any more (see `labels.yaml`)")
    if data.get("labels"):
        lab = data["labels"]
        lines += [
            "",
            f"## Agreement with `{lab['field']}`",
            "",
            "| level | NMI | ARI | purity |",
            "|---|---:|---:|---:|",
        ]
        for level in ("units", "documents"):
            s = lab[level]
            lines.append(f"| {level} | {s['nmi']:.3f} | {s['ari']:.3f} | {s['purity']:.3f} |")
    lines += [
        "",
        "## Topics at a glance",
        "",
        "| topic | prevalence | coherence (NPMI) | stability | top terms (relevance) | flags |",
        "|---:|---:|---:|---:|---|---|",
    ]
    for t in data["topics"]:
        terms = " ".join(x["term"] for x in (t.get("relevance") or t["terms"])[:8])
        name = f"{t['topic']} {t['name']}" if t.get("name") else str(t["topic"])
        lines.append(
            f"| {name} | {_pct(t['prevalence'])} | {_opt(t['coherence'])} | {_opt(t.get('stability'))} | "
            f"{terms} | {'; '.join(t.get('flags') or []) or '-'} |"
        )
    for t in data["topics"]:
        lines += ["", f"## {topic_title(t)}", ""]
        if t.get("note"):
            lines += [f"*{t['note']}*", ""]
        lines += [
            f"Prevalence {_pct(t['prevalence'])} of tokens; coherence (NPMI) {_opt(t['coherence'])}; "
            f"stability {_opt(t.get('stability'))}.",
            "",
            "- by probability: " + ", ".join(f"{x['term']} ({x['weight']:.3f})" for x in t["terms"]),
        ]
        if t.get("relevance"):
            lines.append("- by relevance: " + " ".join(x["term"] for x in t["relevance"]))
        if t.get("frex"):
            lines.append("- by FREX: " + " ".join(x["term"] for x in t["frex"]))
        if t.get("diagnostics"):
            d = t["diagnostics"]
            lines.append(
                "- diagnostics: "
                + ", ".join(
                    f"{k.replace('_', ' ')} {_opt(v) if isinstance(v, float) else v}"
                    for k, v in d.items()
                    if v is not None
                )
            )
        for f in t.get("flags") or []:
            lines.append(f"- flag: {f}")
        lines.append("")
        if t["representatives"]:
            lines += ["Representative passages:", ""]
        for r in t["representatives"]:
            heading = f" · {r['heading']}" if r.get("heading") else ""
            lines += [
                f"> {r['text']}",
                ">",
                f"> — `{r['where']}`{heading} (weight {r['weight']:.2f})",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def _training_steps(m: dict[str, Any]) -> str:
    if m["engine"] == "tomotopy":
        return f"{m['iterations']} sampling iterations"
    return f"{m['passes']} passes, {m['iterations']} iterations, {m.get('init', 'random')} start"


def _coverage_lines(cov: dict[str, Any] | None) -> list[str]:
    if not cov:
        return []
    lines = [
        f"- {cov['units']:.1%} of the text's characters reached units; {cov['furniture']:.1%} were "
        f"furniture, {cov['title']:.1%} titles and {cov['heading']:.1%} headings "
        "(per file in `manifest.json`)"
    ]
    if cov["low_count"]:
        files = cov["low_files"]
        shown = ", ".join(f"`{f['source']}` ({f['units']:.0%}, mostly {f['mostly']})" for f in files)
        more = f" and {cov['low_count'] - len(files)} more" if cov["low_count"] > len(files) else ""
        lines.append(f"- files keeping less than 90% of their characters: {shown}{more}")
    return lines
