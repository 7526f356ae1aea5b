"""A model on the user's own server: llama-cpp-python's OpenAI-compatible server, started on
127.0.0.1 with the built-in model, reached through `RemoteEngine` and `hearth ask`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.core.errors import GenerationError, ModelLoadError
from desktop.core.network import NetworkDisabledError, NetworkPolicy
from desktop.core.servers import RemoteServer
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken
from desktop.inference.remote import RemoteEngine
from desktop.storage.preferences import Preferences
from tests.integration.llama_server import KEY, free_port, start_server

pytest.importorskip("llama_cpp.server", reason="llama-cpp-python's server extra is not installed")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
QUESTION = [ChatMessage("user", "What is the capital of France?")]


def engine(server: RemoteServer, key: str | None = KEY, model: str = "smollm") -> RemoteEngine:
    remote = RemoteEngine(server, model, key, NetworkPolicy(True))
    remote.load(Path("unused"), LoadOptions(n_ctx=2048))
    return remote


def test_a_streamed_answer_stop_and_a_follow_up(served: RemoteServer) -> None:
    remote = engine(served)
    params = GenerationParams(max_tokens=24, temperature=0.0, seed=1)
    answer = "".join(remote.stream(QUESTION, params, CancelToken()))
    assert "Paris" in answer and remote.usage.generated_tokens > 3
    cancel, pieces = CancelToken(), []
    stopped = 0.0
    for piece in remote.stream(QUESTION, GenerationParams(max_tokens=400), cancel):
        pieces.append(piece)
        cancel.cancel()
        stopped = time.perf_counter()
    assert len(pieces) == 1 and time.perf_counter() - stopped < 1.0  # Stop is immediate
    follow = [*QUESTION, ChatMessage("assistant", answer), ChatMessage("user", "And of Italy?")]
    assert "".join(remote.stream(follow, params, CancelToken())).strip()
    remote.close()


def test_a_wrong_key_and_an_unknown_model_are_said(served: RemoteServer) -> None:
    with pytest.raises(ModelLoadError, match=r"refused Hearth's API key \(401\)"):
        engine(served, key="wrong")
    with pytest.raises(ModelLoadError, match='has no model "nope"; it offers: smollm'):
        engine(served, model="nope")


def test_nothing_is_contacted_with_the_network_off(served: RemoteServer) -> None:
    contacted: list[object] = []

    def audit(event: str, args: tuple[object, ...]) -> None:
        if event == "socket.connect":
            contacted.append(args[1])

    sys.addaudithook(audit)
    remote = RemoteEngine(served, "smollm", KEY, NetworkPolicy(False))
    with pytest.raises(NetworkDisabledError):
        remote.load(Path("unused"), LoadOptions())
    with pytest.raises(NetworkDisabledError):
        list(remote.stream(QUESTION, GenerationParams(), CancelToken()))
    remote.close()
    assert contacted == []


def test_the_server_killed_mid_reply_keeps_the_text_so_far(embedded_model: Path) -> None:
    port = free_port()
    process = start_server(embedded_model, port)
    try:
        remote = engine(RemoteServer("doomed", f"http://127.0.0.1:{port}/v1"))
        pieces: list[str] = []
        with pytest.raises(GenerationError, match="broke off in the middle of the reply"):
            for piece in remote.stream(QUESTION, GenerationParams(max_tokens=400), CancelToken()):
                pieces.append(piece)
                if len(pieces) == 2:
                    process.kill()
        assert len(pieces) >= 2
        with pytest.raises(ModelLoadError, match="connection refused"):
            remote.load(Path("unused"), LoadOptions())
        remote.close()
    finally:
        process.kill()
        process.wait()


def test_hearth_ask_on_a_server_model(served: RemoteServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "HEARTH_DATA_DIR": str(data), "SERVER_KEY": KEY, "PYTHONPATH": str(ROOT)}

    def hearth(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "desktop", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=ROOT,
        )

    added = hearth("servers", "add", "here", served.base_url, "--use-env", "SERVER_KEY")
    assert added.returncode == 0, added.stderr
    refused = hearth("ask", "--no-save", "--model", "here:smollm", "Hi")
    assert refused.returncode == 1
    assert "needs the network, which is turned off in Privacy" in refused.stderr
    Preferences(network_allowed=True).save(data / "config")
    asked = hearth(
        "ask",
        "--no-save",
        "--stats",
        "--max-tokens",
        "16",
        "--model",
        "here:smollm",
        "Capital of France?",
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip()
    assert "model smollm on server here" in asked.stderr
