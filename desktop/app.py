"""The desktop app: parses the window's options and wires the concrete objects together.

This is the only module that knows every layer: paths and logging, the engine
registry (inference), the inference thread and the controller (ui), the window.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from desktop import __version__
from desktop.chat.profiles import ChatProfiles, make_profiles
from desktop.chat.remote_models import RemoteModels, remote_label
from desktop.cli.args import HearthParser, ctx_type, threads_type
from desktop.cli.servers import server_list
from desktop.cli.vault import make_vault
from desktop.core.appearance import Appearance, Behaviour, read_settings
from desktop.core.errors import DatabaseError
from desktop.core.network import LiveNetworkPolicy
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT
from desktop.core.servers import split_remote_key
from desktop.core.types import GenerationParams, ModelDescription
from desktop.documents.searcher import DocumentSearcher
from desktop.inference.bench_results import BenchResults
from desktop.inference.embedded import FILE_NAME, verified_records, verify_file
from desktop.inference.embedding_model import embedding_model
from desktop.inference.engine import Engine
from desktop.inference.host.client import HostedEngine
from desktop.inference.inspection_cache import InspectionCache
from desktop.inference.kv_disk import DEFAULT_DISK_BUDGET, KeptStates
from desktop.inference.registry import EngineRegistry, describe
from desktop.logging_setup import setup_logging
from desktop.paths import AppPaths
from desktop.storage.adapters import AdapterStore
from desktop.storage.contacts import ContactLog
from desktop.storage.conversations import ConversationStore
from desktop.storage.documents import DocumentStore
from desktop.storage.keychain import Keychain
from desktop.storage.lock import LockOwner, WriteLock
from desktop.storage.migrations import open_and_migrate
from desktop.storage.preferences import Preferences
from desktop.storage.vault import Unlocked, recovery_key_for
from desktop.storage.wipe import WipeReport, WipeTargets, wipe_all_data
from desktop.ui.common.theme import Theme
from desktop.ui.privacy.dialog import PrivacyDialog, PrivacyState
from desktop.ui.shell.serve import serve_section, window_serve
from desktop.ui.shell.single_instance import (
    InstanceServer,
    bring_to_front,
    request_activation,
    server_name,
)

log = logging.getLogger("hearth.app")

ALREADY_RUNNING = "Hearth is already running; its window was brought forward."
COMMAND_WAIT_S = 5.0  # how long a new window waits for a `hearth` command to finish saving
WINDOW_ANSWER_S = 10.0  # how long it keeps asking a window that is still starting up


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = HearthParser(prog="hearth", description="Hearth, the private assistant.")
    parser.add_argument("--data-dir", help="keep all data here (also HEARTH_DATA_DIR)")
    parser.add_argument("--model", type=Path, help="a GGUF/GGML model file (default: built-in)")
    parser.add_argument("--threads", type=threads_type, default=None, help="CPU threads")
    parser.add_argument(
        "--ctx", type=ctx_type, default=None, help="context window in tokens (default: the model's)"
    )
    parser.add_argument(
        "--chat-format", default="chatml", help="prompt format for files without a chat template"
    )
    parser.add_argument("--model-type", default=None, help="architecture of a legacy GGML file")
    return parser.parse_args(list(argv))


def make_engine_factory(
    registry: EngineRegistry | None = None,
    verified: Path | None = None,
    remote: Callable[[str, str], Engine] | None = None,
    kept_states: KeptStates | None = None,
) -> tuple[Callable[[Path], Engine], Callable[[Path, Engine, float], ModelDescription]]:
    """The engine factory and describer the inference worker needs, over one registry.

    `verified`: where the built-in model's checked checksum is kept between runs;
    `remote(server, model)`: the engine of a model on the user's server ("server:NAME:MODEL");
    `kept_states`: where conversations' model states are kept on disk, once there is a key.
    """
    chosen = registry or EngineRegistry()
    records = None if verified is None else verified_records(verified)

    def create_engine(path: Path) -> Engine:
        parts = split_remote_key(str(path))
        if parts is not None and remote is not None:
            return remote(*parts)  # built on the worker thread: the keychain is read there
        # The built-in model's checksum is checked here, on the worker thread.
        if path.name == FILE_NAME:
            verify_file(path, records)
        chosen.inspect(path)  # refuses a file no engine can run before a process starts
        kept = chosen.inspections.path
        return HostedEngine(
            chosen.chat_format,
            chosen.model_type_hint,
            inspections=kept,
            disk_states=None if kept_states is None else kept_states.config,
        )

    def describe_model(path: Path, engine: Engine, load_time_s: float) -> ModelDescription:
        parts = split_remote_key(str(path))
        if parts is not None:
            return ModelDescription(
                path=str(path),
                name=remote_label(parts[1], parts[0]),
                engine=engine.info.name,
                architecture="on your server",
                context_length=engine.n_ctx,
                n_ctx=engine.n_ctx,
                load_time_s=load_time_s,
            )
        return describe(chosen.inspect(path), engine, load_time_s)

    return create_engine, describe_model


def window_profiles(paths: AppPaths, args: argparse.Namespace) -> ChatProfiles:
    """Models and assistants for the window; `--ctx`/`--threads` override every model's."""
    session: dict[str, int] = {}
    if args.ctx is not None:
        session["context_length"] = args.ctx
    if args.threads is not None:
        session["threads"] = args.threads
    return make_profiles(paths, override_model=args.model, session_settings=session)


def collection_choices(store: DocumentStore) -> list[tuple[int, str]]:
    """The document collections as (id, name), for the assistants' Documents tab."""
    try:
        return [(c.id, c.name) for c in store.collections()]
    except DatabaseError as error:
        log.warning("could not read the collections: %s", error)
        return []


def _set_icon(app: QApplication) -> None:
    """The app icon, from the bundle (frozen) or the checkout's resources/icons."""
    from PySide6.QtGui import QIcon

    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[1]))
    folder = base / "resources" / "icons"
    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256):
        path = folder / f"hearth-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    if not icon.isNull():
        app.setWindowIcon(icon)


def _make_theme(app: QApplication, paths: AppPaths) -> Theme:
    """The theme and text size saved last time, applied to every window; kept when changed."""
    from desktop.ui.shell.style import apply_theme

    theme = Theme(Appearance.load(paths.settings_path), parent=app)
    apply_theme(app, theme)

    def save() -> None:
        try:
            theme.appearance.save(paths.settings_path)
        except OSError as error:
            log.warning("could not save the appearance settings: %s", error)

    theme.changed.connect(save)
    return theme


def _install_excepthook(log_file: Path | None) -> None:
    """Unexpected exceptions (bugs) are logged and shown, never silently swallowed."""

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        log.critical("Unhandled exception", exc_info=(kind, error, tb))
        from desktop.ui.shell.dialogs import show_crash_dialog

        show_crash_dialog(f"{kind.__name__}: {error}", log_file)

    sys.excepthook = hook


def _quit_on_sigint(app: QCoreApplication, quit_app: Callable[[], None]) -> None:
    """Ctrl+C in the terminal closes the window cleanly (Qt's loop would ignore it)."""
    signal.signal(signal.SIGINT, lambda *_args: quit_app())
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)  # lets Python run its signal handlers
    timer.start(250)


def open_store(
    paths: AppPaths, key: bytes | None = None
) -> tuple[ConversationStore | None, str | None]:
    """The conversation store (encrypted with `key`), or None and a message for the user
    when it cannot open.

    The file is never deleted or replaced here: the app then runs without saving.
    """
    try:
        db = open_and_migrate(paths.database_path, key=key, backup_dir=paths.data_dir / "backups")
    except DatabaseError as error:
        log.error("cannot open the database %s: %s", paths.database_path, error)
        return None, (
            f"Your conversations cannot be opened, so this session will not be saved.\n"
            f"{error}\nThe file is left untouched: {paths.database_path}"
        )
    return ConversationStore(db), None


@dataclass
class OpenedStore:
    """The store (None: not saving this session), why not, and a new recovery key to offer."""

    store: ConversationStore | None
    error: str | None = None
    recovery_key: str | None = None
    unlocked: Unlocked | None = None


def unlock_store(
    paths: AppPaths, keychain: Keychain | None = None, parent: QWidget | None = None
) -> OpenedStore:
    """Get the database key (asking the user if needed), then open the store with it."""
    from desktop.ui.privacy.unlock import UnlockFlow
    from desktop.ui.privacy.unlock_dialogs import QtPrompter

    vault = make_vault(paths, keychain)
    result = UnlockFlow(vault, QtPrompter(parent)).run()
    if result.unlocked is None:
        log.warning("the conversation store was not unlocked")
        return OpenedStore(None, result.message)
    log.info("conversation store unlocked (%s)", result.unlocked.mode)
    store, error = open_store(paths, result.unlocked.db_key)
    return OpenedStore(store, error, result.recovery_key, result.unlocked)


@dataclass
class InstanceClaim:
    """What `_claim_single_instance()` got: the write lock (None: do not save) and the server."""

    lock: WriteLock | None
    server: InstanceServer | None
    refusal: str | None = None  # why this window does not save, for the user

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.lock is not None:
            self.lock.release()


def _ask_window_forward(name: str, owner: LockOwner, patience_s: float) -> bool:
    """True when the running window acknowledged; patient while a window is starting up."""
    deadline = time.monotonic() + (patience_s if owner.kind == "window" else 0.0)
    while True:
        if request_activation(name, timeout_s=2.0):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _claim_single_instance(
    paths: AppPaths, wait_s: float = COMMAND_WAIT_S, answer_wait_s: float = WINDOW_ANSWER_S
) -> InstanceClaim | int:
    """Make this window the data dir's one writer, or an exit code when it should not start.

    Held by a window: that window is asked to come forward and this launch exits 0 (1 if it
    does not answer within `answer_wait_s`). Held by a `hearth` command: wait `wait_s` for
    it, then run without saving and say why.
    """
    name = server_name(paths.data_dir)
    lock = WriteLock(paths.data_dir, "window")
    try:
        owned = lock.try_acquire()
        if not owned:
            owner = lock.owner()
            if _ask_window_forward(name, owner, answer_wait_s):
                log.info("another Hearth window is running: brought it forward")
                print(ALREADY_RUNNING)
                return 0
            if owner.kind == "window":
                message = (
                    f"Hearth is already running ({owner.describe()}) but its window does not "
                    "answer. Close it, or end that process, and start Hearth again."
                )
                log.error("%s", message)
                print(message, file=sys.stderr)
                return 1
            log.info("waiting for %s to finish (up to %.0f s)", owner.describe(), wait_s)
            owned = lock.try_acquire(wait_s)
    except DatabaseError as error:
        return InstanceClaim(None, None, f"{error} This session will not be saved.")
    server = InstanceServer(name)
    server.listen(replace_stale=owned)
    if owned:
        return InstanceClaim(lock, server)
    owner = lock.owner()
    log.warning("the write lock is held by %s: this window will not save", owner.describe())
    return InstanceClaim(
        None,
        server,
        f"Your conversations are in use by {owner.describe()}, so this session will not be "
        "saved. Quit Hearth and start it again once that has finished.",
    )


def _open_privacy(
    window: QWidget,
    paths: AppPaths,
    opened: OpenedStore,
    delete_all_data: Callable[[bool], None],
) -> PrivacyDialog:
    """The Privacy page over the window, with its actions bound to this session's vault."""
    from desktop.ui.common.tasks import run_and_wait
    from desktop.ui.privacy.contacts import ContactsSection

    unlocked = opened.unlocked
    key = None if unlocked is None else unlocked.db_key
    vault = make_vault(paths)
    state = PrivacyState(
        paths=paths,
        mode=None if unlocked is None else unlocked.mode,
        keychain_backend=vault.keychain.backend,
        recovery_key=None if key is None else recovery_key_for(key),
        preferences=Preferences.load(paths.config_dir),
    )
    dialog = PrivacyDialog(
        state,
        change_passphrase=lambda old, new: run_and_wait(lambda: vault.change_passphrase(old, new)),
        save_preferences=lambda preferences: preferences.save(paths.config_dir),
        contacts=ContactsSection(None if opened.store is None else ContactLog(opened.store.db)),
        parent=window,
    )
    dialog.delete_confirmed.connect(delete_all_data)
    dialog.show()
    return dialog


def wipe_targets(paths: AppPaths, include_models: bool = False) -> WipeTargets:
    """What "Delete all my data" removes for this data folder."""
    return WipeTargets(
        paths.database_path,
        paths.data_dir / "backups",
        paths.config_dir,
        paths.log_dir,
        paths.models_dir,
        include_models,
        cache_dir=paths.cache_dir,
        states_dir=paths.states_dir,
    )


def kept_states_budget(paths: AppPaths) -> int:
    """Disk for conversations' kept model states: `kept_states_mb` in settings.json
    (1024 when missing; 0 keeps none)."""
    value = read_settings(paths.settings_path).get("kept_states_mb")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value * 1024 * 1024
    return DEFAULT_DISK_BUDGET


def _report_wipe(window: QWidget, report: WipeReport) -> None:
    from PySide6.QtWidgets import QMessageBox

    if report.failures:
        QMessageBox.warning(
            window,
            "Some data could not be deleted",
            "These could not be removed; delete them by hand:\n"
            + "\n".join(str(item) for item in report.failures),
        )
    else:
        QMessageBox.information(
            window,
            "Your data was deleted",
            f"{len(report.removed)} files and folders and {len(report.keychain_entries)} "
            "keychain entries were removed. Hearth will now quit.",
        )


class _Activation:
    """A later launch's "activate": heard from the moment the single-instance server listens
    (it may come while the store is being unlocked), applied once the window exists."""

    def __init__(self) -> None:
        self.window: QWidget | None = None
        self.pending = False

    def requested(self) -> None:
        log.info("window activated by a second launch")
        if self.window is None:
            self.pending = True
        else:
            bring_to_front(self.window)

    def attach(self, window: QWidget) -> None:
        self.window = window
        if self.pending:
            self.pending = False
            bring_to_front(window)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    paths = AppPaths.resolve(args.data_dir).ensure()
    log_file = setup_logging(paths.log_dir)
    log.info("Hearth %s starting", __version__)

    from desktop.ui.chat.controller import ChatController
    from desktop.ui.chat.worker import InferenceThread
    from desktop.ui.shell.app_window import build_main_window, keep_conversations
    from desktop.ui.shell.documents import attach_documents, no_documents
    from desktop.ui.shell.pages import Pages
    from desktop.ui.shell.servers import WindowServers

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Hearth")
    app.setApplicationVersion(__version__)
    QApplication.setDesktopFileName("hearth")  # ties the window to hearth.desktop (Wayland, docks)
    _set_icon(app)
    theme = _make_theme(app, paths)
    _install_excepthook(log_file)
    claim = _claim_single_instance(paths)
    if isinstance(claim, int):
        return claim
    activation = _Activation()
    if claim.server is not None:  # connected now: unlocking below turns the event loop
        claim.server.activation_requested.connect(activation.requested)

    registry = EngineRegistry(
        chat_format=args.chat_format,
        model_type_hint=args.model_type,
        inspections=InspectionCache(paths.model_inspections_path),
    )
    from desktop.cli.servers import engine_by_name

    kept_states = KeptStates(paths.states_dir, kept_states_budget(paths))
    factory, describer = make_engine_factory(
        registry, paths.verified_models_path, engine_by_name(paths), kept_states
    )
    inference = InferenceThread(factory, describe=describer)
    inference.start()
    opened = OpenedStore(None, claim.refusal) if claim.lock is None else unlock_store(paths)
    if opened.unlocked is not None and opened.store is not None:
        kept_states.unlock(opened.unlocked.db_key)
    store, store_error = opened.store, opened.error
    profiles = window_profiles(paths, args)
    profiles.remote = RemoteModels(server_list(paths))
    profiles.adapters = None if store is None else AdapterStore(store.db)
    documents_store = None if store is None else DocumentStore(store.db)
    controller = ChatController(
        inference,
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        params=GenerationParams(),
        store=store,
        profiles=profiles,
        documents=documents_store is not None,
        forget_states=kept_states.forget,
    )
    # Protecting later can help unless the store is held by another process.
    window = build_main_window(
        controller, store_error, can_protect=claim.lock is not None, theme=theme
    )
    choices = None if documents_store is None else partial(collection_choices, documents_store)
    from desktop.ui.shell.model_downloads import make_download_services, resume_downloads

    def record_contact(host: str, purpose: str, detail: str) -> None:
        """Each host a download or search contacted, in the encrypted contact log."""
        if opened.store is None:
            log.info(
                "contacted %s (%s %s); not logged: the store is not open", host, purpose, detail
            )
            return
        try:
            ContactLog(opened.store.db).record(host, purpose, detail)
        except DatabaseError as error:
            log.warning("could not log the contact with %s: %s", host, error)

    downloads = make_download_services(paths, record_contact, window)
    pages = Pages(
        window,
        controller,
        profiles,
        BenchResults(paths.bench_results_path),
        downloads,
        collection_choices=choices,
    )
    servers = WindowServers(
        window,
        controller,
        profiles.remote,
        network=lambda: LiveNetworkPolicy(lambda: Preferences.load(paths.config_dir).network),
        network_allowed=lambda: Preferences.load(paths.config_dir).network_allowed,
    )
    pages.servers = servers
    servers.fetch_models()
    serve = window_serve(paths, inference, window)
    from desktop.teach.trainer import Trainer, missing_component
    from desktop.ui.shell.teach import TeachFeature

    teach = TeachFeature(
        window,
        controller,
        profiles,
        missing=lambda: missing_component(paths.data_dir),
        trainer=Trainer(data_dir=paths.data_dir),
    )
    window.models_requested.connect(pages.open_models)
    window.assistants_requested.connect(pages.open_assistants)
    window.files_dropped.connect(pages.import_models)
    documents = None
    if documents_store is not None:
        model_path = partial(embedding_model, paths.cache_dir)
        inference.set_searcher(
            partial(DocumentSearcher, documents_store.db.another_connection, model_path)
        )
        documents = attach_documents(window, controller, documents_store, model_path)
        documents.start()
    else:
        no_documents(window)
    activation.attach(window)
    window.show()  # shown before the model has loaded, and before the last conversation:
    override = None if args.model is None else str(args.model.expanduser().absolute())
    QTimer.singleShot(0, lambda: controller.start(override))  # it fills in a moment later
    QTimer.singleShot(0, lambda: resume_downloads(downloads))
    if opened.recovery_key is not None:
        from desktop.ui.privacy.unlock_dialogs import offer_recovery_key

        offer_recovery_key(opened.recovery_key, window)

    def protect() -> None:
        """ "Protect my conversations…": the first-run choice again; then keep the chat."""
        nonlocal opened
        if opened.store is not None:
            return
        if claim.lock is None:
            window.show_error(opened.error or "Your conversations are in use elsewhere.")
            return
        if controller.busy:
            window.show_error("Stop the reply before protecting your conversations.")
            return
        again = unlock_store(paths, parent=window)
        if again.store is None:
            window.set_not_saving(again.error)
            return
        if not keep_conversations(window, controller, again.store):
            again.store.db.close()
            return
        opened = again
        profiles.adapters = AdapterStore(again.store.db)
        if again.unlocked is not None:
            kept_states.unlock(again.unlocked.db_key)
        if again.recovery_key is not None:
            from desktop.ui.privacy.unlock_dialogs import offer_recovery_key

            offer_recovery_key(again.recovery_key, window)

    window.protect_requested.connect(protect)

    closed: list[bool] = []

    def shut_down() -> None:
        if closed:
            return
        closed.append(True)
        downloads.manager.shutdown()  # the partial file is kept for the next start
        teach.shutdown()  # a training in progress ends; nothing of it is kept
        inference.stop()  # joins the inference thread
        serve.stop()  # and the API's, if it serves
        if documents is not None:
            documents.stop()  # joins the indexing thread (its files done are saved)
        controller.save_partial_reply()
        controller.close()
        if opened.store is not None:
            opened.store.db.close()
        claim.release()

    def quit_app() -> None:
        """Quit for good (the menu's or the tray's Quit, Ctrl+C), also when the window
        would only hide into the tray."""
        window.set_quitting()
        app.quit()

    def delete_all_data(include_models: bool) -> None:
        shut_down()
        setup_logging(None)  # the log file is among what goes
        report = wipe_all_data(wipe_targets(paths, include_models), Keychain())
        _report_wipe(window, report)
        quit_app()

    def save_behaviour(behaviour: Behaviour) -> None:
        try:
            behaviour.save(paths.settings_path)
        except OSError as error:
            log.warning("could not save the window settings: %s", error)

    from desktop.ui.shell.tray import install_tray

    install_tray(app, window, Behaviour.load(paths.settings_path), save_behaviour)
    window.quit_requested.connect(quit_app)

    def open_privacy() -> None:
        dialog = _open_privacy(window, paths, opened, delete_all_data)
        dialog.add_section(servers.privacy_section())
        dialog.add_section(serve_section(serve))

    window.privacy_requested.connect(open_privacy)
    app.aboutToQuit.connect(shut_down)
    _quit_on_sigint(app, quit_app)
    code = app.exec()
    log.info("Hearth exiting (%s)", code)
    return int(code)
