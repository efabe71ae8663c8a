"""``ddx finetune``: LoRA training of a local chat model on chat-format conversations.

:func:`train` reads top to bottom: load the data and the model (:mod:`agent.finetune.examples`),
(optionally) choose the modules to adapt, wrap the model with a PEFT LoRA adapter, resume from
the run's checkpoint when there is one, train (:mod:`agent.finetune.loop`: plain accumulated
micro-batches, or DP with :mod:`agent.finetune.dp`), save the adapter and write the report.

Reproducible and resumable by construction: the micro-batches of step ``s`` and the dropout
and noise random streams are functions of (seed, s) only, so a run killed and resumed from a
checkpoint takes exactly the steps an uninterrupted run would have taken.
"""

from __future__ import annotations

import resource
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import SettingsError
from agent.finetune.chat_data import DialogueLoad
from agent.finetune.examples import (
    BatchPlan,
    Examples,
    encode_dialogues,
    load_dialogues,
    mean_loss,
    mean_token_loss,
)
from agent.finetune.loop import TrainingLoop
from agent.finetune.recipe import LoraSettings, Recipe
from agent.finetune.report import TrainingReport, write_report

if TYPE_CHECKING:
    from agent.finetune.select import Selection

FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainRequest:
    base: str
    data: Path
    out: Path
    recipe: Recipe
    eval_data: Path | None = None
    """Held-out conversations: their loss before and after training goes into the report."""
    device: str | None = None
    restart: bool = False
    progress: bool = True


@dataclass(frozen=True)
class TrainingOutcome:
    out: Path
    """The adapter folder (adapter, report, loss curve, checkpoint)."""
    report: TrainingReport
    model: Any
    """The trained PEFT model, in memory (what the saved adapter must reproduce)."""


def peak_memory_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _lora_model(base_model: Any, lora: LoraSettings) -> Any:
    from peft import LoraConfig, get_peft_model

    targets: list[str] | str = lora.target_modules
    if targets == ["all-linear"]:
        targets = "all-linear"
    config = LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        modules_to_save=lora.modules_to_save or None,
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(base_model, config)
    except ValueError as exc:
        raise SettingsError(f"LoRA target modules {lora.target_modules}: {exc}") from None


def _fingerprint(request: TrainRequest, data_sha256: str) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "base": request.base,
        "data_sha256": data_sha256,
        "recipe": request.recipe.model_dump(mode="json"),
    }


def train(
    request: TrainRequest,
    *,
    warn: Callable[[str], None],
    on_step: Callable[[int], None] | None = None,
) -> TrainingOutcome:
    """Train, checkpointing every ``checkpoint_every`` steps; ``on_step(step)`` runs after each
    optimizer step (a test uses it to interrupt a run)."""
    import torch

    from agent.files import file_sha256
    from agent.llm.hf_chat import HFChat

    recipe = request.recipe
    loaded = load_dialogues(request.data, warn)
    loaded_eval = load_dialogues(request.eval_data, warn) if request.eval_data else None
    chat = HFChat(request.base, device=request.device)
    tokenizer, device = chat.tokenizer, chat.device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    examples = Examples(
        encode_dialogues(request.data, loaded, tokenizer, recipe.max_length, warn), pad_id, device
    )
    held_out = Examples(
        encode_dialogues(request.eval_data, loaded_eval, tokenizer, recipe.max_length, warn)
        if request.eval_data and loaded_eval
        else [],
        pad_id,
        device,
    )
    data_sha256 = file_sha256(request.data)
    plan = BatchPlan(len(examples), recipe.batch_size, recipe.seed)

    torch.manual_seed(recipe.seed)
    lora, selection = _adapted_modules(chat.model, recipe.lora, examples, plan)
    model = _lora_model(chat.model, lora).to(device)
    model.train()
    loss_before = mean_loss(model, held_out) if held_out else None
    loop = TrainingLoop(
        model, recipe, examples, plan, request.out, _fingerprint(request, data_sha256)
    )
    resumed_from = loop.resume(request.restart, warn)
    loop.run(warn=warn, on_step=on_step, bar=request.progress)
    _save_adapter(model, request.out)

    loss_after = mean_loss(model, held_out) if held_out else None
    report = _report(request, loop, loaded, data_sha256, lora, selection)
    report.resumed_from_step, report.device = resumed_from, str(device)
    report.heldout_loss_before, report.heldout_loss_after = loss_before, loss_after
    write_report(request.out, report)
    model.eval()
    return TrainingOutcome(request.out, report, model)


def _adapted_modules(
    model: Any, lora: LoraSettings, examples: Examples, plan: BatchPlan
) -> tuple[LoraSettings, Selection | None]:
    """The recipe's LoRA settings, or, with ``select_fraction``, the modules (and rank) chosen
    on the first micro-batches (:mod:`agent.finetune.select`)."""
    if lora.select_fraction is None:
        return lora, None
    from agent.finetune.select import select_modules

    calibration = [
        examples.padded(plan.micro_batch(k))
        for k in range(min(lora.select_batches, plan.per_epoch))
    ]
    selection = select_modules(
        model, lora.target_modules, lora.rank, lora.select_fraction, calibration, mean_token_loss
    )
    # alpha grows with the rank: the update's scale alpha/r stays that of the recipe.
    alpha = max(1, round(lora.alpha * selection.rank / lora.rank))
    adapted = lora.model_copy(
        update={"target_modules": selection.modules, "rank": selection.rank, "alpha": alpha}
    )
    return adapted, selection


def _report(
    request: TrainRequest,
    loop: TrainingLoop,
    loaded: DialogueLoad,
    data_sha256: str,
    lora: LoraSettings,
    selection: Selection | None,
) -> TrainingReport:
    """The report of a finished run, from its loop; the caller adds what only it knows (the
    held-out losses, the step it resumed from, the device)."""
    progress, ledger = loop.progress, loop.ledger
    losses_only = [loss for _, loss in progress.losses]
    return TrainingReport(
        base=request.base,
        data=str(request.data.resolve()),
        data_sha256=data_sha256,
        dialogues=len(loop.examples),
        skipped_lines=loaded.problems(),
        recipe=request.recipe.model_dump(mode="json"),
        adapted_modules=lora.target_modules,
        rank=lora.rank,
        module_scores=selection.scores if selection else None,
        trainable_parameters=sum(p.numel() for p in loop.trainable),
        total_parameters=sum(p.numel() for p in loop.model.parameters()),
        steps=progress.step,
        planned_steps=loop.planned,
        seconds=round(progress.seconds, 3),
        tokens=progress.tokens,
        tokens_per_second=round(progress.tokens / max(progress.seconds, 1e-9), 1),
        peak_memory_mb=peak_memory_mb(),
        first_loss=losses_only[0] if losses_only else None,
        final_loss=losses_only[-1] if losses_only else None,
        loss_curve=progress.losses,
        dp=ledger.report(loop.stopped_at_budget) if ledger is not None else None,
        device="",
    )


def _save_adapter(model: Any, out: Path) -> None:
    """``adapter_config.json`` + ``adapter_model.safetensors`` in ``out``, swapped in whole."""
    partial = out / "adapter.partial"
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    for item in partial.iterdir():
        item.replace(out / item.name)
    shutil.rmtree(partial, ignore_errors=True)
