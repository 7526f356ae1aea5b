"""The built-in model's sha256 is computed once per file as it is on disk, not per start."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from desktop.core.errors import EmbeddedModelError
from desktop.core.stamps import FileStamp
from desktop.inference import embedded

_SHA256 = hashlib.sha256


class CountingSha256:
    """hashlib.sha256, counting how often a file is hashed."""

    calls = 0

    def __init__(self) -> None:
        CountingSha256.calls += 1
        self._hash = _SHA256()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the built-in model (its expected size and sha256 are this file's)."""
    path = tmp_path / embedded.FILE_NAME
    data = os.urandom(64 * 1024)
    path.write_bytes(data)
    monkeypatch.setattr(embedded, "SIZE", len(data))
    monkeypatch.setattr(embedded, "SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(embedded.hashlib, "sha256", CountingSha256)
    CountingSha256.calls = 0
    return path


def new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what this process verified, as a new `hearth` process would."""
    monkeypatch.setattr(embedded, "_verified", set())


def test_an_unchanged_file_is_hashed_once(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache" / "verified.json"
    embedded.verify_file(model, embedded.verified_records(cache))
    assert CountingSha256.calls == 1
    for _ in range(3):
        new_process(monkeypatch)
        embedded.verify_file(model, embedded.verified_records(cache))
    assert CountingSha256.calls == 1
    new_process(monkeypatch)
    embedded.verify_file(model)  # without records (`hearth --self-test`): always hashed
    assert CountingSha256.calls == 2


def test_a_changed_file_is_hashed_again_and_refused(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache" / "verified.json"
    embedded.verify_file(model, embedded.verified_records(cache))
    before = model.stat()
    data = bytearray(model.read_bytes())
    data[100] ^= 0xFF  # one flipped byte, same size, modification time put back
    model.write_bytes(bytes(data))
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    new_process(monkeypatch)
    with pytest.raises(EmbeddedModelError, match="checksum mismatch"):
        embedded.verify_file(model, embedded.verified_records(cache))
    assert CountingSha256.calls == 2


@pytest.mark.parametrize("forged", ["other-sha", "other-stamp", "garbage"])
def test_a_forged_or_damaged_record_means_hashing_again(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forged: str
) -> None:
    cache = tmp_path / "cache" / "verified.json"
    embedded.verify_file(model, embedded.verified_records(cache))
    records = cache
    data = json.loads(records.read_text())
    (entry,) = data["records"].values()
    if forged == "other-sha":
        entry["record"]["sha256"] = "0" * 64
    elif forged == "other-stamp":
        entry["stamp"] = [*FileStamp.of(model).to_list()[:-1], 12345]
    records.write_text("{{{" if forged == "garbage" else json.dumps(data))
    new_process(monkeypatch)
    embedded.verify_file(model, embedded.verified_records(cache))
    assert CountingSha256.calls == 2
