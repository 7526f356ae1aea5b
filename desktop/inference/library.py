"""`ModelLibrary`: every model Hearth can offer, and importing, deleting and choosing them.

Models come from three places: the embedded model, the models folder (`AppPaths.models_dir`,
where imports go) and folders the user added. Each entry carries what the inspector read,
or the reason the file cannot be used. An import inspects the file, then has
`ModelProber` load it in a child process with a time limit, and only then copies (or links)
it in, so a file that would crash or hang an engine never reaches the app's process. Each
entry also says whether the file's chat template is used, adapted, or replaced (and why),
from a render within time and memory limits.

The library's own choices (default model, extra folders, per-model settings, legacy model
types) live in one small JSON file written atomically.

Plain Python, safe to share between threads: one lock guards the choices, the header cache
and the state file, so the window can list, choose and save settings while an import runs
on its own thread. The import holds the lock only to check its target name and to record
the result, never while it trial-loads or copies a file; so a change made meanwhile waits
at most for a header read, and never for the import.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar, cast

from desktop.core.errors import ModelImportError, ModelLibraryError, ModelRefusedError
from desktop.core.files import atomic_write_text
from desktop.core.memory import MemoryEstimate, estimate_memory, format_bytes
from desktop.core.settings import GenerationSettings, model_defaults, settings_from_dict
from desktop.inference import ggml_legacy
from desktop.inference.inspect import ModelFileInfo, inspect_model
from desktop.inference.inspection_cache import Inspection, InspectionCache
from desktop.inference.model_shape import ModelDetails, read_details
from desktop.inference.probe import ModelProber
from desktop.inference.sysmem import available_memory

log = logging.getLogger(__name__)
_F = TypeVar("_F", bound=Callable[..., Any])

EMBEDDED_KEY = "embedded"
STATE_VERSION = 1
SOURCE_EMBEDDED, SOURCE_IMPORTED, SOURCE_FOLDER = "embedded", "imported", "folder"
#: Trying a file's chat template for the list: as a render, but a shorter time limit (s).
_LISTING_TIME_S = 0.25
#: Space kept free on the disk after copying a model in.
DISK_MARGIN = 64 * 1024 * 1024
#: A model whose engine crashed this many times while loading it is flagged.
LOAD_CRASH_FLAG = 3


@dataclass(frozen=True)
class ModelEntry:
    """One model as the Models page shows it. `info` is None when `problem` says why."""

    key: str  # "embedded" or the file's absolute path: what settings and choices refer to
    path: Path
    source: str  # "embedded", "imported" or "folder"
    info: ModelFileInfo | None
    problem: str | None
    details: ModelDetails
    is_link: bool = False  # a link to a file elsewhere (imported with `link=True`)
    is_default: bool = False
    chat_format: str | None = None  # "model" (its own template), or the format used instead
    template_note: str | None = None  # how its template is adapted, or why it is replaced
    load_crashes: int = 0  # times the engine crashed loading it since it last loaded

    @property
    def crash_warning(self) -> str | None:
        """A sentence for the Models page once loading it has crashed `LOAD_CRASH_FLAG` times."""
        if self.load_crashes < LOAD_CRASH_FLAG:
            return None
        return (
            f"The engine crashed {self.load_crashes} times while loading this model; it may "
            "not run on this computer."
        )

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def usable(self) -> bool:
        return self.info is not None


def _locked(method: _F) -> _F:
    """Run a `ModelLibrary` method holding the library's lock."""

    @functools.wraps(method)
    def wrapper(self: ModelLibrary, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_F, wrapper)


class ModelLibrary:
    """Lists, imports, deletes and chooses models. Inject the prober and memory reader."""

    def __init__(
        self,
        models_dir: Path,
        state_path: Path,
        embedded_path: Path | None,
        prober: ModelProber | None = None,
        free_memory: Callable[[], int | None] = available_memory,
        inspections: InspectionCache | None = None,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.state_path = Path(state_path)
        self.embedded_path = embedded_path
        self.prober = prober or ModelProber()
        self._free_memory = free_memory
        #: Inspections kept between runs (see `inspection_cache`); None: this process only.
        self.inspections = inspections or InspectionCache(None)
        self._cache: dict[tuple[str, int, int, str | None], tuple[Any, ...]] = {}
        self._lock = threading.RLock()
        self._state = self._load_state()

    # -- listing ---------------------------------------------------------------------------
    @_locked
    def entries(self) -> list[ModelEntry]:
        """The embedded model, then imported models, then those in the user's folders."""
        found: list[ModelEntry] = []
        if self.embedded_path is not None:
            found.append(self._entry(EMBEDDED_KEY, self.embedded_path, SOURCE_EMBEDDED))
        for path in self._model_files(self.models_dir, every_file=True):
            found.append(self._entry(str(path), path, SOURCE_IMPORTED))
        seen = {e.path.resolve() for e in found}
        for folder in self.folders():
            for path in self._model_files(folder, every_file=False):
                if path.resolve() not in seen:
                    seen.add(path.resolve())
                    found.append(self._entry(str(path), path, SOURCE_FOLDER))
        default = self._default_key(found)
        return [e if e.key != default else _with_default(e) for e in found]

    @_locked
    def find(self, ref: str) -> ModelEntry:
        """The entry whose key, path, file name or file stem is `ref`."""
        entries = self.entries()
        for match in (
            lambda e: e.key == ref,
            lambda e: _same_path(e.path, ref),
            lambda e: e.name == ref,
            lambda e: e.path.stem == ref,
        ):
            hits = [e for e in entries if match(e)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                paths = ", ".join(str(e.path) for e in hits)
                raise ModelLibraryError(f'"{ref}" names several models ({paths}); give the path.')
        raise ModelLibraryError(
            f'There is no model "{ref}" in the library; `hearth models list` shows them.'
        )

    @_locked
    def default_entry(self) -> ModelEntry | None:
        """The model new conversations use: the chosen one, else the embedded, else the first."""
        return next((e for e in self.entries() if e.is_default), None)

    def _default_key(self, entries: list[ModelEntry]) -> str | None:
        usable = [e.key for e in entries if e.usable]
        chosen = self._state.get("default")
        if chosen in usable:
            return str(chosen)
        if EMBEDDED_KEY in usable:
            return EMBEDDED_KEY
        return usable[0] if usable else None

    def _model_files(self, folder: Path, every_file: bool) -> list[Path]:
        try:
            files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        except OSError:
            return []
        return [p for p in files if (p.is_file() and (every_file or _looks_like_model(p)))]

    def _entry(self, key: str, path: Path, source: str) -> ModelEntry:
        hint = self._state["model_types"].get(key)
        try:
            stat = path.stat()
            cache_key = (str(path), stat.st_size, stat.st_mtime_ns, hint)
        except OSError:
            cache_key = (str(path), -1, -1, hint)
        if cache_key not in self._cache:
            self._cache[cache_key] = self._inspect(path, hint)
        info, problem, details, template = self._cache[cache_key]
        crashes = int(self._state["load_crashes"].get(key, 0))
        return ModelEntry(
            key,
            path,
            source,
            info,
            problem,
            details,
            path.is_symlink(),
            chat_format=template[0] if template else None,
            template_note=template[1] if template else None,
            load_crashes=crashes,
        )

    def _inspect(self, path: Path, hint: str | None) -> tuple[Any, ...]:
        """(info, problem, details, (template name, note)) of a file: kept, or worked out."""
        kept = self.inspections.get(path)  # GGUF files only, which take no hint
        if kept is not None and kept.template is not None:
            return (kept.info, None, kept.details, kept.template)
        try:
            info = inspect_model(path, model_type_hint=hint) if kept is None else kept.info
        except ModelRefusedError as exc:
            return (None, str(exc), ModelDetails(None), None)
        from desktop.inference.template_sandbox import RenderLimits
        from desktop.inference.templates import ChatTemplate  # jinja2: only when needed

        # Bounded like every render of a file's template, and shorter: this may run on the
        # GUI thread (real templates take milliseconds).
        template = ChatTemplate.from_model(
            info.chat_template,
            info.bos_token,
            info.eos_token,
            limits=RenderLimits(time_s=_LISTING_TIME_S),
        )
        details = read_details(info) if kept is None else kept.details
        outcome = (template.name, template.note)
        # A replaced template may have met a time limit on a busy machine: not kept.
        if template.name == "model" or info.chat_template is None:
            self.inspections.put(Inspection(info, details, outcome))
        return (info, None, details, outcome)

    # -- folders ---------------------------------------------------------------------------
    @_locked
    def folders(self) -> list[Path]:
        return [Path(p) for p in self._state["folders"]]

    @_locked
    def add_folder(self, folder: Path) -> None:
        folder = Path(folder).expanduser().absolute()
        if not folder.is_dir():
            raise ModelLibraryError(f'"{folder}" is not a folder; choose a folder of models.')
        if str(folder) not in self._state["folders"]:
            self._state["folders"].append(str(folder))
            self._save_state()

    @_locked
    def remove_folder(self, folder: Path) -> None:
        folder = Path(folder).expanduser().absolute()
        self._state["folders"] = [p for p in self._state["folders"] if Path(p) != folder]
        self._save_state()

    # -- import and delete -----------------------------------------------------------------
    def import_model(
        self,
        source: Path,
        *,
        link: bool = False,
        model_type: str | None = None,
        move: bool = False,
    ) -> ModelEntry:
        """Inspect, trial-load in a child process, then copy (or link) into the models folder.

        `move`: the file is Hearth's own (a download) and is moved in, not copied.

        Raises `ModelRefusedError` (the file cannot be used: the reason says why) or
        `ModelImportError` (it is fine, but could not be put in place). Nothing is left
        behind on failure.
        """
        source = Path(source).expanduser().absolute()
        info = inspect_model(source, model_type_hint=model_type)
        target = self.models_dir / source.name
        with self._lock:
            self._refuse_taken(source, target)
        self.prober.check(source, model_type if info.container == "ggml" else None)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        copied = None if link or move else self._copy_aside(source, target, info.file_size)
        try:
            with self._lock:  # the file appears in the listing with its choices at once
                self._refuse_taken(source, target)
                if move:
                    self._put_in_place(source, source, target)
                elif copied is None:
                    self._link(source, target)
                else:
                    self._put_in_place(copied, source, target)
                    copied = None
                if model_type and info.container == "ggml":
                    self._state["model_types"][str(target)] = info.architecture
                    self._save_state()
                return self._entry(str(target), target, SOURCE_IMPORTED)
        finally:
            if copied is not None:
                copied.unlink(missing_ok=True)

    def _refuse_taken(self, source: Path, target: Path) -> None:
        if source.parent.resolve() == self.models_dir.resolve():
            raise ModelRefusedError(f'"{source.name}" is already in the library.')
        if target.exists() or target.is_symlink():
            raise ModelRefusedError(
                f'A model named "{source.name}" is already in the library; delete it first, '
                "or rename the new file."
            )

    def _copy_aside(self, source: Path, target: Path, size: int) -> Path:
        """Copy `source` to a hidden file next to `target` (not listed while it grows)."""
        free = shutil.disk_usage(self.models_dir).free
        if free < size + DISK_MARGIN:
            raise ModelImportError(
                f'There is not enough disk space to copy "{source.name}" ({format_bytes(size)} '
                f"needed, {format_bytes(free)} free); free some space or import it as a link."
            )
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise self._not_copied(source, exc) from exc
        return Path(tmp)

    def _put_in_place(self, copied: Path, source: Path, target: Path) -> None:
        try:
            os.replace(copied, target)
        except OSError as exc:
            raise self._not_copied(source, exc) from exc

    @staticmethod
    def _not_copied(source: Path, exc: OSError) -> ModelImportError:
        return ModelImportError(
            f'"{source.name}" could not be copied into the library ({exc.strerror or exc}); '
            "nothing was added."
        )

    def _link(self, source: Path, target: Path) -> None:
        try:
            target.symlink_to(source.resolve())
        except OSError as first:  # Windows without the symlink privilege: try a hard link
            try:
                os.link(source, target)
            except OSError:
                raise ModelImportError(
                    f'"{source.name}" could not be linked into the library '
                    f"({first.strerror or first}); import it as a copy instead."
                ) from first

    @_locked
    def delete(self, ref: str) -> ModelEntry:
        """Remove an imported model (a link: only the link). Never the embedded model."""
        entry = self.find(ref)
        if entry.source == SOURCE_EMBEDDED:
            raise ModelLibraryError("The built-in model cannot be deleted.")
        if entry.source == SOURCE_FOLDER:
            raise ModelLibraryError(
                f'"{entry.name}" is in your folder {entry.path.parent}, which Hearth only reads; '
                "delete the file yourself, or remove the folder from the library."
            )
        try:
            entry.path.unlink()
        except OSError as exc:
            raise ModelLibraryError(
                f'"{entry.name}" could not be deleted ({exc.strerror or exc}); it is unchanged.'
            ) from exc
        for table in ("settings", "model_types", "load_crashes"):
            self._state[table].pop(entry.key, None)
        if self._state.get("default") == entry.key:
            self._state["default"] = None
        self._save_state()
        return entry

    @_locked
    def set_default(self, ref: str) -> ModelEntry:
        entry = self.find(ref)
        if not entry.usable:
            raise ModelLibraryError(f'"{entry.name}" cannot be the default: {entry.problem}')
        self._state["default"] = entry.key
        self._save_state()
        return _with_default(entry)

    # -- settings and memory ---------------------------------------------------------------
    def default_settings(self, entry: ModelEntry) -> GenerationSettings:
        """Hearth's defaults with the model's own values where its file records them."""
        context = entry.info.context_length if entry.info else None
        return model_defaults(entry.details.sampling, context)

    @_locked
    def settings_for(self, entry: ModelEntry) -> GenerationSettings:
        stored = self._state["settings"].get(entry.key, {})
        context = entry.info.context_length if entry.info else None
        settings, problems = settings_from_dict(stored, self.default_settings(entry), context)
        for problem in problems:
            log.warning("settings of %s: %s", entry.name, problem)
        return settings

    @_locked
    def save_settings(self, entry: ModelEntry, settings: GenerationSettings) -> GenerationSettings:
        """Validate and keep `settings` for this model (only what differs from its defaults)."""
        defaults = self.default_settings(entry)
        context = entry.info.context_length if entry.info else None
        checked, _ = settings_from_dict(settings.to_dict(), defaults, context)
        self._state["settings"][entry.key] = checked.to_dict(changed_from=defaults)
        self._save_state()
        return checked

    @_locked
    def reset_settings(self, entry: ModelEntry) -> GenerationSettings:
        self._state["settings"].pop(entry.key, None)
        self._save_state()
        return self.default_settings(entry)

    @_locked
    def estimate(self, entry: ModelEntry, n_ctx: int | None = None) -> MemoryEstimate:
        """Weights plus KV cache at `n_ctx` (default: the model's settings) against free memory."""
        ctx = n_ctx or self.settings_for(entry).context_length
        size = entry.info.file_size if entry.info else _size(entry.path)
        return estimate_memory(size, entry.details.shape, ctx, self._free_memory())

    # -- crashes -----------------------------------------------------------------------------
    @_locked
    def record_load_crash(self, key: str) -> int:
        """Count one more crash of the engine while loading the model `key`; the new count."""
        crashes = int(self._state["load_crashes"].get(key, 0)) + 1
        self._state["load_crashes"][key] = crashes
        self._save_state()
        return crashes

    @_locked
    def record_loaded(self, key: str) -> None:
        """The model `key` loaded: forget its load crashes."""
        if self._state["load_crashes"].pop(key, None) is not None:
            self._save_state()

    # -- state file ------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "default": None,
            "folders": [],
            "settings": {},
            "model_types": {},
            "load_crashes": {},
        }
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return state
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning(
                "model library state %s unreadable (%s); defaults used", self.state_path, exc
            )
            return state
        if not isinstance(data, dict) or data.get("schema_version", 0) > STATE_VERSION:
            log.warning("model library state %s not understood; defaults used", self.state_path)
            return state
        tables = ("settings", "model_types", "load_crashes")
        for key, kind in (("folders", list), *((table, dict) for table in tables)):
            if isinstance(data.get(key), kind):
                state[key] = data[key]
        state["folders"] = [str(p) for p in state["folders"] if isinstance(p, str)]
        if isinstance(data.get("default"), str):
            state["default"] = data["default"]
        return state

    def _save_state(self) -> None:
        text = json.dumps({"schema_version": STATE_VERSION, **self._state}, indent=2) + "\n"
        try:
            atomic_write_text(self.state_path, text)
        except OSError as exc:
            raise ModelLibraryError(
                f"The model choices could not be saved ({exc.strerror or exc})."
            ) from exc


def _with_default(entry: ModelEntry) -> ModelEntry:
    return replace(entry, is_default=True)


def _same_path(path: Path, ref: str) -> bool:
    try:
        return path.absolute() == Path(ref).expanduser().absolute()
    except (OSError, ValueError):
        return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _looks_like_model(path: Path) -> bool:
    """In a user's folder: GGUF files, and other files only with a GGML signature."""
    if path.suffix.lower() == ".gguf":
        return True
    try:
        with open(path, "rb") as f:
            magic = int.from_bytes(f.read(4), "little")
    except OSError:
        return False
    return magic in ggml_legacy.MAGICS
