"""The engine host's wire format: length-prefixed JSON frames over the child's stdin/stdout.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON (one object).
Requests (parent to child) carry `op`; events (child to parent) carry `ev`; both carry the
request `id` they belong to.

    load      {path, options, chat_format, model_type}  -> progress*, loaded {n_ctx, engine} | error
    count     {messages}                                -> count {n} | error
    generate  {messages, params}                        -> token {text}*, done {usage} | error
    cancel    {target}     (no answer: the generation ends early with `done`)
    embed_load {path, n_threads}                        -> embed_ready {dims} | error
    embed     {texts}                                   -> embedded {rows, dims, data} | error
              (`data`: the vectors as base64 of little-endian float32, row after row)
    prefill   {messages}                                -> prefilled {n} (n evaluated; the
                                                           next request cancels it)
    states    {folder, key, budget}  (no answer: conversations' states are kept on disk from
              now on, encrypted with `key`, base64; no key: no longer)
    close     {}                                        -> closed, then the child exits
    error     {kind, message}: `kind` names a `desktop.core.errors` class, or "internal"
"""

from __future__ import annotations

import base64
import dataclasses
import json
import struct
from typing import IO, Any

from desktop.core import errors
from desktop.core.types import ChatMessage, GenerationParams, LoadOptions

_HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024  # a conversation far beyond any context window


class ProtocolError(Exception):
    """The other side sent something that is not a frame (a bug, or a dying process)."""


def write_frame(stream: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next message, or None at the end of the stream (the other side is gone)."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes")
    body = _read_exactly(stream, size)
    if body is None:
        return None
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise ProtocolError("a frame that is not an object")
    return message


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


# -- values ------------------------------------------------------------------------------------


def encode_messages(messages: Any) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def decode_messages(data: list[dict[str, str]]) -> list[ChatMessage]:
    return [ChatMessage(m["role"], m["content"]) for m in data]  # type: ignore[arg-type]


def encode_vectors(rows: Any) -> dict[str, Any]:
    """Float rows (a 2-D numpy array) as `rows`, `dims` and base64 float32 `data`."""
    import numpy as np

    array = np.ascontiguousarray(rows, dtype="<f4")
    data = base64.b64encode(array.tobytes()).decode("ascii")
    return {"rows": int(array.shape[0]), "dims": int(array.shape[1]), "data": data}


def decode_vectors(event: dict[str, Any]) -> Any:
    """The 2-D float32 numpy array an `embedded` event carries."""
    import numpy as np

    raw = base64.b64decode(event["data"])
    return np.frombuffer(raw, dtype="<f4").reshape(int(event["rows"]), int(event["dims"]))


def encode_params(params: GenerationParams) -> dict[str, Any]:
    return dataclasses.asdict(params)


def decode_params(data: dict[str, Any]) -> GenerationParams:
    return GenerationParams(**{**data, "stop": tuple(data.get("stop", ()))})


def encode_options(options: LoadOptions) -> dict[str, Any]:
    return dataclasses.asdict(options)


def decode_options(data: dict[str, Any]) -> LoadOptions:
    return LoadOptions(**data)


def encode_error(request_id: int, error: BaseException) -> dict[str, Any]:
    """An `error` event: known errors keep their class and message, others become internal."""
    if isinstance(error, errors.HearthError):
        kind = type(error).__name__
        return {"ev": "error", "id": request_id, "kind": kind, "message": str(error)}
    text = f"{type(error).__name__}: {error}"
    return {"ev": "error", "id": request_id, "kind": "internal", "message": text}


def decode_error(event: dict[str, Any]) -> errors.HearthError:
    """The exception an `error` event stands for (an internal one: a `GenerationError`)."""
    kind = str(event.get("kind", "internal"))
    message = str(event.get("message", "unknown error"))
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, errors.HearthError) and kind != "StoreInUseError":
        return cls(message)
    return errors.GenerationError(f"The engine failed unexpectedly: {message}")
