"""The patient CSV loader: good rows become findings, bad rows are skipped with line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import DataFormatError
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.records import RowError, load_patients, parse_evidences, parse_row

HEADER = "AGE,DIFFERENTIAL_DIAGNOSIS,SEX,PATHOLOGY,EVIDENCES,INITIAL_EVIDENCE\n"
GOOD_ROW = "34,\"[['Flu', 1.0]]\",F,Flu,\"['E_1', 'E_2']\",E_1\n"


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "patients.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def good_row(**overrides: str) -> dict[str, str]:
    row = {
        "AGE": "34",
        "SEX": "F",
        "PATHOLOGY": "Flu",
        "EVIDENCES": "['E_1', 'E_3', 'E_4_@_V_1']",
        "INITIAL_EVIDENCE": "E_1",
        "DIFFERENTIAL_DIAGNOSIS": "[['Flu', 0.6], ['Measles', 0.4]]",
    }
    row.update(overrides)
    return row


# -- the mini file ------------------------------------------------------------------------------


def test_good_rows_become_records(mini_kb: KnowledgeBase, mini_patients_csv: Path):
    report = load_patients(mini_kb, mini_patients_csv)
    assert [r.case_id for r in report.records] == [f"patients.csv:{n}" for n in (2, 3, 4, 5)]
    assert [r.pathology for r in report.records] == ["Flu", "Pneumonia", "Migraine", "Measles"]
    assert [(r.age, r.sex) for r in report.records] == [(34, "F"), (71, "M"), (25, "F"), (6, "M")]
    assert [r.initial_evidence for r in report.records] == ["E_1", "E_10", "E_3", "E_8"]
    assert report.records[0].differential == [("Flu", 0.7), ("Pneumonia", 0.3)]
    assert report.summary() == "4 patients loaded, 4 rows skipped"


def test_good_rows_parse_into_finding_values(mini_kb: KnowledgeBase, mini_patients_csv: Path):
    flu, pneumonia, migraine, measles = load_patients(mini_kb, mini_patients_csv).records
    # binary True, multi-choice as a list, scale as an int, categorical as its value code.
    assert flu.evidences == {
        "E_1": True,
        "E_2": True,
        "E_3": True,
        "E_4": ["V_2"],
        "E_5": 4,
        "E_7": "V_10",
    }
    assert pneumonia.evidences == {
        "E_1": True,
        "E_10": True,
        "E_3": True,
        "E_6": True,
        "E_9": True,
        "E_4": ["V_1"],
        "E_5": 7,
    }
    # 'E_4_@_V_3', 'E_4_@_V_2' in the file: the multi-choice list comes out sorted.
    assert migraine.evidences == {"E_3": True, "E_4": ["V_2", "V_3"], "E_5": 8}
    assert measles.evidences == {"E_1": True, "E_8": True, "E_7": "V_20"}
    assert type(flu.evidences["E_5"]) is int


def test_bad_rows_are_skipped_with_line_numbers_and_reasons(
    mini_kb: KnowledgeBase, mini_patients_csv: Path
):
    skipped = load_patients(mini_kb, mini_patients_csv).skipped
    assert [line for line, _ in skipped] == [6, 7, 8, 9]
    reasons = dict(skipped)
    assert "unknown evidence" in reasons[6]
    assert "E_404" in reasons[6]
    assert "unknown condition" in reasons[7]
    assert "Cholera" in reasons[7]
    assert "EVIDENCES is not a list literal" in reasons[8]
    assert "AGE" in reasons[9]
    assert "abc" in reasons[9]


# -- whole-file problems ------------------------------------------------------------------------


def test_a_file_missing_a_column_is_a_data_format_error(tmp_path: Path, mini_kb: KnowledgeBase):
    path = write_csv(
        tmp_path, "34,F,\"['E_1']\",E_1\n", header="AGE,SEX,EVIDENCES,INITIAL_EVIDENCE\n"
    )
    with pytest.raises(DataFormatError) as info:
        load_patients(mini_kb, path)
    message = str(info.value)
    assert str(path) in message
    assert "PATHOLOGY" in message


def test_an_empty_file_is_a_data_format_error(tmp_path: Path, mini_kb: KnowledgeBase):
    path = write_csv(tmp_path, header="")
    with pytest.raises(DataFormatError, match="missing column"):
        load_patients(mini_kb, path)


def test_a_non_utf8_file_is_a_data_format_error(tmp_path: Path, mini_kb: KnowledgeBase):
    path = tmp_path / "patients.csv"
    path.write_bytes(HEADER.encode() + b"34,[],F,Flu,['E_1'],E_1\n\xff\xfe\n")
    with pytest.raises(DataFormatError, match="UTF-8"):
        load_patients(mini_kb, path)


def test_the_differential_column_is_optional(tmp_path: Path, mini_kb: KnowledgeBase):
    header = "AGE,SEX,PATHOLOGY,EVIDENCES,INITIAL_EVIDENCE\n"
    path = write_csv(tmp_path, "34,F,Flu,\"['E_1']\",E_1\n", header=header)
    report = load_patients(mini_kb, path)
    assert report.skipped == []
    assert report.records[0].differential == []


# -- literals only ------------------------------------------------------------------------------


def test_code_in_the_evidences_cell_is_skipped_not_executed(tmp_path: Path, mini_kb: KnowledgeBase):
    marker = tmp_path / "executed"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    row = f'40,"[]",F,Flu,"{payload}",E_1\n'
    report = load_patients(mini_kb, write_csv(tmp_path, GOOD_ROW, row))
    assert not marker.exists()
    assert len(report.records) == 1
    assert report.skipped == [(3, "EVIDENCES is not a list literal")]


def test_code_in_the_differential_cell_is_skipped_not_executed(
    tmp_path: Path, mini_kb: KnowledgeBase
):
    marker = tmp_path / "executed"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    row = f'40,"{payload}",F,Flu,"[\'E_1\']",E_1\n'
    report = load_patients(mini_kb, write_csv(tmp_path, row))
    assert not marker.exists()
    assert report.records == []
    assert report.skipped == [(2, "DIFFERENTIAL_DIAGNOSIS is not a list literal")]


# -- single rows --------------------------------------------------------------------------------


def test_parse_row_of_a_good_row(mini_kb: KnowledgeBase):
    record = parse_row(mini_kb, good_row(SEX=" m "), "x:1")
    assert record.case_id == "x:1"
    assert record.sex == "M"
    assert record.evidences == {"E_1": True, "E_3": True, "E_4": ["V_1"]}
    assert record.differential == [("Flu", 0.6), ("Measles", 0.4)]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"AGE": ""}, "AGE"),
        ({"AGE": "131"}, "out of range"),
        ({"AGE": "-3"}, "out of range"),
        ({"SEX": "X"}, "SEX"),
        ({"PATHOLOGY": "Cholera"}, "Cholera"),
        ({"EVIDENCES": "'E_1'"}, "EVIDENCES is not a list"),
        ({"EVIDENCES": "['E_1', 3]"}, "not a string"),
        ({"EVIDENCES": "['E_1', 'E_2_@_V_1']"}, "binary evidence E_2 carries a value"),
        ({"EVIDENCES": "['E_1', 'E_4_@_V_9']"}, "'V_9' is not a value of E_4"),
        ({"EVIDENCES": "['E_1', 'E_5_@_11']"}, "'11' is not a value of E_5"),
        ({"EVIDENCES": "['E_1', 'E_7']"}, "is not a value of E_7"),
        ({"EVIDENCES": "['E_1', 'E_7_@_V_20', 'E_7_@_V_21']"}, "several values"),
        ({"INITIAL_EVIDENCE": "E_404"}, "unknown initial evidence"),
        ({"INITIAL_EVIDENCE": "E_2"}, "not among the patient's evidences"),
        ({"DIFFERENTIAL_DIAGNOSIS": "[['Cholera', 1.0]]"}, "Cholera"),
        ({"DIFFERENTIAL_DIAGNOSIS": "[['Flu']]"}, "[condition, probability]"),
        ({"DIFFERENTIAL_DIAGNOSIS": "[['Flu', 'high']]"}, "not a number"),
    ],
)
def test_parse_row_says_what_is_wrong(mini_kb: KnowledgeBase, overrides, reason):
    with pytest.raises(RowError) as info:
        parse_row(mini_kb, good_row(**overrides), "x:1")
    assert reason in str(info.value)


def test_parse_evidences_drops_the_default_from_a_multi_choice(mini_kb: KnowledgeBase):
    findings = parse_evidences(mini_kb, ["E_3", "E_4_@_V_0", "E_4_@_V_3", "E_4_@_V_1"])
    assert findings == {"E_3": True, "E_4": ["V_1", "V_3"]}


# -- rows that used to abort the whole load (OverflowError, TypeError escaping parse_row) -------


def test_an_infinite_age_is_skipped_not_a_crash(tmp_path: Path, mini_kb: KnowledgeBase):
    row = 'inf,"[]",F,Flu,"[\'E_1\']",E_1\n'
    report = load_patients(mini_kb, write_csv(tmp_path, GOOD_ROW, row))
    assert len(report.records) == 1
    assert [line for line, _ in report.skipped] == [3]


def test_an_unhashable_literal_is_skipped_not_a_crash(tmp_path: Path, mini_kb: KnowledgeBase):
    row = '40,"[]",F,Flu,"{[]}",E_1\n'
    report = load_patients(mini_kb, write_csv(tmp_path, GOOD_ROW, row))
    assert len(report.records) == 1
    assert report.skipped == [(3, "EVIDENCES is not a list literal")]
