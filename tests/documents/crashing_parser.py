"""The document parser child, except that a file starting with b"%CRASH" aborts it the way
a native parser's crash would (PDFium cannot be made to crash on demand)."""

from __future__ import annotations

import os
import sys

from desktop.documents import child

_real_parse = child.parse_file


def _parse(path, fmt, max_unpacked, max_chars):  # type: ignore[no-untyped-def]
    with open(path, "rb") as stream:
        if stream.read(6) == b"%CRASH":
            os.abort()
    return _real_parse(path, fmt, max_unpacked, max_chars)


child.parse_file = _parse  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(child.child_main())
