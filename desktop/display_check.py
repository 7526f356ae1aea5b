"""Can Hearth's window start here? Checked before Qt is loaded, so Qt cannot abort the process.

Without a graphical display (an SSH session, a server, a container) Qt's platform plugins
fail and Qt aborts (exit 134) with advice that does not help. The same happens when the
system lacks a library that Qt's X11 (xcb) or Wayland plugin needs: a minimal Debian or
Ubuntu has no `libxcb-cursor0`, for example. `window_problem()` finds both cases first: the
display from the environment, the missing libraries by running `ldd` on the platform plugin
that Qt will load (in a development environment and in the packaged app alike; the
libraries that ship with Qt are found next to it). The answer is one message for the user,
with the Debian/Ubuntu packages that provide the missing libraries.

`QT_QPA_PLATFORM` set to anything but xcb or wayland (offscreen, vnc, ...) is the user's
explicit choice: then nothing is checked. Plain Python, no Qt; call it before importing Qt.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

NO_DISPLAY = (
    "Hearth's window needs a graphical display and there is none here (neither DISPLAY nor "
    "WAYLAND_DISPLAY is set); `hearth ask` and `hearth --help` work without one."
)
LDD_TIMEOUT_S = 10.0
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")
_SONAME = re.compile(r"^(lib[\w.+-]*?)\.so\.(\d+)")

#: Libraries whose Debian package name does not follow the soname rule (see `package_for`).
PACKAGE_EXCEPTIONS = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgio-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgmodule-2.0.so.0": "libglib2.0-0",
    "libstdc++.so.6": "libstdc++6",
    "libpng16.so.16": "libpng16-16",
}
#: The plugin file of each platform Hearth's bundle ships for Linux desktops.
PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}
PLATFORM_NAMES = {"xcb": "X11", "wayland": "Wayland"}


def package_for(soname: str) -> str:
    """The Debian/Ubuntu package that usually provides `soname`.

    Debian's rule: the library name without `.so`, lower case, then its major version,
    with a '-' between them when the name ends in a digit (libxcb-cursor.so.0 is in
    libxcb-cursor0, libxkbcommon-x11.so.0 in libxkbcommon-x11-0).
    """
    if soname in PACKAGE_EXCEPTIONS:
        return PACKAGE_EXCEPTIONS[soname]
    match = _SONAME.match(soname)
    if match is None:
        return soname
    name, version = match.group(1).lower(), match.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def missing_from_ldd(output: str) -> list[str]:
    """The sonames `ldd` reported as "not found", in its order, each once."""
    found = (_NOT_FOUND.match(line) for line in output.splitlines())
    return list(dict.fromkeys(match.group(1) for match in found if match))


def qt_dir() -> Path | None:
    """PySide6's Qt folder (plugins/, lib/), in a virtual environment or the packaged app."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None and (Path(bundle) / "PySide6" / "Qt").is_dir():
        return Path(bundle) / "PySide6" / "Qt"
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "Qt").is_dir():
            return Path(location) / "Qt"
    return None


def missing_libraries(plugin: Path, library_dirs: Sequence[Path] = ()) -> list[str] | None:
    """The libraries `plugin` needs that the system cannot provide (None: cannot tell).

    `library_dirs` are searched first, as the libraries shipped beside Qt are found at run
    time (through the plugin's RUNPATH, or already loaded by the bundle).
    """
    ldd = shutil.which("ldd") or ("/usr/bin/ldd" if Path("/usr/bin/ldd").is_file() else None)
    if ldd is None or not plugin.is_file():
        return None
    env = dict(os.environ)
    search = [str(d) for d in library_dirs if d.is_dir()]
    if env.get("LD_LIBRARY_PATH"):
        search.append(env["LD_LIBRARY_PATH"])
    env["LD_LIBRARY_PATH"] = os.pathsep.join(search)
    try:
        result = subprocess.run(
            [ldd, str(plugin)],
            capture_output=True,
            text=True,
            env=env,
            timeout=LDD_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return missing_from_ldd(result.stdout)


def _candidates(env: Mapping[str, str]) -> list[str] | None:
    """The platforms Qt will try here, in order ([]: none can work; None: not ours to check)."""
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        names = [part.split(":")[0].strip() for part in chosen.split(";")]
        if not all(name in PLUGIN_FILES for name in names):
            return None
        return [name for name in names if name != "xcb" or env.get("DISPLAY")]
    found = []
    if env.get("WAYLAND_DISPLAY"):
        found.append("wayland")
    if env.get("DISPLAY"):
        found.append("xcb")
    return found


def missing_message(platform: str, missing: Sequence[str]) -> str:
    """The sentence for a platform plugin whose system libraries are missing."""
    packages = " ".join(dict.fromkeys(package_for(name) for name in missing))
    return (
        f"Hearth's window cannot open: Qt's {PLATFORM_NAMES.get(platform, platform)} plugin "
        f"needs system libraries that are missing here ({', '.join(missing)}); on Debian or "
        f"Ubuntu install them with `sudo apt install {packages}` (`hearth ask` and "
        "`hearth --help` work without them)."
    )


def window_problem(env: Mapping[str, str] | None = None, qt: Path | None = None) -> str | None:
    """Why the window cannot start here, as one message for the user; None when it can
    (or when this cannot be told, e.g. on Windows and macOS, or without `ldd`)."""
    if not sys.platform.startswith("linux"):
        return None
    env = os.environ if env is None else env
    platforms = _candidates(env)
    if platforms is None:
        return None
    if not platforms:
        return NO_DISPLAY
    qt = qt or qt_dir()
    if qt is None:
        return None
    problems = []
    for platform in platforms:
        plugin = qt / "plugins" / "platforms" / PLUGIN_FILES[platform]
        missing = missing_libraries(plugin, [qt / "lib", qt.parent.parent])
        if not missing:  # complete, or it cannot be told: let Qt try
            return None
        problems.append(missing_message(platform, missing))
    return problems[-1]  # the X11 plugin's (Qt falls back to it last), or the only one
