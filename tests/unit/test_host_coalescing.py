"""The engine host sends reply pieces that come close together in one frame: the first at
once (the time to the first word does not change), the text whole and in order."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from typing import Any

from desktop.core.types import ChatMessage, GenerationParams
from desktop.inference.engine import CancelToken, Usage
from desktop.inference.host import protocol
from desktop.inference.host.server import COALESCE_S, HostServer


class BurstEngine:
    """Pieces as fast as it can, then a pause longer than the coalescing window, then more."""

    def __init__(self) -> None:
        self.usage = Usage()

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[str]:
        yield from (f"a{n} " for n in range(50))
        time.sleep(COALESCE_S * 2)
        yield from (f"b{n} " for n in range(50))
        self.usage = Usage(prompt_tokens=5, generated_tokens=100)


def frames(events: io.BytesIO) -> list[dict[str, Any]]:
    events.seek(0)
    found = []
    while (frame := protocol.read_frame(events)) is not None:
        found.append(frame)
    return found


def test_close_pieces_travel_together_and_the_text_is_whole() -> None:
    events = io.BytesIO()
    server = HostServer(io.BytesIO(), events)
    server._engine = BurstEngine()  # type: ignore[assignment]
    request = {
        "messages": protocol.encode_messages([ChatMessage("user", "Hi")]),
        "params": protocol.encode_params(GenerationParams()),
    }
    server._generate(7, request)
    sent = frames(events)
    tokens = [frame["text"] for frame in sent if frame["ev"] == "token"]
    expected = "".join(f"a{n} " for n in range(50)) + "".join(f"b{n} " for n in range(50))
    assert "".join(tokens) == expected
    assert tokens[0] == "a0 "  # the first piece is not held back
    assert 3 <= len(tokens) <= 6  # a burst is one or two frames, not fifty
    assert sent[-1]["ev"] == "done" and sent[-1]["generated_tokens"] == 100
    # each frame says how many pieces it holds (a stopped reply is counted from them)
    assert sum(frame["n"] for frame in sent if frame["ev"] == "token") == 100
