"""Unit-test fixtures: tiny model files, written once per session with the gguf package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run straight from a checkout, before `pip install -e`
    sys.path.insert(0, str(ROOT))

from tests import tinymodels  # noqa: E402


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_llama(model_dir: Path) -> Path:
    return tinymodels.write_tiny_llama_gguf(model_dir)


@pytest.fixture(scope="session")
def tiny_gpt2(model_dir: Path) -> Path:
    return tinymodels.write_tiny_gpt2_ggml(model_dir)
