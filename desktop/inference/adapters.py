"""LoRA adapters as GGUF files: what one holds, whether it fits a model, and writing one.

A LoRA adapter (llama.cpp's format) is a GGUF file with `general.type = adapter`,
`adapter.type = lora`, the architecture of its base model, `adapter.lora.alpha`, and for each
weight it changes two tensors: `<weight>.lora_a` (rank × inputs) and `<weight>.lora_b`
(outputs × rank). It fits a model when that model has each of those weights with the same
number of inputs and outputs. `inspect_adapter` and `check_fits` read headers only (nothing
of the tensors' data); they raise `ModelRefusedError` with the reason in a sentence.

`write_lora_gguf` writes one (numpy arrays in peft's orientation), for the training's export
and for tests. Plain Python with `gguf` and numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.errors import ModelRefusedError
from desktop.inference.gguf_header import (
    GGUFHeader,
    HeaderInvalid,
    HeaderTruncated,
    TensorInfo,
    read_gguf_header,
)

SUFFIX_A = ".lora_a"
SUFFIX_B = ".lora_b"
#: Adapters larger than this are refused (a LoRA of a 70B model at rank 64 is ~1 GB).
MAX_BYTES = 2 * 2**30


@dataclass(frozen=True)
class AdapterInfo:
    """What an adapter file holds (from its header)."""

    architecture: str
    alpha: float | None
    rank: int
    weights: tuple[str, ...]  # the base model's weights it changes, e.g. "blk.0.attn_q.weight"
    size: int
    name: str | None  # `general.name`, when the file has one

    def summary(self) -> str:
        """ "LoRA rank 8 on 210 weights (llama), 4.9 MB"."""
        return (
            f"LoRA rank {self.rank} on {len(self.weights)} weights ({self.architecture}), "
            f"{self.size / 1e6:.1f} MB"
        )


def _header(path: Path, what: str) -> GGUFHeader:
    try:
        return read_gguf_header(path)
    except FileNotFoundError:
        raise ModelRefusedError(f"“{path.name}” was not found.") from None
    except IsADirectoryError:
        raise ModelRefusedError(f"“{path.name}” is a folder, not {what}.") from None
    except PermissionError:
        raise ModelRefusedError(f"“{path.name}” cannot be read (permission denied).") from None
    except (HeaderInvalid, ValueError) as error:
        raise ModelRefusedError(f"“{path.name}” is not {what} ({error}).") from None
    except HeaderTruncated:
        raise ModelRefusedError(f"“{path.name}” is incomplete (the file ends too early).") from None
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise ModelRefusedError(f"“{path.name}” cannot be read ({reason}).") from None


def inspect_adapter(path: Path) -> AdapterInfo:
    """What the adapter at `path` holds; `ModelRefusedError` if it is not a LoRA adapter."""
    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_BYTES:
        raise ModelRefusedError(f"“{path.name}” is too large for an adapter.")
    header = _header(path, "a GGUF adapter")
    meta = header.metadata
    kind = meta.get("general.type")
    if kind != "adapter":
        what = "a model" if kind in (None, "model") else f"of type {kind!r}"
        raise ModelRefusedError(
            f"“{path.name}” is {what}, not an adapter (its general.type is not “adapter”)."
        )
    if meta.get("adapter.type") != "lora":
        raise ModelRefusedError(
            f"“{path.name}” is a {meta.get('adapter.type')!r} adapter; Hearth uses LoRA adapters."
        )
    architecture = meta.get("general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise ModelRefusedError(f"“{path.name}” does not say which kind of model it adapts.")
    pairs = _pairs(header.tensors, path.name)
    ranks = {a.shape[1] for a, _ in pairs.values()}
    alpha = meta.get("adapter.lora.alpha")
    name = meta.get("general.name")
    return AdapterInfo(
        architecture=architecture,
        alpha=float(alpha) if isinstance(alpha, int | float) else None,
        rank=max(ranks),
        weights=tuple(sorted(pairs)),
        size=path.stat().st_size,
        name=name if isinstance(name, str) else None,
    )


def _pairs(tensors: list[TensorInfo], file_name: str) -> dict[str, tuple[TensorInfo, TensorInfo]]:
    """The base weight's name -> its (lora_a, lora_b), with their shapes checked."""
    halves: dict[str, dict[str, TensorInfo]] = {}
    for tensor in tensors:
        for suffix in (SUFFIX_A, SUFFIX_B):
            if tensor.name.endswith(suffix):
                halves.setdefault(tensor.name.removesuffix(suffix), {})[suffix] = tensor
    if not halves:
        raise ModelRefusedError(f"“{file_name}” holds no LoRA tensors.")
    pairs = {}
    for weight, found in halves.items():
        a, b = found.get(SUFFIX_A), found.get(SUFFIX_B)
        if a is None or b is None:
            raise ModelRefusedError(f"“{file_name}” is damaged: {weight} has only half a LoRA.")
        # GGUF lists dimensions innermost first: lora_a is [inputs, rank], lora_b [rank, outputs].
        if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[1] != b.shape[0]:
            raise ModelRefusedError(
                f"“{file_name}” is damaged: the two halves of {weight} do not fit together."
            )
        pairs[weight] = (a, b)
    return pairs


def check_fits(adapter: Path, model: Path) -> AdapterInfo:
    """The adapter's info if it fits the model at `model`; else `ModelRefusedError` saying
    why (another kind of model, or weights of other sizes: made for another model)."""
    info = inspect_adapter(adapter)
    header = _header(Path(model), "a GGUF model")
    architecture = header.metadata.get("general.architecture")
    if architecture != info.architecture:
        raise ModelRefusedError(
            f"“{Path(adapter).name}” adapts {info.architecture} models; "
            f"“{Path(model).name}” is a {architecture} model."
        )
    weights = {t.name: t for t in header.tensors}
    for weight, (a, b) in _pairs(read_gguf_header(Path(adapter)).tensors, "").items():
        base = weights.get(weight)
        if base is None:
            raise ModelRefusedError(
                f"“{Path(adapter).name}” was made for another model: "
                f"“{Path(model).name}” has no {weight}."
            )
        if len(base.shape) < 2 or (a.shape[0], b.shape[1]) != (base.shape[0], base.shape[1]):
            raise ModelRefusedError(
                f"“{Path(adapter).name}” was made for another model: its {weight} is "
                f"{a.shape[0]}×{b.shape[1]}, the model's is {base.shape[0]}×{base.shape[1]}."
            )
    return info


def write_lora_gguf(
    path: Path,
    architecture: str,
    alpha: float,
    pairs: Mapping[str, tuple[Any, Any]],
    name: str = "",
) -> Path:
    """Write a LoRA adapter: `pairs` maps a base weight's name to (A, B) in peft's
    orientation (A: rank × inputs, B: outputs × rank), as float32."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    if name:
        writer.add_name(name)
    for weight, (a, b) in pairs.items():
        writer.add_tensor(weight + SUFFIX_A, np.ascontiguousarray(a, dtype=np.float32))
        writer.add_tensor(weight + SUFFIX_B, np.ascontiguousarray(b, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(path)
