"""Persistence: the conversation store, secrets and exports (no Qt)."""
