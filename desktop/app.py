"""The desktop app: parses the window's options and wires the concrete objects together.

This is the only module that knows every layer: paths and logging, the engine
registry (inference), the inference thread and the controller (ui), the window.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from desktop import __version__
from desktop.core.errors import DatabaseError, HearthError
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.types import GenerationParams, LoadOptions, ModelDescription
from desktop.inference.embedded import FILE_NAME, find_embedded_model, verify_file
from desktop.inference.engine import Engine
from desktop.inference.registry import EngineRegistry, describe
from desktop.logging_setup import setup_logging
from desktop.paths import AppPaths
from desktop.storage.conversations import ConversationStore
from desktop.storage.db import Database
from desktop.storage.migrations import open_and_migrate

log = logging.getLogger("hearth.app")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hearth", description="Hearth, the private assistant.")
    parser.add_argument("--data-dir", help="keep all data here (also HEARTH_DATA_DIR)")
    parser.add_argument("--model", type=Path, help="a GGUF/GGML model file (default: built-in)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    parser.add_argument("--ctx", type=int, default=4096, help="context window in tokens")
    parser.add_argument(
        "--chat-format", default="chatml", help="prompt format for files without a chat template"
    )
    parser.add_argument("--model-type", default=None, help="architecture of a legacy GGML file")
    return parser.parse_args(list(argv))


def make_engine_factory(
    registry: EngineRegistry | None = None,
) -> tuple[Callable[[Path], Engine], Callable[[Path, Engine, float], ModelDescription]]:
    """The engine factory and describer the inference worker needs, over one registry."""
    chosen = registry or EngineRegistry()

    def create_engine(path: Path) -> Engine:
        # The built-in model's checksum is checked here, on the worker thread.
        if path.name == FILE_NAME:
            verify_file(path)
        return chosen.create_engine(path)

    def describe_model(path: Path, engine: Engine, load_time_s: float) -> ModelDescription:
        return describe(chosen.inspect(path), engine, load_time_s)

    return create_engine, describe_model


def _install_excepthook(log_file: Path | None) -> None:
    """Unexpected exceptions (bugs) are logged and shown, never silently swallowed."""

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        log.critical("Unhandled exception", exc_info=(kind, error, tb))
        from desktop.ui.dialogs import show_crash_dialog

        show_crash_dialog(f"{kind.__name__}: {error}", log_file)

    sys.excepthook = hook


def _quit_on_sigint(app: QCoreApplication) -> None:
    """Ctrl+C in the terminal closes the window cleanly (Qt's loop would ignore it)."""
    signal.signal(signal.SIGINT, lambda *_args: app.quit())
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)  # lets Python run its signal handlers
    timer.start(250)


def open_store(paths: AppPaths) -> tuple[ConversationStore | None, str | None]:
    """The conversation store, or None and a message for the user when it cannot open.

    The file is never deleted or replaced here: the app then runs without saving.
    """
    try:
        db = open_and_migrate(paths.database_path, backup_dir=paths.data_dir / "backups")
    except DatabaseError as error:
        log.error("cannot open the database %s: %s", paths.database_path, error)
        return None, (
            f"Your conversations cannot be opened, so this session will not be saved.\n"
            f"{error}\nThe file is left untouched: {paths.database_path}"
        )
    return ConversationStore(db), None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    paths = AppPaths.resolve(args.data_dir).ensure()
    log_file = setup_logging(paths.log_dir)
    log.info("Hearth %s starting", __version__)

    from desktop.ui.app_window import build_main_window
    from desktop.ui.controller import ChatController
    from desktop.ui.worker import InferenceThread

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Hearth")
    app.setApplicationVersion(__version__)
    _install_excepthook(log_file)

    registry = EngineRegistry(chat_format=args.chat_format, model_type_hint=args.model_type)
    factory, describer = make_engine_factory(registry)
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    store, store_error = open_store(paths)
    controller = ChatController(
        inference, system_prompt=DEFAULT_SYSTEM_PROMPT, params=GenerationParams(), store=store
    )
    window = build_main_window(controller)
    controller.resume_last_conversation()
    window.show()  # shown before the model has loaded
    if store_error is not None:
        window.show_error(store_error)

    try:
        model_path = args.model.expanduser() if args.model else find_embedded_model(verify=False)
    except HearthError as error:
        controller.error_occurred.emit(str(error))
    else:
        controller.load_model(model_path, LoadOptions(n_ctx=args.ctx, n_threads=args.threads))

    db: Database | None = None if store is None else store.db

    def shut_down() -> None:
        inference.stop()  # joins the inference thread
        controller.save_partial_reply()
        if db is not None:
            db.close()

    app.aboutToQuit.connect(shut_down)
    _quit_on_sigint(app)
    code = app.exec()
    log.info("Hearth exiting (%s)", code)
    return int(code)
