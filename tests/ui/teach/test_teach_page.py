"""The Teach page: examples from an assistant, conversations or a file (count, tokens,
estimate; bad files refused with the line), the missing component said in a sentence, and
real training runs of a tiny generated model in the training child (progress, the loss
drawn, the before/after table, the adapter kept encrypted, "Chat with it"; Pause stops the
child and Cancel keeps nothing), with the window responsive meanwhile."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer
from pytestqt.qtbot import QtBot

from desktop.core.assistants import Assistant, Example
from desktop.storage.adapters import AdapterStore
from desktop.storage.conversations import ConversationStore
from desktop.teach.trainer import INSTALL, missing_component
from desktop.ui.teach.page import TeachPage
from tests import tinymodels

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
needs_torch = pytest.mark.skipif(
    missing_component() is not None, reason="the training component (torch) is not installed"
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tinymodels.write_tiny_llama_gguf(
        tmp_path_factory.mktemp("teach") / "tiny.gguf", chat_template=CHATML
    )


def assistant(count: int) -> Assistant:
    pairs = tuple(Example(f"Colour of thing {n}?", f"ANSWER: blue {n}") for n in range(count))
    return Assistant("sky", "Sky", "You name colours.", examples=pairs)


@pytest.fixture
def page(qtbot: QtBot, tiny_model: Path, store: ConversationStore) -> Iterator[TeachPage]:
    shown = TeachPage(
        lambda: [("tiny-key", "tiny", tiny_model)],
        lambda: [assistant(10), assistant(0)],
        AdapterStore(store.db),
        store,
        missing=None,
        threads=2,
    )
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    shown.shutdown()


def test_examples_from_an_assistant_conversations_or_a_file(
    qtbot: QtBot, page: TeachPage, store: ConversationStore, tmp_path: Path
) -> None:
    assert page.assistant_combo.count() == 1  # only assistants that have examples
    assert page.assistant_combo.itemText(0) == "Sky (10 examples)"
    assert page.summary.text().startswith("10 examples (8 to learn from, 2 held out to check), ~")
    assert page.summary.text().endswith(  # 45 s to load and check, ~320 tokens 3 times
        "~320 tokens with 4 general ones mixed in; about 60 s here with 2 threads."
    )
    assert page.teach_button.isEnabled()

    for n in range(3):  # a conversation of three exchanges, the last reply unfinished
        conversation = store.create_conversation(f"chat {n}")
        for k in range(3):
            store.add_message(conversation.id, "user", f"q{n}{k}")
            store.add_message(
                conversation.id, "assistant", f"a{n}{k}", status="complete" if k < 2 else "error"
            )
    page.refresh()
    page.source.setCurrentIndex(1)
    assert page.summary.text() == "Choose where the examples come from."
    for row in range(2):
        page.conversation_list.item(row).setCheckState(
            page.conversation_list.item(row).checkState().Checked
        )
    assert page.summary.text().startswith("4 examples (3 to learn from, 1 held out")

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "answer": "b"}\n{"prompt": "c"}\n', encoding="utf-8")
    with qtbot.waitSignal(page.use_file(bad).finished, timeout=5000):
        pass
    assert page.summary.text() == "“bad.jsonl”, line 2: the 'answer' is missing or empty."
    assert not page.teach_button.isEnabled()
    good = tmp_path / "good.jsonl"
    good.write_text(
        "".join(json.dumps({"prompt": f"p{n}", "answer": f"a{n}"}) + "\n" for n in range(50)),
        encoding="utf-8",
    )
    with qtbot.waitSignal(page.use_file(good).finished, timeout=5000):
        pass
    assert page.summary.text().startswith("50 examples (40 to learn from, 10 held out")
    assert page.teach_button.isEnabled()


def test_without_the_component_the_page_says_how_to_add_it(
    qtbot: QtBot, tiny_model: Path, store: ConversationStore
) -> None:
    sentence = f"Teaching needs the training component (torch missing). Add it with: {INSTALL}"
    page = TeachPage(
        lambda: [("tiny-key", "tiny", tiny_model)],
        lambda: [assistant(10)],
        AdapterStore(store.db),
        store,
        missing=sentence,
    )
    qtbot.addWidget(page)
    page.show()
    assert page.missing_note.isVisible() and page.missing_note.text() == sentence
    assert not page.teach_button.isEnabled()


def run_until_done(qtbot: QtBot, page: TeachPage, timeout_ms: int = 240_000) -> float:
    """Wait for the training to end; the longest the GUI thread went without running a
    10 ms timer meanwhile (its stall), in ms."""
    clock, worst = QElapsedTimer(), [0.0]
    clock.start()

    def tick() -> None:
        worst[0] = max(worst[0], clock.restart())

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    qtbot.waitUntil(lambda: not page.running, timeout=timeout_ms)
    timer.stop()
    return worst[0]


@needs_torch
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_tiny_model_is_taught_from_the_page(
    qtbot: QtBot, page: TeachPage, store: ConversationStore
) -> None:
    page.name_edit.setText("sky")
    started = time.monotonic()
    page.start()
    assert page.running and page.progress.isVisible()
    stall = run_until_done(qtbot, page)
    print(f"\ntiny teach run {time.monotonic() - started:.1f} s, worst GUI stall {stall:.0f} ms")
    assert page.summary.text().startswith("Taught “sky” in "), page.summary.text()
    assert page.plot.steps and page.plot.total >= len(page.plot.steps)
    assert page.table.isVisible() and page.table.rowCount() == 2
    assert [page.table.item(0, c) is not None for c in range(4)] == [True] * 4
    assert page.compare_note.text().startswith("Held-out examples, never seen in training: ")
    kept = AdapterStore(store.db).get("sky")
    assert (kept.base, kept.origin) == ("tiny-key", "taught from 10 examples")
    with qtbot.waitSignal(page.chat_requested) as chat:
        page.chat_button.click()
    assert chat.args == ["adapter:sky"]
    assert "torch" not in sys.modules  # trained in the child, never in the window
    assert stall < 500


@needs_torch
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pause_stops_the_training_process_and_cancel_keeps_nothing(
    qtbot: QtBot, page: TeachPage, store: ConversationStore
) -> None:
    page.name_edit.setText("never")
    page.start()
    run = page.run
    assert run is not None
    qtbot.waitUntil(lambda: run._process is not None, timeout=30_000)
    process = run._process
    assert process is not None
    page.pause_button.click()
    assert page.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: child_state(process.pid) == "T", timeout=5000)  # stopped
    page.pause_button.click()
    qtbot.waitUntil(lambda: child_state(process.pid) != "T", timeout=5000)
    page.cancel_button.click()
    run_until_done(qtbot, page, 30_000)
    assert page.summary.text() in (
        "Teaching was cancelled; nothing was kept.",
        "Teaching was stopped; nothing was kept.",
    )
    assert AdapterStore(store.db).find("never") is None
    assert not list(Path("/dev/shm").glob("hearth-teach-*"))
    assert page.teach_button.isEnabled()


def child_state(pid: int) -> str:
    """The process's state letter in /proc (T: stopped); "" once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]
