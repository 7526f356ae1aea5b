"""LoRA adapters: checked against their model, kept encrypted in the store, and applied by
llama.cpp (`hearth adapters …`, `hearth ask --adapter`), on a tiny generated model and
adapter (random weights: what matters is that the adapter changes the answer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop.core.errors import ModelRefusedError
from desktop.inference.adapters import check_fits, inspect_adapter, write_lora_gguf
from tests.integration.test_cli import hearth
from tests.tinymodels import N_EMBD, N_FF, N_LAYER, write_tiny_llama_gguf

pytestmark = pytest.mark.slow


def tiny_adapter(path: Path, n_embd: int = N_EMBD, rank: int = 4) -> Path:
    rng = np.random.default_rng(7)
    shapes = {"attn_q": (n_embd, n_embd), "attn_v": (n_embd, n_embd), "ffn_up": (n_embd, N_FF)}
    pairs = {
        f"blk.{layer}.{weight}.weight": (
            rng.normal(0, 0.5, (rank, inputs)),
            rng.normal(0, 0.5, (outputs, rank)),
        )
        for layer in range(N_LAYER)
        for weight, (inputs, outputs) in shapes.items()
    }
    return write_lora_gguf(path, "llama", 8.0, pairs, name="sea-style")


def test_an_adapter_is_checked_against_its_model(tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    adapter = tiny_adapter(tmp_path / "sea.gguf")
    info = check_fits(adapter, model)
    assert (info.rank, info.architecture, info.name, len(info.weights)) == (
        4,
        "llama",
        "sea-style",
        6,
    )
    with pytest.raises(ModelRefusedError, match="is a model, not an adapter"):
        inspect_adapter(model)
    other = tiny_adapter(tmp_path / "other.gguf", n_embd=N_EMBD * 2)
    with pytest.raises(ModelRefusedError, match=r"made for another model: its blk\.0\.attn_q"):
        check_fits(other, model)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(adapter.read_bytes()[:40])
    with pytest.raises(ModelRefusedError, match="incomplete"):
        inspect_adapter(cut)


def test_hearth_keeps_an_adapter_encrypted_and_answers_with_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    adapter = tiny_adapter(tmp_path / "sea.gguf")
    env = {"HEARTH_PASSPHRASE": "a long passphrase"}

    def ask(*extra: str) -> str:
        result = hearth(
            data, "ask", "--no-save", "--model", str(model), "--temperature", "0",
            "--max-tokens", "12", *extra, "hello world", **env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    refused = hearth(data, "adapters", "import", str(model), "--base", str(model), **env)
    assert refused.returncode == 1 and "is a model, not an adapter" in refused.stderr
    imported = hearth(data, "adapters", "import", str(adapter), "--base", str(model), **env)
    assert imported.returncode == 0, imported.stderr
    assert "Imported sea-style: for tiny.gguf, scale 1, rank 4" in imported.stdout
    listed = hearth(data, "adapters", "list", **env)
    assert listed.stdout.startswith("sea-style: for tiny.gguf")

    plain, adapted = ask(), ask("--adapter", "sea-style")
    assert adapted != plain  # the adapter changes what the model says
    assert hearth(data, "adapters", "scale", "sea-style", "0", **env).returncode == 0
    assert ask("--adapter", "sea-style") == plain  # scale 0: the model as it was

    # The adapter's bytes are in no file under Hearth's folder (the store is encrypted),
    # and no decrypted copy is left behind.
    sample = adapter.read_bytes()[-4096:-2048]
    for path in data.rglob("*"):
        if path.is_file():
            assert sample not in path.read_bytes(), path
    assert not list(Path("/dev/shm").glob("hearth-adapter-*"))
    missing = hearth(data, "ask", "--adapter", "nope", "hi", **env)
    assert missing.returncode == 1 and "There is no adapter named “nope”" in missing.stderr
    removed = hearth(data, "adapters", "remove", "sea-style", **env)
    assert removed.returncode == 0 and "Removed" in removed.stdout
