"""`LossPlot`: the training loss, step by step, as a line (and each epoch's held-out loss
as dots), drawn with QPainter: a few hundred points need no charting library (and the
desktop bundle leaves QtCharts out).

Thread: GUI thread only.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

MARGIN = 32


class LossPlot(QWidget):
    """Add points with `add_step` and `add_epoch`; `clear` starts again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Training loss")
        self.setMinimumHeight(120)
        self.steps: list[tuple[int, float]] = []
        self.epochs: list[tuple[int, float]] = []  # (the step it ended at, held-out loss)
        self.total = 1

    def sizeHint(self) -> QSize:
        return QSize(420, 150)

    def clear(self) -> None:
        self.steps, self.epochs, self.total = [], [], 1
        self.update()

    def add_step(self, step: int, total: int, loss: float) -> None:
        if math.isfinite(loss):
            self.steps.append((step, loss))
        self.total = max(1, total)
        self.update()

    def add_epoch(self, held_out_loss: float) -> None:
        if self.steps and math.isfinite(held_out_loss):  # NaN: nothing was held out
            self.epochs.append((self.steps[-1][0], held_out_loss))
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().text().color()
        area = QRectF(MARGIN, 8, self.width() - MARGIN - 8, self.height() - 8 - 22)
        faint = QPen(text)
        faint.setWidthF(0.5)
        painter.setPen(faint)
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        painter.drawLine(area.bottomLeft(), area.topLeft())
        if not self.steps:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "The loss is drawn here")
            return
        values = [v for _, v in self.steps] + [v for _, v in self.epochs]
        top, bottom = max(values), min(0.0, min(values))
        span = (top - bottom) or 1.0

        def point(step: int, value: float) -> QPointF:
            x = area.left() + area.width() * step / self.total
            y = area.bottom() - area.height() * (value - bottom) / span
            return QPointF(x, y)

        right = Qt.AlignmentFlag.AlignRight
        painter.drawText(QRectF(0, area.top() - 6, MARGIN - 4, 14), right, f"{top:.1f}")
        painter.drawText(QRectF(0, area.bottom() - 8, MARGIN - 4, 14), right, f"{bottom:.0f}")
        painter.drawText(
            QRectF(area.left(), area.bottom() + 4, area.width(), 16),
            Qt.AlignmentFlag.AlignLeft,
            f"loss, step {self.steps[-1][0]} of {self.total} (dots: held-out loss per epoch)",
        )
        line = QPen(self.palette().highlight().color())
        line.setWidthF(2)
        painter.setPen(line)
        painter.drawPolyline(QPolygonF([point(s, v) for s, v in self.steps]))
        painter.setPen(QPen(text))
        painter.setBrush(text)
        for step, value in self.epochs:
            painter.drawEllipse(point(step, value), 3.5, 3.5)
