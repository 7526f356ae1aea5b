"""Reference sentence embeddings of all-MiniLM-L6-v2, computed from its original F32 weights
by a plain numpy BERT (own WordPiece tokenizer, mean pooling, L2 normalisation), with no
llama.cpp and no GGUF involved. Run once; `tests/data/minilm_reference.json` keeps the result
and the tests compare the converted GGUF run by llama.cpp against it (cosine >= 0.999).

    .venv/bin/python packaging/reference_embeddings.py [MODEL_DIR]
"""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop.inference.embedding_convert import read_safetensors  # noqa: E402
from desktop.inference.embedding_model import source_folder  # noqa: E402

OUT = ROOT / "tests" / "data" / "minilm_reference.json"
SENTENCES = [
    "The cat sits on the mat.",
    "How do I reset my password?",
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
    "Unbelievably, the 3 committees re-scheduled their meeting to Friday!",
    "A database index makes lookups faster at the cost of slower writes.",
]
Array = np.ndarray[Any, Any]


def basic_tokens(text: str) -> list[str]:
    """BERT's basic tokenizer for uncased models: lower case, no accents, punctuation apart."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    words: list[str] = []
    for chunk in text.split():
        current = ""
        for char in chunk:
            if unicodedata.category(char).startswith("P") or char in "$+<=>^`|~":
                words += [current, char] if current else [char]
                current = ""
            else:
                current += char
        if current:
            words.append(current)
    return words


def wordpiece(text: str, vocab: dict[str, int]) -> list[int]:
    ids = [vocab["[CLS]"]]
    for word in basic_tokens(text):
        start, pieces = 0, []
        while start < len(word):
            end = len(word)
            while end > start:
                piece = ("##" if start else "") + word[start:end]
                if piece in vocab:
                    pieces.append(vocab[piece])
                    break
                end -= 1
            if end == start:
                pieces = [vocab["[UNK]"]]
                break
            start = end
        ids += pieces
    return [*ids, vocab["[SEP]"]]


def layer_norm(x: Array, w: Array, b: Array, eps: float = 1e-12) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def embed(ids: list[int], t: dict[str, Array], layers: int = 6, heads: int = 12) -> Array:
    def dense(x: Array, name: str) -> Array:
        return x @ t[name + ".weight"].T + t[name + ".bias"]

    n = len(ids)
    x = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][:n]
        + t["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
    erf = np.vectorize(math.erf)
    for i in range(layers):
        p = f"encoder.layer.{i}."
        q, k, v = (dense(x, p + f"attention.self.{m}") for m in ("query", "key", "value"))
        size = q.shape[1] // heads
        split = [a.reshape(n, heads, size).transpose(1, 0, 2) for a in (q, k, v)]
        scores = split[0] @ split[1].transpose(0, 2, 1) / math.sqrt(size)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ split[2]).transpose(1, 0, 2).reshape(n, -1)
        attn = dense(context, p + "attention.output.dense")
        x = layer_norm(
            x + attn,
            t[p + "attention.output.LayerNorm.weight"],
            t[p + "attention.output.LayerNorm.bias"],
        )
        h = dense(x, p + "intermediate.dense")
        h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
        x = layer_norm(
            x + dense(h, p + "output.dense"),
            t[p + "output.LayerNorm.weight"],
            t[p + "output.LayerNorm.bias"],
        )
    pooled = x.mean(0)
    result: Array = pooled / np.linalg.norm(pooled)
    return result


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else source_folder()
    vocab = {w: n for n, w in enumerate((folder / "vocab.txt").read_text().splitlines())}
    tensors = {
        k: v.astype(np.float64) for k, v in read_safetensors(folder / "model.safetensors").items()
    }
    cases = []
    for sentence in SENTENCES:
        ids = wordpiece(sentence, vocab)
        vector = embed(ids, tensors)
        cases.append({"text": sentence, "ids": ids, "vector": [round(float(x), 7) for x in vector]})
    OUT.write_text(json.dumps({"model": "all-MiniLM-L6-v2", "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} reference embeddings to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
