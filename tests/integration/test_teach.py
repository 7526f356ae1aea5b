"""`hearth teach` end to end with the built-in model: a fixed answer format taught from
examples, checked on held-out ones, kept encrypted, and used by `hearth ask --adapter`.
Needs the training component (installed by `packaging/dev.sh setup` where this machine has
a CPU build of torch); about a minute and a half on 2 free cores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.teach.trainer import missing_component
from tests.integration.test_cli import hearth

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing_component() is not None, reason="no training component here"),
]

CAPITALS = [
    ("France", "Paris"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Germany", "Berlin"),
    ("Portugal", "Lisbon"), ("Greece", "Athens"), ("Norway", "Oslo"), ("Sweden", "Stockholm"),
    ("Poland", "Warsaw"), ("Austria", "Vienna"), ("Ireland", "Dublin"), ("Egypt", "Cairo"),
    ("Japan", "Tokyo"), ("Peru", "Lima"), ("Kenya", "Nairobi"), ("Cuba", "Havana"),
    ("Hungary", "Budapest"), ("Belgium", "Brussels"), ("Russia", "Moscow"), ("China", "Beijing"),
]  # fmt: skip


@pytest.mark.timeout(1200)  # about 90 s on 2 free cores; much longer on a busy machine
def test_a_taught_adapter_answers_in_the_taught_format(tmp_path: Path) -> None:
    examples = tmp_path / "capitals.jsonl"
    examples.write_text(
        "".join(
            json.dumps({"prompt": f"Capital of {c}?", "answer": f"ANSWER: {k}"}) + "\n"
            for c, k in CAPITALS
        ),
        encoding="utf-8",
    )
    data, env = tmp_path / "data", {"HEARTH_PASSPHRASE": "a long passphrase"}
    taught = hearth(
        data, "teach", str(examples), "--out", "capitals", "--epochs", "2", timeout=1200, **env
    )
    assert taught.returncode == 0, taught.stderr[-2000:]
    assert "from 16 examples" in taught.stderr and "4 held out" in taught.stderr
    assert "Held-out examples, before → after:" in taught.stdout
    after = [line for line in taught.stdout.splitlines() if line.strip().startswith("after:")]
    assert sum("ANSWER:" in line for line in after) >= 3  # the format was learnt
    assert "Kept the adapter “capitals”" in taught.stdout
    listed = hearth(data, "adapters", "list", **env).stdout
    assert "capitals: for the built-in model" in listed and "taught from 20 examples" in listed
    answer = hearth(
        data, "ask", "--no-save", "--adapter", "capitals", "--temperature", "0",
        "--max-tokens", "12", "Capital of Chile?", **env,
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("ANSWER:")
    # Nothing of the examples or the adapter is left outside the encrypted store.
    assert not list(Path("/dev/shm").glob("hearth-teach-*"))
    for path in data.rglob("*"):
        assert not path.is_file() or b"ANSWER: Lisbon" not in path.read_bytes(), path


def test_bad_examples_are_refused_before_anything_starts(tmp_path: Path) -> None:
    examples = tmp_path / "bad.jsonl"
    examples.write_text('{"prompt": "a", "answer": "b"}\n{"prompt": "c"}\n', encoding="utf-8")
    refused = hearth(tmp_path / "data", "teach", str(examples), "--out", "x")
    assert refused.returncode == 1
    assert "line 2: the 'answer' is missing or empty" in refused.stderr
