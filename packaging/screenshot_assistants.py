"""Render Hearth's Assistants page and save it as a PNG.

Builds the real page over a temporary `AssistantStore` (the shipped built-ins plus one
assistant of the user's with two examples) on Qt's offscreen platform, shows the user's
assistant (the list shows the built-ins above it) and saves `page.grab()`. `--builtin`
shows the built-in Writer instead, read-only.

    python packaging/screenshot_assistants.py [--builtin] [resources/screenshot-assistants.png]

Thread: the main thread runs the GUI.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.core.assistants import Example  # noqa: E402
from desktop.storage.assistants import AssistantStore, builtin_assistants_dir  # noqa: E402
from desktop.ui.assistants.page import AssistantsPage  # noqa: E402

SIZE = (960, 680)
DEFAULT_OUT = ROOT / "resources" / "screenshot-assistants.png"
MODELS = [
    ("smollm2-135m-instruct-q4_1", "SmolLM2 135M Instruct (built in)"),
    ("qwen2.5-0.5b-instruct-q4_k_m", "Qwen2.5 0.5B Instruct"),
]


def make_store(user_dir: Path) -> tuple[AssistantStore, str]:
    store = AssistantStore(builtin_assistants_dir(), user_dir)
    tutor = store.create(
        "Maths tutor",
        "You are a patient maths tutor for a twelve-year-old. Explain one step at a time "
        "in simple words, then check the answer. Never just give the result.",
        (
            Example("What is 15% of 80?", "15% means 15 out of 100. 80 × 0.15 = 12. So it's 12."),
            Example(
                "Is 0.5 bigger than 0.45?",
                "Yes. Write both with two decimals: 0.50 and 0.45. 50 is more than 45.",
            ),
        ),
        description="Explains maths step by step, for school homework.",
        model=MODELS[1][0],
        settings={"temperature": 0.3, "max_new_tokens": 400},
    )
    return store, tutor.id


def grab(page: AssistantsPage, app: QApplication, path: Path) -> None:
    page.resize(*SIZE)
    page.show()
    for _ in range(5):
        app.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not page.grab().save(str(path)):
        raise SystemExit(f"Could not write {path}.")
    print(f"Saved {path}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Save a picture of the Assistants page.")
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--builtin", action="store_true", help="show a built-in assistant")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    from desktop.ui.common.theme import Theme
    from desktop.ui.shell.style import apply_theme

    assert isinstance(app, QApplication)
    apply_theme(app, Theme(parent=app))  # the light theme, as the app applies it
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory(prefix="hearth-assistants-") as tmp:
        store, tutor = make_store(Path(tmp) / "assistants")
        page = AssistantsPage(store, lambda: MODELS)
        page.set_current(tutor)
        page.select("writer" if args.builtin else tutor)
        grab(page, app, args.out)
        page.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
