"""`hearth serve` driven by the official `openai` client: the built-in model in the engine
host, behind an OpenAI-compatible API on 127.0.0.1 with a bearer token."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from desktop.chat.api_server import TOKEN_ACCOUNT, serve_token
from desktop.storage.keychain import Keychain
from tests.integration.llama_server import free_port
from tests.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
MODEL = "SmolLM2-135M-Instruct.Q4_1"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@dataclass
class Served:
    port: int
    token: str
    process: subprocess.Popen[str]
    log_dir: Path

    def client(self, token: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"http://127.0.0.1:{self.port}/v1", api_key=token or self.token, max_retries=0
        )

    def log_text(self) -> str:
        return "".join(p.read_text(encoding="utf-8") for p in self.log_dir.glob("*.log"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {**os.environ, "HEARTH_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline(), process.stdout.readline()]
    assert lines[0].startswith(f"Serving {MODEL} on http://127.0.0.1:{port}/v1"), lines
    assert "Token for this run only (no usable keychain): " in lines[1]  # headless: no keychain
    token = lines[1].rsplit(" ", 1)[1].strip()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield Served(port, token, process, data / "logs")
    process.terminate()
    process.wait(20)


def test_chat_streamed_and_whole_completions_and_models(served: Served) -> None:
    client = served.client()
    assert [m.id for m in client.models.list()] == [MODEL]
    whole = client.chat.completions.create(
        model=MODEL,
        messages=QUESTION,
        max_tokens=24,
        temperature=0,  # type: ignore[arg-type]
    )
    assert "Paris" in (whole.choices[0].message.content or "")
    assert whole.usage is not None and whole.usage.completion_tokens > 2
    stream = client.chat.completions.create(
        model=MODEL,
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=24,
        temperature=0,
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len(pieces) > 3 and "Paris" in "".join(pieces)
    prompt = "The capital of France is"
    completion = client.completions.create(model=MODEL, prompt=prompt, max_tokens=8, temperature=0)
    text = completion.choices[0].text
    assert "Paris" in text and not text.lstrip().startswith("The capital")  # continued
    assert completion.usage is not None and completion.usage.prompt_tokens == 5  # no template
    streamed = client.completions.create(
        model=MODEL, prompt=prompt, max_tokens=8, temperature=0, stop=["."], stream=True
    )
    pieces = [c.choices[0].text for c in streamed if c.choices]
    assert "".join(pieces) == text.split(".")[0] == " Paris"  # streamed, cut at the stop
    with pytest.raises(openai.NotFoundError, match="There is no model"):
        client.chat.completions.create(model="nope", messages=QUESTION)  # type: ignore[arg-type]


def test_two_clients_at_once_are_both_answered(served: Served) -> None:
    answers: list[str] = []

    def ask() -> None:
        reply = served.client().chat.completions.create(
            model=MODEL,
            messages=QUESTION,
            max_tokens=16,
            temperature=0,  # type: ignore[arg-type]
        )
        answers.append(reply.choices[0].message.content or "")

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == 2 and all(answer.strip() for answer in answers)


def test_a_client_leaving_mid_stream_cancels_its_generation(served: Served) -> None:
    stream = served.client().chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Write a very long story about a lighthouse."}],
        max_tokens=4000,
        temperature=0.8,
        stream=True,
    )
    for count, _chunk in enumerate(stream):
        if count == 3:
            break
    stream.close()  # the client goes away
    deadline = time.monotonic() + 60
    while (
        found := re.search(r"a generation was cancelled after (\d+) tokens", served.log_text())
    ) is None:
        assert time.monotonic() < deadline, "the engine did not report the cancellation"
        time.sleep(0.2)
    assert int(found.group(1)) < 4000  # it stopped long before its 4000 tokens
    reply = served.client().chat.completions.create(
        model=MODEL,
        messages=QUESTION,
        max_tokens=8,  # type: ignore[arg-type]
    )
    assert reply.choices[0].message.content  # and the next request is answered


def test_a_missing_or_wrong_token_is_refused(served: Served) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:
        served.client("wrong-token").models.list()
    assert refused.value.status_code == 401
    bare = urllib.request.Request(
        f"http://127.0.0.1:{served.port}/v1/chat/completions",
        data=json.dumps({"messages": QUESTION}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(bare, timeout=10)
    assert missing.value.code == 401
    assert "bearer token" in json.loads(missing.value.read())["error"]["message"]


def _outward_address() -> str | None:
    """This computer's address on its network (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_only_this_computer_can_connect(served: Served) -> None:
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
    suffix, listen = f":{served.port:04X}", "0A"  # the port, in hex; the LISTEN state
    ours = [
        fields[1]
        for fields in (line.split() for line in listening)
        if fields[1].endswith(suffix) and fields[3] == listen
    ]
    assert ours == [f"0100007F:{served.port:04X}"]  # 127.0.0.1 only, no 0.0.0.0
    outward = _outward_address()
    if outward is not None:
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((outward, served.port)) != 0


def test_the_token_is_made_once_and_kept(memory_keyring: MemoryKeyring) -> None:
    keychain = Keychain()
    token, created, kept = serve_token(keychain)
    assert created and kept and len(token) >= 40
    assert serve_token(keychain) == (token, False, True)
    assert keychain.load_secret(TOKEN_ACCOUNT) == token
    renewed, created, _kept = serve_token(keychain, new=True)
    assert created and renewed != token
