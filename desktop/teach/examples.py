"""The examples a model is taught from: prompt/answer pairs from a JSONL or CSV file.

JSONL: one object per line with "prompt" and "answer" (also accepted: "user"/"assistant",
"question"/"answer", "input"/"output"). CSV: a header row naming two such columns. Every
problem is a sentence naming the line; blank lines are skipped. Plain Python.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core.errors import HearthError

PAIRS = (("prompt", "answer"), ("user", "assistant"), ("question", "answer"), ("input", "output"))
MAX_EXAMPLES = 20_000
MAX_FILE_BYTES = 64 * 2**20
MIN_EXAMPLES = 4


class ExamplesError(HearthError):
    """Examples that cannot be used, with the reason (and the line)."""


@dataclass(frozen=True)
class Example:
    prompt: str
    answer: str


def read_examples(path: Path) -> list[Example]:
    """The examples in `path` (.jsonl or .csv), in order; `ExamplesError` on a problem."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ExamplesError(f"“{path.name}” is larger than {MAX_FILE_BYTES // 2**20} MB.")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ExamplesError(f"“{path.name}” is not UTF-8 text.") from None
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise ExamplesError(f"“{path.name}” cannot be read ({reason}).") from None
    if path.suffix.lower() == ".csv":
        examples = _from_csv(text, path.name)
    else:
        examples = _from_jsonl(text, path.name)
    if len(examples) < MIN_EXAMPLES:
        raise ExamplesError(
            f"“{path.name}” has {len(examples)} example{'s' * (len(examples) != 1)}; "
            f"teaching needs at least {MIN_EXAMPLES}."
        )
    if len(examples) > MAX_EXAMPLES:
        raise ExamplesError(f"“{path.name}” has more than {MAX_EXAMPLES:,} examples.")
    return examples


def _pair(record: dict[str, object], where: str) -> Example:
    keys = next(((p, a) for p, a in PAIRS if p in record and a in record), None)
    if keys is None:
        keys = next(((p, a) for p, a in PAIRS if p in record or a in record), None)
    if keys is None:
        names = ", ".join(f"{p}/{a}" for p, a in PAIRS)
        raise ExamplesError(f"{where}: no prompt and answer (use one of {names}).")
    prompt_key, answer_key = keys
    prompt, answer = record.get(prompt_key), record.get(answer_key)
    if not isinstance(prompt, str) or not prompt.strip():
        raise ExamplesError(f"{where}: the {prompt_key!r} is missing or empty.")
    if not isinstance(answer, str) or not answer.strip():
        raise ExamplesError(f"{where}: the {answer_key!r} is missing or empty.")
    return Example(prompt.strip(), answer.strip())


def _from_jsonl(text: str, name: str) -> list[Example]:
    examples = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"“{name}”, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ExamplesError(f"{where} is not JSON ({error.msg}).") from None
        if not isinstance(record, dict):
            raise ExamplesError(f"{where} is not a JSON object.")
        examples.append(_pair(record, where))
    return examples


def _from_csv(text: str, name: str) -> list[Example]:
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as error:
        raise ExamplesError(f"“{name}” is not a valid CSV file ({error}).") from None
    return [_pair(dict(row), f"“{name}”, row {n}") for n, row in enumerate(rows, start=2)]


def split(
    examples: Sequence[Example], held_out: float = 0.2, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """(training, held out): a reproducible shuffle; at least one held out, at most 200."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    count = min(200, max(1, round(len(order) * held_out)))
    return order[count:], order[:count]
