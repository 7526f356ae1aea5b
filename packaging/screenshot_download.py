"""A new user gets a model in two clicks, in the real app, and chats with it; screenshots.

Runs Hearth itself (desktop.app.main) on a fresh data folder with the network switch on,
against a Hugging Face stand-in on loopback (tests/hub_server.py, `HF_ENDPOINT`) that serves
the built-in model's file, throttled, under a catalogue entry added to the shipped
catalogue (`HEARTH_CATALOGUE`). A driver then does what a person does: Manage models… →
Download… → the first row → Download → Yes (the one-time question) → watches the download
→ the model is checked and imported → Use in this chat → asks a question. It saves:

    OUT_DIR/screenshot-catalogue.png   the catalogue before the download
    OUT_DIR/screenshot-download.png    the catalogue with the download in progress
    OUT_DIR/screenshot-download-chat.png  the window answering with the downloaded model
    OUT_DIR/screenshot-download-privacy.png  Privacy, listing the host contacted

    DISPLAY=:43 python packaging/screenshot_download.py [OUT_DIR]   (a real X server)
    python packaging/screenshot_download.py [OUT_DIR]               (offscreen)

OUT_DIR defaults to resources/. Needs the built-in model (packaging/dev.sh setup).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("HF_HUB_OFFLINE", None)

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget  # noqa: E402

from desktop.inference.embedded import find_embedded_model  # noqa: E402
from tests.hub_server import HubServer, write_catalogue  # noqa: E402

REPO, FILE = "local/SmolLM2-135M-Instruct-GGUF", "smollm2-135m-instruct-served.gguf"
RATE = 6 * 1024 * 1024  # bytes per second: about 16 s for the 98 MB file
QUESTION = "What is the capital of France?"


class Driver:
    """Steps run from the event loop, each waiting for a condition (no sleeping in Qt)."""

    def __init__(self, app: QApplication, out: Path) -> None:
        self.app, self.out = app, out
        self.steps: list[tuple[str, Callable[[], bool]]] = []
        self.started = time.monotonic()
        self.failed: str | None = None
        self.log: list[str] = []

    def then(self, name: str, step: Callable[[], bool]) -> Driver:
        self.steps.append((name, step))
        return self

    def start(self) -> None:
        self.step_started = time.monotonic()
        QTimer.singleShot(200, self._tick)

    def _tick(self) -> None:
        if not self.steps:
            self.app.quit()
            return
        name, step = self.steps[0]
        try:
            done = step()
        except Exception as error:  # a failed step ends the run with its reason
            self.failed = f"{name}: {error!r}"
            self.app.quit()
            return
        if done:
            self.log.append(f"{time.monotonic() - self.started:6.1f} s  {name}")
            print(self.log[-1], flush=True)
            self.steps.pop(0)
            self.step_started = time.monotonic()
        elif time.monotonic() - self.step_started > 120:
            self.failed = f"{name}: timed out"
            self.app.quit()
            return
        QTimer.singleShot(100, self._tick)


def find(kind: str) -> QWidget | None:
    for widget in QApplication.topLevelWidgets():
        if type(widget).__name__ == kind and widget.isVisible():
            return widget
    return None


def controller() -> object:
    """The window's chat controller (found, as a driver outside the app has no handle)."""
    import gc

    return next(o for o in gc.get_objects() if type(o).__name__ == "ChatController")


def save(widget: QWidget, name: str, out: Path) -> bool:
    path = out / name
    ok = widget.grab().save(str(path))
    print(f"saved {path}" if ok else f"could not save {path}", flush=True)
    return ok


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources"
    out.mkdir(parents=True, exist_ok=True)
    model = find_embedded_model()
    with tempfile.TemporaryDirectory(prefix="hearth-download-demo-") as work:
        base = Path(work)
        hub = HubServer().start()
        sha = hub.add(REPO, FILE, model.read_bytes())
        hub.faults.rate = RATE
        served = {
            "id": "smollm2-135m-local",
            "name": "SmolLM2 135M Instruct (served locally)",
            "repo": REPO,
            "file": FILE,
            "quantization": "Q4_1",
            "parameters": 134_515_008,
            "size_bytes": model.stat().st_size,
            "sha256": sha,
            "context_length": 8192,
            "shape": {"n_layer": 30, "n_head_kv": 3, "head_dim": 64},
            "good_at": "This demonstration: the built-in model's file from a loopback server.",
        }
        shipped = json.loads((ROOT / "resources" / "catalogue.json").read_text())["models"]
        catalogue = write_catalogue(base / "catalogue.json", [served, *shipped])
        data = base / "data"
        (data / "config").mkdir(parents=True)
        (data / "config" / "privacy.json").write_text('{"network_allowed": true}')
        os.environ.update(
            HEARTH_DATA_DIR=str(data), HEARTH_CATALOGUE=str(catalogue), HF_ENDPOINT=hub.endpoint
        )
        os.environ.setdefault("HEARTH_PASSPHRASE", "demo passphrase, not a secret")
        app = QApplication(sys.argv[:1])
        driver = Driver(app, out)
        state: dict[str, QWidget] = {}

        def window() -> bool:
            found = find("MainWindow")
            if found is not None:
                state["window"] = found
            return found is not None

        def open_models() -> bool:
            state["window"].models_requested.emit()  # type: ignore[attr-defined]
            return True

        def models_page() -> bool:
            page = find("ModelsPage")
            if page is not None:
                state["page"] = page
                page.download_button.click()  # type: ignore[attr-defined]
            return page is not None

        def catalogue_shown() -> bool:
            dialog = find("CatalogueDialog")
            if dialog is None:
                return False
            state["dialog"] = dialog
            dialog.table.setCurrentItem(dialog.table.topLevelItem(0))  # type: ignore[attr-defined]
            return save(dialog, "screenshot-catalogue.png", out)

        def download() -> bool:
            QTimer.singleShot(300, answer_consent)
            state["dialog"].download_button.click()  # type: ignore[attr-defined]
            return True

        def answer_consent() -> None:
            box = QApplication.activeModalWidget()
            if isinstance(box, QMessageBox):
                print(f"asked: {box.text()!r}", flush=True)
                box.button(QMessageBox.StandardButton.Yes).click()
            else:
                QTimer.singleShot(200, answer_consent)

        def halfway() -> bool:
            rows = state["dialog"].download_list.rows  # type: ignore[attr-defined]
            bar = next(iter(rows.values()))[0] if rows else None
            if bar is None or bar.value() < 400:
                return False
            return save(state["dialog"], "screenshot-download.png", out)

        def imported() -> bool:
            page = state["page"]
            names = [e.name for e in page.library.entries()]  # type: ignore[attr-defined]
            if FILE not in names or page.imports.is_busy():  # type: ignore[attr-defined]
                return False
            print(f"models page says: {page.message.text()!r}", flush=True)  # type: ignore[attr-defined]
            state["dialog"].close()
            page.select(str(page.library.models_dir / FILE))  # type: ignore[attr-defined]
            page.details.use_button.click()  # type: ignore[attr-defined]
            page.close()
            return True

        def ask() -> bool:
            window = state["window"]
            if controller().busy:  # type: ignore[attr-defined]
                return False
            window.composer.setPlainText(QUESTION)  # type: ignore[attr-defined]
            window.send_button.click()  # type: ignore[attr-defined]
            state["asked"] = window
            return True

        def answered() -> bool:
            window = state["window"]
            if controller().busy:  # type: ignore[attr-defined]
                return False
            return save(window, "screenshot-download-chat.png", out)

        def privacy() -> bool:
            state["window"].privacy_requested.emit()  # type: ignore[attr-defined]
            return True

        def privacy_shown() -> bool:
            dialog = find("PrivacyDialog")
            if dialog is None:
                return False
            save(dialog, "screenshot-download-privacy.png", out)
            dialog.close()
            return True

        (
            driver.then("window shown", window)
            .then("Manage models…", open_models)
            .then("Models page → Download…", models_page)
            .then("catalogue shown", catalogue_shown)
            .then("Download (and Yes once)", download)
            .then("download 40 % (screenshot)", halfway)
            .then("downloaded, checked and imported; Use in this chat", imported)
            .then("question sent", ask)
            .then("answered", answered)
            .then("Privacy opened", privacy)
            .then("Privacy lists the host (screenshot)", privacy_shown)
        ).start()
        from desktop.app import main as hearth_main

        code = hearth_main([])
        hub.stop()
        print(f"requests to the loopback Hub: {len(hub.requests)}")
        if driver.failed:
            print(f"FAILED: {driver.failed}", file=sys.stderr)
            return 1
        return code


if __name__ == "__main__":
    sys.exit(main())
