"""The Linux desktop entry validates, as shipped and as `install.sh` installs it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "resources" / "hearth.desktop"


def _validator() -> str:
    found = shutil.which("desktop-file-validate")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("desktop-file-validate is missing: packaging/ci_system_deps.sh installs it")
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    return found


def _validate(path: Path) -> None:
    result = subprocess.run([_validator(), str(path)], capture_output=True, text=True)
    problems = result.stdout + result.stderr
    assert result.returncode == 0 and "error" not in problems, problems


def test_the_shipped_entry_validates() -> None:
    _validate(ENTRY)


def test_the_installed_entry_validates(tmp_path: Path) -> None:
    """install.sh on a stand-in app folder (the same layout as the built one)."""
    app = tmp_path / "hearth"
    (app / "_internal").mkdir(parents=True)
    (app / "hearth").write_text("#!/bin/sh\n", encoding="utf-8")
    (app / "hearth").chmod(0o755)
    shutil.copytree(ROOT / "resources" / "icons", app / "resources" / "icons")
    shutil.copy2(ENTRY, app / "resources" / "hearth.desktop")
    shutil.copy2(ROOT / "packaging" / "install.sh", app / "install.sh")
    prefix = tmp_path / "prefix with space"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", str(app / "install.sh")],
        env={**env, "HEARTH_PREFIX": str(prefix)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    installed = prefix / "share" / "applications" / "hearth.desktop"
    assert f'Exec="{prefix}/lib/hearth/hearth"' in installed.read_text(encoding="utf-8")
    _validate(installed)
