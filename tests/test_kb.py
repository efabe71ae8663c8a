"""The DDXPlus knowledge base: every evidence kind, gating, quirks, errors and the fingerprint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.errors import DataFormatError, MissingDataError
from retrieval.ddxplus_kb import (
    EvidenceKind,
    KnowledgeBase,
    askable_roots,
    load_from_data_dir,
    load_knowledge_base,
)

Json = dict[str, Any]


def _read(mini_data_dir: Path, name: str) -> Json:
    payload: Json = json.loads((mini_data_dir / "ddxplus" / name).read_text(encoding="utf-8"))
    return payload


def write_kb(
    tmp_path: Path,
    mini_data_dir: Path,
    edit_evidences: Callable[[Json], None] | None = None,
    edit_conditions: Callable[[Json], None] | None = None,
) -> tuple[Path, Path]:
    """Copy the mini KB to ``tmp_path/ddxplus`` after applying the edits; return both paths."""
    evidences = _read(mini_data_dir, "release_evidences.json")
    conditions = _read(mini_data_dir, "release_conditions.json")
    if edit_evidences:
        edit_evidences(evidences)
    if edit_conditions:
        edit_conditions(conditions)
    folder = tmp_path / "ddxplus"
    folder.mkdir(exist_ok=True)
    ev_path = folder / "release_evidences.json"
    cond_path = folder / "release_conditions.json"
    ev_path.write_text(json.dumps(evidences), encoding="utf-8")
    cond_path.write_text(json.dumps(conditions), encoding="utf-8")
    return ev_path, cond_path


# -- parsing ------------------------------------------------------------------------------------


def test_every_evidence_and_condition_is_loaded_in_file_order(mini_kb: KnowledgeBase):
    assert mini_kb.evidence_codes == tuple(f"E_{n}" for n in range(1, 11))
    assert mini_kb.condition_names == ("Flu", "Pneumonia", "Migraine", "Measles")
    assert mini_kb.evidence_index["E_10"] == 9
    assert mini_kb.condition_index["Measles"] == 3


def test_binary_evidence(mini_kb: KnowledgeBase):
    fever = mini_kb.evidence("E_1")
    assert fever.kind is EvidenceKind.BINARY
    assert fever.question == "Do you have a fever?"
    assert fever.parent is None
    assert fever.values == ()
    assert not fever.is_antecedent
    assert mini_kb.evidence("E_6").is_antecedent


def test_categorical_evidence_keeps_value_codes_and_texts(mini_kb: KnowledgeBase):
    travel = mini_kb.evidence("E_7")
    assert travel.kind is EvidenceKind.CATEGORICAL
    assert travel.values == ("V_10", "V_20", "V_21")
    assert travel.default == "V_10"
    assert travel.non_default_values == ("V_20", "V_21")
    assert travel.describe_value("V_20") == "Africa"
    assert travel.value_text["V_21"].fr == "Asie"


def test_multi_choice_evidence(mini_kb: KnowledgeBase):
    where = mini_kb.evidence("E_4")
    assert where.kind is EvidenceKind.MULTI_CHOICE
    assert where.values == ("V_0", "V_1", "V_2", "V_3")
    assert where.default == "V_0"
    assert where.describe_value("V_3") == "head"


def test_scale_values_are_ints_and_detected_as_a_scale(mini_kb: KnowledgeBase):
    intensity = mini_kb.evidence("E_5")
    assert intensity.kind is EvidenceKind.CATEGORICAL
    assert intensity.values == tuple(range(11))
    assert all(type(v) is int for v in intensity.values)
    assert intensity.default == 0
    assert intensity.is_scale
    assert intensity.describe_value(7) == "7/10"
    # Categorical with value codes, multi-choice and binary are not scales.
    assert not mini_kb.evidence("E_7").is_scale
    assert not mini_kb.evidence("E_4").is_scale
    assert not mini_kb.evidence("E_1").is_scale


@pytest.mark.parametrize(
    ("code", "token", "expected"),
    [
        ("E_5", "7", 7),
        ("E_5", " 10 ", 10),
        ("E_5", "11", None),
        ("E_7", "V_20", "V_20"),
        ("E_7", "africa", "V_20"),
        ("E_7", "Europe", None),
        ("E_4", "Head", "V_3"),
    ],
)
def test_parse_value_maps_codes_and_texts(mini_kb: KnowledgeBase, code, token, expected):
    assert mini_kb.evidence(code).parse_value(token) == expected


def test_conditions_with_symptoms_antecedents_and_severity(mini_kb: KnowledgeBase):
    flu = mini_kb.condition("Flu")
    assert flu.symptoms == {"E_1", "E_2", "E_3", "E_4", "E_5"}
    assert flu.antecedents == {"E_7"}
    assert flu.evidences == {"E_1", "E_2", "E_3", "E_4", "E_5", "E_7"}
    assert flu.icd10 == "J11"
    pneumonia = mini_kb.condition("Pneumonia")
    assert pneumonia.severity == 2
    assert pneumonia.is_urgent
    assert not flu.is_urgent
    assert mini_kb.condition("Migraine").antecedents == frozenset()


def test_unknown_codes_raise_key_error_naming_them(mini_kb: KnowledgeBase):
    with pytest.raises(KeyError, match="E_404"):
        mini_kb.evidence("E_404")
    with pytest.raises(KeyError, match="Cholera"):
        mini_kb.condition("Cholera")


# -- gating and quirks --------------------------------------------------------------------------


def test_gated_evidences_name_their_parent(mini_kb: KnowledgeBase):
    assert mini_kb.evidence("E_4").parent == "E_3"
    assert mini_kb.evidence("E_5").parent == "E_3"
    assert mini_kb.evidence("E_3").parent is None
    assert mini_kb.children == {"E_3": ("E_4", "E_5")}


def test_askable_roots_leave_out_gated_questions(mini_kb: KnowledgeBase):
    roots = list(askable_roots(mini_kb))
    assert "E_4" not in roots
    assert "E_5" not in roots
    assert set(roots) == set(mini_kb.evidence_codes) - {"E_4", "E_5"}


def test_parent_missing_from_the_file_becomes_a_root_and_a_quirk(mini_kb: KnowledgeBase):
    diabetes = mini_kb.evidence("E_9")
    assert diabetes.parent is None
    assert "E_9" in set(askable_roots(mini_kb))
    assert len(mini_kb.quirks) == 1
    assert "E_9" in mini_kb.quirks[0]
    assert "E_99" in mini_kb.quirks[0]


def test_a_kb_without_quirks_lists_none(tmp_path: Path, mini_data_dir: Path):
    def fix_parent(evidences: Json) -> None:
        evidences["E_9"]["code_question"] = "E_9"

    kb = load_knowledge_base(*write_kb(tmp_path, mini_data_dir, fix_parent))
    assert kb.quirks == ()
    assert kb.evidence("E_9").parent is None


# -- malformed files ----------------------------------------------------------------------------


def test_invalid_json_names_the_file(tmp_path: Path, mini_data_dir: Path):
    ev_path, cond_path = write_kb(tmp_path, mini_data_dir)
    ev_path.write_text('{"E_1": {"name": "E_1",', encoding="utf-8")
    with pytest.raises(DataFormatError, match="not valid JSON") as info:
        load_knowledge_base(ev_path, cond_path)
    assert str(ev_path) in str(info.value)


@pytest.mark.parametrize("content", ["[1, 2]", "{}", '"text"', "null"])
def test_a_file_that_is_not_a_non_empty_object_is_refused(
    tmp_path: Path, mini_data_dir: Path, content: str
):
    ev_path, cond_path = write_kb(tmp_path, mini_data_dir)
    cond_path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match="non-empty JSON object") as info:
        load_knowledge_base(ev_path, cond_path)
    assert str(cond_path) in str(info.value)


def test_non_utf8_file_is_a_data_format_error(tmp_path: Path, mini_data_dir: Path):
    ev_path, cond_path = write_kb(tmp_path, mini_data_dir)
    ev_path.write_bytes(b'{"E_1": "\xff\xfe"}')
    with pytest.raises(DataFormatError, match="UTF-8"):
        load_knowledge_base(ev_path, cond_path)


def test_condition_referring_to_an_unknown_evidence(tmp_path: Path, mini_data_dir: Path):
    def add_unknown(conditions: Json) -> None:
        conditions["Measles"]["symptoms"]["E_404"] = {}

    ev_path, cond_path = write_kb(tmp_path, mini_data_dir, edit_conditions=add_unknown)
    with pytest.raises(DataFormatError) as info:
        load_knowledge_base(ev_path, cond_path)
    message = str(info.value)
    assert str(cond_path) in message
    assert "'Measles'" in message
    assert "E_404" in message


@pytest.mark.parametrize("severity", [7, 0])
def test_severity_out_of_range(tmp_path: Path, mini_data_dir: Path, severity: int):
    def set_severity(conditions: Json) -> None:
        conditions["Migraine"]["severity"] = severity

    ev_path, cond_path = write_kb(tmp_path, mini_data_dir, edit_conditions=set_severity)
    with pytest.raises(DataFormatError) as info:
        load_knowledge_base(ev_path, cond_path)
    message = str(info.value)
    assert str(cond_path) in message
    assert "'Migraine'" in message
    assert "severity" in message


def test_default_not_among_possible_values(tmp_path: Path, mini_data_dir: Path):
    def bad_default(evidences: Json) -> None:
        evidences["E_7"]["default_value"] = "V_99"

    ev_path, cond_path = write_kb(tmp_path, mini_data_dir, bad_default)
    with pytest.raises(DataFormatError) as info:
        load_knowledge_base(ev_path, cond_path)
    message = str(info.value)
    assert str(ev_path) in message
    assert "'E_7'" in message
    assert "V_99" in message
    assert "possible-values" in message


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda e: e["E_2"].update(data_type="X"), ["'E_2'", "data_type"]),
        (lambda e: e["E_8"].pop("question_en"), ["'E_8'", "question_en"]),
        (lambda e: e["E_4"].update({"possible-values": []}), ["'E_4'", "possible-values"]),
        (lambda e: e["E_6"].update(name="E_60"), ["'E_6'", "E_60"]),
        (lambda e: e["E_5"].update(code_question="E_7"), ["E_5", "E_7", "yes/no"]),
    ],
    ids=["unknown-kind", "no-question", "no-values", "name-mismatch", "non-binary-parent"],
)
def test_other_malformed_evidences_are_named(
    tmp_path: Path, mini_data_dir: Path, edit: Callable[[Json], None], words: list[str]
):
    ev_path, cond_path = write_kb(tmp_path, mini_data_dir, edit)
    with pytest.raises(DataFormatError) as info:
        load_knowledge_base(ev_path, cond_path)
    message = str(info.value)
    assert str(ev_path) in message
    for word in words:
        assert word in message


def test_condition_without_any_evidence(tmp_path: Path, mini_data_dir: Path):
    def empty(conditions: Json) -> None:
        conditions["Migraine"]["symptoms"] = {}

    ev_path, cond_path = write_kb(tmp_path, mini_data_dir, edit_conditions=empty)
    with pytest.raises(DataFormatError, match="'Migraine' has no symptoms"):
        load_knowledge_base(ev_path, cond_path)


def test_empty_data_dir_names_the_path_and_the_fetch_command(tmp_path: Path):
    with pytest.raises(MissingDataError) as info:
        load_from_data_dir(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "ddxplus" / "release_evidences.json") in message
    assert "ddx data fetch ddxplus" in message


def test_missing_conditions_file_is_named(tmp_path: Path, mini_data_dir: Path):
    _, cond_path = write_kb(tmp_path, mini_data_dir)
    cond_path.unlink()
    with pytest.raises(MissingDataError) as info:
        load_from_data_dir(tmp_path)
    assert str(cond_path) in str(info.value)
    assert "ddx data fetch ddxplus" in str(info.value)


def test_load_from_data_dir_reads_a_copy(tmp_path: Path, mini_data_dir: Path):
    write_kb(tmp_path, mini_data_dir)
    kb = load_from_data_dir(tmp_path)
    assert kb.condition_names == ("Flu", "Pneumonia", "Migraine", "Measles")


# -- fingerprint --------------------------------------------------------------------------------


def test_fingerprint_is_stable_for_the_same_files(
    tmp_path: Path, mini_data_dir: Path, mini_kb: KnowledgeBase
):
    copy = load_knowledge_base(*write_kb(tmp_path, mini_data_dir))
    assert copy.fingerprint() == mini_kb.fingerprint()
    assert len(mini_kb.fingerprint()) == 16


def _add_symptom(conditions: Json) -> None:
    conditions["Measles"]["symptoms"]["E_2"] = {}


def _move_antecedent(conditions: Json) -> None:
    del conditions["Flu"]["antecedents"]["E_7"]
    conditions["Migraine"]["antecedents"]["E_7"] = {}


def _ungate(evidences: Json) -> None:
    evidences["E_5"]["code_question"] = "E_5"


def _new_value(evidences: Json) -> None:
    evidences["E_7"]["possible-values"].append("V_22")
    evidences["E_7"]["value_meaning"]["V_22"] = {"en": "Europe", "fr": "Europe"}


def _new_default(evidences: Json) -> None:
    evidences["E_4"]["default_value"] = "V_1"


@pytest.mark.parametrize(
    ("edit_evidences", "edit_conditions"),
    [
        (None, _add_symptom),
        (None, _move_antecedent),
        (_ungate, None),
        (_new_value, None),
        (_new_default, None),
    ],
    ids=["symptom", "antecedent", "parent", "values", "default"],
)
def test_fingerprint_changes_when_the_structure_changes(
    tmp_path: Path, mini_data_dir: Path, mini_kb: KnowledgeBase, edit_evidences, edit_conditions
):
    changed = load_knowledge_base(
        *write_kb(tmp_path, mini_data_dir, edit_evidences, edit_conditions)
    )
    assert changed.fingerprint() != mini_kb.fingerprint()


def test_fingerprint_ignores_rewording(tmp_path: Path, mini_data_dir: Path, mini_kb: KnowledgeBase):
    def reword(evidences: Json) -> None:
        evidences["E_1"]["question_en"] = "Have you had a temperature?"

    reworded = load_knowledge_base(*write_kb(tmp_path, mini_data_dir, reword))
    assert reworded.evidence("E_1").question == "Have you had a temperature?"
    assert reworded.fingerprint() == mini_kb.fingerprint()
