"""The key information file beside the database, and the forms a database key takes.

`<database>.keyinfo.json` (versioned JSON, written atomically) records how the database is
protected: `mode` "keychain" | "passphrase" | "none", a *key check* (HMAC-SHA256 of the key under
a fixed label, 128 bits: tells a wrong key from a damaged database without revealing the key),
the keychain account, and in passphrase mode the scrypt parameters, the salt and the database
key wrapped with AES-256-GCM under the passphrase-derived key (a wrong passphrase fails the
tag; a new passphrase only rewraps). `pending` holds a new key while it replaces the current
one (`rotate_key`); `encrypting` marks an unfinished plaintext-to-encrypted migration.
The file never holds a key in the clear.

The recovery key is the database key itself for a person to write down: 32 key bytes and a
3-byte checksum in Crockford base32, 56 characters in 14 groups of 4, so a typo is detected
(and O/0, I/L/1 are read alike).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from desktop.core.errors import (
    KeyFileError,
    KeyFileTooNewError,
    WeakPassphraseError,
    WrongPassphraseError,
    WrongRecoveryKeyError,
)
from desktop.core.files import is_disk_full

FORMAT, VERSION = "hearth-keyinfo", 1
KEY_BYTES = 32
MAX_KEYFILE_BYTES = 64 * 1024  # Hearth writes about 1 KB
MIN_PASSPHRASE_CHARS = 8
Mode = Literal["keychain", "passphrase", "none"]
_CHECK_LABEL = b"Hearth database key check v1"
_WRAP_AAD = b"Hearth database key wrapped by passphrase v1"
_RECOVERY_LABEL = b"Hearth recovery key v1"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_ALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def keyfile_path(database_path: Path) -> Path:
    return database_path.with_name(database_path.name + ".keyinfo.json")


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def key_check(key: bytes) -> str:
    """A 128-bit fingerprint of `key` (HMAC-SHA256 under a fixed label), in hex."""
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).digest()[:16].hex()


def matches(key: bytes, check: str | None) -> bool:
    return check is not None and hmac.compare_digest(key_check(key), check)


# -- passphrase wrapping ------------------------------------------------------------------
#: The most a key file may ask of one passphrase try: memory (128 * n * r bytes) and work
#: (n * r * p, about 0.3 s per 2**19 here). Hearth writes n=2**16, r=8, p=1: 64 MiB, 2**19.
MAX_SCRYPT_MEMORY = 256 * 2**20
MAX_SCRYPT_WORK = 2**22


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost: memory is 128 * n * r bytes (n=2**16, r=8: 64 MiB, ~0.3 s on 2 cores)."""

    n: int = 2**16
    r: int = 8
    p: int = 1

    def check(self) -> None:
        if not (2 <= self.n <= 2**20 and self.n & (self.n - 1) == 0):
            raise KeyFileError("The key file asks for an unsupported scrypt cost (n).")
        if not (1 <= self.r <= 32 and 1 <= self.p <= 16):
            raise KeyFileError("The key file asks for an unsupported scrypt cost (r, p).")
        if 128 * self.n * self.r > MAX_SCRYPT_MEMORY or self.n * self.r * self.p > MAX_SCRYPT_WORK:
            raise KeyFileError(
                "The key file asks for a passphrase check costlier than Hearth allows "
                f"(n={self.n}, r={self.r}, p={self.p}); it may have been tampered with."
            )

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        self.check()
        try:
            secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        except UnicodeEncodeError as error:
            raise WrongPassphraseError(
                "The passphrase contains bytes that are not UTF-8 text, so it cannot be right. "
                "Nothing was changed."
            ) from error
        maxmem = 2 * 128 * self.r * (self.n + self.p + 2) + 2**20
        try:
            return hashlib.scrypt(
                secret, salt=salt, n=self.n, r=self.r, p=self.p, maxmem=maxmem, dklen=32
            )
        except (ValueError, MemoryError) as error:
            raise KeyFileError(
                f"Hearth cannot check a passphrase with this key file's settings ({error})."
            ) from error


@dataclass(frozen=True)
class PassphraseWrap:
    """The database key sealed under a passphrase: scrypt parameters, salt, nonce||ciphertext."""

    params: ScryptParams
    salt: bytes
    wrapped: bytes

    @classmethod
    def seal(cls, key: bytes, passphrase: str, params: ScryptParams) -> PassphraseWrap:
        try:
            passphrase.encode("utf-8")
        except UnicodeEncodeError as error:
            raise WeakPassphraseError(
                "This passphrase contains bytes that are not UTF-8 text; choose one you can "
                "type. Nothing was changed."
            ) from error
        if len(passphrase) < MIN_PASSPHRASE_CHARS:
            raise WeakPassphraseError(
                f"A passphrase needs at least {MIN_PASSPHRASE_CHARS} characters; nothing "
                "was changed."
            )
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = AESGCM(params.derive(passphrase, salt)).encrypt(nonce, key, _WRAP_AAD)
        return cls(params, salt, nonce + sealed)

    def kek(self, passphrase: str) -> bytes:
        """The key-encryption key derived from `passphrase` with this wrap's salt (slow)."""
        return self.params.derive(passphrase, self.salt)

    def unwrap(self, kek: bytes) -> bytes | None:
        """The database key, or None if `kek` comes from a wrong passphrase."""
        try:
            return AESGCM(kek).decrypt(self.wrapped[:12], self.wrapped[12:], _WRAP_AAD)
        except InvalidTag:
            return None

    def rewrap(self, key: bytes, kek: bytes) -> PassphraseWrap:
        """`key` under the same passphrase-derived key `kek` (same salt, new nonce)."""
        nonce = os.urandom(12)
        return replace(self, wrapped=nonce + AESGCM(kek).encrypt(nonce, key, _WRAP_AAD))


# -- the file -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PendingKey:
    """A new key being installed: its check and where it is kept meanwhile."""

    key_check: str
    account: str | None = None
    wrap: PassphraseWrap | None = None


@dataclass(frozen=True)
class KeyInfo:
    """The content of the key file: how the database key is kept, never the key itself."""

    mode: Mode
    key_check: str | None = None
    account: str | None = None
    wrap: PassphraseWrap | None = None
    pending: PendingKey | None = None
    encrypting: bool = False


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _wrap_json(wrap: PassphraseWrap | None) -> dict[str, Any] | None:
    if wrap is None:
        return None
    p = wrap.params
    return {
        "kdf": "scrypt",
        "n": p.n,
        "r": p.r,
        "p": p.p,
        "salt": _b64(wrap.salt),
        "wrapped_key": _b64(wrap.wrapped),
    }


def _wrap_from(data: Any) -> PassphraseWrap | None:
    if data is None:
        return None
    if data.get("kdf") != "scrypt":
        raise KeyFileError("The key file names a key derivation this Hearth does not know.")
    numbers = [data[name] for name in ("n", "r", "p")]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers):
        raise ValueError("scrypt parameters are whole numbers")
    params = ScryptParams(*numbers)
    params.check()
    wrapped = base64.b64decode(data["wrapped_key"], validate=True)
    if len(wrapped) != 12 + KEY_BYTES + 16:
        raise ValueError("wrapped key has the wrong length")
    return PassphraseWrap(params, base64.b64decode(data["salt"], validate=True), wrapped)


def to_json(info: KeyInfo) -> dict[str, Any]:
    pending = info.pending
    return {
        "format": FORMAT,
        "version": VERSION,
        "mode": info.mode,
        "key_check": info.key_check,
        "keychain_account": info.account,
        "passphrase": _wrap_json(info.wrap),
        "pending_key": None
        if pending is None
        else {
            "key_check": pending.key_check,
            "keychain_account": pending.account,
            "passphrase": _wrap_json(pending.wrap),
        },
        "encrypting": info.encrypting,
    }


def _check_value(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 32:
        raise ValueError("a key check has 32 hex digits")
    bytes.fromhex(value)
    return value.lower()


def from_json(data: Any, path: Path) -> KeyInfo:
    damaged = KeyFileError(
        f"The key file {path} is damaged. Open the data with your recovery key; the "
        "database itself was not changed."
    )
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise damaged
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise KeyFileTooNewError(
            f"The key file {path} was made by a newer Hearth. Update Hearth to open the data; "
            "nothing was changed."
        )
    try:
        mode = data["mode"]
        if mode not in ("keychain", "passphrase", "none"):
            raise ValueError(mode)
        pending_data = data.get("pending_key")
        pending = None
        if pending_data is not None:
            pending = PendingKey(
                str(_check_value(pending_data["key_check"])),
                pending_data.get("keychain_account"),
                _wrap_from(pending_data.get("passphrase")),
            )
        info = KeyInfo(
            mode=mode,
            key_check=_check_value(data.get("key_check")),
            account=data.get("keychain_account"),
            wrap=_wrap_from(data.get("passphrase")),
            pending=pending,
            encrypting=bool(data.get("encrypting", False)),
        )
    except KeyFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        raise damaged from error
    if mode != "none" and info.key_check is None:
        raise damaged
    if mode == "passphrase" and info.wrap is None:
        raise damaged
    return info


def read_keyinfo(database_path: Path) -> KeyInfo | None:
    """The key information of the database, None if there is no key file."""
    path = keyfile_path(database_path)
    try:
        if path.stat().st_size > MAX_KEYFILE_BYTES:
            return from_json(None, path)  # far larger than Hearth writes: damaged
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise KeyFileError(f"Hearth cannot read its key file {path}: {error}.") from error
    except UnicodeDecodeError:
        text = ""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    return from_json(data, path)


def fsync_dir(directory: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_keyinfo(database_path: Path, info: KeyInfo) -> None:
    """Replace the key file atomically (temp file, fsync, rename, fsync of the folder)."""
    path = keyfile_path(database_path)
    temp = path.with_name(path.name + ".tmp")
    data = (json.dumps(to_json(info), indent=2) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        fsync_dir(path.parent)
    except OSError as error:
        temp.unlink(missing_ok=True)
        if is_disk_full(error):
            raise KeyFileError(
                f"The disk is full, so Hearth could not write its key file {path}. Free some "
                "space and try again; nothing was changed."
            ) from error
        raise KeyFileError(
            f"Hearth could not write its key file {path} ({error}); nothing was changed."
        ) from error


# -- recovery key -------------------------------------------------------------------------
def _recovery_checksum(key: bytes) -> bytes:
    return hashlib.sha256(_RECOVERY_LABEL + key).digest()[:3]


def recovery_key_for(key: bytes) -> str:
    """The recovery key of `key`: 14 groups of 4 Crockford base32 characters."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a database key has {KEY_BYTES} bytes, not {len(key)}")
    number = int.from_bytes(key + _recovery_checksum(key), "big")  # 280 bits = 56 characters
    chars = "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(56)))
    return "-".join(chars[i : i + 4] for i in range(0, 56, 4))


def key_from_recovery(text: str) -> bytes:
    """The database key in a recovery key; `WrongRecoveryKeyError` for a typo."""
    chars = "".join(text.split()).replace("-", "").upper().translate(_READ_ALIKE)
    if len(chars) != 56:
        raise WrongRecoveryKeyError(
            f"A recovery key has 56 letters and digits; this one has {len(chars)}. Check it "
            "and try again."
        )
    bad = sorted({c for c in chars if c not in _CROCKFORD})
    if bad:
        raise WrongRecoveryKeyError(
            f"A recovery key has no {', '.join(repr(c) for c in bad)}. Check it and try again."
        )
    number = 0
    for c in chars:
        number = number << 5 | _CROCKFORD.index(c)
    raw = number.to_bytes(35, "big")
    key, checksum = raw[:KEY_BYTES], raw[KEY_BYTES:]
    if not hmac.compare_digest(checksum, _recovery_checksum(key)):
        raise WrongRecoveryKeyError(
            "This recovery key has a typo (its checksum does not match). Check each group "
            "and try again."
        )
    return key
