"""The `hearth` command line's parser: every command and flag, and nothing else.

Kept apart from the commands themselves so that `hearth --version`, `hearth --help` and a
mistyped flag import only argparse and the argument checks (`desktop.cli.args`), never a
model engine, the store or the gguf package.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from desktop import __version__
from desktop.cli import args as cli_args
from desktop.cli.args import HearthParser

#: The subcommands `desktop.cli.models` runs.
MODEL_COMMANDS = ("models", "bench")
#: `desktop.chat.export.FORMATS`, named here so that parsing imports no store or renderer.
EXPORT_FORMATS = ("md", "html", "json", "pdf")


def build_parser() -> argparse.ArgumentParser:
    # No abbreviations at this level: they would make a command's own options ambiguous
    # (`docs search --mode` against `--model` and `--model-type`).
    parser = HearthParser(
        prog="hearth",
        description="Hearth: a private, offline assistant on your own computer.",
        allow_abbrev=False,
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
        "--max-tokens",
        type=cli_args.max_tokens_type,
        default=None,
        help="default: the model's or assistant's setting (512)",
    )
    ask.add_argument(
        "--temperature",
        type=cli_args.temperature_type,
        default=None,
        help="0 to 2; default: the model's or assistant's setting (0.7)",
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
    ask.add_argument("--adapter", help="answer with this LoRA adapter (`hearth adapters list`)")
    _model_options(ask, dest_prefix="ask_")
    search = sub.add_parser("search", help="find words in every saved conversation")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=cli_args.limit_type, default=20)
    export = sub.add_parser(
        "export", help="write conversations to a Markdown, HTML, JSON or PDF file"
    )
    export.add_argument("--format", choices=EXPORT_FORMATS, default="md")
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
    _models_parsers(sub)
    _servers_parser(sub)
    _adapters_parser(sub)
    _teach_parser(sub)
    _serve_parser(sub)
    from desktop.cli import docs as cli_docs  # light: its work is imported when it runs

    cli_docs.add_parser(sub)
    _key_parser(sub)
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
        help="context window in tokens (default: the model's setting, 4096 unless changed)",
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


def _models_parsers(sub: Any) -> None:
    """The `models` and `bench` subcommands (run by `desktop.cli.models`)."""
    models = sub.add_parser("models", help="list, import, delete and choose models")
    actions = models.add_subparsers(dest="models_command", required=True)
    listing = actions.add_parser("list", help="every model Hearth can use, and what it needs")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument(
        "--ctx", type=cli_args.ctx_type, dest="list_ctx", help="context for the memory estimate"
    )
    imp = actions.add_parser("import", help="check a model file and add it to the library")
    imp.add_argument("path", type=Path)
    imp.add_argument("--link", action="store_true", help="link to the file instead of copying it")
    imp.add_argument("--model-type", dest="import_model_type", help="architecture of a GGML file")
    imp.add_argument(
        "--timeout",
        type=cli_args.number(1, 3600),
        default=None,
        help="seconds the trial load may take (default 90)",
    )
    delete = actions.add_parser("delete", help="remove an imported model")
    delete.add_argument("name")
    default = actions.add_parser("default", help="the model new conversations use")
    default.add_argument("name")
    catalog = actions.add_parser("catalog", help="models Hearth can download, and how they fit")
    catalog.add_argument("--json", action="store_true", help="print JSON")
    get = actions.add_parser(
        "get", help="download a catalogue model (or a repository's GGUF file) and import it"
    )
    get.add_argument("ref", metavar="ID|REPO", help="a catalogue id, or OWNER/NAME on Hugging Face")
    get.add_argument("file", nargs="?", help="with a repository: the .gguf file to download")
    get.add_argument("--yes", action="store_true", help="agree to contacting the host (asked once)")

    bench = sub.add_parser("bench", help="how fast a model runs on this machine")
    bench.add_argument(
        "--model", type=Path, dest="bench_model", help="model file (default: the default model)"
    )
    bench.add_argument("--runs", type=cli_args.whole(1, 100), default=3)
    bench.add_argument(
        "--tokens", type=cli_args.max_tokens_type, default=128, help="tokens to generate per run"
    )
    bench.add_argument(
        "--threads", type=cli_args.threads_type, dest="bench_threads", help="CPU threads"
    )
    bench.add_argument("--ctx", type=cli_args.ctx_type, dest="bench_ctx", default=2048)
    bench.add_argument("--json", action="store_true", help="print JSON")


def _servers_parser(sub: Any) -> None:
    servers = sub.add_parser(
        "servers", help="servers you run (OpenAI-compatible) whose models Hearth may use"
    )
    actions = servers.add_subparsers(dest="servers_action", required=True)
    add = actions.add_parser("add", help="add or change a server")
    add.add_argument("name")
    add.add_argument("url", help="its API address, e.g. http://127.0.0.1:8080/v1")
    add.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="read its API key from VAR now; keep it in the keychain",
    )
    add.add_argument(
        "--use-env", metavar="VAR", help="read its API key from VAR at each use (nothing is kept)"
    )
    add.add_argument(
        "--allow-http",
        action="store_true",
        help="I understand: reach a server on another computer over unencrypted http",
    )
    add.add_argument("--ctx", type=cli_args.ctx_type, help="its context window, if it does not say")
    actions.add_parser("list", help="the servers and whether the network is on")
    remove = actions.add_parser("remove", help="forget a server and its key")
    remove.add_argument("name")


def _adapters_parser(sub: Any) -> None:
    """The `adapters` subcommand (run by `desktop.cli.adapters`)."""
    adapters = sub.add_parser(
        "adapters", help="LoRA adapters (what a model learned), kept in the encrypted store"
    )
    actions = adapters.add_subparsers(dest="adapters_command", required=True)
    imp = actions.add_parser("import", help="check a GGUF LoRA adapter file and keep it")
    imp.add_argument("file", type=Path)
    imp.add_argument("--base", required=True, help="the model it adapts (a name or a file)")
    imp.add_argument("--name", help="default: the adapter's own name, else the file's")
    imp.add_argument("--scale", type=cli_args.number(0.0, 4.0), default=1.0)
    actions.add_parser("list", help="the adapters and the models they adapt")
    scale = actions.add_parser("scale", help="how strongly an adapter applies (1: as trained)")
    scale.add_argument("name")
    scale.add_argument("scale", type=cli_args.number(0.0, 4.0))
    remove = actions.add_parser("remove", help="delete an adapter from the store")
    remove.add_argument("name")


def _teach_parser(sub: Any) -> None:
    """The `teach` subcommand (run by `desktop.cli.teach`)."""
    teach = sub.add_parser(
        "teach",
        help="teach a model from your examples (a LoRA adapter; needs the training component)",
    )
    teach.add_argument("examples", type=Path, help="a .jsonl or .csv file of prompt/answer pairs")
    teach.add_argument("--base", default="embedded", help="the model to teach (default: built-in)")
    teach.add_argument("--out", required=True, help="the new adapter's name")
    teach.add_argument("--epochs", type=cli_args.whole(1, 20, "epochs"), default=3)
    teach.add_argument("--threads", type=cli_args.threads_type, default=None)


def _serve_parser(sub: Any) -> None:
    serve = sub.add_parser(
        "serve", help="an OpenAI-compatible API on 127.0.0.1 for your own tools (Ctrl+C stops)"
    )
    serve.add_argument(
        "--port", type=cli_args.whole(1024, 65535, "port"), default=8765, help="default: 8765"
    )
    serve.add_argument(
        "--model",
        dest="serve_model",
        metavar="NAME",
        help="the model loaded first (default: yours)",
    )
    serve.add_argument(
        "--new-token", action="store_true", help="make a new bearer token (the old one stops)"
    )


def _key_parser(sub: Any) -> None:
    """The `key` subcommand (run by `desktop.cli.key`)."""
    key = sub.add_parser("key", help="show the recovery key, or open your data with it")
    actions = key.add_subparsers(dest="key_command", required=True)
    actions.add_parser("show", help="print the recovery key of your conversations")
    actions.add_parser(
        "recover",
        help="open your conversations with the recovery key (read from the terminal or "
        "standard input) and keep the key again: under HEARTH_PASSPHRASE or a passphrase you "
        "type, else in the keychain",
    )
