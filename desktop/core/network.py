"""The one switch for the network: off unless the user turns it on in Privacy.

Nothing in Hearth opens a connection today. Any feature that ever needs one (fetching a
model, checking for updates) must call `NetworkPolicy.require()` first, so the Privacy
page's setting is the single gate, and "off" stays provably off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from desktop.core.errors import HearthError


class NetworkDisabledError(HearthError):
    """A feature needed the network while the user's setting forbids it."""


@dataclass(frozen=True)
class NetworkPolicy:
    """Whether Hearth may use the network (default: no)."""

    allowed: bool = False

    def require(self, purpose: str) -> None:
        """Raise `NetworkDisabledError` unless the network is allowed."""
        if not self.allowed:
            raise NetworkDisabledError(
                f"{purpose} needs the network, which is turned off in Privacy. Nothing was sent."
            )


class NetworkGate(Protocol):
    """Anything that says whether the network may be used now (`require` raises if not)."""

    def require(self, purpose: str) -> None: ...


class LiveNetworkPolicy:
    """The switch as it is at each request (`read` gives the saved policy): a connection
    kept open by a long-lived object stops being used as soon as the switch is turned off."""

    def __init__(self, read: Callable[[], NetworkPolicy]) -> None:
        self._read = read

    def require(self, purpose: str) -> None:
        self._read().require(purpose)
