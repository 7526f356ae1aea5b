"""The `hearth` command line, run as a separate process the way a person runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import __version__
from desktop.paths import AppPaths

pytestmark = pytest.mark.slow


def hearth(
    data_dir: Path, *args: str, timeout: float = 120, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_DATA_DIR": str(data_dir), **env_vars}
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version(tmp_path: Path) -> None:
    result = hearth(tmp_path, "--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_self_test(tmp_path: Path) -> None:
    result = hearth(tmp_path, "--self-test", "--threads", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("self-test ok")
    assert "tok/s" in result.stdout
    assert "store SQLCipher" in result.stdout  # the encrypted store works here too


def test_ask_answers_saves_and_search_finds_it(tmp_path: Path) -> None:
    asked = hearth(
        tmp_path,
        "ask",
        "--temperature",
        "0",
        "--max-tokens",
        "40",
        "--stats",
        "What is the capital of France?",
    )
    assert asked.returncode == 0, asked.stderr
    assert "Paris" in asked.stdout
    assert "tok/s" in asked.stderr
    found = hearth(tmp_path, "search", "capit")  # prefix match
    assert found.returncode == 0, found.stderr
    assert "What is the **capital** of France?" in found.stdout
    assert "Paris" in hearth(tmp_path, "search", "paris").stdout
    missing = hearth(tmp_path, "search", "xylophonequartz")
    assert missing.returncode == 1
    assert "No messages match" in missing.stdout


def test_no_save_keeps_nothing(tmp_path: Path) -> None:
    asked = hearth(tmp_path, "ask", "--no-save", "--max-tokens", "8", "Say hello to Quentarion")
    assert asked.returncode == 0, asked.stderr
    assert hearth(tmp_path, "search", "Quentarion").returncode == 1


def test_export_then_import_reproduces_the_conversation(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert (
        hearth(first, "ask", "--max-tokens", "12", "--seed", "3", "Name a red fruit").returncode
        == 0
    )
    out = tmp_path / "all.json"
    assert hearth(first, "export", "--format", "json", str(out)).returncode == 0
    imported = hearth(second, "import", str(out))
    assert imported.returncode == 0, imported.stderr
    again = tmp_path / "again.json"
    assert hearth(second, "export", "--format", "json", str(again)).returncode == 0

    def comparable(path: Path) -> list[dict[str, object]]:
        document = json.loads(path.read_text())
        for conversation in document["conversations"]:
            for message in conversation["messages"]:
                message.pop("id")
                message.pop("parent_id")
            conversation.pop("current_leaf_id")
        return list(document["conversations"])

    assert comparable(out) == comparable(again)
    for fmt, marker in (("md", "Name a red fruit"), ("html", "<html")):
        target = tmp_path / f"all.{fmt}"
        assert hearth(first, "export", "--format", fmt, str(target)).returncode == 0
        assert marker in target.read_text()


def test_hostile_import_changes_nothing(tmp_path: Path) -> None:
    assert hearth(tmp_path, "ask", "--max-tokens", "5", "Remember Brontavia").returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "hearth-conversations", "version": 1, "conversations": [1]}')
    result = hearth(tmp_path, "import", str(bad))
    assert result.returncode == 1
    assert "Nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr
    dump = tmp_path / "dump.json"
    assert hearth(tmp_path, "export", "--format", "json", str(dump)).returncode == 0
    conversations = json.loads(dump.read_text())["conversations"]
    assert [c["title"] for c in conversations] == ["Remember Brontavia"]


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n", b"GGUF\x03\x00\x00\x00"])
def test_bad_model_file_is_a_clear_message(tmp_path: Path, content: bytes) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(content)
    result = hearth(tmp_path, "ask", "--model", str(model), "hi")
    assert result.returncode == 1
    # The file is refused before the store is touched or an engine gets it.
    assert result.stderr.strip().splitlines()[-1].startswith("hearth: ")
    assert "model.gguf" in result.stderr
    assert "Traceback" not in result.stderr


def test_ask_with_an_assistant_and_an_unknown_one(tmp_path: Path) -> None:
    asked = hearth(tmp_path, "ask", "--assistant", "Coder", "--max-tokens", "24", "Add 2 and 3.")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip()
    unknown = hearth(tmp_path, "ask", "--assistant", "nobody", "Hello")
    assert unknown.returncode == 1
    assert 'There is no assistant "nobody"' in unknown.stderr
    assert "coder" in unknown.stderr and "general" in unknown.stderr


def test_ask_settings_come_from_the_assistant_then_the_flags(tmp_path: Path) -> None:
    from desktop.cli.ask import resolve_profile
    from desktop.cli.main import build_parser

    paths = AppPaths.resolve(tmp_path)
    parse = build_parser().parse_args
    plain = resolve_profile(parse(["ask", "hi"]), paths).settings.to_params()
    assert (plain.temperature, plain.max_tokens) == (0.7, 512)
    assisted = resolve_profile(parse(["ask", "--assistant", "Coder", "hi"]), paths)
    assert assisted.assistant_id == "coder"
    params = assisted.settings.to_params()
    assert (params.temperature, params.max_tokens) == (0.2, 768)  # coder.json
    flags = ["ask", "--assistant", "coder", "--temperature", "0.9", "--ctx", "512", "hi"]
    flagged = resolve_profile(parse(flags), paths)
    assert (flagged.settings.temperature, flagged.settings.max_new_tokens) == (0.9, 768)
    assert flagged.load_options.n_ctx == 512


@pytest.mark.parametrize("save", [True, False])
def test_ask_with_a_model_that_aborts_its_engine_ends_with_a_sentence(
    tmp_path: Path, save: bool
) -> None:
    from tests.tinymodels import write_tiny_llama_gguf

    model = write_tiny_llama_gguf(tmp_path / "no-bytes.gguf", byte_tokens=False)
    args = ["ask", "--model", str(model), "café"] + ([] if save else ["--no-save"])
    result = hearth(tmp_path / "data", *args)
    assert result.returncode == 1, result.stderr  # not 134: Hearth itself did not abort
    last = result.stderr.strip().splitlines()[-1]
    if save:
        assert last == (
            "hearth: The model crashed while reading your message (SIGABRT); "
            "your conversation is saved."
        )
        found = hearth(tmp_path / "data", "search", "café")
        assert "café" in found.stdout  # the question was kept
    else:
        assert last == "hearth: The model crashed while reading your message (SIGABRT)."


def processes_using(data_dir: Path) -> list[int]:
    """Processes whose environment names `data_dir` (an engine host left behind would)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"HEARTH_DATA_DIR={data_dir}".encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_store_refusal_while_the_model_loads_prints_and_saves_nothing(tmp_path: Path) -> None:
    quick = ("ask", "--max-tokens", "2", "--threads", "1")
    first = hearth(tmp_path, *quick, "Remember Quillimar")
    assert first.returncode == 0, first.stderr
    refused = hearth(tmp_path, *quick, "Forget Zorbatrix", HEARTH_PASSPHRASE="wrong words!")
    assert refused.returncode == 1
    assert refused.stdout == ""  # no answer: the model had started loading, nothing more
    assert refused.stderr.strip().splitlines()[-1].startswith("hearth: ")
    assert "passphrase" in refused.stderr and "Nothing was changed" in refused.stderr
    assert processes_using(tmp_path) == []  # its engine host was ended too
    assert hearth(tmp_path, "search", "Zorbatrix").returncode == 1  # nothing was saved
    assert "Quillimar" in hearth(tmp_path, "search", "Quillimar").stdout
