"""Screenshots of an HTML and a PDF export for the README (needs chromium and poppler-utils).

    .venv/bin/python packaging/screenshot_exports.py [OUT_DIR]   # default: resources/

Imports a sample conversation into a throwaway data folder, exports it with `hearth export`
as HTML and PDF, photographs the page in headless Chromium (light and dark), and renders the
PDF's first page with `pdftoppm`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPLY = """Here is how the two compare:

| Language | Typing | First release |
|---|---|---|
| Python | dynamic | 1991 |
| Rust | static | 2015 |

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"  # a friendly line
```

- Python: quick to write, many libraries.
- Rust: fast and memory-safe, stricter to write.
"""


def hearth(data: Path, *args: str) -> None:
    env = {**os.environ, "HEARTH_DATA_DIR": str(data), "HEARTH_PASSPHRASE": "screenshots-only"}
    subprocess.run([sys.executable, "-m", "desktop", *args], env=env, check=True, cwd=ROOT)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources"
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        when = "2026-12-01T10:00:00+00:00"
        common = {"status": "complete", "created_at": when}
        messages = [
            {**common, "id": 1, "parent_id": None, "role": "user", "content": "Python or Rust?"},
            {**common, "id": 2, "parent_id": 1, "role": "assistant", "content": REPLY},
        ]
        chat = {"title": "Python or Rust", "created_at": when, "updated_at": when}
        chat |= {"pinned": False, "current_leaf_id": 2, "messages": messages}
        source = base / "chat.json"
        document = {"format": "hearth-conversations", "version": 1, "conversations": [chat]}
        source.write_text(json.dumps(document), encoding="utf-8")
        hearth(base / "data", "import", str(source))
        page, pdf = base / "chat.html", base / "chat.pdf"
        hearth(base / "data", "export", "--format", "html", str(page))
        hearth(base / "data", "export", "--format", "pdf", str(pdf))
        browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        size = "--window-size=820,760"
        light = out / "screenshot-export-html.png"
        subprocess.run([*browser, size, f"--screenshot={light}", page.as_uri()], check=True)
        dark = out / "screenshot-export-html-dark.png"
        dark_mode = ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"]
        subprocess.run(
            [*browser, *dark_mode, size, f"--screenshot={dark}", page.as_uri()], check=True
        )
        first = out / "screenshot-export-pdf"
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(first),
            ],
            check=True,
        )
    print(f"wrote {light}, {dark} and {first}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
