"""What the inspector found in a GGUF file, kept between runs so a start need not parse it.

`hearth ask` and the window list every model in the library and inspect the one they load:
parsing a header (49,152 token strings and 48,900 merges on the built-in model) and trying
its chat template costs tens of milliseconds per file and per process, and imports the gguf
package (numpy) and jinja2. `InspectionCache` keeps, per GGUF file, the `ModelFileInfo`, the
`ModelDetails` and the chat template's outcome in a records file in Hearth's cache folder
(`AppPaths.model_inspections_path`).

Why a record can never make Hearth trust a changed file:
- a record is bound to the file's `FileStamp` (size, modification and change times in
  nanoseconds, inode, device): any write, replacement or chmod moves the change time;
- before a record is used, the leading bytes of the file that the inspection read (the
  whole header, `ModelFileInfo.header_bytes`) are hashed again and must match the record's
  sha256: the inspection depends on nothing else but the file size, which the stamp holds.
  So a used record says exactly what parsing the file again would say;
- a record of the wrong shape, from another version of Hearth, or a records file that is
  unreadable, corrupt or oversized, counts as unknown and the file is inspected again.
Only usable GGUF files are kept (refusals and legacy GGML files are inspected each time),
and a chat template only when its outcome cannot depend on timing: the model's own template
that rendered, or none at all. A template replaced after a time limit is tried again.

Plain Python; one thread at a time per object.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop import __version__
from desktop.core.memory import ModelShape
from desktop.core.stamps import FileStamp, StampedRecords
from desktop.inference.inspect import ModelFileInfo, inspect_model
from desktop.inference.model_shape import ModelDetails, read_details

log = logging.getLogger(__name__)

#: Bump when what a record means changes; Hearth's version is part of it too.
RECORD_VERSION = 1
#: A record claiming a longer header is not believed (real ones are a few MB at most).
MAX_HEADER_BYTES = 64 * 1024 * 1024

_OPTIONAL_INT = ("format_version", "context_length", "parameter_count")
_TEXT = ("container", "architecture", "name", "bos_token", "eos_token", "engine")
_OPTIONAL_TEXT = (
    "tokenizer_model",
    "chat_template",
    "quantization",
    "ctransformers_model_type",
    "ctransformers_refusal",
)
_FLAGS = ("has_byte_tokens", "tied_embeddings")
_WHOLE = ("file_size", "header_bytes")


@dataclass(frozen=True)
class Inspection:
    """A GGUF file's inspection; `template`: its chat template's (name, note), if known."""

    info: ModelFileInfo
    details: ModelDetails
    template: tuple[str, str | None] | None = None


class InspectionCache:
    """Inspections of model files, kept in a records file (None: only in memory)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._records = StampedRecords(path, f"{__version__}/{RECORD_VERSION}")

    def get(self, path: Path) -> Inspection | None:
        """The kept inspection of `path` when the file is exactly as it was; else None."""
        path = Path(path).absolute()
        try:
            stamp = FileStamp.of(path)
        except OSError:
            return None
        record = self._records.get(str(path), stamp)
        found = None if record is None else _parse(record, path, stamp.size)
        if found is None or record is None:
            return None
        if _header_digest(path, found.info.header_bytes) != record.get("header_sha256"):
            log.info("model inspection of %s is stale: its header changed", path.name)
            return None
        return found

    def put(self, inspection: Inspection) -> None:
        """Keep `inspection` (usable GGUF files only) for the file as it is now."""
        info = inspection.info
        if info.container != "gguf" or not 0 < info.header_bytes <= MAX_HEADER_BYTES:
            return
        path = Path(info.path).absolute()
        try:
            stamp = FileStamp.of(path)
            digest = _header_digest(path, info.header_bytes)
        except OSError:
            return
        if digest is None or stamp.size != info.file_size:
            return
        fields = dataclasses.asdict(info)
        del fields["path"]
        shape = inspection.details.shape
        record = {
            "header_sha256": digest,
            "info": fields,
            "shape": None if shape is None else dataclasses.astuple(shape),
            "sampling": inspection.details.sampling,
            "template": None if inspection.template is None else list(inspection.template),
        }
        self._records.put(str(path), stamp, record)

    def inspect(self, path: Path, model_type_hint: str | None = None) -> ModelFileInfo:
        """`inspect_model(path)`, spared when the file is known; raises `ModelRefusedError`."""
        found = self.get(path)
        if found is not None:
            return found.info
        info = inspect_model(path, model_type_hint=model_type_hint)
        if info.container == "gguf":
            self.put(Inspection(info, read_details(info)))
        return info


def _header_digest(path: Path, n_bytes: int) -> str | None:
    """The sha256 of the first `n_bytes` of `path`; None when it is shorter or unreadable."""
    if not 0 < n_bytes <= MAX_HEADER_BYTES:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(n_bytes)
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest() if len(data) == n_bytes else None


def _parse(record: dict[str, Any], path: Path, size: int) -> Inspection | None:
    """The record as an `Inspection`, or None when anything in it is not as Hearth writes it."""
    fields = record.get("info")
    if not isinstance(fields, dict) or set(fields) != _INFO_FIELDS:
        return None
    checks = (
        *((name, lambda v: isinstance(v, str)) for name in _TEXT),
        *((name, lambda v: v is None or isinstance(v, str)) for name in _OPTIONAL_TEXT),
        *((name, lambda v: v is None or _whole(v)) for name in _OPTIONAL_INT),
        *((name, lambda v: isinstance(v, bool)) for name in _FLAGS),
        *((name, _whole) for name in _WHOLE),
    )
    if not all(check(fields[name]) for name, check in checks):
        return None
    if fields["container"] != "gguf" or fields["file_size"] != size:
        return None
    info = ModelFileInfo(path=path, **fields)
    shape = record.get("shape")
    if shape is not None:
        if not (isinstance(shape, list) and len(shape) == 3 and all(_whole(n) for n in shape)):
            return None
        shape = ModelShape(*shape)
    sampling = record.get("sampling")
    if not isinstance(sampling, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in sampling.values()
    ):
        return None
    template = record.get("template")
    if template is not None:
        if not (
            isinstance(template, list)
            and len(template) == 2
            and isinstance(template[0], str)
            and (template[1] is None or isinstance(template[1], str))
        ):
            return None
        template = (template[0], template[1])
    return Inspection(info, ModelDetails(shape, dict(sampling)), template)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_INFO_FIELDS = {f.name for f in dataclasses.fields(ModelFileInfo)} - {"path"}
