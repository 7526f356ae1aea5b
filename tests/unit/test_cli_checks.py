"""The command line's checks that need no process: flag ranges, context, private files."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from desktop.cli import args as cli_args
from desktop.cli.context import check_context
from desktop.core.errors import HearthError, OutputFileError
from desktop.core.files import write_private_file
from desktop.inference.inspect import inspect_model


@pytest.mark.parametrize("text", ["0", "-5", "63", "1048577", "4k", "", "nan"])
def test_a_context_out_of_range_names_the_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="from 64 to 1,048,576"):
        cli_args.ctx_type(text)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "-1", "2.01", "warm"])
def test_a_temperature_must_be_finite_and_in_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="from 0 to 2"):
        cli_args.temperature_type(text)


def test_good_values_pass() -> None:
    assert cli_args.ctx_type(" 8192 ") == 8192
    assert cli_args.temperature_type("0.2") == 0.2
    assert cli_args.threads_type("1") == 1


def test_context_past_training_warns_and_past_free_memory_refuses(embedded_model: Path) -> None:
    info = inspect_model(embedded_model)
    warnings: list[str] = []
    check_context(info, 16384, warnings.append, free_bytes=lambda: 8 * 2**30)
    assert len(warnings) == 1 and "trained on a context of 8,192 tokens" in warnings[0]
    check_context(info, 4096, warnings.append, free_bytes=lambda: 8 * 2**30)
    assert len(warnings) == 1  # within training and memory: nothing said
    with pytest.raises(HearthError, match=r"needs about .* of memory with --ctx 131,072"):
        check_context(info, 131072, warnings.append, free_bytes=lambda: 500 * 2**20)


def test_private_file_is_0600_and_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o644)
    write_private_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputFileError, match="is a folder"):
        write_private_file(tmp_path / "folder", b"x")
    with pytest.raises(OutputFileError, match="does not exist"):
        write_private_file(tmp_path / "missing" / "x.md", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]
    assert list((tmp_path / "folder").iterdir()) == []
