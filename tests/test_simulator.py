"""The simulated patient: structured answers, intake, full profile, and plain-English phrasing."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient, phrase_answer
from simulator.records import PatientRecord, load_patients


@pytest.fixture(scope="module")
def patients(mini_kb: KnowledgeBase, mini_patients_csv: Path) -> dict[str, SimulatedPatient]:
    """The mini file's four patients, keyed by their pathology (one each)."""
    records = load_patients(mini_kb, mini_patients_csv).records
    return {r.pathology: SimulatedPatient(mini_kb, r) for r in records}


@pytest.mark.parametrize(
    ("pathology", "code", "expected"),
    [
        ("Flu", "E_1", True),  # binary, present
        ("Migraine", "E_1", False),  # binary, absent
        ("Measles", "E_7", "V_20"),  # categorical, present
        ("Migraine", "E_7", "V_10"),  # categorical, not in the record: the default
        ("Flu", "E_7", "V_10"),  # categorical, the record holds the default itself
        ("Migraine", "E_4", ["V_2", "V_3"]),  # multi-choice, present
        ("Measles", "E_4", ["V_0"]),  # multi-choice, absent: [default]
        ("Pneumonia", "E_5", 7),  # scale, present
        ("Measles", "E_5", 0),  # scale, absent: the default 0
        ("Pneumonia", "E_9", True),  # the quirk root
    ],
)
def test_answer_present_absent_and_default(patients, pathology, code, expected):
    answer = patients[pathology].answer(code)
    assert answer == expected
    assert type(answer) is type(expected)


def test_answer_to_an_unknown_question_is_a_key_error(patients):
    with pytest.raises(KeyError, match="E_404"):
        patients["Flu"].answer("E_404")


def test_intake_is_the_chief_complaint(patients):
    assert patients["Pneumonia"].intake() == {"E_10": True}
    assert patients["Measles"].intake() == {"E_8": True}


def test_full_profile_leaves_out_children_of_an_absent_parent(patients, mini_kb: KnowledgeBase):
    profile = patients["Measles"].full_profile()  # E_3 (pain) absent
    assert profile["E_3"] is False
    assert "E_4" not in profile
    assert "E_5" not in profile
    assert set(profile) == set(mini_kb.evidence_codes) - {"E_4", "E_5"}


def test_full_profile_keeps_children_of_a_present_parent(patients, mini_kb: KnowledgeBase):
    profile = patients["Flu"].full_profile()
    assert set(profile) == set(mini_kb.evidence_codes)
    assert profile["E_4"] == ["V_2"]
    assert profile["E_5"] == 4


def test_full_profile_agrees_with_answer(patients):
    for patient in patients.values():
        for code, value in patient.full_profile().items():
            assert value == patient.answer(code)


def test_full_profile_keeps_a_child_the_record_has(mini_kb: KnowledgeBase):
    # A record that lists a child without its parent: the child is still reported.
    record = PatientRecord(
        case_id="t:1",
        age=30,
        sex="F",
        pathology="Migraine",
        initial_evidence="E_1",
        evidences={"E_1": True, "E_5": 6},
    )
    profile = SimulatedPatient(mini_kb, record).full_profile()
    assert profile["E_5"] == 6
    assert "E_4" not in profile


def test_full_profile_drops_default_children_of_an_absent_parent(mini_kb: KnowledgeBase):
    # DDXPlus records carry "pain radiates: nowhere" for patients without pain: not a finding.
    record = PatientRecord(
        case_id="t:2",
        age=30,
        sex="F",
        pathology="Measles",
        initial_evidence="E_1",
        evidences={"E_1": True, "E_4": ["V_0"], "E_5": 0},
    )
    profile = SimulatedPatient(mini_kb, record).full_profile()
    assert profile["E_3"] is False
    assert "E_4" not in profile
    assert "E_5" not in profile


@pytest.mark.parametrize(
    ("pathology", "code", "said"),
    [
        ("Flu", "E_1", "Yes."),
        ("Migraine", "E_1", "No."),
        ("Flu", "E_5", "About 4 out of 10."),
        ("Measles", "E_5", "Not at all (0 out of 10)."),
        ("Flu", "E_4", "Throat."),
        ("Migraine", "E_4", "Throat and head."),
        ("Measles", "E_4", "No."),
        ("Measles", "E_7", "Africa."),
        ("Flu", "E_7", "No."),
    ],
)
def test_say_is_plain_english(patients, pathology, code, said):
    assert patients[pathology].say(code) == said


@pytest.mark.parametrize(
    ("code", "value", "said"),
    [
        ("E_4", ["V_1", "V_2", "V_3"], "Chest, throat and head."),
        ("E_4", ["V_0", "V_3"], "Head."),
        ("E_1", None, "I don't know."),
        ("E_5", None, "I don't know."),
        ("E_5", 10, "About 10 out of 10."),
        ("E_7", "V_21", "Asia."),
        ("E_9", False, "No."),
    ],
)
def test_phrase_answer(mini_kb: KnowledgeBase, code, value, said):
    assert phrase_answer(mini_kb, code, value) == said
