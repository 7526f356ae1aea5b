"""Model inspections kept between runs: used only for the very file they were made from."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from desktop.core.stamps import FileStamp
from desktop.inference import inspection_cache as cache_module
from desktop.inference import library as library_module
from desktop.inference.inspect import inspect_model
from desktop.inference.inspection_cache import InspectionCache
from desktop.inference.library import ModelLibrary
from tests import tinymodels


def _never(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the file was parsed again")


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return tinymodels.write_tiny_llama_gguf(tmp_path / "m.gguf", name="tiny-llama")


def test_a_kept_inspection_is_what_inspecting_again_says(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = tmp_path / "cache" / "inspections.json"
    fresh = InspectionCache(records).inspect(model)
    assert fresh == inspect_model(model)
    assert fresh.header_bytes > 0
    monkeypatch.setattr(cache_module, "inspect_model", _never)
    kept = InspectionCache(records).get(model)  # a new process would build a new object
    assert kept is not None and kept.info == fresh


def test_a_changed_file_is_inspected_again_even_with_a_forged_stamp(
    model: Path, tmp_path: Path
) -> None:
    records = tmp_path / "inspections.json"
    InspectionCache(records).inspect(model)
    before = model.stat()
    tinymodels.write_tiny_llama_gguf(model, name="tiny-llamb")  # same size, another header
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert model.stat().st_size == before.st_size
    assert InspectionCache(records).get(model) is None  # the change time moved
    # Even a records file rewritten with the file's new stamp (a filesystem without change
    # times, or a forged record) is not believed: the header's bytes differ.
    data = json.loads(records.read_text())
    for entry in data["records"].values():
        entry["stamp"] = FileStamp.of(model).to_list()
    records.write_text(json.dumps(data))
    assert InspectionCache(records).get(model) is None
    assert InspectionCache(records).inspect(model).name == "tiny-llamb"


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: "not json {",
        lambda text: text.replace('"has_byte_tokens": true', '"has_byte_tokens": "yes"'),
        lambda text: text.replace('"header_bytes": ', '"header_bytes": -'),
        lambda text: text.replace('"container": "gguf"', '"container": "ggml"'),
        lambda text: text.replace('"version": "', '"version": "0.0.0-'),
        lambda text: "[" * 100_000 + "]" * 100_000,
        lambda text: " " * (5 * 1024 * 1024),
    ],
    ids=["garbage", "wrong-type", "negative", "other-kind", "other-version", "deep", "huge"],
)
def test_a_damaged_records_file_only_costs_the_shortcut(
    model: Path, tmp_path: Path, damage: object
) -> None:
    records = tmp_path / "inspections.json"
    expected = InspectionCache(records).inspect(model)
    assert callable(damage)
    records.write_text(damage(records.read_text()))
    assert InspectionCache(records).get(model) is None
    assert InspectionCache(records).inspect(model) == expected


def test_a_truncated_file_is_refused_although_it_was_kept(model: Path, tmp_path: Path) -> None:
    records = tmp_path / "inspections.json"
    InspectionCache(records).inspect(model)
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    cache = InspectionCache(records)
    assert cache.get(model) is None
    with pytest.raises(Exception, match="incomplete"):
        cache.inspect(model)


def test_the_library_lists_kept_models_without_parsing_them(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    model.rename(folder / model.name)
    records = tmp_path / "cache" / "inspections.json"

    def library() -> ModelLibrary:
        return ModelLibrary(
            folder, tmp_path / "models.json", None, inspections=InspectionCache(records)
        )

    first = library().entries()
    assert [e.usable for e in first] == [True] and first[0].chat_format == "chatml"
    monkeypatch.setattr(library_module, "inspect_model", _never)
    monkeypatch.setattr(library_module, "read_details", _never)
    again = library().entries()
    assert again == first
