"""Training's memory: a batch goes through the model a few rows at a time and the vocabulary
projection is applied to the answer tokens only; the gradient and the loss must be the
batch's own, as the whole batch at once with transformers' own loss gives them.

The checks that need torch run in a child process: torch must never be imported into the
test run's own process (the window's tests assert that training leaves it out of Hearth's)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.teach import train_child
from desktop.teach.export import TARGETS
from desktop.teach.trainer import missing_component

ROOT = Path(__file__).resolve().parents[2]
needs_torch = pytest.mark.skipif(
    missing_component() is not None, reason="no training component here"
)


def in_child(check: str) -> None:
    """Run `check` (a function of this module) in a Python process of its own."""
    code = f"import tests.teach.test_micro_batches as m; m.{check}()"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


def tiny_lora_model():  # type: ignore[no-untyped-def]
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(3)
    config = LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    model = get_peft_model(
        LlamaForCausalLM(config),
        LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=list(TARGETS)),
    )
    for name, weight in model.named_parameters():  # LoRA B starts at zero: give it a value
        if "lora_B" in name:
            torch.nn.init.normal_(weight, std=0.1)
    return model


def rows(count: int) -> list[tuple[list[int], list[int]]]:
    """Examples of different lengths: a prompt (not learnt) then an answer (learnt)."""
    rng = random.Random(5)
    made = []
    for _ in range(count):
        prompt = [rng.randrange(3, 97) for _ in range(rng.randrange(4, 20))]
        answer = [rng.randrange(3, 97) for _ in range(rng.randrange(1, 8))]
        made.append((prompt + answer, [-100] * len(prompt) + answer))
    return made


def gradients(model) -> dict[str, object]:  # type: ignore[no-untyped-def]
    found = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    return found


@needs_torch
def test_a_batch_in_parts_has_the_whole_batchs_gradient_and_loss() -> None:
    in_child("check_gradient")


@needs_torch
def test_the_held_out_loss_is_the_mean_over_answer_tokens() -> None:
    in_child("check_held_out_loss")


def check_gradient() -> None:
    import torch

    model = tiny_lora_model()
    batch = rows(8)
    whole = [next(train_child._batches(batch, 8, 0))]  # all 8 rows at once, padded
    ids, labels, mask = whole[0]
    reference = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    reference.backward()
    expected = gradients(model)
    assert expected and all("lora_" in name for name in expected)

    longest = max(len(ids) for ids, _ in batch)
    for budget in (1, 2 * longest, 3 * longest, 8 * longest):  # a row at a time .. all at once
        loss = train_child._step(model, batch, budget, 0)
        got = gradients(model)
        assert loss == pytest.approx(float(reference.detach()), rel=1e-5), budget
        assert got.keys() == expected.keys()
        for name, grad in expected.items():
            assert torch.allclose(got[name], grad, rtol=1e-4, atol=1e-7), (budget, name)


def test_rows_are_grouped_within_the_token_budget() -> None:
    rows_ = [([1] * n, [-100] * n) for n in (3, 3, 4, 10, 30, 40)]
    parts = train_child._parts(rows_, 12)
    assert [[len(ids) for ids, _ in part] for part in parts] == [[3, 3, 4], [10], [30], [40]]
    assert all(len(p) * max(len(ids) for ids, _ in p) <= 12 or len(p) == 1 for p in parts)


def check_held_out_loss() -> None:
    import torch

    model = tiny_lora_model()
    held = rows(5)
    with torch.no_grad():
        ids, labels, mask = next(train_child._batches(held, 5, 0))
        expected = float(model(input_ids=ids, attention_mask=mask, labels=labels).loss)
    assert train_child._loss(model, held, 2, 0) == pytest.approx(expected, rel=1e-5)
