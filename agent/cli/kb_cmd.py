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

MODEL_HELP = (
    "Likelihood model: 'default' (the shipped one), 'structural' (no data), or a file from "
    "`ddx kb fit`."
)


@app.command("info")
def info(
    ctx: typer.Context,
    kb_name: str = typer.Option(
        "ddxplus", "--kb", help="ddxplus, or hpo (rare diseases: which HPO release is loaded)."
    ),
    model: str = typer.Option("default", "--model", help=MODEL_HELP),
) -> None:
    """Validate the knowledge base and show what it holds, and which model the engine uses
    (with ``--kb hpo``: which HPO release is loaded)."""
    if kb_name == "hpo":
        from agent.cli.hpo_info import hpo_info

        return hpo_info(settings_from(ctx))
    if kb_name != "ddxplus":
        raise DdxError(f"--kb must be ddxplus or hpo, not {kb_name!r}.")
    from agent.reasoners.ddxplus.shipped import load_engine_model

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
    loaded = load_engine_model(kb, model)
    typer.echo(f"likelihood model: {loaded.origin}")
    if loaded.note:
        typer.echo(f"  (the shipped model is not used: {loaded.note})")
    for line in _provenance_lines(loaded.model.likelihood.provenance):
        typer.echo(f"  {line}")
    if loaded.model.differential is not None:
        typer.echo(f"  differential list: threshold {loaded.model.differential.threshold}")
    if loaded.model.decisions.urgent_threshold is not None:
        typer.echo(f"  urgent flag: posterior >= {loaded.model.decisions.urgent_threshold}")


def _provenance_lines(provenance: dict[str, object]) -> list[str]:
    lines = []
    for key in ("stats", "profile"):
        item = provenance.get(key)
        if isinstance(item, dict):
            lines.append(f"{key}: {item['file']} (sha256 {str(item['sha256'])[:16]}…)")
    for item in provenance.get("patients", []) or []:  # type: ignore[attr-defined]
        lines.append(f"patients: {item['file']} (sha256 {str(item['sha256'])[:16]}…)")
    if "settings" in provenance:
        lines.append(f"settings: {provenance['settings']}")
    if provenance.get("restricted"):
        lines.append(f"never asked: {'; '.join(provenance['restricted'])}")  # type: ignore[arg-type]
    return lines


@app.command("fit")
def fit(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Model file to write (.npz)."),
    stats: Path | None = typer.Option(
        None,
        "--stats",
        help="Per-condition statistics of the train split (train_stats.json); the default "
        "model's source.",
    ),
    profile: Path | None = typer.Option(
        None,
        "--profile",
        help="train_profile.json: the correct pain multi-choice marginals (with --stats).",
    ),
    patients: list[Path] = typer.Option(
        [],
        "--patients",
        help="DDXPlus patient CSV(s). With --stats: the sample patients (age, sex, multi-choice "
        "values, reference differentials); alone: the records to count everything from "
        "(e.g. release_train_patients.csv). Repeat for several files.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model file."),
) -> None:
    """Fit the engine model: likelihoods, the differential list and the urgent threshold.

    The shipped default model is rebuilt with
    `ddx kb fit --stats train/train_stats.json --profile train/train_profile.json
    --patients train/train_sample_patients.csv --patients train/validate_sample_patients.csv`.
    Never fit on the file you evaluate on. Use the model with `--model FILE` in
    `ddx eval ddxplus` or `ddx chat`.
    """
    from agent.reasoners.ddxplus.recipe import FitInputs, fit_engine_model
    from data.locations import ensure_folder, require_existing

    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    if out.exists() and not force:
        raise DdxError(f"{out} exists; use --force to overwrite it, or another --out.")
    ensure_folder(out.parent, "output folder")  # before the fit: its result needs a home
    kb = load_kb(settings_from(ctx))
    inputs = FitInputs(
        stats=require_existing(stats, "the train split's statistics (JSON)") if stats else None,
        profile=require_existing(profile, "train_profile.json") if profile else None,
        patients=[require_existing(p, "a DDXPlus patient CSV") for p in patients],
    )
    if profile is not None and stats is None:
        raise DdxError("--profile completes --stats; give --stats too.")

    def warn(message: str) -> None:
        typer.secho(message, fg=typer.colors.YELLOW, err=True)

    model = fit_engine_model(kb, inputs, warn=warn, note=typer.echo)
    try:
        model.save(out)
    except OSError as exc:
        raise DdxError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    records = model.likelihood.provenance.get("records", 0)
    typer.echo(f"wrote {out} ({model.likelihood.source}, {records} patient records)")
