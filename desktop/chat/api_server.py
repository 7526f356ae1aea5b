"""The OpenAI-compatible API of `hearth serve`: a Starlette app over a `Backend` (its own
engine on the command line, the window's in the window), served by uvicorn on 127.0.0.1 only.

Endpoints: `GET /v1/models`, `POST /v1/chat/completions` (streamed as server-sent events
with sse-starlette, or whole), `POST /v1/completions` (the raw prompt continued, no chat
template). Every request needs `Authorization: Bearer TOKEN`
(else 401). Requests queue behind each other (one generation at a time); a client that
disconnects cancels its generation. Errors are OpenAI-shaped JSON with a sentence.

The token is generated once and kept in the OS keychain (`serve_token`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desktop.chat.serve_backend import Backend, Generation, ModelRefused, stats_finish
from desktop.core.errors import HearthError
from desktop.core.types import ChatMessage, GenerationStats
from desktop.storage.keychain import Keychain

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never another address: the API is for this computer's own tools
TOKEN_ACCOUNT = "serve:token"
ROLES = ("system", "user", "assistant")


def serve_token(keychain: Keychain, new: bool = False) -> tuple[str, bool, bool]:
    """(token, created now, kept in the keychain). Without a usable keychain the token
    lasts for this run only."""
    if not new:
        try:
            kept = keychain.load_secret(TOKEN_ACCOUNT)
        except HearthError as error:
            log.warning("no keychain for the serve token: %s", error)
            return secrets.token_urlsafe(32), True, False
        if kept:
            return kept, False, True
    token = secrets.token_urlsafe(32)
    try:
        keychain.store_secret(TOKEN_ACCOUNT, token)
    except HearthError as error:
        log.warning("the serve token is not kept: %s", error)
        return token, True, False
    return token, True, True


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": None}}, status)


class PortTakenError(HearthError):
    """The port asked for is in use by another program."""


class BadRequest(Exception):
    """The request's body is not what the API takes; the message says why."""


def _messages(body: dict[str, Any]) -> list[ChatMessage]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'messages' must be a non-empty list.")
    found = []
    for entry in raw:
        if not isinstance(entry, dict) or entry.get("role") not in ROLES:
            raise BadRequest("Each message needs a role (system, user or assistant).")
        content = entry.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            content = "".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        if not isinstance(content, str):
            raise BadRequest("Each message's content must be text.")
        found.append(ChatMessage(entry["role"], content))
    return found


def _prompt(body: dict[str, Any]) -> str:
    """The raw text a completion continues."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise BadRequest("'prompt' must be one non-empty text.")
    return prompt


def _overrides(body: dict[str, Any]) -> dict[str, Any]:
    """The sampling settings the request gives, checked."""
    found: dict[str, Any] = {}
    tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if tokens is not None:
        if not isinstance(tokens, int) or tokens < 1:
            raise BadRequest("'max_tokens' must be a positive whole number.")
        found["max_tokens"] = tokens
    for name, low, high in (("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, int | float) or not low <= value <= high:
                raise BadRequest(f"'{name}' must be a number from {low} to {high}.")
            found[name] = float(value)
    seed = body.get("seed")
    if seed is not None:
        if not isinstance(seed, int):
            raise BadRequest("'seed' must be a whole number.")
        found["seed"] = seed
    stop = body.get("stop")
    if isinstance(stop, str):
        found["stop"] = (stop,)
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        found["stop"] = tuple(stop)
    elif stop is not None:
        raise BadRequest("'stop' must be text or a list of texts.")
    return found


class ApiServer:
    """The Starlette app and its state; `run()` serves it (blocking) until `stop()`."""

    def __init__(self, backend: Backend, token: str, port: int) -> None:
        self.backend = backend
        self.port = port
        self._token = token.encode()
        self._server: Any = None
        self._stopping = False
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/completions", self.completions, methods=["POST"]),
            ]
        )

    # --- serving ----------------------------------------------------------------------

    def run(self) -> None:
        """Serve on 127.0.0.1:`port` until `stop()` (or Ctrl+C in a terminal).

        Raises `PortTakenError` when another program listens there."""
        import uvicorn

        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind((HOST, self.port))
        except OSError as error:
            listening.close()
            raise PortTakenError(
                f"Port {self.port} of {HOST} is taken ({error.strerror or error})."
            ) from error
        config = uvicorn.Config(self.app, host=HOST, port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        if self._stopping:
            self._server.should_exit = True
        try:
            self._server.run(sockets=[listening])
        finally:
            listening.close()

    @property
    def serving(self) -> bool:
        """It listened (and may still): False when the port could not be taken."""
        return self._server is not None and bool(self._server.started)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.should_exit = True

    # --- endpoints --------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), self._token)

    async def models(self, request: Request) -> Response:
        if not self._authorized(request):
            return _unauthorized()
        now = int(time.time())
        data = [
            {"id": name, "object": "model", "created": now, "owned_by": "hearth"}
            for name in self.backend.models()
        ]
        return JSONResponse({"object": "list", "data": data})

    async def chat(self, request: Request) -> Response:
        return await self._answer(request, chat=True)

    async def completions(self, request: Request) -> Response:
        return await self._answer(request, chat=False)

    async def _answer(self, request: Request, chat: bool) -> Response:
        if not self._authorized(request):
            return _unauthorized()
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise BadRequest("The body must be a JSON object.")
            messages = _messages(body) if chat else []
            prompt = None if chat else _prompt(body)
            overrides = _overrides(body)
        except (BadRequest, ValueError) as error:
            return _error(400, str(error) or "The body is not JSON.")
        model_id = body.get("model")
        try:
            profile = self.backend.profile_for(model_id if isinstance(model_id, str) else None)
        except ModelRefused as refused:
            return _error(refused.status, str(refused))
        if profile.model_path is None:
            return _error(503, profile.problem or "There is no usable model.")
        params = replace(profile.settings.to_params(), **overrides)
        generation = Generation(asyncio.get_running_loop(), params, messages, prompt)
        self.backend.submit(profile, generation)
        reply = _Reply(profile.model_name, chat, params.max_tokens)
        if body.get("stream"):
            return EventSourceResponse(self._stream(generation, reply), ping=15)
        return await self._whole(request, generation, reply)

    async def _stream(self, generation: Generation, reply: _Reply) -> AsyncIterator[str]:
        """The chunks as they come; leaving early (the client went away) cancels."""
        try:
            while True:
                event = await generation.events.get()
                if event.kind == "token":
                    yield json.dumps(reply.chunk(event.value))
                elif event.kind == "done":
                    yield json.dumps(reply.chunk(None, stats_finish(event.value, reply.limit)))
                    yield "[DONE]"
                    return
                else:
                    yield json.dumps({"error": {"message": event.value, "type": "server_error"}})
                    return
        finally:
            generation.cancel()  # no effect once it has ended

    async def _whole(self, request: Request, generation: Generation, reply: _Reply) -> Response:
        text: list[str] = []
        try:
            while True:
                try:
                    event = await asyncio.wait_for(generation.events.get(), 0.5)
                except TimeoutError:
                    if await request.is_disconnected():
                        return Response(status_code=499)
                    continue
                if event.kind == "token":
                    text.append(event.value)
                elif event.kind == "done":
                    return JSONResponse(reply.whole("".join(text), event.value))
                else:
                    return _error(500, str(event.value), "server_error")
        finally:
            generation.cancel()


def _unauthorized() -> JSONResponse:
    return _error(
        401,
        "A bearer token is needed: the one `hearth serve` showed when it was made.",
        "authentication_error",
    )


class _Reply:
    """OpenAI-shaped pieces of one reply."""

    def __init__(self, model: str, chat: bool, limit: int) -> None:
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        self.model, self.chat, self.limit = model, chat, limit
        self.created = int(time.time())
        self._first = True

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def chunk(self, piece: str | None, finish: str | None = None) -> dict[str, Any]:
        if not self.chat:
            choice = {"index": 0, "text": piece or "", "finish_reason": finish, "logprobs": None}
            return {**self._head("text_completion"), "choices": [choice]}
        delta: dict[str, Any] = {} if piece is None else {"content": piece}
        if self._first:
            delta["role"] = "assistant"
            self._first = False
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def whole(self, text: str, stats: GenerationStats) -> dict[str, Any]:
        finish = stats_finish(stats, self.limit)
        usage = {
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.generated_tokens,
            "total_tokens": stats.prompt_tokens + stats.generated_tokens,
        }
        if self.chat:
            message = {"role": "assistant", "content": text}
            choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish}
            return {**self._head("chat.completion"), "choices": [choice], "usage": usage}
        choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        return {**self._head("text_completion"), "choices": [choice], "usage": usage}
