"""PDF exports for the command line: laid out by Qt in a child process.

The command line never imports Qt (and needs no display); the child is `python -m
desktop.ui.common.pdf` (in the frozen app, `Hearth __html-to-pdf`) on Qt's offscreen platform.
"""

from __future__ import annotations

import json
import subprocess

from desktop.core.errors import OutputFileError
from desktop.inference.child_process import child_command, child_env, describe_exit

PDF_TIMEOUT_S = 300.0


def pdf_in_child(html: str, title: str) -> bytes:
    """The PDF of `html` titled `title`; `OutputFileError` when it cannot be made."""
    env = child_env()
    env["QT_QPA_PLATFORM"] = "offscreen"
    request = json.dumps({"title": title, "html": html}).encode("utf-8")
    try:
        result = subprocess.run(
            child_command("desktop.ui.common.pdf", "__html-to-pdf"),
            input=request,
            capture_output=True,
            timeout=PDF_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise OutputFileError(
            f"Making the PDF took longer than {PDF_TIMEOUT_S:.0f} s, so it was stopped; nothing "
            "was written. Export fewer conversations, or as HTML."
        ) from error
    except OSError as error:
        raise OutputFileError(
            f"The PDF could not be made ({error.strerror or error}); nothing was written."
        ) from error
    if result.returncode != 0 or not result.stdout.startswith(b"%PDF"):
        raise OutputFileError(
            f"The PDF could not be made (its maker {describe_exit(result.returncode)}); "
            "nothing was written. Export as HTML and print it instead."
        )
    return result.stdout
