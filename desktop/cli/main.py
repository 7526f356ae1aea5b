"""Hearth's command line: `hearth ask`, `hearth --self-test`, `hearth --version`.

It runs the same inspection, engines and generation code as the window, on the main
thread (there is no GUI thread to protect), and needs no display.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from desktop import __version__
from desktop.chat.stats import format_stats
from desktop.cli import args as cli_args
from desktop.cli import key as cli_key
from desktop.cli import models as cli_models
from desktop.cli.args import HearthParser
from desktop.cli.ask import cmd_ask, load_engine, option
from desktop.cli.store import export_to, import_from, open_store, print_search
from desktop.core.errors import HearthError
from desktop.core.files import is_disk_full, os_problem
from desktop.core.prompting import DEFAULT_SYSTEM_PROMPT, with_system_prompt
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.embedded import find_embedded_model
from desktop.inference.engine import CancelToken
from desktop.inference.runner import run_generation
from desktop.logging_setup import setup_logging
from desktop.paths import AppPaths
from desktop.storage.selfcheck import check_store

log = logging.getLogger("hearth.cli")

SELF_TEST_QUESTION = "What is the capital of France?"
IMPORT_ADVICE = "Nothing was imported; close it and import again."


def build_parser() -> argparse.ArgumentParser:
    parser = HearthParser(
        prog="hearth", description="Hearth: a private, offline assistant on your own computer."
    )
    parser.add_argument("--version", action="version", version=f"Hearth {__version__}")
    parser.add_argument(
        "--data-dir", help="keep all data here (default: the user data dir; also HEARTH_DATA_DIR)"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="load the model, answer one question headless, exit 0 if all worked",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="a GGUF/GGML model file (default: `hearth models default`, else the built-in one)",
    )
    _model_options(parser)
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="answer one prompt on stdout ('-' reads stdin)")
    ask.add_argument("prompt", nargs="+")
    ask.add_argument("--model", type=Path, dest="ask_model", help=argparse.SUPPRESS)
    ask.add_argument(
        "--max-tokens", type=cli_args.max_tokens_type, default=None, help="default 512"
    )
    ask.add_argument(
        "--temperature", type=cli_args.temperature_type, default=None, help="0 to 2, default 0.7"
    )
    ask.add_argument("--seed", type=cli_args.seed_type, default=None)
    ask.add_argument("--system", default=None, help="the system prompt")
    ask.add_argument(
        "--assistant",
        help="an assistant's id or name: its prompt, examples and settings (flags win)",
    )
    ask.add_argument("--stats", action="store_true", help="print timing figures to stderr")
    ask.add_argument("--no-save", action="store_true", help="do not keep this exchange")
    ask.add_argument(
        "--docs", action="append", help="answer from this document collection (repeat)"
    )
    _model_options(ask, dest_prefix="ask_")
    search = sub.add_parser("search", help="find words in every saved conversation")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=cli_args.limit_type, default=20)
    export = sub.add_parser("export", help="write conversations to a Markdown, HTML or JSON file")
    export.add_argument("--format", choices=("md", "html", "json"), default="md")
    export.add_argument(
        "--conversation",
        type=cli_args.conversation_id_type,
        action="append",
        dest="conversations",
        help="a conversation id (repeat for several; default: all)",
    )
    export.add_argument("out", type=Path)
    imp = sub.add_parser("import", help="add the conversations of a Hearth JSON export")
    imp.add_argument("file", type=Path)
    cli_models.add_parsers(sub)
    cli_key.add_parser(sub)
    from desktop.cli import docs as cli_docs  # light: its work is imported when it runs

    cli_docs.add_parser(sub)
    return parser


def _model_options(parser: argparse.ArgumentParser, dest_prefix: str = "") -> None:
    default = None if dest_prefix else argparse.SUPPRESS
    parser.add_argument(
        "--threads",
        type=cli_args.threads_type,
        dest=f"{dest_prefix}threads",
        default=default,
        help="CPU threads (default: all cores)",
    )
    parser.add_argument(
        "--ctx",
        type=cli_args.ctx_type,
        dest=f"{dest_prefix}ctx",
        default=default,
        help="context window in tokens (default 4096)",
    )
    parser.add_argument(
        "--chat-format",
        dest=f"{dest_prefix}chat_format",
        default=default,
        help="prompt format for files without a chat template (default chatml)",
    )
    parser.add_argument(
        "--model-type",
        dest=f"{dest_prefix}model_type",
        default=default,
        help="architecture of a legacy GGML file, e.g. gpt2",
    )


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


def self_test_options(args: argparse.Namespace) -> LoadOptions:
    threads, ctx = option(args, "threads"), option(args, "ctx")
    return LoadOptions(n_ctx=int(ctx or 4096), n_threads=int(threads) if threads else None)


def cmd_self_test(args: argparse.Namespace, out: TextIO) -> int:
    start = time.perf_counter()
    store = check_store()
    model = option(args, "model")
    path = Path(str(model)).expanduser() if model else find_embedded_model()
    engine, load_time = load_engine(args, path, self_test_options(args))
    try:
        pieces: list[str] = []
        stats = run_generation(
            engine,
            with_system_prompt(DEFAULT_SYSTEM_PROMPT, [ChatMessage("user", SELF_TEST_QUESTION)]),
            GenerationParams(max_tokens=48, temperature=0.0, seed=1),
            CancelToken(),
            pieces.append,
        )
    finally:
        engine.close()
    answer = "".join(pieces).strip()
    ok = bool(answer) and stats.generated_tokens > 0
    status = "ok" if ok else "FAILED"
    print(
        f"self-test {status}: model {path.name} on {engine.info.name}, "
        f"{format_stats(stats, load_time_s=load_time, separator=', ')}, store {store}, "
        f"total {time.perf_counter() - start:.2f} s; "
        f"answer: {answer[:80]!r}",
        file=out,
    )
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point for the headless commands. Returns the process exit code."""
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    paths = AppPaths.resolve(args.data_dir)
    try:
        log_file = setup_logging(paths.ensure().log_dir)
    except OSError as error:
        print(f"hearth: {folder_problem(paths.data_dir, error)}", file=sys.stderr)
        return 1
    try:
        if args.self_test:
            return cmd_self_test(args, stream)
        if args.command == "ask":
            return cmd_ask(args, stream, paths)
        if args.command == "search":
            query = cli_args.text_argument(" ".join(args.query), "search text")
            with open_store(paths, writing=False) as store:
                return print_search(store, query, stream, args.limit)
        if args.command == "export":
            refuse_own_file(paths, args.out)
            with open_store(paths, writing=False) as store:
                return export_to(store, args.format, args.out, args.conversations)
        if args.command in cli_models.COMMANDS:
            return cli_models.run(args, stream, paths)
        if args.command == "import":
            with open_store(paths, advice=IMPORT_ADVICE) as store:
                return import_from(store, args.file, stream)
        if args.command == "key":
            return cli_key.run(args, stream, paths)
        if args.command == "docs":
            from desktop.cli.docs import run as docs_run

            return docs_run(args, stream, paths)
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
