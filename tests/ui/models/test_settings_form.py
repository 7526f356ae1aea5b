"""The generation settings form: round trip, special values, ranges, hints, `changed`."""

from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

from desktop.core.settings import HEARTH_DEFAULTS, LIMITS, GenerationSettings
from desktop.ui.models.settings_form import SettingsForm


def make_form(qtbot: QtBot) -> SettingsForm:
    form = SettingsForm()
    qtbot.addWidget(form)
    return form


def test_round_trip_of_every_field(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    assert form.settings() == HEARTH_DEFAULTS
    chosen = GenerationSettings(
        temperature=0.35,
        top_p=0.9,
        top_k=0,
        min_p=0.025,
        repeat_penalty=1.25,
        max_new_tokens=2048,
        seed=1234,
        context_length=8192,
        threads=3,
    )
    form.set_settings(chosen, HEARTH_DEFAULTS, 32768)
    assert form.settings() == chosen
    assert form.boxes["top_k"].text() == "Off"
    assert form.boxes["temperature"].text() == "0.35"
    assert form.boxes["context_length"].text() == "8,192"


def test_random_seed_and_automatic_threads_are_none(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    form.set_settings(replace(HEARTH_DEFAULTS, seed=7, threads=2), HEARTH_DEFAULTS, None)
    assert (form.settings().seed, form.settings().threads) == (7, 2)
    form.boxes["seed"].setValue(form.boxes["seed"].minimum())
    form.boxes["threads"].setValue(form.boxes["threads"].minimum())
    assert form.boxes["seed"].text() == "Random"
    assert form.boxes["threads"].text() == "Automatic"
    assert (form.settings().seed, form.settings().threads) == (None, None)


def test_ranges_come_from_the_limits_and_the_trained_context(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    assert form.boxes["temperature"].maximum() == LIMITS["temperature"][1]
    assert form.boxes["top_k"].maximum() == LIMITS["top_k"][1]
    assert form.boxes["max_new_tokens"].minimum() == LIMITS["max_new_tokens"][0]
    assert form.boxes["seed"].maximum() == LIMITS["seed"][1]
    form.set_settings(replace(HEARTH_DEFAULTS, context_length=2048), HEARTH_DEFAULTS, 2048)
    assert form.boxes["context_length"].maximum() == 2048
    form.boxes["context_length"].setValue(100_000)
    assert form.settings().context_length == 2048
    form.boxes["temperature"].setValue(5.0)
    assert form.settings().temperature == 2.0
    form.set_settings(HEARTH_DEFAULTS, HEARTH_DEFAULTS, None)  # unknown: the general limit
    assert form.boxes["context_length"].maximum() == LIMITS["context_length"][1]


def test_hints_show_the_models_own_defaults(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    model = replace(HEARTH_DEFAULTS, temperature=0.6, context_length=2048)
    form.set_settings(model, model, 2048)
    assert form.hints["temperature"].text() == "model default: 0.6"
    assert form.hints["context_length"].text() == "model default: 2,048"
    assert form.hints["top_p"].text() == "" and form.hints["top_p"].isHidden()


def test_changed_fires_on_edits_only(qtbot: QtBot) -> None:
    form = make_form(qtbot)
    seen: list[int] = []
    form.changed.connect(lambda: seen.append(1))
    form.set_settings(replace(HEARTH_DEFAULTS, top_p=0.5), HEARTH_DEFAULTS, None)
    assert seen == []
    with qtbot.waitSignal(form.changed):
        form.boxes["top_p"].stepUp()
    assert form.settings().top_p == 0.51
