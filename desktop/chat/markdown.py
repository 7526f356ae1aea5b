"""Markdown to the HTML subset Qt's rich text engine renders well (for assistant replies).

`MarkdownRenderer.render(text)` parses CommonMark (plus tables and strikethrough) with
markdown-it-py, highlights fenced code with pygments using inline styles, and adapts the
output to `QLabel`/`QTextDocument`: raw HTML from the model is escaped, images become
their alt text (nothing is ever fetched), code blocks are shaded single-cell tables that
wrap long lines, headings are scaled down to chat size.

Rendered HTML is cached by source text (a message's version renders once however often
it scrolls into view). `StreamingMarkdown` renders a reply that is still growing block by
block: finished blocks once, only the open (last) block again on each update, so the cost
of an update does not grow with the length of the reply.

No signals. Pure functions of their input; usable from any thread (but called on the GUI
thread by the chat view).
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.lexers.special import TextLexer  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

from desktop.chat.palette import LIGHT, Palette

#: The links of code blocks' Copy buttons: this, then the block's code, URL-quoted.
COPY_SCHEME = "hearth-copy:"
MONO_FONTS = "'DejaVu Sans Mono', 'Cascadia Mono', Consolas, Menlo, monospace"
#: How many rendered texts `MarkdownRenderer` keeps (the messages around the screen).
RENDER_CACHE_SIZE = 512
_HEADING_TAGS = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h5", "h5": "h6", "h6": "h6"}


#: The links of citations ("[2]") in a reply given sources: this, then the number.
SOURCE_SCHEME = "source:"
_CITATION = re.compile(r"\[(\d{1,3})\]")


def cited_source(link: str) -> int | None:
    """The source number a citation link points at (None for any other link)."""
    number = link[len(SOURCE_SCHEME) :]
    return int(number) if link.startswith(SOURCE_SCHEME) and number.isdigit() else None


def _linked_citations(children: list[Token], cited: frozenset[int]) -> list[Token]:
    """Text tokens split so each "[n]" of a cited source is a link; other tokens (code,
    links the model wrote) are kept as they are."""
    out: list[Token] = []
    inside_link = 0
    for child in children:
        inside_link += {"link_open": 1, "link_close": -1}.get(child.type, 0)
        if child.type != "text" or inside_link or "[" not in child.content:
            out.append(child)
            continue
        at = 0
        for match in _CITATION.finditer(child.content):
            if int(match.group(1)) not in cited:
                continue
            if match.start() > at:
                out.append(Token("text", "", 0, content=child.content[at : match.start()]))
            link = Token("link_open", "a", 1, attrs={"href": SOURCE_SCHEME + match.group(1)})
            out += [link, Token("text", "", 0, content=match.group(0))]
            out.append(Token("link_close", "a", -1))
            at = match.end()
        if at < len(child.content):
            out.append(Token("text", "", 0, content=child.content[at:]))
    return out


def copied_code(link: str) -> str | None:
    """The code a code block's Copy link carries (None for any other link)."""
    return unquote(link[len(COPY_SCHEME) :]) if link.startswith(COPY_SCHEME) else None


class MarkdownRenderer:
    """Renders Markdown to Qt rich-text HTML; create one and reuse it."""

    def __init__(self, palette: Palette = LIGHT) -> None:
        self.palette = palette
        self._formatter = HtmlFormatter(nowrap=True, noclasses=True, style=palette.pygments_style)
        md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
        md.enable(["table", "strikethrough"])

        # markdown-it binds each rule to its renderer: rule(renderer, tokens, idx, options, env)
        def code_block(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
            return self._code_block(tokens[idx])

        md.add_render_rule("fence", code_block)
        md.add_render_rule("code_block", code_block)

        def code_inline(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
            return self._code_inline(tokens[idx])

        def cell_open(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
            return self._cell_open(tokens[idx])

        md.add_render_rule("code_inline", code_inline)
        md.add_render_rule("image", _render_image)
        md.add_render_rule("heading_open", _render_heading)
        md.add_render_rule("heading_close", _render_heading)
        md.add_render_rule("table_open", lambda *_: self._table_open())
        md.add_render_rule("th_open", cell_open)
        md.add_render_rule("td_open", cell_open)
        self._md = md
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._lexers: dict[str, Any] = {}

    def set_palette(self, palette: Palette) -> None:
        """Render in `palette`'s colours and code style from now on (the theme changed)."""
        if palette != self.palette:
            self.palette = palette
            self._formatter = HtmlFormatter(
                nowrap=True, noclasses=True, style=palette.pygments_style
            )
            self._cache.clear()

    def render(self, text: str, cited: frozenset[int] = frozenset()) -> str:
        """HTML for `text`; an unfinished code fence (while streaming) renders as code.

        `cited`: the numbers of the reply's sources; a citation "[2]" of one of them (in
        the text, never in code) becomes a link `SOURCE_SCHEME` + "2"."""
        key = text if not cited else f"{sorted(cited)}\0{text}"
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        rendered = self._md.render(text) if not cited else self._render_cited(text, cited)
        self._cache[key] = rendered
        if len(self._cache) > RENDER_CACHE_SIZE:
            self._cache.popitem(last=False)
        return rendered

    def _render_cited(self, text: str, cited: frozenset[int]) -> str:
        env: dict[str, Any] = {}
        tokens = self._md.parse(text, env)
        for token in tokens:
            if token.type == "inline" and token.children:
                token.children = _linked_citations(token.children, cited)
        return str(self._md.renderer.render(tokens, self._md.options, env))

    def render_uncached(self, text: str) -> str:
        """HTML for `text`, not kept (the open block of a streaming reply)."""
        return self._md.render(text)

    def highlight_code(self, code: str, language: str) -> str:
        """`code` as HTML spans with inline colours (plain, escaped text if unknown)."""
        lexer = self._lexers.get(language)
        if lexer is None:  # looking a lexer up costs milliseconds: once per language
            try:
                lexer = get_lexer_by_name(language) if language else TextLexer()
            except ClassNotFound:
                lexer = TextLexer()
            self._lexers[language] = lexer
        return str(highlight(code, lexer, self._formatter)).rstrip("\n")

    def _code_block(self, token: Token) -> str:
        info = token.info.strip()
        language = info.split(maxsplit=1)[0] if info else ""
        body = self.highlight_code(token.content, language).replace("\n", "<br>")
        return self.code_block_html(language, body, token.content)

    def code_block_html(self, language: str, body: str, code: str | None = None) -> str:
        """A shaded code box holding `body` (highlighted HTML, lines joined by <br>); with
        `code` (a finished block), a Copy link (`COPY_SCHEME` + the code, URL-quoted)."""
        colours = self.palette
        parts = [f'<span style="color:{colours.muted};">{html.escape(language)}</span>']
        if code is not None:
            href = html.escape(COPY_SCHEME + quote(code), quote=True)
            parts.append(f'<a href="{href}" style="color:{colours.link};">Copy</a>')
        label = " · ".join(part for part in parts if language or "href" in part)
        heading = f'<div style="font-size:small;">{label}</div>' if label else ""
        return (
            f'<table width="100%" cellspacing="0" cellpadding="10" '
            f'style="background-color:{colours.code}; '
            f"border: 1px solid {colours.code_border}; "
            f'margin-top: 6px; margin-bottom: 6px;"><tr><td>{heading}'
            f'<div style="font-family:{MONO_FONTS}; white-space: pre-wrap;">{body}</div>'
            f"</td></tr></table>\n"
        )

    def _code_inline(self, token: Token) -> str:
        code = html.escape(token.content)
        return (
            f'<code style="font-family:{MONO_FONTS}; '
            f'background-color:{self.palette.inline_code};">&#8202;{code}&#8202;</code>'
        )

    def _table_open(self) -> str:
        return (
            '<table border="1" cellspacing="0" cellpadding="6" '
            f'style="border-collapse: collapse; border-color: {self.palette.control_border}; '
            'margin-top: 6px; margin-bottom: 6px;">\n'
        )

    def _cell_open(self, token: Token) -> str:
        """A cell with all four borders (Qt draws only two from the table's); a header cell
        shaded, with a heavier rule under it."""
        tag = token.tag
        align = token.attrGet("style")
        colours = self.palette
        border = f"border: 1px solid {colours.control_border};"
        extra = (
            f" background-color: {colours.code}; border-bottom: 2px solid {colours.muted};"
            if tag == "th"
            else ""
        )
        style = f"{border}{extra}{' ' + str(align) if align else ''}"
        return f'<{tag} style="{style}">'


#: A streaming block this many lines long is cut at the next top-level line (a list
#: item, a paragraph line) so that the open block, re-rendered at every update, stays short.
MAX_OPEN_LINES = 8
#: An open code fence this many lines long is shown as a finished box plus a new one.
CODE_CHUNK_LINES = 30


def finished_length(text: str, start: int = 0) -> int:
    """How much of `text` is whole Markdown blocks that later text cannot change.

    Scans complete lines from `start` (a block boundary, outside any code fence): a block
    ends at a blank line outside a code fence, or at the line closing a fence; a block of
    `MAX_OPEN_LINES` lines also ends before a later line that starts at the margin (not a
    table row, an indented continuation or a heading underline). Returns the offset where
    the open block begins (`start` if no block has ended since).
    """
    boundary = position = start
    fence = ""
    lines = 0
    previous = ""
    while True:
        end = text.find("\n", position)
        if end < 0:
            return boundary
        line = text[position:end]
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if fence:
            if indent < 4 and stripped.startswith(fence) and not stripped.strip(fence[0]).strip():
                fence, lines = "", 0
                boundary = end + 1
        elif indent < 4 and stripped[:3] in ("```", "~~~"):
            marker = stripped[0]
            fence = marker * (len(stripped) - len(stripped.lstrip(marker)))
        elif not stripped.strip():
            boundary, lines = end + 1, 0
        elif lines >= MAX_OPEN_LINES and _cuttable(previous, line):
            boundary, lines = position, 0
        lines += 1
        previous = line
        position = end + 1


def _cuttable(previous: str, line: str) -> bool:
    """Whether a block may be cut between `previous` and `line` without changing much."""
    if line[:1] in (" ", "\t", "|", ">") or previous.startswith(("|", ">")):
        return False
    return bool(line.strip("=- ")) and not previous.rstrip().endswith("\\")


class StreamingMarkdown:
    """A growing reply as rendered blocks: `update(text)` -> (finished blocks' HTML, the
    open block's HTML). Finished blocks are rendered once; text that does not extend the
    last one starts over. A long open code fence is shown as finished boxes of
    `CODE_CHUNK_LINES` lines plus the box being written (one box once it closes)."""

    def __init__(self, renderer: MarkdownRenderer) -> None:
        self._renderer = renderer
        self._done = ""
        self.blocks: list[str] = []
        self._fence = ""  # the open code fence's first line, and its lines shown so far
        self._code = ""
        self._code_html: list[str] = []
        self._chunks = 0  # finished boxes of the open fence at the end of `blocks`

    def update(self, text: str) -> tuple[list[str], str]:
        if not text.startswith(self._done):
            self._done, self.blocks, self._chunks, self._fence = "", [], 0, ""
        start = len(self._done)
        end = finished_length(text, start)
        if end > start:
            if self._chunks:  # the fence closed: its boxes become one block
                del self.blocks[-self._chunks :]
                self._chunks, self._fence = 0, ""
            self.blocks.append(self._renderer.render_uncached(text[start:end]))
            self._done = text[:end]
        tail = text[end:]
        if not tail.strip():
            return self.blocks, ""
        code = self._open_code(tail)
        return self.blocks, code if code is not None else self._renderer.render_uncached(tail)

    def _open_code(self, tail: str) -> str | None:
        """The open block as a code box when it is an unclosed code fence: its complete
        lines are highlighted once, only the line being written again."""
        first, newline, body = tail.partition("\n")
        opening = first.lstrip(" ")
        if not newline or len(first) - len(opening) > 3 or opening[:3] not in ("```", "~~~"):
            return None
        fence = opening[: len(opening) - len(opening.lstrip(opening[0]))]
        split = body.rfind("\n") + 1
        complete, partial = body[:split], body[split:]
        if partial.lstrip(" ").startswith(fence):
            return None  # the closing fence is arriving: render the block whole
        if first != self._fence or not complete.startswith(self._code):
            if self._chunks:
                del self.blocks[-self._chunks :]
            self._fence, self._code, self._code_html, self._chunks = first, "", [], 0
        info = opening[len(fence) :].strip()
        language = info.split(maxsplit=1)[0] if info else ""
        if len(complete) > len(self._code):
            lines = complete[len(self._code) :]
            self._code_html.append(self._highlight(lines, language))
            self._code = complete
            if sum(chunk.count("<br>") + 1 for chunk in self._code_html) >= CODE_CHUNK_LINES:
                box = self._renderer.code_block_html(language, "<br>".join(self._code_html))
                self.blocks.append(box)
                self._chunks += 1
                self._code_html = []
        parts = (
            [*self._code_html, self._highlight(partial, language)] if partial else self._code_html
        )
        return self._renderer.code_block_html(language, "<br>".join(parts)) if parts else ""

    def _highlight(self, code: str, language: str) -> str:
        return self._renderer.highlight_code(code, language).replace("\n", "<br>")


def _render_image(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
    """An image becomes its alt text: nothing is ever loaded, not even a local file."""
    alt = "".join(child.content for child in tokens[idx].children or []) or "image"
    return f"[{html.escape(alt)}]"


def _render_heading(
    renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    token = tokens[idx]
    token.tag = _HEADING_TAGS.get(token.tag, token.tag)
    return str(renderer.renderToken(tokens, idx, options, env))


class WebMarkdownRenderer(MarkdownRenderer):
    """The window's Markdown renderer, for a web page (the HTML export) instead of Qt.

    Same parser, same escaping of raw HTML from the model, same images-as-alt-text; but code
    blocks are `<pre><code>` with pygments classes (so one page can carry a light and a dark
    highlighting style), and tables, inline code and code blocks are styled by the page's
    stylesheet (`stylesheet()`) rather than by Qt's attributes.
    """

    def __init__(self, light_style: str = "friendly", dark_style: str = "github-dark") -> None:
        super().__init__()
        self._formatter = HtmlFormatter(nowrap=True, cssclass="hl")
        self._light, self._dark = light_style, dark_style
        self._md.add_render_rule("code_inline", _web_code_inline)
        self._md.add_render_rule("table_open", lambda *_: "<table>\n")
        for rule in ("th_open", "td_open"):  # markdown-it's own cells: the page styles them
            self._md.renderer.rules.pop(rule, None)  # type: ignore[attr-defined]

    def _code_block(self, token: Token) -> str:
        info = token.info.strip()
        language = info.split(maxsplit=1)[0] if info else ""
        body = self.highlight_code(token.content, language)
        label = (
            f' data-language="{html.escape(language)}" aria-label="{html.escape(language)} code"'
            if language
            else ""
        )
        return f'<pre class="code hl"{label}><code>{body}</code></pre>\n'

    def stylesheet(self) -> str:
        """CSS for highlighted code: the light style, and the dark one for dark schemes."""
        light = HtmlFormatter(style=self._light).get_style_defs(".hl")
        dark = HtmlFormatter(style=self._dark).get_style_defs(".hl")
        return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"


def _web_code_inline(_renderer: Any, tokens: Sequence[Token], idx: int, *_: Any) -> str:
    return f"<code>{html.escape(tokens[idx].content)}</code>"
