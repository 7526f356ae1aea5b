"""Tiny, random-weight model files written on the fly for tests (no downloads).

* `write_tiny_llama_gguf`: a GGUF v3 llama with a SentencePiece (`llama`) vocab that both
  llama.cpp and ctransformers load (variants: BPE tokenizer, tied embeddings, no byte tokens).
* `write_tiny_gpt2_ggml`: a legacy (unversioned) GGML gpt2 file in the layout of ggml's
  gpt-2 example, which ctransformers loads with `model_type="gpt2"`.
* `write_truncated_copy`, `write_not_a_model`: broken files for the inspector's refusals.

The weights are random (fixed numpy seed): output is gibberish, but every code path of an
engine runs in milliseconds.
"""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import numpy as np

N_CTX = 256
N_EMBD = 64
N_LAYER = 2
N_FF = 128
N_HEAD = 4
N_HEAD_KV = 4
N_ROT = 16
RMS_EPS = 1e-5

GGML_MAGIC = 0x67676D6C  # 'ggml', unversioned legacy format
GPT2_N_CTX = 128

# SentencePiece token types (gguf.TokenType): 1 normal, 2 unknown, 3 control, 6 byte.
_WORDS = (  # noqa: SIM905 (one string reads better than thirty)
    "▁the ▁a ▁hello ▁world ▁is ▁of ▁and ▁to ▁in ▁it ▁you ▁that ▁was ▁for ▁on ▁are ▁with "
    "▁as ▁I ▁be ▁at ▁this ▁have ▁from ▁or ▁one ▁had ▁by ▁word ▁not"
).split()


def _sp_vocab(byte_tokens: bool) -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"]
    types = [2, 3, 3]
    if byte_tokens:
        tokens += [f"<0x{i:02X}>" for i in range(256)]
        types += [6] * 256
    tokens += _WORDS
    types += [1] * len(_WORDS)
    scores = [0.0] * (len(tokens) - len(_WORDS)) + [-float(i) for i in range(len(_WORDS))]
    return tokens, scores, types


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (byte-level BPE)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def _bpe_vocab() -> tuple[list[str], list[int], list[str]]:
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [3, 3, 3]
    tokens += list(_bytes_to_unicode().values())
    types += [1] * 256
    merges = ["Ġ t", "h e", "Ġt he", "l l", "e ll", "h ell", "hell o", "Ġ w"]
    for merge in merges:
        tokens.append(merge.replace(" ", ""))
        types.append(1)
    return tokens, types, merges


def write_tiny_llama_gguf(
    path: Path,
    *,
    tokenizer: str = "llama",
    tied: bool = False,
    byte_tokens: bool = True,
    chat_template: str | None = None,
    name: str = "tiny-llama",
) -> Path:
    """Write a ~0.5 MB llama GGUF to `path` (a file path, or a directory to put it in)."""
    path = Path(path)
    if path.is_dir():
        suffix = f"{tokenizer}{'-tied' if tied else ''}{'' if byte_tokens else '-nobytes'}"
        path = path / f"tiny-llama-{suffix}.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(N_ROT)
    writer.add_layer_norm_rms_eps(RMS_EPS)
    writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    if tokenizer == "llama":
        tokens, scores, types = _sp_vocab(byte_tokens)
        writer.add_tokenizer_model("llama")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        writer.add_unk_token_id(0)
        writer.add_bos_token_id(1)
        writer.add_eos_token_id(2)
    elif tokenizer == "gpt2":
        tokens, types, merges = _bpe_vocab()
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_merges(merges)
        writer.add_bos_token_id(0)
        writer.add_eos_token_id(0)
    else:
        raise ValueError(f"unknown tokenizer {tokenizer!r}")
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    rng = np.random.default_rng(1234)

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    n_vocab = len(tokens)
    writer.add_tensor("token_embd.weight", weight(n_vocab, N_EMBD))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    if not tied:
        writer.add_tensor("output.weight", weight(n_vocab, N_EMBD))
    n_embd_kv = N_EMBD // N_HEAD * N_HEAD_KV
    for i in range(N_LAYER):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", weight(N_EMBD, N_EMBD))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weight(n_embd_kv, N_EMBD))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weight(n_embd_kv, N_EMBD))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weight(N_EMBD, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(N_FF, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(N_FF, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(N_EMBD, N_FF))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _gpt2_vocab() -> list[bytes]:
    """Every single byte (so any input tokenizes), a few words, and the end-of-text token."""
    words = [b" the", b" hello", b" world", b"ing", b" is", b" a", b"Hello", b"\n\n"]
    return [bytes([i]) for i in range(256)] + words + [b"<|endoftext|>"]


def write_tiny_gpt2_ggml(path: Path, *, n_ctx: int = GPT2_N_CTX) -> Path:
    """Write a legacy GGML gpt2 file (ggml gpt-2 example layout, f32) to `path`."""
    path = Path(path)
    if path.is_dir():
        path = path / "tiny-gpt2.bin"
    vocab = _gpt2_vocab()
    n_vocab = len(vocab)
    rng = np.random.default_rng(4321)
    e = N_EMBD

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    ones = np.ones(e, dtype=np.float32)
    zeros = np.zeros(e, dtype=np.float32)
    # numpy shapes are (ne[1], ne[0]): ggml lists the fastest-varying dimension first.
    tensors: list[tuple[str, np.ndarray]] = [
        ("model/ln_f/g", ones),
        ("model/ln_f/b", zeros),
        ("model/wte", weight(n_vocab, e)),
        ("model/wpe", weight(n_ctx, e)),
        ("model/lm_head", weight(n_vocab, e)),
    ]
    for i in range(N_LAYER):
        p = f"model/h{i}"
        tensors += [
            (f"{p}/ln_1/g", ones),
            (f"{p}/ln_1/b", zeros),
            (f"{p}/ln_2/g", ones),
            (f"{p}/ln_2/b", zeros),
            (f"{p}/attn/c_attn/w", weight(3 * e, e)),
            (f"{p}/attn/c_attn/b", np.zeros(3 * e, dtype=np.float32)),
            (f"{p}/attn/c_proj/w", weight(e, e)),
            (f"{p}/attn/c_proj/b", zeros),
            (f"{p}/mlp/c_fc/w", weight(4 * e, e)),
            (f"{p}/mlp/c_fc/b", np.zeros(4 * e, dtype=np.float32)),
            (f"{p}/mlp/c_proj/w", weight(e, 4 * e)),
            (f"{p}/mlp/c_proj/b", zeros),
        ]
    with open(path, "wb") as f:
        f.write(struct.pack("<I", GGML_MAGIC))
        f.write(struct.pack("<6i", n_vocab, n_ctx, e, N_HEAD, N_LAYER, 0))  # ftype 0: f32
        f.write(struct.pack("<i", n_vocab))
        for word in vocab:
            f.write(struct.pack("<I", len(word)) + word)
        for name, data in tensors:
            raw_name = name.encode()
            dims = list(reversed(data.shape))
            f.write(struct.pack("<3i", len(dims), len(raw_name), 0))  # ttype 0: f32
            f.write(struct.pack(f"<{len(dims)}i", *dims))
            f.write(raw_name)
            f.write(np.ascontiguousarray(data, dtype="<f4").tobytes())
    return path


def write_gguf_v1_copy(src: Path, dst: Path) -> Path:
    """Rewrite a GGUF v3 file as GGUF v1 (32-bit counts, lengths and dimensions).

    Only the value types the tiny models use are supported (v1 had no 64-bit scalars).
    """
    reader = gguf.GGUFReader(str(src))
    scalar = {
        gguf.GGUFValueType.UINT32: "<I",
        gguf.GGUFValueType.INT32: "<i",
        gguf.GGUFValueType.FLOAT32: "<f",
        gguf.GGUFValueType.BOOL: "<?",
    }

    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<I", len(raw)) + raw

    def value(kind: gguf.GGUFValueType, item: object) -> bytes:
        if kind == gguf.GGUFValueType.STRING:
            return string(str(item))
        return struct.pack(scalar[kind], item)

    out = bytearray(b"GGUF" + struct.pack("<I", 1))
    fields = [f for name, f in reader.fields.items() if not name.startswith("GGUF.")]
    out += struct.pack("<II", len(reader.tensors), len(fields))
    for f in fields:
        out += string(f.name) + struct.pack("<I", f.types[0])
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            items = f.contents()
            out += struct.pack("<II", f.types[-1], len(items))
            out += b"".join(value(f.types[-1], item) for item in items)
        else:
            out += value(f.types[0], f.contents())
    for t in reader.tensors:
        dims = [int(d) for d in t.shape]
        out += string(t.name) + struct.pack(f"<I{len(dims)}I", len(dims), *dims)
        out += struct.pack("<IQ", int(t.tensor_type), t.data_offset - reader.data_offset)
    out += bytes(-len(out) % 32)
    out += Path(src).read_bytes()[reader.data_offset :]
    Path(dst).write_bytes(out)
    return Path(dst)


def write_truncated_copy(src: Path, dst: Path, fraction: float) -> Path:
    """Copy the first `fraction` of `src` to `dst`, as an interrupted download would."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def write_not_a_model(path: Path, kind: str = "text") -> Path:
    """A file that is no model at all: plain text, a PNG header, or an HTML error page."""
    contents = {
        "text": b"These are my notes, not a language model.\n" * 20,
        "png": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "html": b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n",
    }
    Path(path).write_bytes(contents[kind])
    return Path(path)
