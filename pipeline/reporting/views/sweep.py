"""Choosing K: the sweep's measures per K (sweep.csv), and the K it chose."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from pipeline.reporting import axes, charts
from pipeline.reporting.data import ReportData, Sweep, SweepPoint
from pipeline.reporting.formats import sig
from pipeline.reporting.inputs import ReportInputs

SWEEP_METRICS = [
    ("c_v", "C_V coherence", "higher is better"),
    ("c_npmi", "NPMI coherence", "higher is better"),
    ("u_mass", "UMass coherence", "closer to 0 is better"),
    ("diversity", "topic diversity", "share of unique top terms"),
    ("perplexity", "perplexity", "lower is better"),
    ("stability", "stability across seeds", "higher is better"),
]


def build(inputs: ReportInputs) -> Sweep | None:
    if inputs.sweep is None:
        return None
    points = tuple(
        SweepPoint(
            int(r["k"]),
            int(r["seed"]),
            {key: (float(v) if v != "" else None) for key, v in r.items() if key not in ("k", "seed")},
        )
        for r in inputs.sweep
    )
    return Sweep(points, inputs.training.get("chosen_k"), inputs.training.get("reason"))


def page(data: ReportData) -> dict[str, Any] | None:
    if data.sweep is None:
        return None
    figures = _figures(data.sweep)
    return {"sweep": data.sweep, "figures": figures} if figures else None


def _figures(sweep: Sweep) -> list[tuple[str, str, Markup]]:
    """One chart per measure the sweep has values of: (title, how to read it, chart)."""
    ks = sorted({float(p.k) for p in sweep.points})

    def k_axis(a: float, b: float, width: float, size: float) -> axes.Axis:
        return axes.linear(ks[0], ks[-1], a, b, size, width=width, integer=True, extend=False, most=len(ks))

    out = []
    for key, title, hint in SWEEP_METRICS:
        points = [(float(p.k), v) for p in sweep.points if (v := p.metrics.get(key)) is not None]
        if points:
            chart = charts.line_chart(
                points,
                k_axis,
                marker=None if sweep.chosen_k is None else float(sweep.chosen_k),
                tip=lambda x, y: f"K={x:g}: {sig(y, 3)}",
            )
            out.append((title, hint, chart))
    return out
