"""The window's start-up check: no display, and Qt platform plugins missing system libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.display_check import (
    NO_DISPLAY,
    missing_from_ldd,
    missing_libraries,
    package_for,
    qt_dir,
    window_problem,
)

ROOT = Path(__file__).resolve().parents[2]
#: `ldd libqxcb.so` on a minimal Debian 12 without libxcb-cursor0 and libxcb-icccm4 (trimmed).
RECORDED_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd4a1f2000)
\tlibQt6XcbQpa.so.6 => /opt/hearth/_internal/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f0a)
\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007f0a9c179000)
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f0a9c11d000)
\tlibxcb-cursor.so.0 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0a9ce19000)
"""
#: A library no system has, as long as the one it replaces in the plugin's file.
FAKE_LIB = "libxcb-hearth.so.0"
REPLACED_LIB = "libxcb-cursor.so.0"


def test_recorded_ldd_output_gives_the_missing_libraries_once_each() -> None:
    missing = missing_from_ldd(RECORDED_LDD)
    assert missing == ["libxkbcommon-x11.so.0", "libxcb-cursor.so.0", "libxcb-icccm.so.4"]


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libEGL.so.1", "libegl1"),
        ("libwayland-client.so.0", "libwayland-client0"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
    ],
)
def test_debian_package_names(soname: str, package: str) -> None:
    assert package_for(soname) == package


def _qt_with_missing_dependency(tmp_path: Path) -> Path:
    """A copy of Qt's xcb plugin whose file names a library this system does not have, in
    a Qt folder whose lib/ is the real one (the plugin finds Qt's libraries via RUNPATH)."""
    real = qt_dir()
    if real is None or not (real / "plugins" / "platforms" / "libqxcb.so").is_file():
        pytest.skip("this PySide6 has no xcb plugin (not Linux)")
    qt = tmp_path / "Qt"
    platforms = qt / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    (qt / "lib").symlink_to(real / "lib")
    data = (real / "plugins" / "platforms" / "libqxcb.so").read_bytes()
    assert len(FAKE_LIB) == len(REPLACED_LIB) and REPLACED_LIB.encode() + b"\0" in data
    patched = data.replace(REPLACED_LIB.encode() + b"\0", FAKE_LIB.encode() + b"\0")
    (platforms / "libqxcb.so").write_bytes(patched)
    return qt


def test_a_plugin_whose_dependency_is_missing_names_the_package(tmp_path: Path) -> None:
    qt = _qt_with_missing_dependency(tmp_path)
    real = qt_dir()
    assert real is not None
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    missing = missing_libraries(plugin, [qt / "lib"])
    assert missing is not None and FAKE_LIB in missing
    # Qt's own libraries resolve (next to the plugin); the real plugin lacks no fake library.
    assert not any(name.startswith("libQt6") for name in missing)
    real_missing = missing_libraries(real / "plugins" / "platforms" / "libqxcb.so", [real / "lib"])
    assert real_missing is not None and FAKE_LIB not in real_missing

    problem = window_problem({"DISPLAY": ":0"}, qt)
    assert problem is not None
    assert f"({', '.join(missing)})" in problem
    assert "sudo apt install libxcb-hearth0" in problem
    assert "`hearth ask` and `hearth --help` work without them" in problem
    # With both displays Qt tries Wayland first; a plugin that may work is not stood in the way
    # of (this copy has no Wayland plugin, so it cannot be told).
    assert window_problem({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, qt) is None


def test_what_is_checked_depends_on_the_display_and_the_chosen_platform(tmp_path: Path) -> None:
    qt = _qt_with_missing_dependency(tmp_path)
    assert window_problem({}, qt) == NO_DISPLAY
    assert window_problem({"QT_QPA_PLATFORM": "xcb"}, qt) == NO_DISPLAY  # xcb needs DISPLAY
    assert window_problem({"QT_QPA_PLATFORM": "offscreen"}, qt) is None  # the user's choice
    assert window_problem({"QT_QPA_PLATFORM": "vnc:size=800x600"}, qt) is None
    problem = window_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, qt)
    assert problem is not None and FAKE_LIB in problem


def _hearth(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_no_display_the_real_command_says_so_and_exits_2(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    data_dir = tmp_path / "data"
    result = _hearth(env, "--data-dir", str(data_dir))
    assert result.returncode == 2, result.stderr
    assert result.stderr == NO_DISPLAY + "\n"
    assert result.stdout == ""
    assert not data_dir.exists()  # nothing was written
    helped = _hearth(env, "--help")  # what the message promises works without a display
    assert helped.returncode == 0 and "ask" in helped.stdout
