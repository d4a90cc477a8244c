"""Virtual time: real time plus an offset that `POST /_emulator/clock` advances.

Tests expire codes and tokens by moving this clock instead of sleeping. Only the emulator's own
decisions read it; the library under test keeps its real clock, which is the point: a token the
library still believes valid can be expired at "Zoho".
"""

from __future__ import annotations

import time


class VirtualClock:
    """A monotonic-enough wall clock that can jump forward."""

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, in virtual time."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move virtual time forward (never back) and return the new offset."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def reset(self) -> None:
        self._offset = 0.0
