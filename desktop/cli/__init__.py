"""The command line (`hearth ask`, `search`, `export`, `models`, `key`, ...)."""
