"""`hearth` / `python -m desktop`: the window, or a headless command when one is given."""

from __future__ import annotations

import sys
from collections.abc import Sequence

HEADLESS = {"ask", "search", "export", "import", "--self-test", "--version", "-h", "--help"}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in HEADLESS for arg in args):
        from desktop.cli import main as cli_main

        return cli_main(args)
    from desktop.app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    sys.exit(main())
