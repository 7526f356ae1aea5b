"""Hearth keeps its promise: a whole session opens no network connection, and what was
typed is readable nowhere under Hearth's directories afterwards (the conversation's kept
model state included)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("session_driver.py")
MARKER = "quokka-lantern-59217"
DOC_MARKER = "pangolin-umbrella-48213"  # a word inside an indexed document


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real session (window, embedded model, chat, search, export, quit) + CLI."""
    base = tmp_path_factory.mktemp("privacy")
    data_dir, export_dir = base / "data", base / "exports"
    export_dir.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",  # a headless machine
    }
    env.pop("HEARTH_DATA_DIR", None)
    result = subprocess.run(
        [sys.executable, str(DRIVER), str(data_dir), str(export_dir), MARKER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    outcome["data_dir"] = data_dir
    outcome["docs_search"] = _index_a_document(base, data_dir, env)
    return outcome


def _index_a_document(base: Path, data_dir: Path, env: dict[str, str]) -> str:
    """`hearth docs add` on a note holding DOC_MARKER (outside Hearth's folders), then search."""
    folder = base / "my-notes"
    folder.mkdir()
    (folder / "diary.md").write_text(f"# Travels\nI saw a {DOC_MARKER} at the market.\n")
    for args in (["docs", "add", str(folder)], ["docs", "search", DOC_MARKER.split("-")[0]]):
        done = subprocess.run(
            [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_whole_session_makes_no_network_attempt(session: dict[str, Any]) -> None:
    assert session["code"] == 0
    assert MARKER.split("-")[0] in session["reply"].lower()  # the model really answered
    assert session["hits"] >= 1  # the palette found it
    assert "quokka" in session["cli_search"].lower()
    assert all(Path(path).stat().st_size > 0 for path in session["exported"])
    assert session["events"] == []
    assert "diary.md" in session["docs_search"] and "[pangolin]" in session["docs_search"]


def test_the_marker_is_readable_nowhere_under_hearths_directories(
    session: dict[str, Any],
) -> None:
    data_dir: Path = session["data_dir"]
    database = data_dir / "hearth.db"
    assert database.read_bytes()[:16] != b"SQLite format 3\x00"
    needles = [
        marker.encode(encoding)
        for marker in (MARKER, MARKER.split("-")[0], DOC_MARKER, DOC_MARKER.split("-")[0])
        for encoding in ("utf-8", "utf-16-le")
    ]
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert len(files) >= 3  # database, key file, log at least
    assert session["states"] == 1  # the conversation's model state is among them
    for path in files:
        content = path.read_bytes().lower()
        for needle in needles:
            assert needle not in content, f"{needle!r} found in {path}"
    log = (data_dir / "logs" / "hearth.log").read_text(encoding="utf-8")
    assert "Hearth 0.1.0 starting" in log or "starting" in log  # the log was written


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare on this machine")
def test_self_test_passes_with_no_network_at_all(tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("this machine does not allow a network namespace")
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "desktop", "--self-test", "--threads", "2"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HEARTH_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("self-test ok")
