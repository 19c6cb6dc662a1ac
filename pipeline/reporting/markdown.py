"""report.md: the run summary and one section per topic, for terminals and code hosts."""

from __future__ import annotations

from pipeline.reporting.data import Corpus, Model, ReportData, Topic


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _opt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def topic_title(t: Topic) -> str:
    return (
        f"Topic {t.id}: {t.name}"
        if t.name
        else f"Topic {t.id}: {' · '.join(x.term for x in t.label_terms[:3])}"
    )


def render_markdown(data: ReportData) -> str:
    run = data.summary
    lines = [f"# Topics of run `{data.run}`", "", "## Corpus", "", *_corpus(run.corpus), "", "## Model", ""]
    lines.append(f"- {_model(run.model)}")
    lines += [f"- {note}" for note in run.training_notes]
    lines += [
        f"- label dropped: no topic matches {v} any more (see `labels.yaml`)" for v in run.vanished_labels
    ]
    for source, target in (run.curation.get("merged") or {}).items():
        lines.append(f"- topic {source} merged into topic {target} (`labels.yaml`)")
    lines += [f"- topic {t} dropped (`labels.yaml`)" for t in run.curation.get("dropped") or []]
    if run.labels:
        lab = run.labels
        lines += [
            "",
            f"## Agreement with `{lab.field}`",
            "",
            "| level | NMI | ARI | purity |",
            "|---|---:|---:|---:|",
        ]
        for level, s in (("units", lab.units), ("documents", lab.documents)):
            lines.append(f"| {level} | {s['nmi']:.3f} | {s['ari']:.3f} | {s['purity']:.3f} |")
    lines += [
        "",
        "## Topics at a glance",
        "",
        "| topic | prevalence | coherence (NPMI) | stability | top terms (relevance) | flags |",
        "|---:|---:|---:|---:|---|---|",
    ]
    for t in data.topics:
        terms = " ".join(x.term for x in (t.relevance or t.terms)[:8])
        name = f"{t.id} {t.name}" if t.name else str(t.id)
        lines.append(
            f"| {name} | {_pct(t.prevalence)} | {_opt(t.coherence)} | {_opt(t.stability)} | "
            f"{terms} | {'; '.join(t.flags) or '-'} |"
        )
    for t in data.topics:
        lines += ["", f"## {topic_title(t)}", ""]
        if t.note:
            lines += [f"*{t.note}*", ""]
        lines += [
            f"Prevalence {_pct(t.prevalence)} of tokens; coherence (NPMI) {_opt(t.coherence)}; "
            f"stability {_opt(t.stability)}.",
            "",
            "- by probability: " + ", ".join(f"{x.term} ({x.score:.3f})" for x in t.terms),
        ]
        if t.relevance:
            lines.append("- by relevance: " + " ".join(x.term for x in t.relevance))
        if t.frex:
            lines.append("- by FREX: " + " ".join(x.term for x in t.frex))
        if t.merged:
            lines.append("- merged from topics " + ", ".join(map(str, t.merged)))
        if t.dropped:
            lines.append("- dropped in `labels.yaml`: never a dominant topic, left out of the charts")
        diag = [f"{k.replace('_', ' ')} {_opt(v)}" for k, v in t.diagnostics.items() if v is not None]
        diag.append(f"rank1 units {t.rank1_units}")
        if diag:
            lines.append("- diagnostics: " + ", ".join(diag))
        lines += [f"- flag: {f}" for f in t.flags]
        lines.append("")
        if t.passages:
            lines += ["Representative passages:", ""]
        for p in t.passages:
            cited = [p.title, p.date, f"`{p.where}`", p.heading if p.heading != p.title else ""]
            source = " · ".join(c for c in cited if c)
            lines += [f"> {p.text}", ">", f"> — {source} (weight {p.weight:.2f})", ""]
    return "\n".join(lines).rstrip() + "\n"


def _model(m: Model) -> str:
    return f"{m.engine}, {m.num_topics} topics, {m.steps}, alpha {m.alpha}, eta {m.eta}, seed {m.seed}"


def _corpus(c: Corpus) -> list[str]:
    removed = ", ".join(f"{n:,} {k}" for k, n in c.removed_tokens.items())
    lines = [
        f"- {c.files:,} files, {c.documents:,} documents, {c.units:,} paragraph units",
        f"- {c.tokens:,} tokens after cleaning, vocabulary of {c.terms:,} terms",
        f"- cleaning removed {c.removed_lines:,} lines and spans (furniture, titles, headings and "
        "boilerplate; "
        f"see `segmentation.tsv`) and {removed} tokens (see `vocab_audit.json`)",
    ]
    if c.new_words:
        shown = ", ".join(w for w, _ in c.new_words[:12])
        more = " …" if len(c.new_words) > 12 else ""
        lines.append(f"- {len(c.new_words):,} words found in the corpus and kept whole: {shown}{more}")
    if c.duplicates is not None:
        what = (
            "kept in training and among the passages"
            if c.duplicates_trained
            else "left out of training and of the passages, with their topic mixes"
        )
        lines.append(
            f"- {c.duplicates:,} near-duplicate documents found (`duplicates.csv`)"
            + (f": {what}" if c.duplicates else "")
        )
    cov = c.coverage
    if cov is None:
        return lines
    s = cov.shares
    lines.append(
        f"- {s['units']:.1%} of the text's characters reached units; {s['furniture']:.1%} were "
        f"furniture, {s['title']:.1%} titles, {s['heading']:.1%} headings and "
        f"{s.get('boilerplate', 0):.1%} boilerplate (per file in `manifest.json`)"
    )
    if c.boilerplate:
        shown = "; ".join(f"{text} ({taken:,}×)" for text, _docs, taken in c.boilerplate[:5])
        lines.append(f"- boilerplate learned from the corpus, most often taken: {shown}")
    if c.boilerplate_only:
        lines.append(f"- {c.boilerplate_only:,} documents are made only of boilerplate and were kept as text")
    if cov.low_count:
        shown = ", ".join(f"`{src}` ({kept:.0%}, mostly {mostly})" for src, kept, mostly in cov.low_files)
        more = f" and {cov.low_count - len(cov.low_files)} more" if cov.low_count > len(cov.low_files) else ""
        lines.append(f"- files keeping less than 90% of their characters: {shown}{more}")
    return lines
