"""`hearth ask`: one question answered on stdout, with the window's model and settings.

The model, the assistant and the settings come from the same `desktop.chat.profiles` code as
the window's: the library's default model (`hearth models default`) unless `--model` names
a file, that model's saved settings (Models page), the assistant's on top, and the flags
given here over everything.

Runs on the main thread: there is no GUI thread to protect. For speed, the engine host's
process starts first (the model library, the inspector and the store are imported after
it, while its Python starts), the model is sent to it as soon as it is chosen, and the
store is unlocked (scrypt, for a passphrase) while it loads; the store's write lock is
still taken before the model is looked at, and a refusal by the store comes before any
answer is printed and before anything is saved. Model inspections and the built-in model's
checksum are kept between runs in Hearth's cache folder (`inspection_cache`,
`embedded.verify_file`), each bound to the file as it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from desktop.chat.stats import format_stats
from desktop.cli import args as cli_args
from desktop.core.assistants import Assistant, build_messages
from desktop.core.errors import EngineCrashedError, HearthError
from desktop.core.prompting import ContextPlan, with_system_prompt
from desktop.core.servers import RanOn
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken
from desktop.inference.host.client import HostedEngine
from desktop.inference.runner import run_generation
from desktop.paths import AppPaths

if TYPE_CHECKING:
    from desktop.chat.profiles import ChatProfile
    from desktop.core.servers import RemoteServer
    from desktop.inference.engine import Engine
    from desktop.storage.assistants import AssistantStore
    from desktop.storage.conversations import ConversationStore
    from desktop.storage.documents import PassageHit

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


def resolve_profile(
    args: argparse.Namespace, paths: AppPaths, base: str | None = None
) -> ChatProfile:
    """The model, assistant and settings this question runs with (as the window resolves them).

    `base`: the library key of the model an adapter was made for (used unless `--model`)."""
    from desktop.chat.profiles import make_profiles

    model = option(args, "model")
    override = Path(str(model)) if model else None
    flags = session_settings(args)
    profiles = make_profiles(paths, override_model=override, session_settings=flags)
    assistant_id = None
    if getattr(args, "assistant", None):
        assistant_id = find_assistant(profiles.assistants, args.assistant).id
    model_key = None if profiles.override_model is None else str(profiles.override_model)
    if model_key is None and base is not None:
        model_key = base
    profile = profiles.resolve(assistant_id, model_key)
    if profile.model_path is None:
        raise HearthError(
            profile.problem
            or "There is no model to answer with; import one with `hearth models import FILE`."
        )
    return profile


def engine_host(args: argparse.Namespace, paths: AppPaths | None) -> HostedEngine:
    """The engine host the flags ask for; with `paths`, it uses the kept model inspections."""
    chat_format = str(option(args, "chat_format") or "chatml")
    model_type = str(option(args, "model_type") or "") or None
    inspections = None if paths is None else paths.model_inspections_path
    return HostedEngine(chat_format, model_type, inspections=inspections)


def begin_loading(
    args: argparse.Namespace,
    engine: HostedEngine,
    path: Path,
    options: LoadOptions,
    paths: AppPaths | None,
) -> None:
    """Check `path` (refusing a file no engine can run), then have `engine` start loading it.

    With `paths`, what is learnt about the file is kept in its cache folder (and used).
    """
    from desktop.inference import embedded
    from desktop.inference.inspection_cache import InspectionCache
    from desktop.inference.registry import EngineRegistry

    if path.name == embedded.FILE_NAME:
        verified = None if paths is None else embedded.verified_records(paths.verified_models_path)
        embedded.verify_file(path, verified)
    registry = EngineRegistry(
        engine.chat_format, engine.model_type_hint, InspectionCache(engine.inspections)
    )
    info = registry.inspect(path)  # refuses a file no engine can run before it is sent
    if option(args, "ctx"):  # a context asked for: warn past training, refuse past free memory
        from desktop.cli.context import check_context

        check_context(info, options.n_ctx, warn=warn)
    engine.begin_load(path, options)


def load_engine(
    args: argparse.Namespace, path: Path, options: LoadOptions
) -> tuple[HostedEngine, float]:
    """The engine host with `path` loaded, everything checked afresh (nothing kept)."""
    engine = engine_host(args, None)
    try:
        begin_loading(args, engine, path, options, None)
        engine.finish_load()
    except BaseException:
        engine.close()
        raise
    return engine, engine.load_time_s


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


def cmd_ask(args: argparse.Namespace, out: TextIO, paths: AppPaths, started: Any = None) -> int:
    """`started`: an engine host process the entry point started before anything else."""
    prompt = read_prompt(args)
    remote = _remote_model(args, paths)
    with ExitStack() as stack:
        if remote is not None:
            return _ask_remote(args, out, paths, prompt, stack, *remote)
        engine = engine_host(args, paths)
        stack.callback(engine.close)  # on a failure: ended (killed if need be) before exiting
        # Its Python and llama.cpp load while this process imports and chooses the model.
        engine.prepare(warm=True, started=started)
        lock = None
        if not args.no_save:  # the window or another command using the store: refused first
            from desktop.cli.store import open_store, write_lock

            lock = stack.enter_context(write_lock(paths, advice=ASK_ADVICE))
        if getattr(args, "adapter", None):
            profile, store = _load_with_adapter(args, paths, engine, stack, lock)
            hits = _passages(args, prompt, paths, store)
        else:
            profile = resolve_profile(args, paths)
            assert profile.model_path is not None
            if profile.problem:
                warn(profile.problem)
            begin_loading(args, engine, profile.model_path, profile.load_options, paths)
            # The store's key (scrypt, for a passphrase) while the model loads: a refusal
            # still comes before any answer, and nothing is saved before the store is open.
            store = None
            if lock is not None:
                store = stack.enter_context(open_store(paths, advice=ASK_ADVICE, held=lock))
            hits = _passages(args, prompt, paths, store)
            engine.finish_load()
        load_time = engine.load_time_s
        code = _answer(args, out, prompt, engine, profile, store, load_time, hits)
        # Answered: the process ends next, and the idle engine host ends on its own once
        # told to; waiting for it would only add its exit to the command's time.
        engine.close(wait=False)
        return code


def _load_with_adapter(
    args: argparse.Namespace,
    paths: AppPaths,
    engine: HostedEngine,
    stack: ExitStack,
    lock: Any,
) -> tuple[ChatProfile, ConversationStore | None]:
    """Load the adapter's base model (or `--model`) with the adapter, read from the store
    into a private temporary file that is removed once the model has loaded. The store
    comes back when this exchange is to be saved."""
    from desktop.cli.store import open_store
    from desktop.inference.adapters import check_fits
    from desktop.storage.adapters import AdapterStore

    store = stack.enter_context(
        open_store(paths, writing=lock is not None, advice=ASK_ADVICE, held=lock)
    )
    adapters = AdapterStore(store.db)
    adapter = adapters.get(args.adapter)
    profile = resolve_profile(args, paths, base=adapter.base)
    assert profile.model_path is not None
    if profile.problem:
        warn(profile.problem)
    with adapters.materialized(adapter.name) as file:
        check_fits(file, profile.model_path)  # `--model` another model: refused here
        options = dataclasses.replace(
            profile.load_options, adapter=str(file), adapter_scale=adapter.scale
        )
        begin_loading(args, engine, profile.model_path, options, paths)
        engine.finish_load()
    return profile, store if lock is not None else None


def _answer(
    args: argparse.Namespace,
    out: TextIO,
    prompt: str,
    engine: Engine,
    profile: ChatProfile,
    store: ConversationStore | None,
    load_time: float | None,
    hits: Sequence[PassageHit] = (),
) -> int:
    """Stream the answer to `out` (and into the store, when there is one), then the sources
    of the passages it was given (`--docs`); the exit code."""
    if engine.template_note:
        print(f"hearth: {engine.template_note}", file=sys.stderr)
    params: GenerationParams = profile.settings.to_params()

    def render(text: str) -> list[ChatMessage]:
        built = build_messages(profile.assistant, [ChatMessage("user", text)])
        if args.system is not None:
            return with_system_prompt(args.system, built.messages)
        return built.messages

    text, sources = prompt, []
    if hits:  # `--docs`: the passages go in with the question (the store is imported then)
        from desktop.chat.grounding import ground

        budget = engine.n_ctx - params.max_tokens
        grounding = ground(prompt, list(hits), render, engine.count_prompt_tokens, budget)
        text, sources = grounding.text, list(grounding.sources)
    request = build_messages(profile.assistant, [ChatMessage("user", text)])
    messages = render(text)
    cancel = CancelToken()
    recorder = None
    if store is not None:
        from desktop.cli.store import ReplyRecorder

        model_key = profile.model_key or str(profile.model_path)
        ran_on = RanOn.of(model_key, profile.model_name)
        recorder = ReplyRecorder(store, prompt, model_key, profile.assistant_id, ran_on)

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
    if sources:
        from desktop.cli import docs as cli_docs

        cli_docs.print_sources(sources, out)
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


def _remote_model(args: argparse.Namespace, paths: AppPaths) -> tuple[RemoteServer, str] | None:
    """(server, model) for `--model SERVER:MODEL` of a configured server, else None."""
    wanted = option(args, "model")
    if wanted is None or ":" not in str(wanted) or Path(str(wanted)).exists():
        return None
    from desktop.cli.servers import remote_reference

    found = remote_reference(str(wanted), paths)
    name = str(wanted).partition(":")[0]
    if found is None and name and "/" not in name and "\\" not in name:
        raise HearthError(
            f'There is no model file "{wanted}" and no server "{name}"; `hearth servers list` '
            "shows your servers (use SERVER:MODEL), or give the path of a model file."
        )
    return found


def _ask_remote(
    args: argparse.Namespace,
    out: TextIO,
    paths: AppPaths,
    prompt: str,
    stack: ExitStack,
    server: RemoteServer,
    model: str,
) -> int:
    """The answer of a model on the user's server (no engine host)."""
    from desktop.cli.servers import start_remote

    store = None
    if not args.no_save:  # the window or another command using the store: refused first
        from desktop.cli.store import open_store

        store = stack.enter_context(open_store(paths, advice=ASK_ADVICE))
    hits = _passages(args, prompt, paths, store)
    profile, engine, load_time = start_remote(args, paths, server, model)
    stack.callback(engine.close)
    if store is not None:  # the Privacy page lists what went to each server
        from desktop.storage.contacts import ContactLog
        from desktop.storage.conversations import derive_title

        ContactLog(store.db).record(server.host, "chat", derive_title(prompt))
    return _answer(args, out, prompt, engine, profile, store, load_time, hits)


def _passages(
    args: argparse.Namespace, prompt: str, paths: AppPaths, store: ConversationStore | None
) -> list[PassageHit]:
    """The passages of the `--docs` collections that best match the question."""
    if not getattr(args, "docs", None):
        return []
    from desktop.cli import docs as cli_docs

    return cli_docs.find_passages(args.docs, prompt, paths, store)


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
