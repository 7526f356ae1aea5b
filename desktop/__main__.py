"""`hearth` / `python -m desktop`: the window, or a headless command when one is given."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

HEADLESS = {"ask", "search", "export", "import", "--self-test", "--version", "-h", "--help"}
HEADLESS |= {"models", "bench", "key", "servers", "serve", "docs", "adapters", "teach"}
PROBE = "__probe-model"  # the frozen app's child process that trial-loads a model
NO_WINDOW = 2  # the exit code when the window cannot start here (no display, missing libraries)
ENGINE_HOST = "__engine-host"  # the frozen app's child process that runs the engines
HTML_TO_PDF = "__html-to-pdf"  # the child process that lays out a PDF export with Qt
PARSER = "__parse-documents"  # the frozen app's child process that parses documents


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [PROBE]:
        from desktop.inference.probe import child_main

        return child_main(args[1:])
    if args[:1] == [ENGINE_HOST]:
        from desktop.inference.host.server import child_main as host_main

        return host_main(args[1:])
    if args[:1] == [HTML_TO_PDF]:
        from desktop.ui.common.pdf import child_main as pdf_main

        return pdf_main(args[1:])
    if args[:1] == [PARSER]:
        from desktop.documents.child import child_main as parser_main

        return parser_main(args[1:])
    if any(arg in HEADLESS for arg in args):
        started = None
        if argv is None and args[:1] == ["ask"] and not {"-h", "--help"} & set(args):
            # The engine host's Python and llama.cpp start loading before the rest of the
            # command line is even imported (it ends with this process if unused).
            from desktop.inference.host.client import HostedEngine

            started = HostedEngine.spare()
        from desktop.cli.main import main as cli_main

        try:
            code = cli_main(args, engine_host=started)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            _silence_stdout()
            return 141
        if argv is None:  # this process is the command: end it without tearing Python down
            _exit_now(code)
        return code
    from desktop.display_check import window_problem

    problem = window_problem()  # before Qt loads: Qt would abort the process instead
    if problem is not None:
        print(problem, file=sys.stderr)
        return NO_WINDOW
    from desktop.app import main as app_main

    return app_main(args)


def _exit_now(code: int) -> NoReturn:
    """End the process once its output is out: a command has closed its store and files
    itself, and the interpreter's teardown (freeing every module) would only add time to
    each call of a scripted `hearth ask`."""
    import logging
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            _silence_stdout()
            code = code or 141
    logging.shutdown()
    os._exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
