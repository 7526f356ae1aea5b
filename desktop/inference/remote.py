"""`RemoteEngine`: a model on a server the user runs, through the OpenAI-compatible API.

The official `openai` client talks to the server's `/v1` endpoints (models list, streamed chat
completions). Before each request, `check_contact` asks the network switch and the server's
own http consent; the client is bound to the server's address and contacts nothing else.
The server renders the chat template. Token counts for the context meter are estimated
(about three characters a token, on the safe side): the API has no tokenizer endpoint.
Failures become sentences; a reply cut mid-way raises `GenerationError` after the text so
far has been yielded, so the caller keeps it.

Owned by one thread (like every engine); `CancelToken.cancel()` may come from another.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openai

from desktop.core.errors import GenerationError, ModelLoadError
from desktop.core.network import NetworkGate
from desktop.core.servers import RemoteServer, ServerError, check_contact
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions
from desktop.inference.engine import CancelToken, EngineInfo, ProgressCallback, Usage

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0
CHARS_PER_TOKEN = 3  # an estimate on the safe side for English and code
MESSAGE_OVERHEAD = 8  # role markers and separators of a chat template, per message


class RemoteEngine:
    """One model on one server; see the module docstring."""

    def __init__(
        self,
        server: RemoteServer,
        model: str,
        api_key: str | None,
        policy: NetworkGate,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.server = server
        self.model = model
        self.info = EngineInfo(f"server {server.name}", "", ("openai-compatible",))
        self.usage = Usage()
        self._policy = policy
        self._client = openai.OpenAI(
            base_url=server.base_url,
            api_key=api_key or "no-key",
            timeout=timeout_s,
            max_retries=2,
        )
        self._timeout_s = timeout_s
        self._n_ctx = server.context_length or 4096

    def load(
        self, path: Path, options: LoadOptions, progress: ProgressCallback | None = None
    ) -> None:
        """Check that the server answers and has the model; `path` is not used."""
        self._n_ctx = self.server.context_length or options.n_ctx
        try:
            ids = self.model_ids()
        except ServerError as error:
            raise ModelLoadError(str(error)) from error
        if self.model not in ids:
            names = ", ".join(ids) or "none"
            raise ModelLoadError(
                f'The server {self.server.name} has no model "{self.model}"; it offers: {names}.'
            )
        if progress is not None:
            progress(1.0)

    def model_ids(self) -> list[str]:
        """The models the server offers (one request, after the network switch)."""
        check_contact(self.server, self._policy)
        try:
            return [entry.id for entry in self._client.models.list()]
        except openai.OpenAIError as error:
            raise ServerError(self._explain(error)) from error

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def template_note(self) -> str | None:
        return None

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        text = sum(len(m.content) for m in messages)
        return -(-text // CHARS_PER_TOKEN) + MESSAGE_OVERHEAD * (len(messages) + 1)

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[str]:
        check_contact(self.server, self._policy)
        self.usage = Usage(prompt_tokens=self.count_prompt_tokens(messages))
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream": True,
        }
        if params.seed is not None:
            request["seed"] = params.seed
        if params.stop:
            request["stop"] = list(params.stop)
        try:
            chunks = self._client.chat.completions.create(**request)
        except openai.OpenAIError as error:
            raise GenerationError(self._explain(error)) from error
        try:
            for chunk in chunks:
                if cancel.cancelled:
                    return
                choice = chunk.choices[0] if chunk.choices else None
                piece = choice.delta.content if choice is not None else None
                if piece:
                    self.usage.generated_tokens += 1
                    yield piece
        except openai.OpenAIError as error:
            raise GenerationError(
                f"The connection to the server {self.server.name} broke off in the middle of the "
                f"reply ({self._reason(error)}); the text so far is kept."
            ) from error
        finally:
            chunks.close()  # Stop: closing the response ends the server's generation too

    def close(self) -> None:
        self._client.close()

    # -- errors ------------------------------------------------------------------------------
    def _explain(self, error: openai.OpenAIError) -> str:
        name, url = self.server.name, self.server.base_url
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return (
                f"The server {name} refused Hearth's API key ({error.status_code}); set the right "
                f"one in Models → Your servers → Edit…, or with `hearth servers add {name} {url} "
                "--api-key-env VAR`."
            )
        if isinstance(error, openai.NotFoundError) and not self.model:
            return f"The server {name} has no OpenAI-compatible API at {url}."
        if isinstance(error, openai.NotFoundError):
            return f'The server {name} has no model "{self.model}" (or no API at {url}).'
        if isinstance(error, openai.RateLimitError):
            wait = error.response.headers.get("retry-after")
            when = f"in {wait} s" if wait else "in a moment"
            return f"The server {name} is busy (too many requests); try again {when}."
        if isinstance(error, openai.APIStatusError):
            return f"The server {name} failed ({error.status_code}: {self._reason(error)})."
        if isinstance(error, openai.APITimeoutError):
            return f"The server {name} did not answer within {self._timeout_s:.0f} s."
        if isinstance(error, openai.APIConnectionError):
            cause = _root(error)
            if isinstance(cause, ssl.SSLError):
                reason = cause.reason or cause
                return (
                    f"The certificate of {name} could not be verified ({reason}); nothing was sent."
                )
            if isinstance(cause, ConnectionRefusedError):
                return (
                    f"Nothing answers at {url} (connection refused): is the server {name} running?"
                )
            return f"Hearth could not reach the server {name} at {url} ({self._reason(error)})."
        return f"The server {name} failed: {self._reason(error)}."

    @staticmethod
    def _reason(error: BaseException) -> str:
        cause = _root(error)
        text = str(cause) or type(cause).__name__
        return text if len(text) < 200 else text[:200] + "…"


def _root(error: BaseException) -> BaseException:
    seen = error
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return seen


def list_models(
    server: RemoteServer, api_key: str | None, policy: NetworkGate, timeout_s: float = 15.0
) -> list[str]:
    """The models `server` offers, or `ServerError`/`NetworkDisabledError` saying why not."""
    engine = RemoteEngine(server, "", api_key, policy, timeout_s)
    try:
        return engine.model_ids()
    finally:
        engine.close()
