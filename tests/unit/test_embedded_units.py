"""The embedded platform's helpers that need no process."""

from __future__ import annotations

import re

import pytest

from drawnet.embedded.components import free_port
from drawnet.embedded.healing import RestartLimitError, RestartPolicy, Restarts


def test_free_port_never_hands_out_the_same_port_twice() -> None:
    # Each call closes its socket before the next binds, so the kernel may offer a port again; two
    # servers given it would collide (an operator's liveness and metrics ports once did).
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)


class TestRestarts:
    def test_the_pause_doubles_with_each_restart_up_to_the_longest(self) -> None:
        restarts = Restarts(RestartPolicy(max_restarts=10, first_backoff_seconds=0.5, max_backoff_seconds=3))
        assert [restarts.next_backoff(float(t)) for t in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]

    def test_one_death_more_than_max_restarts_within_the_window_is_refused_with_the_numbers(self) -> None:
        restarts = Restarts(RestartPolicy(max_restarts=2, window_seconds=60))
        restarts.next_backoff(0.0)
        restarts.next_backoff(10.0)
        with pytest.raises(RestartLimitError, match="2 restarts within 60s: over max_restarts 2"):
            restarts.next_backoff(20.0)

    def test_restarts_older_than_the_window_no_longer_count(self) -> None:
        restarts = Restarts(RestartPolicy(max_restarts=2, window_seconds=60))
        restarts.next_backoff(0.0)
        restarts.next_backoff(10.0)
        assert restarts.next_backoff(65.0) == 1.0  # the first one left the window: one restart counts
        assert restarts.count == 2

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"max_restarts": -1}, "max_restarts must be 0 or more, not -1"),
            ({"window_seconds": 0}, "window_seconds must be more than 0, not 0"),
            ({"ready_timeout_seconds": 0}, "ready_timeout_seconds must be more than 0, not 0"),
            ({"max_backoff_seconds": 0.1}, "first_backoff_seconds (0.5) <= max_backoff_seconds (0.1)"),
        ],
    )
    def test_a_policy_out_of_range_is_refused_with_the_numbers(
        self, options: dict[str, float], message: str
    ) -> None:
        with pytest.raises(ValueError, match=re.escape(message)):
            RestartPolicy(**options)  # type: ignore[arg-type]
