"""The training add-on of the packaged app: a Python environment of its own with Hearth's
training component installed, which the packaged app runs the training child with.

The packaged app does not bundle torch (about 800 MB); a user who wants to teach adds it
once, as a separate environment: `python3 -m venv <data folder>/teach-addon`, then its pip
installs `hearth[teach]` (torch for the CPU, transformers, peft and Hearth's training child).
Hearth finds it there, or wherever `HEARTH_TEACH_PYTHON` names its Python. The training
child then starts with that Python and an environment cleaned of what the packaged app's
own start-up set (its library path and Python path point into the bundle, whose compiled
modules must not mix with the add-on's). Plain Python.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

ADDON_ENV = "HEARTH_TEACH_PYTHON"
ADDON_FOLDER = "teach-addon"
CHILD = "desktop.teach.train_child"
INDEX = "https://download.pytorch.org/whl/cpu"


def venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def addon_python(data_dir: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The add-on's Python: the one `HEARTH_TEACH_PYTHON` names, else the environment in
    the data folder's `teach-addon`; None when there is none (or it cannot be run)."""
    env = os.environ if environ is None else environ
    candidates = [Path(env[ADDON_ENV]).expanduser()] if env.get(ADDON_ENV) else []
    if data_dir is not None:
        candidates.append(venv_python(data_dir / ADDON_FOLDER))
    return next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)


def how_to_add(data_dir: Path | None) -> str:
    """The sentence a packaged app without the add-on shows."""
    folder = (data_dir / ADDON_FOLDER) if data_dir is not None else Path(ADDON_FOLDER)
    pip = venv_python(folder).with_name("pip.exe" if sys.platform == "win32" else "pip")
    return (
        "Teaching is an add-on this build of Hearth does not include (torch, about 800 MB). "
        f'Add it with: python3 -m venv "{folder}" && "{pip}" install "hearth[teach]" '
        f"--extra-index-url {INDEX}; or set {ADDON_ENV} to the Python of an environment "
        "that has it."
    )


def addon_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a child run with the add-on's Python: without the packaged app's Python
    path and with the library path the user had before the packaged app changed it."""
    cleaned = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        original = env.get(f"{name}_ORIG")  # what PyInstaller's start-up kept aside
        cleaned.pop(name, None)
        cleaned.pop(f"{name}_ORIG", None)
        if original:
            cleaned[name] = original
    return cleaned
