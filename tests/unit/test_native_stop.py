"""The stop flag llama.cpp reads natively, and the cancel token that raises it."""

from __future__ import annotations

import threading

import llama_cpp

from desktop.inference.engine import CancelToken
from desktop.inference.native_stop import NativeStop


def test_ggml_reads_the_flag_both_ways() -> None:
    stop = NativeStop.make(llama_cpp)
    assert stop is not None, "ggml_is_empty is not reachable through llama_cpp"
    assert not stop.asked()
    stop.set(True)
    assert stop.asked()
    stop.set(False)
    assert not stop.asked()


def test_a_library_without_the_function_keeps_the_python_callback() -> None:
    class NoCallbackType:
        pass  # no ggml_abort_callback: the cast cannot be made

    assert NativeStop.make(NoCallbackType()) is None


def test_a_watched_token_raises_the_flag_from_the_cancelling_thread() -> None:
    stop = NativeStop.make(llama_cpp)
    assert stop is not None
    token = CancelToken()
    unwatch = token.watch(lambda: stop.set(True))
    thread = threading.Thread(target=token.cancel)
    thread.start()
    thread.join()
    assert stop.asked()
    stop.set(False)
    unwatch()
    token.reset()
    token.cancel()  # no longer watched
    assert not stop.asked()


def test_watching_a_cancelled_token_hears_it_at_once() -> None:
    token = CancelToken()
    token.cancel()
    heard: list[int] = []
    token.watch(lambda: heard.append(1))
    assert heard == [1]
