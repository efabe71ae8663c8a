"""The HPO knowledge base: building from the source files, cross-references, the cache."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import retrieval.hpo_kb as hpo_kb
import retrieval.hpo_sources as hpo_sources
from agent.errors import MissingDataError
from retrieval.hpo_kb import (
    UNKNOWN_FREQUENCY,
    HpoKnowledgeBase,
    build_from_folder,
    load_hpo_kb,
)
from retrieval.hpo_sources import parse_frequency
from tests.conftest import HPO_FIXTURE


def test_parse_frequency_reads_every_source_format() -> None:
    assert parse_frequency("HP:0040281") == pytest.approx(0.895)
    assert parse_frequency("3/4") == pytest.approx(0.75)
    assert parse_frequency("45%") == pytest.approx(0.45)
    assert parse_frequency("") is None
    assert parse_frequency("0/0") is None
    with pytest.raises(ValueError):
        parse_frequency("often")


def test_only_phenotypic_abnormality_terms_are_kept(mini_hpo_kb: HpoKnowledgeBase) -> None:
    assert "HP:0000118" in mini_hpo_kb.term_ids
    assert "HP:0000005" not in mini_hpo_kb.term_ids  # mode of inheritance
    assert "HP:0000001" not in mini_hpo_kb.term_ids


def test_ancestors_are_the_reflexive_transitive_closure(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    focal = kb.term_index("HP:0007359")
    names = {kb.term_names[i] for i in kb.ancestors_of(focal)}
    assert names == {
        "Focal-onset seizure",
        "Seizure",
        "Abnormality of the nervous system",
        "Phenotypic abnormality",
    }


def test_alternative_and_obsolete_ids_resolve(mini_hpo_kb: HpoKnowledgeBase) -> None:
    assert mini_hpo_kb.resolve("HP:0002279") == "HP:0001250"  # alt_id of Seizure
    assert mini_hpo_kb.resolve("HP:0000999") == "HP:0001251"  # obsolete → Ataxia
    assert mini_hpo_kb.resolve("HP:0000006") is None  # inheritance, not a phenotype
    with pytest.raises(KeyError):
        mini_hpo_kb.term_index("HP:9999999")


def test_same_disease_under_omim_and_orpha_is_merged(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    d = kb.disease_index("ORPHA:1001")
    assert d is not None and d == kb.disease_index("OMIM:100001")
    assert kb.disease_ids[d] == "OMIM:100001"
    assert kb.disease_xrefs[d] == ["OMIM:100001", "ORPHA:1001"]
    terms, freqs = kb.disease_terms(d)
    by_id = {kb.term_ids[t]: f for t, f in zip(terms, freqs, strict=True)}
    assert by_id == {
        "HP:0001250": pytest.approx(0.895),
        "HP:0000252": pytest.approx(0.75),
        "HP:0001251": UNKNOWN_FREQUENCY,
        "HP:0007359": pytest.approx(0.545),  # from the ORPHA entry
    }
    assert kb.excluded[d, kb.term_index("HP:0000256")] == 1


def test_excluded_frequency_and_unusable_diseases(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    delta = kb.disease_index("OMIM:100003")
    assert delta is not None
    assert kb.excluded[delta, kb.term_index("HP:0001250")] == 1  # frequency "Excluded (0%)"
    assert kb.annotations[delta, kb.term_index("HP:0001251")] == pytest.approx(0.545)
    assert kb.disease_index("DECIPHER:1") is None  # annotated to no phenotype term
    assert kb.n_diseases == 4


def test_cache_is_written_then_read_without_rebuilding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = load_hpo_kb(tmp_path, source=HPO_FIXTURE)
    cached = list((tmp_path / "hpo").glob("hpo_kb-*.npz"))
    assert len(cached) == 1

    def refuse(folder: Path) -> HpoKnowledgeBase:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(hpo_kb, "build_from_folder", refuse)
    loaded = load_hpo_kb(tmp_path, source=HPO_FIXTURE)
    assert loaded.term_ids == built.term_ids
    assert loaded.disease_xrefs == built.disease_xrefs
    assert loaded.aliases == built.aliases
    assert loaded.term_synonyms == built.term_synonyms
    assert loaded.version == "2099-01-01"
    for name in ("parents", "ancestors", "annotations", "excluded"):
        assert (getattr(loaded, name) != getattr(built, name)).nnz == 0


def test_corrupt_cache_is_rebuilt_and_changed_source_gets_a_new_cache(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(HPO_FIXTURE, source)
    cache = tmp_path / "cache"
    load_hpo_kb(cache, source=source)
    (path,) = (cache / "hpo").glob("*.npz")
    whole = path.read_bytes()
    for broken in (b"not a cache", whole[: len(whole) // 2]):
        path.write_bytes(broken)
        assert load_hpo_kb(cache, source=source).n_diseases == 4
    hpoa = source / "phenotype.hpoa"
    hpoa.write_text(hpoa.read_text() + "ORPHA:9\tZeta\t\tHP:0001166\tx\tTAS\t\t\t\t\tP\tx\n")
    os.utime(hpoa, (time.time() + 10, time.time() + 10))
    assert load_hpo_kb(cache, source=source).n_diseases == 5
    assert len(list((cache / "hpo").glob("*.npz"))) == 2


def test_missing_source_files_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match=r"hp\.obo"):
        load_hpo_kb(tmp_path, source=tmp_path)


def test_real_knowledge_base_loads_fast_and_merges_marfan(real_hpo_cache: Path) -> None:
    started = time.perf_counter()
    kb = load_hpo_kb(real_hpo_cache)
    assert time.perf_counter() - started < 2.0
    assert kb.n_diseases > 10_000 and kb.n_terms > 15_000
    marfan = kb.disease_index("ORPHA:558")
    assert marfan is not None and marfan == kb.disease_index("OMIM:154700")
    assert kb.disease_names[marfan] == "Marfan syndrome"
    assert np.all(kb.annotations.data != 0)


def test_build_from_fixture_is_deterministic() -> None:
    first = build_from_folder(HPO_FIXTURE)
    second = build_from_folder(HPO_FIXTURE)
    assert first.disease_ids == second.disease_ids
    assert (first.annotations != second.annotations).nnz == 0


def test_corpus_has_one_page_per_disease_with_frequencies(mini_hpo_kb: HpoKnowledgeBase) -> None:
    from retrieval.hpo_corpus import hpo_pages

    pages = list(hpo_pages(mini_hpo_kb))
    assert len(pages) == mini_hpo_kb.n_diseases
    alpha = pages[0]
    assert alpha.id == "hpo:OMIM:100001" and alpha.title == "Alpha syndrome"
    assert alpha.url == "https://omim.org/entry/100001"
    assert "(OMIM:100001, ORPHA:1001)" in alpha.text
    assert "Very frequent (80–99%): Seizure." in alpha.text
    assert "Frequency not given: Ataxia." in alpha.text
    assert "Not a feature: Macrocephaly." in alpha.text


# -- the hpo3 release --------------------------------------------------------------------------


class _Term:
    def __init__(self, tid: str, name: str, parents: list[int], replaced_by: str = "") -> None:
        self.id, self.name, self._parents = tid, name, parents
        self.is_obsolete, self.replaced_by = bool(replaced_by), replaced_by

    def parent_ids(self) -> list[int]:
        return self._parents


class _Disease:
    def __init__(self, number: int, name: str, terms: set[int]) -> None:
        self.id, self.name, self.hpo = number, name, terms


class _Ontology:
    """What hpo3's Ontology offers read_hpo3: terms, diseases, version (a newer release than
    the fixture: a new term, a new disease, an annotation the old release lacks)."""

    def __init__(self) -> None:
        old = hpo_sources.read_obo_terms(HPO_FIXTURE)
        self.terms = [
            _Term(t["id"], t["name"], [int(p[3:10]) for p in t.get("is_a", [])])
            for t in old
            if not t.get("is_obsolete")
        ]
        self.terms.append(_Term("HP:0040000", "Brand-new sign", [707]))
        self.terms.append(_Term("HP:0000999", "obsolete Unsteady gait", [], "HP:0001251"))
        self.omim_diseases = [
            _Disease(100001, "Alpha syndrome", {1250, 252, 1251, 6, 40000}),
            _Disease(620001, "Omega syndrome", {40000, 1166}),
        ]
        self.orpha_diseases = [_Disease(1002, "Gamma syndrome", {1251, 1166})]

    def __call__(self) -> None:
        return None

    def __iter__(self) -> Iterator[_Term]:
        return iter(self.terms)

    def version(self) -> str:
        return "2100-01-01"


def test_hpo3_release_is_enriched_from_the_older_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hpo_sources, "_hpo3_ontology", _Ontology)
    monkeypatch.setattr(hpo_sources, "hpo3_version", lambda: "9.9")
    kb = hpo_kb.build_from_raw(hpo_sources.read_hpo3(hpo_sources.read_folder(HPO_FIXTURE)))
    assert kb.version == "HPO 2100-01-01 (hpo3 9.9); frequencies from the 2099-01-01 annotations"
    new = kb.term_index("HP:0040000")
    assert kb.term_names[new] == "Brand-new sign" and kb.term_definitions[new] == ""
    assert kb.resolve("HP:0002279") == "HP:0001250"  # alt id from the older file
    assert kb.resolve("HP:0000999") == "HP:0001251"  # obsolete, replaced (hpo3)
    assert "HP:0000006" not in kb.term_ids  # inheritance stays out
    omega = kb.disease_index("OMIM:620001")
    assert omega is not None and kb.disease_names[omega] == "Omega syndrome"
    _, freqs = kb.disease_terms(omega)
    assert set(freqs) == {UNKNOWN_FREQUENCY}  # newer than the frequencies' release
    alpha = kb.disease_index("OMIM:100001")
    assert alpha is not None
    by_id = dict(
        zip(
            (kb.term_ids[t] for t in kb.disease_terms(alpha)[0]),
            kb.disease_terms(alpha)[1],
            strict=True,
        )
    )
    assert by_id["HP:0001250"] == pytest.approx(0.895)  # frequency of the older release
    assert by_id["HP:0040000"] == UNKNOWN_FREQUENCY
    assert kb.disease_index("ORPHA:1001") is None  # not in the newer release


def test_obo_reader_keeps_ids_names_parents_synonyms_and_obsolete_terms() -> None:
    terms = {t["id"]: t for t in hpo_sources.read_obo_terms(HPO_FIXTURE)}
    assert "part_of" not in terms  # a [Typedef], not a term
    seizure = terms["HP:0001250"]
    assert seizure["alt_id"] == ["HP:0002279"]
    assert "Epileptic seizure" in seizure["synonym"]
    assert seizure["is_a"] == ["HP:0000707 ! Abnormality of the nervous system"]
    assert terms["HP:0000999"]["is_obsolete"] is True


@pytest.mark.integration
def test_real_release_covers_most_dev_diseases(real_hpo_cache: Path) -> None:
    import json
    import os

    data = os.environ.get("DDX_DATA_DIR")
    cases = Path(data or "") / "phenopackets" / "dev_cases.jsonl"
    if not data or not cases.is_file():
        pytest.skip("DDX_DATA_DIR with phenopackets/dev_cases.jsonl is not set")
    kb = load_hpo_kb(real_hpo_cache)
    truths = [json.loads(line)["RareDisease"][0] for line in cases.read_text().splitlines()]
    covered = np.mean([kb.disease_index(t) is not None for t in truths])
    assert covered > 0.75, f"only {covered:.2f} of the dev cases' diseases are known"
