"""Information gain, the differential-list model and the list questions, on the mini knowledge
base (tests/fixtures/mini: Flu, Pneumonia, Migraine, Measles), each against a value worked out
independently of the engine's code."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agent.reasoners.ddxplus.bayes import BayesEngine
from agent.reasoners.ddxplus.differential_list import (
    FeatureBuilder,
    ListModel,
    differential_list,
    feature_layout,
)
from agent.reasoners.ddxplus.fit_list import fit_list_model
from agent.reasoners.ddxplus.gain import expected_gain
from agent.reasoners.ddxplus.likelihood import (
    AGE_BANDS,
    LikelihoodModel,
    age_band,
    structural_model,
)
from agent.reasoners.ddxplus.list_questions import EngineDifferentialList, ListHistoryTaker
from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker
from agent.roles import ConsultationView
from retrieval.ddxplus_kb import KnowledgeBase
from tests.test_engine_list import breathless_records


def view(findings: dict[str, Any], asked: list[str] | None = None) -> ConsultationView:
    return ConsultationView(
        age=30, sex="F", findings=findings, asked=asked or [], differential=[], max_questions=10
    )


def h(p: np.ndarray) -> float:
    """Entropy in bits of an unnormalised distribution (a reference, not the engine's)."""
    p = p[p > 0] / p.sum()
    return float(-(p * np.log2(p)).sum())


def exact_gain(posterior: np.ndarray, outcomes: list[np.ndarray]) -> float:
    """H(C) − Σ_o P(o) H(C | o), from the joint P(c, o) of every outcome."""
    return h(posterior) - sum(float(joint.sum()) * h(joint) for joint in outcomes)


def travel_model(kb: KnowledgeBase, destinations: list[list[float]]) -> LikelihoodModel:
    """Travel (E_7, categorical: V_20 or V_21 when present) with set presence and values."""
    model = structural_model(kb)
    model.p_present[:, kb.evidence_index["E_7"]] = [0.8, 0.8, 0.1, 0.5]
    model.value_probs["E_7"] = np.array(destinations)
    return model


# -- information gain -------------------------------------------------------------------------


def test_a_categorical_question_is_valued_by_each_answer(mini_kb: KnowledgeBase) -> None:
    # Flu travels to V_20, Pneumonia to V_21: the destination tells them apart, presence cannot.
    engine = BayesEngine(mini_kb, travel_model(mini_kb, [[1, 0], [0, 1], [0.5, 0.5], [0.5, 0.5]]))
    posterior = np.array([0.4, 0.4, 0.1, 0.1])
    p = engine.p_present[:, mini_kb.evidence_index["E_7"]]
    q = engine.value_probs["E_7"]
    exact = exact_gain(
        posterior, [posterior * (1 - p), posterior * p * q[:, 0], posterior * p * q[:, 1]]
    )
    gain = expected_gain(engine.outcomes, posterior, ["E_7"], engine.tables(None, None))[0]
    assert gain == pytest.approx(exact, abs=1e-9)
    presence_only = exact_gain(posterior, [posterior * (1 - p), posterior * p])
    assert gain > presence_only + 0.5


def test_values_that_every_condition_shares_add_nothing(mini_kb: KnowledgeBase) -> None:
    engine = BayesEngine(mini_kb, travel_model(mini_kb, [[0.3, 0.7]] * 4))
    posterior = np.array([0.4, 0.4, 0.1, 0.1])
    p = engine.p_present[:, mini_kb.evidence_index["E_7"]]
    gain = expected_gain(engine.outcomes, posterior, ["E_7"], engine.tables(None, None))[0]
    assert gain == pytest.approx(exact_gain(posterior, [posterior * (1 - p), posterior * p]))


def test_negligible_conditions_are_left_out(mini_kb: KnowledgeBase) -> None:
    engine = BayesEngine(mini_kb, structural_model(mini_kb))
    tables = engine.tables(None, None)
    codes = ["E_1", "E_2", "E_8", "E_10"]
    with_dust = expected_gain(engine.outcomes, np.array([0.5, 0.5, 1e-9, 0.0]), codes, tables)
    without = expected_gain(engine.outcomes, np.array([0.5, 0.5, 0.0, 0.0]), codes, tables)
    np.testing.assert_allclose(with_dust, without, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_a_yes_no_answer_tells_at_most_one_bit_and_what_is_unknown(
    mini_kb: KnowledgeBase, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    model = structural_model(mini_kb)
    model.p_present[:] = rng.uniform(0.01, 0.99, model.p_present.shape)
    engine = BayesEngine(mini_kb, model)
    posterior = rng.dirichlet(np.ones(4))
    codes = ["E_1", "E_2", "E_3", "E_6", "E_8", "E_10"]
    tables = engine.tables(None, None)
    gains = expected_gain(engine.outcomes, posterior, codes, tables)
    assert (gains >= -1e-9).all()
    assert (gains <= min(h(posterior), 1.0) + 1e-9).all()
    errors = expected_gain(engine.outcomes, posterior, codes, tables, "error")
    assert (errors >= -1e-9).all() and (errors <= 1 - posterior.max() + 1e-9).all()


def test_sampled_multi_choice_values_are_the_same_every_time(mini_kb: KnowledgeBase) -> None:
    """Common random numbers: the same findings always give the same question."""
    posterior = np.array([0.3, 0.3, 0.3, 0.1])
    gains = [
        expected_gain(engine.outcomes, posterior, ["E_4"], engine.tables(None, None))[0]
        for engine in (BayesEngine(mini_kb, structural_model(mini_kb)) for _ in range(2))
    ]
    assert gains[0] == gains[1]


# -- the differential-list model ---------------------------------------------------------------


def test_every_finding_value_gets_one_feature_and_defaults_none(mini_kb: KnowledgeBase) -> None:
    layout = feature_layout(mini_kb)
    assert len(layout) == len(set(layout))
    assert [v for c, v in layout if c == "E_4"] == ["V_1", "V_2", "V_3"]  # not V_0 (nowhere)
    assert [v for c, v in layout if c == "E_7"] == ["V_20", "V_21"]  # not V_10 (no travel)
    assert [v for c, v in layout if c == "E_5"] == list(range(1, 11))
    assert ("E_1", None) in layout
    assert FeatureBuilder(mini_kb).size == len(layout) + AGE_BANDS + 1


def test_age_and_sex_set_exactly_their_columns(mini_kb: KnowledgeBase) -> None:
    builder = FeatureBuilder(mini_kb)
    base = len(builder.layout)
    old_man = builder.observed({}, 80, "M")
    assert np.flatnonzero(old_man).tolist() == [base + age_band(80)]
    child_girl = builder.observed({}, 6, "F")
    assert np.flatnonzero(child_girl).tolist() == [base + age_band(6), builder.size - 1]
    assert age_band(6) != age_band(80)


def test_a_known_value_is_one_and_the_other_values_zero(mini_kb: KnowledgeBase) -> None:
    engine = BayesEngine(mini_kb, structural_model(mini_kb))
    builder = FeatureBuilder(mini_kb)
    x = builder.expected(engine, {"E_3": True, "E_4": ["V_2"]}, np.full(4, 0.25), 30, "F")
    column = builder.index
    assert [x[column[("E_4", v)]] for v in ("V_1", "V_2", "V_3")] == [0.0, 1.0, 0.0]
    # the pain is known present: its unknown intensity is weighed by the posterior alone
    expected_scale = (
        sum(0.25 * engine.p_present[k, mini_kb.evidence_index["E_5"]] for k in range(4)) * 0.1
    )  # one of ten points in the structural model
    assert x[column[("E_5", 3)]] == pytest.approx(expected_scale)


def test_the_list_model_file_round_trips(mini_kb: KnowledgeBase) -> None:
    model = fit_list_model(mini_kb, breathless_records(20), regularisation=1.0, threshold=0.3)
    arrays, meta = model.to_arrays()
    again = ListModel.from_arrays(arrays, meta)
    np.testing.assert_array_equal(again.weights, model.weights)
    np.testing.assert_array_equal(again.bias, model.bias)
    assert (again.threshold, dict(again.provenance)) == (0.3, dict(model.provenance))


def test_inclusion_is_a_probability_even_for_huge_scores() -> None:
    model = ListModel(np.zeros((3, 2)), np.array([0.0, 1e4, -1e4]), 0.5, {})
    with np.errstate(over="raise"):
        inclusion = model.inclusion(np.ones(2))
    assert inclusion[0] == 0.5 and inclusion[1] == pytest.approx(1.0) and inclusion[2] < 1e-20


def test_the_threshold_is_inclusive_and_ties_keep_the_kb_order() -> None:
    model = ListModel(np.zeros((4, 1)), np.zeros(4), 0.4, {})
    inclusion = np.array([0.4, 0.9, 0.4, 0.39])
    listed = differential_list(model, inclusion, np.array([0.1, 0.6, 0.2, 0.1]), "ABCD")
    assert listed == [("B", 0.9), ("A", 0.4), ("C", 0.4)]


# -- the list in a consultation ------------------------------------------------------------


@pytest.fixture
def lister(mini_kb: KnowledgeBase) -> EngineDifferentialList:
    model = fit_list_model(mini_kb, breathless_records(40), regularisation=10.0, threshold=0.5)
    return EngineDifferentialList(
        BayesDiagnoser(BayesEngine(mini_kb, structural_model(mini_kb))), model
    )


def test_the_list_reports_the_posterior_beside_each_weight(lister: EngineDifferentialList):
    seen = view({"E_1": True, "E_2": True, "E_10": True})
    posterior = dict(
        zip(lister.diagnoser.kb.condition_names, lister.diagnoser.posterior(seen), strict=True)
    )
    listed = lister.differential_list(seen)
    assert listed and all(c.probability == pytest.approx(posterior[c.name]) for c in listed)
    assert [c.weight for c in listed] == sorted((c.weight for c in listed), reverse=True)
    weights = lister.list_weights(seen)
    assert sorted(n for n, _ in weights) == sorted(lister.diagnoser.kb.condition_names)
    assert [w for _, w in weights] == sorted((w for _, w in weights), reverse=True)


def test_the_same_findings_are_not_recomputed(lister: EngineDifferentialList) -> None:
    first = lister.inclusion(view({"E_1": True}))
    assert lister.inclusion(view({"E_1": True})) is first
    changed = lister.inclusion(view({"E_1": True, "E_10": True}))
    assert changed is not first and not np.array_equal(changed[2], first[2])


def test_nothing_is_asked_when_no_open_question_moves_the_list(lister: EngineDifferentialList):
    taker = ListHistoryTaker(lister, InformationGainHistoryTaker(lister.diagnoser), min_gain=1e-6)
    # breathlessness is the one finding the reference lists depend on: once asked, nothing else
    # (never varied in the records) can move the list
    assert taker.next_question(view({"E_1": True, "E_2": True}, asked=["E_10"])) is None
    flat = ListModel(np.zeros_like(lister.model.weights), lister.model.bias, 0.5, {})
    flat_lister = EngineDifferentialList(lister.diagnoser, flat)
    flat_taker = ListHistoryTaker(flat_lister, InformationGainHistoryTaker(lister.diagnoser))
    assert flat_taker.next_question(view({"E_1": True})) is None


def test_list_questions_are_yes_no_questions_not_yet_asked(lister: EngineDifferentialList):
    taker = ListHistoryTaker(lister, InformationGainHistoryTaker(lister.diagnoser), min_gain=0.0)
    asked: list[str] = []
    findings: dict[str, Any] = {"E_1": True}
    for _ in range(6):
        question = taker.next_question(view(findings, asked))
        if question is None:
            break
        assert question.kind == "B" and question.code not in asked
        asked.append(question.code)
        findings[question.code] = False
    assert asked
