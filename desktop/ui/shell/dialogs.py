"""Small modal dialogs of the GUI thread: the crash report shown for unexpected errors."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox


def show_crash_dialog(summary: str, log_file: Path | None) -> None:
    """Tell the user something unexpected happened and where the details are logged."""
    if QApplication.instance() is None:
        return
    where = f"\n\nDetails were written to:\n{log_file}" if log_file else ""
    QMessageBox.critical(
        None,
        "Hearth hit an unexpected error",
        "Something went wrong inside Hearth. Your conversation is not lost; you can keep "
        f"working, but please report this.\n\n{summary}{where}",
    )
