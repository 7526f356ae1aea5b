"""`hearth ask`: one question answered on stdout, with the window's model and settings.

The model, the assistant and the settings come from the same `desktop.chat.profiles` code as
the window's: the library's default model (`hearth models default`) unless `--model` names
a file, that model's saved settings (Models page), the assistant's on top, and the flags
given here over everything.

Runs on the main thread: there is no GUI thread to protect.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from desktop.chat.grounding import ground
from desktop.chat.profiles import ChatProfile, make_profiles
from desktop.chat.stats import format_stats
from desktop.cli import args as cli_args
from desktop.cli import docs as cli_docs
from desktop.cli.context import check_context
from desktop.cli.store import ReplyRecorder, open_store
from desktop.core.assistants import Assistant, build_messages
from desktop.core.errors import EngineCrashedError, HearthError
from desktop.core.prompting import ContextPlan, with_system_prompt
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.embedded import FILE_NAME, verify_file
from desktop.inference.engine import CancelToken, Engine
from desktop.inference.host.client import HostedEngine
from desktop.inference.registry import EngineRegistry
from desktop.inference.runner import run_generation
from desktop.paths import AppPaths
from desktop.storage.assistants import AssistantStore

ASK_ADVICE = "Close it to save this exchange, or add --no-save to only answer."


def option(args: argparse.Namespace, name: str) -> Any:
    """A model option given after `ask` (dest `ask_NAME`) or before it (dest `NAME`)."""
    value = getattr(args, f"ask_{name}", None)
    return value if value is not None else getattr(args, name, None)


def session_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The flags that override every saved setting, as `GenerationSettings` fields."""
    flags = {
        "context_length": option(args, "ctx"),
        "threads": option(args, "threads"),
        "max_new_tokens": getattr(args, "max_tokens", None),
        "temperature": getattr(args, "temperature", None),
        "seed": getattr(args, "seed", None),
    }
    return {name: value for name, value in flags.items() if value is not None}


def resolve_profile(args: argparse.Namespace, paths: AppPaths) -> ChatProfile:
    """The model, assistant and settings this question runs with (as the window resolves them)."""
    model = option(args, "model")
    override = Path(str(model)) if model else None
    flags = session_settings(args)
    profiles = make_profiles(paths, override_model=override, session_settings=flags)
    assistant_id = None
    if getattr(args, "assistant", None):
        assistant_id = find_assistant(profiles.assistants, args.assistant).id
    model_key = None if profiles.override_model is None else str(profiles.override_model)
    profile = profiles.resolve(assistant_id, model_key)
    if profile.model_path is None:
        raise HearthError(
            profile.problem
            or "There is no model to answer with; import one with `hearth models import FILE`."
        )
    return profile


def load_engine(args: argparse.Namespace, path: Path, options: LoadOptions) -> tuple[Engine, float]:
    """The engine host with `path` loaded; refuses a file no engine can run first."""
    registry = EngineRegistry(
        chat_format=str(option(args, "chat_format") or "chatml"),
        model_type_hint=str(option(args, "model_type") or "") or None,
    )
    if path.name == FILE_NAME:
        verify_file(path)
    info = registry.inspect(path)  # refuses a file no engine can run before a process starts
    if option(args, "ctx"):  # a context asked for: warn past training, refuse past free memory
        check_context(info, options.n_ctx, warn=warn)
    engine = HostedEngine(registry.chat_format, registry.model_type_hint)
    start = time.perf_counter()
    engine.load(path, options)
    return engine, time.perf_counter() - start


def warn(text: str) -> None:
    print(f"hearth: warning: {text}", file=sys.stderr)


def find_assistant(store: AssistantStore, ref: str) -> Assistant:
    """The built-in or user assistant whose id or name (any case) is `ref`."""
    everyone = store.assistants()
    for assistant in everyone:
        if ref in (assistant.id, assistant.name) or ref.casefold() == assistant.name.casefold():
            return assistant
    names = ", ".join(a.id for a in everyone)
    raise HearthError(f'There is no assistant "{ref}". These exist: {names}.')


def read_prompt(args: argparse.Namespace) -> str:
    prompt = cli_args.text_argument(" ".join(args.prompt), "prompt")
    if prompt == "-":
        prompt = cli_args.read_stdin_text()
    for name in ("system", "assistant"):
        what = {"system": "system prompt", "assistant": "assistant name"}[name]
        cli_args.text_argument(getattr(args, name) or "", what)
    if not prompt.strip():
        raise HearthError("The prompt is empty.")
    return prompt


def cmd_ask(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    prompt = read_prompt(args)
    with ExitStack() as stack:
        # The store (and its write lock) first: a refusal comes before the model loads.
        store = None if args.no_save else stack.enter_context(open_store(paths, advice=ASK_ADVICE))
        profile = resolve_profile(args, paths)
        assert profile.model_path is not None
        hits = cli_docs.find_passages(args.docs, prompt, paths, store) if args.docs else []
        if profile.problem:
            warn(profile.problem)
        engine, load_time = load_engine(args, profile.model_path, profile.load_options)
        stack.callback(engine.close)
        if engine.template_note:
            print(f"hearth: {engine.template_note}", file=sys.stderr)
        params: GenerationParams = profile.settings.to_params()

        def render(text: str) -> list[ChatMessage]:
            built = build_messages(profile.assistant, [ChatMessage("user", text)])
            if args.system is not None:
                return with_system_prompt(args.system, built.messages)
            return built.messages

        budget = engine.n_ctx - params.max_tokens
        grounding = ground(prompt, hits, render, engine.count_prompt_tokens, budget)
        request = build_messages(profile.assistant, [ChatMessage("user", grounding.text)])
        messages = render(grounding.text)
        cancel = CancelToken()
        recorder = None
        if store is not None:
            model_key = profile.model_key or str(profile.model_path)
            recorder = ReplyRecorder(store, prompt, model_key, profile.assistant_id)

        def emit(text: str) -> None:
            try:
                out.write(text)
                out.flush()
            except BrokenPipeError:  # the reader went away (`| head`): stop quietly
                cancel.cancel()
            if recorder is not None:
                recorder.on_token(text)

        try:
            stats = run_generation(
                engine, messages, params, cancel, emit, request.pinned, _say_what_gave_way
            )
        except KeyboardInterrupt:
            cancel.cancel()
            out.write("\n")
            if recorder is not None:
                recorder.finish(None, cancelled=True)
            return 130
        except EngineCrashedError as error:
            if recorder is not None:
                recorder.finish(None)
                raise
            raise HearthError(error.short) from error  # nothing was saved: do not say so
        except HearthError:
            if recorder is not None:
                recorder.finish(None)
            raise
        if recorder is not None:
            recorder.finish(stats, cancelled=stats.cancelled)
        engine_name = engine.info.name
    if stats.cancelled:
        silence_stdout()
        return 141
    out.write("\n")
    cli_docs.print_sources(grounding.sources, out)
    out.flush()
    if args.stats:
        line = format_stats(
            stats,
            model=profile.model_name,
            engine=engine_name,
            load_time_s=load_time,
            separator=", ",
        )
        print(line, file=sys.stderr)
    return 0


def _say_what_gave_way(plan: ContextPlan) -> None:
    """A small context window shortened or left out the system prompt: say so on stderr."""
    if plan.note is not None:
        print(f"hearth: {plan.note}", file=sys.stderr, flush=True)


def silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter exits quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
