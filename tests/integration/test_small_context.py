"""A model with a 128-token context (a legacy GPT-2 GGML file) answers "hi" on the real engine.

The default system prompt alone does not fit beside the chat template's markers, so it is
left out for that model, and `hearth ask` says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, with_system_prompt
from desktop.core.types import ChatMessage, GenerationParams
from desktop.inference.ctransformers_engine import CTransformersEngine
from desktop.inference.engine import CancelToken
from desktop.inference.runner import measure_context, run_generation
from tests import tinymodels

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ASK = [sys.executable, "-m", "desktop", "ask", "--seed", "1", "--no-save"]
HI = with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", "hi")])


def test_the_engine_answers_hi_without_the_system_prompt(
    gpt2_engine: CTransformersEngine,
) -> None:
    assert gpt2_engine.n_ctx == tinymodels.GPT2_N_CTX == 128
    assert gpt2_engine.count_prompt_tokens(HI) > gpt2_engine.n_ctx - 32  # it cannot fit
    plan = measure_context(gpt2_engine, HI, reserve=512)
    assert plan.system_prompt == "dropped" and plan.messages == HI[1:]
    assert plan.prompt_tokens <= plan.budget
    pieces: list[str] = []
    params = GenerationParams(max_tokens=8, seed=3)
    stats = run_generation(gpt2_engine, HI, params, CancelToken(), pieces.append)
    assert stats.generated_tokens > 0 and pieces


def _ask(data_dir: Path, model: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ASK, "--model", str(model), "--model-type", "gpt2", "--max-tokens", "8", *words],
        env={**os.environ, "HEARTH_DATA_DIR": str(data_dir)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_hearth_ask_says_the_system_prompt_was_left_out(
    tiny_gpt2_ggml: Path, tmp_path: Path
) -> None:
    result = _ask(tmp_path / "data", tiny_gpt2_ggml, "hi")
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "hearth: This model's context window (128 tokens) is too small for the whole prompt, "
        "so the system prompt is left out.\n"
    )
    long = _ask(tmp_path / "data", tiny_gpt2_ggml, "word " * 30)
    assert long.returncode == 1
    assert "it takes about" in long.stderr and "by itself" in long.stderr
    assert "even without the system prompt (about" in long.stderr
