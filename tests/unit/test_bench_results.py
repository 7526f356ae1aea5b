"""Stored speed results: round trip, time stamp, forgetting, damaged and foreign files."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from desktop.core.errors import ModelLibraryError
from desktop.inference.bench_results import BenchResults

RESULT = {"model": "m.gguf", "load_s": 0.25, "generation_tokens_per_s": 101.4, "runs": 3}


def test_round_trip_with_a_time_stamp(tmp_path: Path) -> None:
    path = tmp_path / "config" / "bench.json"
    BenchResults(path).put("embedded", RESULT)
    stored = BenchResults(path).get("embedded")
    assert stored is not None and {k: stored[k] for k in RESULT} == RESULT
    assert datetime.fromisoformat(stored["measured_at"]).tzinfo is not None
    assert BenchResults(path).get("other") is None
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]  # no temporary files left


def test_forget_and_overwrite(tmp_path: Path) -> None:
    results = BenchResults(tmp_path / "bench.json")
    results.put("a", RESULT)
    results.put("b", {**RESULT, "load_s": 9.0, "measured_at": "2025-01-01T00:00:00+00:00"})
    results.put("a", {**RESULT, "load_s": 0.5})
    assert results.get("a") is not None and results.get("a")["load_s"] == 0.5  # type: ignore[index]
    assert results.get("b")["measured_at"] == "2025-01-01T00:00:00+00:00"  # type: ignore[index]
    results.forget("a")
    results.forget("missing")
    assert results.get("a") is None and results.get("b") is not None


@pytest.mark.parametrize(
    "contents",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'{"schema_version": 1, "results": []}',
        b'{"schema_version": 99, "results": {"a": {"load_s": 1}}}',
    ],
)
def test_an_unreadable_file_reads_as_empty_and_is_replaced(tmp_path: Path, contents: bytes) -> None:
    path = tmp_path / "bench.json"
    path.write_bytes(contents)
    results = BenchResults(path)
    assert results.get("a") is None
    results.put("a", RESULT)
    assert json.loads(path.read_text())["results"]["a"]["load_s"] == 0.25


def test_a_write_that_fails_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    results = BenchResults(blocker / "bench.json")
    assert results.get("a") is None
    with pytest.raises(ModelLibraryError, match="could not be saved"):
        results.put("a", RESULT)
