"""Every colour the window draws text or focus marks with meets WCAG AA in both themes,
computed from the palette itself (and from the code style each theme uses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygments.styles import get_style_by_name  # type: ignore[import-untyped]

from desktop.chat.palette import READABLE_PAIRS, TEXT, THEMES, Palette, contrast_ratio
from desktop.core.appearance import Appearance, Behaviour, ThemeMode


def test_contrast_ratio_matches_the_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#8a9099", "#ffffff") == pytest.approx(3.2, abs=0.05)  # the old hint


@pytest.mark.parametrize("palette", THEMES.values(), ids=list(THEMES))
def test_every_pair_of_colours_drawn_together_is_readable(palette: Palette) -> None:
    colours = palette.colours()
    failures = [
        f"{front} on {back}: {contrast_ratio(colours[front], colours[back]):.2f} < {minimum}"
        for front, back, minimum in READABLE_PAIRS
        if contrast_ratio(colours[front], colours[back]) < minimum
    ]
    assert failures == []


@pytest.mark.parametrize("palette", THEMES.values(), ids=list(THEMES))
def test_highlighted_code_is_readable_on_the_code_background(palette: Palette) -> None:
    style = get_style_by_name(palette.pygments_style)
    worst = min(
        (contrast_ratio(f"#{token['color']}", palette.code), str(kind))
        for kind, token in style
        if token["color"]
    )
    assert worst[0] >= TEXT, worst


def test_both_themes_name_the_same_colours() -> None:
    light, dark = (set(p.colours()) for p in THEMES.values())
    assert light == dark and len(light) >= 30


def test_appearance_is_saved_and_damaged_files_give_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert Appearance.load(path) == Appearance()
    Appearance(ThemeMode.DARK, 3).save(path)
    assert Appearance.load(path) == Appearance(ThemeMode.DARK, 3)
    path.write_text('{"theme": "purple", "text_step": 99}', encoding="utf-8")
    loaded = Appearance.load(path)
    assert loaded.theme is ThemeMode.SYSTEM and loaded.text_step == 8
    path.write_text("not json", encoding="utf-8")
    assert Appearance.load(path) == Appearance()


def test_keep_in_tray_is_off_by_default_and_saved_beside_the_appearance(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert Behaviour.load(path) == Behaviour(keep_in_tray=False)
    Appearance(ThemeMode.DARK, 2).save(path)
    Behaviour(keep_in_tray=True).save(path)
    assert Behaviour.load(path).keep_in_tray is True
    assert Appearance.load(path) == Appearance(ThemeMode.DARK, 2)  # neither save loses the other
    Appearance(ThemeMode.LIGHT, 0).save(path)
    assert Behaviour.load(path).keep_in_tray is True
    path.write_text('{"keep_in_tray": "yes"}', encoding="utf-8")
    assert Behaviour.load(path).keep_in_tray is False
