"""The model library: listing, import of good and bad files, delete, default, settings, memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.errors import ModelLibraryError, ModelRefusedError
from desktop.core.settings import HEARTH_DEFAULTS
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary
from desktop.inference.probe import ModelProber
from tests import tinymodels
from tests.integration import badmodels

pytestmark = pytest.mark.slow

FREE = 8 << 30


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("incoming")
    good = tinymodels.write_tiny_llama_gguf(d / "good.gguf")
    return {
        "good": good,
        "gpt2": tinymodels.write_tiny_gpt2_ggml(d / "story.bin"),
        "truncated": tinymodels.write_truncated_copy(good, d / "truncated.gguf", 0.6),
        "wrong_magic": tinymodels.write_not_a_model(d / "notes.gguf", "text"),
        "unknown_arch": badmodels.write_unknown_architecture(d / "mystery.gguf"),
        "llama_cpp_crash": badmodels.write_llama_cpp_crash(d / "heads.gguf"),
        "ctransformers_crash": badmodels.write_ctransformers_crash(d / "gpt2-crash.bin", 0),
    }


def make_library(tmp: Path, embedded: Path | None = None, free: int | None = FREE) -> ModelLibrary:
    return ModelLibrary(
        tmp / "data" / "models",
        tmp / "config" / "models.json",
        embedded,
        ModelProber(timeout_s=60),
        free_memory=lambda: free,
    )


def test_import_copies_after_the_trial_and_lists_what_the_inspector_read(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    library = make_library(tmp_path)
    entry = library.import_model(files["good"])
    assert entry.path == tmp_path / "data" / "models" / "good.gguf"
    assert entry.path.read_bytes() == files["good"].read_bytes()
    assert not entry.is_link
    [listed] = library.entries()
    assert listed.source == "imported" and listed.is_default  # no embedded model: first usable
    assert listed.info is not None
    assert (listed.info.architecture, listed.info.context_length) == ("llama", 256)
    assert listed.info.quantization == "F32" and listed.info.chat_template is None
    assert listed.info.parameter_count and listed.info.engine == "llama.cpp"
    assert [p.name for p in library.models_dir.iterdir()] == ["good.gguf"]  # no temp files


def test_import_as_link_and_legacy_model_type(tmp_path: Path, files: dict[str, Path]) -> None:
    library = make_library(tmp_path)
    entry = library.import_model(files["gpt2"], link=True, model_type="gpt2")
    assert entry.is_link and entry.path.resolve() == files["gpt2"].resolve()
    reopened = make_library(tmp_path)  # the model type is remembered
    [listed] = reopened.entries()
    assert listed.info is not None and listed.info.engine == "ctransformers"
    assert listed.details.shape is not None and listed.details.shape.n_layer == 2
    deleted = reopened.delete("story.bin")
    assert deleted.is_link and files["gpt2"].exists()  # only the link went


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("truncated", "is incomplete"),
        ("wrong_magic", "is not a model at all (it is a text file)"),
        ("unknown_arch", "unknown model architecture: 'nosucharch'"),
        ("llama_cpp_crash", 'crashed (SIGABRT) while trying "heads.gguf"'),
        ("ctransformers_crash", 'crashed (SIGFPE) while trying "gpt2-crash.bin"'),
    ],
)
def test_bad_files_are_refused_with_a_reason_and_leave_nothing(
    tmp_path: Path, files: dict[str, Path], kind: str, reason: str
) -> None:
    library = make_library(tmp_path)
    with pytest.raises(ModelRefusedError) as refused:
        library.import_model(files[kind], model_type="gpt2" if kind.startswith("ctr") else None)
    assert reason in str(refused.value)
    assert library.entries() == []
    assert not library.models_dir.exists() or not any(library.models_dir.iterdir())


def test_same_name_twice_is_refused(tmp_path: Path, files: dict[str, Path]) -> None:
    library = make_library(tmp_path)
    library.import_model(files["good"], link=True)
    with pytest.raises(ModelRefusedError, match=r'named "good\.gguf" is already in the library'):
        library.import_model(files["good"])


def test_default_delete_and_the_embedded_model(tmp_path: Path, files: dict[str, Path]) -> None:
    embedded = tinymodels.write_tiny_llama_gguf(tmp_path / "builtin.gguf", name="built-in")
    library = make_library(tmp_path, embedded=embedded)
    library.import_model(files["good"], link=True)
    default = library.default_entry()
    assert default is not None and default.key == EMBEDDED_KEY
    library.set_default("good")
    reopened = make_library(tmp_path, embedded=embedded)
    default = reopened.default_entry()
    assert default is not None and default.name == "good.gguf"
    with pytest.raises(ModelLibraryError, match="built-in model cannot be deleted"):
        reopened.delete(EMBEDDED_KEY)
    reopened.delete("good.gguf")
    default = reopened.default_entry()
    assert default is not None and default.key == EMBEDDED_KEY
    with pytest.raises(ModelLibraryError, match=r'no model "good\.gguf"'):
        reopened.find("good.gguf")


def test_user_folder_models_are_listed_read_only(tmp_path: Path, files: dict[str, Path]) -> None:
    folder = tmp_path / "my models"
    folder.mkdir()
    tinymodels.write_tiny_llama_gguf(folder / "mine.gguf")
    tinymodels.write_truncated_copy(files["good"], folder / "broken.gguf", 0.5)
    (folder / "readme.bin").write_bytes(b"not a model")  # ignored: no GGML signature
    library = make_library(tmp_path)
    library.add_folder(folder)
    entries = {e.name: e for e in make_library(tmp_path).entries()}
    assert set(entries) == {"mine.gguf", "broken.gguf"}
    assert entries["mine.gguf"].usable and entries["mine.gguf"].source == "folder"
    assert not entries["broken.gguf"].usable
    assert "incomplete" in (entries["broken.gguf"].problem or "")
    with pytest.raises(ModelLibraryError, match="cannot be the default"):
        library.set_default("broken.gguf")
    with pytest.raises(ModelLibraryError, match="which Hearth only reads"):
        library.delete("mine.gguf")
    assert (folder / "mine.gguf").exists()
    library.remove_folder(folder)
    assert library.entries() == []
    with pytest.raises(ModelLibraryError, match="is not a folder"):
        library.add_folder(folder / "mine.gguf")


def test_settings_per_model_round_trip_and_reset(tmp_path: Path, files: dict[str, Path]) -> None:
    library = make_library(tmp_path)
    entry = library.import_model(files["good"], link=True)
    defaults = library.settings_for(entry)
    assert defaults.context_length == 256  # lowered to what the model was trained for
    assert defaults.temperature == HEARTH_DEFAULTS.temperature
    from dataclasses import replace

    saved = library.save_settings(entry, replace(defaults, temperature=0.2, context_length=9999))
    assert saved.context_length == 256  # clamped to the model's window
    again = make_library(tmp_path)
    assert again.settings_for(again.find("good")).temperature == 0.2
    assert again.reset_settings(again.find("good")) == defaults
    assert make_library(tmp_path).settings_for(entry).temperature == defaults.temperature


def test_memory_estimate_against_free_memory(tmp_path: Path, files: dict[str, Path]) -> None:
    library = make_library(tmp_path, free=10_000_000)
    entry = library.import_model(files["good"], link=True)
    # 2 x layers (2) x ctx (256) x kv heads (4) x head dim (16) x 2 bytes
    estimate = library.estimate(entry)
    assert estimate.kv_cache_bytes == 2 * 2 * 256 * 4 * 16 * 2
    assert estimate.total_bytes == entry.path.stat().st_size + estimate.kv_cache_bytes
    assert estimate.fits and estimate.warning is None
    tight = make_library(tmp_path, free=400_000)
    low = tight.estimate(tight.find("good"), n_ctx=4096)
    assert low.fits is False
    assert low.warning is not None and "only 391 KB of memory is free" in low.warning
    assert make_library(tmp_path, free=None).estimate(entry).fits is None


def test_embedded_model_shape(embedded_model: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path, embedded=embedded_model)
    [entry] = library.entries()
    assert entry.source == "embedded" and entry.details.shape is not None
    # SmolLM2-135M: 30 layers, 3 key/value heads of 64: llama.cpp reports 90 MiB at 4096.
    assert library.estimate(entry, n_ctx=4096).kv_cache_bytes == 90 * 1024 * 1024
