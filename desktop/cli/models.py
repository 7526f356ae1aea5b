"""`hearth models ...` and `hearth bench`: the model library and speed test on the command line.

`models list [--json]`, `models import PATH [--link]`, `models delete NAME`,
`models default NAME`, `models catalog [--json]` and `models get ID | REPO FILE`
(`desktop.cli.models_get`), and `bench [--model PATH] [--runs N] [--json]`. They use the same
`ModelLibrary` and engines as the window.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from desktop.core.errors import EmbeddedModelError
from desktop.core.memory import format_bytes
from desktop.inference.bench import BenchResult, BenchRun, benchmark
from desktop.inference.embedded import find_embedded_model
from desktop.inference.inspection_cache import InspectionCache
from desktop.inference.library import ModelEntry, ModelLibrary
from desktop.inference.probe import DEFAULT_TIMEOUT_S, ModelProber
from desktop.inference.registry import EngineRegistry
from desktop.inference.templates import FORMAT_LABELS
from desktop.paths import AppPaths


def open_library(paths: AppPaths, prober: ModelProber | None = None) -> ModelLibrary:
    try:
        embedded: Path | None = find_embedded_model(verify=False)
    except EmbeddedModelError:
        embedded = None
    inspections = InspectionCache(paths.model_inspections_path)
    return ModelLibrary(
        paths.models_dir, paths.model_state_path, embedded, prober, inspections=inspections
    )


def run(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    """Run a `models` or `bench` command; known errors propagate to the caller."""
    if args.command == "bench":
        return cmd_bench(args, out, paths)
    if args.models_command in ("catalog", "get"):
        from desktop.cli import models_get

        if args.models_command == "catalog":
            return models_get.cmd_catalog(out, paths, args.json)
        return models_get.cmd_get(args, out, paths)
    library = open_library(
        paths, ModelProber(timeout_s=getattr(args, "timeout", None) or DEFAULT_TIMEOUT_S)
    )
    action = args.models_command
    if action == "list":
        return cmd_list(library, out, as_json=args.json, n_ctx=args.list_ctx)
    if action == "import":
        entry = library.import_model(args.path, link=args.link, model_type=args.import_model_type)
        how = "linked" if args.link else "copied"
        print(f'Imported "{entry.name}" ({how} into {library.models_dir}).', file=out)
        if entry.template_note:
            print(f"Note: {entry.template_note}", file=out)
        return 0
    if action == "delete":
        entry = library.delete(args.name)
        note = " (only the link; the file it pointed to is kept)" if entry.is_link else ""
        print(f'Deleted "{entry.name}"{note}.', file=out)
        return 0
    if action == "default":
        entry = library.set_default(args.name)
        print(f'New conversations will use "{entry.name}".', file=out)
        return 0
    raise AssertionError(action)  # argparse allows only the actions above


def entry_dict(library: ModelLibrary, entry: ModelEntry, n_ctx: int | None) -> dict[str, Any]:
    info = entry.info
    data: dict[str, Any] = {
        "key": entry.key,
        "name": entry.name,
        "path": str(entry.path),
        "source": entry.source,
        "default": entry.is_default,
        "usable": entry.usable,
        "problem": entry.problem,
    }
    if info is not None:
        data.update(
            model_name=info.name,
            architecture=info.architecture,
            parameters=info.parameter_count,
            quantization=info.quantization,
            file_size=info.file_size,
            context_length=info.context_length,
            engine=info.engine,
            chat_template=info.chat_template is not None,
            chat_format=entry.chat_format,
            template_note=entry.template_note,
            format=info.container,
        )
        estimate = library.estimate(entry, n_ctx)
        data["memory"] = {
            "n_ctx": estimate.n_ctx,
            "weights_bytes": estimate.weights_bytes,
            "kv_cache_bytes": estimate.kv_cache_bytes,
            "total_bytes": estimate.total_bytes,
            "available_bytes": estimate.available_bytes,
            "fits": estimate.fits,
            "warning": estimate.warning,
        }
    return data


def cmd_list(library: ModelLibrary, out: TextIO, *, as_json: bool, n_ctx: int | None) -> int:
    rows = [entry_dict(library, e, n_ctx) for e in library.entries()]
    if as_json:
        json.dump({"models_dir": str(library.models_dir), "models": rows}, out, indent=2)
        out.write("\n")
        return 0
    if not rows:
        print("No models. Import one with `hearth models import PATH`.", file=out)
    for row in rows:
        mark = "*" if row["default"] else " "
        print(f"{mark} {row['name']}  [{row['source']}]", file=out)
        if not row["usable"]:
            print(f"    cannot be used: {row['problem']}", file=out)
            continue
        params = _count(row["parameters"])
        if row["chat_format"] == "model":
            template = "its own chat template"
        else:
            label = FORMAT_LABELS.get(row["chat_format"], row["chat_format"])
            own = "chat template replaced" if row["chat_template"] else "no chat template"
            template = f"{own}: {label} format"
        print(
            f"    {row['architecture']}, {params} parameters, {row['quantization'] or '?'}, "
            f"{format_bytes(row['file_size'])}, context {row['context_length'] or '?'}, "
            f"{row['engine']}, {template}",
            file=out,
        )
        if row["template_note"]:
            print(f"    note: {row['template_note']}", file=out)
        memory = row["memory"]
        free = memory["available_bytes"]
        free_text = f"{format_bytes(free)} free" if free is not None else "free memory unknown"
        print(
            f"    needs ~{format_bytes(memory['total_bytes'])} at {memory['n_ctx']:,} tokens "
            f"({free_text})",
            file=out,
        )
        if memory["warning"]:
            print(f"    warning: {memory['warning']}", file=out)
    return 0


def _count(n: int | None) -> str:
    if not n:
        return "?"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def cmd_bench(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    model = args.bench_model or getattr(args, "model", None)
    if model is not None:
        path = Path(model).expanduser()
    else:
        default = open_library(paths).default_entry()
        path = default.path if default is not None else find_embedded_model()
    threads = args.bench_threads or getattr(args, "threads", None)
    registry = EngineRegistry(model_type_hint=getattr(args, "model_type", None))

    def progress(index: int, run: BenchRun) -> None:
        if not args.json:
            print(
                f"run {index + 1}: load {run.load_s:.2f} s, "
                f"first token {run.ttft_s * 1000:.0f} ms, "
                f"prompt {run.prompt_tokens_per_s:.0f} tok/s, "
                f"generation {run.generation_tokens_per_s:.1f} tok/s",
                file=out,
                flush=True,
            )

    result = benchmark(
        path,
        registry,
        runs=args.runs,
        threads=threads,
        n_ctx=args.bench_ctx,
        max_tokens=args.tokens,
        on_run=progress,
    )
    if args.json:
        json.dump(result.to_dict(), out, indent=2)
        out.write("\n")
    else:
        print(summary(result), file=out)
    return 0


def summary(result: BenchResult) -> str:
    threads = result.threads or "all"
    return (
        f"{Path(result.model).name} on {result.engine}, {threads} threads, "
        f"median of {len(result.runs)} runs: load {result.load_s:.2f} s, "
        f"time to first token {result.ttft_s * 1000:.0f} ms, "
        f"prompt {result.prompt_tokens_per_s:.0f} tokens/s, "
        f"generation {result.generation_tokens_per_s:.1f} tokens/s"
    )
