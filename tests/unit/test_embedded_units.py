"""The embedded platform's helpers that need no process."""

from __future__ import annotations

from drawnet.embedded.components import free_port


def test_free_port_never_hands_out_the_same_port_twice() -> None:
    # Each call closes its socket before the next binds, so the kernel may offer a port again; two
    # servers given it would collide (an operator's liveness and metrics ports once did).
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)
