"""`hearth models ...` and `hearth bench`: in process through the real parser, and as a person
runs them (a separate process)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import models as cli_models
from desktop.cli.main import build_parser
from desktop.core.errors import ModelLibraryError, ModelRefusedError
from desktop.paths import AppPaths
from tests import tinymodels
from tests.integration import badmodels

pytestmark = pytest.mark.slow


def run(paths: AppPaths, *argv: str) -> str:
    out = io.StringIO()
    assert cli_models.run(build_parser().parse_args(argv), out, paths) == 0
    return out.getvalue()


def hearth(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_list_import_default_delete(tmp_path: Path, embedded_model: Path) -> None:
    paths = AppPaths.resolve(tmp_path / "data")
    model = tinymodels.write_tiny_llama_gguf(tmp_path / "tiny.gguf", chat_template="{{ x }}")
    listed = json.loads(run(paths, "models", "list", "--json"))
    [builtin] = listed["models"]
    assert builtin["source"] == "embedded" and builtin["default"] and builtin["chat_template"]
    assert builtin["context_length"] == 8192 and builtin["quantization"] == "Q4_1"
    assert builtin["memory"]["n_ctx"] == 4096 and builtin["memory"]["kv_cache_bytes"] > 0

    assert 'Imported "tiny.gguf" (copied' in run(paths, "models", "import", str(model))
    assert "New conversations will use" in run(paths, "models", "default", "tiny")
    text = run(paths, "models", "list", "--ctx", "128")
    assert "* tiny.gguf  [imported]" in text and "  SmolLM2" in text
    assert "needs ~" in text and "at 128 tokens" in text
    assert run(paths, "models", "delete", "tiny.gguf") == 'Deleted "tiny.gguf".\n'
    with pytest.raises(ModelLibraryError, match="built-in model cannot be deleted"):
        run(paths, "models", "delete", "embedded")
    with pytest.raises(ModelRefusedError, match="is not a model at all"):
        run(paths, "models", "import", str(tinymodels.write_not_a_model(tmp_path / "a.gguf")))


def test_importing_a_crashing_file_leaves_the_command_running(tmp_path: Path) -> None:
    crash = badmodels.write_llama_cpp_crash(tmp_path / "heads.gguf")
    result = hearth(tmp_path / "data", "models", "import", str(crash))
    assert result.returncode == 1
    assert result.stderr.startswith(
        'hearth: The engine crashed (SIGABRT) while trying "heads.gguf"'
    )
    listed = hearth(tmp_path / "data", "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [m["name"] for m in json.loads(listed.stdout)["models"]][1:] == []


def test_bench_json_reports_the_figures_for_the_embedded_model(tmp_path: Path) -> None:
    result = hearth(tmp_path, "bench", "--runs", "1", "--tokens", "16", "--threads", "2", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert report["engine"] == "llama.cpp" and report["runs"] == 1 and report["threads"] == 2
    for key in ("load_s", "time_to_first_token_s", "prompt_tokens_per_s"):
        assert report[key] > 0, key
    assert report["generation_tokens_per_s"] > 0
    assert report["prompt_tokens"] > 20 and report["generated_tokens"] == 16


def test_bench_text_on_a_tiny_model(tmp_path: Path) -> None:
    paths = AppPaths.resolve(tmp_path / "data")
    with badmodels.tiny_constants(N_CTX=2048):  # room for the benchmark's prompt
        model = tinymodels.write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    argv = ("bench", "--model", str(model), "--runs", "2", "--tokens", "8", "--threads", "1")
    text = run(paths, *argv)
    lines = text.splitlines()
    assert lines[0].startswith("run 1: load") and lines[1].startswith("run 2: load")
    assert lines[2].startswith("tiny.gguf on llama.cpp, 1 threads, median of 2 runs: load")
