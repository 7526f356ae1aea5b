"""Where Hearth keeps things on disk.

Everything goes through `AppPaths`: the user data, config and log directories from
`platformdirs`, or one directory given by `--data-dir` / `HEARTH_DATA_DIR` (tests,
portable installs), which then holds everything Hearth writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Hearth"
DATA_DIR_ENV = "HEARTH_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    """The directories Hearth writes to. Nothing is created until `ensure()`."""

    data_dir: Path
    config_dir: Path
    log_dir: Path
    #: What Hearth can always work out again (model inspections); safe to delete.
    cache_dir: Path

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
        chosen = data_dir or os.environ.get(DATA_DIR_ENV)
        if chosen:
            root = Path(chosen).expanduser().resolve()
            return cls(root, root / "config", root / "logs", root / "cache")
        return cls(
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        )

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def downloads_dir(self) -> Path:
        """Model downloads in progress (partial files, the queue), before they are imported."""
        return self.data_dir / "downloads"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "hearth.db"

    @property
    def assistants_dir(self) -> Path:
        """The user's own assistants, one JSON file each."""
        return self.config_dir / "assistants"

    @property
    def model_state_path(self) -> Path:
        """The model library's choices: default model, folders, per-model settings."""
        return self.config_dir / "models.json"

    @property
    def bench_results_path(self) -> Path:
        return self.config_dir / "bench.json"

    @property
    def model_inspections_path(self) -> Path:
        """What each model file's header says, kept between runs (`inspection_cache`)."""
        return self.cache_dir / "model-inspections.json"

    @property
    def verified_models_path(self) -> Path:
        """Built-in model files whose sha256 was already checked (`embedded.verify_file`)."""
        return self.cache_dir / "verified-models.json"

    @property
    def states_dir(self) -> Path:
        """Conversations' evaluated prompts, encrypted (`inference.kv_disk`)."""
        return self.data_dir / "states"

    @property
    def settings_path(self) -> Path:
        return self.config_dir / "settings.json"

    def ensure(self) -> AppPaths:
        for directory in (self.data_dir, self.config_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self
