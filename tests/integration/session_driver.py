"""A whole Hearth session in this process, watched by an audit hook: run as a script.

    python tests/integration/session_driver.py DATA_DIR EXPORT_DIR MARKER

Installs `sys.addaudithook` recording every attempt to resolve a name or open a network
connection, then runs the real app (`desktop.app.main`) with the embedded model: it
waits for the model, sends a message containing MARKER, waits for the reply, sends a
longer one (so the model's state is kept on disk), searches for MARKER in the Ctrl+K
palette, exports everything to EXPORT_DIR, and quits. Then it runs the command line's
`search` and `export` too. Prints one JSON line:
{"events": [...], "reply": str, "hits": int, "exported": [...], "states": int}.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

NETWORK_EVENTS = {
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
    "socket.sendto",
    "socket.sendmsg",
    "http.client.connect",
    "urllib.Request",
    "ftplib.connect",
    "smtplib.connect",
}
events: list[list[str]] = []


def audit(event: str, args: tuple[Any, ...]) -> None:
    if event in NETWORK_EVENTS:
        events.append([event, repr(args)[:200]])


def main() -> int:
    data_dir, export_dir, marker = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    sys.addaudithook(audit)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from io import StringIO

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop import app as hearth_app
    from desktop.cli import main as cli
    from desktop.storage.export import write_export
    from desktop.ui.shell import app_window

    outcome: dict[str, Any] = {"reply": "", "hits": 0, "exported": []}
    built: list[Any] = []
    build = app_window.build_main_window

    def capture(controller: Any, *args: Any, **kwargs: Any) -> Any:
        window = build(controller, *args, **kwargs)
        built.extend([controller, window])
        return window

    app_window.build_main_window = capture  # type: ignore[assignment]
    original_exec = QApplication.exec

    def finish(_stats: object) -> None:
        controller, window = built
        if not outcome["reply"]:
            # A longer second turn, so the engine keeps the conversation's state on disk.
            outcome["reply"] = controller.items[-1].content
            controller.params = dataclasses.replace(controller.params, max_tokens=8)
            notes = " ".join(f"Line {n} of my notes mentions {marker}." for n in range(25))
            controller.send(f"Here are my notes: {notes} Say ok.")
            return
        window.search_dialog.open_with(marker.split("-")[0])
        outcome["hits"] = window.search_dialog.model.rowCount()
        window.search_dialog.close()
        target = export_dir / "window.md"
        write_export(controller.store, target, "md")
        outcome["exported"].append(str(target))
        QApplication.quit()

    def ask() -> None:
        controller, _window = built
        controller.generation_ended.connect(finish)
        # Greedy, so the small model's answer (it repeats the marker) does not depend on luck.
        controller.params = dataclasses.replace(controller.params, temperature=0.0, seed=1)
        controller.send(f"Please repeat this code word exactly: {marker}")

    def start() -> None:
        controller, _window = built
        if controller.model_ready:
            ask()
        else:
            controller.model_ready_changed.connect(lambda ready: ready and ask())

    def exec_(*args: Any) -> int:
        QTimer.singleShot(0, start)
        QTimer.singleShot(120_000, QApplication.quit)  # never hang a test run
        return int(original_exec())

    QApplication.exec = exec_  # type: ignore[method-assign]
    code = hearth_app.main(["--data-dir", str(data_dir), "--ctx", "1024", "--threads", "2"])
    searched = StringIO()
    cli.main(["--data-dir", str(data_dir), "search", marker.split("-")[0]], out=searched)
    outcome["cli_search"] = searched.getvalue()
    target = export_dir / "cli.json"
    cli.main(["--data-dir", str(data_dir), "export", "--format", "json", str(target)])
    outcome["exported"].append(str(target))
    outcome["events"] = events
    outcome["states"] = len(list((data_dir / "states").glob("*.kv")))
    outcome["code"] = code
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
