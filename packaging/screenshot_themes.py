"""Screenshots of the real window in the light and dark themes, under a real X server.

Starts Xvfb on its own display with the openbox window manager, runs Hearth (the real
app, the built-in model) with a fresh data folder, and drives it with xdotool as a user
would: the first-run dialog gets a passphrase typed twice, the recovery key is
acknowledged, two questions are typed and sent, each once the last reply is saved as
finished (`hearth export` reads the store beside the window). Then the window is resized
to each width and captured once it has stopped changing. The second theme reopens the
same conversations (the passphrase comes from HEARTH_PASSPHRASE).

    python packaging/screenshot_themes.py [--display :35] [--out resources]
        [--widths 1400 600] [--text-step 0] [--themes light dark] [--font-size 20]

Writes OUT/screenshot-THEME.png (the first width) and OUT/screenshot-THEME-WIDTH.png
(the others). `--font-size PT` gives the desktop a system font of PT points (GTK's
settings, which Qt reads through its gtk3 platform theme) and adds `-PTpt` to the names.
Needs Xvfb, openbox and xdotool (Debian: xvfb openbox xdotool); the window is captured
with Qt's own screen grab on that display.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("Xvfb", "openbox", "xdotool")
PASSPHRASE = "correct horse battery"
QUESTIONS = (
    "Write a haiku about tea",
    "Show a short Python function that reverses a string, in a code block",
)
HEIGHT = 860
NO_KEYCHAIN = "keyring.backends.fail.Keyring"  # the same first run on every machine


class Desktop:
    """Xvfb and openbox on `display`, stopped on exit."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.env = {**os.environ, "DISPLAY": display}
        self._processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Desktop:
        self._start(["Xvfb", self.display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
        time.sleep(1.0)
        self._start(["openbox"])
        time.sleep(1.0)
        os.environ["DISPLAY"], os.environ["QT_QPA_PLATFORM"] = self.display, "xcb"
        from PySide6.QtGui import QGuiApplication

        self._qt = QGuiApplication([])  # only to grab windows from this display
        return self

    def __exit__(self, *_: object) -> None:
        for process in reversed(self._processes):
            process.terminate()
            process.wait(10)

    def _start(self, command: list[str]) -> None:
        self._processes.append(
            subprocess.Popen(
                command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(
            ["xdotool", *args], env=self.env, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    def window(self, title: str, timeout_s: float = 30.0) -> str | None:
        """The id of the window named exactly `title`, once it exists."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.xdotool("search", "--onlyvisible", "--name", f"^{title}$").split()
            if found:
                return found[-1]
            time.sleep(0.3)
        return None

    def type_into(self, window: str, *keys: str, text: str = "") -> None:
        self.xdotool("windowactivate", "--sync", window)
        if text:
            self.xdotool("type", "--delay", "15", text)
        for key in keys:
            self.xdotool("key", key)

    def capture(self, window: str, target: Path | None = None) -> bytes:
        """The window's pixels (saved as a PNG at `target`); its upper two thirds, where
        replies stream, returned raw for comparing (the composer's cursor blinks)."""
        screen = self._qt.primaryScreen()
        image = screen.grabWindow(int(window)).toImage()
        if target is not None and not image.save(str(target), "PNG"):
            raise SystemExit(f"Could not write {target}.")
        upper = image.copy(0, 0, image.width(), image.height() * 2 // 3)
        return bytes(upper.constBits())


def finished_replies(data: Path) -> int:
    """How many replies are saved as finished: `hearth export` reads the store beside the
    window (read-only), with the passphrase from HEARTH_PASSPHRASE."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "chats.json"
        command = ["export", "--format", "json", str(target)]
        done = subprocess.run(
            [sys.executable, "-m", "desktop", "--data-dir", str(data), *command],
            env={
                **os.environ,
                "HEARTH_PASSPHRASE": PASSPHRASE,
                "PYTHON_KEYRING_BACKEND": NO_KEYCHAIN,
            },
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0 or not target.is_file():
            return 0
        chats = json.loads(target.read_text(encoding="utf-8"))["conversations"]
    return sum(
        message["role"] == "assistant" and message["status"] != "streaming"
        for chat in chats
        for message in chat["messages"]
    )


def wait_for_replies(data: Path, count: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while finished_replies(data) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"No answer after {limit_s:.0f} s.")
        time.sleep(1.0)


def wait_until_still(desktop: Desktop, window: str, limit_s: float) -> None:
    """Until the window has looked the same for 3 s (the reply finished), or `limit_s`."""
    deadline = time.monotonic() + limit_s
    last, since = b"", time.monotonic()
    while time.monotonic() < deadline:
        digest = hashlib.sha256(desktop.capture(window)).digest()
        if digest != last:
            last, since = digest, time.monotonic()
        elif time.monotonic() - since >= 3.0:
            return
        time.sleep(0.5)


def run_theme(
    desktop: Desktop, data: Path, theme: str, args: argparse.Namespace, first: bool
) -> list[Path]:
    config = data / "config"
    config.mkdir(parents=True, exist_ok=True)
    settings = {"schema_version": 1, "theme": theme, "text_step": args.text_step}
    (config / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    env = {
        **desktop.env,
        "QT_QPA_PLATFORM": "xcb",
        "PYTHON_KEYRING_BACKEND": NO_KEYCHAIN,
    }
    if args.font_size:
        gtk = data / "desktop-config" / "gtk-3.0"
        gtk.mkdir(parents=True, exist_ok=True)
        font = f"[Settings]\ngtk-font-name=DejaVu Sans {args.font_size}\n"
        (gtk / "settings.ini").write_text(font, encoding="utf-8")
        env["XDG_CONFIG_HOME"] = str(gtk.parent)
        env["QT_QPA_PLATFORMTHEME"] = "gtk3"
    if not first:
        env["HEARTH_PASSPHRASE"] = PASSPHRASE
    app = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--data-dir", str(data)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shots: list[Path] = []
    try:
        if first:
            setup = desktop.window("Keep your chats private")
            if setup is None:
                raise SystemExit("The first-run dialog did not appear.")
            desktop.type_into(setup, "Tab", text=PASSPHRASE)
            desktop.xdotool("type", "--delay", "15", PASSPHRASE)
            desktop.xdotool("key", "Return")
            saved = desktop.window("Save your recovery key")
            if saved is not None:
                desktop.type_into(saved, "Escape")
        window = desktop.window("Hearth", 60.0)
        if window is None:
            raise SystemExit("The Hearth window did not appear.")
        desktop.xdotool("windowmove", "--sync", window, "0", "0")
        desktop.xdotool("windowsize", "--sync", window, str(args.widths[0]), str(HEIGHT))
        if first:
            for count, question in enumerate(QUESTIONS, start=1):
                desktop.type_into(window, "Return", text=question)
                wait_for_replies(data, count, 300.0)
        else:
            wait_until_still(desktop, window, 30.0)
        for index, width in enumerate(args.widths):
            desktop.xdotool("windowsize", "--sync", window, str(width), str(HEIGHT))
            time.sleep(1.5)
            wait_until_still(desktop, window, 20.0)
            size = f"-{args.font_size}pt" if args.font_size else ""
            wide = "" if index == 0 else f"-{width}"
            name = f"screenshot-{theme}{wide}{size}.png"
            target = args.out / name
            desktop.capture(window, target)
            shots.append(target)
    finally:
        app.terminate()
        app.wait(30)
    return shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--display", default=":35")
    parser.add_argument("--out", type=Path, default=ROOT / "resources")
    parser.add_argument("--widths", type=int, nargs="+", default=[1400, 600])
    parser.add_argument("--text-step", type=int, default=0)
    parser.add_argument("--themes", nargs="+", default=["light", "dark"])
    parser.add_argument("--font-size", type=int, default=0, help="system font size in points")
    args = parser.parse_args()
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        print(f"Missing tools: {', '.join(missing)} (see this script's docstring).")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="hearth-shots-") as folder,
        Desktop(args.display) as desk,
    ):
        for index, theme in enumerate(args.themes):
            for shot in run_theme(desk, Path(folder), theme, args, first=index == 0):
                print(shot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
