"""Checking what a person typed on the command line before anything runs.

`HearthParser` is argparse with one-line errors (`hearth ask: --threads must be ...`) and exit
code 2. `whole(lo, hi)` and `number(lo, hi)` are argument types that accept only values in a
range and say the range when they refuse. `text_argument()` refuses text that is not valid
UTF-8 (a terminal can pass any bytes; Python keeps them as lone surrogates that no file,
database or model can hold).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable
from typing import NoReturn

from desktop.core.errors import HearthError
from desktop.core.settings import LIMITS, MAX_SEED

#: The context flags accept at most this; beyond the model's training or the free memory
#: the command warns or refuses (`desktop.cli.context`).
MAX_CONTEXT = int(LIMITS["context_length"][1])
MIN_CONTEXT = 64  # below this not even a greeting fits (tiny test models use 128)
MAX_NEW_TOKENS = int(LIMITS["max_new_tokens"][1])
MAX_TEMPERATURE = LIMITS["temperature"][1]
MAX_SEARCH_RESULTS = 1000


def max_threads() -> int:
    """The most CPU threads a model may use here: the cores of this machine."""
    return max(1, os.cpu_count() or 1)


class HearthParser(argparse.ArgumentParser):
    """argparse that reports a mistake in one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument ([^:]+): ", r"\1 ", message)
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def whole(lo: int, hi: int | Callable[[], int], what: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number from `lo` to `hi` (a callable: computed when used)."""

    def parse(text: str) -> int:
        top = hi() if callable(hi) else hi
        where = f" ({what})" if what else ""
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if value is None or not lo <= value <= top:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {lo:,} to {top:,}{where}, not {text[:40]!r}"
            )
        return value

    return parse


def number(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a finite decimal number from `lo` to `hi`."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and lo <= value <= hi):
            raise argparse.ArgumentTypeError(
                f"must be a number from {lo:g} to {hi:g}, not {text[:40]!r}"
            )
        return value

    return parse


threads_type = whole(1, max_threads, "the CPU cores of this computer")
ctx_type = whole(MIN_CONTEXT, MAX_CONTEXT, "tokens")
max_tokens_type = whole(1, MAX_NEW_TOKENS)
temperature_type = number(0.0, MAX_TEMPERATURE)
seed_type = whole(0, MAX_SEED)
limit_type = whole(1, MAX_SEARCH_RESULTS)
conversation_id_type = whole(1, 2**63 - 1, "a conversation's number")


def is_text(value: str) -> bool:
    """False when `value` holds bytes that were not UTF-8 (kept by Python as surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_argument(value: str, what: str) -> str:
    """`value` if it is valid UTF-8 text, else a `HearthError` naming `what`."""
    if not is_text(value):
        raise HearthError(
            f"The {what} contains bytes that are not UTF-8 text. Check your terminal's "
            "encoding and try again; nothing was changed."
        )
    return value


def read_stdin_text(what: str = "prompt") -> str:
    """Standard input as UTF-8 text, or a `HearthError` when it is not."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    if isinstance(data, str):
        return text_argument(data, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HearthError(
            f"The {what} read from standard input is not UTF-8 text (at byte {error.start:,}); "
            "nothing was changed."
        ) from error
