"""The palette in static/css/palette.css: every colour a property, AA contrast in both themes."""

import re
from pathlib import Path

import pytest

CSS_DIR = Path(__file__).resolve().parent.parent / "static" / "css"
PALETTE_CSS = CSS_DIR / "palette.css"

# Text drawn on a surface: 4.5:1 (WCAG 2.2 AA, normal-size text).
TEXT_PAIRS = [
    *[
        ("text", surface)
        for surface in (
            "bg",
            "panel",
            "field-bg",
            "button-bg",
            "hover-bg",
            "accent-bg",
            "placeholder",
            "code-bg",
            "ok-bg",
            "warn-bg",
            "bad-bg",
        )
    ],
    *[(fg, bg) for fg in ("muted", "accent", "ok", "warn", "bad") for bg in ("bg", "panel")],
    ("muted", "field-bg"),
    ("muted", "code-bg"),
    ("muted", "hover-bg"),
    ("muted", "accent-bg"),
    ("accent", "hover-bg"),
    ("accent", "accent-bg"),
    ("on-accent", "accent"),
    # The admin's grey and delete buttons (static/css/admin-theme.css).
    ("on-accent", "muted"),
    ("on-accent", "bad"),
    ("ok", "ok-bg"),
    ("warn", "warn-bg"),
    ("bad", "bad-bg"),
    ("warn", "placeholder"),
    ("bad", "placeholder"),
]
# A control's outline and the focus ring against what surrounds them: 3:1 (WCAG 1.4.11).
UI_PAIRS = [(fg, bg) for fg in ("border", "focus", "accent") for bg in ("bg", "panel", "field-bg")]


def palette() -> dict[str, tuple[str, str]]:
    """(light, dark) hex colours of each custom property in palette.css."""
    root = re.search(r":root\s*\{(.*?)\}", PALETTE_CSS.read_text(), re.S)
    assert root, "palette.css has no :root block"
    colours = {}
    for name, value in re.findall(r"--([\w-]+):\s*([^;]+);", root.group(1)):
        pair = re.fullmatch(r"light-dark\((#[0-9a-f]{6}),\s*(#[0-9a-f]{6})\)", value.strip())
        single = re.fullmatch(r"#[0-9a-f]{6}", value.strip())
        if pair:
            colours[name] = (pair.group(1), pair.group(2))
        elif single:
            colours[name] = (value.strip(), value.strip())
    return colours


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_ratio_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_palette_keeps_the_names_other_stylesheets_use():
    names = set(palette())
    assert {"bg", "panel", "text", "muted", "accent", "ok", "warn", "bad"} <= names
    assert "--radius: 10px;" in PALETTE_CSS.read_text()


@pytest.mark.parametrize("theme", [0, 1], ids=["light", "dark"])
@pytest.mark.parametrize(("fg", "bg"), TEXT_PAIRS)
def test_text_colours_reach_aa(theme, fg, bg):
    colours = palette()
    assert contrast(colours[fg][theme], colours[bg][theme]) >= 4.5


@pytest.mark.parametrize("theme", [0, 1], ids=["light", "dark"])
@pytest.mark.parametrize(("fg", "bg"), UI_PAIRS)
def test_control_outlines_reach_three_to_one(theme, fg, bg):
    colours = palette()
    assert contrast(colours[fg][theme], colours[bg][theme]) >= 3


def test_badges_on_posters_stay_readable_over_a_white_frame():
    # rgb(0 0 0 / .65) over pure white composites to #595959.
    assert "--overlay: rgb(0 0 0 / .65);" in PALETTE_CSS.read_text()
    assert contrast("#ffffff", "#595959") >= 4.5


@pytest.mark.parametrize(
    "path", sorted(set(CSS_DIR.glob("*.css")) - {PALETTE_CSS}), ids=lambda p: p.name
)
def test_stylesheets_use_the_palette_not_colour_literals(path):
    assert not re.findall(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(", path.read_text())
