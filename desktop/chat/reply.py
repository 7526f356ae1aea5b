"""The reply's phase: one explicit state instead of a combination of flags.

    IDLE ──send──▶ WAITING (the model is still loading) ──loaded──▶ STREAMING
    IDLE ──send──▶ STREAMING ──Stop──▶ STOPPING ──finished──▶ IDLE
    WAITING ──Stop──▶ IDLE (the queued message stays, unsent)

Plain Python. Any thread.
"""

from __future__ import annotations

from enum import Enum


class ReplyPhase(Enum):
    IDLE = "idle"  # no reply asked for
    WAITING = "waiting"  # a message waits for the model to finish loading
    STREAMING = "streaming"  # the worker is generating the reply
    STOPPING = "stopping"  # Stop was pressed; the worker has not confirmed yet

    @property
    def generating(self) -> bool:
        """A request is with the worker (streaming, or stopping)."""
        return self in (ReplyPhase.STREAMING, ReplyPhase.STOPPING)

    @property
    def busy(self) -> bool:
        """Sending now would be refused."""
        return self is not ReplyPhase.IDLE
