"""Index a folder the way `hearth docs add` does, and SIGKILL this process after N files
are done: a run that dies without any chance to clean up.

    python kill_during_indexing.py DATA_DIR FOLDER N
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from desktop.cli.store import open_store
from desktop.documents.indexer import Indexer, IndexProgress
from desktop.documents.parser import DocumentParser
from desktop.paths import AppPaths
from desktop.storage.documents import DocumentStore


def main() -> None:
    data_dir, folder, after = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])

    def progress(state: IndexProgress) -> None:
        if state.files_done == after:
            os.kill(os.getpid(), signal.SIGKILL)

    with open_store(AppPaths.resolve(str(data_dir))) as store, DocumentParser() as parser:
        Indexer(DocumentStore(store.db), parser, progress=progress).add("notes", [folder])


if __name__ == "__main__":
    main()
