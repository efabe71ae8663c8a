"""`ddx finetune` (LoRA / DP-LoRA training) and `ddx data dialogues` (its training data).

torch, transformers and peft are imported inside the commands, so ``ddx --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import load_kb, settings_from
from agent.errors import SettingsError

SOURCES = ("ddxplus", "chat")


def _warn(message: str) -> None:
    typer.echo(message, err=True)


def dialogues(
    ctx: typer.Context,
    out: Path = typer.Option(
        ...,
        "--out",
        help="Training file to write (chat JSONL); the held-out split and the "
        "manifest are written next to it (<name>.heldout.jsonl, <name>.manifest.json).",
    ),
    source: str = typer.Option(
        "ddxplus",
        "--source",
        help="ddxplus: consult DDXPlus patients with the embedded engine as teacher. "
        "chat: validate and split your own conversations (--dialogues).",
    ),
    patients: Path | None = typer.Option(
        None, "--patients", help="ddxplus: patient CSV (official columns)."
    ),
    user_dialogues: Path | None = typer.Option(
        None,
        "--dialogues",
        help="chat: your conversations, one JSON object per line with "
        '"messages": [{"role": "system|user|assistant", "content": "..."}].',
    ),
    n: int | None = typer.Option(
        None, "--n", min=1, help="ddxplus: patients to consult (drawn with --seed); all if unset."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for drawing the --n patients."),
    heldout: float = typer.Option(
        0.1,
        "--heldout",
        min=0.0,
        max=0.9,
        help="Fraction kept apart as the held-out split (chosen by a hash of each id).",
    ),
    questions: int = typer.Option(10, "--questions", min=0, help="ddxplus: question budget."),
    confidence: float = typer.Option(
        0.95,
        "--confidence",
        min=0.0,
        max=1.0,
        help="ddxplus: stop asking once the leading diagnosis reaches this probability.",
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="ddxplus: worker processes."),
) -> None:
    """Write chat-format training conversations and a held-out split, with a manifest.

    ddxplus: each patient is consulted by the embedded engine (the teacher) and the simulated
    patient; the assistant turns are the NextStep and Differential JSON the LLM roles produce.
    The held-out patients' CSV rows are written too, for `ddx eval ddxplus --patients`.
    chat: bad lines are reported with their number and skipped.
    """
    from agent.finetune.dialogue_files import chat_dialogues, ddxplus_dialogues
    from agent.finetune.teacher import TeacherSettings

    if source not in SOURCES:
        raise SettingsError(f"Unknown --source {source!r}; use one of {', '.join(SOURCES)}.")
    _check_writable_file(out)
    if source == "chat":
        if user_dialogues is None:
            raise SettingsError("--source chat needs --dialogues FILE.jsonl.")
        manifest = chat_dialogues(user_dialogues, out, heldout_fraction=heldout, warn=_warn)
    else:
        if patients is None:
            raise SettingsError("--source ddxplus needs --patients FILE.csv.")
        from data.locations import require_existing

        patients = require_existing(patients, "a DDXPlus patient CSV")
        manifest = ddxplus_dialogues(
            load_kb(settings_from(ctx)),
            patients,
            out,
            n=n,
            seed=seed,
            heldout_fraction=heldout,
            settings=TeacherSettings(questions=questions, confidence_threshold=confidence),
            workers=workers,
            warn=_warn,
        )
    typer.echo(
        f"{manifest.train_count} training and {manifest.heldout_count} held-out conversations "
        f"({manifest.dialogues_per_second:.0f}/s); {len(manifest.skipped)} input lines skipped"
    )
    typer.echo(f"manifest: {out.with_name(out.name.removesuffix('.jsonl') + '.manifest.json')}")


def _check_writable_file(out: Path) -> None:
    """Fail before any work (consulting thousands of patients) when --out cannot be written."""
    if out.is_dir():
        raise SettingsError(f"--out {out} is a folder; give a file name such as {out}/train.jsonl.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"Cannot create the folder {out.parent}: {exc.strerror}.") from None


def finetune(
    base: str = typer.Option(
        ..., "--base", help="Base model: a local folder or a hub id already in the local cache."
    ),
    data: Path = typer.Option(..., "--data", help="Training conversations (chat JSONL)."),
    out: Path = typer.Option(
        ..., "--out", help="Adapter folder; rerun the same command to resume after a kill."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Recipe (YAML). Default: agent/finetune/recipes/lora-cpu-small.yaml."
    ),
    dp_epsilon: float | None = typer.Option(
        None, "--dp-epsilon", min=0.0, help="Train with DP-SGD for this ε (needs --dp-delta)."
    ),
    dp_delta: float | None = typer.Option(
        None, "--dp-delta", min=0.0, help="δ of the DP guarantee; well below 1/records."
    ),
    eval_data: Path | None = typer.Option(
        None,
        "--eval-data",
        help="Held-out conversations (e.g. <name>.heldout.jsonl): the report gives their loss "
        "before and after training.",
    ),
    max_steps: int | None = typer.Option(
        None, "--max-steps", min=1, help="Optimizer steps (overrides the recipe's epochs)."
    ),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: best)."),
    restart: bool = typer.Option(
        False, "--restart", help="Discard a checkpoint in --out instead of resuming from it."
    ),
) -> None:
    """Train a LoRA adapter (optionally differentially private) on chat conversations.

    The loss is on the assistant's turns only. A checkpoint is written every
    `checkpoint_every` steps; the same command resumes from it. The adapter, the report
    (training_report.json) and the loss curve (loss_curve.png) land in --out; use the adapter
    as hf:<base>+<out> in any role (--doctor, --diagnoser, --patient, --judge).
    """
    from agent.finetune.recipe import load_recipe, with_dp
    from agent.finetune.train import TrainRequest, train

    recipe = with_dp(load_recipe(config), dp_epsilon, dp_delta)
    if max_steps is not None:
        recipe = recipe.model_copy(update={"max_steps": max_steps})
    outcome = train(
        TrainRequest(
            base=base,
            data=data,
            out=out,
            recipe=recipe,
            eval_data=eval_data,
            device=device,
            restart=restart,
        ),
        warn=_warn,
    )
    report = outcome.report
    typer.echo(
        f"{report.steps} steps, loss {report.first_loss} → {report.final_loss}, "
        f"{report.tokens_per_second:.0f} tokens/s, peak memory {report.peak_memory_mb:.0f} MB"
    )
    if report.heldout_loss_after is not None:
        typer.echo(
            f"held-out loss {report.heldout_loss_before} (base) → {report.heldout_loss_after}"
        )
    if report.dp is not None:
        typer.echo(
            f"differential privacy: ε = {report.dp.epsilon_spent:.3f} spent of "
            f"{report.dp.epsilon_budget} (δ = {report.dp.delta}, σ = "
            f"{report.dp.noise_multiplier:.3f}, q = {report.dp.sample_rate:.4f})"
        )
    typer.echo(f"adapter: {out}  (use hf:{base}+{out})")
