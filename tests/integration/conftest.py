"""Integration fixtures for the ctransformers engine: tiny model files and loaded engines.

The files are written once per session with the gguf package (no downloads). Engines are
loaded per module and closed in teardown.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run straight from a checkout, before `pip install -e`
    sys.path.insert(0, str(ROOT))

from desktop.core.servers import RemoteServer  # noqa: E402
from desktop.core.types import LoadOptions  # noqa: E402
from desktop.inference.ctransformers_engine import CTransformersEngine  # noqa: E402
from desktop.inference.inspect import inspect_model  # noqa: E402
from tests import tinymodels  # noqa: E402

TINY_CTX = 128


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_llama_gguf(tiny_model_dir: Path) -> Path:
    return tinymodels.write_tiny_llama_gguf(tiny_model_dir)


@pytest.fixture(scope="session")
def tiny_gpt2_ggml(tiny_model_dir: Path) -> Path:
    return tinymodels.write_tiny_gpt2_ggml(tiny_model_dir)


def _load(path: Path) -> CTransformersEngine:
    engine = CTransformersEngine(inspect_model(path))
    engine.load(path, LoadOptions(n_ctx=TINY_CTX, n_threads=1, batch_size=64))
    return engine


@pytest.fixture(scope="module")
def llama_engine(tiny_llama_gguf: Path) -> Iterator[CTransformersEngine]:
    engine = _load(tiny_llama_gguf)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def gpt2_engine(tiny_gpt2_ggml: Path) -> Iterator[CTransformersEngine]:
    engine = _load(tiny_gpt2_ggml)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def served(embedded_model: Path) -> Iterator[RemoteServer]:
    """The user's own server on 127.0.0.1 (llama_cpp.server with the built-in model, API key
    `llama_server.KEY`), shared by the tests of servers."""
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python's server extra is missing")
    from tests.integration.llama_server import free_port, start_server

    port = free_port()
    server = start_server(embedded_model, port)
    yield RemoteServer("here", f"http://127.0.0.1:{port}/v1")
    server.kill()
    server.wait()
