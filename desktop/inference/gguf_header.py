"""A fast, bounds-checked reader for the header of a GGUF file (versions 1 to 3).

`gguf.GGUFReader` builds a numpy view for every element of every metadata array: on the
embedded SmolLM2 file (49,152 tokens, 48,900 merges) that takes seconds, it refuses GGUF v1,
and on a truncated file it fails with a numpy reshape error. This reader walks the same
layout with `struct` over a memory map, decodes only the token list (and steps over the
other string arrays, such as the merges, by their lengths alone), never touches tensor data,
and reports exactly where a file ends too early. Type ids and sizes come from the `gguf`
package, imported only when a header is read (it imports numpy: a command whose models'
inspections are cached, see `inspection_cache`, never pays for it).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
#: Metadata arrays whose string contents are decoded; other arrays keep only their length.
DECODED_ARRAYS = frozenset({"tokenizer.ggml.tokens"})
_MAX_COUNT = 10_000_000

# GGUFValueType id -> struct format of a scalar.
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9
_U64, _U32 = struct.Struct("<Q"), struct.Struct("<I")


class HeaderTruncated(Exception):
    """The file ends inside its header."""


class HeaderInvalid(Exception):
    """The header holds impossible values (a damaged file)."""


@dataclass(frozen=True)
class SkippedArray:
    """A metadata array that was not decoded (only its element count is kept)."""

    length: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    type_id: int
    shape: tuple[int, ...]
    offset: int  # absolute position of the tensor's data in the file
    n_bytes: int | None  # None when the type is unknown to the gguf package

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def type_name(self) -> str:
        from gguf import GGMLQuantizationType

        try:
            return GGMLQuantizationType(self.type_id).name
        except ValueError:
            return f"type{self.type_id}"


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0

    @property
    def data_end(self) -> int:
        """The smallest file size that holds every tensor whose size is known."""
        ends = [t.offset + t.n_bytes for t in self.tensors if t.n_bytes is not None]
        return max(ends, default=self.data_offset)


class _Cursor:
    def __init__(self, buf: mmap.mmap | bytes, version: int) -> None:
        self.buf = buf
        self.pos = 8
        self.size = len(buf)
        self.wide = version >= 2  # v1 stores counts, lengths and dimensions as uint32

    def take(self, fmt: str) -> Any:
        n = struct.calcsize(fmt)
        if self.pos + n > self.size:
            raise HeaderTruncated
        value = struct.unpack_from("<" + fmt, self.buf, self.pos)[0]
        self.pos += n
        return value

    def count(self) -> int:
        n: int = self.take("Q" if self.wide else "I")
        if n > _MAX_COUNT:
            raise HeaderInvalid(f"an impossible count ({n})")
        return n

    def skip(self, n: int) -> None:
        if self.pos + n > self.size:
            raise HeaderTruncated
        self.pos += n

    def string(self, decode: bool = True) -> str:
        n: int = self.take("Q" if self.wide else "I")
        if self.pos + n > self.size:
            raise HeaderTruncated
        start = self.pos
        self.pos += n
        if not decode:
            return ""
        return bytes(self.buf[start : self.pos]).decode("utf-8", errors="replace")

    def strings(self, length: int, decode: bool) -> list[str]:
        """`length` strings in a row: decoded, or only stepped over (an empty list)."""
        buf, pos, size = self.buf, self.pos, self.size
        unpack, width = (_U64.unpack_from, 8) if self.wide else (_U32.unpack_from, 4)
        items: list[str] = []
        for _ in range(length):  # the hot loop of a header: kept free of method calls
            if pos + width > size:
                raise HeaderTruncated
            end = pos + width + unpack(buf, pos)[0]
            if end > size:
                raise HeaderTruncated
            if decode:
                items.append(buf[pos + width : end].decode("utf-8", errors="replace"))
            pos = end
        self.pos = pos
        return items

    def value(self, type_id: int, key: str) -> Any:
        if type_id in _SCALARS:
            return self.take(_SCALARS[type_id])
        if type_id == _STRING:
            return self.string()
        if type_id != _ARRAY:
            raise HeaderInvalid(f"an unknown value type {type_id} for {key!r}")
        item_type: int = self.take("I")
        length = self.count()
        if item_type in _SCALARS:
            item_size = struct.calcsize(_SCALARS[item_type])
            if length <= 64:
                return [self.take(_SCALARS[item_type]) for _ in range(length)]
            self.skip(item_size * length)
            return SkippedArray(length)
        if item_type == _STRING:
            decode = key in DECODED_ARRAYS or length <= 64
            items = self.strings(length, decode)
            return items if decode else SkippedArray(length)
        raise HeaderInvalid(f"an unsupported array type {item_type} for {key!r}")


def read_gguf_header(path: Path) -> GGUFHeader:
    """Parse metadata and tensor infos; raise `HeaderTruncated` or `HeaderInvalid`."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[:4] != GGUF_MAGIC:
            raise HeaderInvalid("no GGUF magic")
        if len(buf) < 8:
            raise HeaderTruncated
        version = struct.unpack_from("<I", buf, 4)[0]
        if version not in (1, 2, 3):
            raise HeaderInvalid(f"GGUF version {version}")
        cur = _Cursor(buf, version)
        header = GGUFHeader(version)
        n_tensors = cur.count()
        n_kv = cur.count()
        for _ in range(n_kv):
            key = cur.string()
            header.metadata[key] = cur.value(cur.take("I"), key)
        raw: list[tuple[str, int, tuple[int, ...], int]] = []
        for _ in range(n_tensors):
            name = cur.string()
            n_dims: int = cur.take("I")
            if n_dims > 8:
                raise HeaderInvalid(f"tensor {name!r} with {n_dims} dimensions")
            shape = tuple(cur.take("Q" if cur.wide else "I") for _ in range(n_dims))
            type_id: int = cur.take("I")
            raw.append((name, type_id, shape, cur.take("Q")))
        alignment = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise HeaderInvalid(f"an invalid alignment ({alignment!r})")
        header.data_offset = -(-cur.pos // alignment) * alignment
    for name, type_id, shape, rel in raw:
        info = TensorInfo(name, type_id, shape, header.data_offset + rel, None)
        header.tensors.append(_with_size(info))
    return header


def _with_size(info: TensorInfo) -> TensorInfo:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(info.type_id)]
    except (ValueError, KeyError):
        return info
    n_bytes = info.n_elements * type_size // block
    return TensorInfo(info.name, info.type_id, info.shape, info.offset, n_bytes)
