"""Exports that read like the chat: Markdown front matter, rendered HTML, and the PDF's page.

Real (SQLCipher) store; the HTML is checked as text here, in a real browser in
tests/integration/test_export_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.chat.export import export_conversations, pdf_page
from desktop.core.errors import OutputFileError
from desktop.storage.conversations import ConversationStore
from desktop.storage.migrations import open_and_migrate

KEY = bytes(range(32))
REPLY = (
    """Here is a comparison:

| Language | Typing |
|---|---|
| Python | dynamic |
| Rust | static |

```python
def greet(name):
    return f"Hello, {name}!"  # friendly
```

- first with `inline code`
- second

<script>alert("x")</script> stays text.

"""
    + "long" * 300
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    db = open_and_migrate(tmp_path / "hearth.db", KEY)
    store = ConversationStore(db)
    chat = store.create_conversation("Languages", model_path="embedded", assistant_id="coder")
    store.add_message(chat.id, "user", "Compare them\n<b>please</b>")
    store.add_message(chat.id, "assistant", REPLY)
    store.add_message(store.create_conversation("Second").id, "user", "Another chat")
    yield store
    db.close()


def test_html_renders_replies_like_the_window_and_escapes_everything_else(
    store: ConversationStore, tmp_path: Path
) -> None:
    out = tmp_path / "chat.html"
    export_conversations(store, out, "html", [1])
    page = out.read_text(encoding="utf-8")
    assert "<title>Languages</title>" in page
    assert "<th>Language</th>" in page and "<td>dynamic</td>" in page
    assert re.search(
        r'<pre class="code hl" data-language="python"[^>]*><code><span class="k">def', page
    )
    assert "<li>first with <code>inline code</code></li>" in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; stays text." in page
    assert "<script" not in page and "<b>please" not in page and "&lt;b&gt;please" in page
    assert "content=\"default-src 'none'; style-src 'unsafe-inline'\"" in page
    assert "@media (prefers-color-scheme:dark)" in page  # the page's dark colours
    assert "@media (prefers-color-scheme: dark)" in page  # the code's dark highlighting
    assert "@media print" in page and "break-after:page" in page
    assert "model the built-in model, assistant coder" in page
    assert "http://" not in page and "https://" not in page
    assert out.stat().st_mode & 0o777 == 0o600


def test_markdown_keeps_the_text_with_a_front_matter(
    store: ConversationStore, tmp_path: Path
) -> None:
    out = tmp_path / "chat.md"
    export_conversations(store, out, "md", [1])
    text = out.read_text(encoding="utf-8")
    assert text.startswith('---\ntitle: "Languages"\ncreated: "')
    assert 'model: "the built-in model"\nassistant: "coder"\n---\n\n# Languages' in text
    assert REPLY in text  # the Markdown as written
    both = tmp_path / "both.md"
    export_conversations(store, both, "md")
    assert both.read_text(encoding="utf-8").startswith(
        "---\ntitle: Hearth conversations\nconversations: 2\n---\n"
    )


def test_the_pdf_page_starts_each_conversation_on_a_new_page(store: ConversationStore) -> None:
    page = pdf_page(store, store.list_conversations())
    assert page.count("page-break-before: always") == 1
    assert "&lt;script&gt;" in page and "<script" not in page
    assert "Compare them<br>&lt;b&gt;please&lt;/b&gt;" in page


def test_without_a_pdf_maker_a_pdf_export_is_refused_and_writes_nothing(
    store: ConversationStore, tmp_path: Path
) -> None:
    with pytest.raises(OutputFileError, match="export as HTML"):
        export_conversations(store, tmp_path / "chat.pdf", "pdf")
    assert not (tmp_path / "chat.pdf").exists()
