"""Token buckets per key, driven by an injected clock. No I/O."""

from __future__ import annotations

from hub.clock import Clock

__all__ = ["RateLimiter"]


class RateLimiter:
    """``rate`` tokens per second, at most ``burst`` saved up, per key."""

    def __init__(self, clock: Clock | None, *, rate: float, burst: int,
                 max_keys: int = 100_000) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = float(burst)
        self._max_keys = max_keys
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Take one token: 0.0 if allowed, else the seconds until one is available."""
        assert self._clock is not None, "take() needs a clock; use take_at()"
        return self.take_at(key, self._clock.now())

    def take_at(self, key: str, now: float) -> float:
        """:meth:`take` at a time the caller read from its clock."""
        tokens, at = self._state.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if tokens >= 1.0:
            if len(self._state) >= self._max_keys and key not in self._state:
                self._state.clear()  # bounded memory; forgetting is lenient, never stricter
            self._state[key] = (tokens - 1.0, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1.0 - tokens) / self._rate
