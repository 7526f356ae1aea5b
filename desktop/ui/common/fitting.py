"""Widgets whose text fits whatever room they get, so large text in a narrow window is
never cut off mid-letter.

`ElidedLabel`: one line, shortened with "…" when narrower than its text; its text stays
whole for screen readers and shows in full as a tooltip while it is cut.
`WrappingButton`: a push button whose text wraps onto more lines instead.

No signals of their own. Thread: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QStylePainter,
    QToolTip,
    QWidget,
)

#: The fewest characters an elided label keeps before its "…".
MIN_ELIDED_CHARS = 3


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" rather than being cut off."""

    def __init__(
        self, text: str = "", parent: QWidget | None = None, keep: int = MIN_ELIDED_CHARS
    ) -> None:
        super().__init__(text, parent)
        self._keep = keep  # the characters it keeps before its "…", however narrow
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        metrics = self.fontMetrics()
        text = self.text()
        kept = text if len(text) <= self._keep else text[: self._keep] + "…"
        shortest = metrics.horizontalAdvance(kept) + 2  # rounding: never "…" by a pixel
        margins = self.contentsMargins()
        width = min(hint.width(), shortest + margins.left() + margins.right())
        return QSize(width, hint.height())

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(hint.width() + 2, hint.height())  # as in `minimumSizeHint`

    @property
    def cut(self) -> bool:
        """Whether the text is shown shortened now."""
        return self.shown_text() != self.text()

    def shown_text(self) -> str:
        """The text as painted (with "…" when it does not fit)."""
        return self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent) and self.cut:
            own = self.toolTip()
            QToolTip.showText(event.globalPos(), self.text() + (f"\n{own}" if own else ""), self)
            return True
        return super().event(event)


class WrappingButton(QPushButton):
    """A push button whose text wraps within the width it is given. `text()` is the
    whole text (its accessible name); a label inside draws it."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.label = QLabel(text)
        self.label.setObjectName("buttonText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 12, 8)
        row.addWidget(self.label)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def sizeHint(self) -> QSize:
        """Wide enough for the text on one line."""
        layout = self.layout()
        margins = layout.contentsMargins() if layout is not None else None
        room = 0 if margins is None else margins.left() + margins.right()
        width = self.label.fontMetrics().horizontalAdvance(self.text()) + room + 2
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        layout = self.layout()
        return layout.minimumSize() if layout is not None else super().minimumSizeHint()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        layout = self.layout()
        return layout.totalHeightForWidth(width) if layout is not None else -1

    def paintEvent(self, event: QPaintEvent) -> None:
        """The button's frame, background and focus ring (its bevel); the label draws the
        text, so no focus rectangle is drawn around an empty text."""
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = ""
        QStylePainter(self).drawControl(QStyle.ControlElement.CE_PushButtonBevel, option)
