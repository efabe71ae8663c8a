"""`ddx kb info --kb hpo`: what the HPO knowledge base holds and which release it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from agent.settings import DdxSettings


def hpo_info(settings: DdxSettings) -> None:
    """Print the HPO release and source, and the counts of terms, diseases and annotations."""
    import numpy as np

    from agent.cli.rarebench_cmd import load_hpo
    from retrieval.hpo_kb import UNKNOWN_FREQUENCY

    kb = load_hpo(settings)
    prefixes: dict[str, int] = {}
    for refs in kb.disease_xrefs:
        for prefix in {ref.split(":", 1)[0] for ref in refs}:
            prefixes[prefix] = prefixes.get(prefix, 0) + 1
    known = float(np.mean(kb.annotations.data != UNKNOWN_FREQUENCY)) if kb.annotations.nnz else 0
    typer.echo(f"release: {kb.version}")
    typer.echo(f"{kb.n_terms} phenotype terms, {kb.n_diseases} diseases")
    typer.echo(
        "diseases with an id from: " + ", ".join(f"{p} {n}" for p, n in sorted(prefixes.items()))
    )
    typer.echo(
        f"{kb.annotations.nnz} annotations ({known:.0%} with a frequency), "
        f"{kb.excluded.nnz} 'NOT' annotations"
    )
    typer.echo(f"cache: {settings.cache_folder / 'hpo'}")
