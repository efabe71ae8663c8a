"""What DDXPlus's question and value texts mean in the words people use.

DDXPlus words its 223 questions for a clinician ("Do you have pain somewhere, related to your
reason for consulting?") and its values in anatomy ("epigastric", "iliac fossa(R)") or in
literal translations of the French release ("a knife stroke" for *un coup de couteau*, i.e.
stabbing). The free-text intake matches a person's words against these texts with a sentence
encoder; this module supplies the texts to match:

* :func:`question_variants` — each question as statements, whole and split at "or" ("Do you
  have nasal congestion or a clear runny nose?" → "nasal congestion or a clear runny nose",
  "nasal congestion", "a clear runny nose"), so a short phrase meets a short text;
* :data:`LOCATION_GLOSSARY` — for every body location value (side stripped), the lay names of
  that place (an anatomy glossary: "epigastric" is the pit of the stomach, "occiput" the back
  of the head, "palace" the French *palais*, the palate);
* :data:`DESCRIPTOR_GLOSSARY` — lay words for the values that describe a pain or a rash;
* :func:`located_findings` — the findings that have a place, found from the knowledge base's
  structure: in DDXPlus pain (E_53; where E_55, spreading to E_57, character E_54, intensity
  E_56), swelling (E_151; where E_152) and skin lesions (E_129; where E_133, colour E_130).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from retrieval.ddxplus_kb import Evidence, EvidenceKind, KnowledgeBase
from retrieval.lay_terms import PAIN_WORDS, SKIN_WORDS, SWELLING_WORDS, words

LOCATION_GLOSSARY: dict[str, tuple[str, ...]] = {
    "above the tongue": ("tongue", "mouth"),
    "ankle": ("ankle",),
    "anus": ("anus", "back passage", "bottom"),
    "axilla": ("armpit",),
    "back of head": ("head", "back of the head"),
    "back of the neck": ("neck", "back of the neck", "nape"),
    "belly": ("stomach", "abdomen", "belly"),
    "biceps": ("upper arm", "arm"),
    "big toe": ("big toe", "toe"),
    "bottom lip": ("lip", "lower lip"),
    "breast": ("breast", "chest"),
    "buttock": ("buttock", "bottom", "bum"),
    "calf": ("calf", "leg", "lower leg"),
    "cervical spine": ("neck", "spine in the neck"),
    "cheek": ("cheek", "face"),
    "chin": ("chin", "face"),
    "clitoris": ("clitoris", "genitals"),
    "coccyx": ("tailbone", "lower back"),
    "commissure": ("corner of the mouth", "lip"),
    "dorsal aspect of the foot": ("foot", "top of the foot"),
    "dorsal aspect of the hand": ("hand", "back of the hand"),
    "dorsal aspect of the wrist": ("wrist",),
    "ear": ("ear",),
    "elbow": ("elbow",),
    "epigastric": ("stomach", "upper abdomen", "pit of the stomach", "upper stomach"),
    "eye": ("eye", "behind the eyes"),
    "finger (index)": ("finger", "index finger", "hand"),
    "finger (little finger)": ("finger", "little finger", "hand"),
    "finger (middle)": ("finger", "middle finger", "hand"),
    "finger (ring finger)": ("finger", "ring finger", "hand"),
    "flank": ("side", "flank", "side of the abdomen"),
    "forearm": ("forearm", "arm"),
    "forehead": ("forehead", "head", "brow"),
    "glans": ("penis", "tip of the penis", "genitals"),
    "groin": ("groin",),
    "heel": ("heel", "foot"),
    "hip": ("hip",),
    "hymen": ("vagina", "genitals"),
    "hypochondrium": ("upper abdomen", "under the ribs"),
    "iliac crest": ("hip", "hip bone"),
    "iliac fossa": ("lower abdomen", "lower stomach", "lower belly"),
    "iliac wing": ("hip", "hip bone"),
    "internal cheek": ("inside of the cheek", "mouth"),
    "ischio jambier": ("hamstring", "back of the thigh"),
    "jaw": ("jaw",),
    "knee": ("knee",),
    "labia majora": ("vulva", "genitals"),
    "labia minora": ("vulva", "genitals"),
    "lateral side of the foot": ("foot", "outside of the foot"),
    "little toe (4)": ("little toe", "toe"),
    "lower chest": ("chest", "lower chest"),
    "lower gum": ("gums", "teeth"),
    "lower teeth": ("teeth", "tooth", "lower teeth"),
    "lumbar spine": ("lower back", "back"),
    "mouth": ("mouth",),
    "nose": ("nose", "sinuses"),
    "occiput": ("head", "back of the head"),
    "palace": ("palate", "roof of the mouth", "throat"),
    "palm": ("palm", "hand"),
    "palmar face of the wrist": ("wrist",),
    "palmar side of the forearm": ("forearm", "arm"),
    "penis": ("penis", "genitals"),
    "pharynx": ("throat",),
    "popliteal fossa": ("back of the knee", "knee"),
    "posterior aspect of the ankle": ("ankle", "back of the ankle", "achilles"),
    "posterior chest wall": ("back", "upper back"),
    "pubis": ("pubic area", "lower abdomen", "bladder"),
    "renal fossa": ("kidney", "lower back"),
    "scapula": ("shoulder blade", "back"),
    "scrotum": ("scrotum", "testicles", "balls"),
    "shoulder": ("shoulder",),
    "side of the chest": ("chest", "side", "ribs"),
    "side of the neck": ("neck", "side of the neck"),
    "sole": ("foot", "sole of the foot"),
    "temple": ("head", "temple", "side of the head"),
    "testicle": ("testicle", "testicles", "balls"),
    "thigh": ("thigh", "leg", "upper leg"),
    "thoracic spine": ("back", "upper back", "middle of the back"),
    "thumb": ("thumb", "hand"),
    "thyroid cartilage": ("throat", "adam's apple"),
    "tibia": ("shin", "leg"),
    "toe (1)": ("toe",),
    "toe (2)": ("toe",),
    "toe (3)": ("toe",),
    "tonsil": ("throat", "tonsils"),
    "top of the head": ("head", "top of the head", "crown"),
    "trachea": ("throat", "windpipe"),
    "trapezius": ("top of the shoulder", "trapezius muscle"),
    "triceps": ("upper arm", "arm", "back of the arm"),
    "under the jaw": ("under the jaw", "jaw"),
    "under the tongue": ("under the tongue", "mouth"),
    "upper chest": ("chest", "upper chest"),
    "upper gum": ("gums", "teeth"),
    "upper lip": ("lip", "upper lip"),
    "upper teeth": ("teeth", "tooth", "upper teeth"),
    "urethra": ("urinate", "urinating", "urination", "urethra"),
    "uvula": ("throat", "uvula"),
    "vagina": ("vagina", "genitals"),
    "vaginal wall": ("vagina", "genitals"),
    "vermilion": ("lip", "lips"),
    "vulval vestibule": ("vulva", "genitals"),
}
"""Body location value text (without its (R)/(L) side) → the lay names of that place."""

PLACE_NAMES = frozenset(LOCATION_GLOSSARY) | {
    n for names in LOCATION_GLOSSARY.values() for n in names
}
"""Every text that names a body place, anatomical or lay."""

DESCRIPTOR_GLOSSARY: dict[str, tuple[str, ...]] = {
    # E_54, the character of a pain (English texts of the French release)
    "heartbreaking": ("tearing", "ripping"),
    "haunting": ("shooting", "lancinating"),
    "tedious": ("nagging", "dull", "annoying"),
    "sensitive": ("tender", "sore to touch"),
    "a knife stroke": ("stabbing", "knife-like"),
    "tugging": ("pulling", "dragging"),
    "burning": ("burning", "stinging", "burns", "stings"),
    "a cramp": ("cramp", "cramps", "cramping", "colicky"),
    "heavy": ("heavy", "heaviness", "pressure", "crushing", "squeezing", "tight", "tightness"),
    "a pulse": ("throbbing", "pounding", "pulsing", "pulsating"),
    "violent": ("violent", "excruciating", "splitting"),
    "sharp": ("sharp",),
    "sickening": ("sickening",),
    "scary": ("scary", "frightening"),
    "exhausting": ("exhausting", "draining", "wearing"),
    # E_130, the colour of a rash
    "red": ("red",),
    "pink": ("pink",),
    "pale": ("pale", "white"),
    "yellow": ("yellow",),
    "dark": ("dark", "purple", "brown"),
}
"""Descriptor value text → lay words for it (matched word by word)."""


class LocatedFinding(BaseModel):
    """A yes/no finding that has a place (pain, swelling, a rash), and the questions it gates."""

    model_config = ConfigDict(frozen=True)

    cue_words: frozenset[str] = Field(description="Words that say a clause is about it.")
    parent: str = Field(description="The yes/no evidence ('pain somewhere').")
    location: str = Field(description="Its multi-choice child of body locations.")
    radiation: str | None = Field(default=None, description="Where it spreads to, if asked.")
    descriptors: tuple[str, ...] = Field(default=(), description="Children valued in words.")
    intensity: str | None = Field(default=None, description="Its 0-10 intensity child.")


_KINDS_OF_PLACE = (PAIN_WORDS, SWELLING_WORDS, SKIN_WORDS)
_SPREADS = re.compile(r"\b(?:radiate|spread|travel)", re.I)
_INTENSE = re.compile(r"\bintens", re.I)


def located_findings(kb: KnowledgeBase) -> tuple[LocatedFinding, ...]:
    """The located findings of a knowledge base, found from its structure.

    A yes/no root whose question names a kind of place-bound finding (a pain, swelling or skin
    word) and that gates a multi-choice question valued in body places (its values are in
    :data:`LOCATION_GLOSSARY`). Its other children: the location question that asks where it
    spreads, the children valued in :data:`DESCRIPTOR_GLOSSARY` words, and a 0-10 scale that
    asks how intense it is.
    """
    found: list[LocatedFinding] = []
    for code, children in kb.children.items():
        parent = kb.evidence(code)
        cues = next((c for c in _KINDS_OF_PLACE if c & set(words(parent.question))), None)
        places = [kid for kid in children if _is_place_question(kb.evidence(kid))]
        if cues is None or parent.kind is not EvidenceKind.BINARY or not places:
            continue
        spreads = [kid for kid in places if _SPREADS.search(kb.evidence(kid).question)]
        where = [kid for kid in places if kid not in spreads]
        if not where:
            continue
        found.append(
            LocatedFinding(
                cue_words=cues,
                parent=code,
                location=where[0],
                radiation=spreads[0] if spreads else None,
                descriptors=tuple(k for k in children if _is_descriptor(kb.evidence(k))),
                intensity=next(
                    (
                        k
                        for k in children
                        if kb.evidence(k).is_scale and _INTENSE.search(kb.evidence(k).question)
                    ),
                    None,
                ),
            )
        )
    return tuple(found)


def _texts(ev: Evidence) -> list[str]:
    return [ev.describe_value(v) for v in ev.non_default_values if isinstance(v, str)]


def _is_place_question(ev: Evidence) -> bool:
    texts = _texts(ev)
    known = sum(1 for text in texts if place_of(text) in PLACE_NAMES)
    return ev.kind is EvidenceKind.MULTI_CHOICE and bool(texts) and known >= len(texts) / 2


def _is_descriptor(ev: Evidence) -> bool:
    texts = _texts(ev)
    return bool(texts) and all(text in DESCRIPTOR_GLOSSARY for text in texts)


SIDE_SUFFIX = re.compile(r"\s*\((R|L)\)$")

_QUESTION_LEAD = re.compile(
    r"^(?:in the last \w+, )?(?:do|does|did|have|has|are|is|were|was)\s+"
    r"(?:you|the person)\s+(?:currently\s+|ever\s+|recently\s+|previously\s+|constantly\s+)?"
    r"(?:(?:have|had|been|(?:feel|feeling|felt)(?!\s+like)|experienc(?:e|ed|ing)|notic(?:e|ed|ing)|"
    r"suffer(?:ed)? from|take|taken|think)\b\s*)?",
    re.I,
)
_ALTERNATIVE = re.compile(r",?\s+\bor\b\s+")
_NOT_AN_ALTERNATIVE = re.compile(r"\bone or (?=both|more)|\s+and/or\s+")


def side_of(value_text: str) -> str | None:
    """'R' or 'L' for a lateral location text ('ear(R)'), else None."""
    found = SIDE_SUFFIX.search(value_text)
    return found.group(1) if found else None


def place_of(value_text: str) -> str:
    """A location text without its side: 'ear(R)' → 'ear'."""
    return SIDE_SUFFIX.sub("", value_text).strip()


def as_statement(question: str) -> str:
    """'Do you have a fever (measured or felt)?' → 'a fever (measured or felt)'."""
    text = question.strip().rstrip("?:").strip()
    return _QUESTION_LEAD.sub("", text, count=1).strip() or text


def short_statement(question: str) -> str:
    """The statement without its brackets, for showing: 'a fever (felt or measured)' → 'a fever'."""
    return re.sub(r"\s*\([^)]*\)", "", as_statement(question)).strip()


def question_variants(question: str) -> tuple[list[str], list[str]]:
    """The question as statements (whole, and without brackets), and the alternatives of its
    "or"s ("nasal congestion", "a clear runny nose").

    "one or both", "one or more" and "and/or" are not alternatives. Some alternatives lose the
    question's meaning ("both eyes" of "severe itching in one or both eyes"): the caller keeps
    only those still close to the whole statement.
    """
    whole = as_statement(question)
    plain = short_statement(question)
    statements = list(dict.fromkeys(v for v in (whole, plain) if v))
    protected = _NOT_AN_ALTERNATIVE.sub(lambda m: m.group(0).replace(" or ", " ~ "), plain)
    parts = [as_statement(part).replace(" ~ ", " or ") for part in _ALTERNATIVE.split(protected)]
    alternatives = [p for p in parts if len(p) > 2] if len(parts) > 1 else []
    return statements, [a for a in dict.fromkeys(alternatives) if a not in statements]
