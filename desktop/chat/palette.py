"""The window's colours: one palette of named colours per theme, and their contrast.

Every window and dialog takes its colours from here (style sheets name them as
`$name`, see `desktop.ui.common.theme`), so light and dark differ in one place.
`READABLE_PAIRS` lists which colour is drawn on which, and the contrast each pair needs
(WCAG 2.2: 4.5:1 for text, 3:1 for focus marks and large text); the tests compute them.
Plain Python (no Qt): usable anywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Palette:
    """Named colours (`#rrggbb`) of one theme, and its matching pygments code style."""

    name: str
    dark: bool
    pygments_style: str
    window: str  # the chat, dialogs, pages
    surface: str  # the composer, inputs, buttons
    sidebar: str  # the conversation list, status bar, lists in pages
    border: str  # separators and card edges
    control_border: str  # edges of buttons and inputs
    text: str
    muted: str  # secondary text: hints, captions, the token meter, left-out messages
    placeholder: str
    disabled: str  # disabled controls (not required to meet contrast)
    accent: str  # filled buttons, progress
    accent_hover: str
    on_accent: str  # text on `accent`
    link: str  # accent-coloured text and marks
    focus: str  # the focus ring
    hover: str
    selection: str  # the chosen row in lists
    user_bubble: str
    highlight: str  # a search hit
    code: str  # code block background
    code_border: str
    inline_code: str
    error_text: str
    error_back: str
    error_border: str
    warning_text: str
    warning_back: str
    warning_border: str
    success_text: str
    success_back: str
    online: str  # the dot before the loaded model's name

    def colours(self) -> dict[str, str]:
        """`name -> #rrggbb` for every colour (style sheet placeholders)."""
        return {k: v for k, v in asdict(self).items() if isinstance(v, str) and v[:1] == "#"}


LIGHT = Palette(
    name="light",
    dark=False,
    pygments_style="xcode",
    window="#ffffff",
    surface="#ffffff",
    sidebar="#f5f6f8",
    border="#e3e6ea",
    control_border="#8c939d",
    text="#1f2328",
    muted="#565e6b",
    placeholder="#636b77",
    disabled="#a3a9b1",
    accent="#2456d3",
    accent_hover="#1b45b0",
    on_accent="#ffffff",
    link="#1d4ed8",
    focus="#2456d3",
    hover="#eceef1",
    selection="#dce5f8",
    user_bubble="#e7eefc",
    highlight="#fde68a",
    code="#f3f4f6",
    code_border="#dfe2e6",
    inline_code="#eceef1",
    error_text="#a01d13",
    error_back="#fdecea",
    error_border="#f0b9b4",
    warning_text="#8a3c0b",
    warning_back="#fff5e0",
    warning_border="#efd29a",
    success_text="#166534",
    success_back="#dcfce7",
    online="#15803d",
)

DARK = Palette(
    name="dark",
    dark=True,
    pygments_style="one-dark",
    window="#1c1e22",
    surface="#25282d",
    sidebar="#17191c",
    border="#33373d",
    control_border="#7b828d",
    text="#e6e8eb",
    muted="#a7aeb8",
    placeholder="#9aa2ad",
    disabled="#5d636b",
    accent="#2f64e0",
    accent_hover="#2756c4",
    on_accent="#ffffff",
    link="#8ab4f8",
    focus="#7aa7f7",
    hover="#2c3036",
    selection="#2d3a55",
    user_bubble="#26344f",
    highlight="#6b5414",
    code="#15171a",
    code_border="#33373d",
    inline_code="#30343a",
    error_text="#ffb4ab",
    error_back="#3a1d1b",
    error_border="#6e302b",
    warning_text="#f7cf86",
    warning_back="#352a12",
    warning_border="#6b5420",
    success_text="#86efac",
    success_back="#14301f",
    online="#4ade80",
)

THEMES = {palette.name: palette for palette in (LIGHT, DARK)}

TEXT = 4.5
LARGE_TEXT_OR_MARK = 3.0

#: (foreground, background, minimum contrast): every pair drawn in the window.
READABLE_PAIRS: tuple[tuple[str, str, float], ...] = (
    *(("text", back, TEXT) for back in ("window", "surface", "sidebar", "hover")),
    *(("text", back, TEXT) for back in ("selection", "user_bubble", "highlight", "code")),
    ("text", "inline_code", TEXT),
    *(("muted", back, TEXT) for back in ("window", "surface", "sidebar", "code", "hover")),
    ("muted", "user_bubble", TEXT),
    ("placeholder", "surface", TEXT),
    ("placeholder", "window", TEXT),
    ("on_accent", "accent", TEXT),
    ("on_accent", "accent_hover", TEXT),
    ("link", "window", TEXT),
    ("link", "sidebar", TEXT),
    ("error_text", "error_back", TEXT),
    ("error_text", "window", TEXT),
    ("warning_text", "warning_back", TEXT),
    ("warning_text", "window", TEXT),
    ("warning_text", "sidebar", TEXT),
    ("success_text", "success_back", TEXT),
    *(("focus", back, LARGE_TEXT_OR_MARK) for back in ("window", "surface", "sidebar")),
    ("focus", "hover", LARGE_TEXT_OR_MARK),
    ("focus", "selection", LARGE_TEXT_OR_MARK),
    ("focus", "user_bubble", LARGE_TEXT_OR_MARK),  # a focused question's text
    ("control_border", "surface", LARGE_TEXT_OR_MARK),
    ("control_border", "window", LARGE_TEXT_OR_MARK),
    ("online", "sidebar", LARGE_TEXT_OR_MARK),
)


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of `#rrggbb` (or `#rgb`)."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)
