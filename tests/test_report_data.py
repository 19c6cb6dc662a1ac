"""The computations behind the report's views, on arrays with known answers."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

from pipeline import measures
from pipeline.reporting import analysis
from pipeline.reporting.build import document_name, report_data
from pipeline.reporting.inputs import Units
from pipeline.reporting.summary import date_text
from pipeline.reporting.views import documents


def test_bootstrap_interval_contains_the_estimate_and_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 3, size=60)
    mass = rng.dirichlet(np.ones(4), size=60) * rng.integers(5, 50, size=60)[:, None]
    units = np.ones(60, dtype=int)

    def run(seed: int) -> analysis.Prevalence:
        return analysis.bootstrap_prevalence("date", ["a", "b", "c"], groups, mass, units, 200, seed)

    prev = run(42)
    for i in range(3):
        expected = mass[groups == i].sum(axis=0) / mass[groups == i].sum()
        assert prev.share[i] == pytest.approx(expected)
    assert (prev.low <= prev.share).all() and (prev.share <= prev.high).all()
    assert (prev.high - prev.low > 0).all()
    assert np.array_equal(run(42).low, prev.low) and not np.array_equal(run(43).low, prev.low)
    assert prev.documents == tuple(int((groups == i).sum()) for i in range(3))


def test_bootstrap_interval_narrows_with_more_documents() -> None:
    rng = np.random.default_rng(1)
    mass = rng.dirichlet(np.ones(3), size=400) * 20
    few = analysis.bootstrap_prevalence("d", ["p"], np.zeros(20, int), mass[:20], np.ones(20), 300, 1)
    many = analysis.bootstrap_prevalence("d", ["p"], np.zeros(400, int), mass, np.ones(400), 300, 1)
    assert ((many.high - many.low) < (few.high - few.low)).all()


def test_a_period_of_one_document_has_no_spread() -> None:
    prev = analysis.bootstrap_prevalence(
        "d", ["p"], np.zeros(1, int), np.array([[3.0, 1.0]]), np.ones(1), 50, 0
    )
    assert np.array_equal(prev.low, prev.share) and np.array_equal(prev.high, prev.share)


@pytest.mark.parametrize(
    ("n", "most", "expected"),
    [
        (3, 6, [(0, 0), (1, 1), (2, 2)]),
        (12, 6, [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)]),
        (7, 2, [(0, 3), (4, 6)]),
    ],
)
def test_spans_cut_periods_into_nearly_equal_runs(n: int, most: int, expected: list[tuple[int, int]]) -> None:
    got = analysis.spans([str(i) for i in range(n)], most)
    assert got == expected


def test_expected_counts_share_each_token_among_topics_as_the_e_step() -> None:
    phi = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    thetas = np.array([[0.9, 0.1], [0.5, 0.5]])
    bows = [[(0, 2), (2, 1)], [(1, 3), (2, 1)]]
    slot = np.array([[0, 1, 2], [0, 1, 2]])  # every term tracked, in id order
    out = np.zeros((2, 2, 3))
    analysis.expected_counts(thetas, bows, np.array([0, 1]), phi, slot, out)
    for u, bow in enumerate(bows):
        for w, c in bow:
            r = thetas[u] * phi[:, w]
            assert out[u, :, w] == pytest.approx(c * r / r.sum())
    assert out.sum() == pytest.approx(sum(c for bow in bows for _, c in bow))
    untracked = np.zeros((2, 2, 3))
    analysis.expected_counts(
        thetas, bows, np.array([0, 1]), phi, np.array([[0, -1, -1], [-1, -1, 0]]), untracked
    )
    assert untracked[:, 0, 0].sum() == pytest.approx(out[:, 0, 0].sum()) and untracked[:, :, 1:].sum() == 0


def test_term_shifts_find_the_term_that_rose() -> None:
    tracked = np.array([[0, 1, 2]])
    counts = np.array([[[10.0, 5.0, 1.0]], [[10.0, 5.0, 1.0]], [[10.0, 1.0, 9.0]], [[10.0, 1.0, 9.0]]])
    (shift,) = analysis.term_shifts(counts, tracked, {0: "疫情", 1: "口罩", 2: "复工"}, [7], 2)
    assert shift.topic == 7
    assert shift.terms[0] == ("疫情", "口罩") and shift.terms[3] == ("疫情", "复工")
    assert [t.term for t in shift.rose] == ["复工"] and shift.rose[0].score == pytest.approx(9 / 20 - 1 / 16)
    assert shift.fell[0].term == "口罩"  # 5/16 of the topic, then 1/20


def test_relations_pair_the_near_duplicates_and_correlate_topics_that_share_units() -> None:
    rng = np.random.default_rng(5)
    base = rng.dirichlet(np.ones(30) * 0.2, size=3)
    phi = np.vstack([base, 0.9 * base[1] + 0.1 * rng.dirichlet(np.ones(30))])  # topic 3 ≈ topic 1
    a = rng.uniform(size=500)
    thetas = np.column_stack([a, a * 0.8, 1 - a, rng.uniform(size=500) * 0.1])  # 0 and 1 go together
    thetas /= thetas.sum(axis=1, keepdims=True)
    rel = analysis.relations(measures.js_similarity(phi, phi), [10, 11, 12, 13], thetas)
    assert rel is not None
    assert rel.similar[0][:2] == (11, 13)
    assert rel.similar[0][2] == pytest.approx(measures.js_similarity(phi[[1]], phi[[3]])[0, 0])
    assert sorted(rel.leaves) == [10, 11, 12, 13] and len(rel.links) == 3
    assert rel.together[0][:2] == (10, 11)
    assert rel.correlation[0, 2] < 0 and rel.correlation[0, 1] > 0.9
    assert np.allclose(rel.correlation, np.corrcoef(thetas.T))


def test_explorer_holds_every_topic_s_top_terms_at_both_ends_of_lambda() -> None:
    rng = np.random.default_rng(2)
    phi = rng.dirichlet(np.ones(300) * 0.1, size=5)
    count = rng.integers(1, 100, size=300).astype(float)
    share = count / count.sum()
    ex = analysis.explorer(phi, share, count, np.ones(5), {i: f"w{i}" for i in range(300)}, 0.6, 10)
    for lam in (0.0, 0.35, 1.0):
        top = np.argsort(-measures.relevance(phi, share, lam), axis=1)[:, :10]
        for t in range(5):
            assert {f"w{w}" for w in top[t]} <= {ex.terms[j] for j in ex.candidates[t]}
    assert len(ex.terms) < 300  # not the whole vocabulary


def test_explorer_gives_the_same_terms_however_many_topics_it_scores_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    phi = rng.dirichlet(np.ones(300) * 0.1, size=20)
    count = rng.integers(1, 100, size=300).astype(float)
    args = (phi, count / count.sum(), count, np.ones(20), {i: f"w{i}" for i in range(300)}, 0.6, 10, 5)
    monkeypatch.setattr(measures, "BLOCK", 100)  # every topic at once
    whole = analysis.explorer(*args)
    for block in (1, 3, 8):
        monkeypatch.setattr(measures, "BLOCK", block)
        ex = analysis.explorer(*args)
        assert (ex.terms, ex.candidates, ex.holders) == (whole.terms, whole.candidates, whole.holders)
        assert np.array_equal(ex.phi, whole.phi)


def test_heat_map_takes_the_documents_that_carry_each_topic_most() -> None:
    n = 1000
    rng = np.random.default_rng(4)
    mix = rng.dirichlet(np.ones(4) * 0.5, size=n)
    tokens = np.full(n, 10.0)
    tokens[3] = 0  # no tokens: never shown
    mix[3] = [1, 0, 0, 0]
    ids = [f"d{i}" for i in range(n)]
    units = Units(
        np.arange(n), ids, [f"s{i}" for i in range(n)], [f"名{i}" for i in range(n)], None, None, [], {}
    )
    rows = documents.rows(units, mix * tokens[:, None], tokens, [0, 1, 2, 3])
    assert rows is not None
    assert len(rows.doc_ids) == documents.HEATMAP_DOCS and rows.total == n
    assert "d3" not in rows.doc_ids
    for c in range(4):
        best = max((i for i in range(n) if tokens[i]), key=lambda i: mix[i, c])
        assert f"d{best}" in rows.doc_ids
    dominant = rows.mixes.argmax(axis=1)
    assert (np.diff(dominant) >= 0).all()  # grouped by dominant topic
    assert rows.names == tuple(f"名{d[1:]}" for d in rows.doc_ids)  # each row's name beside its id


def test_a_topic_s_first_documents_are_those_a_full_sort_gives_ties_included() -> None:
    rng = np.random.default_rng(6)
    ids = np.arange(3, 3003)
    score = rng.integers(0, 40, size=3000) / 40  # many ties
    full = ids[np.lexsort((ids, -score))]
    for n in (1, 7, 200, 3000):
        assert documents._first(ids, score, n).tolist() == full[:n].tolist()


def test_a_chosen_term_s_holders_are_the_topics_listed_or_lit() -> None:
    rng = np.random.default_rng(8)
    phi = rng.dirichlet(np.ones(400) * 0.05, size=30)
    count = rng.integers(1, 100, size=400).astype(float)
    tokens = rng.uniform(100, 5000, size=30)
    ex = analysis.explorer(phi, count / count.sum(), count, tokens, {i: f"w{i}" for i in range(400)}, 0.6, 10)
    for j in range(len(ex.terms)):
        mass = ex.phi[:, j] * tokens
        listed = set(np.flatnonzero(mass >= analysis.LISTED * mass.sum()))
        lit = set(np.flatnonzero(ex.phi[:, j] >= ex.phi[:, j].max() / 2))
        assert set(ex.holders[j]) == listed | lit
        assert ex.mass[j] == pytest.approx(mass.sum())
    # what the page carries grows with the topics' candidates and holders, not topics x terms
    carried = sum(map(len, ex.candidates)) + sum(map(len, ex.holders))
    assert carried < ex.phi.size / 3


TEXT = "中国网络电视台消息(新闻联播)：本台消息，国务院新闻办公室今天举行发布会。"


@pytest.mark.parametrize(
    ("unit", "name"),
    [
        (
            {"title": "国务院新闻办举行发布会", "heading": "一、概况", "meta": {"title": "旧标题"}},
            "国务院新闻办举行发布会",
        ),
        ({"heading": "一、概况", "meta": {"title": "【关注】 菜价\n上涨"}}, "【关注】 菜价 上涨"),  # one line
        ({"heading": "一、概况", "meta": {}}, "一、概况"),
        (
            {"title": "", "heading": "", "meta": {"title": "  "}},
            "中国网络电视台消息(新闻联播)…",
        ),  # 16 characters
        ({"heading": "", "meta": {}, "text": "短讯"}, "短讯"),
    ],
)
def test_a_document_is_named_by_its_title_else_heading_else_its_first_words(
    unit: dict[str, object], name: str
) -> None:
    assert document_name({"text": TEXT, **unit}) == name


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("20120702", "2012-07-02"),
        ("2012/7/2", "2012-07-02"),
        ("2012-7", "2012-07"),
        (20120702, "2012-07-02"),
        ("2012", "2012"),
        ("2012-13-01", "2012-13-01"),  # not a date: as it is
        ("2012年7月2日", "2012年7月2日"),
        ("经济", "经济"),
        (None, ""),
    ],
)
def test_dates_are_cited_as_iso_dates_when_they_are_dates(value: object, text: str) -> None:
    assert date_text(value) == text


def test_only_load_report_inputs_reads_the_run_folder() -> None:
    """The views build from ReportInputs: no reporting module but build.py (where
    load_report_inputs is) imports the store, and report_data takes none."""
    root = Path(__file__).parent.parent / "pipeline" / "reporting"

    def imports(path: Path) -> set[str]:  # "from pipeline import artifacts" names pipeline.artifacts
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names |= {str(node.module), *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
        return names

    readers = sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.py") if "pipeline.artifacts" in imports(p)
    )
    assert readers == ["build.py"]
    assert list(inspect.signature(report_data).parameters) == ["inputs", "progress"]
