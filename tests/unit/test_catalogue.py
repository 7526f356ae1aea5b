"""The shipped model catalogue is complete and well-formed; a damaged one is refused in a
sentence; fit marks follow the memory estimate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from desktop.core.catalogue import (
    FITS,
    TIGHT,
    TOO_BIG,
    UNKNOWN,
    CatalogueError,
    default_catalogue_path,
    fit_of,
    load_catalogue,
)
from desktop.core.downloads import Rate, progress_text

SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "catalogue.json"


def test_every_shipped_entry_is_complete_and_well_formed() -> None:
    raw = json.loads(SHIPPED.read_text(encoding="utf-8"))["models"]
    entries = load_catalogue(SHIPPED)
    assert len(entries) == len(raw) >= 8
    for item, entry in zip(raw, entries, strict=True):
        # a hash is either a real sha256 or explicitly left to the repository's metadata
        assert re.fullmatch(r"[0-9a-f]{64}", item["sha256"]) or item["sha256"] == "repository"
        assert entry.sha256 is None or len(entry.sha256) == 64
        assert 50_000_000 < entry.size_bytes < 8_000_000_000
        assert entry.size_exact is False or entry.sha256 is not None  # exact sizes come with hashes
        assert entry.file.endswith(".gguf") and "/" in entry.repo
        assert entry.quantization.lower().replace("_", "") in entry.file.lower().replace("_", "")
        assert entry.licence and entry.good_at and entry.context_length >= 2048
        assert entry.shape.n_layer > 0 and entry.shape.head_dim in (64, 96, 128, 256)
    families = {e.name.split()[0] for e in entries}
    assert {"SmolLM2", "Qwen2.5", "Llama", "Phi-3.5", "Gemma"} <= families


def test_the_default_path_is_the_shipped_file_unless_overridden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HEARTH_CATALOGUE", raising=False)
    assert default_catalogue_path() == SHIPPED
    monkeypatch.setenv("HEARTH_CATALOGUE", str(tmp_path / "c.json"))
    assert default_catalogue_path() == tmp_path / "c.json"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sha256": "abc"}, 'neither 64 hex digits nor "repository"'),
        ({"size_bytes": -1}, 'positive whole number for "size_bytes"'),
        ({"file": "model.bin"}, "must name a .gguf file"),
        ({"repo": "no-owner"}, "names no Hugging Face repository"),
        ({"licence": ""}, 'has no "licence"'),
        ({"size_exact": "yes"}, "whether its size is exact"),
    ],
)
def test_a_damaged_entry_is_refused_in_a_sentence(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data["models"][2].update(change)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(message)) as caught:
        load_catalogue(path)
    assert str(caught.value).startswith("The entry 3 of the model catalogue")


def test_an_unreadable_catalogue_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogueError, match="cannot be read"):
        load_catalogue(path)


def test_fit_marks_against_the_free_memory() -> None:
    entry = next(e for e in load_catalogue(SHIPPED) if e.id == "qwen2.5-1.5b")
    need = entry.estimate(None).total_bytes
    assert fit_of(entry.estimate(None)) == UNKNOWN
    assert fit_of(entry.estimate(need * 2)) == FITS
    assert fit_of(entry.estimate(int(need * 1.1))) == TIGHT
    assert fit_of(entry.estimate(need // 2)) == TOO_BIG
    # the KV cache at Hearth's default context is part of it, capped at the trained context
    assert entry.estimate(None).n_ctx == 4096
    assert entry.estimate(None, n_ctx=10**6).n_ctx == entry.context_length


def test_progress_reads_as_a_sentence() -> None:
    now = [0.0]
    rate = Rate(clock=lambda: now[0])
    for second in range(4):
        now[0] = float(second)
        rate.add(second * 2 * 1024 * 1024)
    speed = rate.per_second()
    assert speed == 2 * 1024 * 1024
    text = progress_text(6 * 1024 * 1024, 246 * 1024 * 1024, speed)
    assert text == "6.0 MB of 246 MB · 2.0 MB/s · about 2 min left"
    assert progress_text(10, None, None) == "10 bytes"
