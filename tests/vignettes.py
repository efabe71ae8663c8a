"""Textbook presentations of DDXPlus conditions, written for the vignette suite.

Each vignette is a patient as a clinician meets them: age, sex, the complaint in their own words,
and what they would truthfully answer to any question (their *findings*, DDXPlus evidence codes
and values chosen from the condition's textbook picture, not copied from any DDXPlus record or
from dev_patients.csv). Anything not listed is answered "no" (or the question's default).

``expected``: the condition, or a clinically equivalent set (``why`` says why they cannot be
told apart from a history alone), one of which must be among the three leaders. ``emergency``:
severe conditions of which at least one must be flagged urgent; ``benign``: no urgent banner
may be raised; ``absurd``: conditions a clinician would not rank in the top three here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from retrieval.findings import Findings

ACS = frozenset({"Possible NSTEMI / STEMI", "Unstable angina"})
"""Acute coronary syndromes: chest pain at rest is one picture until an ECG and troponin."""


PE_NOT_ASKED = (
    "the ten questions go to the pain's radiation, place, character and intensity, never to "
    "immobilisation, a swollen calf or coughing blood, so panic attack (sudden breathlessness "
    "with chest pain) leads and embolism stays below the urgent threshold"
)
HERNIA_PROFILE = (
    "DDXPlus's inguinal hernia has neither a swelling nor groin pain (its pain sits in the "
    "iliac fossa, hip and testicle), so a painful lump in the groin matches nothing of it and "
    "the swelling leads to anaphylaxis or localized edema: a limit of the knowledge base"
)
INTAKE_TB = (
    "the reader takes 'blood in it' (the cough) for vomiting blood (E_210) and 'coughing for "
    "weeks' for intense coughing fits (E_203); no offered reading has the cough or haemoptysis"
)
INTAKE_BREATHE_IN = (
    "the reader takes 'when I breathe in' for a wheeze (E_214/E_112) in every reading, not for "
    "pain increased on deep breathing (E_220)"
)
INTAKE_WHEN_TIRED = (
    "the reader takes 'worse when I'm tired' for constant fatigue (E_88/E_89), a condition "
    "for a symptom, and misses the drooping eyelids (E_172)"
)
INTAKE_POUNDING = (
    "the reader takes 'my heart was pounding' for a pain felt as 'a pulse' (E_54) instead of "
    "palpitations (E_155)"
)
INTAKE_WHEN_MOVING = (
    "the reader takes 'worse when I move' for being unable to move for 3 days (E_110) in every "
    "reading, not for pain increased with movement (E_216)"
)
INTAKE_JOINTS = "the reader takes 'my joints ache' for rheumatoid arthritis (E_20) in every reading"


@dataclass(frozen=True)
class Vignette:
    name: str
    age: int
    sex: Literal["M", "F"]
    complaint: str
    findings: Findings
    expected: frozenset[str]
    why: str = ""
    emergency: frozenset[str] = frozenset()
    benign: bool = False
    absurd: tuple[str, ...] = ()
    xfail: dict[str, str] = field(default_factory=dict)
    """Test name → the engine's real shortcoming on this vignette (reported to the lead)."""


def pain(
    where: list[str],
    feels: list[str],
    intensity: int,
    onset: int = 5,
    precise: int = 5,
    spreads: list[str] | None = None,
) -> Findings:
    """A pain (E_53) with its places (E_55), character (E_54), intensity (E_56), how fast it
    came (E_59), how precisely it is located (E_58) and where it spreads (E_57)."""
    found: Findings = {
        "E_53": True,
        "E_55": sorted(where),
        "E_54": sorted(feels),
        "E_56": intensity,
        "E_59": onset,
        "E_58": precise,
    }
    if spreads:
        found["E_57"] = sorted(spreads)
    return found


def rash(where: list[str], colour: str, itch: int, swollen: int, sore: int = 0) -> Findings:
    """A skin lesion (E_129): place, colour, itching, swelling and pain (0–10 scales)."""
    return {
        "E_129": True,
        "E_133": sorted(where),
        "E_130": colour,
        "E_136": itch,
        "E_132": swollen,
        "E_134": sore,
    }


FOREHEAD, TEMPLES, BACK_OF_NECK = "V_89", ["V_166", "V_167"], "V_26"
TONSILS, PHARYNX = ["V_20", "V_21"], "V_148"
UPPER_CHEST, LOWER_CHEST, EPIGASTRIC = "V_101", "V_29", "V_197"
HEAVY, SHARP, KNIFE, BURNING, SENSITIVE, EXHAUSTING = (
    "V_183",
    "V_192",
    "V_179",
    "V_181",
    "V_161",
    "V_198",
)


VIGNETTES: tuple[Vignette, ...] = (
    # -- respiratory infections ------------------------------------------------------------------
    Vignette(
        "influenza",
        45,
        "M",
        "I've had a bad cough and a fever for three days and my muscles ache",
        {
            "E_175": True,
            "E_201": True,
            "E_91": True,
            "E_144": True,
            "E_94": True,
            "E_88": True,
            "E_50": True,
            "E_161": True,
            "E_97": True,
            "E_48": True,
            **pain([FOREHEAD, BACK_OF_NECK], [EXHAUSTING, HEAVY], 5, onset=3),
        },
        frozenset({"Influenza"}),
        benign=True,
        absurd=("Ebola",),
    ),
    Vignette(
        "common cold",
        30,
        "F",
        "I've got a runny nose, a sore throat and a bit of a cough",
        {
            "E_181": True,
            "E_97": True,
            "E_201": True,
            "E_41": True,
            "E_49": True,
            **pain([PHARYNX], [SENSITIVE], 3, onset=2),
        },
        frozenset({"URTI", "Viral pharyngitis"}),
        why="a cold with a sore throat: both are the same viral upper respiratory picture",
        benign=True,
        absurd=("Ebola", "Pulmonary neoplasm", "Tuberculosis"),
    ),
    Vignette(
        "viral pharyngitis",
        22,
        "F",
        "my throat is really sore and it hurts to swallow",
        {
            "E_65": True,
            "E_181": True,
            "E_201": True,
            "E_41": True,
            "E_49": True,
            **pain([*TONSILS, PHARYNX], [BURNING, SENSITIVE], 6, onset=3),
        },
        frozenset({"Viral pharyngitis"}),
        benign=True,
        absurd=("Ebola", "Pulmonary embolism"),
    ),
    Vignette(
        "acute laryngitis",
        35,
        "F",
        "I've lost my voice, it's gone all hoarse since my cold",
        {
            "E_212": True,
            "E_116": True,
            "E_201": True,
            "E_48": True,
            **pain([PHARYNX, "V_174"], [BURNING], 3, onset=2),
        },
        frozenset({"Acute laryngitis"}),
        benign=True,
    ),
    Vignette(
        "acute otitis media",
        4,
        "M",
        "he has a fever and his left ear hurts",
        {
            "E_91": True,
            "E_181": True,
            "E_114": True,
            "E_201": True,
            **pain(["V_130"], [SHARP, SENSITIVE], 6, onset=4, precise=8),
        },
        frozenset({"Acute otitis media"}),
        benign=True,
    ),
    Vignette(
        "acute rhinosinusitis",
        40,
        "M",
        "my face hurts around my nose and I blow out thick green snot",
        {
            "E_182": True,
            "E_181": True,
            "E_103": True,
            "E_91": True,
            "E_116": True,
            "E_201": True,
            **pain([FOREHEAD, "V_108", "V_109", "V_122"], [SHARP, BURNING], 5, onset=3),
        },
        frozenset({"Acute rhinosinusitis", "Chronic rhinosinusitis"}),
        why="the same sinus picture; acute and chronic differ by duration, which no question asks",
        benign=True,
    ),
    Vignette(
        "pneumonia",
        70,
        "M",
        "I've had a fever and I'm coughing up green phlegm, and it hurts when I breathe in",
        {
            "E_91": True,
            "E_94": True,
            "E_201": True,
            "E_77": True,
            "E_220": True,
            "E_66": True,
            "E_144": True,
            "E_161": True,
            "E_175": True,
            "E_118": True,
            **pain(["V_55"], [KNIFE], 5, onset=4),
        },
        frozenset({"Pneumonia"}),
        absurd=("URTI", "Allergic sinusitis"),
    ),
    Vignette(
        "acute bronchitis",
        50,
        "M",
        "I've had a chesty cough bringing up phlegm for a week, it's worse at night",
        {
            "E_201": True,
            "E_77": True,
            "E_219": True,
            "E_214": True,
            "E_97": True,
            "E_181": True,
            **pain([LOWER_CHEST], [BURNING], 3, onset=2),
        },
        frozenset({"Bronchitis"}),
        benign=True,
    ),
    Vignette(
        "tuberculosis",
        38,
        "M",
        "I've been coughing for weeks, there's blood in it and I'm losing weight",
        {
            "E_174": True,
            "E_201": True,
            "E_45": True,
            "E_162": True,
            "E_91": True,
            "E_208": True,
            "E_2": True,
        },
        frozenset({"Tuberculosis"}),
        absurd=("URTI", "Allergic sinusitis"),
        xfail={
            "intake": INTAKE_TB,
        },
    ),
    # -- chronic lung and airway ------------------------------------------------------------------
    Vignette(
        "asthma attack",
        19,
        "F",
        "I'm wheezing and I can't catch my breath",
        {
            "E_214": True,
            "E_66": True,
            "E_201": True,
            "E_124": True,
            "E_46": True,
            "E_226": True,
            "E_87": True,
            "E_116": True,
        },
        frozenset({"Bronchospasm / acute asthma exacerbation"}),
    ),
    Vignette(
        "copd exacerbation",
        68,
        "M",
        "I'm more short of breath than usual and coughing up more phlegm",
        {
            "E_66": True,
            "E_201": True,
            "E_77": True,
            "E_214": True,
            "E_123": True,
            "E_79": True,
            "E_72": True,
        },
        frozenset({"Acute COPD exacerbation / infection"}),
        absurd=("URTI", "Viral pharyngitis"),
    ),
    Vignette(
        "lung cancer",
        67,
        "M",
        "I keep coughing up blood and I've lost weight without trying",
        {
            "E_174": True,
            "E_45": True,
            "E_201": True,
            "E_162": True,
            "E_161": True,
            "E_89": True,
            "E_66": True,
            "E_79": True,
            "E_224": True,
        },
        frozenset({"Pulmonary neoplasm"}),
        absurd=("URTI", "Viral pharyngitis"),
    ),
    # -- children ------------------------------------------------------------------------------
    Vignette(
        "bronchiolitis",
        1,
        "F",
        "my baby has a runny nose and a fever and she's wheezing",
        {
            "E_181": True,
            "E_91": True,
            "E_214": True,
            "E_66": True,
            "E_201": True,
            "E_32": True,
        },
        frozenset({"Bronchiolitis"}),
    ),
    Vignette(
        "croup",
        3,
        "M",
        "my son has a barking cough and makes a high-pitched noise when he breathes in",
        {
            "E_201": True,
            "E_202": True,
            "E_194": True,
            "E_91": True,
            "E_181": True,
            "E_219": True,
        },
        frozenset({"Croup"}),
        emergency=frozenset({"Croup", "Epiglottitis", "Larygospasm"}),
    ),
    Vignette(
        "whooping cough",
        12,
        "F",
        "I have terrible coughing fits and I throw up after coughing",
        {"E_203": True, "E_166": True, "E_112": True, "E_40": True},
        frozenset({"Whooping cough"}),
    ),
    # -- cardiac and chest emergencies -------------------------------------------------------------
    Vignette(
        "pulmonary embolism",
        55,
        "F",
        "I suddenly got short of breath and a sharp pain in my chest when I breathe in",
        {
            "E_66": True,
            "E_220": True,
            "E_151": True,
            "E_152": ["V_120"],
            "E_196": True,
            "E_110": True,
            **pain(["V_56"], [SHARP, KNIFE], 7, onset=8, precise=7),
        },
        frozenset({"Pulmonary embolism"}),
        emergency=frozenset({"Pulmonary embolism"}),
        absurd=("URTI", "Panic attack"),
        xfail={
            "leaders": PE_NOT_ASKED,
            "absurd": PE_NOT_ASKED,
            "urgent": PE_NOT_ASKED,
        },
    ),
    Vignette(
        "myocardial infarction",
        60,
        "M",
        "crushing chest pain going down my left arm, and I'm sweating",
        {
            "E_50": True,
            "E_148": True,
            "E_66": True,
            "E_14": True,
            "E_79": True,
            "E_104": True,
            "E_71": True,
            "E_69": True,
            "E_225": True,
            **pain(
                [UPPER_CHEST, LOWER_CHEST],
                [HEAVY],
                8,
                onset=8,
                precise=4,
                spreads=["V_31", "V_28", "V_195"],
            ),
        },
        ACS,
        why="acute coronary syndrome: infarction and unstable angina differ by ECG and troponin",
        emergency=ACS,
        absurd=("GERD", "Panic attack"),
    ),
    Vignette(
        "stable angina",
        62,
        "M",
        "I get a tight pain in my chest when I walk uphill and it goes away when I rest",
        {
            "E_218": True,
            "E_104": True,
            "E_71": True,
            "E_79": True,
            "E_70": True,
            **pain([UPPER_CHEST, LOWER_CHEST], [HEAVY], 5, onset=5, spreads=["V_31"]),
        },
        frozenset({"Stable angina"}),
        emergency=frozenset({"Stable angina", *ACS}),
    ),
    Vignette(
        "unstable angina",
        58,
        "F",
        "I've had chest pain even at rest and it has been getting worse for two weeks",
        {
            "E_14": True,
            "E_13": True,
            "E_218": True,
            "E_148": True,
            "E_50": True,
            "E_104": True,
            "E_105": True,
            "E_69": True,
            **pain([LOWER_CHEST, UPPER_CHEST], [HEAVY], 6, onset=5, spreads=["V_31"]),
        },
        frozenset(ACS | {"Stable angina"}),
        why="the same coronary pain; rest pain and a worsening course point to the unstable end",
        emergency=frozenset(ACS | {"Stable angina"}),
    ),
    Vignette(
        "pericarditis",
        30,
        "M",
        "sharp chest pain that is worse when I lie down and when I breathe in, since a cold",
        {
            "E_116": True,
            "E_217": True,
            "E_220": True,
            "E_0": True,
            "E_33": True,
            **pain([LOWER_CHEST, UPPER_CHEST], [KNIFE, SHARP], 7, onset=6, spreads=["V_39"]),
        },
        frozenset({"Pericarditis"}),
        absurd=("URTI",),
        xfail={
            "intake": INTAKE_BREATHE_IN,
        },
    ),
    Vignette(
        "spontaneous pneumothorax",
        22,
        "M",
        "a sudden sharp pain in the right side of my chest and I'm short of breath",
        {
            "E_66": True,
            "E_220": True,
            "E_14": True,
            "E_79": True,
            "E_165": True,
            **pain(["V_55"], [KNIFE], 8, onset=9, precise=8),
        },
        frozenset({"Spontaneous pneumothorax"}),
        emergency=frozenset({"Spontaneous pneumothorax", "Pulmonary embolism"}),
    ),
    Vignette(
        "atrial fibrillation",
        75,
        "F",
        "my heart is beating irregularly and I feel a bit dizzy",
        {
            "E_164": True,
            "E_155": True,
            "E_76": True,
            "E_66": True,
            "E_104": True,
            "E_22": True,
        },
        frozenset({"Atrial fibrillation"}),
    ),
    Vignette(
        "psvt",
        28,
        "F",
        "my heart suddenly started racing really fast and I feel lightheaded",
        {
            "E_155": True,
            "E_76": True,
            "E_82": True,
            "E_16": True,
            "E_35": True,
            "E_60": True,
        },
        frozenset({"PSVT"}),
        emergency=frozenset({"PSVT"}),
    ),
    Vignette(
        "acute pulmonary edema",
        78,
        "F",
        "I can't breathe when I lie down and my ankles are swollen",
        {
            "E_66": True,
            "E_217": True,
            "E_67": True,
            "E_151": True,
            "E_152": ["V_34", "V_35"],
            "E_218": True,
            "E_106": True,
            "E_104": True,
            "E_105": True,
            "E_5": True,
            **pain([LOWER_CHEST], [HEAVY], 4, onset=4),
        },
        frozenset({"Acute pulmonary edema"}),
        emergency=frozenset({"Acute pulmonary edema"}),
    ),
    # -- allergic --------------------------------------------------------------------------------
    Vignette(
        "anaphylaxis",
        20,
        "M",
        "I ate peanuts and now my lips are swelling, I have hives and I can't breathe",
        {
            "E_42": True,
            "E_12": True,
            "E_151": True,
            "E_152": ["V_116", "V_117", "V_188", "V_189"],
            "E_66": True,
            "E_214": True,
            "E_194": True,
            "E_82": True,
            "E_148": True,
            **rash(["V_101", "V_27", "V_28"], "V_157", itch=8, swollen=6),
            **pain(["V_187"], ["V_182"], 5, onset=8),
        },
        frozenset({"Anaphylaxis"}),
        emergency=frozenset({"Anaphylaxis"}),
    ),
    Vignette(
        "scombroid poisoning",
        35,
        "F",
        "after eating tuna my face went bright red and my heart is racing",
        {
            "E_187": True,
            "E_92": True,
            "E_155": True,
            "E_148": True,
            "E_51": True,
            **rash(["V_108", "V_109"], "V_157", itch=4, swollen=1),
        },
        frozenset({"Scombroid food poisoning"}),
        emergency=frozenset({"Scombroid food poisoning", "Anaphylaxis"}),
    ),
    Vignette(
        "hay fever",
        25,
        "F",
        "my nose keeps running and it's itchy, and my eyes itch like mad",
        {
            "E_181": True,
            "E_169": True,
            "E_170": True,
            "E_226": True,
            "E_86": True,
            "E_207": True,
        },
        frozenset({"Allergic sinusitis"}),
        benign=True,
        absurd=("Pneumonia", "Influenza"),
    ),
    # -- throat emergency --------------------------------------------------------------------------
    Vignette(
        "epiglottitis",
        50,
        "M",
        "my throat is so sore I can't swallow, I'm drooling and my voice is muffled",
        {
            "E_65": True,
            "E_190": True,
            "E_212": True,
            "E_91": True,
            "E_66": True,
            "E_33": True,
            **pain([*TONSILS, PHARYNX], [KNIFE, SHARP], 9, onset=7),
        },
        frozenset({"Epiglottitis"}),
        emergency=frozenset({"Epiglottitis"}),
    ),
    # -- digestive ------------------------------------------------------------------------------
    Vignette(
        "reflux",
        40,
        "M",
        "I get a burning feeling in my chest after eating and a bitter taste in my mouth",
        {
            "E_173": True,
            "E_215": True,
            "E_217": True,
            "E_98": True,
            "E_70": True,
            **pain([EPIGASTRIC, LOWER_CHEST], [BURNING], 4, onset=3, spreads=[UPPER_CHEST]),
        },
        frozenset({"GERD"}),
    ),
    Vignette(
        "boerhaave",
        52,
        "M",
        "after vomiting over and over I have a terrible pain in my chest",
        {
            "E_211": True,
            "E_148": True,
            "E_210": True,
            "E_78": True,
            "E_66": True,
            **pain([LOWER_CHEST, EPIGASTRIC], [KNIFE, "V_191"], 9, onset=9, spreads=["V_39"]),
        },
        frozenset({"Boerhaave"}),
        emergency=frozenset({"Boerhaave"}),
    ),
    Vignette(
        "pancreatic cancer",
        70,
        "M",
        "I've lost weight, my stools are pale and my pee is dark",
        {
            "E_188": True,
            "E_162": True,
            "E_89": True,
            "E_148": True,
            "E_69": True,
            "E_79": True,
            **pain([EPIGASTRIC], ["V_182"], 4, onset=2, spreads=["V_39"]),
        },
        frozenset({"Pancreatic neoplasm"}),
    ),
    Vignette(
        "inguinal hernia",
        50,
        "M",
        "there's a painful lump in my groin that gets worse when I cough or lift things",
        {
            "E_151": True,
            "E_152": ["V_16"],
            "E_221": True,
            "E_129": True,
            "E_133": ["V_16"],
            "E_150": True,
            **pain(["V_16"], [HEAVY], 4, onset=3, precise=7),
        },
        frozenset({"Inguinal hernia"}),
        benign=True,
        xfail={"leaders": HERNIA_PROFILE, "benign": HERNIA_PROFILE},
    ),
    # -- neurological and other -----------------------------------------------------------------
    Vignette(
        "cluster headache",
        35,
        "M",
        "a terrible stabbing pain behind my right eye and that eye keeps watering",
        {
            "E_127": True,
            "E_181": True,
            "E_25": True,
            **pain(["V_125"], [KNIFE, "V_191"], 10, onset=9, precise=8),
        },
        frozenset({"Cluster headache"}),
    ),
    Vignette(
        "guillain-barre",
        40,
        "M",
        "my legs have gone weak and tingly and now it's in my arms too",
        {
            "E_84": True,
            "E_93": True,
            "E_157": True,
            "E_177": True,
            "E_176": True,
            "E_0": True,
        },
        frozenset({"Guillain-Barré syndrome"}),
        emergency=frozenset({"Guillain-Barré syndrome"}),
    ),
    Vignette(
        "myasthenia gravis",
        35,
        "F",
        "my eyelids droop and I see double, and it's worse when I'm tired",
        {
            "E_172": True,
            "E_52": True,
            "E_90": True,
            "E_63": True,
            "E_65": True,
            "E_84": True,
            "E_83": True,
        },
        frozenset({"Myasthenia gravis"}),
        xfail={
            "intake": INTAKE_WHEN_TIRED,
        },
    ),
    Vignette(
        "acute dystonia",
        25,
        "M",
        "my neck is twisting to one side and I can't stop it since I started a new medicine",
        {
            "E_192": True,
            "E_193": True,
            "E_15": True,
            "E_168": True,
            "E_180": True,
        },
        frozenset({"Acute dystonic reactions"}),
        emergency=frozenset({"Acute dystonic reactions"}),
    ),
    Vignette(
        "panic attack",
        24,
        "F",
        "I suddenly felt like I was dying, my heart was pounding and I couldn't breathe",
        {
            "E_128": True,
            "E_111": True,
            "E_155": True,
            "E_66": True,
            "E_75": True,
            "E_157": True,
            "E_171": True,
            "E_16": True,
            "E_81": True,
            "E_50": True,
            "E_82": True,
            **pain(["V_55", "V_56"], ["V_182"], 4, onset=8),
        },
        frozenset({"Panic attack"}),
        xfail={
            "intake": INTAKE_POUNDING,
        },
    ),
    Vignette(
        "anaemia",
        30,
        "F",
        "I feel tired all the time and dizzy, and people say I look pale",
        {
            "E_89": True,
            "E_88": True,
            "E_154": True,
            "E_76": True,
            "E_82": True,
            "E_145": True,
            "E_7": True,
            "E_66": True,
        },
        frozenset({"Anemia"}),
        benign=True,
    ),
    Vignette(
        "lupus",
        30,
        "F",
        "my joints ache, I have a red rash across my cheeks and sores in my mouth",
        {
            "E_206": True,
            "E_89": True,
            **rash(["V_108", "V_109"], "V_157", itch=2, swollen=1),
            **pain(["V_34", "V_35", "V_92", "V_93"], [SHARP, SENSITIVE], 5, onset=2),
        },
        frozenset({"SLE"}),
        xfail={
            "intake": INTAKE_JOINTS,
        },
    ),
    # -- more infections, chest wall and rarer conditions -----------------------------------------
    Vignette(
        "acute hiv",
        28,
        "M",
        "I've had a fever, a sore throat and a rash for a week, and my glands are swollen",
        {
            "E_91": True,
            "E_97": True,
            "E_9": True,
            "E_144": True,
            "E_88": True,
            "E_50": True,
            "E_115": True,
            "E_27": True,
            "E_151": True,
            "E_152": ["V_53", "V_54"],
            **rash(["V_101", "V_29", "V_39"], "V_156", itch=2, swollen=1),
            **pain([*TONSILS, PHARYNX, FOREHEAD], [BURNING, EXHAUSTING], 4, onset=3),
        },
        frozenset({"HIV (initial infection)"}),
    ),
    Vignette(
        "ebola",
        30,
        "M",
        "back from West Africa last week, I have a high fever, I'm vomiting and my gums bleed",
        {
            "E_91": True,
            "E_204": "V_1",
            "E_73": True,
            "E_41": True,
            "E_178": True,
            "E_148": True,
            "E_51": True,
            "E_144": True,
            "E_89": True,
        },
        frozenset({"Ebola"}),
        emergency=frozenset({"Ebola"}),
    ),
    Vignette(
        "myocarditis",
        25,
        "M",
        "since I had the flu I get chest pain and I'm out of breath with the slightest effort",
        {
            "E_64": True,
            "E_66": True,
            "E_0": True,
            "E_155": True,
            "E_175": True,
            "E_218": True,
            **pain(["V_56", LOWER_CHEST], [KNIFE], 5, onset=4),
        },
        frozenset({"Myocarditis", "Pericarditis"}),
        why="both follow a viral illness with chest pain; ECG, troponin and echo tell them apart",
        emergency=frozenset({"Myocarditis"}),
    ),
    Vignette(
        "rib fracture",
        72,
        "F",
        "after a bad coughing fit I have a sharp pain in my ribs, worse when I move or breathe",
        {
            "E_203": True,
            "E_201": True,
            "E_216": True,
            "E_220": True,
            "E_153": True,
            **pain(["V_55", "V_170"], [KNIFE, SHARP], 7, onset=8, precise=8),
        },
        frozenset({"Spontaneous rib fracture"}),
        xfail={"intake": INTAKE_WHEN_MOVING},
    ),
    Vignette(
        "bronchiectasis",
        45,
        "F",
        "every day I cough up lots of phlegm and sometimes there's blood in it",
        {
            "E_77": True,
            "E_201": True,
            "E_45": True,
            "E_66": True,
            "E_118": True,
            "E_20": True,
        },
        frozenset({"Bronchiectasis"}),
    ),
    Vignette(
        "ankle oedema",
        65,
        "F",
        "my ankles have swollen up since I started my new blood pressure tablets",
        {
            "E_151": True,
            "E_152": ["V_34", "V_35"],
            "E_149": True,
            "E_104": True,
            **pain(["V_34", "V_35"], [HEAVY, "V_154"], 2, onset=1),
        },
        frozenset({"Localized edema"}),
        benign=True,
        absurd=("Anaphylaxis",),
    ),
    Vignette(
        "sarcoidosis",
        35,
        "F",
        "I have red painful lumps on my shins, my eyes are red and I get short of breath",
        {
            "E_74": True,
            "E_66": True,
            "E_9": True,
            **rash(["V_172", "V_173"], "V_157", itch=1, swollen=5, sore=5),
            **pain(["V_172", "V_173"], [SENSITIVE], 4, onset=2),
        },
        frozenset({"Sarcoidosis"}),
    ),
    Vignette(
        "laryngospasm",
        40,
        "M",
        "for a few seconds I suddenly couldn't breathe or speak and made a high-pitched noise",
        {"E_194": True, "E_128": True, "E_125": True, "E_79": True},
        frozenset({"Larygospasm"}),
        emergency=frozenset({"Larygospasm"}),
    ),
)
