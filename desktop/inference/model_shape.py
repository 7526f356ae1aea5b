"""What the inspector does not keep but the library needs: attention shape and sampling keys.

Read from the GGUF header (the same fast reader the inspector uses) or a legacy GGML
header's hyper-parameters. Both feed pure arithmetic in `desktop.core`: the KV cache
estimate (`core.memory`) and the model's own sampling defaults (`core.settings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.memory import ModelShape
from desktop.core.settings import MODEL_SAMPLING_KEYS
from desktop.inference import ggml_legacy
from desktop.inference.gguf_header import read_gguf_header
from desktop.inference.inspect import ModelFileInfo


@dataclass(frozen=True)
class ModelDetails:
    shape: ModelShape | None
    sampling: dict[str, Any] = field(default_factory=dict)  # numeric general.sampling.* values


def read_details(info: ModelFileInfo) -> ModelDetails:
    """The details of an inspected file; empty when the header does not say."""
    try:
        if info.container == "gguf":
            return _gguf(info)
        return _legacy(info)
    except Exception:  # a header the inspector accepted should read; never fail a listing
        return ModelDetails(None)


def _int(value: Any) -> int | None:
    if isinstance(value, list) and value:  # per-layer arrays: the first layer is typical
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _gguf(info: ModelFileInfo) -> ModelDetails:
    md = read_gguf_header(info.path).metadata
    arch = info.architecture
    sampling = {k: md[k] for k in MODEL_SAMPLING_KEYS if _number(md.get(k))}
    n_layer = _int(md.get(f"{arch}.block_count"))
    n_head = _int(md.get(f"{arch}.attention.head_count"))
    n_head_kv = _int(md.get(f"{arch}.attention.head_count_kv")) or n_head
    n_embd = _int(md.get(f"{arch}.embedding_length"))
    head_dim = _int(md.get(f"{arch}.attention.key_length"))
    if head_dim is None and n_embd and n_head:
        head_dim = n_embd // n_head
    if not (n_layer and n_head_kv and head_dim):
        return ModelDetails(None, sampling)
    return ModelDetails(ModelShape(n_layer, n_head_kv, head_dim), sampling)


def _legacy(info: ModelFileInfo) -> ModelDetails:
    size = Path(info.path).stat().st_size
    with open(info.path, "rb") as f:
        magic = ggml_legacy.MAGICS.get(int.from_bytes(f.read(4), "little"), "ggml")
        f.seek(0)
        header = ggml_legacy.read_legacy_header(f, size, magic, info.architecture)
    hp = header.hparams
    n_layer = int(hp.get("n_layer", hp.get("n_layers", 0)))
    n_head = int(hp.get("n_head", hp.get("n_heads", 0)))
    n_embd = int(hp.get("n_embd", hp.get("d_model", 0)))
    if n_layer <= 0 or n_head <= 0 or n_embd <= 0:
        return ModelDetails(None)
    return ModelDetails(ModelShape(n_layer, n_head, n_embd // n_head))
