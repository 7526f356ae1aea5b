"""Render Hearth's Models page over a temporary library and save it as a PNG.

The library holds the embedded model (when it is installed; else a tiny stand-in), one
tiny generated model imported through the real trial load, and a stored speed result for
the embedded model, which is shown as loaded. Qt's offscreen platform, a fixed size.

    python packaging/screenshot_models.py [OUT] [--tab details|settings|speed] [--low-memory]

OUT defaults to resources/screenshot-models.png. `--low-memory` pretends only 64 MB are
free, to show the warning. Thread: the main thread runs the GUI.
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

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.core.errors import EmbeddedModelError  # noqa: E402
from desktop.inference.bench_results import BenchResults  # noqa: E402
from desktop.inference.embedded import find_embedded_model  # noqa: E402
from desktop.inference.library import EMBEDDED_KEY, ModelLibrary  # noqa: E402
from desktop.inference.sysmem import available_memory  # noqa: E402
from desktop.ui.models.page import ModelsPage  # noqa: E402
from tests import tinymodels  # noqa: E402

SIZE = (900, 640)
TABS = {"details": 0, "settings": 1, "speed": 2}
BENCH = {
    "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "engine": "llama.cpp",
    "threads": None,
    "n_ctx": 2048,
    "max_tokens": 128,
    "runs": 3,
    "load_s": 0.2512,
    "time_to_first_token_s": 0.118,
    "prompt_tokens_per_s": 412.3,
    "generation_tokens_per_s": 101.4,
    "prompt_tokens": 48,
    "generated_tokens": 128,
}


def settle(ms: int = 150) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def build(work: Path, low_memory: bool) -> ModelsPage:
    try:
        embedded = find_embedded_model(verify=False)
    except EmbeddedModelError:
        embedded = tinymodels.write_tiny_llama_gguf(work / "builtin.gguf", name="built-in")
    incoming = tinymodels.write_tiny_llama_gguf(
        work / "tiny-llama-f32.gguf", chat_template="{{ messages }}", name="Tiny Llama"
    )
    library = ModelLibrary(
        work / "models",
        work / "models.json",
        embedded,
        free_memory=(lambda: 64 << 20) if low_memory else available_memory,
    )
    library.import_model(incoming)
    results = BenchResults(work / "bench.json")
    results.put(EMBEDDED_KEY, BENCH)
    page = ModelsPage(library, results)
    page.set_loaded(EMBEDDED_KEY)
    page.select(EMBEDDED_KEY)
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", nargs="?", default=str(ROOT / "resources" / "screenshot-models.png"))
    parser.add_argument("--tab", choices=sorted(TABS), default="details")
    parser.add_argument("--low-memory", action="store_true", help="show the memory warning")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from desktop.ui.common.theme import Theme
    from desktop.ui.shell.style import apply_theme

    assert isinstance(app, QApplication)
    apply_theme(app, Theme(parent=app))  # the light theme, as the app applies it
    with tempfile.TemporaryDirectory(prefix="hearth-models-shot-") as work:
        page = build(Path(work), args.low_memory)
        page.details.tabs.setCurrentIndex(TABS[args.tab])
        page.resize(*SIZE)
        page.show()
        settle()
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not page.grab().save(str(out)):
            print(f"Could not write {out}", file=sys.stderr)
            return 1
        print(f"Saved {out}")
        page.close()
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
