"""`hearth serve`: Hearth's local models for this computer's own tools, through an
OpenAI-compatible API on 127.0.0.1 (see `desktop.chat.api_server`).

The model runs in the engine host process like `hearth ask`'s; the first model is loaded
before the address is printed. The bearer token is made once and kept in the OS keychain;
it is shown when it is made (`--new-token` makes another).
"""

from __future__ import annotations

import argparse
import logging
from typing import TextIO

from desktop.chat.profiles import ChatProfile, make_profiles
from desktop.cli.ask import begin_loading, engine_host
from desktop.inference.engine import Engine
from desktop.paths import AppPaths
from desktop.storage.keychain import Keychain

log = logging.getLogger(__name__)


def run(args: argparse.Namespace, out: TextIO, paths: AppPaths) -> int:
    from desktop.chat.api_server import HOST, ApiServer, PortTakenError, serve_token
    from desktop.chat.serve_backend import ServeBackend

    profiles = make_profiles(paths)
    if args.serve_model:
        profiles.library.find(args.serve_model)  # an unknown name: its sentence, exit 1

    def load(profile: ChatProfile) -> Engine:
        assert profile.model_path is not None
        engine = engine_host(args, paths)
        try:
            begin_loading(args, engine, profile.model_path, profile.load_options, paths)
            engine.finish_load()
        except BaseException:
            engine.close()
            raise
        return engine

    backend = ServeBackend(profiles, load, args.serve_model)
    try:
        token, created, kept = serve_token(Keychain(), new=args.new_token)
        model = backend.preload()
        base = f"http://{HOST}:{args.port}/v1"
        print(f"Serving {model} on {base} (OpenAI-compatible; Ctrl+C stops).", file=out)
        if created and kept:
            print(f"Token (shown once, kept in your keychain): {token}", file=out)
        elif created:
            print(f"Token for this run only (no usable keychain): {token}", file=out)
        else:
            print("Token: the one shown when it was made (`--new-token` makes another).", file=out)
        out.flush()
        try:
            ApiServer(backend, token, args.port).run()
        except PortTakenError as error:
            raise PortTakenError(f"{error} Choose another one with --port.") from error
    finally:
        backend.close()
    return 0
