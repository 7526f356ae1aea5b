"""How much memory the machine has free right now, without third-party packages.

Linux: `MemAvailable` from /proc/meminfo (the kernel's own estimate of what a new program
can use without swapping). macOS: free, inactive and speculative pages from `vm_stat`.
Windows: `GlobalMemoryStatusEx`. None when it cannot be told.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
import sys
from pathlib import Path


def available_memory() -> int | None:
    """Bytes of memory available to a new program, or None if unknown."""
    try:
        if sys.platform == "win32":
            return _windows()
        if sys.platform == "darwin":
            return _macos()
        return _linux(Path("/proc/meminfo"))
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _linux(meminfo: Path) -> int | None:
    for line in meminfo.read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def parse_vm_stat(text: str) -> int | None:
    """Free + inactive + speculative pages of `vm_stat` output, in bytes."""
    size = re.search(r"page size of (\d+) bytes", text)
    if not size:
        return None
    pages = 0
    for label in ("Pages free", "Pages inactive", "Pages speculative"):
        match = re.search(rf"{label}:\s+(\d+)", text)
        pages += int(match.group(1)) if match else 0
    return pages * int(size.group(1))


def _macos() -> int | None:
    out = subprocess.run(["vm_stat"], capture_output=True, text=True, timeout=5, check=True).stdout
    return parse_vm_stat(out)


class _MemoryStatusEx(ctypes.Structure):
    _fields_ = [
        ("dwLength", ctypes.c_ulong),
        ("dwMemoryLoad", ctypes.c_ulong),
        ("ullTotalPhys", ctypes.c_ulonglong),
        ("ullAvailPhys", ctypes.c_ulonglong),
        ("ullTotalPageFile", ctypes.c_ulonglong),
        ("ullAvailPageFile", ctypes.c_ulonglong),
        ("ullTotalVirtual", ctypes.c_ulonglong),
        ("ullAvailVirtual", ctypes.c_ulonglong),
        ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
    ]


def _windows() -> int | None:
    status = _MemoryStatusEx()
    status.dwLength = ctypes.sizeof(_MemoryStatusEx)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return int(status.ullAvailPhys)
