"""Fitting the engine model: split statistics, their conversion, demographics, the model file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.errors import DataFormatError
from agent.reasoners.ddxplus.bayes import BayesEngine
from agent.reasoners.ddxplus.demographics import fit_demographics
from agent.reasoners.ddxplus.differential_list import ListModel
from agent.reasoners.ddxplus.fit import CEILING, FitSettings, fit_from_stats
from agent.reasoners.ddxplus.likelihood import structural_model
from agent.reasoners.ddxplus.model_file import Decisions, EngineModel
from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker
from agent.reasoners.ddxplus.shipped import STRUCTURAL, describe_model, load_engine_model
from agent.reasoners.ddxplus.split_stats import read_train_stats, stats_from_records
from agent.roles import ConsultationView
from retrieval.ddxplus_kb import KnowledgeBase, load_knowledge_base
from simulator.records import PatientRecord

FLU, PNEUMONIA, MIGRAINE, MEASLES = range(4)

STATS: dict[str, Any] = {
    "Flu": {
        "prior": 0.5,
        "findings": {
            "E_1": 0.9,
            "E_2": 0.8,
            "E_3": 0.5,
            # over ALL Flu patients: half have no pain and count as "0"
            "E_5": {"0": 0.6, "3": 0.3, "4": 0.1, "1": 1e-7},
            # the broken multi-choice entry: one surviving value per patient
            "E_4": {"V_0": 0.55, "V_2": 0.4, "V_1": 0.05, "V_3": 1e-7},
            "E_7": {"V_10": 0.8, "V_20": 0.2},
        },
    },
    "Pneumonia": {"prior": 0.3, "findings": {"E_1": 0.95, "E_10": 0.7, "E_3": 0.6}},
    "Migraine": {"prior": 0.1, "findings": {"E_3": 1.0, "E_5": {"4": 0.5, "5": 0.5}}},
    "Measles": {"prior": 0.1, "findings": {"E_1": 0.9, "E_8": 0.95}},
}
PROFILE = {"Flu": {"multi_choice_top_marginals": {"E_4": [["V_2", 0.4], ["V_0", 0.55]]}}}


def write(tmp_path: Path, name: str, payload: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def record(
    pathology: str, evidences: dict[str, Any], *, sex: str = "F", age: int = 30, i: int = 0
) -> PatientRecord:
    return PatientRecord(
        case_id=f"t:{pathology}:{i}",
        age=age,
        sex=sex,
        pathology=pathology,
        initial_evidence=next(iter(evidences)),
        evidences=evidences,
        differential=[(pathology, 1.0)],
    )


@pytest.fixture
def stats_files(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path, "stats.json", STATS), write(tmp_path, "profile.json", PROFILE)


# -- reading and converting the split's statistics ---------------------------------------------


def test_binary_probabilities_are_the_statistics_and_unseen_ones_leak(
    mini_kb: KnowledgeBase, stats_files: tuple[Path, Path]
):
    stats = read_train_stats(mini_kb, *stats_files)
    model = fit_from_stats(mini_kb, stats, [], FitSettings(leak=1e-3))
    ei = mini_kb.evidence_index
    assert model.p_present[FLU, ei["E_1"]] == pytest.approx(0.9)
    assert model.p_present[FLU, ei["E_8"]] == pytest.approx(1e-3)  # never seen with Flu
    assert model.p_present[MIGRAINE, ei["E_3"]] == pytest.approx(CEILING)  # every patient
    assert np.exp(model.log_prior) == pytest.approx([0.5, 0.3, 0.1, 0.1])
    assert model.log_age is None  # no sample patients: no demographics


def test_child_questions_are_made_conditional_on_their_parent(
    mini_kb: KnowledgeBase, stats_files: tuple[Path, Path]
):
    model = fit_from_stats(mini_kb, read_train_stats(mini_kb, *stats_files), [])
    ei = mini_kb.evidence_index
    # 40 % of Flu patients have an intensity, 50 % have pain: 80 % of those with pain.
    assert model.p_present[FLU, ei["E_5"]] == pytest.approx(0.8)
    intensity = model.value_probs["E_5"][FLU]  # values 1..5
    assert intensity[2] / intensity[3] == pytest.approx(3.0)  # 0.3 against 0.1
    assert intensity[0] == pytest.approx(intensity[4])  # never seen: both the value leak
    assert intensity.sum() == pytest.approx(1.0)
    # Migraine: every patient has pain and an intensity of 4 or 5.
    assert model.p_present[MIGRAINE, ei["E_5"]] == pytest.approx(CEILING)


def test_multi_choice_values_use_the_profile_and_bounded_sample_estimates(
    mini_kb: KnowledgeBase, stats_files: tuple[Path, Path]
):
    samples = [
        record("Flu", {"E_1": True, "E_3": True, "E_4": ["V_1", "V_2"]}, i=i) for i in range(3)
    ]
    settings = FitSettings(multi_choice_strength=2.0, value_leak=1e-3)
    model = fit_from_stats(mini_kb, read_train_stats(mini_kb, *stats_files), samples, settings)
    ei = mini_kb.evidence_index
    present = 0.45  # 1 − P(default "nowhere") over all Flu patients
    assert model.p_present[FLU, ei["E_4"]] == pytest.approx(present / 0.5)
    chest, throat, head = model.value_probs["E_4"][FLU]  # V_1, V_2, V_3
    assert throat == pytest.approx(0.4 / present)  # the profile's marginal
    pooled_chest = (3 + 0.5) / (3 + 1)  # every sample patient with the pain located chose it
    assert chest == pytest.approx((3 + 2.0 * pooled_chest) / (3 + 2.0))
    # Head: never chosen, the statistics' share is 0 (no lower bound): the pooled prior only.
    assert head == pytest.approx((0 + 2.0 * 0.5 / 4) / (3 + 2.0))


def test_a_value_the_broken_statistics_never_show_is_learnt_from_the_samples(
    mini_kb: KnowledgeBase, stats_files: tuple[Path, Path]
):
    # The statistics' surviving share of "head" is 0 for Flu, yet every sample patient has it:
    # a share of 0 is not evidence of absence.
    samples = [record("Flu", {"E_3": True, "E_4": ["V_3"]}, i=i) for i in range(12)]
    stats = read_train_stats(mini_kb, *stats_files)
    assert fit_from_stats(mini_kb, stats, samples).value_probs["E_4"][FLU, 2] > 0.8
    by_loo = fit_from_stats(mini_kb, stats, samples, FitSettings(multi_choice_strength=None))
    assert by_loo.value_probs["E_4"][FLU, 2] > 0.95
    strengths = by_loo.provenance["settings"]["multi_choice_strength"]
    assert strengths["E_4"] <= 1.0  # the samples agree with each other: little shrinkage


def test_reading_statistics_reports_bad_files_in_one_line(mini_kb: KnowledgeBase, tmp_path: Path):
    for payload, message in (
        ({**STATS, "Cholera": {"prior": 0.1, "findings": {}}}, "unknown condition"),
        ({k: v for k, v in STATS.items() if k != "Measles"}, "no statistics for Measles"),
        ({**STATS, "Measles": {"prior": 2, "findings": {}}}, "not a probability"),
        ({**STATS, "Measles": {"prior": 0.1, "findings": {"E_404": 0.5}}}, "unknown evidence"),
    ):
        with pytest.raises(DataFormatError, match=message) as caught:
            read_train_stats(mini_kb, write(tmp_path, "bad.json", payload))
        assert "\n" not in str(caught.value)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(DataFormatError, match="not a readable JSON"):
        read_train_stats(mini_kb, tmp_path / "broken.json")


def test_statistics_counted_from_records_fit_the_same_kind_of_model(mini_kb: KnowledgeBase):
    records = [
        record("Flu", {"E_1": True, "E_3": True, "E_4": ["V_2"], "E_5": 3}, i=0),
        record("Flu", {"E_1": True, "E_4": ["V_0"], "E_5": 0}, i=1),  # no pain: defaults
        record("Measles", {"E_1": True, "E_8": True}, sex="M", age=6),
    ]
    stats = stats_from_records(mini_kb, records)
    flu = stats.conditions["Flu"]
    assert flu.prior == pytest.approx(2 / 3)
    assert flu.binary == {"E_1": 1.0, "E_3": 0.5}
    assert flu.categorical["E_5"] == {"3": 0.5, "0": 0.5}
    assert flu.multi_choice["E_4"].marginals == {"V_2": 0.5}
    assert flu.multi_choice["E_4"].default == pytest.approx(0.5)
    model = fit_from_stats(mini_kb, stats, records)
    ei = mini_kb.evidence_index
    assert model.p_present[FLU, ei["E_5"]] == pytest.approx(CEILING)  # every Flu pain: rated
    assert model.p_present[FLU, ei["E_4"]] == pytest.approx(CEILING)
    assert model.source == "fitted:records"


# -- demographics -------------------------------------------------------------------------------


def _smokers(n: int) -> list[PatientRecord]:
    """Flu patients: cough in both sexes, smoking in half the women and no man."""
    records = []
    for i in range(n):
        sex = "M" if i % 2 else "F"
        evidences: dict[str, Any] = {"E_1": True, "E_2": True}
        if sex == "F" and i % 4 == 0:
            evidences["E_6"] = True
        records.append(record("Flu", evidences, sex=sex, age=20 + i % 50, i=i))
    return records


def test_an_evidence_never_seen_in_one_sex_is_restricted_when_that_is_significant(
    mini_kb: KnowledgeBase,
):
    p_present = structural_model(mini_kb).p_present.copy()
    p_present[FLU, mini_kb.evidence_index["E_6"]] = 0.25
    p_present[FLU, mini_kb.evidence_index["E_2"]] = 1.0
    demo = fit_demographics(mini_kb, _smokers(80), p_present, None, bayes_factor=20.0)
    assert demo.allowed_sex is not None
    smoke, cough = mini_kb.evidence_index["E_6"], mini_kb.evidence_index["E_2"]
    assert demo.allowed_sex[smoke].tolist() == [False, True]  # never in men
    assert demo.allowed_sex[cough].tolist() == [True, True]
    assert "E_6 never in sex M" in demo.restricted
    # With four patients the same pattern is not evidence enough.
    few = fit_demographics(mini_kb, _smokers(4), p_present, None, bayes_factor=20.0)
    assert few.allowed_sex is not None and few.allowed_sex[smoke].all()


def test_no_effect_in_the_samples_means_maximal_shrinkage(mini_kb: KnowledgeBase):
    demo = fit_demographics(
        mini_kb, _smokers(80), structural_model(mini_kb).p_present, None, bayes_factor=20.0
    )
    # Half of the Flu patients are men, as in the pool: the sex effect is shrunk away.
    assert demo.strength["sex"] >= 1000
    assert demo.log_sex is not None
    assert np.exp(demo.log_sex[FLU]) == pytest.approx(np.exp(demo.log_sex[MEASLES]), abs=1e-3)


def test_a_restricted_evidence_is_never_asked_and_never_counted(mini_kb: KnowledgeBase):
    model = structural_model(mini_kb)
    allowed = np.ones((len(mini_kb.evidence_codes), 2), dtype=bool)
    smoke = mini_kb.evidence_index["E_6"]
    allowed[smoke, 0] = False  # never in men
    model.allowed_sex = allowed
    model.log_sex = np.log(np.full((4, 2), 0.5))
    engine = BayesEngine(mini_kb, model)
    taker = InformationGainHistoryTaker(BayesDiagnoser(engine))
    man = engine.tables(40, "M")
    woman = engine.tables(40, "F")
    assert "E_6" not in taker.candidates({}, [], man.possible)
    assert "E_6" in taker.candidates({}, [], woman.possible)
    assert engine.posterior({"E_6": True}, 40, "M") == pytest.approx(engine.posterior({}, 40, "M"))
    # In women it is twice as frequent as over both sexes (P(F | c) = 1/2).
    assert woman.p_present[PNEUMONIA, smoke] == pytest.approx(2 * model.p_present[PNEUMONIA, smoke])


# -- gated findings -----------------------------------------------------------------------------


def test_a_child_finding_counts_only_under_a_present_parent(mini_kb: KnowledgeBase):
    engine = BayesEngine(mini_kb, structural_model(mini_kb))
    no_pain = engine.posterior({"E_3": False}, None, None)
    # "intensity 0" is what a record says for a patient without pain: it adds nothing.
    assert engine.posterior({"E_3": False, "E_5": 0}, None, None) == pytest.approx(no_pain)
    # A located pain implies pain: the same as saying both.
    located = engine.posterior({"E_4": ["V_2"]}, None, None)
    both = engine.posterior({"E_3": True, "E_4": ["V_2"]}, None, None)
    assert located == pytest.approx(both)


# -- the model file and the model choice --------------------------------------------------------


def _list_model(kb: KnowledgeBase) -> ListModel:
    from agent.reasoners.ddxplus.differential_list import FeatureBuilder

    size = FeatureBuilder(kb).size
    weights = np.arange(len(kb.condition_names) * size, dtype=float).reshape(-1, size) / 100
    return ListModel(weights, np.zeros(len(kb.condition_names)), 0.4, {"records": 3})


def test_the_model_file_round_trips_everything(tmp_path: Path, mini_kb: KnowledgeBase):
    model = EngineModel(structural_model(mini_kb), _list_model(mini_kb), Decisions(0.02))
    model.likelihood.provenance["note"] = "test"
    path = tmp_path / "model.npz"
    model.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no .partial left behind
    loaded = EngineModel.load(path, mini_kb)
    assert loaded.decisions.urgent_threshold == 0.02
    assert loaded.likelihood.provenance["note"] == "test"
    assert loaded.differential is not None
    np.testing.assert_array_equal(loaded.differential.weights, model.differential.weights)  # type: ignore[union-attr]
    assert loaded.differential.threshold == 0.4
    np.testing.assert_array_equal(loaded.likelihood.p_present, model.likelihood.p_present)


def test_loading_a_model_of_another_kb_is_one_line(
    tmp_path: Path, mini_data_dir: Path, mini_kb: KnowledgeBase
):
    conditions = json.loads(
        (mini_data_dir / "ddxplus" / "release_conditions.json").read_text(encoding="utf-8")
    )
    conditions["Migraine"]["symptoms"]["E_2"] = {}
    other = load_knowledge_base(
        mini_data_dir / "ddxplus" / "release_evidences.json",
        write(tmp_path, "release_conditions.json", conditions),
    )
    path = tmp_path / "model.npz"
    EngineModel(structural_model(other)).save(path)
    with pytest.raises(DataFormatError, match="different DDXPlus knowledge base") as caught:
        EngineModel.load(path, mini_kb)
    assert "\n" not in str(caught.value)
    assert "--model structural" in str(caught.value)


def test_the_default_model_falls_back_to_structural_on_another_kb(mini_kb: KnowledgeBase):
    loaded = load_engine_model(mini_kb)  # the shipped model is for the DDXPlus release
    assert loaded.origin == STRUCTURAL
    assert "differs" in loaded.note or "missing" in loaded.note
    assert loaded.model.likelihood.source == "structural"
    assert load_engine_model(mini_kb, "structural").note == ""
    assert describe_model(mini_kb) == STRUCTURAL


def test_a_named_model_file_is_used_and_described(tmp_path: Path, mini_kb: KnowledgeBase):
    path = tmp_path / "m.npz"
    EngineModel(structural_model(mini_kb)).save(path)
    assert load_engine_model(mini_kb, path).origin == str(path.resolve())
    assert describe_model(mini_kb, path).startswith(f"{path.resolve()} sha256:")
    with pytest.raises(DataFormatError, match="ddx kb fit"):
        load_engine_model(mini_kb, tmp_path / "absent.npz")


def test_the_demographic_part_of_the_likelihood_is_a_distribution(mini_kb: KnowledgeBase):
    records = [*_smokers(40), record("Measles", {"E_8": True}, sex="M", age=6, i=99)]
    model = fit_from_stats(mini_kb, stats_from_records(mini_kb, records), records)
    assert model.log_age is not None and model.log_sex is not None
    assert np.exp(model.log_age).sum(axis=1) == pytest.approx([1.0] * 4)
    assert np.exp(model.log_sex).sum(axis=1) == pytest.approx([1.0] * 4)
    assert math.isfinite(float(model.log_prior.sum()))
    diagnoser = BayesDiagnoser(BayesEngine(mini_kb, model))
    child = ConsultationView(
        age=6, sex="M", findings={}, asked=[], differential=[], max_questions=5
    )
    adult = ConsultationView(
        age=40, sex="F", findings={}, asked=[], differential=[], max_questions=5
    )
    assert diagnoser.diagnose(child)[0].name == "Measles"  # the only child of the samples
    assert diagnoser.diagnose(adult)[0].name == "Flu"
