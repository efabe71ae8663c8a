"""General lay medical vocabulary: the words people use for what clinicians write.

This is knowledge of everyday English, not of any knowledge base or test phrase: "pee" is
"urinate", "tummy" is "stomach", "being sick" is vomiting (British usage) while "feeling sick"
is nausea, "the runs" is diarrhoea, "passed out" is a loss of consciousness. The free-text
intake rewrites a person's words with :data:`LAY_TERMS` before matching them against a
knowledge base's questions, and keeps the original words too (both readings are scored, the
better one counts), so a rewrite can only add a way to match, never remove one.

It also names the words that mark a *located* finding — pain (:data:`PAIN_WORDS`), swelling
(:data:`SWELLING_WORDS`), a skin problem (:data:`SKIN_WORDS`) — and the words for sides of
the body, so that "my left ear hurts" can be read as pain + where (+ which side).
"""

from __future__ import annotations

import re

LAY_TERMS: tuple[tuple[str, str], ...] = (
    # "-ache" compounds name a place and a pain: headache, earache, toothache, backache.
    (r"\b(\w{3,}?)aches?\b", r"\1 pain"),
    (r"\bstomach ?bug\b", "vomiting and diarrhea"),
    # bodily functions
    (
        r"\b(?:pee(?:s|d|ing)?|wee(?:s|d|ing)?|piss(?:es|ed|ing)?|pass(?:es|ed|ing)? water|"
        r"have a (?:pee|wee)|go to the (?:toilet|loo|bathroom))\b",
        "urinate",
    ),
    (r"\b(?:poo|poos|poop|poops|number twos?|bowel movements?)\b", "stools"),
    (r"\b(?:the runs|the trots|loose (?:stools?|bowels?)|runny stools?|diarrhoea)\b", "diarrhea"),
    (
        r"\b(?:throw(?:s|ing|n)? up|threw up|puk(?:e|es|ed|ing)|"
        r"(?:being|been|was|were|got|get|getting|keep being) sick)\b",
        "vomited",
    ),
    # the act, reported in the past, as against "feeling like vomiting" (nausea)
    (r"(?<!like )(?<!to )\bvomit(?:ing|s)?\b", "vomited"),
    # after the rule above: "feel sick" / "sick" alone is nausea
    (r"\b(?:sick to my stomach|queasy|sick)\b", "nauseous"),
    (r"\btumm(?:y|ies)\b", "stomach"),
    # temperature, shivering, tiredness
    (r"\b(?:(?:a |high )?temperature|temp|feverish|febrile|burning up)\b", "fever"),
    (r"\b(?:the shivers|shivers|shivering|shaking|the shakes|rigors)\b", "chills"),
    (
        r"\b(?:knackered|worn out|wiped out|exhausted|drained|run down|tired all the time|"
        r"tired|weary)\b",
        "fatigued",
    ),
    (
        r"\b(?:passed out|pass out|blacked out|black out|fainted|keeled over)\b",
        "lost consciousness",
    ),
    (r"\b(?:woozy|light-headed|lightheaded)\b", "lightheaded"),
    # breathing, heart
    (
        r"\b(?:breathless|winded|out of breath|puffed out|short of breath|"
        r"(?:can't|cannot|can not) (?:catch|get) my breath)\b",
        "short of breath",
    ),
    (r"\bwheezy\b", "wheezing"),
    (r"\bbreath(?:e|ing) out\b", "exhale"),
    (r"\bbreath(?:e|ing) in\b", "inhale"),
    (
        r"\bheart (?:is |keeps )?(?:racing|pounding|fluttering|thumping|skipping(?: a beat)?|"
        r"going fast|beating fast)\b",
        "palpitations",
    ),
    # nose, throat, chest, voice
    (r"\b(?:snot|snotty)\b", "nasal discharge"),
    (r"\b(?:phlegm|mucus|gunk|sputum)\b", "sputum"),
    (r"\b(?:blocked|bunged|stuffed|stuffy)(?: up)?\b", "congested"),
    (r"\b(?:nose (?:is )?running|running nose)\b", "runny nose"),
    (r"\b(?:lost my voice|croaky|raspy)\b", "hoarse voice"),
    (r"\b(?:heartburn|acid reflux|indigestion)\b", "burning rising from the stomach to the throat"),
    # nerves, senses, skin
    (r"\bpins and needles\b", "tingling"),
    (r"\b(?:seeing double|see double)\b", "double vision"),
    (r"\b(?:itchy|itching|itches)\b", "itchy"),
    # history
    (r"\b(?:an operation|operations?|op)\b", "surgery"),
    (r"\b(?:fags|ciggies|cigs)\b", "cigarettes"),
    (r"\b(?:diabetic)\b", "diabetes"),
    (r"\b(?:abroad|overseas)\b", "out of the country"),
    (r"\b(?:a trip|trip|holiday|vacation|journey|travell(?:ed|ing))\b", "traveled"),
    (r"\bglands?\b", "lymph nodes"),
)
"""(pattern, replacement) pairs applied in order to lower-cased text."""


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COMPILED = tuple((re.compile(pattern), replacement) for pattern, replacement in LAY_TERMS)

PAIN_WORDS = _word_set(
    "pain pains painful ache aches aching achy hurt hurts hurting sore soreness tender "
    "tenderness burn burns burning sting stings stinging cramp cramps cramping throb throbs "
    "throbbing pounding stabbing shooting agony killing twinge twinges pressure tight tightness "
    "crushing squeezing"
)
"""Words that say something hurts (a headache is rewritten to 'head pain' first; a tight or
crushing chest is how people describe a chest pain)."""

SWELLING_WORDS = _word_set(
    "swollen swelling swell swells swelled puffy puffiness lump lumps oedema edema"
)
SKIN_WORDS = _word_set(
    "rash rashes spots spotty blotches blotchy hives welts blisters blister lesion lesions "
    "bumps pimples"
)

LEFT_WORDS = frozenset({"left"})
RIGHT_WORDS = frozenset({"right"})
BOTH_SIDES_WORDS = frozenset({"both"})

FUNCTION_WORDS = _word_set(
    "a an the my his her their your our its this that these those i me he she they we you it "
    "is am are was were be been being have has had having got get gets getting do does did "
    "in on at of to into onto from with by for up down around all over just very really so "
    "quite bit little lot lots some any when while after if then since because feel feels "
    "feeling felt keep keeps kind sort like bad badly terrible awful severe mild"
)
"""Words that never name a place or a kind of pain (what remains of a clause names them)."""


def rewrite_lay_terms(text: str) -> str:
    """``text`` (lower case) with every lay term replaced by its clinical wording."""
    rewritten = text.lower().replace("’", "'")
    for pattern, replacement in _COMPILED:
        rewritten = pattern.sub(replacement, rewritten)
    return re.sub(r"\s+", " ", rewritten).strip()


def words(text: str) -> list[str]:
    """The words of ``text`` in order (letters, digits and apostrophes)."""
    return re.findall(r"[a-z0-9']+", text.lower())
