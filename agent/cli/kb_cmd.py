"""`ddx kb ...`: inspect the knowledge base and fit likelihood models."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from agent.cli.common import load_kb, settings_from
from agent.errors import DdxError

app = typer.Typer(
    help="Inspect the DDXPlus knowledge base and fit likelihood models.", no_args_is_help=True
)


@app.command("info")
def info(
    ctx: typer.Context,
    kb_name: str = typer.Option(
        "ddxplus", "--kb", help="ddxplus, or hpo (rare diseases: which HPO release is loaded)."
    ),
) -> None:
    """Validate the knowledge base and show what it holds, with the release quirks handled."""
    if kb_name == "hpo":
        from agent.cli.hpo_info import hpo_info

        return hpo_info(settings_from(ctx))
    if kb_name != "ddxplus":
        raise DdxError(f"--kb must be ddxplus or hpo, not {kb_name!r}.")
    kb = load_kb(settings_from(ctx))
    kinds = Counter(ev.kind.name.lower() for ev in kb.evidences.values())
    severities = Counter(c.severity for c in kb.conditions.values())
    typer.echo(f"{len(kb.conditions)} conditions, {len(kb.evidences)} evidences")
    typer.echo("evidence kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    typer.echo("severity: " + ", ".join(f"{s}: {severities[s]}" for s in sorted(severities)))
    typer.echo(f"fingerprint: {kb.fingerprint()}")
    if kb.quirks:
        typer.echo("release quirks handled:")
        for quirk in kb.quirks:
            typer.echo(f"  - {quirk}")


@app.command("fit")
def fit(
    ctx: typer.Context,
    patients: Path = typer.Option(
        ..., "--patients", help="DDXPlus patient CSV to fit on (e.g. release_train_patients.csv)."
    ),
    out: Path = typer.Option(..., "--out", help="Model file to write (.npz)."),
    strength: float = typer.Option(
        2.0,
        "--strength",
        min=0.0,
        help="Weight, in pseudo-patients, of the structural model in every estimate.",
    ),
) -> None:
    """Fit the likelihood model from patient records, shrunk towards the structural model.

    Never fit on the file you evaluate on: use the official training split and evaluate on the
    validation or test split. Use the model with `ddx eval ddxplus --model` or `ddx chat --model`.
    """
    from agent.engine.likelihood import fit_model
    from data.locations import require_existing
    from simulator.records import load_patients

    kb = load_kb(settings_from(ctx))
    loaded = load_patients(kb, require_existing(patients, "a DDXPlus patient CSV"))
    for problem in loaded.problems():
        typer.secho(problem, fg=typer.colors.YELLOW, err=True)
    typer.echo(loaded.summary())
    if not loaded.records:
        raise DdxError(f"{patients} has no usable patient rows to fit on.")
    model = fit_model(kb, loaded.records, source=f"fitted:{patients.name}", strength=strength)
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    typer.echo(f"wrote {out} ({len(loaded.records)} patients)")
