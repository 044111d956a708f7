"""Accent colours: parsing and WCAG contrast. Pure: no request, no models.

A studio's accent is drawn as text and links on the page background and as the fill of buttons
under light text, so it must reach WCAG AA (4.5:1) against the light background (which also
covers white text on it: white is lighter still). Dark pages get a lighter tint of the same hue
that reaches 4.5:1 against the dark background; it is derived, never asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.exceptions import InvalidInput

AA = 4.5
# The site's own page colours (static/css/site.css, :root and its dark scheme).
LIGHT_BACKGROUND = "#f5f4f0"
LIGHT_TEXT = "#1b1b19"
DARK_BACKGROUND = "#111110"
DARK_TEXT = "#ecebe6"

_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def normalise_hex(value: str) -> str:
    """ "#ABC", "abc", "#aabbcc" -> "#aabbcc"; InvalidInput for anything else."""
    match = _HEX.fullmatch((value or "").strip())
    if match is None:
        raise InvalidInput(f"“{(value or '')[:20]}” is not a colour: write it as hex, like #7a4b1f.", code="colour")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return f"#{digits}"


def _rgb(colour: str) -> tuple[int, int, int]:
    digits = normalise_hex(colour)[1:]
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def luminance(colour: str) -> float:
    """Relative luminance as WCAG 2 defines it (sRGB)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _ratio(value: float) -> str:
    # Rounded down, so a colour just short of 4.5 never reads "4.5:1" in the error.
    return f"{int(value * 10) / 10:g}:1"


def check_accent(value: str) -> str:
    """The accent as "#rrggbb" when it reaches AA on the light page; InvalidInput saying the ratio otherwise."""
    colour = normalise_hex(value)
    on_page = contrast(colour, LIGHT_BACKGROUND)
    if on_page < AA:
        raise InvalidInput(
            f"The accent colour {colour} has a contrast of {_ratio(on_page)} with the page background "
            f"({LIGHT_BACKGROUND}); WCAG AA asks for at least 4.5:1 so links and buttons stay readable. "
            "Choose a darker colour.",
            code="contrast",
        )
    return colour


def _mix(colour: str, towards: str, amount: float) -> str:
    a, b = _rgb(colour), _rgb(towards)
    return _hex(tuple(x + (y - x) * amount for x, y in zip(a, b, strict=True)))


@dataclass(frozen=True)
class Accent:
    """An accepted accent for both schemes, with the text colour each is filled under."""

    light: str
    light_ink: str
    dark: str
    dark_ink: str


def accent_pair(colour: str) -> Accent:
    """The accent as used on light pages and its tint for dark pages (mixed towards white until AA)."""
    light = normalise_hex(colour)
    dark = light
    step = 0
    while contrast(dark, DARK_BACKGROUND) < AA and step < 20:
        step += 1
        dark = _mix(light, "#ffffff", step / 20)
    return Accent(light=light, light_ink="#ffffff", dark=dark, dark_ink=DARK_BACKGROUND)
