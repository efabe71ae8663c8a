"""The optimizer steps of a fine-tuning run, checkpointed so that a killed run resumes.

A step is plain (accumulated micro-batches) or, with a DP recipe, private (Poisson-sampled
examples, clipped per-example gradients plus noise: :mod:`agent.finetune.dp`). The dropout and
noise random streams of step ``s`` are functions of (seed, s) only, so a resumed run takes
exactly the steps an uninterrupted one would have taken. A checkpoint is written every
``checkpoint_every`` steps, at the end, and on Ctrl-C.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.finetune.checkpoint import discard_checkpoint, load_checkpoint, save_checkpoint
from agent.finetune.dp import PrivacyLedger, poisson_sample, private_gradient
from agent.finetune.examples import BatchPlan, Examples, token_loss_sum
from agent.finetune.recipe import Recipe


@dataclass
class TrainProgress:
    """What a checkpoint carries besides the weights and the optimizer."""

    step: int = 0
    tokens: int = 0
    seconds: float = 0.0
    losses: list[tuple[int, float]] = field(default_factory=list)


def planned_steps(recipe: Recipe, plan: BatchPlan) -> tuple[int, PrivacyLedger | None]:
    """How many optimizer steps the recipe asks for, and the privacy ledger of a DP recipe
    (whose steps are Poisson samples of the expected batch size)."""
    records = plan.records
    if recipe.dp is not None:
        sample_rate = min(1.0, recipe.dp.expected_batch_size / records)
        planned = recipe.max_steps or math.ceil(recipe.epochs / sample_rate)
        return planned, PrivacyLedger(recipe.dp, records, planned)
    steps_per_epoch = math.ceil(plan.per_epoch / recipe.grad_accum)
    return recipe.max_steps or math.ceil(recipe.epochs * steps_per_epoch), None


class TrainingLoop:
    """The model, its optimizer and the run's progress, stepped until the plan (or the
    privacy budget) is done."""

    def __init__(
        self,
        model: Any,
        recipe: Recipe,
        examples: Examples,
        plan: BatchPlan,
        out: Path,
        fingerprint: dict[str, Any],
    ) -> None:
        import torch

        self.model, self.recipe, self.examples, self.plan = model, recipe, examples, plan
        self.out, self.fingerprint = out, fingerprint
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.trainable, lr=recipe.learning_rate, weight_decay=recipe.weight_decay
        )
        self.planned, self.ledger = planned_steps(recipe, plan)
        self.progress = TrainProgress()
        self.stopped_at_budget = False

    def resume(self, restart: bool, warn: Callable[[str], None]) -> int:
        """Load this run's checkpoint from the output folder (``restart`` discards it first);
        returns the step training resumes from (0 for a fresh run)."""
        self.out.mkdir(parents=True, exist_ok=True)
        if restart:
            discard_checkpoint(self.out)
        state = load_checkpoint(self.out, self.fingerprint)
        if state is None:
            return 0
        self.model.load_state_dict(state["adapter"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.progress = TrainProgress(
            state["step"], state["tokens"], state["seconds"], [tuple(x) for x in state["losses"]]
        )
        if self.ledger is not None:
            self.ledger.restore(state["privacy"])
        warn(f"resuming from the checkpoint at step {self.progress.step} of {self.planned}")
        return self.progress.step

    def save(self) -> None:
        """A checkpoint of the adapter's weights, the optimizer and the progress."""
        trained = {
            k: v
            for k, v in self.model.state_dict().items()
            if "lora_" in k or "modules_to_save" in k
        }
        progress = self.progress
        save_checkpoint(
            self.out,
            self.fingerprint,
            {
                "adapter": trained,
                "optimizer": self.optimizer.state_dict(),
                "step": progress.step,
                "tokens": progress.tokens,
                "seconds": progress.seconds,
                "losses": progress.losses,
                "privacy": self.ledger.state() if self.ledger is not None else 0,
            },
        )

    def run(
        self, *, warn: Callable[[str], None], on_step: Callable[[int], None] | None, bar: bool
    ) -> None:
        """Step until the plan is done or the privacy budget would be exceeded; Ctrl-C keeps
        every finished step (a hard kill keeps the last checkpoint)."""
        from tqdm import tqdm

        progress = self.progress
        label = "finetune" + (" (DP)" if self.ledger else "")
        shown = tqdm(
            total=self.planned, initial=progress.step, desc=label, unit="step", disable=not bar
        )
        started, seconds_before = time.perf_counter(), progress.seconds
        try:
            while progress.step < self.planned and not self._budget_reached(warn):
                loss_value = self._step(progress.step)
                progress.step += 1
                progress.seconds = seconds_before + time.perf_counter() - started
                self._log(loss_value)
                shown.update(1)
                shown.set_postfix(loss=f"{loss_value:.4f}")
                if (
                    progress.step % self.recipe.checkpoint_every == 0
                    or progress.step == self.planned
                ):
                    self.save()
                if on_step is not None:
                    on_step(progress.step)
        except KeyboardInterrupt:
            self.save()
            warn(f"interrupted: checkpoint at step {progress.step}; rerun the command to resume")
            raise
        finally:
            shown.close()
        self.save()

    def _budget_reached(self, warn: Callable[[str], None]) -> bool:
        ledger = self.ledger
        if ledger is None or ledger.epsilon_after_next_step() <= ledger.settings.epsilon:
            return False
        self.stopped_at_budget = True
        warn(f"privacy budget reached at step {self.progress.step}: ε = {ledger.epsilon():.3f}")
        return True

    def _step(self, step: int) -> float:
        import torch

        torch.manual_seed(self.recipe.seed * 1_000_003 + step)  # dropout stream of this step
        self.optimizer.zero_grad(set_to_none=True)
        value = self._private_step(step, self.ledger) if self.ledger else self._plain_step(step)
        self.optimizer.step()
        return value

    def _log(self, loss_value: float) -> None:
        step = self.progress.step
        logged = step % self.recipe.log_every == 0 or step == self.planned
        if logged and not math.isnan(loss_value):
            self.progress.losses.append((step, round(loss_value, 5)))

    def _plain_step(self, step: int) -> float:
        accumulate = self.recipe.grad_accum
        batches = [self.plan.micro_batch(step * accumulate + j) for j in range(accumulate)]
        target = sum(self.examples.labelled(b) for b in batches)
        value = 0.0
        for indices in batches:
            loss = token_loss_sum(self.model, self.examples.padded(indices)) / target
            loss.backward()
            value += float(loss.detach())
            self.progress.tokens += self.examples.tokens(indices)
        return value

    def _private_step(self, step: int, ledger: PrivacyLedger) -> float:
        import torch

        examples, n = self.examples, len(self.examples)

        def example_loss(index: int) -> Any:
            return token_loss_sum(self.model, examples.padded([index])) / examples.labelled([index])

        sampled = poisson_sample(n, ledger.sample_rate, self.recipe.seed, step)
        losses = private_gradient(
            self.trainable,
            sampled,
            example_loss,
            max_grad_norm=ledger.settings.max_grad_norm,
            noise_multiplier=ledger.noise_multiplier,
            expected_batch_size=ledger.sample_rate * n,
            generator=torch.Generator().manual_seed(self.recipe.seed * 7_919 + step),
        )
        ledger.record_step()
        self.progress.tokens += examples.tokens(sampled)
        return sum(losses) / len(losses) if losses else float("nan")
