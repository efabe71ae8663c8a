"""The scaffolding the reasoners share: softmax, entropy, leaders, the kept posterior, the
ranked differential, and the rule that lists findings for and against a condition."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from agent.reasoners.arrays import FloatArray
from agent.reasoners.explanation import (
    FALLBACK_EFFECTS,
    MAX_EFFECTS,
    empty_note,
    for_and_against,
    question_reason,
)
from agent.reasoners.posterior import (
    LastResult,
    Posterior,
    PosteriorDiagnoser,
    binary_entropy_bits,
    entropy_bits,
    leading,
    softmax,
)
from agent.roles import ConsultationView, FindingEffect

ROOT = Path(__file__).resolve().parents[1]


def view(findings: dict[str, bool | None], asked: Sequence[str] = ()) -> ConsultationView:
    return ConsultationView(None, None, findings, list(asked), [], 10)


def test_softmax_is_normalised_and_survives_very_unlikely_scores() -> None:
    p = softmax(np.array([-1000.0, -1001.0, -1002.0]))
    assert p.sum() == pytest.approx(1.0)
    assert p[0] / p[1] == pytest.approx(np.e)


def test_a_temperature_flattens_the_posterior() -> None:
    scores = np.log(np.array([0.8, 0.2]))
    flat = softmax(scores, temperature=2.0)
    assert flat[0] / flat[1] == pytest.approx(2.0)  # √(0.8 / 0.2)
    np.testing.assert_array_equal(softmax(scores, 1.0), softmax(scores))


def test_entropy_in_bits() -> None:
    assert float(entropy_bits(np.array([0.5, 0.5]))) == pytest.approx(1.0)
    assert float(entropy_bits(np.array([1.0, 0.0]))) == 0.0  # 0·log 0 = 0, no NaN
    assert float(entropy_bits(np.full(4, 0.25))) == pytest.approx(2.0)
    columns = entropy_bits(np.array([[0.5, 1.0], [0.5, 0.0]]), axis=0)
    np.testing.assert_allclose(columns, [1.0, 0.0])


def test_binary_entropy_is_one_bit_at_a_half_and_finite_at_the_edges() -> None:
    h = binary_entropy_bits(np.array([0.5, 0.0, 1.0, 0.11]))
    assert h[0] == pytest.approx(1.0)
    assert 0 < h[1] < 1e-9 and 0 < h[2] < 1e-9
    assert h[3] == pytest.approx(0.4999, abs=1e-3)


def test_leading_gives_the_largest_first_with_ties_in_order() -> None:
    values = np.array([0.1, 0.4, 0.2, 0.4, 0.05])
    assert leading(values, 3).tolist() == [1, 3, 2]
    assert leading(values, 10).tolist() == [1, 3, 2, 0, 4]
    rng = np.random.default_rng(0)
    many = rng.random(5000)
    assert leading(many, 7).tolist() == np.argsort(-many, kind="stable")[:7].tolist()


def test_the_last_result_is_kept_and_handed_to_the_next_computation() -> None:
    memo: LastResult[str, int] = LastResult()
    seen: list[tuple[str, int] | None] = []

    def compute(last: tuple[str, int] | None) -> int:
        seen.append(last)
        return len(seen)

    assert memo.get("a", compute) == 1
    assert memo.get("a", compute) == 1  # kept: not computed again
    assert memo.get("b", compute) == 2
    assert seen == [None, ("a", 1)]


class CountingDiagnoser(PosteriorDiagnoser[tuple[str, ...]]):
    """Scores one point per present finding named after a condition."""

    def __init__(self) -> None:
        super().__init__(["flu", "cold", "measles"])
        self.computed: list[tuple[tuple[str, ...], Posterior] | None] = []

    def posterior_key(self, view: ConsultationView) -> tuple[str, ...]:
        return tuple(sorted(c for c, v in view.findings.items() if v))

    def log_scores(
        self, view: ConsultationView, last: tuple[tuple[str, ...], Posterior] | None
    ) -> FloatArray:
        self.computed.append(last)
        present = self.posterior_key(view)
        return np.array([float(name in present) for name in self.condition_names])


def test_a_posterior_diagnoser_ranks_lists_and_keeps_its_posterior() -> None:
    diagnoser = CountingDiagnoser()
    ranking = diagnoser.ranking(view({"cold": True, "flu": False}))
    assert [name for name, _ in ranking] == ["cold", "flu", "measles"]
    assert ranking[0][1] == pytest.approx(np.e / (np.e + 2))
    ranked = diagnoser.diagnose(view({"cold": True, "flu": False}))
    assert [(r.name, r.probability) for r in ranked] == ranking
    assert diagnoser.computed == [None]  # the second call used the kept posterior
    diagnoser.listed = 1
    assert [r.name for r in diagnoser.diagnose(view({"measles": True}))] == ["measles"]
    last = diagnoser.computed[-1]
    assert last is not None and last[0] == ("cold",)  # the previous posterior was offered


def effect(weight: float) -> FindingEffect:
    return FindingEffect(code=f"E_{weight}", statement=str(weight), weight=weight)


def test_findings_are_listed_strongest_first_on_their_side() -> None:
    raised, lowered = for_and_against([effect(w) for w in (0.3, -0.2, 1.2, 0.01, -0.9)])
    assert [e.weight for e in raised] == [1.2, 0.3]
    assert [e.weight for e in lowered] == [-0.9, -0.2]  # 0.01 barely moved it: left out
    many, _ = for_and_against([effect(0.1 * i) for i in range(1, 10)])
    assert len(many) == MAX_EFFECTS


def test_when_nothing_passes_the_cut_the_strongest_small_ones_are_shown() -> None:
    raised, lowered = for_and_against([effect(w) for w in (0.01, -0.04, 0.02, 0.03, 0.0)])
    assert [e.weight for e in raised + lowered] == [0.03, 0.02, -0.04]  # the 3 strongest
    assert FALLBACK_EFFECTS == 3


def test_an_empty_explanation_says_why() -> None:
    assert empty_note(view({}), "flu", []) == "No answers yet."
    assert empty_note(view({"fever": True}), "flu", []) == "No answers yet beyond the complaint."
    assert "tells flu apart" in empty_note(view({"fever": True}, ["fever"]), "flu", [])
    assert empty_note(view({}), "flu", [effect(1.0)]) == ""


def test_a_question_reason_names_the_leaders_it_separates() -> None:
    leaders = ["flu", "cold", "measles"]
    assert question_reason(leaders, [0.9, 0.1, 0.5], 0.5, 0.3, 2) == (
        "It separates flu, measles from cold (expected gain 0.50 bits)."
    )
    assert "tells apart flu" in question_reason(leaders, [0.9, 0.8, 0.5], 0.1, 0.3, 1)
    assert "would argue against flu, cold" in question_reason(leaders, [0.0] * 3, 0.1, 0.3, 2)


def _reasoner_imports(package: Path) -> dict[str, set[str]]:
    """module → the modules of the same package it imports (anywhere: also lazily and for
    type checking only, since each of them is an arrow of the design)."""
    name = ".".join(package.relative_to(ROOT).parts)
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        module = f"{name}.{path.stem}"
        graph[module] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(name + "."):
                graph[module].add(str(node.module))
    return graph


@pytest.mark.parametrize("package", ["ddxplus", "hpo"])
def test_no_import_circle_inside_a_reasoner(package: str) -> None:
    graph = _reasoner_imports(ROOT / "agent" / "reasoners" / package)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert [m for m in graph if reaches(m, m, set())] == []
