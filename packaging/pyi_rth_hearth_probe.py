"""What the packaged app found of its run-time parts, for packaging/test_frozen.py.

A PyInstaller runtime hook of the Hearth bundle: it runs before Hearth's entry point and does
nothing unless HEARTH_FROZEN_PROBE=1. Then it prints one JSON object (the keyring backend
and the backends' entry points, SQLCipher with FTS5, pygments lexers loaded by name, the
jinja2 sandbox, markdown-it, both engines' native libraries, the Qt plugins, the document
parsers) and exits, 0
when every part loaded. The same file runs in a virtual environment
(`HEARTH_FROZEN_PROBE=1 python packaging/pyi_rth_hearth_probe.py`) to give the reference.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROBE_ENV = "HEARTH_FROZEN_PROBE"
LEXERS = ("python", "javascript", "typescript", "rust", "go", "c", "cpp", "java", "bash")
LEXERS_MORE = ("json", "yaml", "toml", "sql", "html", "css", "markdown", "diff", "powershell")


def _keyring() -> dict[str, Any]:
    import importlib.metadata

    import keyring
    import keyring.backend

    backend = keyring.get_keyring()
    points = importlib.metadata.entry_points(group="keyring.backends")
    viable = keyring.backend.get_all_keyring()
    return {
        "backend": f"{type(backend).__module__}.{type(backend).__qualname__}",
        "entry_points": sorted(point.name for point in points),
        "viable": sorted(f"{type(k).__module__}.{type(k).__qualname__}" for k in viable),
    }


def _sqlcipher() -> dict[str, Any]:
    from sqlcipher3 import dbapi2

    db = dbapi2.connect(":memory:")
    try:
        db.execute("PRAGMA key = \"x'" + "ab" * 32 + "'\"")
        db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
        db.execute("INSERT INTO t VALUES ('warm hearth')")
        hits = db.execute("SELECT count(*) FROM t WHERE t MATCH 'hearth'").fetchone()[0]
        cipher = db.execute("PRAGMA cipher_version").fetchone()[0]
    finally:
        db.close()
    return {"cipher_version": cipher, "fts5_hits": hits}


def _text_tools() -> dict[str, Any]:
    import markdown_it
    import pygments.formatters
    import pygments.lexers
    import pygments.styles
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    lexers = {name: type(pygments.lexers.get_lexer_by_name(name)).__name__ for name in LEXERS}
    for name in LEXERS_MORE:
        lexers[name] = type(pygments.lexers.get_lexer_by_name(name)).__name__
    template = ImmutableSandboxedEnvironment().from_string("{{ a | upper }}")
    return {
        "lexers": lexers,
        "lexer_count": sum(1 for _ in pygments.lexers.get_all_lexers()),
        "style": pygments.styles.get_style_by_name("friendly").__name__,
        "formatter": pygments.formatters.get_formatter_by_name("html").__class__.__name__,
        "jinja2": template.render(a="ok"),
        "markdown": markdown_it.MarkdownIt().render("**ok**").strip(),
    }


def _engines() -> dict[str, Any]:
    import ctransformers
    import ctransformers.lib
    import llama_cpp
    from ctransformers.llm import load_library

    libraries = {}
    for cpu in ("avx2", "avx", "basic"):  # what desktop.inference picks from, by CPU
        path = ctransformers.lib.find_library(cpu)
        load_library(path, False)
        libraries[cpu] = os.path.relpath(path, os.path.dirname(ctransformers.__file__))
    return {
        "llama_cpp": llama_cpp.__version__,
        "llama_system_info": llama_cpp.llama_print_system_info().decode(errors="replace")[:200],
        "ctransformers_libs": libraries,
        "ctransformers_auto": ctransformers.AutoModelForCausalLM.__name__,
    }


def _qt() -> dict[str, Any]:
    from PySide6.QtCore import QLibraryInfo, qVersion
    from PySide6.QtNetwork import QLocalServer

    plugins = QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)
    found = sorted(
        f"{category}/{name}"
        for category in (os.listdir(plugins) if os.path.isdir(plugins) else [])
        for name in os.listdir(os.path.join(plugins, category))
    )
    return {"version": qVersion(), "plugins": found, "local_server": QLocalServer.__name__}


#: One page saying "frozen walrus", without a cross-reference table (PDFium rebuilds it).
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R"
    b"/MediaBox[0 0 300 200]/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>endobj\n"
    b"4 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n5 0 obj<</Length 44>>"
    b"stream\nBT /F1 12 Tf 20 100 Td (frozen walrus) Tj ET\nendstream endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _documents() -> dict[str, Any]:
    """The document parsers: PDFium, Beautiful Soup with lxml, python-docx."""
    import docx
    import pypdfium2
    from bs4 import BeautifulSoup

    pdf = pypdfium2.PdfDocument(TINY_PDF)
    try:
        pdf_text = pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
    soup = BeautifulSoup("<h1>frozen</h1><p>walrus</p>", "lxml")
    return {
        "pdfium": pdf_text,
        "html": soup.get_text(" "),
        "docx": docx.Document().part.content_type,
    }


def _resources() -> dict[str, Any]:
    """The built-in assistants and the style's images (the pickers' arrow, a ticked box's
    mark), where the running app looks for them, readable."""
    from desktop.storage.assistants import AssistantStore, builtin_assistants_dir
    from desktop.ui.shell.style import resource_path

    store = AssistantStore(builtin_assistants_dir(), Path(os.devnull) / "none")
    builtins = sorted(a.id for a in store.assistants() if a.builtin)
    if len(builtins) < 4 or store.problems:
        raise RuntimeError(f"built-in assistants {builtins}, problems {store.problems}")
    from PySide6.QtGui import QImage

    images = [
        resource_path("icons", name) for name in ("chevron-down.png", "chevron-up.png", "check.png")
    ]
    for image in images:
        if QImage(str(image)).isNull():  # missing, or no image format to read it
            raise RuntimeError(f"{image} is missing or unreadable")
    return {"assistants": builtins, "arrow": str(images[0])}


def probe() -> int:
    import json

    checks: dict[str, Callable[[], dict[str, Any]]] = {
        "keyring": _keyring,
        "sqlcipher": _sqlcipher,
        "text": _text_tools,
        "engines": _engines,
        "qt": _qt,
        "documents": _documents,
        "resources": _resources,
    }
    report: dict[str, Any] = {"frozen": bool(getattr(sys, "frozen", False))}
    failed = []
    for name, check in checks.items():
        try:
            report[name] = check()
        except Exception as error:
            report[name] = {"error": f"{type(error).__name__}: {error}"}
            failed.append(name)
    report["failed"] = failed
    print(json.dumps(report, indent=1, sort_keys=True), flush=True)
    return 1 if failed else 0


if os.environ.get(PROBE_ENV) == "1":
    sys.exit(probe())
