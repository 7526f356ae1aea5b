"""The packaged app's training add-on: found where the user put it (or where
HEARTH_TEACH_PYTHON says), a sentence saying how to add it when it is not there, and a
child environment with nothing of the bundle in it."""

from __future__ import annotations

import os
import sys
import venv
from pathlib import Path

import pytest

from desktop.teach import addon
from desktop.teach.trainer import TeachError, TeachJob, Trainer, missing_component


def make_venv_python(folder: Path) -> Path:
    python = addon.venv_python(folder)
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return python


def test_the_addon_is_found_in_the_data_folder_or_where_the_variable_says(
    tmp_path: Path,
) -> None:
    assert addon.addon_python(tmp_path, {}) is None
    named = make_venv_python(tmp_path / "elsewhere")
    assert addon.addon_python(tmp_path, {addon.ADDON_ENV: str(named)}) == named
    inside = make_venv_python(tmp_path / addon.ADDON_FOLDER)
    assert addon.addon_python(tmp_path, {}) == inside
    assert addon.addon_python(tmp_path, {addon.ADDON_ENV: str(named)}) == named  # it comes first
    inside.chmod(0o644)  # not a program
    assert addon.addon_python(tmp_path, {}) is None
    assert addon.addon_python(None, {addon.ADDON_ENV: str(tmp_path / "none")}) is None


def test_the_child_gets_no_python_path_and_the_users_library_path(tmp_path: Path) -> None:
    bundle = str(tmp_path / "_internal")
    env = {
        "PYTHONPATH": bundle,
        "PYTHONHOME": bundle,
        "LD_LIBRARY_PATH": bundle,
        "LD_LIBRARY_PATH_ORIG": "/opt/lib",
        "HF_HUB_OFFLINE": "1",
    }
    assert addon.addon_env(env) == {"LD_LIBRARY_PATH": "/opt/lib", "HF_HUB_OFFLINE": "1"}
    assert addon.addon_env({"LD_LIBRARY_PATH": bundle}) == {}  # there was none before


def test_the_packaged_app_says_how_to_add_it_then_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.delenv(addon.ADDON_ENV, raising=False)
    monkeypatch.setenv("PYTHONPATH", "/the/bundle")
    reason = missing_component(tmp_path)
    assert reason is not None and reason.startswith("Teaching is an add-on")
    assert f'python3 -m venv "{tmp_path / "teach-addon"}"' in reason
    assert 'install "hearth[teach]" --extra-index-url' in reason
    with pytest.raises(TeachError, match="Teaching is an add-on"):
        Trainer(data_dir=tmp_path)._start()

    # Added while Hearth runs: found when teaching starts.
    monkeypatch.setenv(addon.ADDON_ENV, sys.executable)
    assert missing_component(tmp_path) is None
    command, env = Trainer(data_dir=tmp_path)._start()
    assert command == [sys.executable, "-m", "desktop.teach.train_child"]
    assert "PYTHONPATH" not in env and env["HF_HUB_OFFLINE"] == "1"


def test_from_source_the_running_python_teaches(tmp_path: Path) -> None:
    assert not getattr(sys, "frozen", False)
    command, env = Trainer(data_dir=tmp_path)._start()
    assert command == [sys.executable, "-m", "desktop.teach.train_child"]
    assert str(Path(addon.__file__).resolve().parents[2]) in env["PYTHONPATH"].split(os.pathsep)


def test_an_addon_without_the_component_is_named_with_the_command_that_mends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = tmp_path / "bare"  # a Python environment with nothing installed in it
    venv.create(bare, with_pip=False)
    python = addon.venv_python(bare)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv(addon.ADDON_ENV, str(python))
    monkeypatch.chdir(tmp_path)  # not in the source tree, where `-m` would find Hearth
    job = TeachJob(str(tmp_path / "m.gguf"), str(tmp_path / "a.gguf"), "x", [], [])
    with pytest.raises(TeachError) as refused:
        Trainer(data_dir=tmp_path).run(job, lambda _event: None)
    assert str(refused.value) == (
        f"The Python that trains ({python}) has no module “desktop”: install the training "
        f'component there with "{python}" -m pip install "hearth[teach]" --extra-index-url '
        f"{addon.INDEX}. Nothing was kept."
    )
