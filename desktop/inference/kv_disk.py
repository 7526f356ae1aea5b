"""Conversations' evaluated prompts kept on disk, encrypted, so a long chat answers warm
after Hearth restarts.

`KvStates` keeps llama.cpp's state of the chats left in the engine host's memory; it goes
with the process. `DiskStates` writes the state of a conversation after each reply (on a
writer thread, never in the way of the reply) to a folder under Hearth's data dir, and the
engine reads it back when a prompt continues it, after a restart as after a switch.

Every file is encrypted with keys derived (HKDF-SHA256) from a key the window derives from
the store's key (`states_key`), so a state is as private as the conversation:

- its name is an HMAC of the model's fingerprint and the conversation's rendered prompt
  (no title, no text, no length);
- a header (AES-GCM, a key for headers) says which model and context it belongs to, the
  length of the prompt text it continues and which conversation it is (for deleting it);
- the body (AES-GCM, a key derived from the digest of the prompt text itself) holds the
  tokens and llama.cpp's state. Without the conversation's text it cannot be opened.

A state for another model file, context size or engine version (`fingerprint`) is never
restored. A file that does not decrypt or parse (damaged, truncated, tampered with) is
deleted with a log line. The folder stays within `budget` bytes: the least recently used
files go first. Plain Python (`cryptography`); `find` runs on the engine's thread, writes
on the writer thread, `forget` wherever the window calls it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import queue
import struct
import threading
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.inference.kv_states import SavedState

log = logging.getLogger("hearth.states")

MAGIC = b"HEARTH-KV1"
SUFFIX = ".kv"
#: Disk for kept states unless the settings say otherwise (`kept_states_mb`).
DEFAULT_DISK_BUDGET = 1024 * 1024 * 1024
_LENGTH = struct.Struct(">I")
_COUNTS = struct.Struct("<II")
_NONCE = 12
_MAX_HEADER = 64 * 1024


def _derive(key: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(key)


def states_key(db_key: bytes) -> bytes:
    """The key of the kept states, derived from the store's key (never the key itself)."""
    return _derive(db_key, b"hearth conversation states v1")


def label_for(conversation_id: int) -> str:
    """What a state's header says it belongs to, so deleting the conversation finds it."""
    return f"conversation {int(conversation_id)}"


@dataclass(frozen=True)
class DiskStatesConfig:
    """Where the states go, their key (`states_key`) and how much disk they may use."""

    folder: Path
    key: bytes
    budget: int = DEFAULT_DISK_BUDGET


@dataclass(frozen=True)
class _Header:
    path: Path
    fingerprint: str
    text_length: int
    label: str


class DamagedState(Exception):
    """A state file that does not decrypt or parse."""


class DiskStates:
    """One folder of encrypted states. See the module docstring."""

    def __init__(self, config: DiskStatesConfig) -> None:
        self.folder = config.folder
        self.budget = config.budget
        self._header_key = AESGCM(_derive(config.key, b"header"))
        self._name_key = _derive(config.key, b"name")
        self._body_key = _derive(config.key, b"body")
        self._jobs: queue.Queue[tuple[str, str, SavedState] | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()  # file changes: the writer's and `forget`'s

    # -- names and keys --------------------------------------------------------------------
    def _name(self, fingerprint: str, text: str) -> str:
        message = fingerprint.encode("utf-8") + b"\0" + text.encode("utf-8")
        return hmac.new(self._name_key, message, hashlib.sha256).hexdigest()[:48] + SUFFIX

    def _body_cipher(self, fingerprint: str, text: str) -> AESGCM:
        digest = hashlib.sha256(fingerprint.encode("utf-8") + b"\0" + text.encode("utf-8"))
        return AESGCM(_derive(self._body_key, b"body", salt=digest.digest()))

    # -- reading ---------------------------------------------------------------------------
    def _files(self) -> list[Path]:
        try:
            return [p for p in self.folder.iterdir() if p.suffix == SUFFIX and p.is_file()]
        except OSError:
            return []

    def _header(self, path: Path) -> tuple[_Header, int] | None:
        """The header and where the body starts; a damaged file is deleted (None)."""
        try:
            with path.open("rb") as file:
                head = file.read(len(MAGIC) + _LENGTH.size)
                if len(head) < len(MAGIC) + _LENGTH.size or not head.startswith(MAGIC):
                    raise DamagedState("not a state file")
                (size,) = _LENGTH.unpack(head[len(MAGIC) :])
                if not _NONCE < size <= _MAX_HEADER:
                    raise DamagedState("a header of an impossible size")
                sealed = file.read(size)
            aad = MAGIC + path.name.encode("ascii")
            try:
                plain = self._header_key.decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)
            except (InvalidTag, ValueError) as error:
                raise DamagedState("the header does not decrypt") from error
            data = json.loads(plain)
            header = _Header(path, str(data["fp"]), int(data["len"]), str(data["label"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, DamagedState) as error:
            self._discard(path, error)
            return None
        return header, len(head) + size

    def _discard(self, path: Path, why: BaseException) -> None:
        log.warning("kept conversation state %s is damaged (%s); deleted", path.name, why)
        with self._lock, contextlib.suppress(OSError):
            path.unlink()

    def find(self, fingerprint: str, text: str) -> SavedState | None:
        """The kept state of this model whose prompt `text` continues (the longest), or None."""
        best: tuple[_Header, int] | None = None
        for path in self._files():
            found = self._header(path)
            if found is None:
                continue
            header = found[0]
            if header.fingerprint != fingerprint or header.text_length > len(text):
                continue
            if path.name != self._name(fingerprint, text[: header.text_length]):
                continue
            if best is None or header.text_length > best[0].text_length:
                best = found
        if best is None:
            return None
        header, start = best
        prefix = text[: header.text_length]
        try:
            state = self._read_body(header.path, start, fingerprint, prefix)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, DamagedState) as error:
            self._discard(header.path, error)
            return None
        with contextlib.suppress(OSError):
            os.utime(header.path)  # recently used: the last to go
        return state

    def _read_body(self, path: Path, start: int, fingerprint: str, text: str) -> SavedState:
        with path.open("rb") as file:
            file.seek(start)
            sealed = file.read()
        aad = MAGIC + path.name.encode("ascii")
        try:
            plain = self._body_cipher(fingerprint, text).decrypt(
                sealed[:_NONCE], sealed[_NONCE:], aad
            )
        except (InvalidTag, ValueError) as error:
            raise DamagedState("the state does not decrypt") from error
        view = memoryview(plain)
        if len(view) < _COUNTS.size:
            raise DamagedState("the state is too short")
        n_prompt, n_tokens = _COUNTS.unpack_from(view)
        end = _COUNTS.size + 4 * (n_prompt + n_tokens)
        if end >= len(view):
            raise DamagedState("the state is too short")
        numbers = array("i")
        numbers.frombytes(view[_COUNTS.size : end])
        prompt, tokens = tuple(numbers[:n_prompt]), tuple(numbers[n_prompt:])
        return SavedState(text, prompt, tokens, bytes(view[end:]))

    # -- writing ---------------------------------------------------------------------------
    def save(self, fingerprint: str, label: str, state: SavedState) -> None:
        """Write `state` on the writer thread; returns at once."""
        if len(state.data) > self.budget:
            return
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._write_all, name="hearth-states-writer", daemon=True
                )
                self._writer.start()
        self._jobs.put((fingerprint, label, state))

    def _write_all(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self.write(*job)
            except OSError as error:
                log.warning("could not keep a conversation state: %s", error)
            finally:
                self._jobs.task_done()
        self._jobs.task_done()

    def write(self, fingerprint: str, label: str, state: SavedState) -> Path | None:
        """Encrypt and write `state` now (the writer thread's work); the conversation's
        earlier states go, then the least recently used beyond the budget. A state larger
        than the whole budget is not written (None)."""
        if len(state.data) > self.budget:
            return None
        started = time.perf_counter()
        name = self._name(fingerprint, state.text)
        aad = MAGIC + name.encode("ascii")
        header = json.dumps({"fp": fingerprint, "len": len(state.text), "label": label})
        nonce = os.urandom(_NONCE)
        sealed_header = nonce + self._header_key.encrypt(nonce, header.encode("utf-8"), aad)
        numbers = array("i", (*state.prompt_tokens, *state.tokens)).tobytes()
        counts = _COUNTS.pack(len(state.prompt_tokens), len(state.tokens))
        nonce = os.urandom(_NONCE)
        body = self._body_cipher(fingerprint, state.text).encrypt(
            nonce, counts + numbers + state.data, aad
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as file:
            file.write(MAGIC + _LENGTH.pack(len(sealed_header)) + sealed_header + nonce)
            file.write(body)
        with self._lock:
            os.replace(temporary, path)
        size = path.stat().st_size
        self._drop_earlier(path, fingerprint, label, state.text)
        self._evict(path, size)
        log.debug(
            "kept a conversation state: %d tokens, %.1f MB in %.0f ms",
            len(state.tokens),
            size / 1e6,
            (time.perf_counter() - started) * 1000,
        )
        return path

    def _drop_earlier(self, kept: Path, fingerprint: str, label: str, text: str) -> None:
        """A conversation keeps one state per model: its latest."""
        for path in self._files():
            if path == kept:
                continue
            found = self._header(path)
            if found is None or found[0].fingerprint != fingerprint:
                continue
            header = found[0]
            earlier = header.text_length <= len(text) and path.name == self._name(
                fingerprint, text[: header.text_length]
            )
            if earlier or header.label == label:
                self._delete(path)

    def _evict(self, kept: Path, kept_size: int) -> None:
        """The least recently used other files go while the folder is over the budget."""
        entries: list[tuple[float, int, Path]] = []
        for path in self._files():
            with contextlib.suppress(OSError):
                stat = path.stat()
                if path != kept:
                    entries.append((stat.st_mtime, stat.st_size, path))
        total = kept_size + sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.budget:
                break
            self._delete(path)
            total -= size

    def _delete(self, path: Path) -> None:
        with self._lock, contextlib.suppress(OSError):
            path.unlink()

    def flush(self, timeout_s: float) -> bool:
        """Wait for the writes asked for so far; False if they are not done in time."""
        done = threading.Event()

        def wait() -> None:
            self._jobs.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 2.0) -> None:
        """Finish the writes asked for (at most `timeout_s`), then stop the writer. A write
        cut short leaves only a temporary file, which the next start removes."""
        writer = self._writer
        if writer is not None and writer.is_alive():
            self._jobs.put(None)
            writer.join(timeout_s)
            if writer.is_alive():
                log.warning("a conversation state was still being written; left unfinished")

    # -- the window's side -----------------------------------------------------------------
    def forget(self, label: str) -> int:
        """Delete every state of the conversation `label`; returns how many."""
        count = 0
        for path in self._files():
            found = self._header(path)
            if found is not None and found[0].label == label:
                self._delete(path)
                count += 1
        return count

    def remove_leftovers(self) -> None:
        """Temporary files of writes cut short (the process was killed meanwhile)."""
        try:
            leftovers = [p for p in self.folder.iterdir() if p.suffix == ".tmp"]
        except OSError:
            return
        for path in leftovers:
            self._delete(path)

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self._files())


class KeptStates:
    """The window's side: the folder and budget, and the key once the store is unlocked.

    `config()` is what each engine host is told (None while there is no key: conversations
    that are not saved leave no state on disk either); `forget()` deletes a deleted
    conversation's states. A budget of 0 keeps nothing on disk.
    """

    def __init__(self, folder: Path, budget: int = DEFAULT_DISK_BUDGET) -> None:
        self.folder = folder
        self.budget = budget
        self._config: DiskStatesConfig | None = None

    def unlock(self, db_key: bytes | None) -> None:
        """The store is open with `db_key` (None: an unencrypted store keeps no states)."""
        if db_key and self.budget > 0:
            self._config = DiskStatesConfig(self.folder, states_key(db_key), self.budget)

    def config(self) -> DiskStatesConfig | None:
        return self._config

    def forget(self, conversation_id: int) -> int:
        if self._config is None:
            return 0
        return DiskStates(self._config).forget(label_for(conversation_id))
