"""Hearth: a private, offline desktop assistant running a local language model."""

__version__ = "0.1.0"
