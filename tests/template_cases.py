"""The conversations every real chat template is tried on, shared by the test and the script
that made its reference prompts (`tests/tools/make_template_fixtures.py`)."""

from __future__ import annotations

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent / "data" / "chat_templates"
BOS = "<|bos|>"
EOS = "<|eos|>"
#: `strftime_now` in templates sees this moment, so dated prompts stay comparable.
FIXED_NOW = "2026-03-14T09:26:53"

#: The inputs of templates written for tool use that cannot render without them
#: (`desktop.inference.templates.empty_tool_inputs` at FIXED_NOW).
EMPTY_TOOL_INPUTS = {"tools": [], "documents": [], "functions": "[]", "datetime": "2026-03-14"}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
USER = {"role": "user", "content": "What is the capital of France?"}
REPLY = {"role": "assistant", "content": "The capital of France is Paris."}
FOLLOW_UP = {"role": "user", "content": "And of Italy?"}
PARTIAL = {"role": "assistant", "content": "The capital of Italy is"}

#: name -> (messages, continue the last (assistant) message instead of a new reply)
CASES: dict[str, tuple[list[dict[str, str]], bool]] = {
    "user": ([USER], False),
    "system_user": ([SYSTEM, USER], False),
    "multi_turn": ([SYSTEM, USER, REPLY, FOLLOW_UP], False),
    "continue": ([USER, REPLY, FOLLOW_UP, PARTIAL], True),
    "system_continue": ([SYSTEM, USER, REPLY, FOLLOW_UP, PARTIAL], True),
}


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The system prompt put in front of the first user message, as Hearth does for
    templates without a system role."""
    system, rest = messages[0]["content"], [dict(m) for m in messages[1:]]
    first_user = next(m for m in rest if m["role"] == "user")
    first_user["content"] = f"{system}\n\n{first_user['content']}"
    return rest
