"""Generation settings: model defaults, JSON round trip, validation and clamping."""

from __future__ import annotations

import json
from dataclasses import replace

from desktop.core.settings import (
    HEARTH_DEFAULTS,
    GenerationSettings,
    model_defaults,
    settings_from_dict,
    settings_from_json,
)


def test_model_sampling_keys_become_the_defaults() -> None:
    metadata = {"general.sampling.temp": 0.6, "general.sampling.top_k": 20, "other": 1}
    defaults = model_defaults(metadata, model_context=8192)
    assert (defaults.temperature, defaults.top_k) == (0.6, 20)
    assert defaults.top_p == HEARTH_DEFAULTS.top_p  # not in the file: Hearth's value
    assert defaults.context_length == HEARTH_DEFAULTS.context_length  # 4096 < 8192


def test_without_metadata_hearth_defaults_and_the_model_window_caps_context() -> None:
    assert model_defaults(None, None) == HEARTH_DEFAULTS
    assert model_defaults({}, 2048).context_length == 2048
    assert model_defaults({}, 64).context_length == 256  # never below the minimum
    odd = model_defaults({"general.sampling.temp": 99.0}, None)
    assert odd.temperature == 2.0  # a model's own value is clamped like any other


def test_json_round_trip() -> None:
    settings = GenerationSettings(
        temperature=0.3, top_p=0.8, top_k=12, min_p=0.1, repeat_penalty=1.2,
        max_new_tokens=300, seed=42, context_length=2048, threads=2,
    )  # fmt: skip
    assert json.loads(settings.to_json())["schema_version"] == 1
    assert settings_from_json(settings.to_json(), HEARTH_DEFAULTS) == (settings, [])


def test_out_of_range_values_are_clamped_and_reported() -> None:
    data = {"temperature": 9, "top_p": -1, "top_k": 5000, "max_new_tokens": 0, "threads": 0}
    settings, problems = settings_from_dict(data, HEARTH_DEFAULTS)
    assert (settings.temperature, settings.top_p, settings.top_k) == (2.0, 0.0, 1000)
    assert (settings.max_new_tokens, settings.threads) == (1, 1)
    assert len(problems) == 5
    assert "The temperature 9 is out of range (0.0 to 2.0); 2.0 is used." in problems


def test_wrong_types_fall_back_to_defaults() -> None:
    data = {"temperature": "hot", "top_k": 2.5, "seed": True, "min_p": float("nan"), "x": 1}
    settings, problems = settings_from_dict(data, HEARTH_DEFAULTS)
    assert settings == HEARTH_DEFAULTS
    assert len(problems) == 5
    assert any('"x" is unknown' in p for p in problems)
    assert any("top k 2.5 is not a whole number" in p for p in problems)


def test_optional_fields_accept_null_and_context_is_capped_by_the_model() -> None:
    base = replace(HEARTH_DEFAULTS, seed=7, threads=4)
    settings, problems = settings_from_dict(
        {"seed": None, "threads": None, "context_length": 100_000}, base, max_context=8192
    )
    assert (settings.seed, settings.threads, settings.context_length) == (None, None, 8192)
    assert problems == ["The context length 100000 is out of range (256 to 8192); 8192 is used."]
    _, empty = settings_from_dict({"temperature": None}, HEARTH_DEFAULTS)
    assert empty == ["The temperature was empty; the default 0.7 is used."]


def test_unreadable_or_newer_json_gives_the_defaults() -> None:
    defaults = replace(HEARTH_DEFAULTS, temperature=0.1)
    for text in ("{not json", "[1, 2]", json.dumps({"schema_version": 99, "top_k": 3})):
        settings, problems = settings_from_json(text, defaults)
        assert settings == defaults and len(problems) == 1


def test_only_changes_are_stored_and_conversions() -> None:
    settings = replace(HEARTH_DEFAULTS, temperature=0.1, seed=5)
    assert settings.to_dict(changed_from=HEARTH_DEFAULTS) == {"temperature": 0.1, "seed": 5}
    params = settings.to_params(stop=("###",))
    assert (params.temperature, params.max_tokens, params.seed, params.stop) == (
        0.1, 512, 5, ("###",),
    )  # fmt: skip
    options = replace(settings, context_length=1024, threads=3).to_load_options()
    assert (options.n_ctx, options.n_threads) == (1024, 3)
