"""Token buckets: a sustained rate with a burst, measured on a clock the caller passes in."""

from __future__ import annotations


class TokenBucket:
    """Holds up to `burst` tokens, refilled at `rate` per second; each message takes one.

    Messages over the limit still take a token: the bucket goes into debt, down to `-burst`, so a client
    that keeps sending while refused is told apart from one that briefly bursts (`exhausted`).
    """

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> bool:
        """Spend a token: True when the message is within the limit."""
        tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens = max(-self.burst, tokens - 1.0)
        return tokens >= 1.0

    @property
    def exhausted(self) -> bool:
        """A whole further burst was refused: the sender does not back off."""
        return self.tokens <= -self.burst
