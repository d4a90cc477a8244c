"""A token bucket per service key, in memory (pure but for the clock it is given).

Each key may make `burst` calls at once and `rate` calls a second on average. The buckets
live in the serving process: with `--workers N` each worker allows its share, so the limit a
key sees is up to N times `rate` (documented in docs/token-service.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class TokenBuckets:
    """`take(key, now)` -> 0.0 when the call may go ahead, else the seconds to wait."""

    rate: float  # tokens added per second; <= 0 disables limiting
    burst: float
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key: str, now: float) -> float:
        if self.rate <= 0:
            return 0.0
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:  # bounded: forget idle keys wholesale
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


__all__ = ["TokenBuckets"]
