"""Which files Hearth reads as documents, by their name, and what to call their format."""

from __future__ import annotations

from pathlib import Path

TEXT = "text"
MARKDOWN = "markdown"
HTML = "html"
PDF = "pdf"
DOCX = "docx"
ODT = "odt"
EPUB = "epub"
CODE = "code"

_BY_SUFFIX = {
    ".txt": TEXT, ".text": TEXT, ".log": TEXT, ".rst": TEXT, ".org": TEXT, ".csv": TEXT,
    ".tsv": TEXT, ".tex": TEXT,
    ".md": MARKDOWN, ".markdown": MARKDOWN, ".mdown": MARKDOWN, ".mkd": MARKDOWN,
    ".html": HTML, ".htm": HTML, ".xhtml": HTML,
    ".pdf": PDF,
    ".docx": DOCX,
    ".odt": ODT,
    ".epub": EPUB,
}  # fmt: skip

CODE_SUFFIXES = frozenset({
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".c", ".h", ".cc", ".cpp",
    ".cxx", ".hpp", ".hh", ".rs", ".go", ".java", ".kt", ".kts", ".swift", ".cs", ".rb", ".php",
    ".pl", ".pm", ".sh", ".bash", ".zsh", ".fish", ".ps1", ".lua", ".r", ".scala", ".sql", ".css",
    ".scss", ".json", ".toml", ".yaml", ".yml", ".ini", ".cfg", ".conf", ".xml", ".dart", ".ex",
    ".exs", ".erl", ".hs", ".ml", ".clj", ".vim", ".el", ".m", ".mm", ".zig", ".nim", ".jl",
    ".proto", ".gradle", ".cmake", ".mk",
})  # fmt: skip
#: Files without a suffix read as plain text when they look like text (README, LICENSE, ...).
NO_SUFFIX = ""


def format_of(path: Path) -> str | None:
    """The format Hearth reads `path` as, from its name; None when it does not read it."""
    suffix = path.suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    if suffix in CODE_SUFFIXES or path.name in ("Makefile", "Dockerfile", "CMakeLists.txt"):
        return CODE
    if suffix == NO_SUFFIX and not path.name.startswith("."):  # README, LICENSE, copyright
        return TEXT
    return None


SUPPORTED = "plain text, Markdown, HTML, PDF, DOCX, ODT, EPUB and source code"
