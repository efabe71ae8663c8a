"""Doctor ranking inputs: directory files, the DrRank format (Chinese fixture), criteria and the
synthetic set. No embedding model is loaded here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import DataFormatError, MissingDataError
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.doctors import synth
from retrieval.doctors.criteria import (
    CachedCriteria,
    CriteriaSet,
    Criterion,
    NeedCriteria,
    split_need,
)
from retrieval.doctors.drrank import load_drrank
from retrieval.doctors.kb_criteria import KbCriteria, department_for, symptom_phrase
from retrieval.doctors.profiles import DoctorProfile, load_directory, split_sentences
from retrieval.doctors.written_criteria import CriteriaFile, parse_markdown_criteria

FIXTURES = Path(__file__).parent / "fixtures" / "doctors"


def test_jsonl_directory_loads_good_rows_and_reports_each_bad_one() -> None:
    directory = load_directory(FIXTURES / "directory.jsonl")

    assert [p.id for p in directory.profiles] == ["d1", "d2", "d3", "d4", "d5"]
    assert len(directory.problems) == 5
    joined = "\n".join(directory.problems)
    for line, reason in [
        (6, "id"),
        (7, "has no text"),
        (8, "not valid JSON"),
        (9, "duplicate id"),
        (10, "not a JSON object"),
    ]:
        assert f"line {line}: " in joined and reason in joined
    d3 = directory.by_id()["d3"]
    assert d3.specialties == ("Measles", "Flu")  # "a; b" in JSONL is split like CSV
    assert directory.fingerprint and "5 doctor profiles" in directory.summary()


def test_csv_directory_splits_list_fields_and_skips_bad_rows() -> None:
    directory = load_directory(FIXTURES / "directory.csv")

    assert [p.id for p in directory.profiles] == ["c1", "c2"]
    assert directory.profiles[1].specialties == ("Migraine", "Epilepsy")
    assert len(directory.problems) == 2
    assert any("more cells" in p for p in directory.problems)


def test_missing_or_unusable_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="not found"):
        load_directory(tmp_path / "none.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="no usable doctor profile"):
        load_directory(empty)
    other = tmp_path / "doctors.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"\.jsonl or \.csv"):
        load_directory(other)


def test_profile_sections_label_every_piece_and_cut_sentences() -> None:
    profile = DoctorProfile(
        id="x",
        department="Pulmonology",
        specialties=["Pneumonia"],
        expertise="Treats pneumonia. Performs bronchoscopy.",
    )

    assert profile.sections() == [
        ("department", "Pulmonology"),
        ("specialties", "Pneumonia"),
        ("expertise", "Treats pneumonia."),
        ("expertise", "Performs bronchoscopy."),
    ]
    assert split_sentences("科室：胸外科。擅长：肺癌手术。") == [
        "科室：胸外科。",
        "擅长：肺癌手术。",
    ]
    assert "department: Pulmonology" in profile.text()


def test_drrank_loader_reads_the_chinese_fixture_and_reports_bad_lines() -> None:
    dataset = load_drrank(FIXTURES / "drrank_zh.jsonl")

    assert [q.id for q in dataset.queries] == ["q1", "q2", "q5"]
    assert dataset.queries[0].query == "擅长手术治疗甲状腺癌的医生"
    assert len(dataset.problems) == 2
    assert "line 3" in dataset.problems[0] and "not valid JSON" in dataset.problems[0]
    assert "line 4" in dataset.problems[1] and "pos_scores" in dataset.problems[1]
    qrels = dataset.qrels()
    assert qrels["q1"] == {"q1:pos0": 4, "q1:pos1": 3, "q1:pos2": 1, "q1:neg0": 0, "q1:neg1": 0}
    assert qrels["q2"]["q2:neg0"] == 0  # neg_scores are optional
    assert dataset.queries[0].candidates()[0].introduction.startswith("职称：主任医师")


def test_drrank_limit_and_empty_file(tmp_path: Path) -> None:
    assert len(load_drrank(FIXTURES / "drrank_zh.jsonl", limit=2).queries) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "pos": ["a"], "pos_scores": [7]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="no usable DrRank query"):
        load_drrank(bad)


def test_need_is_split_into_disease_and_treatment() -> None:
    assert split_need("a doctor skilled in treating Pneumonia with antibiotics") == (
        "Pneumonia",
        "antibiotics",
    )
    assert split_need("甲状腺癌-手术") == ("甲状腺癌", "手术")
    assert split_need("migraine") == ("migraine", "")


def test_department_comes_from_the_icd10_chapter() -> None:
    assert department_for("J18") == "Pulmonology"
    assert department_for("j01") == "Otolaryngology (ENT)"
    assert department_for("I21") == "Cardiology"
    assert department_for("c34, c35") == "Oncology"
    assert department_for("") == "Internal medicine"
    assert symptom_phrase("Do you have a fever (either felt or measured)?") == "fever"
    assert symptom_phrase("Where is the pain?") == ""


def test_kb_criteria_cover_department_condition_related_symptoms_treatment(
    mini_kb: KnowledgeBase,
) -> None:
    criteria = KbCriteria(mini_kb).criteria_for("a doctor treating pneumonia with antibiotics")

    assert criteria.source == "kb" and criteria.disease == "Pneumonia"
    keys = [c.key for c in criteria.criteria]
    assert keys[:2] == ["department", "condition"]
    assert criteria.criteria[0].text == "Pulmonology"
    assert "related: Flu" in keys  # Flu shares 5 of Pneumonia's 6 findings
    symptoms = next(c for c in criteria.criteria if c.key == "symptoms")
    assert "short of breath" in symptoms.text  # only Pneumonia has E_10
    assert criteria.criteria[-1].key == "treatment" and criteria.criteria[-1].text == "antibiotics"


def test_unknown_disease_falls_back_to_the_needs_words(mini_kb: KnowledgeBase) -> None:
    criteria = KbCriteria(mini_kb).criteria_for("thyroid cancer with surgery")

    assert criteria.source == "need"
    assert [c.text for c in criteria.criteria] == [
        "treats thyroid cancer",
        "surgery",
        "thyroid cancer with surgery",
    ]


def test_drrank_criteria_file_parses_markdown_and_matches_chinese_needs() -> None:
    provider = CriteriaFile(FIXTURES / "criteria_zh.json")

    thyroid = provider.criteria_for("擅长手术治疗甲状腺癌的医生")
    assert (thyroid.disease, thyroid.treatment) == ("甲状腺癌", "手术")
    assert [(c.key, c.group, c.weight) for c in thyroid.criteria] == [
        ("学历与资质", "background", 0.5),
        ("研究贡献", "disease", 1.0),
        ("技术创新", "treatment", 1.0),
    ]
    assert provider.criteria_for("擅长药物治疗糖尿病的医生").disease == "糖尿病"
    assert provider.criteria_for("a doctor for gout").source == "need"
    assert parse_markdown_criteria("no bullets here") == []


def test_criteria_cache_computes_once_and_reads_back_from_disk(tmp_path: Path) -> None:
    calls: list[str] = []

    class Counting:
        name = "counting"

        def criteria_for(self, need: str) -> CriteriaSet:
            calls.append(need)
            return NeedCriteria().criteria_for(need)

    first = CachedCriteria(Counting(), tmp_path)
    made = first.criteria_for("gout with medication")
    assert first.criteria_for("gout with medication") is made
    again = CachedCriteria(Counting(), tmp_path).criteria_for("gout with medication")
    assert again == made and calls == ["gout with medication"]
    assert len(list(tmp_path.glob("*.json"))) == 1
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    unwritable = CachedCriteria(Counting(), blocked / "cache")
    assert unwritable.criteria_for("gout with medication") == made  # the answer is not lost


def test_criterion_weights_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Criterion(key="x", text="y", weight=0.0)


def test_synthetic_set_is_labelled_by_construction(mini_kb: KnowledgeBase, tmp_path: Path) -> None:
    queries = synth.generate(mini_kb, n_queries=3, candidates=20, seed=1)
    again = synth.generate(mini_kb, n_queries=3, candidates=20, seed=1)

    assert [q.need for q in queries] == [q.need for q in again]
    for query in queries:
        grades = [g for _, g in query.candidates]
        assert len(grades) == 20 and set(grades) == {0, 1, 2, 3, 4}
        for profile, grade in query.candidates:
            lists_condition = query.condition in profile.specialties
            assert lists_condition == (grade in (3, 4)), (grade, profile)
            assert "(synthetic)" in profile.name
    out = tmp_path / "syn.jsonl"
    directory = synth.write(queries, out)
    loaded = load_drrank(out)
    assert len(loaded.queries) == 3 and not loaded.problems
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["synthetic"] is True and first["pos_ids"][0].startswith("syn-")
    assert len(load_directory(directory).profiles) == 60


def test_llm_criteria_come_from_a_structured_answer() -> None:
    from agent.llm.client import LLMClient
    from agent.llm.fake import FakeChat
    from retrieval.doctors.written_criteria import LlmCriteria

    written = {
        "disease": "甲状腺癌",
        "treatment": "手术",
        "criteria": [
            {"key": "职称", "text": "主任医师", "group": "background", "weight": 0.5},
            {"key": "手术经验", "text": "甲状腺癌手术", "group": "treatment"},
        ],
    }
    chat = FakeChat(["not json", json.dumps(written, ensure_ascii=False)])
    provider = CachedCriteria(LlmCriteria(LLMClient(chat, format_retries=1)))

    criteria = provider.criteria_for("擅长手术治疗甲状腺癌的医生")
    assert criteria.source == "llm:fake" and criteria.treatment == "手术"
    assert [(c.key, c.weight) for c in criteria.criteria] == [("职称", 0.5), ("手术经验", 1.0)]
    assert provider.criteria_for("擅长手术治疗甲状腺癌的医生") is criteria  # one call per need
    assert len(chat.requests) == 2  # the invalid first answer was retried once
