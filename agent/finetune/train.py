"""``ddx finetune``: LoRA training of a local chat model on chat-format conversations.

:func:`train` reads top to bottom: load the data and the model, (optionally) choose the modules
to adapt, wrap the model with a PEFT LoRA adapter, plan the steps, resume from the run's
checkpoint when there is one, train (plain: accumulated micro-batches; DP:
:mod:`agent.finetune.dp`), save the adapter and write the report.

Reproducible and resumable by construction: the micro-batches of step ``s`` and the dropout
and noise random streams are functions of (seed, s) only, so a run killed and resumed from a
checkpoint takes exactly the steps an uninterrupted run would have taken.
"""

from __future__ import annotations

import math
import random
import resource
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import DataFormatError, SettingsError
from agent.finetune.chat_data import DialogueLoad, require_dialogues
from agent.finetune.checkpoint import discard_checkpoint, load_checkpoint, save_checkpoint
from agent.finetune.dp import PrivacyLedger, poisson_sample, private_gradient
from agent.finetune.encode import IGNORE, Encoded, encode, pad_batch
from agent.finetune.recipe import LoraSettings, Recipe
from agent.finetune.report import TrainingReport, write_report

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


@dataclass
class _Progress:
    """What a checkpoint carries besides the weights and the optimizer."""

    step: int = 0
    tokens: int = 0
    seconds: float = 0.0
    losses: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class _BatchPlan:
    """Micro-batch ``k`` of the endless stream of shuffled epochs (a function of k and seed)."""

    records: int
    batch_size: int
    seed: int
    _epoch: int = -1
    _order: list[int] = field(default_factory=list)

    @property
    def per_epoch(self) -> int:
        return math.ceil(self.records / self.batch_size)

    def micro_batch(self, k: int) -> list[int]:
        epoch, position = divmod(k, self.per_epoch)
        if epoch != self._epoch:
            self._order = list(range(self.records))
            random.Random(f"order:{self.seed}:{epoch}").shuffle(self._order)
            self._epoch = epoch
        return self._order[position * self.batch_size : (position + 1) * self.batch_size]


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


def _token_loss_sum(model: Any, batch: dict[str, Any]) -> Any:
    """Summed cross-entropy over the labelled (assistant) tokens, next-token shifted."""
    import torch

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    shifted = logits[:, :-1, :].reshape(-1, logits.shape[-1]).float()
    targets = batch["labels"][:, 1:].reshape(-1)
    return torch.nn.functional.cross_entropy(shifted, targets, ignore_index=IGNORE, reduction="sum")


def _labelled(item: Encoded) -> int:
    """Labelled tokens that the shifted loss counts (the first token has no predecessor)."""
    return sum(1 for label in item.labels[1:] if label != IGNORE)


def _load(path: Path, warn: Callable[[str], None]) -> DialogueLoad:
    loaded = require_dialogues(path)
    for problem in loaded.problems():
        warn(f"{path.name} {problem}")
    return loaded


def _encode(
    path: Path, loaded: DialogueLoad, tokenizer: Any, max_length: int, warn: Callable[[str], None]
) -> list[Encoded]:
    encoded = [encode(tokenizer, d, max_length) for d in loaded.dialogues]
    examples = [e for e in encoded if _labelled(e) > 0]
    if len(examples) < len(encoded):
        warn(
            f"{path.name}: {len(encoded) - len(examples)} conversation(s) have no assistant "
            f"token within max_length={max_length}; skipped"
        )
    if not examples:
        raise DataFormatError(f"{path}: no conversation has assistant tokens to learn.")
    return examples


def mean_loss(
    model: Any, examples: Sequence[Encoded], pad_id: int, device: str, batch_size: int = 4
) -> float:
    """Mean loss per assistant token of ``examples`` (no gradient; dropout off)."""
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            items = examples[start : start + batch_size]
            batch = {k: v.to(device) for k, v in pad_batch(items, pad_id).items()}
            total += float(_token_loss_sum(model, batch))
            count += sum(_labelled(e) for e in items)
    model.train(was_training)
    return round(total / max(count, 1), 5)


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
    from tqdm import tqdm

    from agent.files import file_sha256
    from agent.llm.hf_chat import HFChat

    recipe = request.recipe
    loaded = _load(request.data, warn)
    loaded_eval = _load(request.eval_data, warn) if request.eval_data else None
    chat = HFChat(request.base, device=request.device)
    tokenizer, device = chat.tokenizer, chat.device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    examples = _encode(request.data, loaded, tokenizer, recipe.max_length, warn)
    held_out = (
        _encode(request.eval_data, loaded_eval, tokenizer, recipe.max_length, warn)
        if request.eval_data and loaded_eval
        else []
    )
    data_sha256 = file_sha256(request.data)
    n = len(examples)
    plan = _BatchPlan(n, recipe.batch_size, recipe.seed)

    def padded(indices: Sequence[int]) -> dict[str, Any]:
        return {
            k: v.to(device) for k, v in pad_batch([examples[i] for i in indices], pad_id).items()
        }

    torch.manual_seed(recipe.seed)
    lora = recipe.lora
    selection = None
    if lora.select_fraction is not None:
        from agent.finetune.select import select_modules

        calibration = [
            padded(plan.micro_batch(k)) for k in range(min(lora.select_batches, plan.per_epoch))
        ]
        selection = select_modules(
            chat.model,
            lora.target_modules,
            lora.rank,
            lora.select_fraction,
            calibration,
            lambda m, b: _token_loss_sum(m, b) / max(1, int((b["labels"][:, 1:] != IGNORE).sum())),
        )
        # alpha grows with the rank: the update's scale alpha/r stays that of the recipe.
        alpha = max(1, round(lora.alpha * selection.rank / lora.rank))
        lora = lora.model_copy(
            update={"target_modules": selection.modules, "rank": selection.rank, "alpha": alpha}
        )
    model = _lora_model(chat.model, lora).to(device)
    model.train()
    loss_before = mean_loss(model, held_out, pad_id, device) if held_out else None
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=recipe.learning_rate, weight_decay=recipe.weight_decay
    )

    ledger: PrivacyLedger | None = None
    if recipe.dp is not None:
        sample_rate = min(1.0, recipe.dp.expected_batch_size / n)
        planned = recipe.max_steps or math.ceil(recipe.epochs / sample_rate)
        ledger = PrivacyLedger(recipe.dp, n, planned)
    else:
        steps_per_epoch = math.ceil(plan.per_epoch / recipe.grad_accum)
        planned = recipe.max_steps or math.ceil(recipe.epochs * steps_per_epoch)

    out = request.out
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint(request, data_sha256)
    if request.restart:
        discard_checkpoint(out)
    progress = _Progress()
    state = load_checkpoint(out, fingerprint)
    if state is not None:
        model.load_state_dict(state["adapter"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        progress = _Progress(
            state["step"], state["tokens"], state["seconds"], [tuple(x) for x in state["losses"]]
        )
        if ledger is not None:
            ledger.restore(state["privacy"])
        warn(f"resuming from the checkpoint at step {progress.step} of {planned}")
    resumed_from = progress.step

    def example_loss(index: int) -> Any:
        return _token_loss_sum(model, padded([index])) / _labelled(examples[index])

    def save() -> None:
        trained = {
            k: v for k, v in model.state_dict().items() if "lora_" in k or "modules_to_save" in k
        }
        save_checkpoint(
            out,
            fingerprint,
            {
                "adapter": trained,
                "optimizer": optimizer.state_dict(),
                "step": progress.step,
                "tokens": progress.tokens,
                "seconds": progress.seconds,
                "losses": progress.losses,
                "privacy": ledger.state() if ledger is not None else 0,
            },
        )

    def plain_step(step: int) -> float:
        batches = [plan.micro_batch(step * recipe.grad_accum + j) for j in range(recipe.grad_accum)]
        target = sum(_labelled(examples[i]) for b in batches for i in b)
        value = 0.0
        for indices in batches:
            loss = _token_loss_sum(model, padded(indices)) / target
            loss.backward()
            value += float(loss.detach())
            progress.tokens += sum(len(examples[i].input_ids) for i in indices)
        return value

    def private_step(step: int, ledger: PrivacyLedger) -> float:
        sampled = poisson_sample(n, ledger.sample_rate, recipe.seed, step)
        losses = private_gradient(
            trainable,
            sampled,
            example_loss,
            max_grad_norm=ledger.settings.max_grad_norm,
            noise_multiplier=ledger.noise_multiplier,
            expected_batch_size=ledger.sample_rate * n,
            generator=torch.Generator().manual_seed(recipe.seed * 7_919 + step),
        )
        ledger.record_step()
        progress.tokens += sum(len(examples[i].input_ids) for i in sampled)
        return sum(losses) / len(losses) if losses else float("nan")

    stopped_at_budget = False
    bar = tqdm(
        total=planned,
        initial=progress.step,
        desc="finetune" + (" (DP)" if ledger else ""),
        unit="step",
        disable=not request.progress,
    )
    started = time.perf_counter()
    seconds_before = progress.seconds
    try:
        while progress.step < planned:
            step = progress.step
            if ledger is not None and ledger.epsilon_after_next_step() > ledger.settings.epsilon:
                stopped_at_budget = True
                warn(f"privacy budget reached at step {step}: ε = {ledger.epsilon():.3f}")
                break
            torch.manual_seed(recipe.seed * 1_000_003 + step)  # dropout stream of this step
            optimizer.zero_grad(set_to_none=True)
            loss_value = private_step(step, ledger) if ledger is not None else plain_step(step)
            optimizer.step()
            progress.step += 1
            progress.seconds = seconds_before + time.perf_counter() - started
            logged = progress.step % recipe.log_every == 0 or progress.step == planned
            if logged and not math.isnan(loss_value):
                progress.losses.append((progress.step, round(loss_value, 5)))
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.4f}")
            if progress.step % recipe.checkpoint_every == 0 or progress.step == planned:
                save()
            if on_step is not None:
                on_step(progress.step)
    except KeyboardInterrupt:
        save()  # Ctrl-C keeps every finished step; a hard kill keeps the last checkpoint
        warn(f"interrupted: checkpoint at step {progress.step}; rerun the command to resume")
        raise
    finally:
        bar.close()
    save()
    _save_adapter(model, out)

    losses_only = [loss for _, loss in progress.losses]
    report = TrainingReport(
        base=request.base,
        data=str(request.data.resolve()),
        data_sha256=data_sha256,
        dialogues=n,
        skipped_lines=loaded.problems(),
        recipe=recipe.model_dump(mode="json"),
        adapted_modules=lora.target_modules,
        rank=lora.rank,
        module_scores=selection.scores if selection else None,
        trainable_parameters=sum(p.numel() for p in trainable),
        total_parameters=sum(p.numel() for p in model.parameters()),
        steps=progress.step,
        planned_steps=planned,
        resumed_from_step=resumed_from,
        seconds=round(progress.seconds, 3),
        tokens=progress.tokens,
        tokens_per_second=round(progress.tokens / max(progress.seconds, 1e-9), 1),
        peak_memory_mb=peak_memory_mb(),
        first_loss=losses_only[0] if losses_only else None,
        final_loss=losses_only[-1] if losses_only else None,
        loss_curve=progress.losses,
        heldout_loss_before=loss_before,
        heldout_loss_after=mean_loss(model, held_out, pad_id, device) if held_out else None,
        dp=ledger.report(stopped_at_budget) if ledger is not None else None,
        device=str(device),
    )
    write_report(out, report)
    model.eval()
    return TrainingOutcome(out, report, model)


def _save_adapter(model: Any, out: Path) -> None:
    """``adapter_config.json`` + ``adapter_model.safetensors`` in ``out``, swapped in whole."""
    partial = out / "adapter.partial"
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    for item in partial.iterdir():
        item.replace(out / item.name)
    shutil.rmtree(partial, ignore_errors=True)
