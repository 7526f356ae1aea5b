"""The trial load in a child process: good files pass; crashes and hangs become reasons."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from desktop.core.errors import ModelRefusedError
from desktop.inference.probe import ModelProber
from tests import tinymodels
from tests.integration import badmodels

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prober() -> ModelProber:
    return ModelProber(timeout_s=60)


def test_good_gguf_loads_and_generates(tmp_path: Path, prober: ModelProber) -> None:
    path = tinymodels.write_tiny_llama_gguf(tmp_path)
    result = prober.probe(path)
    assert result.ok, result.reason
    assert result.engine == "llama.cpp"
    assert result.generated_tokens >= 1
    assert result.load_time_s is not None and result.load_time_s < result.elapsed_s


def test_good_legacy_ggml_runs_on_ctransformers(tmp_path: Path, prober: ModelProber) -> None:
    result = prober.probe(tinymodels.write_tiny_gpt2_ggml(tmp_path), model_type_hint="gpt2")
    assert result.ok, result.reason
    assert result.engine == "ctransformers"


def test_llama_cpp_abort_is_a_refusal(tmp_path: Path, prober: ModelProber) -> None:
    path = badmodels.write_llama_cpp_crash(tmp_path / "heads.gguf")
    result = prober.probe(path)
    assert not result.ok
    assert result.reason is not None
    assert 'crashed (SIGABRT) while trying "heads.gguf"' in result.reason
    assert "GGML_ASSERT" in result.reason
    assert "/" not in result.reason.split("GGML_ASSERT")[1]  # no source paths for the user
    with pytest.raises(ModelRefusedError, match="SIGABRT"):
        prober.check(path)


@pytest.mark.parametrize(("n_head", "signal_name"), [(0, "SIGFPE"), (3, "SIGABRT")])
def test_ctransformers_crash_is_a_refusal(
    tmp_path: Path, prober: ModelProber, n_head: int, signal_name: str
) -> None:
    path = badmodels.write_ctransformers_crash(tmp_path / f"gpt2-{n_head}.bin", n_head)
    result = prober.probe(path, model_type_hint="gpt2")
    assert not result.ok
    assert f"crashed ({signal_name})" in (result.reason or "")


def test_engine_error_reason_is_passed_on(tmp_path: Path, prober: ModelProber) -> None:
    result = prober.probe(badmodels.write_unknown_architecture(tmp_path / "odd.gguf"))
    assert not result.ok
    assert result.reason is not None
    assert "llama.cpp could not load odd.gguf" in result.reason
    assert "nosucharch" in result.reason


def test_hang_times_out_and_the_child_is_killed(tmp_path: Path) -> None:
    path = tinymodels.write_tiny_llama_gguf(tmp_path)
    prober = ModelProber(timeout_s=1.0, command=badmodels.HANG_COMMAND)
    start = time.monotonic()
    result = prober.probe(path)
    assert time.monotonic() - start < 10
    assert not result.ok
    assert "did not finish within 1 seconds" in (result.reason or "")


def test_a_child_that_dies_without_a_word(tmp_path: Path) -> None:
    path = tinymodels.write_tiny_llama_gguf(tmp_path)
    command = [badmodels.HANG_COMMAND[0], "-c", "import sys; sys.exit(7)"]
    result = ModelProber(timeout_s=30, command=command).probe(path)
    assert not result.ok
    assert "stopped unexpectedly (exit code 7)" in (result.reason or "")
