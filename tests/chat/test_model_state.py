"""The loaded model's state and the reply's phase: plain transitions, no Qt."""

from __future__ import annotations

from pathlib import Path

from desktop.chat.model_state import ModelPhase, ModelState
from desktop.chat.reply import ReplyPhase
from desktop.core.types import LoadOptions

MODEL_PATH = "/models/tiny.gguf"


def test_a_late_answer_to_an_older_load_does_not_change_the_state() -> None:
    first = ModelState().load(1, "a", Path(MODEL_PATH), LoadOptions())
    second = first.load(2, "b", Path(MODEL_PATH), LoadOptions())
    assert second.failed(1, "old failure") is second
    assert second.progressed(1, 0.5) is second
    assert second.failed(2, "no").phase is ModelPhase.FAILED
    assert second.failed(2, "no").active_key is None


def test_loading_then_ready_then_the_same_model_is_not_loaded_again() -> None:
    loading = ModelState().load(3, "tiny", Path(MODEL_PATH), LoadOptions(n_ctx=512))
    assert loading.loading and loading.active_key == "tiny"
    assert loading.progressed(3, 1.7).progress == 1.0
    assert loading.wants("tiny", LoadOptions(n_ctx=512))
    assert not loading.wants("tiny", LoadOptions(n_ctx=1024))  # new settings: load again
    assert ModelState().unloaded() == ModelState() and not ModelState().wants(None, None)


def test_reply_phases_say_when_a_send_would_be_refused() -> None:
    assert [p.busy for p in ReplyPhase] == [False, True, True, True]
    assert [p.generating for p in ReplyPhase] == [False, False, True, True]
