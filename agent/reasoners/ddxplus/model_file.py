"""The engine's model file (.npz): likelihoods, the differential-list model, their provenance.

One compressed NumPy archive, readable without pickle:

=====================  ======================================================================
entry                  content
=====================  ======================================================================
``meta``               JSON: ``format``, ``kb`` (knowledge-base fingerprint), ``source``,
                       ``provenance`` (files fitted from with their SHA-256, settings),
                       ``decisions`` (thresholds chosen on the train/validate samples)
``log_prior`` …        the likelihood arrays
(:class:`~agent.reasoners.ddxplus.likelihood.LikelihoodModel`)
``list:weights`` …     the differential-list model
(:mod:`agent.reasoners.ddxplus.differential_list`)
=====================  ======================================================================

Writing is atomic (a temporary file, then a rename). Loading refuses a model fitted for another
knowledge base with a one-line message, since its arrays would be silently misaligned.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agent.errors import DataFormatError
from agent.reasoners.ddxplus.differential_list import ListModel
from agent.reasoners.ddxplus.likelihood import LikelihoodModel
from retrieval.ddxplus_kb import KnowledgeBase

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
LIST_PREFIX = "list:"


@dataclass(frozen=True)
class Decisions:
    """Operating thresholds chosen on the train/validate samples (BENCHMARKS.md says how)."""

    urgent_threshold: float | None = None
    """A severity-1/2 condition at or above this posterior is flagged urgent."""

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decisions:
        return cls(urgent_threshold=data.get("urgent_threshold"))


@dataclass(frozen=True)
class EngineModel:
    """What one model file holds: likelihoods, optionally the list model and the decisions."""

    likelihood: LikelihoodModel
    differential: ListModel | None = None
    decisions: Decisions = field(default_factory=Decisions)

    def save(self, path: Path) -> None:
        """Write ``path`` (.npz) atomically: a killed save never leaves a loadable half-file."""
        arrays: dict[str, NDArray[Any]] = dict(self.likelihood.arrays())
        meta: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "kb": self.likelihood.kb_fingerprint,
            "source": self.likelihood.source,
            "provenance": self.likelihood.provenance,
            "decisions": self.decisions.to_json(),
        }
        if self.differential is not None:
            list_arrays, list_meta = self.differential.to_arrays()
            arrays.update({LIST_PREFIX + k: v for k, v in list_arrays.items()})
            meta["list"] = list_meta
        tmp = path.with_name(path.name + ".partial")
        with tmp.open("wb") as handle:
            np.savez_compressed(handle, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)  # type: ignore[arg-type]
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, kb: KnowledgeBase) -> EngineModel:
        """Load a model file, refusing one fitted on a different knowledge base."""
        meta, arrays = _read(path)
        if meta.get("kb") != kb.fingerprint():
            raise DataFormatError(
                f"{path} was fitted on a different DDXPlus knowledge base (fingerprint "
                f"{meta.get('kb')}, this one is {kb.fingerprint()}); fit it again with "
                "`ddx kb fit`, or use `--model structural`."
            )
        list_arrays = {
            k.removeprefix(LIST_PREFIX): v for k, v in arrays.items() if k.startswith(LIST_PREFIX)
        }
        likelihood_arrays = {k: v for k, v in arrays.items() if not k.startswith(LIST_PREFIX)}
        try:
            likelihood = LikelihoodModel.from_arrays(likelihood_arrays, meta)
            differential = (
                ListModel.from_arrays(list_arrays, meta["list"]) if "list" in meta else None
            )
        except KeyError as exc:
            raise DataFormatError(f"{path} is not a ddx likelihood model (no {exc}).") from None
        return cls(likelihood, differential, Decisions.from_json(meta.get("decisions", {})))


def read_meta(path: Path) -> dict[str, Any]:
    """A model file's metadata alone (fingerprint, provenance), without loading its arrays."""
    if not path.is_file():
        raise DataFormatError(f"{path} not found: fit a model with `ddx kb fit` first.")
    try:
        with np.load(path, allow_pickle=False) as payload:
            meta = json.loads(str(payload["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"{path} is not a ddx likelihood model ({exc}).") from None
    if not isinstance(meta, dict):
        raise DataFormatError(f"{path} is not a ddx likelihood model (metadata is not an object).")
    return meta


def _read(path: Path) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    if not path.is_file():
        raise DataFormatError(f"{path} not found: fit a model with `ddx kb fit` first.")
    try:
        with np.load(path, allow_pickle=False) as payload:
            meta = json.loads(str(payload["meta"]))
            arrays = {key: payload[key] for key in payload.files if key != "meta"}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"{path} is not a ddx likelihood model ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") not in READABLE_FORMATS:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise DataFormatError(
            f"{path} has model format {found}, expected {FORMAT_VERSION}; fit it again with "
            "`ddx kb fit`."
        )
    return meta, arrays
