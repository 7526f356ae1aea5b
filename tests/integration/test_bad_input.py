"""The bad-input corpus: every command a hostile or unlucky user might type, run for real.

Each case runs `hearth` in a separate process, as a person would, and must end with exit
code 1 or 2 (never a signal), one line on stderr starting with "hearth" that says what
went wrong (never a traceback), and a data folder exactly as it was (or, for a damaged one,
as damaged as it was). A few shared folders are prepared once per kind of case: a store
made by `hearth import`, copies of it with a broken key file or damaged pages, and a full
disk (a small tmpfs; needs root, which this machine and CI have).

Every case's stderr is collected in `bad-input-stderr.txt` in pytest's temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EMOJI = "🍞"
EMPTY = hashlib.sha256(b"").hexdigest()


def hearth(
    data_dir: Path,
    *args: str | bytes,
    stdin: bytes = b"",
    env: dict[str, str | bytes] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    environ: dict[str | bytes, str | bytes] = {**os.environ, "HEARTH_DATA_DIR": str(data_dir)}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        input=stdin,
        env={os.fsencode(k): os.fsencode(v) for k, v in environ.items()},
        capture_output=True,
        timeout=timeout,
        check=False,
        cwd=cwd or ROOT,
    )


def conversations_file(path: Path, count: int = 12) -> Path:
    """A Hearth JSON export with `count` conversations (one with an emoji and a NUL)."""
    moment = "2026-01-01T00:00:00+00:00"

    def message(key: int, parent: int | None, role: str, content: str) -> dict[str, object]:
        return {
            "id": key,
            "parent_id": parent,
            "role": role,
            "content": content,
            "status": "complete",
            "created_at": moment,
            "stats": None,
        }

    conversations = [
        {
            "title": f"Chat {i}",
            "created_at": moment,
            "updated_at": moment,
            "pinned": False,
            "model_path": None,
            "system_prompt": None,
            "current_leaf_id": 2,
            "messages": [
                message(1, None, "user", f"Bread {EMOJI} question {i}\x00 tail{i} text"),
                message(2, 1, "assistant", f"Answer number {i}. " * 60),
            ],
        }
        for i in range(count)
    ]
    document = {"format": "hearth-conversations", "version": 1, "conversations": conversations}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` but the logs and the cache (what Hearth learnt about model
    files, which a refused command may well have inspected), with its sha256."""
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        derived = "logs" in relative.parts or relative.parts[0] == "cache"
        if derived or not path.is_file() or path.is_symlink():
            continue
        files[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@pytest.fixture(scope="module")
def stderr_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.getbasetemp() / "bad-input-stderr.txt"
    path.write_text("", encoding="utf-8")
    yield path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with saved conversations (passphrase-protected, as in CI)."""
    base = tmp_path_factory.mktemp("prepared")
    data = base / "data"
    made = hearth(data, "import", str(conversations_file(base / "chats.json")))
    assert made.returncode == 0, made.stderr
    assert b"recovery key" in made.stderr  # shown once, when the key is made
    return data


def copy_of(prepared: Path, target: Path) -> Path:
    shutil.copytree(prepared, target, ignore=shutil.ignore_patterns("logs"))
    return target


# -- the corpus ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: the command's arguments (`{out}`: a scratch folder), what it must say."""

    id: str
    args: tuple[str | bytes, ...]
    says: str
    code: int = 1
    stdin: bytes = b""
    env: dict[str, str | bytes] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None  # prepares the scratch folder


def _link(out: Path) -> None:
    (out / "target.md").write_text("mine", encoding="utf-8")
    (out / "link.md").symlink_to("target.md")


def _fifo(out: Path) -> None:
    os.mkfifo(out / "fifo.md")


def _folder(out: Path) -> None:
    (out / "folder").mkdir()


ASK_FLAGS = [
    ("--threads", "999", "--threads must be a whole number from 1 to"),
    ("--threads", "0", "--threads must be a whole number from 1 to"),
    ("--threads", "two", "--threads must be a whole number from 1 to"),
    ("--ctx", "0", "--ctx must be a whole number from 64 to 1,048,576"),
    ("--ctx", "-5", "--ctx must be a whole number from 64 to 1,048,576"),
    ("--ctx", "99999999", "--ctx must be a whole number from 64 to 1,048,576"),
    ("--max-tokens", "0", "--max-tokens must be a whole number from 1 to 32,768"),
    ("--max-tokens", "-1", "--max-tokens must be a whole number from 1 to 32,768"),
    ("--temperature", "nan", "--temperature must be a number from 0 to 2"),
    ("--temperature", "inf", "--temperature must be a number from 0 to 2"),
    ("--temperature", "-1", "--temperature must be a number from 0 to 2"),
    ("--seed", "-3", "--seed must be a whole number from 0 to 2,147,483,647"),
]

CASES = [
    # export: only regular files it creates or replaces, never through anything else
    Case("export-symlink", ("export", "{out}/link.md"), "is a link", setup=_link),
    Case("export-fifo", ("export", "{out}/fifo.md"), "is not a regular file", setup=_fifo),
    Case("export-device", ("export", "/dev/full"), "is not a regular file"),
    Case("export-dev-stdout", ("export", "/dev/stdout"), "is a link"),
    Case("export-folder", ("export", "{out}/folder"), "is a folder", setup=_folder),
    Case("export-root", ("export", "/"), "is a folder"),
    Case("export-missing-folder", ("export", "{out}/nowhere/x.md"), "does not exist"),
    Case("export-own-database", ("export", "{data}/hearth.db"), "one of the files where"),
    Case("export-own-keyfile", ("export", "{data}/hearth.db.keyinfo.json"), "one of the files"),
    Case(
        "export-unknown-conversation",
        ("export", "--conversation", "9999", "{out}/x.md"),
        "There is no conversation 9999",
    ),
    Case(
        "export-conversation-zero",
        ("export", "--conversation", "0", "{out}/x.md"),
        "--conversation must be a whole number",
        2,
    ),
    Case("export-bad-format", ("export", "--format", "docx", "{out}/x.docx"), "invalid choice", 2),
    # numbers: the allowed range in the message
    *[
        Case(f"ask{flag}={value}", ("ask", flag, value, "hi"), says, 2)
        for flag, value, says in ASK_FLAGS
    ],
    Case("search-limit-0", ("search", "--limit", "0", "bread"), "--limit must be", 2),
    Case("models-list-ctx-0", ("models", "list", "--ctx", "0"), "--ctx must be", 2),
    Case("bench-threads-999", ("bench", "--threads", "999"), "--threads must be", 2),
    # text that is not UTF-8, and empty prompts: nothing saved, no empty conversation
    Case("ask-invalid-utf8", ("ask", b"bad \xff\xfe"), "not UTF-8 text"),
    Case("ask-stdin-invalid-utf8", ("ask", "-"), "standard input is not UTF-8", stdin=b"x\xff"),
    Case("ask-system-invalid-utf8", ("ask", "--system", b"\xff", "hi"), "not UTF-8 text"),
    Case("ask-assistant-invalid-utf8", ("ask", "--assistant", b"\xfe", "hi"), "not UTF-8"),
    Case("search-invalid-utf8", ("search", b"\xff"), "not UTF-8 text"),
    Case("ask-empty", ("ask", "   "), "The prompt is empty"),
    Case("ask-empty-stdin", ("ask", "-"), "The prompt is empty"),
    Case(
        "passphrase-invalid-utf8",
        ("search", "bread"),
        "HEARTH_PASSPHRASE is wrong",
        env={"HEARTH_PASSPHRASE": b"bad\xffpassphrase"},
    ),
    Case("passphrase-wrong", ("search", "bread"), "is wrong", env={"HEARTH_PASSPHRASE": "nope!"}),
    Case("key-show-wrong", ("key", "show"), "is wrong", env={"HEARTH_PASSPHRASE": "nope!"}),
    Case("key-recover-short", ("key", "recover"), "has 56 letters", stdin=b"ABCD-EFGH\n"),
    Case("key-recover-typo", ("key", "recover"), "typo", stdin=b"0" * 56 + b"\n"),
    Case("key-recover-empty", ("key", "recover"), "No recovery key was given"),
    # other files
    Case("import-missing", ("import", "{out}/missing.json"), "cannot read"),
    Case("import-folder", ("import", "{out}"), "cannot read"),
    Case("import-not-json", ("import", "/dev/null"), "not valid JSON"),
    Case("ask-missing-model", ("ask", "--model", "{out}/none.gguf", "hi"), "none.gguf"),
    Case("data-dir-is-a-file", ("--data-dir", "{out}/file", "search", "x"), "cannot use"),
]


def _expand(arg: str | bytes, out: Path, data: Path) -> str | bytes:
    if isinstance(arg, bytes):
        return arg
    return arg.replace("{out}", str(out)).replace("{data}", str(data))


def check_refusal(
    result: subprocess.CompletedProcess[bytes], case_id: str, says: str, log: Path, code: int
) -> str:
    """The shared assertions: exit code, no traceback, one line naming the problem."""
    err = result.stderr.decode("utf-8", "replace")
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"== {case_id} (exit {result.returncode})\n{err}\n")
    assert result.returncode in (1, 2), (result.returncode, err)
    assert result.returncode == code, err
    assert "Traceback" not in err and "ERROR CORE" not in err, err
    assert "unexpected error" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hearth"), err
    assert says in lines[0], err
    return lines[0]


@dataclass(frozen=True)
class Ran:
    """One case's process, its scratch folder, and that folder's content before it ran."""

    result: subprocess.CompletedProcess[bytes]
    out: Path
    scratch: dict[str, str]


@pytest.fixture(scope="module")
def corpus(
    prepared: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Ran], dict[str, str], dict[str, str]]:
    """Every case run once, a few at a time (they only read the shared folder), and the
    shared folder's content before and after them all."""
    base = tmp_path_factory.mktemp("corpus")

    def run(case: Case) -> tuple[str, Ran]:
        out = base / case.id
        out.mkdir()
        if case.setup:
            case.setup(out)
        (out / "file").write_text("not a folder", encoding="utf-8")
        scratch = snapshot(out)
        args = [_expand(a, out, prepared) for a in case.args]
        return case.id, Ran(hearth(prepared, *args, stdin=case.stdin, env=case.env), out, scratch)

    before = snapshot(prepared)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        ran = dict(pool.map(run, CASES))
    return ran, before, snapshot(prepared)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_a_sentence(
    case: Case,
    corpus: tuple[dict[str, Ran], dict[str, str], dict[str, str]],
    stderr_log: Path,
) -> None:
    ran, before, after = corpus
    done = ran[case.id]
    check_refusal(done.result, case.id, case.says, stderr_log, case.code)
    assert after == before  # nothing saved, replaced or left behind in the data folder
    assert snapshot(done.out) == done.scratch  # no `.part`; the link and its target untouched
    if case.id == "export-symlink":
        assert (done.out / "link.md").is_symlink()
    if case.id == "export-device":
        assert Path("/dev/full").is_char_device()


# -- a damaged key file --------------------------------------------------------------------


def _keyinfo(prepared: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((prepared / "hearth.db.keyinfo.json").read_text())
    return data


def _scrypt(prepared: Path, n: object, r: int, p: int) -> bytes:
    info = _keyinfo(prepared)
    wrap = dict(info["passphrase"])  # type: ignore[call-overload]
    wrap.update(n="__N__", r=r, p=p)
    text = json.dumps({**info, "passphrase": wrap}).replace('"__N__"', str(n))
    return text.encode()


KEY_FILES: list[tuple[str, Callable[[Path], bytes], str]] = [
    ("invalid-utf8", lambda _: b'{"format": "hearth-keyinfo", "mode": "\xff\xfe"}', "damaged"),
    ("deep-nesting", lambda _: b"[" * 100_000 + b"]" * 100_000, "damaged"),
    ("huge", lambda _: b" " * 1_000_000 + b"{}", "damaged"),
    ("n-1e400", lambda p: _scrypt(p, "1e400", 8, 1), "damaged"),
    ("n-float", lambda p: _scrypt(p, "65536.0", 8, 1), "damaged"),
    ("r-32", lambda p: _scrypt(p, 2**20, 32, 1), "costlier than Hearth allows"),
    ("n-2-20-r7-p16", lambda p: _scrypt(p, 2**20, 7, 16), "costlier than Hearth allows"),
    ("not-a-power-of-two", lambda p: _scrypt(p, 65535, 8, 1), "unsupported scrypt cost"),
]


@pytest.fixture(scope="module")
def keyfile_data(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_of(prepared, tmp_path_factory.mktemp("keyfile") / "data")


@pytest.mark.parametrize(("name", "content", "says"), KEY_FILES, ids=[k[0] for k in KEY_FILES])
def test_a_hostile_key_file_is_refused_quickly(
    name: str,
    content: Callable[[Path], bytes],
    says: str,
    keyfile_data: Path,
    stderr_log: Path,
) -> None:
    keyfile = keyfile_data / "hearth.db.keyinfo.json"
    original = keyfile.read_bytes()
    keyfile.write_bytes(content(keyfile_data))
    try:
        before = snapshot(keyfile_data)
        start = time.monotonic()
        result = hearth(keyfile_data, "search", "bread", timeout=30)
        seconds = time.monotonic() - start
        line = check_refusal(result, f"keyfile-{name}", says, stderr_log, 1)
        assert "hearth key recover" in line
        assert seconds < 10, seconds  # a few seconds at most, even on a busy machine
        assert snapshot(keyfile_data) == before
    finally:
        keyfile.write_bytes(original)


def test_lost_key_file_then_the_recovery_key_on_the_command_line(
    prepared: Path, tmp_path: Path, stderr_log: Path
) -> None:
    data = copy_of(prepared, tmp_path / "data")
    shown = hearth(data, "key", "show")
    assert shown.returncode == 0, shown.stderr
    recovery = shown.stdout.decode().split("Your recovery key: ")[1].split()[0]
    assert b"Write it down" in shown.stdout  # the window's own advice
    (data / "hearth.db.keyinfo.json").unlink()
    before = snapshot(data)
    lost = hearth(data, "search", "bread")
    check_refusal(lost, "keyfile-missing", "hearth key recover", stderr_log, 1)
    assert snapshot(data) == before
    recovered = hearth(data, "key", "recover", stdin=f"{recovery}\n".encode())
    assert recovered.returncode == 0, recovered.stderr
    assert b"open again" in recovered.stdout
    found = hearth(data, "search", "bread")
    assert found.returncode == 0, found.stderr
    assert b"Chat 11" in found.stdout


# -- a damaged database --------------------------------------------------------------------


@pytest.fixture(scope="module")
def damaged(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared store with 64 random bytes written over several of its pages.

    The pages are in the last part of the file, where the imported conversations were
    written after the schema: damage to the schema's own pages makes every table unreadable.
    """
    data = copy_of(prepared, tmp_path_factory.mktemp("damaged") / "data")
    database = data / "hearth.db"
    size = database.stat().st_size
    with database.open("r+b") as handle:
        for fraction in (0.8, 0.88, 0.96):
            handle.seek(int(size * fraction))
            handle.write(os.urandom(64))
    return data


def test_search_in_a_damaged_database_is_a_sentence(damaged: Path, stderr_log: Path) -> None:
    before = snapshot(damaged)
    result = hearth(damaged, "search", "answer", "--limit", "1000")
    err = result.stderr.decode()
    assert "Traceback" not in err and "ERROR CORE" not in err, err
    if result.returncode != 0:  # the damage hit what the search reads
        check_refusal(result, "damaged-search", "damaged", stderr_log, 1)
    assert snapshot(damaged) == before


def test_export_of_a_damaged_database_saves_what_is_readable(
    damaged: Path, tmp_path: Path, stderr_log: Path
) -> None:
    before = snapshot(damaged)
    out = tmp_path / "salvage.json"
    result = hearth(damaged, "export", "--format", "json", str(out))
    err = result.stderr.decode()
    assert "Traceback" not in err and "ERROR CORE" not in err, err
    exported = json.loads(out.read_text(encoding="utf-8"))["conversations"]
    assert 0 < len(exported) < 12  # the readable part is out, and the damage was real
    line = check_refusal(
        result, "damaged-export", "The conversation database is damaged", stderr_log, 1
    )
    assert f"{len(exported)} conversation(s) were written" in line
    assert "hearth import" in line
    assert snapshot(damaged) == before
    assert [p.name for p in tmp_path.iterdir()] == ["salvage.json"]
    assert out.stat().st_mode & 0o777 == 0o600
    # What was saved goes into a new, sound store.
    imported = hearth(tmp_path / "sound", "import", str(out))
    assert imported.returncode == 0, imported.stderr
    assert f"Imported {len(exported)} conversation(s)".encode() in imported.stdout


# -- a full disk ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_disk(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 4 MB tmpfs holding a copy of the store, then filled to the last byte."""
    mount_point = tmp_path_factory.mktemp("full-disk")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small disk needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        copy_of(prepared, mount_point / "data")
        with (mount_point / "filler").open("wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        for size in (4096, 512, 1):  # and the last few bytes
            try:
                with (mount_point / f"filler-{size}").open("wb") as tail:
                    while True:
                        tail.write(b"\0" * size)
                        tail.flush()
            except OSError:
                pass
        assert shutil.disk_usage(mount_point).free < 65536
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


FULL_DISK_CASES = [
    ("ask", ("ask", "--max-tokens", "4", "hello"), "The disk is full"),
    ("import", ("import", "{chats}"), "The disk is full"),
    ("export-onto-it", ("export", "{disk}/out.md"), "The disk is full"),
    ("fresh-data-dir", ("--data-dir", "{disk}/fresh", "import", "{chats}"), "The disk is full"),
]


@pytest.mark.parametrize(
    ("name", "args", "says"), FULL_DISK_CASES, ids=[c[0] for c in FULL_DISK_CASES]
)
def test_a_full_disk_is_named(
    name: str,
    args: tuple[str, ...],
    says: str,
    full_disk: Path,
    tmp_path: Path,
    stderr_log: Path,
) -> None:
    data = full_disk / "data"
    chats = conversations_file(tmp_path / "chats.json", 2)
    before = snapshot(full_disk)
    expanded = [a.replace("{disk}", str(full_disk)).replace("{chats}", str(chats)) for a in args]
    result = hearth(data, *expanded)
    check_refusal(result, f"full-disk-{name}", says, stderr_log, 1)
    after = snapshot(full_disk)
    # SQLite may leave its empty side files (an empty WAL, the shared-memory index) when it
    # cannot start on a full disk; they hold no data and the next open reuses them.
    assert not after.get("data/hearth.db-wal") or after["data/hearth.db-wal"] == EMPTY
    side = ("fresh/", "data/hearth.db-wal", "data/hearth.db-shm")
    assert {k: v for k, v in after.items() if not k.startswith(side)} == {
        k: v for k, v in before.items() if not k.startswith(side)
    }
    assert not [p for p in full_disk.rglob("*") if p.name.endswith((".tmp", ".part"))]


def test_reading_still_works_on_a_full_disk(full_disk: Path, tmp_path: Path) -> None:
    data = full_disk / "data"
    before = snapshot(full_disk)
    found = hearth(data, "search", EMOJI)
    assert found.returncode == 0, found.stderr
    assert b"Traceback" not in found.stderr
    assert found.stdout.count(b"\n") == 12  # every conversation, found by its emoji
    assert b"tail11" in found.stdout  # the text after the NUL is in the snippet
    out = tmp_path / "elsewhere.md"
    exported = hearth(data, "export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "Chat 11" in out.read_text(encoding="utf-8")
    assert {k: v for k, v in snapshot(full_disk).items() if "-shm" not in k} == {
        k: v for k, v in before.items() if "-shm" not in k
    }
    assert not list(data.glob("hearth.lock.owner*"))


def test_a_context_past_the_models_training_is_a_warning(tmp_path: Path) -> None:
    args = ("ask", "--no-save", "--ctx", "16384", "--max-tokens", "4", "--seed", "1", "Hi")
    result = hearth(tmp_path / "data", *args, timeout=120)
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode().strip().splitlines()
    assert err == [err[0]] and err[0].startswith("hearth: warning: SmolLM2")
    assert "trained on a context of 8,192 tokens" in err[0]
    assert result.stdout.strip()  # and it answered
