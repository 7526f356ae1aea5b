"""llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`), started by the
tests on 127.0.0.1 with the built-in model and an API key: the user's own server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

KEY = "test-key-123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(model: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    command += ["--model_alias", "smollm", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", "2048", "--n_threads", "2", "--api_key", KEY]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.2)
    server.kill()
    raise AssertionError("the server did not start")
