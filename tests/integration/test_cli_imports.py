"""Each command imports only what it needs: checked in a fresh interpreter per command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

#: Runs `hearth ARGS...` in this interpreter, then prints the names of the modules it loaded.
_PROBE = """
import json, sys
from desktop.__main__ import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

ENGINES = {"llama_cpp", "ctransformers", "gguf", "numpy"}
STORE = {"sqlcipher3", "keyring", "cryptography", "desktop.storage.vault"}
WINDOW = {"PySide6", "jinja2", "desktop.inference.library", "desktop.inference.inspect"}


def loaded_by(data_dir: Path, *args: str) -> set[str]:
    env = {**os.environ, "HEARTH_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules: list[str] = json.loads(result.stderr.strip().splitlines()[-1])
    return {name.split(".")[0] for name in modules} | set(modules)


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_only_the_parser(tmp_path: Path, flag: str) -> None:
    loaded = loaded_by(tmp_path, flag)
    assert "desktop.cli.parser" in loaded
    assert not loaded & (ENGINES | STORE | WINDOW | {"desktop.cli.ask"})


def test_search_imports_no_engine(tmp_path: Path) -> None:
    loaded = loaded_by(tmp_path, "search", "anything")
    assert "sqlcipher3" in loaded  # it did open the store
    assert not loaded & (ENGINES | WINDOW)


def test_asking_again_imports_no_header_parser_template_engine_or_store(tmp_path: Path) -> None:
    args = ("ask", "--no-save", "--max-tokens", "1", "--threads", "1", "Hi")
    loaded_by(tmp_path, *args)  # the first run inspects the built-in model and keeps it
    again = loaded_by(tmp_path, *args)
    assert "desktop.inference.host.client" in again  # it did ask the engine host
    assert not again & (ENGINES | STORE | {"PySide6", "jinja2"})


def test_the_parser_offers_every_export_format() -> None:
    from desktop.chat.export import FORMATS
    from desktop.cli.parser import EXPORT_FORMATS

    assert EXPORT_FORMATS == FORMATS
