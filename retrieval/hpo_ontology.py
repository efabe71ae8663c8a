"""From a source's raw terms and diseases to what the knowledge base's arrays hold: the
phenotype subtree and its id aliases, diseases merged across OMIM / ORPHA / DECIPHER by name,
the ancestor closure. Pure functions over ``retrieval.hpo_sources``' raw form."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

import numpy as np
from scipy import sparse

from retrieval.fuzzy import normalise_name
from retrieval.hpo_sources import RawDisease

SparseMatrix: TypeAlias = Any
"""A scipy.sparse matrix (scipy ships no type information for mypy)."""

PHENOTYPIC_ABNORMALITY = "HP:0000118"
"""Root of the phenotype terms; inheritance, onset and modifier terms are left out."""


def disease_key(name: str) -> str:
    """What two sources' names of one disease have in common: the name for comparison
    (:func:`retrieval.fuzzy.normalise_name`) with spacing ignored too ("GM1-gangliosidosis"
    and "GM1 gangliosidosis")."""
    return normalise_name(name).replace(" ", "")


def phenotype_terms(
    raw_terms: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, list[str]], dict[str, str]]:
    """The non-obsolete terms under Phenotypic abnormality, their parents, and id aliases."""
    current = {t["id"]: t for t in raw_terms if not t.get("is_obsolete")}
    parents = {
        tid: [p.split("!")[0].strip() for p in term.get("is_a", [])]
        for tid, term in current.items()
    }
    children: dict[str, list[str]] = defaultdict(list)
    for tid, plist in parents.items():
        for parent in plist:
            children[parent].append(tid)
    keep: set[str] = set()
    stack = [PHENOTYPIC_ABNORMALITY]
    while stack:
        tid = stack.pop()
        if tid in keep or tid not in current:
            continue
        keep.add(tid)
        stack.extend(children.get(tid, []))
    aliases: dict[str, str] = {}
    for term in raw_terms:
        if term.get("is_obsolete") and term.get("replaced_by") in keep:
            aliases[term["id"]] = term["replaced_by"]
        elif term["id"] in keep:
            for alt in term.get("alt_id", []):
                aliases[alt.strip()] = term["id"]
    ordered = sorted(keep)
    kept_parents = {tid: [p for p in parents[tid] if p in keep] for tid in ordered}
    return [current[tid] for tid in ordered], kept_parents, aliases


def _id_order(disease_id: str) -> tuple[int, str]:
    prefix = disease_id.split(":", 1)[0]
    return ({"OMIM": 0, "ORPHA": 1}.get(prefix, 2), disease_id)


def merge_cross_references(diseases: Iterable[RawDisease]) -> list[RawDisease]:
    """One disease per normalised name: ids, annotations and exclusions united."""
    groups: dict[str, RawDisease] = {}
    for disease in diseases:
        key = disease_key(disease.name) or disease.ids[0]
        if key not in groups:
            groups[key] = RawDisease(list(disease.ids), disease.name)
        merged = groups[key]
        merged.ids = sorted(set(merged.ids) | set(disease.ids), key=_id_order)
        for term, freq in disease.frequencies.items():
            merged.frequencies[term] = max(merged.frequencies.get(term, freq), freq)
        merged.excluded |= disease.excluded
    for merged in groups.values():
        merged.excluded -= set(merged.frequencies)
    return sorted(groups.values(), key=lambda d: _id_order(d.ids[0]))


def ancestor_closure(parent_matrix: SparseMatrix) -> SparseMatrix:
    """Reflexive transitive closure of the parent relation (rows: term, columns: ancestors)."""
    n = parent_matrix.shape[0]
    closure = (sparse.identity(n, format="csr", dtype=np.float64) + parent_matrix).tocsr()
    closure.data[:] = 1.0
    while True:
        grown = (closure @ closure).tocsr()
        grown.data[:] = 1.0
        if grown.nnz == closure.nnz:
            return grown
        closure = grown
