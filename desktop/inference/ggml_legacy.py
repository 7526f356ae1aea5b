"""Reading the header of legacy (pre-GGUF) GGML model files, as ctransformers loads them.

Three magics exist: 'ggml' (unversioned; gpt2, gptj, gpt_neox, mpt, starcoder, falcon,
dolly-v2, replit and the first llama files), 'ggmf' (llama, version 1) and 'ggjt' (llama,
versions 1-3, tensor data aligned to 32 bytes). An unversioned file does not say which
architecture wrote it, and the hyper-parameters that follow the magic have a different
layout for each architecture, so the architecture must come from the user or the file name.

After the vocabulary, every tensor is `n_dims, name_len, type` (int32), the dimensions, the
name and the data. Walking those headers (seeking over the data) finds truncated files and
counts parameters without reading any weights. Quantized blocks changed size in May 2023
(ggjt v3, GGML quantization version 2); tensors of older quantized files cannot be sized,
so the walk stops there and the file is reported as not fully checked.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from desktop.core.errors import ModelRefusedError

MAGICS = {0x67676D6C: "ggml", 0x67676D66: "ggmf", 0x67676A74: "ggjt"}
GGCC_MAGIC = 0x67676363  # ggllm.cpp's Falcon format
_QNT_VERSION_FACTOR = 1000

# Hyper-parameter layouts (field names; "f:" marks a float32), whether the vocabulary is
# preceded by its own count, whether each entry carries a float score, and which
# hyper-parameter is the context length.
_Layout = tuple[tuple[str, ...], bool, bool, str | None]
_GPT2: _Layout = (
    ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer", "ftype"),
    True,
    False,
    "n_ctx",
)
_NEOX: _Layout = (
    ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer", "n_rot", "par_res", "ftype"),
    False,
    False,
    "n_ctx",
)
_LLAMA_FIELDS = ("n_vocab", "n_embd", "n_mult", "n_head", "n_layer", "n_rot", "ftype")
LAYOUTS: dict[str, _Layout] = {
    "gpt2": _GPT2,
    "starcoder": _GPT2,
    "gptj": (
        ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer", "n_rot", "ftype"),
        True,
        False,
        "n_ctx",
    ),
    "gpt_neox": _NEOX,
    "dolly-v2": _NEOX,
    "mpt": (
        (
            "d_model",
            "max_seq_len",
            "n_heads",
            "n_layers",
            "n_vocab",
            "f:alibi_bias_max",
            "f:clip_qkv",
            "ftype",
        ),
        False,
        False,
        "max_seq_len",
    ),
    "replit": (
        ("n_embd", "max_seq_len", "n_head", "n_layer", "n_vocab", "ftype"),
        False,
        True,
        "max_seq_len",
    ),
    "llama": (_LLAMA_FIELDS, False, True, None),
}

#: Accepted spellings of each architecture (hints and file names), by ctransformers name.
_ALIASES = {
    "gpt2": ("gpt2", "gpt-2", "gpt_2"),
    "gptj": ("gptj", "gpt-j", "gpt_j", "gpt4all-j"),
    "gpt_neox": ("gpt_neox", "gpt-neox", "gptneox", "pythia", "stablelm", "redpajama"),
    "dolly-v2": ("dolly-v2", "dolly_v2", "dollyv2", "dolly"),
    "mpt": ("mpt",),
    "starcoder": ("starcoder", "gpt_bigcode", "gpt-bigcode", "bigcode", "santacoder", "starchat"),
    "falcon": ("falcon",),
    "replit": ("replit",),
    "llama": ("llama", "alpaca", "vicuna", "wizardlm", "orca_mini", "orca-mini"),
}
KNOWN_ARCHITECTURES = tuple(_ALIASES)


def normalize_architecture(name: str) -> str | None:
    """The ctransformers model type for a user-given name (e.g. "GPT-NeoX" -> "gpt_neox")."""
    wanted = name.strip().lower()
    for arch, aliases in _ALIASES.items():
        if wanted in aliases:
            return arch
    return None


def architecture_from_filename(filename: str) -> str | None:
    """Guess the architecture from a file name such as "ggml-gpt2-117M-q4_0.bin"."""
    lower = filename.lower()
    for arch, aliases in _ALIASES.items():
        for alias in aliases:
            # A three-letter name must stand alone: "mpt" is inside "prompt".
            pattern = (
                rf"(?<![a-z]){re.escape(alias)}(?![a-z])" if len(alias) <= 3 else re.escape(alias)
            )
            if re.search(pattern, lower):
                return arch
    return None


def resolve_architecture(filename: str, magic: str, hint: str | None) -> str:
    """The architecture of a legacy file: from the user's hint, the magic or the file name.

    Raises `ModelRefusedError` for an unknown hint, or an unversioned file whose name does
    not say what it is.
    """
    if hint:
        arch = normalize_architecture(hint)
        if arch is None:
            known = ", ".join(KNOWN_ARCHITECTURES)
            raise ModelRefusedError(
                f'Hearth does not know the model type "{hint}" given for "{filename}"; '
                f"choose one of: {known}."
            )
        if magic == "ggml" or arch in ("llama", "falcon"):
            return arch
    if magic != "ggml":
        return "llama"  # ggmf and ggjt were written by llama.cpp
    arch = architecture_from_filename(filename) or ""
    if not arch:
        known = ", ".join(KNOWN_ARCHITECTURES)
        raise ModelRefusedError(
            f'The file "{filename}" is an old GGML model that does not record which kind of '
            f"model it is; name its model type ({known}) and try again."
        )
    return arch


class LegacyTruncated(Exception):
    """The file ends before the data its headers announce."""

    def __init__(self, needed: int) -> None:
        super().__init__(needed)
        self.needed = needed


@dataclass
class LegacyHeader:
    magic: str
    version: int | None
    architecture: str
    hparams: dict[str, float] = field(default_factory=dict)
    vocab: list[bytes] = field(default_factory=list)
    tensors: dict[str, int] = field(default_factory=dict)  # name -> element count
    tensor_types: list[int] = field(default_factory=list)
    checked: bool = False  # every tensor was sized and lies within the file
    problem: str | None = None  # why the file cannot have the assumed layout

    @property
    def context_length(self) -> int | None:
        layout = LAYOUTS.get(self.architecture)
        key = layout[3] if layout else None
        return int(self.hparams[key]) if key and key in self.hparams else None

    @property
    def ftype(self) -> int | None:
        ftype = self.hparams.get("ftype")
        return None if ftype is None else int(ftype) % _QNT_VERSION_FACTOR

    def has_byte_tokens(self) -> bool:
        """Whether every byte has a token: `<0xNN>` pieces, or llama's ids 3..258."""
        entries = set(self.vocab)
        if all(f"<0x{i:02X}>".encode() in entries for i in range(256)):
            return True
        return self.architecture == "llama" and len(self.vocab) >= 259

    def sizes_known(self) -> bool:
        if self.magic == "ggjt":
            return self.version is not None and self.version >= 3
        if self.architecture == "llama":
            return False
        return int(self.hparams.get("ftype", 0)) // _QNT_VERSION_FACTOR >= 2


def read_legacy_header(f: BinaryIO, file_size: int, magic: str, architecture: str) -> LegacyHeader:
    """Read hyper-parameters, vocabulary and tensor headers of a legacy file at offset 0.

    Raises `LegacyTruncated` when the file ends early. Values that cannot belong to the
    assumed architecture's layout set `problem` (usually a wrong model type).
    """
    f.seek(4)
    version = _read(f, "<I", file_size)[0] if magic != "ggml" else None
    header = LegacyHeader(magic, version, architecture)
    layout = LAYOUTS.get(architecture)
    if layout is None:  # an architecture whose layout this reader does not know
        return header
    fields, counted, scored, _ = layout
    for name in fields:
        fmt = "<f" if name.startswith("f:") else "<i"
        value = _read(f, fmt, file_size)[0]
        header.hparams[name.removeprefix("f:")] = value
        if fmt == "<i" and not (0 <= value <= 50_000_000) and name != "ftype":
            header.problem = f"an impossible value {value} for {name}"
            return header
    n_vocab = int(header.hparams["n_vocab"])
    if counted and _read(f, "<i", file_size)[0] != n_vocab:
        header.problem = "the vocabulary size does not match"
        return header
    if not 0 < n_vocab <= 2_000_000:
        header.problem = f"an impossible vocabulary size {n_vocab}"
        return header
    scored = scored and not (architecture == "llama" and magic == "ggml")
    for _ in range(n_vocab):
        (length,) = _read(f, "<I", file_size)
        if length > 4096:
            header.problem = f"a vocabulary entry of {length} bytes"
            return header
        header.vocab.append(_read_bytes(f, length, file_size))
        if scored:
            _read(f, "<f", file_size)
    header.checked = _walk_tensors(f, file_size, header)
    return header


def _walk_tensors(f: BinaryIO, file_size: int, header: LegacyHeader) -> bool:
    while f.tell() < file_size:
        n_dims, name_len, type_id = _read(f, "<3i", file_size)
        if not (1 <= n_dims <= 4 and 0 < name_len <= 512):
            header.problem = "a damaged tensor header"
            return False
        dims = _read(f, f"<{n_dims}i", file_size)
        name = _read_bytes(f, name_len, file_size).decode("utf-8", errors="replace")
        if header.magic == "ggjt":
            f.seek(-f.tell() % 32, 1)
        n_elements = 1
        for d in dims:
            n_elements *= d
        if n_elements <= 0:
            header.problem = f"a tensor {name!r} with no elements"
            return False
        size = _tensor_bytes(type_id, n_elements, header)
        if size is None:
            return False  # old quantization: cannot size the rest, but nothing is wrong
        end = f.tell() + size
        if end > file_size:
            raise LegacyTruncated(end)
        header.tensors[name] = n_elements
        header.tensor_types.append(type_id)
        f.seek(end)
    return True


def _tensor_bytes(type_id: int, n_elements: int, header: LegacyHeader) -> int | None:
    if type_id not in (0, 1) and not header.sizes_known():
        return None
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType  # numpy: only for a legacy file

    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(type_id)]
    except (ValueError, KeyError):
        return None
    return n_elements * type_size // block


def _read(f: BinaryIO, fmt: str, file_size: int) -> tuple[int, ...]:
    data = _read_bytes(f, struct.calcsize(fmt), file_size)
    return struct.unpack(fmt, data)


def _read_bytes(f: BinaryIO, n: int, file_size: int) -> bytes:
    data = f.read(n)
    if len(data) < n:
        raise LegacyTruncated(f.tell() - len(data) + n)
    return data
