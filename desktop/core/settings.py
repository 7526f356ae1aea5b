"""Generation settings: sampling, reply length, seed, context window and threads.

Defaults come from the model where it records them (GGUF `general.sampling.*` keys and its
context length), else from Hearth. Stored settings are JSON; reading them back validates
every field: a value out of range is clamped, a value of the wrong type falls back to the
default, and each such repair is reported in a sentence, so a hand-edited file never breaks
a conversation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from desktop.core.types import GenerationParams, LoadOptions

SCHEMA_VERSION = 1
#: The context Hearth loads a model with unless the user asks for more (or the model has less).
DEFAULT_CONTEXT = 4096
MIN_CONTEXT = 256
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class GenerationSettings:
    """Everything the user may tune for one model or assistant. `None`: chosen at run time."""

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_new_tokens: int = 512
    seed: int | None = None  # None: a new random seed for every reply
    context_length: int = DEFAULT_CONTEXT
    threads: int | None = None  # None: every core

    def to_params(self, stop: tuple[str, ...] = ()) -> GenerationParams:
        return GenerationParams(
            max_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            min_p=self.min_p,
            repeat_penalty=self.repeat_penalty,
            seed=self.seed,
            stop=stop,
        )

    def to_load_options(self) -> LoadOptions:
        return LoadOptions(n_ctx=self.context_length, n_threads=self.threads)

    def to_dict(self, changed_from: GenerationSettings | None = None) -> dict[str, Any]:
        """All fields, or only those that differ from `changed_from` (what to store)."""
        data = asdict(self)
        if changed_from is not None:
            base = asdict(changed_from)
            data = {k: v for k, v in data.items() if v != base[k]}
        return data

    def to_json(self) -> str:
        return json.dumps({"schema_version": SCHEMA_VERSION, **self.to_dict()}, indent=2)


HEARTH_DEFAULTS = GenerationSettings()

#: (lowest, highest) accepted for each numeric field; None in a bound means unbounded.
LIMITS: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "top_k": (0, 1000),  # 0: no top-k filtering
    "min_p": (0.0, 1.0),
    "repeat_penalty": (0.5, 2.0),
    "max_new_tokens": (1, 32768),
    "seed": (0, MAX_SEED),
    "context_length": (MIN_CONTEXT, 1 << 20),
    "threads": (1, 512),
}
_INTEGERS = frozenset({"top_k", "max_new_tokens", "seed", "context_length", "threads"})
_OPTIONAL = frozenset({"seed", "threads"})

#: GGUF metadata keys (llama.cpp's `general.sampling.*`) that give a model's own defaults.
MODEL_SAMPLING_KEYS = {
    "general.sampling.temp": "temperature",
    "general.sampling.top_p": "top_p",
    "general.sampling.top_k": "top_k",
    "general.sampling.min_p": "min_p",
    "general.sampling.penalty_repeat": "repeat_penalty",
}


def model_defaults(
    metadata: Mapping[str, Any] | None,
    model_context: int | None,
    base: GenerationSettings = HEARTH_DEFAULTS,
) -> GenerationSettings:
    """The defaults for a model: its recorded sampling values, else `base`.

    The context defaults to `base.context_length`, lowered to what the model was trained for.
    """
    values = {}
    for key, name in MODEL_SAMPLING_KEYS.items():
        value = (metadata or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[name] = value
    if model_context:
        values["context_length"] = max(MIN_CONTEXT, min(base.context_length, model_context))
    settings, _ = settings_from_dict(values, base)
    return settings


def settings_from_dict(
    data: Mapping[str, Any], defaults: GenerationSettings, max_context: int | None = None
) -> tuple[GenerationSettings, list[str]]:
    """Validated settings from `data` (missing fields: `defaults`) and what was repaired.

    `max_context` (the model's trained context) caps `context_length` when given.
    """
    known = {f.name for f in fields(GenerationSettings)}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, raw in data.items():
        if name == "schema_version":
            continue
        if name not in known:
            problems.append(f'The setting "{name}" is unknown and was ignored.')
            continue
        value, problem = _validate(name, raw, getattr(defaults, name), max_context)
        values[name] = value
        if problem:
            problems.append(problem)
    settings = replace(defaults, **values)
    if max_context and settings.context_length > max_context:
        settings = replace(settings, context_length=max(MIN_CONTEXT, max_context))
    return settings, problems


def settings_from_json(
    text: str, defaults: GenerationSettings, max_context: int | None = None
) -> tuple[GenerationSettings, list[str]]:
    """`settings_from_dict` for a JSON document; unreadable JSON gives the defaults."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return defaults, [f"The settings could not be read ({exc.msg}); the defaults are used."]
    if not isinstance(data, dict):
        return defaults, ["The settings are not a JSON object; the defaults are used."]
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        return defaults, ["The settings come from a newer Hearth; the defaults are used."]
    return settings_from_dict(data, defaults, max_context)


def _validate(name: str, raw: Any, default: Any, max_context: int | None) -> tuple[Any, str | None]:
    label = name.replace("_", " ")
    if raw is None:
        if name in _OPTIONAL:
            return None, None
        return default, f"The {label} was empty; the default {default} is used."
    numeric = isinstance(raw, int | float) and not isinstance(raw, bool)
    if not numeric or not math.isfinite(raw):
        return default, f"The {label} {raw!r} is not a number; the default {default} is used."
    if name in _INTEGERS and raw != int(raw):
        return default, f"The {label} {raw!r} is not a whole number; the default is used."
    value: int | float = int(raw) if name in _INTEGERS else float(raw)
    low, high = LIMITS[name]
    if name == "context_length" and max_context:
        high = min(high, max(MIN_CONTEXT, max_context))
    if value < low or value > high:
        clamped = type(value)(min(max(value, low), high))
        return clamped, f"The {label} {raw} is out of range ({low} to {high}); {clamped} is used."
    return value, None
