"""Shared by the chat benchmarks: long conversations, and running a driver script.

`make_data_dir` makes a data dir holding one conversation of N messages (questions, and
replies with a short list, a code block and a small table) in the real encrypted store,
opened with a fixed bench key. `run_driver` runs a driver script in a fresh process on a
checkout's code and returns the JSON it prints on a `RESULT ` line.

    from chat_fixture import BENCH_KEY, make_data_dir
    make_data_dir(Path("/tmp/x"), messages=500)   # reused when it already matches
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.paths import AppPaths  # noqa: E402
from desktop.storage.conversations import ConversationStore  # noqa: E402
from desktop.storage.migrations import open_and_migrate  # noqa: E402

#: The bench store is encrypted like the product's; the app is handed this key directly.
BENCH_KEY = bytes(range(32))
MARKER = "bench-chat.json"
FORMAT = 1


def question(n: int) -> str:
    return f"Question {n}: how do I read a file of settings number {n} and list its keys?"


def reply(n: int) -> str:
    return (
        f"Here is one way (answer {n}):\n\n"
        f"- open the file with `open()`\n- parse it with `json.load`\n- print the keys\n\n"
        "```python\n"
        "import json\n\n"
        f"with open('settings-{n}.json') as handle:\n"
        "    settings = json.load(handle)\n"
        "for key in sorted(settings):\n"
        "    print(key)\n"
        "```\n\n"
        "| step | call |\n|---|---|\n| open | `open()` |\n| parse | `json.load` |\n"
    )


def make_data_dir(data_dir: Path, messages: int) -> int:
    """A data dir whose last-opened conversation has `messages` messages; its id."""
    marker = data_dir / MARKER
    if marker.exists():
        spec = json.loads(marker.read_text())
        if spec.get("messages") == messages and spec.get("format") == FORMAT:
            return int(spec["conversation_id"])
    if data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"{data_dir} is not empty and was not made by this benchmark")
    db_path = AppPaths.resolve(data_dir).database_path
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db = open_and_migrate(db_path, BENCH_KEY)
    store = ConversationStore(db)
    conversation_id = 0
    if messages:
        conversation_id = store.create_conversation().id
        with db.transaction():
            for n in range(messages):
                role = "user" if n % 2 == 0 else "assistant"
                store.add_message(
                    conversation_id, role, question(n // 2) if role == "user" else reply(n // 2)
                )
        store.rename(conversation_id, f"A long conversation ({messages} messages)")
        store.set_last_opened(conversation_id)
    db.close()
    marker.write_text(
        json.dumps({"messages": messages, "format": FORMAT, "conversation_id": conversation_id})
    )
    return conversation_id


def run_driver(
    code: str, args: list[str], code_dir: Path, env: dict[str, str], timeout_s: float
) -> dict[str, Any]:
    """Run `code` with `args` in a fresh Python on `code_dir`'s Hearth; its RESULT JSON."""
    full_env = dict(os.environ, PYTHONPATH=str(code_dir), **env)
    full_env.pop("HEARTH_DATA_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=code_dir,
        timeout=timeout_s,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"benchmark process failed ({done.returncode}):\n{done.stderr[-3000:]}")
