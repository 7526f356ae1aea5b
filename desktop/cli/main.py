"""Hearth's command line: parse, then run one command (`hearth ask`, `search`, `models`, ...).

It runs the same inspection, engines and generation code as the window, on the main
thread (there is no GUI thread to protect), and needs no display. Each command's modules
are imported only when that command runs: `hearth --version` and `--help` import nothing
but the parser, and `hearth search` never imports an engine.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from desktop.cli import args as cli_args
from desktop.cli.parser import MODEL_COMMANDS, build_parser
from desktop.core.errors import HearthError
from desktop.core.files import is_disk_full, os_problem
from desktop.paths import AppPaths

__all__ = ["build_parser", "main"]

log = logging.getLogger("hearth.cli")

IMPORT_ADVICE = "Nothing was imported; close it and import again."


def folder_problem(folder: Path, error: OSError) -> str:
    """A sentence for a data folder that cannot be created or used."""
    if is_disk_full(error):
        return f"The disk is full, so Hearth cannot set up its data folder {folder}."
    reason = (error.strerror or str(error)).lower()
    return f"Hearth cannot use {folder} as its data folder ({reason}). Choose another folder."


def refuse_own_file(paths: AppPaths, out: Path) -> None:
    """An export must not replace the database, its key file or lock, or a backup."""
    target = out.expanduser().absolute()
    try:
        target = target.parent.resolve() / target.name
    except OSError:
        return
    data_dir = paths.data_dir.resolve()
    inside = target.parent == data_dir and target.name.startswith("hearth.")
    if inside or data_dir / "backups" in target.parents or target.parent == data_dir / "backups":
        raise HearthError(
            f"{out} is one of the files where Hearth keeps your conversations; choose "
            "another name for the export. Nothing was written."
        )


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, engine_host: Any = None
) -> int:
    """Entry point for the headless commands. Returns the process exit code.

    `engine_host`: an engine host process already started for `ask` (`HostedEngine.spare`),
    used instead of starting one."""
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    from desktop.logging_setup import setup_logging

    paths = AppPaths.resolve(args.data_dir)
    try:
        log_file = setup_logging(paths.ensure().log_dir)
    except OSError as error:
        print(f"hearth: {folder_problem(paths.data_dir, error)}", file=sys.stderr)
        return 1
    try:
        code = _run(args, stream, paths, engine_host)
        if code is not None:
            return code
    except HearthError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away: handled quietly by the caller
        raise
    except OSError as error:  # the environment (disk, permissions) rather than a bug
        log.warning("command failed: %s", error, exc_info=True)
        print(f"hearth: {os_problem(error)}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: one sentence here, the details in the log
        log.exception("unexpected error in hearth %s", args.command or "")
        where = f" Details are in {log_file}." if log_file else ""
        print(
            f"hearth: an unexpected error stopped this command ({type(error).__name__}).{where}",
            file=sys.stderr,
        )
        return 1
    build_parser().print_help(stream)
    return 2


def _run(
    args: argparse.Namespace, out: TextIO, paths: AppPaths, engine_host: Any = None
) -> int | None:
    """Run the command `args` names, importing only what it needs; None: there is none."""
    if args.self_test:
        from desktop.cli.selftest import cmd_self_test

        return cmd_self_test(args, out)
    if args.command == "ask":
        from desktop.cli.ask import cmd_ask

        return cmd_ask(args, out, paths, engine_host)
    if args.command in MODEL_COMMANDS:
        from desktop.cli import models as cli_models

        return cli_models.run(args, out, paths)
    if args.command == "docs":
        from desktop.cli.docs import run as docs_run

        return docs_run(args, out, paths)
    if args.command == "servers":
        from desktop.cli import servers as cli_servers

        return cli_servers.run(args, out, paths)
    if args.command == "adapters":
        from desktop.cli import adapters as cli_adapters

        return cli_adapters.run(args, out, paths)
    if args.command == "teach":
        from desktop.cli import teach as cli_teach

        return cli_teach.run(args, out, paths)
    if args.command == "serve":
        from desktop.cli import serve as cli_serve

        return cli_serve.run(args, out, paths)
    if args.command == "key":
        from desktop.cli import key as cli_key

        return cli_key.run(args, out, paths)
    if args.command not in ("search", "export", "import"):
        return None
    from desktop.cli.store import export_to, import_from, open_store, print_search

    if args.command == "search":
        query = cli_args.text_argument(" ".join(args.query), "search text")
        with open_store(paths, writing=False) as store:
            return print_search(store, query, out, args.limit)
    if args.command == "export":
        refuse_own_file(paths, args.out)
        with open_store(paths, writing=False) as store:
            return export_to(store, args.format, args.out, args.conversations)
    with open_store(paths, advice=IMPORT_ADVICE) as store:
        return import_from(store, args.file, out)
