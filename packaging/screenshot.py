"""Render Hearth's main window with a short conversation and save it as a PNG.

Builds the real window, controller and inference thread on Qt's offscreen platform at a
fixed size over a temporary conversation store (a few earlier chats fill the sidebar),
drives two turns through the controller (the first answer regenerated once, so it has
two versions), waits for the replies and saves `window.grab()` while the second answer
streams. By default it uses the real engine (`desktop.app.make_engine_factory`)
with the embedded model when both are available; `--fake`, or their absence, uses the
small scripted engine below, so the picture can be made on any machine in a second.

    python packaging/screenshot.py [--fake] [--model PATH] [--out resources/screenshot.png]

Thread: the main thread runs the GUI; inference runs on the app's inference thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer, SignalInstance  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.chat.profiles import ChatProfiles  # noqa: E402
from desktop.core.types import (  # noqa: E402
    ChatMessage,
    GenerationParams,
    LoadOptions,
    ModelDescription,
)
from desktop.inference.engine import (  # noqa: E402
    CancelToken,
    Engine,
    EngineInfo,
    ProgressCallback,
    Usage,
)
from desktop.inference.library import ModelLibrary  # noqa: E402
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir  # noqa: E402
from desktop.storage.conversations import ConversationStore  # noqa: E402
from desktop.storage.migrations import open_and_migrate  # noqa: E402
from desktop.ui.chat.controller import ChatController  # noqa: E402
from desktop.ui.chat.worker import InferenceThread  # noqa: E402
from desktop.ui.shell.app_window import build_main_window  # noqa: E402

SIZE = (1180, 720)
EARLIER_CHATS = [
    "Summarise my meeting notes from Tuesday",
    "Explain this clause in my lease",
    "Plan a three-day walk in the Lake District",
    "Why is my sourdough so dense?",
]
QUESTIONS = [
    "What is the capital of France?",
    "Give me three tips for sleeping better.",
]
ANSWERS = [
    "Try the classic mnemonic **“My Very Educated Mother Just Served Us Nachos”**:\n\n"
    "1. **M**ercury, **V**enus, **E**arth, **M**ars\n"
    "2. **J**upiter, **S**aturn, **U**ranus, **N**eptune\n\n"
    "The first letter of each word is a planet, closest to the Sun first.",
    "Slicing with a step of `-1` walks the string backwards:\n\n"
    "```python\n"
    "def reverse(text: str) -> str:\n"
    "    return text[::-1]\n\n"
    'print(reverse("hearth"))  # htraeh\n'
    "```\n\n"
    "It works for any sequence, and it never changes the original string.",
]


class ScriptedEngine:
    """Answers each question with the next scripted reply, a few characters at a time."""

    info = EngineInfo(name="scripted", version="1", formats=("gguf",))

    def __init__(self) -> None:
        self.usage = Usage()
        self._turn = 0

    def load(
        self, path: Path, options: LoadOptions, progress: ProgressCallback | None = None
    ) -> None:
        for step in range(5):
            if progress is not None:
                progress(step / 4)
            time.sleep(0.02)

    @property
    def n_ctx(self) -> int:
        return 4096

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(len(m.content) // 4 + 4 for m in messages)

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[str]:
        self.usage = Usage(prompt_tokens=self.count_prompt_tokens(messages))
        reply = ANSWERS[self._turn % len(ANSWERS)]
        self._turn += 1
        return self._pieces(reply, cancel)

    def _pieces(self, reply: str, cancel: CancelToken) -> Iterator[str]:
        for start in range(0, len(reply), 4):
            if cancel.cancelled:
                return
            time.sleep(0.004)
            self.usage.generated_tokens += 1
            yield reply[start : start + 4]

    def close(self) -> None:
        pass


def choose_engine(
    fake: bool, model: str | None
) -> tuple[Callable[[Path], Engine], Callable[[Path, Engine, float], ModelDescription] | None, str]:
    """The engine factory, describer and model path: the real ones unless `fake`."""
    if fake:
        path = model or "/models/SmolLM2-135M-Instruct.gguf"
        return (lambda _path: ScriptedEngine()), None, path
    from desktop.app import make_engine_factory
    from desktop.inference.embedded import find_embedded_model

    factory, describer = make_engine_factory()
    return factory, describer, model or str(find_embedded_model())


def wait_for(signal: SignalInstance, timeout_s: float) -> None:
    """Spin the event loop until `signal` fires (or the timeout passes)."""
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)


def settle(ms: int = 150) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--fake", action="store_true", help="use the scripted engine")
    parser.add_argument("--model", help="model file for the real engine")
    parser.add_argument(
        "--stream-s",
        type=float,
        default=1.2,
        help="how long the second answer streams before the picture",
    )
    parser.add_argument("--out", default=str(ROOT / "resources" / "screenshot.png"))
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from desktop.ui.common.theme import Theme
    from desktop.ui.shell.style import apply_theme

    assert isinstance(app, QApplication)
    apply_theme(app, Theme(parent=app))  # the light theme, as the app applies it
    with tempfile.TemporaryDirectory(prefix="hearth-screenshot-") as data_dir:
        db = open_and_migrate(Path(data_dir) / "hearth.db")
        try:
            return take(args, ConversationStore(db), Path(data_dir))
        finally:
            db.close()
            del app


def seed(store: ConversationStore) -> None:
    for title in EARLIER_CHATS:
        conversation = store.create_conversation()
        store.add_message(conversation.id, "user", title)
        store.add_message(conversation.id, "assistant", "…")
    store.set_pinned(conversation.id, True)


def take(args: argparse.Namespace, store: ConversationStore, data_dir: Path) -> int:
    seed(store)
    factory, describer, model_path = choose_engine(args.fake, args.model)
    # The assistant and model pickers: the built-in assistants, and the model in a library.
    library = ModelLibrary(data_dir / "models", data_dir / "models.json", Path(model_path))
    profiles = ChatProfiles(library, AssistantStore(builtin_assistants_dir(), data_dir / "mine"))
    inference = (
        InferenceThread(factory, describe=describer) if describer else InferenceThread(factory)
    )
    inference.start()
    try:
        controller = ChatController(inference, store=store, profiles=profiles)
        window = build_main_window(controller)
        window.resize(*SIZE)
        window.show()
        if library.default_entry() is not None:
            controller.start()
        else:  # the scripted engine's made-up file: no library entry
            controller.load_model(model_path)
        wait_for(controller.model_ready_changed, timeout_s=120)
        controller.params = GenerationParams(max_tokens=400, temperature=0.0, seed=7)
        if not controller.model_ready:
            print("The model did not load.", file=sys.stderr)
            return 1
        # The first question is answered in full; the picture is taken while the second
        # answer is still streaming in.
        *answered, streaming = QUESTIONS
        for question in answered:
            window.composer.setPlainText(question)
            window.send_button.click()
            wait_for(controller.generation_ended, timeout_s=120)
        controller.regenerate(1)  # a second version of the first answer: ‹ 2/2 ›
        wait_for(controller.generation_ended, timeout_s=120)
        window.composer.setPlainText(streaming)
        window.send_button.click()
        deadline = time.monotonic() + args.stream_s
        while time.monotonic() < deadline:
            settle(50)
        window.composer.setPlainText("")
        settle(60)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out)):
            print(f"Could not write {out}", file=sys.stderr)
            return 1
        print(f"Saved {out}")
        controller.stop()
        wait_for(controller.generation_ended, timeout_s=10)
    finally:
        if not inference.stop():
            print("The inference thread did not stop.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
