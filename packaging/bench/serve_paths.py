"""Time to first token and tokens/s of one question through each path, in the same run:

- direct: llama-cpp-python's `create_chat_completion` in this process (the baseline);
- remote: Hearth's `RemoteEngine` against `python -m llama_cpp.server` on 127.0.0.1;
- serve:  the official `openai` client against `hearth serve` (Hearth's engine host);
- window: the same client against the window's serve: the API of this process handing each
          request to the window's inference thread (its `InferenceThread`, its engine host).

Interleaved rounds, medians printed. The built-in model, greedy, 2 threads each.

    .venv/bin/python packaging/bench/serve_paths.py [--rounds 3] [--tokens 128] [--without-remote]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.core.network import NetworkPolicy  # noqa: E402
from desktop.core.servers import RemoteServer  # noqa: E402
from desktop.core.settings import DEFAULT_CONTEXT  # noqa: E402
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions  # noqa: E402
from desktop.inference.embedded import find_embedded_model  # noqa: E402
from desktop.inference.engine import CancelToken  # noqa: E402
from desktop.inference.remote import RemoteEngine  # noqa: E402
from tests.integration.llama_server import KEY, free_port, start_server  # noqa: E402

QUESTION = "Tell me about the history of Paris."


def timed(pieces: Iterator[str]) -> tuple[float, float, str]:
    """(time to the first piece in s, the whole reply's time in s, its text). A piece is
    not a token: Hearth's engine host groups the tokens of ~40 ms into one piece (one
    server-sent event), so speeds are counted in the reply's tokens."""
    start = time.perf_counter()
    first, text = None, []
    for piece in pieces:
        text.append(piece)
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    assert first is not None
    return first, total, "".join(text)


def window_serve(model: Path, data: Path) -> tuple[Any, Callable[[], None]]:
    """The window's serve without a window: its inference thread with `model` loaded, and
    the API handing requests to it (what Privacy's switch starts). (client, stop)."""
    import threading

    import openai
    from PySide6.QtCore import QCoreApplication

    from desktop.app import make_engine_factory
    from desktop.chat.api_server import ApiServer
    from desktop.chat.profiles import make_profiles
    from desktop.chat.serve_shared import SharedBackend
    from desktop.paths import AppPaths
    from desktop.ui.chat.worker import InferenceThread

    app = QCoreApplication.instance() or QCoreApplication([])  # queued signals need one
    factory, describer = make_engine_factory()
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    inference.load_requested.emit(1, str(model), LoadOptions(n_ctx=DEFAULT_CONTEXT, n_threads=2))
    worker = inference.worker
    while worker.loaded_path is None:
        time.sleep(0.05)
    paths = AppPaths.resolve(data).ensure()
    backend = SharedBackend(
        make_profiles(paths), lambda: worker.loaded_path, inference.serve_requested.emit
    )
    port = free_port()
    api = ApiServer(backend, "bench-token", port)
    thread = threading.Thread(target=api.run, daemon=True)
    thread.start()
    while not api.serving:
        time.sleep(0.05)

    def stop() -> None:
        api.stop()
        thread.join(10)
        inference.stop()
        app.processEvents()

    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="bench-token")
    return client, stop


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--without-remote", action="store_true", help="no llama_cpp.server")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    import llama_cpp
    import openai

    model = find_embedded_model()
    direct = llama_cpp.Llama(str(model), n_ctx=DEFAULT_CONTEXT, n_threads=2, verbose=False)

    def run_direct() -> Iterator[str]:
        stream = direct.create_chat_completion(
            [{"role": "user", "content": QUESTION}],
            max_tokens=args.tokens,
            temperature=0.0,
            stream=True,
        )
        for chunk in stream:
            text = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
            if text:
                yield text

    port = free_port()
    server = start_server(model, port)  # (a few seconds; unused with --without-remote)
    remote = RemoteEngine(
        RemoteServer("bench", f"http://127.0.0.1:{port}/v1"), "smollm", KEY, NetworkPolicy(True)
    )
    remote.load(Path("unused"), LoadOptions())
    params = GenerationParams(max_tokens=args.tokens, temperature=0.0, seed=1)

    def run_remote() -> Iterator[str]:
        return remote.stream([ChatMessage("user", QUESTION)], params, CancelToken())

    serve_port = free_port()
    data = tempfile.mkdtemp(prefix="hearth-bench-")
    env = {
        **os.environ,
        "HEARTH_DATA_DIR": data,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    hearth = subprocess.Popen(
        [sys.executable, "-m", "desktop", "serve", "--port", str(serve_port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert hearth.stdout is not None
    hearth.stdout.readline()
    token = hearth.stdout.readline().rsplit(" ", 1)[1].strip()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{serve_port}/v1", api_key=token)
    name = client.models.list().data[0].id

    def asked(api: Any, model_id: str) -> Iterator[str]:
        stream = api.chat.completions.create(
            model=model_id,
            messages=[{"role": "user", "content": QUESTION}],
            max_tokens=args.tokens,
            temperature=0.0,
            stream=True,
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    window_client, window_stop = window_serve(model, Path(data) / "window")

    def run_serve() -> Iterator[str]:
        return asked(client, name)

    def run_window() -> Iterator[str]:
        return asked(window_client, model.stem)

    paths: dict[str, Callable[[], Iterator[str]]] = {
        "direct llama-cpp-python": run_direct,
        **({} if args.without_remote else {"RemoteEngine -> llama_cpp.server": run_remote}),
        "openai client -> hearth serve": run_serve,
        "openai client -> the window's serve": run_window,
    }
    results: dict[str, list[tuple[float, float]]] = {key: [] for key in paths}

    def measured(run: Callable[[], Iterator[str]]) -> tuple[float, float]:
        """(time to first token, tokens/s of the whole reply, first token included)."""
        first, total, text = timed(run())
        tokens = len(direct.tokenize(text.encode(), add_bos=False, special=False))
        return first, tokens / total

    try:
        for run in paths.values():  # a warm-up of each
            timed(run())
        for _round in range(args.rounds):
            for name_, run in paths.items():
                results[name_].append(measured(run))
                first_s, rate_ = results[name_][-1]
                print(f"round {_round + 1}: {name_}: {first_s * 1000:.0f} ms, {rate_:.1f} tok/s")
    finally:
        window_stop()
        remote.close()
        server.kill()
        hearth.terminate()
        hearth.wait(20)
    base = statistics.median(r[1] for r in results["direct llama-cpp-python"])
    for name_, rows in results.items():
        first = statistics.median(r[0] for r in rows) * 1000
        rate = statistics.median(r[1] for r in rows)
        print(f"{name_:35s} first token {first:5.0f} ms  {rate:6.1f} tok/s  ({rate / base:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
