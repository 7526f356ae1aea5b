"""The Assistants page: list, editor, examples, overrides, preview."""
