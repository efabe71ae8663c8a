"""The intake reader: lay words, located findings, negation, several findings per message and
ranked readings, with the real bundled sentence encoder (it is offline).

The mini knowledge base (tests/fixtures/mini) has a pain (E_3) with a place (E_4: chest,
throat, head) and an intensity (E_5); the real DDXPlus tests need DDX_DATA_DIR.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.free_text import CachedEncoder
from agent.intake.options import IntakeOption
from agent.intake.reader import IntakeReader
from eval.intake_phrases import load_phrases, parse_expected
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.ddxplus_phrases import located_findings, question_variants
from retrieval.embeddings import Encoder
from retrieval.findings import Findings
from retrieval.lay_terms import rewrite_lay_terms

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
HEAD = {"V_62", "V_25", "V_89", "V_166", "V_167", "V_124"}
CHEST = {"V_101", "V_29", "V_55", "V_56", "V_159", "V_160"}
EARS = ["V_129", "V_130"]


# -- knowledge: lay words and question texts (no encoder) --------------------------------------


@pytest.mark.parametrize(
    ("said", "rewritten"),
    [
        ("burning when I pee", "burning when i urinate"),
        ("I have a headache", "i have a head pain"),
        ("earache and toothache", "ear pain and tooth pain"),
        ("I've been sick all night", "i've vomited all night"),  # British: being sick = vomiting
        ("I feel sick", "i feel nauseous"),  # feeling sick = nausea
        ("I feel like vomiting", "i feel like vomiting"),  # an urge, not the act
        ("my tummy is bloated", "my stomach is bloated"),
        ("I passed out", "i lost consciousness"),
        ("swollen glands", "swollen lymph nodes"),
    ],
)
def test_lay_terms_become_clinical_words(said: str, rewritten: str) -> None:
    assert rewrite_lay_terms(said) == rewritten


def test_questions_become_statements_and_alternatives() -> None:
    statements, alternatives = question_variants("Do you have nasal congestion or a runny nose?")
    assert statements == ["nasal congestion or a runny nose"]
    assert alternatives == ["nasal congestion", "a runny nose"]
    statements, _ = question_variants("Do you have a fever (either felt or measured)?")
    assert statements == ["a fever (either felt or measured)", "a fever"]
    # "one or both" and "and/or" join words, they are not alternatives
    assert question_variants("Do you have itching in one or both eyes?")[1] == []
    assert question_variants("Do you feel weakness in both arms and/or both legs?")[1] == []


def test_located_findings_are_found_from_the_structure(mini_kb: KnowledgeBase) -> None:
    (pain,) = located_findings(mini_kb)
    assert (pain.parent, pain.location, pain.intensity) == ("E_3", "E_4", "E_5")
    assert {"hurts", "ache", "sore"} <= pain.cue_words


# -- the mini knowledge base ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mini_reader(mini_kb: KnowledgeBase, encoder: Encoder) -> IntakeReader:
    return IntakeReader(mini_kb, encoder.encode)


def _first(reader: IntakeReader, text: str) -> Findings:
    read = reader.read(text)
    assert read.best is not None, f"nothing read in {text!r}"
    return read.best.as_findings(reader.kb)


def test_a_headache_is_a_pain_in_the_head(mini_reader: IntakeReader) -> None:
    assert _first(mini_reader, "I have a headache") == {"E_3": True, "E_4": ["V_3"]}
    assert _first(mini_reader, "my throat hurts") == {"E_3": True, "E_4": ["V_2"]}


def test_a_pain_with_its_intensity(mini_reader: IntakeReader) -> None:
    assert _first(mini_reader, "chest pain, 7 out of 10") == {
        "E_3": True,
        "E_4": ["V_1"],
        "E_5": 7,
    }


def test_negations_and_several_findings(mini_reader: IntakeReader) -> None:
    assert _first(mini_reader, "a bad cough and a fever") == {"E_2": True, "E_1": True}
    assert _first(mini_reader, "fever but no cough") == {"E_1": True, "E_2": False}
    assert _first(mini_reader, "no pain") == {"E_3": False}
    # "no chest pain" cannot be said with these questions (the pain may be elsewhere)
    assert "E_3" not in _first(mini_reader, "no chest pain, just a fever")


def test_every_finding_says_what_it_matched(mini_reader: IntakeReader) -> None:
    best = mini_reader.read("I have a headache").best
    assert best is not None
    place = next(f for f in best.findings if f.code == "E_4")
    assert (place.value, place.matched, place.said) == ("V_3", "head", "I have a headache")
    assert 0.0 < place.score <= 1.0
    assert best.describe(mini_reader.kb) == "pain somewhere: yes; Where is the pain: head"


def test_nothing_is_read_in_what_names_no_finding(mini_reader: IntakeReader) -> None:
    assert mini_reader.read("the weather is lovely today").readings == ()
    assert mini_reader.read("").readings == ()


def test_readings_are_ranked_and_distinct(mini_reader: IntakeReader) -> None:
    readings = mini_reader.read("I smoke and I'm short of breath").readings
    assert readings and readings[0].as_findings(mini_reader.kb) == {"E_6": True, "E_10": True}
    assert len({r.findings for r in readings}) == len(readings)
    assert [r.score for r in readings[1:]] == sorted((r.score for r in readings[1:]), reverse=True)


# -- DDXPlus (DDX_DATA_DIR) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def reader(
    real_kb: KnowledgeBase, encoder: Encoder, tmp_path_factory: pytest.TempPathFactory
) -> IntakeReader:
    cache = CachedEncoder(encoder.encode, tmp_path_factory.mktemp("intake"), "test")
    return IntakeReader(real_kb, encoder.encode, label_encoder=cache)


@pytest.mark.integration
def test_a_region_is_offered_as_one_or_more_of_its_places(reader: IntakeReader) -> None:
    from agent.intake.options import intake_options

    def first_option(text: str) -> IntakeOption:
        options = intake_options(reader.kb, text, reader.read(text))
        assert options, f"nothing offered for {text!r}"
        return options[0]

    chest = first_option("my chest hurts")
    assert chest.findings.get("E_53") is True
    assert "E_55" not in chest.findings  # not six places observed, but at least one of them
    assert len(chest.regions["E_55"]) > 1 and set(chest.regions["E_55"]) <= CHEST
    assert "pain somewhere: one or more of " in chest.label
    burning = first_option("burning when I pee")  # one place, named: exact
    assert burning.findings["E_55"] == ["V_185"] and not burning.regions


@pytest.mark.integration
def test_the_issue_phrases_become_the_right_findings(reader: IntakeReader) -> None:
    headache = _first(reader, "I have a headache")
    assert headache["E_53"] is True and set(headache["E_55"]) <= HEAD  # type: ignore[arg-type]
    assert "E_192" not in headache  # not "muscle spasms in your neck"
    chest = _first(reader, "my chest hurts")
    assert chest["E_53"] is True and set(chest["E_55"]) <= CHEST  # type: ignore[arg-type]
    assert _first(reader, "earache") == {"E_53": True, "E_55": EARS}
    assert _first(reader, "a bad cough and a fever") == {"E_201": True, "E_91": True}
    assert _first(reader, "burning when I pee") == {
        "E_53": True,
        "E_54": ["V_181"],
        "E_55": ["V_185"],
    }
    dizzy_and_sick = _first(reader, "I feel dizzy and sick")
    assert dizzy_and_sick.get("E_148") is True
    assert dizzy_and_sick.get("E_76") is True or dizzy_and_sick.get("E_82") is True


@pytest.mark.integration
def test_a_side_keeps_that_side_and_a_radiation_is_read(reader: IntakeReader) -> None:
    assert _first(reader, "my left ear hurts") == {"E_53": True, "E_55": ["V_130"]}
    crushing = _first(reader, "crushing chest pain going down my left arm")
    assert crushing["E_54"] == ["V_183"]  # heavy
    assert set(crushing["E_55"]) <= CHEST  # type: ignore[arg-type]
    assert set(crushing["E_57"]) <= {"V_31", "V_28", "V_178", "V_195", "V_79"}  # type: ignore[arg-type]


@pytest.mark.integration
def test_a_yes_no_question_is_read_beside_a_located_pain(reader: IntakeReader) -> None:
    found = _first(reader, "sharp pain in my chest when I breathe in")
    assert found["E_220"] is True and found["E_54"] == ["V_192"]
    sore_throat = _first(reader, "sore throat and a fever")
    assert sore_throat["E_97"] is True and sore_throat["E_91"] is True


@pytest.mark.integration
def test_denials_swelling_rash_and_travel(reader: IntakeReader) -> None:
    assert _first(reader, "a cough but no fever") == {"E_201": True, "E_91": False}
    ankles = _first(reader, "my ankles are swollen")
    assert ankles.keys() == {"E_151", "E_152"} and {"V_34", "V_35"} <= set(ankles["E_152"])  # type: ignore[arg-type]
    assert set(ankles["E_152"]) <= {"V_34", "V_35", "V_23", "V_24"}  # type: ignore[arg-type]
    rash = _first(reader, "a red rash on my chest")
    assert rash["E_129"] is True and rash["E_130"] == "V_157"
    assert _first(reader, "I travelled to Asia last week") == {"E_204": "V_6"}


@pytest.mark.integration
def test_the_person_can_pick_another_reading(reader: IntakeReader) -> None:
    readings = reader.read("I feel dizzy").readings
    dizzy = [r.as_findings(reader.kb) for r in readings]
    assert {"E_76": True} in dizzy and {"E_82": True} in dizzy


@pytest.mark.integration
def test_the_shipped_phrase_files_name_real_findings(real_kb: KnowledgeBase) -> None:
    for name in ("dev.jsonl", "heldout.jsonl"):
        phrases = load_phrases(FIXTURES / name)
        assert len(phrases) == 55
        for phrase in phrases:
            for token in [*phrase.expect, *phrase.allow]:
                parse_expected(real_kb, token)
