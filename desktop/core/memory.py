"""How much memory a model needs at a given context, against what the machine has free.

Pure arithmetic: the numbers come from the model file's header and from the operating
system (read elsewhere). The estimate is the weights (the file size: they are mapped or
read whole) plus the KV cache, two f16 tensors per layer of `n_ctx × n_head_kv × head_dim`.
"""

from __future__ import annotations

from dataclasses import dataclass

F16_BYTES = 2


@dataclass(frozen=True)
class ModelShape:
    """The attention shape that sizes the KV cache."""

    n_layer: int
    n_head_kv: int
    head_dim: int


def kv_cache_bytes(shape: ModelShape, n_ctx: int, bytes_per_value: int = F16_BYTES) -> int:
    """Bytes of the keys and values for `n_ctx` tokens: 2 × layers × ctx × kv heads × head dim."""
    return 2 * shape.n_layer * n_ctx * shape.n_head_kv * shape.head_dim * bytes_per_value


@dataclass(frozen=True)
class MemoryEstimate:
    """What a model needs at `n_ctx` tokens, and whether it fits in `available_bytes`.

    `kv_cache_bytes` is None when the file does not say its attention shape; `fits` is None
    when the free memory is unknown.
    """

    n_ctx: int
    weights_bytes: int
    kv_cache_bytes: int | None
    available_bytes: int | None

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + (self.kv_cache_bytes or 0)

    @property
    def fits(self) -> bool | None:
        if self.available_bytes is None:
            return None
        return self.total_bytes <= self.available_bytes

    @property
    def warning(self) -> str | None:
        """A sentence for the user when the model will not fit, else None."""
        if self.fits is not False:
            return None
        assert self.available_bytes is not None
        return (
            f"This model needs about {format_bytes(self.total_bytes)} with a context of "
            f"{self.n_ctx:,} tokens, but only {format_bytes(self.available_bytes)} of memory is "
            "free: it may fail to load or slow the computer down. Choose a smaller context, "
            "close other programs, or use a smaller model."
        )


def estimate_memory(
    weights_bytes: int, shape: ModelShape | None, n_ctx: int, available_bytes: int | None
) -> MemoryEstimate:
    kv = kv_cache_bytes(shape, n_ctx) if shape is not None else None
    return MemoryEstimate(n_ctx, weights_bytes, kv, available_bytes)


def format_bytes(n: int) -> str:
    """`n` bytes for a person: "512 KB", "93.8 MB", "4.1 GB" (binary units, short names)."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
