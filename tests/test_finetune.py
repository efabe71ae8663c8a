"""LoRA and DP-LoRA training on the tiny random Qwen2 (tests/llm_fixtures.py): memorisation,
the saved adapter reloading to identical outputs through the ``hf:`` backend, resume after an
interrupted run, and the privacy spent by a DP run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.errors import SettingsError
from agent.finetune.dp import PrivacyLedger, poisson_sample
from agent.finetune.recipe import (
    RECIPES_DIR,
    DpSettings,
    LoraSettings,
    Recipe,
    load_recipe,
    with_dp,
)
from agent.finetune.train import TrainingOutcome, TrainRequest, train
from agent.llm.base import ChatRequest, Message
from tests.llm_fixtures import build_tiny_model

FIXTURES = Path(__file__).parent / "fixtures" / "finetune"
DIALOGUES = FIXTURES / "dialogues.jsonl"
PROMPT = (
    Message(role="system", content="You take a patient's history. Reply with one JSON object."),
    Message(role="user", content="Patient: 30 years, female. I have a cough."),
)

# The tiny model's tied output embeddings are random with std 0.02: its logits cannot move far
# from uniform unless the output layer is trained too, so the memorisation recipe saves lm_head
# with the adapter (modules_to_save) besides the LoRA layers.
MEMORISE = Recipe(
    name="memorise",
    lora=LoraSettings(
        rank=8, alpha=16, dropout=0.0, target_modules=["all-linear"], modules_to_save=["lm_head"]
    ),
    learning_rate=3e-2,
    max_steps=25,
    batch_size=3,
    checkpoint_every=25,
)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


def _train(
    base: Path, out: Path, recipe: Recipe, notes: list[str] | None = None, **kwargs: Any
) -> TrainingOutcome:
    request = TrainRequest(base=str(base), data=DIALOGUES, out=out, recipe=recipe, progress=False)
    return train(request, warn=(notes if notes is not None else []).append, **kwargs)


@pytest.fixture(scope="module")
def memorised(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainingOutcome:
    return _train(tiny_model_dir, tmp_path_factory.mktemp("adapter"), MEMORISE)


def _lora_state(out: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return dict(load_file(str(out / "adapter_model.safetensors")))


def test_training_memorises_a_small_dialogue_file(memorised: TrainingOutcome) -> None:
    report = memorised.report
    assert report.steps == 25 and report.dialogues == 3
    assert report.first_loss is not None and report.final_loss is not None
    assert report.final_loss < 0.35 * report.first_loss
    assert report.tokens > 0 and report.tokens_per_second > 0 and report.peak_memory_mb > 0
    lora_b = [p for n, p in memorised.model.named_parameters() if "lora_B" in n]
    assert lora_b and any(float(p.detach().abs().sum()) > 0 for p in lora_b)  # LoRA trained


def test_the_report_and_loss_curve_are_written(memorised: TrainingOutcome) -> None:
    from agent.finetune.report import TrainingReport

    out = memorised.out
    saved = TrainingReport.model_validate_json((out / "training_report.json").read_text())
    assert saved.data_sha256 == memorised.report.data_sha256 and len(saved.data_sha256) == 64
    assert saved.recipe["name"] == "memorise" and len(saved.loss_curve) == 25
    assert (out / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_the_saved_adapter_reloads_to_identical_outputs(
    memorised: TrainingOutcome, tiny_model_dir: Path
) -> None:
    import torch

    from agent.llm.hf_chat import HFChat

    out = memorised.out
    tuned = HFChat(str(tiny_model_dir), str(out))
    base = HFChat(str(tiny_model_dir))
    prompt = tuned.tokenizer.apply_chat_template(
        [m.model_dump() for m in PROMPT], tokenize=False, add_generation_prompt=True
    )
    ids = tuned.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        trained_logits = memorised.model(input_ids=ids).logits
        reloaded_logits = tuned.model(input_ids=ids).logits
        base_logits = base.model(input_ids=ids).logits
    assert torch.equal(trained_logits, reloaded_logits)
    assert not torch.allclose(trained_logits, base_logits)
    request = ChatRequest(messages=PROMPT, max_tokens=24)
    first = tuned.complete(request)
    assert first == HFChat(str(tiny_model_dir), str(out)).complete(request)
    assert '"action"' in first  # it learned the NextStep JSON it was taught


def test_the_adapter_plugs_into_every_role(
    memorised: TrainingOutcome, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from agent.llm.factory import role_clients
    from agent.settings import load_settings

    backend = f"hf:{tiny_model_dir}+{memorised.out}"
    settings = load_settings(
        doctor=backend, diagnoser=backend, patient=backend, judge=backend, llm_cache_dir=tmp_path
    )
    clients = role_clients(settings, cache=False)
    assert len(clients.all()) == 1  # one model, shared by the four roles
    for client in (clients.doctor, clients.diagnoser, clients.patient, clients.judge):
        assert client is not None and client.name == backend


def test_resume_after_an_interrupted_run_continues_from_the_checkpoint(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    recipe = Recipe(
        lora=LoraSettings(rank=4, dropout=0.1, target_modules=["q_proj", "v_proj"]),
        learning_rate=1e-2,
        max_steps=6,
        batch_size=2,
        grad_accum=2,
        checkpoint_every=2,
    )
    whole = _train(tiny_model_dir, tmp_path / "whole", recipe).report

    def crash_at_step_3(step: int) -> None:
        if step == 3:
            raise RuntimeError("killed")  # no chance to save: as a hard kill

    with pytest.raises(RuntimeError):
        _train(tiny_model_dir, tmp_path / "cut", recipe, on_step=crash_at_step_3)
    assert (tmp_path / "cut" / "checkpoint" / "state.pt").is_file()
    assert not (tmp_path / "cut" / "adapter_model.safetensors").exists()

    def ctrl_c_at_step_4(step: int) -> None:
        if step == 4:
            raise KeyboardInterrupt

    notes: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_model_dir, tmp_path / "cut", recipe, notes, on_step=ctrl_c_at_step_4)
    assert any("resuming from the checkpoint at step 2" in note for note in notes)
    resumed = _train(tiny_model_dir, tmp_path / "cut", recipe).report
    assert resumed.resumed_from_step == 4 and resumed.steps == 6  # Ctrl-C saved step 4
    assert resumed.loss_curve == whole.loss_curve  # the same steps as without the kills
    import torch

    for name, tensor in _lora_state(tmp_path / "whole").items():
        assert torch.equal(tensor, _lora_state(tmp_path / "cut")[name]), name
    changed = recipe.model_copy(update={"learning_rate": 5e-3})
    with pytest.raises(SettingsError, match="different training run"):
        _train(tiny_model_dir, tmp_path / "cut", changed)


def test_a_dp_run_reports_the_epsilon_it_spent(tiny_model_dir: Path, tmp_path: Path) -> None:
    recipe = with_dp(
        Recipe(lora=LoraSettings(rank=4, dropout=0.0), learning_rate=1e-2, epochs=2),
        2.0,
        1e-3,
    )
    report = _train(tiny_model_dir, tmp_path / "dp", recipe).report
    dp = report.dp
    assert dp is not None and recipe.dp is not None
    assert 0 < dp.epsilon_spent <= 2.0 and dp.epsilon_spent > 1.5  # calibrated to the budget
    assert dp.delta == 1e-3 and dp.noise_multiplier > 0 and dp.steps == dp.planned_steps
    assert dp.sample_rate == pytest.approx(min(1.0, recipe.dp.expected_batch_size / 3))


def test_the_privacy_ledger_stops_at_the_budget() -> None:
    ledger = PrivacyLedger(DpSettings(epsilon=1.0, delta=1e-5, expected_batch_size=10), 1000, 50)
    steps = 0
    while ledger.epsilon_after_next_step() <= 1.0:
        ledger.record_step()
        steps += 1
    assert 45 <= steps <= 60 and ledger.epsilon() <= 1.0
    restored = PrivacyLedger(ledger.settings, 1000, 50)
    restored.restore(ledger.state())
    assert restored.epsilon() == ledger.epsilon()
    sample = poisson_sample(1000, 0.01, seed=0, step=3)
    assert sample == poisson_sample(1000, 0.01, seed=0, step=3) and 0 < len(sample) < 40


def test_committed_recipes_load_and_bad_ones_are_named(tmp_path: Path) -> None:
    names = {load_recipe(path).name for path in RECIPES_DIR.glob("*.yaml")}
    assert {"lora-cpu-small", "dp-lora"} <= names
    bad = tmp_path / "bad.yaml"
    bad.write_text("lora:\n  rank: 0\nlearning_rate: fast\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"lora\.rank"):
        load_recipe(bad)
    with pytest.raises(SettingsError, match="both --dp-epsilon"):
        with_dp(Recipe(), 1.0, None)


def test_cli_finetune_with_dp_prints_epsilon(tiny_model_dir: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: cli\nlora: {rank: 2, dropout: 0.0}\nmax_steps: 2\n", encoding="utf-8")
    args = [
        "finetune",
        "--base",
        str(tiny_model_dir),
        "--data",
        str(DIALOGUES),
        "--out",
        str(tmp_path / "a"),
        "--config",
        str(recipe),
        "--dp-epsilon",
        "4",
        "--dp-delta",
        "1e-3",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ε = " in result.output and (tmp_path / "a" / "adapter_config.json").is_file()


def test_module_selection_keeps_plain_loras_parameter_budget(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    lora = LoraSettings(rank=2, alpha=4, dropout=0.0, target_modules=["all-linear"])
    plain = _train(tiny_model_dir, tmp_path / "plain", Recipe(lora=lora, max_steps=1)).report
    chosen = lora.model_copy(update={"select_fraction": 0.5})
    picked = _train(tiny_model_dir, tmp_path / "pick", Recipe(lora=chosen, max_steps=1)).report
    assert picked.module_scores is not None and len(picked.module_scores) == 7
    assert len(picked.adapted_modules) == 4 and picked.rank > 2  # 4 of 7, at a higher rank
    best = sorted(picked.module_scores, key=picked.module_scores.__getitem__)[-4:]
    assert sorted(best) == picked.adapted_modules
    assert abs(picked.trainable_parameters - plain.trainable_parameters) <= 0.35 * (
        plain.trainable_parameters
    )
    with pytest.raises(SettingsError, match="not with dp"):
        with_dp(Recipe(lora=chosen), 1.0, 1e-5)


def test_a_kill_between_the_renames_of_a_save_keeps_the_previous_checkpoint(
    tmp_path: Path,
) -> None:
    from agent.finetune.checkpoint import load_checkpoint, save_checkpoint

    run = {"format": 1, "recipe": "r"}
    save_checkpoint(tmp_path, run, {"step": 1})
    save_checkpoint(tmp_path, run, {"step": 2})
    assert load_checkpoint(tmp_path, run) == {"step": 2}
    (tmp_path / "checkpoint").rename(tmp_path / "checkpoint.old")  # killed mid-swap
    (tmp_path / "checkpoint.partial").mkdir()  # and a half-written next one
    assert load_checkpoint(tmp_path, run) == {"step": 2}
    save_checkpoint(tmp_path, run, {"step": 3})
    assert load_checkpoint(tmp_path, run) == {"step": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
