"""Choosing and loading an engine for a model file.

`create_engine` inspects the file first (so a file that would crash an engine never
reaches it) and returns an unloaded engine of the right kind; `describe` turns the
inspection into the `ModelDescription` the UI and the CLI show.
"""

from __future__ import annotations

from pathlib import Path

from desktop.core.types import ModelDescription
from desktop.inference.engine import Engine
from desktop.inference.inspect import ModelFileInfo
from desktop.inference.inspection_cache import InspectionCache


class EngineRegistry:
    """Makes engines for files. One object per app; pass it where engines are needed."""

    def __init__(
        self,
        chat_format: str = "chatml",
        model_type_hint: str | None = None,
        inspections: InspectionCache | None = None,
    ) -> None:
        self.chat_format = chat_format
        self.model_type_hint = model_type_hint
        #: Inspections kept between runs (see `inspection_cache`); None: this process only.
        self.inspections = inspections or InspectionCache(None)

    def inspect(self, path: Path) -> ModelFileInfo:
        return self.inspections.inspect(path, model_type_hint=self.model_type_hint)

    def create_engine(self, path: Path) -> Engine:
        """An unloaded engine for `path`; raises `ModelRefusedError` for unusable files."""
        info = self.inspect(path)
        if info.engine == "ctransformers":
            from desktop.inference.ctransformers_engine import CTransformersEngine

            return CTransformersEngine(info, chat_format=self.chat_format)
        from desktop.inference.llamacpp_engine import LlamaCppEngine

        return LlamaCppEngine(chat_format=self.chat_format)


def describe(info: ModelFileInfo, engine: Engine, load_time_s: float) -> ModelDescription:
    return ModelDescription(
        path=str(info.path),
        name=info.path.stem,  # the file name is what the user chose; general.name is often odd
        engine=engine.info.name,
        architecture=info.architecture,
        context_length=info.context_length or engine.n_ctx,
        n_ctx=engine.n_ctx,
        load_time_s=load_time_s,
        template_note=engine.template_note,
    )
