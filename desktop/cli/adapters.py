"""`hearth adapters import|list|scale|remove`: the LoRA adapters kept in the encrypted store.

`import FILE --base MODEL` checks that the file is a LoRA adapter that fits the model (its
kind of model, and the size of every weight it changes) before anything is kept; the
adapter's bytes go into the store, never into a plain file. `hearth ask --adapter NAME`
answers with one (see `desktop.cli.ask`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from desktop.cli.store import open_store
from desktop.core.errors import HearthError
from desktop.inference.adapters import check_fits
from desktop.paths import AppPaths
from desktop.storage.adapters import AdapterStore, StoredAdapter, check_name


def base_model(ref: str, paths: AppPaths) -> tuple[str, Path]:
    """The library key and file of the model `ref` names (a library name, or a file)."""
    from desktop.cli.models import open_library
    from desktop.core.errors import ModelLibraryError

    library = open_library(paths)
    try:
        entry = library.find(ref)
    except ModelLibraryError:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise
        return str(path.absolute()), path.absolute()
    return entry.key, entry.path


def base_label(key: str) -> str:
    return "the built-in model" if key == "embedded" else Path(key).name


def describe(adapter: StoredAdapter) -> str:
    return (
        f"{adapter.name}: for {base_label(adapter.base)}, scale {adapter.scale:g}, "
        f"rank {adapter.rank}, {adapter.size / 1e6:.1f} MB, {adapter.origin}"
    )


def run(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    action = args.adapters_command
    if action == "import":
        return cmd_import(args, out, paths)
    with open_store(paths, writing=action != "list") as store:
        adapters = AdapterStore(store.db)
        if action == "list":
            listed = adapters.adapters()
            for adapter in listed:
                print(describe(adapter), file=out)
            if not listed:
                print(
                    "No adapters yet: `hearth adapters import FILE --base MODEL` adds one.",
                    file=out,
                )
            return 0
        if action == "scale":
            print(describe(adapters.set_scale(args.name, args.scale)), file=out)
            return 0
        adapters.remove(args.name)
        print(f"Removed the adapter “{args.name}”.", file=out)
        return 0


def cmd_import(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    source = Path(args.file).expanduser()
    key, model = base_model(args.base, paths)
    info = check_fits(source, model)
    name = check_name(args.name or info.name or source.stem)
    try:
        data = source.read_bytes()
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise HearthError(f"“{source.name}” cannot be read ({reason}).") from error
    with open_store(paths) as store:
        adapter = AdapterStore(store.db).add(
            name, key, data, info.rank, f"imported from {source.name}", args.scale
        )
    print(f"Imported {describe(adapter)}.", file=out)
    print(
        f"The adapter is kept in Hearth's encrypted store; {source} itself is left as it was.",
        file=out,
    )
    return 0
