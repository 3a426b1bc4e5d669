"""Why two pictures were paired: a sentence first, the measurements behind it in a "Details" fold.

`evidence_rows` turns a pair's evidence (the verifier's numbers, core/verify.py Evidence, plus the embedding
cosine and hash distances from core/review.py) into labelled, readable values; it knows no Qt, so a test or
another view can use it. Keys it does not know are still shown, under their own name.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget


def _yes(value) -> str:
    return "yes" if value else "no"


def _share(value) -> str:
    return f"{float(value) * 100:.1f} %"


def _number(digits: int) -> Callable[[object], str]:
    return lambda value: f"{float(value):.{digits}f}"


def _bits(value) -> str:
    return f"{int(value)} of 64 bits"


# (key, label, format), in the order a curator reads them: how alike the shapes are, then the colours, then the
# coarser signals that found the pair.
FIELDS = (
    ("identical_bytes", "Identical files", _yes),
    ("ncc", "Structure agreement (correlation once aligned)", _number(3)),
    ("agree", "Pixels that agree after a tone fit", _share),
    ("chroma", "Colour difference (median Lab a/b distance)", _number(1)),
    ("lightness", "Lightness difference (median Lab L)", _number(1)),
    ("differ", "Garment cells whose colour differs", _share),
    ("differ_block", "... of them in solid blocks", _share),
    ("cells", "Garment cells compared", lambda v: f"{int(v):,}"),
    ("inliers", "Matching details (ORB keypoints that line up)", lambda v: f"{int(v):,}"),
    ("scale", "Scale of B against A", lambda v: f"{float(v):.2f}×"),
    ("mirrored", "Mirrored copy", _yes),
    ("angle", "Turned by", lambda v: f"{float(v):.1f}°"),
    ("stretch", "Stretched (one axis against the other)", lambda v: f"{float(v):.2f}×"),
    ("frame", "Frame of B against A (< 1 cropped, > 1 padded)", _number(2)),
    ("brightness", "Brightness of B against A (Lab L)", lambda v: f"{float(v):+.1f}"),
    ("background", "Background colour difference (RGB)", _number(1)),
    ("compared", "Pixels compared", _yes),
    ("cosine", "Picture embedding similarity (cosine)", _number(4)),
    ("phash_distance", "Perceptual hash distance (pHash)", _bits),
    ("dhash_distance", "Difference hash distance (dHash)", _bits),
    ("whash_distance", "Wavelet hash distance (wHash)", _bits),
    ("colorhash_distance", "Colour hash distance", lambda v: str(v)),
)


def evidence_rows(evidence: dict) -> list[tuple[str, str]]:
    """(label, value) for every measurement in `evidence`: known ones in reading order, then any others."""
    known = {key for key, _, _ in FIELDS}
    rows = [(label, fmt(evidence[key])) for key, label, fmt in FIELDS if key in evidence]
    rows += [(key.replace("_", " ").capitalize(), str(value)) for key, value in evidence.items() if key not in known]
    return rows


class EvidencePanel(QWidget):
    """The sentence, and a "Details" button that folds the numbers out and back in (folded at first)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sentence = QLabel(self)
        self.sentence.setObjectName("evidence_sentence")
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("evidence_details_toggle")
        self.toggle.setText("Details")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._fold)
        self.details = QScrollArea(self)  # the numbers scroll rather than push the pictures away
        self.details.setFrameShape(QFrame.Shape.NoFrame)
        self.details.setWidgetResizable(True)
        numbers = QWidget(self.details)
        self.form = QFormLayout(numbers)
        self.form.setContentsMargins(18, 0, 0, 0)
        self.form.setVerticalSpacing(1)
        self.details.setWidget(numbers)
        self.details.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.sentence)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details)
        self.rows: list[tuple[str, str]] = []
        self.set_evidence("", {})

    def set_evidence(self, sentence: str, details: dict) -> None:
        self.sentence.setText(sentence)
        self.rows = evidence_rows(details)
        while self.form.rowCount():
            self.form.removeRow(0)
        for label, value in self.rows:
            shown = QLabel(value)
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow(label, shown)
        self.toggle.setVisible(bool(self.rows))
        self.setVisible(bool(sentence or self.rows))

    def _fold(self, unfolded: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if unfolded else Qt.ArrowType.RightArrow)
        line = self.fontMetrics().lineSpacing() + 1
        self.details.setMaximumHeight(line * min(len(self.rows), 8) + 4)  # at most eight lines tall
        self.details.setVisible(unfolded)
