"""Write the reference prompts for `tests/unit/test_real_templates.py` (run once, by hand).

The references come from Hugging Face transformers' own renderer, so Hearth's prompts can be
compared byte for byte with what the models were trained on. transformers is not one of
Hearth's dependencies: run this in a throwaway environment::

    python -m venv /tmp/tf && /tmp/tf/bin/pip install "transformers==5.24.*" jinja2
    /tmp/tf/bin/python tests/tools/make_template_fixtures.py

It reads every `tests/data/chat_templates/*.jinja` and writes
`tests/data/chat_templates/reference.json`: for each template and conversation, the prompt,
or the error transformers raised. A conversation with a system message that the template
refuses is also rendered with the system prompt folded into the first user message (as
Hearth does), under the case name plus ":folded".
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any

import jinja2
import transformers
from transformers.utils import chat_template_utils as ctu

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from template_cases import (  # a sibling module of the test, shared on purpose
    BOS,
    CASES,
    EMPTY_TOOL_INPUTS,
    EOS,
    FIXED_NOW,
    TEMPLATES_DIR,
    fold_system,
)


class _FrozenDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenDatetime:  # type: ignore[override]
        return cls.fromisoformat(FIXED_NOW)


def _render(
    source: str, messages: list[dict[str, str]], continue_reply: bool, inputs: dict[str, Any]
) -> str:
    kwargs: dict[str, Any] = {"bos_token": BOS, "eos_token": EOS, **inputs}
    rendered, _ = ctu.render_jinja_template(
        conversations=[messages],
        chat_template=source,
        add_generation_prompt=not continue_reply,
        continue_final_message=continue_reply,
        **kwargs,
    )
    return str(rendered[0])


def _attempt(
    source: str, messages: list[dict[str, str]], continue_reply: bool, inputs: dict[str, Any]
) -> dict[str, str]:
    try:
        return {"prompt": _render(source, messages, continue_reply, inputs)}
    except Exception as exc:  # the template's own error, recorded as the reference outcome
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def main() -> int:
    ctu.datetime = _FrozenDatetime  # type: ignore[misc]
    ctu._cached_compile_jinja_template.__dict__.pop("cache", None)
    reference: dict[str, Any] = {
        "_about": f"made by tests/tools/make_template_fixtures.py with transformers "
        f"{transformers.__version__}",
    }
    for path in sorted(TEMPLATES_DIR.glob("*.jinja")):
        source = path.read_text(encoding="utf-8")
        results: dict[str, Any] = {}
        inputs: dict[str, Any] = {}
        first, _ = CASES["user"]
        try:
            _render(source, first, False, inputs)
        except jinja2.TemplateError as exc:
            if type(exc) is not jinja2.TemplateError:  # not raise_exception: inputs missing
                inputs = EMPTY_TOOL_INPUTS
        except TypeError:
            inputs = EMPTY_TOOL_INPUTS
        if inputs:
            results["inputs"] = "empty_tools"
        for name, (messages, continue_reply) in CASES.items():
            outcome = _attempt(source, messages, continue_reply, inputs)
            results[name] = outcome
            if "error" in outcome and messages[0]["role"] == "system":
                folded = fold_system(messages)
                results[f"{name}:folded"] = _attempt(source, folded, continue_reply, inputs)
        reference[path.name] = results
    out = TEMPLATES_DIR / "reference.json"
    out.write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    rendered = sum(
        "prompt" in r
        for v in reference.values()
        if isinstance(v, dict)
        for r in v.values()
        if isinstance(r, dict)
    )
    print(f"wrote {out} ({rendered} prompts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
