"""all-MiniLM-L6-v2 (a sentence-transformers BERT in safetensors) written as a GGUF file that
llama.cpp runs with `embedding=True`. Needs only `numpy` and `gguf`.

The safetensors file is read directly (an 8-byte header length, a JSON header, raw
little-endian tensors). Its tensors are renamed to llama.cpp's BERT names; the large
matrices are quantised to Q8_0 with the `gguf` package (norms, biases and the position and
token-type tables stay F32). The WordPiece vocabulary is written as llama.cpp's `bert`
tokenizer expects: continuation pieces lose their `##`, word-initial pieces gain `▁`,
bracketed specials stay as they are. Pooling is the mean over tokens, attention is not
causal, `[CLS]` starts and `[SEP]` ends each text.

    python -m desktop.inference.embedding_convert MODEL_DIR OUT.gguf [--f32]
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

NAME = "all-MiniLM-L6-v2"
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
_LAYER_PARTS = {
    "attention.self.query": "attn_q",
    "attention.self.key": "attn_k",
    "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output",
    "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up",
    "output.dense": "ffn_down",
    "output.LayerNorm": "layer_output_norm",
}
_TOP = {
    "embeddings.word_embeddings": "token_embd",
    "embeddings.position_embeddings": "position_embd",
    "embeddings.token_type_embeddings": "token_types",
    "embeddings.LayerNorm": "token_embd_norm",
}
_QUANTISED = ("token_embd.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
              "attn_output.weight", "ffn_up.weight", "ffn_down.weight")  # fmt: skip


def read_safetensors(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """Every tensor of a safetensors file, as numpy arrays (copied out of the file)."""
    with path.open("rb") as file:
        (size,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(size))
        data = file.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        array = np.frombuffer(data[start:end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = array.reshape(info["shape"]).copy()
    return tensors


def gguf_name(name: str) -> str | None:
    """llama.cpp's name for a BERT tensor; None for what it does not use (pooler, ids)."""
    stem, _, kind = name.rpartition(".")
    if stem in _TOP:
        return f"{_TOP[stem]}.{kind}"
    parts = stem.split(".", 3)
    if len(parts) == 4 and parts[:2] == ["encoder", "layer"] and parts[3] in _LAYER_PARTS:
        return f"blk.{parts[2]}.{_LAYER_PARTS[parts[3]]}.{kind}"
    return None


def wordpiece_tokens(vocab_path: Path) -> tuple[list[str], list[int]]:
    """The vocabulary in llama.cpp's `bert` spelling, and each token's type."""
    import gguf

    tokens, types = [], []
    for line in vocab_path.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            tokens.append(line)
            kind = gguf.TokenType.UNKNOWN if line == "[UNK]" else gguf.TokenType.CONTROL
        else:
            tokens.append(line[2:] if line.startswith("##") else "\u2581" + line)
            kind = gguf.TokenType.NORMAL
        types.append(int(kind))
    return tokens, types


def convert(model_dir: Path, out: Path, quantise: bool = True) -> None:
    """Writes `out` from the model folder (config.json, vocab.txt, model.safetensors)."""
    import gguf

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    vocab = {t: n for n, t in enumerate((model_dir / "vocab.txt").read_text().splitlines())}
    writer = gguf.GGUFWriter(str(out), "bert")
    writer.add_name(NAME)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    file_type = gguf.LlamaFileType.MOSTLY_Q8_0 if quantise else gguf.LlamaFileType.ALL_F32
    writer.add_file_type(file_type)
    tokens, types = wordpiece_tokens(model_dir / "vocab.txt")
    writer.add_tokenizer_model("bert")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_type_count(int(config["type_vocab_size"]))
    writer.add_bos_token_id(vocab["[CLS]"])
    writer.add_sep_token_id(vocab["[SEP]"])
    writer.add_unk_token_id(vocab["[UNK]"])
    writer.add_pad_token_id(vocab["[PAD]"])
    writer.add_mask_token_id(vocab["[MASK]"])
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    writer.add_add_eos_token(False)
    for name, tensor in read_safetensors(model_dir / "model.safetensors").items():
        target = gguf_name(name)
        if target is None:
            continue
        data = tensor.astype(np.float32)
        if quantise and target.endswith(_QUANTISED):
            packed = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(target, packed, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(target, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--f32", action="store_true", help="keep every tensor in F32")
    args = parser.parse_args(argv)
    convert(args.model_dir, args.out, quantise=not args.f32)
    return 0


if __name__ == "__main__":
    sys.exit(main())
