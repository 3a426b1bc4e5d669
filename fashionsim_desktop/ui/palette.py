"""The window's look: the system, light or dark palette, the font size, and colours derived from the palette.

Colours that mean something (a merged row, a muted folder caption) are worked out from the palette in use rather
than fixed, so they keep WCAG AA contrast (4.5:1) with the palette's own text colour in light and dark alike.
Light and Dark use the Fusion style with palettes of our own (the native styles ignore a dark palette on some
platforms); System gives the platform's style and palette back.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

SYSTEM, LIGHT, DARK = "system", "light", "dark"
THEMES = ((SYSTEM, "Follow the system"), (LIGHT, "Light"), (DARK, "Dark"))
AA = 4.5  # WCAG 2 AA for normal text

# The hue each decided row leans towards; how far it leans is worked out against the palette (decision_colour).
DECISION_HUES = {"merge": QColor(232, 96, 58), "keep": QColor(56, 168, 88), "skip": QColor(128, 128, 128),
                 "variant": QColor(84, 120, 232)}
DIFFERENT_HUE = QColor(240, 190, 40)  # metadata cells where the two pictures differ
KEEPER_HUE = QColor(178, 107, 0)  # the "★ keeper" note beside a picture's name
TINT = 0.22  # how far a tint leans from the base colour towards its hue, at most


# -- contrast (WCAG 2) ---------------------------------------------------------------------------------------
def relative_luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance of an sRGB colour, 0 (black) to 1 (white)."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF()))


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    la, lb = relative_luminance(a), relative_luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved a share `t` of the way towards `b`."""
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])))


def tint(base: QColor, hue: QColor, text: QColor, strength: float = TINT) -> QColor:
    """`base` leaning towards `hue`, as far as `strength` allows while `text` on it keeps AA contrast."""
    t = strength
    while t > 0.0:
        colour = blend(base, hue, t)
        if contrast_ratio(colour, text) >= AA:
            return colour
        t -= 0.02
    return QColor(base)


def muted(text: QColor, background: QColor) -> QColor:
    """A quieter text colour (folder captions, secondary lines) that still reads at AA on `background`."""
    t = 0.45
    while t > 0.0:
        colour = blend(text, background, t)
        if contrast_ratio(colour, background) >= AA:
            return colour
        t -= 0.05
    return QColor(text)


def accent(hue: QColor, background: QColor, text: QColor) -> QColor:
    """`hue` as a text colour on `background` (a "★ keeper" note): moved towards `text` until it reads at AA."""
    t = 0.0
    while t < 1.0:
        colour = blend(hue, text, t)
        if contrast_ratio(colour, background) >= AA:
            return colour
        t += 0.1
    return QColor(text)


_decided: dict[tuple[int, str], QColor] = {}  # (palette cache key, decision) -> colour: data() asks per cell


def decision_colour(palette: QPalette, decision: str) -> QColor:
    """The background of a decided row in the queue: the palette's base tinted towards the decision's hue."""
    key = (palette.cacheKey(), decision)
    if key not in _decided:
        if len(_decided) > 64:
            _decided.clear()
        base, text = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)
        _decided[key] = tint(base, DECISION_HUES.get(decision, DECISION_HUES["skip"]), text)
    return _decided[key]


def different_colour(palette: QPalette) -> QColor:
    """The background of a metadata cell where the two pictures differ."""
    return tint(palette.color(QPalette.ColorRole.Base), DIFFERENT_HUE, palette.color(QPalette.ColorRole.Text),
                0.35)


def secondary_text(palette: QPalette) -> QColor:
    """Captions under a name (the folder): muted, readable on the window background and on the list base."""
    text = palette.color(QPalette.ColorRole.Text)
    quieter = muted(text, palette.color(QPalette.ColorRole.Base))
    window = palette.color(QPalette.ColorRole.Window)
    return quieter if contrast_ratio(quieter, window) >= AA else muted(text, window)


def current_palette() -> QPalette:
    return QGuiApplication.palette()


# -- the palettes ----------------------------------------------------------------------------------------------
def _palette(roles: dict[str, str], disabled: str) -> QPalette:
    palette = QPalette()
    for role, colour in roles.items():
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    for role in ("WindowText", "Text", "ButtonText", "HighlightedText", "PlaceholderText"):
        palette.setColor(QPalette.ColorGroup.Disabled, getattr(QPalette.ColorRole, role), QColor(disabled))
    return palette


def light_palette() -> QPalette:
    return _palette({"Window": "#efefef", "WindowText": "#1a1a1a", "Base": "#ffffff", "AlternateBase": "#f5f5f5",
                     "Text": "#1a1a1a", "Button": "#e8e8e8", "ButtonText": "#1a1a1a", "BrightText": "#ffffff",
                     "Light": "#ffffff", "Midlight": "#e3e3e3", "Mid": "#b8b8b8", "Dark": "#9f9f9f",
                     "Shadow": "#767676", "Highlight": "#2a6fb0", "HighlightedText": "#ffffff",
                     "Link": "#1a5fb4", "LinkVisited": "#6b3fa0", "ToolTipBase": "#ffffe6", "ToolTipText": "#1a1a1a",
                     "PlaceholderText": "#6b6b6b"}, disabled="#8c8c8c")


def dark_palette() -> QPalette:
    return _palette({"Window": "#2b2b2e", "WindowText": "#e8e8e8", "Base": "#1f1f22", "AlternateBase": "#27272a",
                     "Text": "#e8e8e8", "Button": "#3a3a3e", "ButtonText": "#e8e8e8", "BrightText": "#ffffff",
                     "Light": "#505055", "Midlight": "#434347", "Mid": "#2f2f33", "Dark": "#18181a",
                     "Shadow": "#000000", "Highlight": "#2f6db5", "HighlightedText": "#ffffff",
                     "Link": "#7cb7ff", "LinkVisited": "#c39cff", "ToolTipBase": "#3a3a3e", "ToolTipText": "#e8e8e8",
                     "PlaceholderText": "#a0a0a0"}, disabled="#7a7a7a")


class Appearance:
    """Applies the chosen palette and font size to the application, and gives the system's back on "system".

    One per application: it remembers the platform's style and font before changing them."""

    def __init__(self, app: QApplication):
        self.app = app
        self.system_style = app.style().name()
        self.system_font = QFont(app.font())
        self.theme: Optional[str] = None

    def apply(self, theme: str, font_size: int = 0) -> None:
        """`theme`: system, light or dark; `font_size`: points, 0 for the system's size."""
        theme = theme if theme in (SYSTEM, LIGHT, DARK) else SYSTEM
        if theme != self.theme:
            self.theme = theme
            hints = self.app.styleHints()
            if theme == SYSTEM:
                self.app.setStyle(QStyleFactory.create(self.system_style))
                hints.setColorScheme(Qt.ColorScheme.Unknown)  # title bars and dialogs follow the system again
                self.app.setPalette(QPalette())  # nothing set: every role resolves to the platform's, also later
            else:
                hints.setColorScheme(Qt.ColorScheme.Dark if theme == DARK else Qt.ColorScheme.Light)
                self.app.setStyle(QStyleFactory.create("Fusion"))
                self.app.setPalette(dark_palette() if theme == DARK else light_palette())
        font = QFont(self.system_font)
        if font_size > 0:
            font.setPointSizeF(font_size)
        if font != self.app.font():
            self.app.setFont(font)
