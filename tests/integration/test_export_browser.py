"""Exports as a person reads them: the HTML in a real browser, the PDF from the command line.

`hearth import` a conversation whose reply has a table, code, a list, raw `<script>` text and
a very long line; `hearth export --format html` opened in headless Chromium (Debian's
`chromium`, which `.ci/run` installs): the DOM has the table's cells, highlighted code in a
`<pre>`, no script element; a screenshot shows it. `hearth export --format pdf`: the pages'
text, read back with poppler's `pdftotext`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.ui.common.test_pdf import pdf_text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REPLY = (
    "Here is a comparison:\n\n| Language | Typing |\n|---|---|\n| Python | dynamic |\n"
    "| Rust | static |\n\n```python\ndef greet(name):\n    return name  # friendly\n```\n\n"
    "- first point\n- second point\n\n<script>alert('x')</script> stays text.\n\n"
    + "averyveryverylongword"
    * 40
)


def hearth(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_DATA_DIR": str(data), "HEARTH_PASSPHRASE": "export-test-pass"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    when = "2026-12-01T10:00:00+00:00"
    message = {"status": "complete", "created_at": when}
    conversation = {
        "title": "Export check",
        "created_at": when,
        "updated_at": when,
        "pinned": False,
        "current_leaf_id": 2,
        "messages": [
            {**message, "id": 1, "parent_id": None, "role": "user", "content": "Compare them"},
            {**message, "id": 2, "parent_id": 1, "role": "assistant", "content": REPLY},
        ],
    }
    source = folder / "conv.json"
    document = {"format": "hearth-conversations", "version": 1, "conversations": [conversation]}
    source.write_text(json.dumps(document), encoding="utf-8")
    imported = hearth(folder / "data", "import", str(source))
    assert imported.returncode == 0, imported.stderr
    return folder


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    return found


def test_the_html_export_reads_like_the_chat_in_a_real_browser(data: Path) -> None:
    out = data / "chat.html"
    exported = hearth(data / "data", "export", "--format", "html", str(out))
    assert exported.returncode == 0, exported.stderr
    browser = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*browser, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert "<th>Language</th>" in dom and "<td>dynamic</td>" in dom and "<td>Rust</td>" in dom
    assert '<pre class="code hl" data-language="python"' in dom
    assert '<span class="k">def</span>' in dom and '<span class="c1"># friendly</span>' in dom
    assert "<li>first point</li>" in dom
    assert "<script" not in dom and "&lt;script&gt;alert('x')&lt;/script&gt; stays text." in dom
    shot = data / "chat.png"
    subprocess.run(
        [*browser, "--window-size=900,1200", f"--screenshot={shot}", out.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    image = QImage(str(shot))
    assert image.width() == 900 and image.height() == 1200
    colours = {image.pixel(x, y) for x in range(0, 900, 7) for y in range(0, 1200, 7)}
    assert len(colours) > 20  # text, table lines, shaded blocks, highlighted code


def test_the_pdf_export_from_the_command_line(data: Path) -> None:
    out = data / "chat.pdf"
    exported = hearth(data / "data", "export", "--format", "pdf", str(out))
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_mode & 0o777 == 0o600
    pages, text = pdf_text(out)
    assert pages == 1 and "Page 1 of 1" in text
    assert "Export check" in text and "Python" in text and "dynamic" in text
    assert "def greet(name):" in text and "<script>alert('x')</script> stays text." in text
