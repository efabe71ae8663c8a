"""The embedded engine: likelihood models, the posterior, information gain, and the two roles."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from agent.reasoners.ddxplus.bayes import BayesEngine
from agent.reasoners.ddxplus.fit import fit_from_stats
from agent.reasoners.ddxplus.likelihood import LikelihoodModel, StructuralSettings, structural_model
from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker
from agent.reasoners.ddxplus.split_stats import stats_from_records
from agent.reasoners.posterior import softmax
from agent.roles import ConsultationView
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import FindingValue, is_present
from simulator.ddxplus_patient import SimulatedPatient
from simulator.records import PatientRecord, RowError, iter_rows, load_patients, parse_row

FLU, PNEUMONIA, MIGRAINE, MEASLES = range(4)
"""Condition indices of the mini KB (file order)."""


def view(
    findings: Mapping[str, FindingValue] | None = None,
    asked: Sequence[str] = (),
    age: int | None = None,
    sex: str | None = None,
) -> ConsultationView:
    return ConsultationView(
        age=age,
        sex=sex,
        findings=dict(findings or {}),
        asked=list(asked),
        differential=[],
        max_questions=20,
    )


def model_with(kb: KnowledgeBase, columns: Mapping[str, Sequence[float]]) -> LikelihoodModel:
    """The structural model with some columns of P(present | c) replaced, one value per row."""
    model = structural_model(kb)
    p_present = model.p_present.copy()
    for code, column in columns.items():
        p_present[:, kb.evidence_index[code]] = column
    model.p_present = p_present
    return model


@pytest.fixture(scope="module")
def engine(mini_kb: KnowledgeBase) -> BayesEngine:
    return BayesEngine(mini_kb, structural_model(mini_kb))


@pytest.fixture
def diagnoser(engine: BayesEngine) -> BayesDiagnoser:
    return BayesDiagnoser(engine)


@pytest.fixture
def taker(diagnoser: BayesDiagnoser) -> InformationGainHistoryTaker:
    return InformationGainHistoryTaker(diagnoser)


@pytest.fixture(scope="module")
def mini_records(mini_kb: KnowledgeBase, mini_patients_csv: Path) -> list[PatientRecord]:
    return load_patients(mini_kb, mini_patients_csv).records


# -- structural model ---------------------------------------------------------------------------


def test_structural_model_follows_the_kb(mini_kb: KnowledgeBase):
    model = structural_model(mini_kb, StructuralSettings(p_symptom=0.6, p_antecedent=0.3))
    ei = mini_kb.evidence_index
    assert model.p_present.shape == (4, 10)
    assert model.p_present[FLU, ei["E_2"]] == pytest.approx(0.6)  # listed symptom
    assert model.p_present[FLU, ei["E_7"]] == pytest.approx(0.3)  # listed antecedent
    assert model.p_present[MIGRAINE, ei["E_2"]] == pytest.approx(0.002)  # unlisted: the leak
    assert np.exp(model.log_prior) == pytest.approx([0.25] * 4)
    assert model.value_probs["E_7"].shape == (4, 2)
    assert model.value_probs["E_7"].sum(axis=1) == pytest.approx([1.0] * 4)
    assert model.value_probs["E_5"].shape == (4, 10)
    assert model.value_probs["E_4"] == pytest.approx(np.full((4, 3), 0.5))
    assert model.kb_fingerprint == mini_kb.fingerprint()
    assert model.log_sex is None
    assert model.log_age is None


def test_engine_refuses_a_model_of_another_shape(mini_kb: KnowledgeBase):
    model = structural_model(mini_kb)
    model.p_present = model.p_present[:, :5]
    with pytest.raises(ValueError, match="does not match"):
        BayesEngine(mini_kb, model)


# -- posterior ----------------------------------------------------------------------------------


def test_posterior_without_findings_is_uniform(engine: BayesEngine):
    posterior = engine.posterior({}, None, None)
    assert posterior == pytest.approx([0.25] * 4)


@pytest.mark.parametrize(
    "findings",
    [
        {"E_1": True},
        {"E_1": False, "E_2": True},
        {"E_3": True, "E_4": ["V_1", "V_3"], "E_5": 8},
        {"E_7": "V_21", "E_8": True, "E_6": False},
        {"E_1": True, "E_2": True, "E_3": True, "E_8": True, "E_10": True},
    ],
)
def test_posterior_is_a_distribution(engine: BayesEngine, findings):
    posterior = engine.posterior(findings, 40, "F")
    assert posterior.sum() == pytest.approx(1.0)
    assert np.all(posterior > 0)


def test_posterior_is_computed_stably_in_log_space(mini_kb: KnowledgeBase):
    # A constant shift of the log prior changes nothing, even one far below exp's range.
    model = structural_model(mini_kb)
    model.log_prior = model.log_prior - 2000.0
    posterior = BayesEngine(mini_kb, model).posterior({"E_8": True}, None, None)
    reference = BayesEngine(mini_kb, structural_model(mini_kb)).posterior({"E_8": True}, None, None)
    assert np.all(np.isfinite(posterior))
    assert posterior == pytest.approx(reference)


def test_unknown_answers_change_nothing(engine: BayesEngine):
    assert engine.finding_loglik("E_1", None) is None
    assert engine.posterior({"E_1": None, "E_4": None}, None, None) == pytest.approx([0.25] * 4)


def test_unlisted_positive_finding_makes_a_condition_unlikely_not_impossible(
    engine: BayesEngine,
):
    posterior = engine.posterior({"E_8": True}, None, None)  # rash: listed for Measles only
    assert posterior[MEASLES] > 0.95
    for ci in (FLU, PNEUMONIA, MIGRAINE):
        assert 0 < posterior[ci] < 0.01


def test_an_unlisted_finding_can_be_outweighed(engine: BayesEngine):
    # Measles lists neither cough nor shortness of breath nor pain; Pneumonia lists all but rash.
    posterior = engine.posterior(
        {"E_8": True, "E_2": True, "E_10": True, "E_3": True, "E_6": True}, None, None
    )
    assert int(np.argmax(posterior)) == PNEUMONIA


def test_negative_finding_lowers_the_conditions_that_list_it(engine: BayesEngine):
    posterior = engine.posterior({"E_1": False}, None, None)  # no fever
    for ci in (FLU, PNEUMONIA, MEASLES):  # they list fever
        assert posterior[ci] < 0.25
    assert posterior[MIGRAINE] > 0.25
    weights = engine.finding_loglik("E_1", False)
    assert weights is not None
    assert weights[FLU] == pytest.approx(math.log(0.5))
    assert weights[MIGRAINE] == pytest.approx(math.log(1 - 0.002))


def test_categorical_and_multi_choice_likelihoods(engine: BayesEngine):
    travel = engine.finding_loglik("E_7", "V_20")
    assert travel is not None
    # present (0.5 listed / 0.002 not) × uniform over the two non-default values.
    assert travel[FLU] == pytest.approx(math.log(0.5 * 0.5))
    assert travel[MIGRAINE] == pytest.approx(math.log(0.002 * 0.5))
    where = engine.finding_loglik("E_4", ["V_2"])
    assert where is not None
    # present × P(throat chosen) × P(chest not chosen) × P(head not chosen), each 0.5.
    assert where[FLU] == pytest.approx(math.log(0.5**4))
    absent = engine.finding_loglik("E_4", ["V_0"])
    assert absent is not None
    assert absent[FLU] == pytest.approx(math.log(0.5))


# -- expected gain ------------------------------------------------------------------------------


def test_expected_gain_in_closed_form(mini_kb: KnowledgeBase):
    model = model_with(
        mini_kb,
        {"E_1": [1, 1, 0, 0], "E_2": [1, 0, 0, 0], "E_3": [0.3] * 4, "E_8": [0.9, 0.9, 0.1, 0.1]},
    )
    engine = BayesEngine(mini_kb, model)
    gains = engine.expected_gain(np.full(4, 0.25), ["E_1", "E_2", "E_3", "E_8"])
    h_quarter = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    h_tenth = -(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9))
    assert gains[0] == pytest.approx(1.0, abs=1e-6)  # splits the mass in halves: one bit
    assert gains[1] == pytest.approx(h_quarter, abs=1e-6)  # singles out one of four
    assert gains[2] == pytest.approx(0.0, abs=1e-9)  # every condition alike
    assert gains[3] == pytest.approx(1.0 - h_tenth, abs=1e-6)  # a noisy half split
    assert int(np.argmax(gains)) == 0


def test_expected_gain_is_zero_where_the_mass_treats_it_alike(engine: BayesEngine):
    posterior = np.array([0.5, 0.5, 0.0, 0.0])  # Flu or Pneumonia: both list cough
    gains = engine.expected_gain(posterior, ["E_2", "E_10", "E_1"])
    assert gains[0] == pytest.approx(0.0, abs=1e-9)
    assert gains[2] == pytest.approx(0.0, abs=1e-9)  # both list fever too
    assert gains[1] > 0.1  # shortness of breath: Pneumonia only


def test_expected_gain_prefers_the_evidence_that_splits_the_mass(
    engine: BayesEngine, mini_kb: KnowledgeBase
):
    codes = list(mini_kb.evidence_codes)
    gains = dict(zip(codes, engine.expected_gain(np.full(4, 0.25), codes), strict=True))
    # Cough (Flu, Pneumonia) and travel (Flu, Measles) split the four conditions two against two;
    # fever (three of four) and rash (one of four) split them less evenly.
    assert max(gains, key=lambda c: gains[c]) in {"E_2", "E_7"}
    assert gains["E_2"] > gains["E_1"]
    assert gains["E_2"] > gains["E_8"]


def test_expected_gain_is_never_negative(
    mini_kb: KnowledgeBase, engine: BayesEngine, mini_records: list[PatientRecord]
):
    model = fit_from_stats(mini_kb, stats_from_records(mini_kb, mini_records), mini_records)
    fitted = BayesEngine(mini_kb, model)
    rng = np.random.default_rng(7)
    posteriors = [np.full(4, 0.25), np.array([1.0, 0, 0, 0]), *rng.dirichlet(np.ones(4), size=20)]
    codes = list(mini_kb.evidence_codes)
    for eng in (engine, fitted):
        for posterior in posteriors:
            gains = eng.expected_gain(posterior, codes)
            assert gains.shape == (len(codes),)
            assert np.all(gains >= -1e-12)


def test_expected_gain_of_nothing(engine: BayesEngine):
    assert engine.expected_gain(np.full(4, 0.25), []).shape == (0,)


# -- diagnoser ----------------------------------------------------------------------------------


def test_diagnose_ranks_every_condition(diagnoser: BayesDiagnoser):
    ranked = diagnoser.diagnose(view({"E_8": True}))
    assert ranked[0].name == "Measles"
    assert sorted(r.name for r in ranked) == ["Flu", "Measles", "Migraine", "Pneumonia"]
    probabilities = [r.probability for r in ranked]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1.0)


def test_diagnose_follows_new_findings(diagnoser: BayesDiagnoser):
    assert diagnoser.diagnose(view({"E_8": True}))[0].name == "Measles"
    # Same diagnoser, new findings: the cached posterior must not be reused.
    assert diagnoser.diagnose(view({"E_1": False, "E_3": True}))[0].name == "Migraine"


def test_explain_signs(diagnoser: BayesDiagnoser):
    v = view({"E_8": True, "E_1": False})
    explanations = {e.name: e for e in diagnoser.explain(v, diagnoser.diagnose(v), top_k=4)}
    measles = explanations["Measles"]
    assert [e.code for e in measles.raised_by] == ["E_8"]  # rash speaks for Measles
    assert [e.code for e in measles.lowered_by] == ["E_1"]  # no fever speaks against it
    assert measles.raised_by[0].finding == "Do you have a rash on your skin: yes"
    assert measles.lowered_by[0].finding == "Do you have a fever: no"
    migraine = explanations["Migraine"]
    assert [e.code for e in migraine.raised_by] == ["E_1"]  # only Migraine lacks fever
    assert [e.code for e in migraine.lowered_by] == ["E_8"]
    assert explanations["Flu"].severity == 4
    assert explanations["Flu"].icd10 == "J11"
    for explanation in explanations.values():
        assert all(e.weight > 0 for e in explanation.raised_by)
        assert all(e.weight < 0 for e in explanation.lowered_by)


def test_explain_orders_effects_by_strength_and_honours_top_k(diagnoser: BayesDiagnoser):
    v = view({"E_3": True, "E_2": False, "E_1": False, "E_10": False})
    ranked = diagnoser.diagnose(v)
    explanations = diagnoser.explain(v, ranked, top_k=2)
    assert [e.name for e in explanations] == [r.name for r in ranked[:2]]
    for explanation in explanations:
        raised = [e.weight for e in explanation.raised_by]
        lowered = [e.weight for e in explanation.lowered_by]
        assert raised == sorted(raised, reverse=True)
        assert lowered == sorted(lowered)  # most negative first


# -- history taker ------------------------------------------------------------------------------


def test_children_are_not_candidates_until_their_parent_is_present(
    taker: InformationGainHistoryTaker,
):
    for findings in ({}, {"E_3": False}, {"E_3": None}):
        candidates = taker.candidates(findings, [])
        assert "E_4" not in candidates
        assert "E_5" not in candidates
    assert {"E_4", "E_5"} <= set(taker.candidates({"E_3": True}, []))
    assert "E_9" in taker.candidates({}, [])  # the quirk root is askable at once


def test_known_and_asked_evidences_are_not_candidates(taker: InformationGainHistoryTaker):
    candidates = taker.candidates({"E_1": True}, ["E_2", "E_8"])
    assert not {"E_1", "E_2", "E_8"} & set(candidates)
    assert "E_10" in candidates


def test_next_question_describes_the_question(taker: InformationGainHistoryTaker, mini_kb):
    everything_but_travel = [c for c in mini_kb.evidence_codes if c != "E_7"]
    question = taker.next_question(view(asked=everything_but_travel))
    assert question is not None
    assert question.code == "E_7"
    assert question.text == "Have you traveled out of the country recently?"
    assert question.kind == "C"
    assert question.choices == [("Africa", "V_20"), ("Asia", "V_21")]
    assert question.expected_gain > 0
    assert "bits" in question.reason


@pytest.mark.parametrize("pathology", ["Flu", "Pneumonia", "Migraine", "Measles"])
def test_consultation_never_repeats_and_respects_gating(
    taker: InformationGainHistoryTaker,
    mini_kb: KnowledgeBase,
    mini_records: list[PatientRecord],
    pathology: str,
):
    record = next(r for r in mini_records if r.pathology == pathology)
    patient = SimulatedPatient(mini_kb, record)
    findings = patient.intake()
    asked: list[str] = []
    for _ in range(len(mini_kb.evidence_codes) + 1):
        question = taker.next_question(view(findings, asked))
        if question is None:
            break
        assert question.code not in asked
        assert question.code not in findings
        parent = mini_kb.evidence(question.code).parent
        if parent is not None:
            assert is_present(mini_kb.evidence(parent), findings.get(parent)) is True
        asked.append(question.code)
        findings[question.code] = patient.answer(question.code)
    else:
        pytest.fail("the history taker kept asking after every question was asked")


def test_nothing_left_to_ask(taker: InformationGainHistoryTaker, mini_kb: KnowledgeBase):
    assert taker.next_question(view(asked=list(mini_kb.evidence_codes))) is None
    answered = dict.fromkeys(mini_kb.evidence_codes, None)
    assert taker.next_question(view(answered)) is None


def test_stops_when_no_question_is_informative(mini_kb: KnowledgeBase):
    flat = model_with(mini_kb, dict.fromkeys(mini_kb.evidence_codes, [0.3] * 4))
    taker = InformationGainHistoryTaker(BayesDiagnoser(BayesEngine(mini_kb, flat)))
    assert taker.next_question(view({"E_3": True})) is None


def test_stops_when_the_diagnosis_is_certain(mini_kb: KnowledgeBase):
    sharp = model_with(mini_kb, {"E_8": [0.0, 0.0, 0.0, 1.0]})  # clipped to 1e-9 and 1 - 1e-9
    taker = InformationGainHistoryTaker(BayesDiagnoser(BayesEngine(mini_kb, sharp)))
    assert taker.next_question(view({"E_8": True})) is None
    assert taker.next_question(view({"E_8": False})) is not None


# -- the real knowledge base --------------------------------------------------------------------

REAL_CASES = 10
REAL_QUESTIONS = 20


def _first_dev_records(kb: KnowledgeBase, data_dir: Path, count: int) -> list[PatientRecord]:
    path = data_dir / "ddxplus" / "dev_patients.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found: fetch the patients with `ddx data fetch ddxplus`")
    records: list[PatientRecord] = []
    for line, row in itertools.islice(iter_rows(path), count * 2):
        try:
            records.append(parse_row(kb, row, f"{path.name}:{line}"))
        except RowError:
            continue
        if len(records) == count:
            break
    return records


@pytest.mark.integration
def test_real_consultations_rank_the_truth_high(real_kb: KnowledgeBase, real_data_dir: Path):
    records = _first_dev_records(real_kb, real_data_dir, REAL_CASES)
    assert len(records) == REAL_CASES
    diagnoser = BayesDiagnoser(BayesEngine(real_kb, structural_model(real_kb)))
    taker = InformationGainHistoryTaker(diagnoser)
    in_top5 = 0
    for record in records:
        patient = SimulatedPatient(real_kb, record)
        findings = patient.intake()
        asked: list[str] = []
        for _ in range(REAL_QUESTIONS):
            question = taker.next_question(view(findings, asked, record.age, record.sex))
            if question is None:
                break
            assert question.code not in asked
            parent = real_kb.evidence(question.code).parent
            if parent is not None:
                assert is_present(real_kb.evidence(parent), findings.get(parent)) is True
            asked.append(question.code)
            findings[question.code] = patient.answer(question.code)
        ranking = diagnoser.diagnose(view(findings, asked, record.age, record.sex))
        if record.pathology in [r.name for r in ranking[:5]]:
            in_top5 += 1
    assert in_top5 > REAL_CASES // 2, f"truth in the top 5 for {in_top5} of {REAL_CASES}"


def test_one_answer_more_extends_the_kept_posterior_exactly(
    engine: BayesEngine, monkeypatch: pytest.MonkeyPatch
):
    recomputed: list[Mapping[str, FindingValue]] = []
    full = engine.log_joint

    def counted(findings: Mapping[str, FindingValue], *rest: object) -> np.ndarray:
        recomputed.append(findings)
        return full(findings, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "log_joint", counted)
    kept = BayesDiagnoser(engine)
    answers: dict[str, FindingValue] = {}
    steps: list[tuple[str, FindingValue]] = [
        ("E_1", True),
        ("E_8", False),
        ("E_4", ["V_2"]),
        ("E_3", True),
    ]
    for code, value in steps:
        answers[code] = value
        fresh = softmax(full(answers, None, None))
        np.testing.assert_allclose(kept.posterior(view(dict(answers))), fresh, rtol=1e-12)
    # from scratch only at the start and when the pain (E_3) re-weighs its known location (E_4)
    assert [sorted(findings) for findings in recomputed] == [["E_1"], ["E_1", "E_3", "E_4", "E_8"]]
