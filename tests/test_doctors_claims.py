"""A profile sentence counts as "treats X" only when it says so: negation, referral, doubt and
near-name diseases (retrieval.doctors.claims), in the matcher's scores and the rationale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.doctors.claims import Claim, adjust, claim, name_variants
from retrieval.doctors.criteria import CriteriaSet, Criterion
from retrieval.doctors.profiles import DoctorProfile
from retrieval.doctors.rationale import LexicalMatcher, explain


@pytest.mark.parametrize(
    ("piece", "disease", "expected"),
    [
        ("Sarcoidosis", "Sarcoidosis", Claim.ASSERTED),
        ("Works in pulmonology with a focus on bronchitis, asthma.", "Bronchitis", Claim.ASSERTED),
        (
            "Refers patients with suspected sarcoidosis to colleagues.",
            "Sarcoidosis",
            Claim.WITHHELD,
        ),
        ("Sarcoidosis patients are referred to colleagues.", "Sarcoidosis", Claim.WITHHELD),
        ("Does not treat asthma; manages COPD.", "Asthma", Claim.WITHHELD),
        ("Manages COPD but not asthma.", "Asthma", Claim.WITHHELD),
        (
            "Rules out pulmonary embolism in the emergency room.",
            "Pulmonary embolism",
            Claim.WITHHELD,
        ),
        ("Bronchiolitis", "Bronchitis", Claim.ABSENT),  # a near name is another disease
        ("Unstable angina", "Stable angina", Claim.ABSENT),
        ("Chronic rhinosinusitis", "Acute rhinosinusitis", Claim.ABSENT),
        ("Sees NSTEMI patients daily.", "Possible NSTEMI / STEMI", Claim.ASSERTED),
        ("HIV care and prevention", "HIV (initial infection)", Claim.ASSERTED),
        ("擅长治疗甲状腺癌", "甲状腺癌", Claim.ASSERTED),
        ("疑似甲状腺癌患者转诊", "甲状腺癌", Claim.WITHHELD),
    ],
)
def test_a_piece_treats_a_disease_only_when_it_says_so(
    piece: str, disease: str, expected: Claim
) -> None:
    assert claim(piece, disease) is expected


def test_a_vague_alternative_of_a_name_is_not_taken_alone() -> None:
    assert name_variants("Acute COPD exacerbation / infection") == [
        "acute copd exacerbation / infection",
        "acute copd exacerbation",
    ]
    assert claim("Treats infection of the skin.", "Acute COPD exacerbation / infection") is (
        Claim.ABSENT
    )


def test_withheld_pieces_score_nothing_and_unnamed_ones_stay_below_the_threshold() -> None:
    pieces = ["Refers suspected sarcoidosis to colleagues.", "Granulomatous lung disease", "x"]
    matrix = np.array([[0.9, 0.9], [0.8, 0.8], [0.7, 0.7]], dtype=np.float32)
    out = adjust(matrix, ["Sarcoidosis", ""], pieces, threshold=0.55)
    assert out[0, 0] == 0.0 and out[1, 0] < 0.55 and out[2, 0] < 0.55
    assert list(out[:, 1]) == pytest.approx([0.9, 0.8, 0.7])  # no disease: unchanged


def test_the_rationale_never_quotes_a_referral_as_treating() -> None:
    criteria = CriteriaSet(
        need="a doctor treating sarcoidosis",
        disease="Sarcoidosis",
        source="test",
        criteria=[
            Criterion(key="condition", text="sarcoidosis", weight=2.0, subject="Sarcoidosis"),
            Criterion(key="department", text="pulmonology", weight=1.0),
        ],
    )
    referrer = DoctorProfile(
        id="r",
        department="Pulmonology",
        introduction="Refers patients with suspected sarcoidosis to colleagues.",
    )
    specialist = DoctorProfile(id="s", department="Pulmonology", specialties=("Sarcoidosis",))
    met = {e.key: e.met for e in explain(LexicalMatcher(), criteria, referrer)}
    assert met == {"condition": False, "department": True}
    condition = explain(LexicalMatcher(), criteria, specialist)[0]
    assert (condition.key, condition.met, condition.evidence) == ("condition", True, "Sarcoidosis")


def test_the_audit_finds_no_rationale_quoting_what_does_not_name_the_disease(
    mini_kb: KnowledgeBase, tmp_path: Path
) -> None:
    from retrieval.doctors import synth
    from retrieval.doctors.audit import evidence

    data = tmp_path / "syn.jsonl"
    synth.write(synth.generate(mini_kb, 4, candidates=20), data)
    counts = evidence(data, mini_kb)
    assert counts["met"] > 0
    assert counts["quoting a referral"] == 0 and counts["not naming the disease"] == 0
