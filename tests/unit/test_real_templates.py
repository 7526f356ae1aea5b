"""Every chat template llama.cpp ships (copied from real models) renders in Hearth exactly as
transformers renders it. The reference prompts were made once by transformers' own renderer
(`tests/tools/make_template_fixtures.py`); transformers is not needed to run this test."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

import pytest

from desktop.core.types import ChatMessage
from desktop.inference.templates import ChatTemplate, empty_tool_inputs
from tests.template_cases import (
    BOS,
    CASES,
    EMPTY_TOOL_INPUTS,
    EOS,
    FIXED_NOW,
    TEMPLATES_DIR,
    fold_system,
)

NAMES = sorted(p.name for p in TEMPLATES_DIR.glob("*.jinja"))


@cache
def _reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEMPLATES_DIR / "reference.json").read_text("utf-8"))
    return data


def _now() -> datetime:
    return datetime.fromisoformat(FIXED_NOW)


def test_the_set_is_complete() -> None:
    assert len(NAMES) >= 70
    assert sorted(k for k in _reference() if not k.startswith("_")) == NAMES
    assert empty_tool_inputs(_now()) == EMPTY_TOOL_INPUTS


@pytest.mark.parametrize("name", NAMES)
def test_real_template_matches_transformers(name: str) -> None:
    reference = _reference()[name]
    source = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
    template = ChatTemplate.from_model(source, BOS, EOS, now=_now)
    assert template.name == "model", template.note
    assert template.empty_tools == (reference.get("inputs") == "empty_tools")
    with_system = [c for c in CASES if c.startswith(("system", "multi"))]
    refuses_system = any("error" in reference[c] for c in with_system)
    assert template.fold_system == refuses_system
    for case, (messages, _continue) in CASES.items():
        expected = reference[case]
        if "error" in expected:  # transformers refuses the system role: compare folded
            assert template.fold_system
            assert reference[f"{case}:folded"]["prompt"] == template.render(
                [ChatMessage(m["role"], m["content"]) for m in fold_system(messages)]
            )
            expected = reference[f"{case}:folded"]
        prompt = template.render([ChatMessage(m["role"], m["content"]) for m in messages])
        assert prompt == expected["prompt"], f"{name}: {case}"
