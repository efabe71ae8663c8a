"""Which likelihood model a consultation uses: the shipped default, the structural one, a file.

``agent/reasoners/ddxplus/models/ddxplus_train.npz`` ships with the package (package data, under
version
control): fitted by ``ddx kb fit --stats`` from the DDXPlus train split's statistics and the
sample patients (data/README.md has its provenance and licences), so a fresh install reasons
with the data's real probabilities without downloading a million patients. It is fitted for the
DDXPlus release's knowledge base; on another knowledge base (a test fixture, an edited release)
the default falls back to the structural model and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from agent.errors import DataFormatError
from agent.reasoners.ddxplus.likelihood import structural_model
from agent.reasoners.ddxplus.model_file import EngineModel, read_meta
from retrieval.ddxplus_kb import KnowledgeBase

SHIPPED_MODEL = "ddxplus_train.npz"
DEFAULT = "default"
STRUCTURAL = "structural"
ModelChoice = Path | str | None
"""None or "default": the shipped model; "structural": no data; otherwise a model file."""


def shipped_model_path() -> Path:
    return Path(str(resources.files("agent.reasoners.ddxplus").joinpath("models", SHIPPED_MODEL)))


@dataclass(frozen=True)
class LoadedModel:
    model: EngineModel
    origin: str
    """Where the model came from, for `ddx kb info` and run records."""
    note: str = ""
    """Why the default was not used, when it was not."""


def load_engine_model(kb: KnowledgeBase, choice: ModelChoice = None) -> LoadedModel:
    """Resolve a model choice for ``kb``; a named file that does not fit is a DataFormatError."""
    name = str(choice) if choice is not None else DEFAULT
    if name == STRUCTURAL:
        return LoadedModel(EngineModel(structural_model(kb)), STRUCTURAL)
    if name != DEFAULT:
        path = Path(name)
        return LoadedModel(EngineModel.load(path, kb), str(path.resolve()))
    path = shipped_model_path()
    if not path.is_file():
        note = f"the shipped model {path} is missing from this installation"
        return LoadedModel(EngineModel(structural_model(kb)), STRUCTURAL, note)
    fingerprint = read_meta(path).get("kb")
    if fingerprint != kb.fingerprint():
        note = (
            f"the shipped model is for the DDXPlus release's knowledge base ({fingerprint}); "
            f"this one ({kb.fingerprint()}) differs"
        )
        return LoadedModel(EngineModel(structural_model(kb)), STRUCTURAL, note)
    try:
        return LoadedModel(EngineModel.load(path, kb), f"shipped default ({path})")
    except DataFormatError as exc:  # a damaged installation: say so, and keep working
        return LoadedModel(EngineModel(structural_model(kb)), STRUCTURAL, str(exc))


def describe_model(kb: KnowledgeBase, choice: ModelChoice = None) -> str:
    """What a run records as its model: "structural", or the file that will be used with the
    start of its SHA-256 (so a resumed run cannot silently switch models)."""
    from agent.files import file_sha256

    name = str(choice) if choice is not None else DEFAULT
    if name == STRUCTURAL:
        return STRUCTURAL
    path = Path(name) if name != DEFAULT else shipped_model_path()
    if name == DEFAULT and (not path.is_file() or read_meta(path).get("kb") != kb.fingerprint()):
        return STRUCTURAL
    if not path.is_file():
        return str(path.resolve())  # loading it reports the missing file
    label = "shipped" if name == DEFAULT else str(path.resolve())
    return f"{label} sha256:{file_sha256(path)[:16]}"
