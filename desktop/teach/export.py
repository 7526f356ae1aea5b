"""A trained LoRA (peft's tensors, in transformers' layout) as a llama.cpp GGUF adapter.

transformers' llama layers name their weights `model.layers.N.self_attn.q_proj` …; llama.cpp
names them `blk.N.attn_q.weight` …. llama.cpp's conversion also reorders the rows of the
query and key weights (their rotary halves are interleaved per head), so an adapter's
`lora_b` for q and k must have its rows reordered the same way, or its effect is scrambled
(measured: logits' cosine 0.87 instead of ≥ 0.99). Plain Python with numpy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from desktop.inference.adapters import write_lora_gguf

#: transformers' module name -> llama.cpp's tensor name (per layer).
MODULES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
TARGETS = tuple(name.split(".")[-1] for name in MODULES)
_KEY = re.compile(r"layers\.(\d+)\.(self_attn\.\w+|mlp\.\w+)\.lora_([AB])(?:\.default)?\.weight$")


def permute_rows(rows: Any, n_head: int) -> Any:
    """llama.cpp's reordering of a query or key weight's output rows, for `n_head` heads."""
    shape = rows.shape
    return (
        rows.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)
    )


def gguf_pairs(state: Mapping[str, Any], n_head: int, n_head_kv: int) -> dict[str, tuple[Any, Any]]:
    """peft's LoRA tensors (name -> numpy array) as `write_lora_gguf`'s pairs."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in state.items():
        match = _KEY.search(key)
        if match is None or match.group(2) not in MODULES:
            continue
        layer, module, half = match.groups()
        found.setdefault(f"blk.{layer}.{MODULES[module]}.weight", {})[half] = value
    pairs = {}
    for weight, halves in sorted(found.items()):
        a, b = halves["A"], halves["B"]
        if ".attn_q." in weight:
            b = permute_rows(b, n_head)
        elif ".attn_k." in weight:
            b = permute_rows(b, n_head_kv)
        pairs[weight] = (a, b)
    return pairs


def write_adapter(
    path: Path,
    state: Mapping[str, Any],
    alpha: float,
    n_head: int,
    n_head_kv: int,
    name: str,
    architecture: str = "llama",
) -> Path:
    pairs = gguf_pairs(state, n_head, n_head_kv)
    if not pairs:
        raise ValueError("the trained state holds no LoRA tensors of a llama model")
    return write_lora_gguf(path, architecture, alpha, pairs, name=name)
