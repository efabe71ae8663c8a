"""One way to compare names: an LLM's diagnosis with a benchmark's, a patient's reply with the
hidden diagnosis, and two sources' names of one rare disease."""

from __future__ import annotations

from retrieval.fuzzy import match_name, normalise_name
from retrieval.hpo_ontology import merge_cross_references
from retrieval.hpo_sources import RawDisease


def test_accents_case_punctuation_and_roman_numerals_are_ignored() -> None:
    assert normalise_name("Guillain-Barré syndrome") == "guillain barre syndrome"
    assert normalise_name("Gaucher disease, TYPE II") == normalise_name("gaucher disease type 2")
    assert normalise_name("α-Mannosidosis") == "α mannosidosis"  # letters of other scripts stay


def test_an_llm_name_without_its_accent_matches() -> None:
    assert match_name("Guillain Barre syndrome", ["Guillain-Barré syndrome", "Myasthenia gravis"])


def test_two_sources_naming_one_disease_differently_are_one_disease() -> None:
    merged = merge_cross_references(
        [
            RawDisease(["ORPHA:77259"], "Gaucher disease type 2", {"HP:0001744": 0.8}),
            RawDisease(["OMIM:230900"], "Gaucher disease, type II", {"HP:0001250": 0.5}),
            RawDisease(["OMIM:230800"], "Gaucher disease, type I", {}),
            RawDisease(["OMIM:230000"], "GM1-gangliosidosis", {}),
            RawDisease(["ORPHA:354"], "GM1 gangliosidosis", {}),
        ]
    )
    by_name = {d.name: d for d in merged}
    assert len(merged) == 3
    assert by_name["Gaucher disease type 2"].ids == ["OMIM:230900", "ORPHA:77259"]
    assert set(by_name["Gaucher disease type 2"].frequencies) == {"HP:0001744", "HP:0001250"}
