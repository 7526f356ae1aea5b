"""`NativeStop`: llama.cpp's abort callback answered in native code, without Python.

llama.cpp asks its abort callback after every node of the compute graph (hundreds per
token), from its first compute thread while the others wait at a barrier. A Python
callback there takes the interpreter's lock each time: measured on the built-in model at
2 threads, 0.88–0.91× the tokens per second of no callback. Here the callback is ggml's
own `ggml_is_empty` (public API: `bool (const struct ggml_tensor *)`, the same signature
as `ggml_abort_callback`) on a tensor header of ours whose first dimension is set to 0 to
stop: asking costs a few native instructions. The header mirrors the leading fields of
the public `struct ggml_tensor` (ggml.h); the pair is checked once, both ways, before it
is used, and `NativeStop.make` returns None when ggml cannot be reached or answers
otherwise (the engine then keeps its Python callback).

Thread: `set` may be called from any thread (one aligned 8-byte store).
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

log = logging.getLogger(__name__)
SLOWER = "llama.cpp's stop is checked in Python (slower): %s"


class _TensorHead(ctypes.Structure):
    """The leading fields of ggml's `struct ggml_tensor`: all `ggml_is_empty` reads."""

    _fields_ = (
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * 4),
        ("nb", ctypes.c_size_t * 4),  # not read; keeps the header as long as ggml's prefix
    )


class NativeStop:
    """A stop flag llama.cpp reads through a native abort callback. See the module docstring."""

    def __init__(self, callback: Any, head: _TensorHead) -> None:
        self.callback = callback  # a ggml_abort_callback: pass with `data`
        self._head = head
        self.data = ctypes.cast(ctypes.pointer(head), ctypes.c_void_p)

    @classmethod
    def make(cls, llama_cpp: Any) -> NativeStop | None:
        """The flag for the llama_cpp module given, or None (then use a Python callback)."""
        try:
            from llama_cpp._ggml import libggml

            function = ctypes.cast(libggml.ggml_is_empty, llama_cpp.ggml_abort_callback)
        except (ImportError, AttributeError, OSError) as exc:
            log.info(SLOWER, exc)
            return None
        stop = cls(function, _TensorHead(0, None, (1, 1, 1, 1), (0, 0, 0, 0)))
        if stop.asked():
            log.info(SLOWER, "ggml reads a running flag as stopped")
            return None
        stop.set(True)
        stopped = stop.asked()
        stop.set(False)
        if not stopped:
            log.info(SLOWER, "ggml does not read the stop flag")
            return None
        return stop

    def set(self, stop: bool) -> None:
        self._head.ne[0] = 0 if stop else 1

    def asked(self) -> bool:
        """What llama.cpp reads now (calls the native callback)."""
        return bool(self.callback(self.data))
