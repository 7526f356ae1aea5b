"""Look inside a model file before any engine touches it, and decide which engine may run it.

Engines crash the whole process on some files (ctransformers on a BPE vocabulary, anything
on a truncated file), so every file is inspected first: the magic bytes say GGUF or legacy
GGML, the header gives architecture, tokenizer and tensors, and tensor offsets and sizes
prove the file is complete. Nothing here reads tensor data, so a 100 MB file takes
milliseconds. Every refusal is a `ModelRefusedError` whose message is written for a person.
"""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.errors import ModelRefusedError
from desktop.inference import ggml_legacy
from desktop.inference.gguf_header import (
    GGUFHeader,
    HeaderInvalid,
    HeaderTruncated,
    TensorInfo,
    read_gguf_header,
)

ENGINE_LLAMA_CPP = "llama.cpp"
ENGINE_CTRANSFORMERS = "ctransformers"
#: GGUF architectures the llama.cpp bundled in ctransformers 0.2.27 can build.
CTRANSFORMERS_GGUF_ARCHITECTURES = ("llama", "falcon")
_BYTE_TOKENS = frozenset(f"<0x{i:02X}>" for i in range(256))


@dataclass(frozen=True)
class ModelFileInfo:
    """What a model file is, and which engine should run it."""

    path: Path
    container: str  # "gguf" or "ggml" (legacy ggml/ggmf/ggjt)
    format_version: int | None  # GGUF version, or ggmf/ggjt version
    architecture: str  # e.g. "llama", "gpt2"; "" if unknown
    name: str  # general.name or the file stem
    tokenizer_model: str | None  # "llama" (SentencePiece), "gpt2" (BPE), ...
    has_byte_tokens: bool  # all 256 <0xNN> tokens present
    tied_embeddings: bool  # no separate output (lm head) tensor
    context_length: int | None
    chat_template: str | None
    bos_token: str  # token text, "" if unknown
    eos_token: str
    parameter_count: int | None
    quantization: str | None  # e.g. "Q4_1"
    file_size: int
    engine: str  # "llama.cpp" or "ctransformers"
    ctransformers_model_type: str | None  # model_type for ctransformers, if it may take it
    ctransformers_refusal: str | None  # why ctransformers must not get this file
    #: GGUF: the leading bytes of the file everything above was read from (0: not known).
    header_bytes: int = 0


def inspect_model(path: Path, model_type_hint: str | None = None) -> ModelFileInfo:
    """Inspect `path`; raise `ModelRefusedError` if no engine can run it safely.

    `model_type_hint` names the architecture of a legacy GGML file (which does not record
    it); it is ignored for GGUF files.
    """
    path = Path(path)
    size = _check_file(path)
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if head[:4] == b"GGUF":
        return _inspect_gguf(path, size)
    magic = int.from_bytes(head[:4], "little")
    if magic in ggml_legacy.MAGICS:
        return _inspect_legacy(path, size, ggml_legacy.MAGICS[magic], model_type_hint)
    if magic == ggml_legacy.GGCC_MAGIC:
        raise ModelRefusedError(
            f'The file "{path.name}" is a Falcon model in the ggllm.cpp (ggcc) format, which '
            "Hearth cannot run; download a GGUF version of the model instead."
        )
    raise ModelRefusedError(
        f'The file "{path.name}" is not a model at all ({_describe(head)}); '
        "choose a GGUF model file (.gguf)."
    )


def _check_file(path: Path) -> int:
    try:
        if path.is_dir():
            raise ModelRefusedError(
                f'"{path}" is a folder, not a model file; choose the .gguf file inside it.'
            )
        if not path.exists():
            raise ModelRefusedError(
                f'The model file "{path}" does not exist; check the path or choose the file again.'
            )
        if not path.is_file():
            raise ModelRefusedError(f'"{path}" is not a regular file; choose a .gguf model file.')
        size = path.stat().st_size
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if size == 0:
        raise ModelRefusedError(
            f'The file "{path.name}" is empty (0 bytes), probably a failed download; '
            "download the model again."
        )
    return size


def _unreadable(path: Path, exc: OSError) -> ModelRefusedError:
    reason = exc.strerror or str(exc)
    return ModelRefusedError(
        f'The file "{path}" cannot be read ({reason}); check that it exists and that you may '
        "read it."
    )


def _describe(head: bytes) -> str:
    signatures = {
        b"\x89PNG": "it is a PNG image",
        b"\xff\xd8\xff": "it is a JPEG image",
        b"GIF8": "it is a GIF image",
        b"%PDF": "it is a PDF document",
        b"PK\x03\x04": "it is a ZIP archive, such as a PyTorch checkpoint",
    }
    for signature, description in signatures.items():
        if head.startswith(signature):
            return description
    if len(head) > 8 and head[8:9] == b"{":
        return "it is a safetensors file, which must be converted to GGUF first"
    lower = head.lstrip().lower()
    if lower.startswith((b"<!doctype html", b"<html")):
        return "it is a web page, probably an error page saved instead of the download"
    try:  # an incremental decoder tolerates a character cut at the end of `head`
        text = codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        text = ""
    if text and "\x00" not in text:
        return "it is a text file"
    return "it does not start with the GGUF or GGML signature"


def _truncated(path: Path, needed: int, size: int) -> ModelRefusedError:
    return ModelRefusedError(
        f'The file "{path.name}" is incomplete: it holds {size:,} bytes but its contents need '
        f"at least {needed:,}, so the download was probably interrupted; download it again."
    )


def _inspect_gguf(path: Path, size: int) -> ModelFileInfo:
    try:
        header = read_gguf_header(path)
    except HeaderTruncated:
        raise ModelRefusedError(
            f'The file "{path.name}" is incomplete: it ends inside its header after {size:,} '
            "bytes, so the download was probably interrupted; download it again."
        ) from None
    except HeaderInvalid as exc:
        raise ModelRefusedError(
            f'The file "{path.name}" has a damaged or unsupported GGUF header ({exc}); '
            "download it again, or look for a newer build of Hearth."
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelRefusedError(
            f'The file "{path.name}" cannot be read ({exc}); check the file and try again.'
        ) from exc
    if header.data_end > size:
        raise _truncated(path, header.data_end, size)

    md = header.metadata
    arch = _str(md.get("general.architecture"))
    if not arch or not header.tensors:
        missing = "no architecture in its metadata" if not arch else "no weights (tensors)"
        raise ModelRefusedError(
            f'The file "{path.name}" is a GGUF file with {missing}, so it is not a model '
            "Hearth can run; choose a complete GGUF model file."
        )
    tokens = md.get("tokenizer.ggml.tokens")
    tokens = tokens if isinstance(tokens, list) else []
    tokenizer = _str(md.get("tokenizer.ggml.model")) or None
    has_bytes = _BYTE_TOKENS.issubset(tokens)
    tied = not any(t.name == "output.weight" for t in header.tensors)
    refusal = ctransformers_gguf_refusal(arch, tokenizer, tied, has_bytes)
    if header.version == 1 and refusal is not None:
        raise ModelRefusedError(
            f'The file "{path.name}" is an old GGUF v1 model that only ctransformers can read, '
            f"and ctransformers cannot run it safely because it {refusal}; "
            "download a newer GGUF version of the model."
        )
    context = md.get(f"{arch}.context_length")
    template = md.get("tokenizer.chat_template")
    return ModelFileInfo(
        path=path,
        container="gguf",
        format_version=header.version,
        architecture=arch,
        name=_str(md.get("general.name")) or path.stem,
        tokenizer_model=tokenizer,
        has_byte_tokens=has_bytes,
        tied_embeddings=tied,
        context_length=context if isinstance(context, int) and context > 0 else None,
        chat_template=template if isinstance(template, str) and template.strip() else None,
        bos_token=_token(tokens, md.get("tokenizer.ggml.bos_token_id")),
        eos_token=_token(tokens, md.get("tokenizer.ggml.eos_token_id")),
        parameter_count=sum(t.n_elements for t in header.tensors) or None,
        quantization=_gguf_quantization(header),
        file_size=size,
        engine=ENGINE_CTRANSFORMERS if header.version == 1 else ENGINE_LLAMA_CPP,
        ctransformers_model_type=arch if refusal is None else None,
        ctransformers_refusal=refusal,
        header_bytes=header.data_offset,
    )


def ctransformers_gguf_refusal(
    architecture: str, tokenizer: str | None, tied: bool, has_byte_tokens: bool
) -> str | None:
    """Why ctransformers 0.2.27 must not get a GGUF file like this, or None if it may.

    Each reason completes the sentence "ctransformers cannot run it because it ...".
    """
    reasons = []
    if architecture not in CTRANSFORMERS_GGUF_ARCHITECTURES:
        reasons.append(f'has the architecture "{architecture}", which it does not support')
    if tokenizer == "gpt2":
        reasons.append("uses a BPE tokenizer, which crashes ctransformers")
    elif tokenizer != "llama":
        reasons.append(f'uses the "{tokenizer}" tokenizer, which ctransformers cannot handle')
    if tied:
        reasons.append("has tied embeddings (no output.weight), which ctransformers cannot load")
    if not has_byte_tokens:
        reasons.append("lacks the 256 byte tokens, so non-ASCII text would crash ctransformers")
    return "; it ".join(reasons) or None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _token(tokens: list[str], index: Any) -> str:
    if isinstance(index, int) and 0 <= index < len(tokens):
        return tokens[index]
    return ""


def _quantization_name(file_type: Any) -> str | None:
    if not isinstance(file_type, int):
        return None
    from gguf import LlamaFileType  # imports numpy: only when a header is really read

    try:
        name = LlamaFileType(file_type).name
    except ValueError:
        return None
    return None if name == "GUESSED" else name.removeprefix("MOSTLY_").removeprefix("ALL_")


def _gguf_quantization(header: GGUFHeader) -> str | None:
    named = _quantization_name(header.metadata.get("general.file_type"))
    return named or _dominant_type(t for t in header.tensors if len(t.shape) >= 2)


def _dominant_type(tensors: Iterable[TensorInfo]) -> str | None:
    weights: Counter[str] = Counter()
    for info in tensors:
        weights[info.type_name] += info.n_elements
    return weights.most_common(1)[0][0] if weights else None


def _inspect_legacy(path: Path, size: int, magic: str, hint: str | None) -> ModelFileInfo:
    arch = ggml_legacy.resolve_architecture(path.name, magic, hint)
    try:
        with open(path, "rb") as f:
            header = ggml_legacy.read_legacy_header(f, size, magic, arch)
    except ggml_legacy.LegacyTruncated as exc:
        raise _truncated(path, exc.needed, size) from None
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    supported = {"ggml": (None,), "ggmf": (1,), "ggjt": (1, 2, 3)}[magic]
    if header.version not in supported:
        raise ModelRefusedError(
            f'The file "{path.name}" is a {magic} file of version {header.version}, which no '
            "engine in Hearth can read; download a GGUF version of the model."
        )
    if header.problem:
        raise ModelRefusedError(
            f'The file "{path.name}" does not look like a {arch} model ({header.problem}); '
            "check the model type, or download a GGUF version of the model."
        )
    head = {"llama": "output.weight", "gpt2": "model/lm_head", "starcoder": "model/lm_head"}
    vocab = set(header.vocab)
    sentencepiece = arch in ("llama", "replit")
    eos = "</s>" if sentencepiece else ("<|endoftext|>" if b"<|endoftext|>" in vocab else "")
    return ModelFileInfo(
        path=path,
        container="ggml",
        format_version=header.version,
        architecture=arch,
        name=path.stem,
        tokenizer_model="llama" if sentencepiece else "gpt2",
        has_byte_tokens=header.has_byte_tokens(),
        tied_embeddings=header.checked and arch in head and head[arch] not in header.tensors,
        context_length=header.context_length,
        chat_template=None,
        bos_token="<s>" if sentencepiece else eos,
        eos_token=eos,
        parameter_count=sum(header.tensors.values()) if header.checked else None,
        quantization=_quantization_name(header.ftype),
        file_size=size,
        engine=ENGINE_CTRANSFORMERS,
        ctransformers_model_type=arch,
        ctransformers_refusal=None,
    )
