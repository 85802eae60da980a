"""How `drawnet up` heals: a part that dies is started again after a growing pause, a bounded number of
times, while the other parts keep running."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


class RestartLimitError(RuntimeError):
    """A part died more often than the restart policy allows; the message carries the numbers."""


@dataclass(frozen=True)
class RestartPolicy:
    """When to start a dead part again, and when to give up on it."""

    max_restarts: int = 5
    """Restarts of one part within `window_seconds`; one more death ends the platform (a part that dies
    at once every time is broken, and restarting it for ever would only hide that)."""
    window_seconds: float = 300.0
    """The time over which `max_restarts` counts: a part that dies once a day is restarted every time."""
    first_backoff_seconds: float = 0.5
    """The pause before the first restart: long enough not to spin on a part that dies at start."""
    max_backoff_seconds: float = 10.0
    """The longest pause: each restart within the window doubles the pause up to this."""
    ready_timeout_seconds: float = 120.0
    """How long a part has to become ready (`--start-timeout`): at start (migrations, a busy machine), and
    after a restart, when one that is not ready by then is stopped and counts as dead again (the others
    are watched meanwhile: a drawing service waiting for NATS needs NATS back)."""

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError(f"max_restarts must be 0 or more, not {self.max_restarts}")
        if self.window_seconds <= 0:
            raise ValueError(f"window_seconds must be more than 0, not {self.window_seconds}")
        if self.ready_timeout_seconds <= 0:
            raise ValueError(f"ready_timeout_seconds must be more than 0, not {self.ready_timeout_seconds}")
        if not 0 < self.first_backoff_seconds <= self.max_backoff_seconds:
            raise ValueError(
                f"backoff must satisfy 0 < first_backoff_seconds ({self.first_backoff_seconds}) "
                f"<= max_backoff_seconds ({self.max_backoff_seconds})"
            )


@dataclass
class Restarts:
    """One part's restarts under a policy."""

    policy: RestartPolicy
    times: deque[float] = field(default_factory=deque)
    """When the restarts within the window were granted (monotonic seconds)."""

    def next_backoff(self, now: float) -> float:
        """The pause before restarting a part that died at `now`; records the restart.

        Raises RestartLimitError when the part already had `max_restarts` restarts within the window.
        """
        while self.times and now - self.times[0] > self.policy.window_seconds:
            self.times.popleft()
        if len(self.times) >= self.policy.max_restarts:
            raise RestartLimitError(
                f"died after {len(self.times)} restarts within {self.policy.window_seconds:g}s: "
                f"over max_restarts {self.policy.max_restarts}"
            )
        backoff = min(
            self.policy.first_backoff_seconds * (1 << len(self.times)), self.policy.max_backoff_seconds
        )
        self.times.append(now)
        return backoff

    @property
    def count(self) -> int:
        """Restarts within the window so far."""
        return len(self.times)
