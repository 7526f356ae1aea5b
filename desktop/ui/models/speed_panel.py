"""`SpeedPanel`: "How fast is this model here?" on the Models page.

Shows the last stored speed test of the selected model (`BenchResults`) and runs a new one
as a separate process (`bench_command(path)`, normally `hearth bench --model PATH --json`)
through `QProcess`, so the GUI never waits and a crash in the engine only ends the child.
Cancel kills the child. The result is the JSON document the child prints on stdout; a
failure shows the child's last lines of stderr.

Signals: measured(str key) after a result was stored. Thread: GUI only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, QProcessEnvironment, QTimer, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.core.errors import HearthError
from desktop.inference.bench_results import BenchResults

REQUIRED = ("load_s", "time_to_first_token_s", "prompt_tokens_per_s", "generation_tokens_per_s")
STDERR_KEEP = 16 * 1024


def parse_bench_output(text: str) -> dict[str, Any] | None:
    """The last JSON object in `text` that carries the four speed figures, or None."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    for index, char in enumerate(text):
        if char != "{" or (index and text[index - 1] != "\n"):
            continue
        try:
            value, _ = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and all(
            isinstance(value.get(k), int | float) and not isinstance(value.get(k), bool)
            for k in REQUIRED
        ):
            found = value
    return found


def last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-count:])


def describe_time(iso: Any) -> str:
    try:
        return datetime.fromisoformat(str(iso)).astimezone().strftime("%d %b %Y, %H:%M")
    except ValueError:
        return "unknown"


class SpeedPanel(QWidget):
    """The speed section; see the module docstring."""

    measured = Signal(str)

    def __init__(
        self,
        results: BenchResults,
        bench_command: Callable[[Path], list[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._results = results
        self._command = bench_command
        self._key: str | None = None
        self._path: Path | None = None
        self._running_key: str | None = None
        self._process: QProcess | None = None
        self._cancelled = False
        self._started = 0.0
        self._out = b""
        self._err = b""
        self._ticker = QTimer(self)
        self._ticker.setInterval(500)
        self._ticker.timeout.connect(self._show_progress)

        column = QVBoxLayout(self)
        intro = QLabel(
            "How fast this model runs on this computer: it is loaded in a separate process "
            "and writes a short story a few times."
        )
        intro.setWordWrap(True)
        intro.setObjectName("mutedText")
        column.addWidget(intro)
        form = QFormLayout()
        form.setVerticalSpacing(4)
        self.figures: dict[str, QLabel] = {}
        for name, label in (
            ("load", "Load time"),
            ("ttft", "Time to first token"),
            ("prompt", "Prompt processing"),
            ("generation", "Generation"),
            ("threads", "Threads"),
            ("when", "Measured"),
        ):
            self.figures[name] = QLabel("—")
            form.addRow(label, self.figures[name])
        column.addLayout(form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("mutedText")
        column.addWidget(self.status)
        row = QHBoxLayout()
        self.measure_button = QPushButton("Measure speed")
        self.measure_button.clicked.connect(self.measure)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.measure_button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        column.addLayout(row)
        column.addStretch(1)
        self.show_entry(None, None)

    # --- what is shown -----------------------------------------------------------------

    def show_entry(self, key: str | None, path: Path | None) -> None:
        """Show the stored figures of `key` (None: nothing usable selected)."""
        self._key, self._path = key, path
        result = self._results.get(key) if key else None
        if result is None:
            for label in self.figures.values():
                label.setText("—")
            self.figures["when"].setText("never" if key else "—")
        else:
            self._show_result(result)
        if not self.is_running():
            self.status.setText("")
            self.status.setProperty("error", False)
        self._update_buttons()

    def _show_result(self, result: dict[str, Any]) -> None:
        """The stored figures; one missing or damaged in the file shows as "—"."""
        formats = {
            "load": ("load_s", "{:.2f} s", 1),
            "ttft": ("time_to_first_token_s", "{:.0f} ms", 1000),
            "prompt": ("prompt_tokens_per_s", "{:,.0f} tokens/s", 1),
            "generation": ("generation_tokens_per_s", "{:,.1f} tokens/s", 1),
        }
        for name, (key, pattern, scale) in formats.items():
            value = result.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.figures[name].setText(pattern.format(value * scale))
            else:
                self.figures[name].setText("—")
        threads = result.get("threads")
        self.figures["threads"].setText(str(threads) if threads else "automatic")
        runs, engine = result.get("runs"), result.get("engine")
        extra = [str(engine)] if engine else []
        extra += [f"median of {runs} runs"] if isinstance(runs, int) and runs > 1 else []
        when = describe_time(result.get("measured_at"))
        self.figures["when"].setText(f"{when} ({', '.join(extra)})" if extra else when)

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.measure_button.setEnabled(not running and self._path is not None)
        self.cancel_button.setVisible(running and self._running_key == self._key)
        if running and self._running_key != self._key:
            self.measure_button.setToolTip("Another model is being measured.")
        else:
            self.measure_button.setToolTip("")

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("error", error)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    # --- the child process ---------------------------------------------------------------

    def is_running(self) -> bool:
        return self._process is not None

    def measure(self) -> None:
        if self.is_running() or self._path is None or self._key is None:
            return
        command = self._command(self._path)
        process = QProcess(self)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.setProcessEnvironment(_child_environment())
        process.readyReadStandardOutput.connect(self._read_out)
        process.readyReadStandardError.connect(self._read_err)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process, self._running_key = process, self._key
        self._cancelled, self._out, self._err = False, b"", b""
        self._started = time.monotonic()
        self._ticker.start()
        self._show_progress()
        self._update_buttons()
        process.start()

    def cancel(self) -> None:
        if self._process is not None:
            self._cancelled = True
            self._process.kill()

    def shutdown(self) -> None:
        """Stop a running measurement and wait for the child (the page is closing)."""
        process = self._process
        if process is not None:
            self._cancelled = True
            process.kill()
            process.waitForFinished(3000)

    def _show_progress(self) -> None:
        if self._running_key == self._key:
            seconds = int(time.monotonic() - self._started)
            self._say(f"Measuring… {seconds} s (the model is loaded in a separate process)")

    def _read_out(self) -> None:
        if self._process is not None:
            self._out += bytes(self._process.readAllStandardOutput().data())

    def _read_err(self) -> None:
        if self._process is not None:
            data = self._err + bytes(self._process.readAllStandardError().data())
            self._err = data[-STDERR_KEEP:]

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            program = self._process.program()
            self._finish(None, f"The speed test could not be started ({program} did not run).")

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_out()
        self._read_err()
        errors = last_lines(self._err.decode("utf-8", "replace"))
        if self._cancelled:
            self._finish(None, "The speed test was cancelled.", error=False)
        elif status == QProcess.ExitStatus.CrashExit:
            self._finish(None, f"The speed test crashed.{_detail(errors)}")
        elif code != 0:
            self._finish(None, f"The speed test failed (exit code {code}).{_detail(errors)}")
        else:
            result = parse_bench_output(self._out.decode("utf-8", "replace"))
            if result is None:
                self._finish(None, f"The speed test printed no result.{_detail(errors)}")
            else:
                self._finish(result, "")

    def _finish(self, result: dict[str, Any] | None, message: str, error: bool = True) -> None:
        process, key = self._process, self._running_key
        if process is None or key is None:
            return
        self._process, self._running_key = None, None
        self._ticker.stop()
        process.deleteLater()
        if result is not None:
            try:
                self._results.put(key, result)
            except HearthError as failure:
                message = str(failure)
        if key == self._key:
            self.show_entry(self._key, self._path)
            self._say(message, error=bool(message) and error and result is None)
            if result is not None and not message:
                self._say("Measured just now.")
        self._update_buttons()
        if result is not None:
            self.measured.emit(key)


def _detail(errors: str) -> str:
    return f"\n{errors}" if errors else ""


def _child_environment() -> QProcessEnvironment:
    env = QProcessEnvironment.systemEnvironment()
    env.insert("GGML_NO_BACKTRACE", "1")
    env.insert("HF_HUB_OFFLINE", "1")
    if not getattr(sys, "frozen", False):  # `python -m desktop` from a checkout
        root = str(Path(__file__).resolve().parents[3])
        existing = env.value("PYTHONPATH", "")
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (root, existing) if p))
    return env
