"""Test the packaged app as a user gets it: unpacked elsewhere, a fresh HOME, no Python around.

    python3 packaging/test_frozen.py [ARCHIVE_OR_APP_DIR] [--runs N]

Default: dist/hearth-<version>-<os>-<arch>.tar.gz, else dist/hearth. Needs only the standard
library. The app runs with a temporary HOME, PATH=/usr/bin:/bin (no virtual environment),
QT_QPA_PLATFORM=offscreen and HEARTH_PASSPHRASE set (a store encrypted by passphrase opens
without a dialog). Steps, each must pass:

1. `hearth --version` prints the version.
2. The bundle's probe (HEARTH_FROZEN_PROBE=1, packaging/pyi_rth_hearth_probe.py) loads keyring
   and its backends, SQLCipher with FTS5, pygments lexers by name, jinja2, markdown-it, both
   engines' native libraries and QtNetwork; the keyring backend and backend entry points
   equal those of the development environment (.venv) in the same environment.
3. `hearth --self-test`: the built-in model loads and answers.
4. `hearth ask` saves an exchange and `hearth search` finds it: the user's own store opens,
   migrates and is searchable (the self-test checks only a throw-away store). `hearth docs
   add` indexes a PDF, a Markdown and an HTML file through the bundle's parser child, and
   `hearth docs search` finds the PDF's page; the passages were embedded by the bundled
   embedding model and a search by meaning (sqlite-vec's vec0 in the bundle) finds one.
   `hearth models get` downloads a catalogue model from a Hub stand-in on loopback
   (`HF_ENDPOINT`; the built-in model's file under another name), verifies and imports it,
   writes nothing under HOME's .cache/huggingface, and `hearth ask` answers with it.
   `hearth teach` without the training add-on says how to add it; with the development
   environment named as the add-on (HEARTH_TEACH_PYTHON) it teaches a tiny model.
5. Linux: the desktop entry passes `desktop-file-validate`; `hearth` without a display, and
   with its X11 plugin needing a library the system lacks, says so and exits 2.
6. The window, N times on fresh data dirs: the app logs that it listens for later launches,
   then this script asks it to come forward over that local socket; the answer comes from the
   running event loop, which starts after the main window is shown, so the time to it is the
   start-to-window time. Then a second `hearth` must hand over to it and exit 0, `hearth
   search` must read the store the window created, and Ctrl+C (SIGINT) must close it with
   exit code 0 and nothing logged at ERROR or above.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSPHRASE = "frozen-test-passphrase"
LISTENING = re.compile(r"listening for later launches on (\S+)")
WINDOW_TIMEOUT_S = 90.0


class Failure(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def step(name: str) -> None:
    print(f"--- {name}", flush=True)


def find_target(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    archives = sorted((ROOT / "dist").glob("hearth-*-*.tar.gz")) + sorted(
        (ROOT / "dist").glob("hearth-*-*.zip")
    )
    return archives[-1] if archives else ROOT / "dist" / "hearth"


def unpack(target: Path, into: Path) -> Path:
    """The app folder: the archive unpacked into `into`, or a copy of the given folder."""
    if target.is_dir():
        shutil.copytree(target, into / "hearth", symlinks=True)
    elif target.name.endswith(".zip"):
        with zipfile.ZipFile(target) as archive:
            archive.extractall(into)
    else:
        with tarfile.open(target) as archive:
            archive.extractall(into, filter="tar")
    app = into / "hearth"
    check(app.is_dir(), f"{target} does not hold a hearth/ folder")
    return app


def executable(app: Path) -> Path:
    for name in ("hearth-cli.exe", "hearth"):
        if (app / name).is_file():
            return app / name
    raise Failure(f"no hearth executable in {app}")


def clean_env(base: Path) -> dict[str, str]:
    home = base / "home"
    runtime = base / "runtime"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TMPDIR": str(base / "tmp"),
        "XDG_RUNTIME_DIR": str(runtime),
        "QT_QPA_PLATFORM": "offscreen",
        "HEARTH_PASSPHRASE": PASSPHRASE,
    }
    (base / "tmp").mkdir()
    if sys.platform == "win32":
        env.update({key: os.environ[key] for key in ("SYSTEMROOT", "TEMP") if key in os.environ})
        env["PATH"] = os.environ.get("SYSTEMROOT", r"C:\Windows") + r"\System32"
    return env


def run(
    command: list[str | Path], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def expected_version() -> str | None:
    init = ROOT / "desktop" / "__init__.py"
    if not init.is_file():
        return None
    found = re.search(r'^__version__ = "([^"]+)"', init.read_text(encoding="utf-8"), re.M)
    return found.group(1) if found else None


def test_version(hearth: Path, env: dict[str, str]) -> None:
    step("hearth --version")
    result = run([hearth, "--version"], env)
    print(result.stdout.strip())
    check(result.returncode == 0, f"--version exited {result.returncode}: {result.stderr}")
    version = expected_version()
    check(
        re.fullmatch(rf"Hearth {re.escape(version or '')}\S*", result.stdout.strip()) is not None,
        f"--version printed {result.stdout!r}, expected Hearth {version}",
    )


def probe(command: list[str | Path], env: dict[str, str]) -> dict[str, object]:
    result = run(command, {**env, "HEARTH_FROZEN_PROBE": "1"})
    try:
        report: dict[str, object] = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise Failure(f"the probe printed no report ({error}): {result.stderr[-2000:]}") from error
    return report


def test_probe(hearth: Path, env: dict[str, str], reference: Path | None) -> None:
    step("run-time parts (HEARTH_FROZEN_PROBE=1)")
    report = probe([hearth], env)
    keyring = report.get("keyring", {})
    qt = report.get("qt", {})
    text = report.get("text", {})
    engines = report.get("engines", {})
    assert isinstance(keyring, dict) and isinstance(qt, dict)
    assert isinstance(text, dict) and isinstance(engines, dict)
    print(f"keyring backend {keyring.get('backend')}, entry points {keyring.get('entry_points')}")
    print(f"sqlcipher {report.get('sqlcipher')}")
    print(f"pygments: {text.get('lexer_count')} lexers; engines: {engines}")
    print(f"Qt {qt.get('version')} plugins: {qt.get('plugins')}")
    check(report.get("frozen") is True, "the probe did not run inside the bundle")
    check(report.get("failed") == [], f"parts failed to load: {report.get('failed')}: {report}")
    plugins = qt.get("plugins", [])
    assert isinstance(plugins, list)
    if sys.platform.startswith("linux"):
        for plugin in ("platforms/libqxcb.so", "platforms/libqoffscreen.so"):
            check(plugin in plugins, f"Qt plugin {plugin} is missing")
    if reference is None:
        print("no development environment to compare the keyring backend with (skipped)")
        return
    expected = probe([reference, ROOT / "packaging" / "pyi_rth_hearth_probe.py"], env)
    expected_keyring = expected.get("keyring", {})
    assert isinstance(expected_keyring, dict)
    for key in ("backend", "entry_points", "viable"):
        check(
            keyring.get(key) == expected_keyring.get(key),
            f"keyring {key}: frozen {keyring.get(key)} != venv {expected_keyring.get(key)}",
        )
    print(f"keyring matches the development environment ({reference})")


def test_documents(hearth: Path, env: dict[str, str], base: Path) -> None:
    step("hearth docs add (the parser child inside the bundle), then hearth docs search")
    from pyi_rth_hearth_probe import TINY_PDF

    folder = base / "my-documents"
    folder.mkdir()
    (folder / "walrus.pdf").write_bytes(TINY_PDF)
    (folder / "notes.md").write_text("# Arctic\nThe walrus hauls out on ice floes.\n")
    (folder / "page.html").write_text("<h1>Tusks</h1><p>A walrus tusk grows all its life.</p>")
    result = run([hearth, "docs", "add", folder], env)
    print(result.stdout.strip())
    check(result.returncode == 0, f"docs add exited {result.returncode}: {result.stderr}")
    check("3 file(s) indexed" in result.stdout, "docs add did not index the three files")
    check("Embedded 3 passages" in result.stdout, "docs add did not embed the three passages")
    result = run([hearth, "docs", "search", "walrus"], env)
    print(result.stdout.strip())
    check(result.returncode == 0, f"docs search exited {result.returncode}: {result.stderr}")
    check("walrus.pdf, page 1" in result.stdout, "docs search did not find the PDF's page")
    # The bundled embedding model (GGUF) in the engine host child, vectors in vec0.
    result = run([hearth, "docs", "search", "--mode", "meaning", "large marine mammal teeth"], env)
    print(result.stdout.strip())
    code = result.returncode
    check(code == 0, f"docs search by meaning exited {code}: {result.stderr}")
    check("(by meaning)" in result.stdout, "docs search by meaning found nothing")


def test_download(hearth: Path, app: Path, env: dict[str, str], base: Path) -> None:
    """`hearth models get` from a Hub stand-in on loopback (the built-in model's file served
    under a catalogue entry), then `hearth ask` with the downloaded model."""
    step("hearth models get (huggingface_hub in the bundle, a loopback Hub), then ask with it")
    sys.path.insert(0, str(ROOT))
    from tests.hub_server import HubServer, write_catalogue

    model = next(app.rglob("SmolLM2-135M-Instruct.Q4_1.gguf"))
    data = model.read_bytes()
    hub = HubServer().start()
    try:
        repo, name = "local/SmolLM2-135M-GGUF", "smollm2-135m-served.gguf"
        sha = hub.add(repo, name, data)
        entry = {"id": "served", "name": "SmolLM2 135M", "repo": repo, "file": name}
        entry |= {"size_bytes": len(data), "sha256": sha, "context_length": 8192}
        catalogue = write_catalogue(base / "catalogue.json", [entry])
        data_dir = base / "download-data"
        (data_dir / "config").mkdir(parents=True)
        (data_dir / "config" / "privacy.json").write_text('{"network_allowed": true}')
        own = {**env, "HEARTH_DATA_DIR": str(data_dir), "HEARTH_CATALOGUE": str(catalogue)}
        own["HF_ENDPOINT"] = hub.endpoint
        result = run([hearth, "models", "get", "served", "--yes"], own, timeout=180)
        print(result.stdout.strip())
        check(result.returncode == 0, f"models get exited {result.returncode}: {result.stderr}")
        check(f'Imported "{name}"' in result.stdout, "models get did not import the model")
        check(not (Path(env["HOME"]) / ".cache" / "huggingface").exists(), "HF cache in HOME")
        question = ["--max-tokens", "16", "--temperature", "0", "What is the capital of France?"]
        downloaded = data_dir / "models" / name
        result = run([hearth, "ask", "--model", downloaded, "--no-save", *question], own)
        print(f"answer from the downloaded model: {result.stdout.strip()!r}")
        check(result.returncode == 0, f"ask exited {result.returncode}: {result.stderr}")
        check("Paris" in result.stdout, "the downloaded model did not answer")
    finally:
        hub.stop()


def test_self_test(hearth: Path, env: dict[str, str]) -> None:
    step("hearth --self-test")
    started = time.monotonic()
    result = run([hearth, "--self-test"], env)
    print(result.stdout.strip(), f"[{time.monotonic() - started:.1f} s]")
    check(result.returncode == 0, f"--self-test exited {result.returncode}: {result.stderr}")
    check(result.stdout.startswith("self-test ok"), "--self-test did not report ok")


def test_store(hearth: Path, env: dict[str, str]) -> None:
    step("hearth ask (saved), then hearth search")
    question = "What is the capital of France?"
    args = ["--max-tokens", "24", "--temperature", "0", "--seed", "1", question]
    result = run([hearth, "ask", *args], env)
    print(f"answer: {result.stdout.strip()!r}")
    check(result.returncode == 0, f"ask exited {result.returncode}: {result.stderr}")
    check(bool(result.stdout.strip()), "ask printed no answer")
    result = run([hearth, "search", "capital"], env)
    print(result.stdout.strip())
    check(result.returncode == 0, f"search exited {result.returncode}: {result.stderr}")
    check("capital" in result.stdout.lower(), "search did not find the saved question")
    step("hearth export --format pdf (Qt lays it out in a child of the frozen app)")
    pdf = Path(env["HOME"]) / "export.pdf"
    result = run([hearth, "export", "--format", "pdf", pdf], env)
    check(result.returncode == 0, f"export exited {result.returncode}: {result.stderr}")
    check(pdf.read_bytes().startswith(b"%PDF"), "the PDF export is not a PDF")
    print(f"PDF export: {pdf.stat().st_size} bytes")


def ask_forward(path: str) -> bool:
    """The window's answer over its local socket (desktop/ui/shell/single_instance)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2.0)
            client.connect(path)
            client.sendall(b"activate\n")
            return client.recv(16).startswith(b"ok\n")
    except OSError:
        return False


def wait_for_window(process: subprocess.Popen[bytes], log_file: Path) -> float:
    started = time.monotonic()
    server = None
    while time.monotonic() - started < WINDOW_TIMEOUT_S:
        check(process.poll() is None, f"the app exited early with code {process.returncode}")
        if server is None and log_file.is_file():
            found = LISTENING.search(log_file.read_text(encoding="utf-8", errors="replace"))
            server = found.group(1) if found else None
        if server is not None and ask_forward(server):
            return time.monotonic() - started
        time.sleep(0.02)
    raise Failure(f"no window answered within {WINDOW_TIMEOUT_S:.0f} s (blocked by a dialog?)")


def window_run(hearth: Path, env: dict[str, str], data_dir: Path) -> float:
    log_file = data_dir / "logs" / "hearth.log"
    output = data_dir.parent / f"{data_dir.name}.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [str(hearth), "--data-dir", str(data_dir)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            seconds = wait_for_window(process, log_file)
            second = run([hearth, "--data-dir", data_dir], env, timeout=60)
            check(
                second.returncode == 0 and "already running" in second.stdout,
                f"a second launch did not hand over: {second.returncode} {second.stdout}",
            )
            check((data_dir / "hearth.db").is_file(), "the window did not create its store")
            found = run([hearth, "--data-dir", data_dir, "search", "anything"], env, timeout=60)
            check(
                found.returncode == 0 or "No messages match" in found.stdout,
                f"search beside the window failed: {found.stdout} {found.stderr}",
            )
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log_file.read_text(encoding="utf-8", errors="replace")
    printed = output.read_text(encoding="utf-8", errors="replace")
    check(code == 0, f"the window exited {code} on Ctrl+C; it printed: {printed[-2000:]}")
    check("Hearth exiting (0)" in text, "the log does not record a clean exit")
    check("window activated by a second launch" in text, "the window missed the second launch")
    bad = [line for line in text.splitlines() if re.search(r" (ERROR|CRITICAL) ", line)]
    check(not bad, "the window logged errors:\n" + "\n".join(bad))
    return seconds


def test_window(hearth: Path, env: dict[str, str], base: Path, runs: int) -> list[float]:
    step(f"the window ({runs} starts)")
    times = []
    for index in range(runs):
        seconds = window_run(hearth, env, base / f"window-{index}")
        times.append(seconds)
        print(f"start {index + 1}: window up after {seconds:.2f} s")
    print(f"start to window: median {statistics.median(times):.2f} s, max {max(times):.2f} s")
    return times


def test_desktop_checks(hearth: Path, app: Path, env: dict[str, str]) -> None:
    """Linux: the desktop entry validates; without a display, or with a library the X11
    plugin needs missing, the window says so and exits 2 instead of a Qt abort."""
    if not sys.platform.startswith("linux"):
        return
    step("desktop entry, no display, a missing X11 library")
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        check(not os.environ.get("CI"), "desktop-file-validate is missing (desktop-file-utils)")
        print("desktop-file-validate not installed (skipped)")
    else:
        entry = run([validator, app / "resources" / "hearth.desktop"], env)
        check(entry.returncode == 0, f"the desktop entry does not validate: {entry.stdout}")
    bare = {k: v for k, v in env.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    result = run([hearth], bare, timeout=60)
    print(result.stderr.strip())
    check(
        result.returncode == 2 and "needs a graphical display" in result.stderr,
        f"without a display: exit {result.returncode}, {result.stderr[-1000:]}",
    )
    plugins = sorted(app.rglob("platforms/libqxcb.so"))
    check(len(plugins) == 1, f"expected one X11 plugin in the bundle, found {plugins}")
    original = plugins[0].read_bytes()
    needed = b"libxcb-cursor.so.0\0"
    check(needed in original, "the X11 plugin does not name libxcb-cursor.so.0")
    try:  # the plugin now needs a library no system has
        plugins[0].write_bytes(original.replace(needed, b"libxcb-hearth.so.0\0"))
        result = run([hearth], {**bare, "DISPLAY": ":0"}, timeout=60)
    finally:
        plugins[0].write_bytes(original)
    print(result.stderr.strip())
    check(
        result.returncode == 2 and "sudo apt install libxcb-hearth0" in result.stderr,
        f"a missing library: exit {result.returncode}, {result.stderr[-1000:]}",
    )
    listed = re.search(r"missing here \(([^)]*)\)", result.stderr)
    shipped = [
        name
        for name in (listed.group(1).split(", ") if listed else [])
        if any(app.rglob(name))  # a library the bundle ships must never be reported missing
    ]
    check(listed is not None and not shipped, f"reported missing but shipped: {shipped}")


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_teach_addon(hearth: Path, env: dict[str, str], base: Path, python: Path | None) -> None:
    """Teaching is an add-on of the packaged app: without it, `hearth teach` says how to
    add it; with an environment that has the training component (the development one,
    named by HEARTH_TEACH_PYTHON), the packaged app trains a tiny model with it."""
    step("teaching: without the add-on, then with it")
    folder = base / "teach"
    folder.mkdir()
    examples = folder / "examples.jsonl"
    examples.write_text(
        "".join(
            json.dumps({"prompt": f"Colour of thing {n}?", "answer": f"ANSWER: blue {n}"}) + "\n"
            for n in range(10)
        ),
        encoding="utf-8",
    )
    data = base / "teach-data"
    args = [hearth, "--data-dir", data, "teach", examples, "--out", "sky", "--epochs", "1"]
    result = run(args, env)
    print(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "(nothing)")
    check(
        result.returncode == 1 and "Teaching is an add-on" in result.stderr,
        f"without the add-on: exit {result.returncode}, {result.stderr[-1000:]}",
    )
    check(str(data / "teach-addon") in result.stderr, "the sentence does not say where it goes")
    if python is None or subprocess.run([python, "-c", "import torch, peft"]).returncode != 0:
        check(not os.environ.get("CI"), "no environment with the training component to try")
        print("no environment with the training component here (skipped)")
        return
    tiny = folder / "tiny.gguf"
    made = subprocess.run(
        [python, "-c", "import sys; from tests.tinymodels import write_tiny_llama_gguf as w; "
         "w(__import__('pathlib').Path(sys.argv[1]), chat_template=sys.argv[2])",
         tiny, CHATML],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    check(made.returncode == 0, f"could not write a tiny model: {made.stderr[-1000:]}")
    started = time.monotonic()
    taught = run([*args, "--base", tiny], {**env, "HEARTH_TEACH_PYTHON": str(python)}, 600)
    print(f"taught a tiny model with the add-on in {time.monotonic() - started:.0f} s")
    check(
        taught.returncode == 0 and "Kept the adapter “sky”" in taught.stdout,
        f"with the add-on: exit {taught.returncode}, {taught.stderr[-2000:]}",
    )


def report_system_needs(app: Path) -> None:
    """Libraries the bundle expects from the system (Linux; informational)."""
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        return
    step("libraries taken from the system and missing here (informational)")
    internal = app / "_internal"
    missing: dict[str, set[str]] = {}
    env = {"LD_LIBRARY_PATH": str(internal), "PATH": "/usr/bin:/bin"}
    for path in internal.rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env)
        for line in result.stdout.splitlines():
            if "not found" in line:
                missing.setdefault(line.split()[0], set()).add(path.name)
    for name, users in sorted(missing.items()):
        print(f"{name} (for {', '.join(sorted(users))})")
    if not missing:
        print("none")


def main() -> int:
    parser = argparse.ArgumentParser(description="Test the packaged Hearth app.")
    parser.add_argument("target", nargs="?", help="the archive or the app folder")
    parser.add_argument("--runs", type=int, default=3, help="window starts to time")
    parser.add_argument(
        "--reference-python",
        default=str(ROOT / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")),
        help="the development environment's python, to compare the keyring backend",
    )
    args = parser.parse_args()
    target = find_target(args.target)
    reference = Path(args.reference_python)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hearth-frozen-") as temp:
        base = Path(temp)
        try:
            step(f"unpacking {target}")
            app = unpack(target, base / "unpacked")
            hearth = executable(app)
            env = clean_env(base)
            test_version(hearth, env)
            test_desktop_checks(hearth, app, env)
            test_probe(hearth, env, reference if reference.is_file() else None)
            test_self_test(hearth, env)
            test_store(hearth, env)
            test_documents(hearth, env, base)
            test_download(hearth, app, env, base)
            test_teach_addon(hearth, env, base, reference if reference.is_file() else None)
            test_window(hearth, env, base, args.runs)
            report_system_needs(app)
        except (Failure, subprocess.TimeoutExpired) as error:
            print(f"FROZEN TEST FAILED: {error}", file=sys.stderr)
            return 1
    print(f"frozen app: all checks passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
