"""Draw Hearth's icon (a warm flame on a dark rounded tile) into resources/icons/.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py

Writes hearth.svg, hearth-<N>.png for N in 16..1024, hearth.ico (16-256) and hearth.icns
(16-1024). The SVG and the PNGs come from the same shapes; .ico and .icns are written here
with PNG entries, so nothing beyond Qt is needed.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# icns entry types holding PNG data, by pixel size (1024 is 512@2x).
ICNS_TYPES = ((b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256),
              (b"ic09", 512), (b"ic10", 1024))  # fmt: skip

TILE = "#2b1d16"
TILE_EDGE = "#4a3023"
OUTER = ("#ffb347", "#e8491d")  # top, bottom of the outer flame
INNER = ("#fff4c2", "#ffc24a")
HEARTH = "#7a4a33"

# Shapes on a 512 x 512 canvas: (start point, cubic segments (c1, c2, end)).
Point = tuple[float, float]
Shape = tuple[Point, list[tuple[Point, Point, Point]]]
OUTER_FLAME: Shape = (
    (256, 72),
    [
        ((296, 150), (380, 200), (372, 300)),
        ((366, 370), (318, 410), (256, 410)),
        ((194, 410), (146, 370), (140, 304)),
        ((134, 244), (178, 206), (198, 176)),
        ((204, 214), (222, 236), (240, 240)),
        ((226, 180), (232, 120), (256, 72)),
    ],
)
INNER_FLAME: Shape = (
    (262, 214),
    [
        ((288, 262), (318, 292), (314, 338)),
        ((310, 378), (286, 398), (256, 398)),
        ((224, 398), (200, 376), (200, 342)),
        ((200, 306), (224, 290), (234, 268)),
        ((244, 288), (252, 296), (262, 300)),
        ((256, 270), (250, 244), (262, 214)),
    ],
)


def svg_path(shape: Shape) -> str:
    (x, y), segments = shape
    parts = [f"M{x:g} {y:g}"]
    for (ax, ay), (bx, by), (ex, ey) in segments:
        parts.append(f"C{ax:g} {ay:g} {bx:g} {by:g} {ex:g} {ey:g}")
    return " ".join(parts) + " Z"


def qt_path(shape: Shape) -> QPainterPath:
    start, segments = shape
    path = QPainterPath(QPointF(*start))
    for a, b, end in segments:
        path.cubicTo(QPointF(*a), QPointF(*b), QPointF(*end))
    path.closeSubpath()
    return path


def make_svg() -> str:
    size = 'viewBox="0 0 512 512" width="512" height="512"'
    tile = f'rx="108" fill="{TILE}" stroke="{TILE_EDGE}" stroke-width="8"'
    return f"""<svg xmlns="http://www.w3.org/2000/svg" {size}>
  <defs>
    <linearGradient id="outer" x1="0" y1="72" x2="0" y2="410" gradientUnits="userSpaceOnUse">
      <stop offset="0" stop-color="{OUTER[0]}"/><stop offset="1" stop-color="{OUTER[1]}"/>
    </linearGradient>
    <linearGradient id="inner" x1="0" y1="214" x2="0" y2="398" gradientUnits="userSpaceOnUse">
      <stop offset="0" stop-color="{INNER[0]}"/><stop offset="1" stop-color="{INNER[1]}"/>
    </linearGradient>
  </defs>
  <rect x="16" y="16" width="480" height="480" {tile}/>
  <rect x="112" y="408" width="288" height="32" rx="16" fill="{HEARTH}"/>
  <path d="{svg_path(OUTER_FLAME)}" fill="url(#outer)"/>
  <path d="{svg_path(INNER_FLAME)}" fill="url(#inner)"/>
</svg>
"""


def gradient(top: str, bottom: str, y1: float, y2: float) -> QLinearGradient:
    fill = QLinearGradient(0, y1, 0, y2)
    fill.setColorAt(0, QColor(top))
    fill.setColorAt(1, QColor(bottom))
    return fill


def render(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 512, size / 512)
    painter.setPen(QColor(TILE_EDGE))
    pen = painter.pen()
    pen.setWidthF(8)
    painter.setPen(pen)
    painter.setBrush(QColor(TILE))
    painter.drawRoundedRect(QRectF(16, 16, 480, 480), 108, 108)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(HEARTH))
    painter.drawRoundedRect(QRectF(112, 408, 288, 32), 16, 16)
    painter.setBrush(gradient(*OUTER, 72, 410))
    painter.drawPath(qt_path(OUTER_FLAME))
    painter.setBrush(gradient(*INNER, 214, 398))
    painter.drawPath(qt_path(INNER_FLAME))
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def make_ico(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose entries are PNG images (Windows Vista and later)."""
    header = struct.pack("<HHH", 0, 1, len(ICO_SIZES))
    offset = 6 + 16 * len(ICO_SIZES)
    entries, blobs = b"", b""
    for size in ICO_SIZES:
        blob = pngs[size]
        side = size % 256  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
        blobs += blob
    return header + entries + blobs


def make_icns(pngs: dict[int, bytes]) -> bytes:
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "hearth.svg").write_text(make_svg(), encoding="utf-8")
    pngs = {size: png_bytes(render(size)) for size in SIZES}
    for size, blob in pngs.items():
        (OUT / f"hearth-{size}.png").write_bytes(blob)
    (OUT / "hearth.ico").write_bytes(make_ico(pngs))
    (OUT / "hearth.icns").write_bytes(make_icns(pngs))
    print(f"icons written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
