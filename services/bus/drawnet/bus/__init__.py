"""What the components share about the NATS bus: connecting, and the op-log stream's definition.

Sits between the pure protocol package and the components (room, drawing service, operator), which
may all import it but never each other.
"""

from drawnet.bus.nats import BusError, connect, ensure_ops_stream, wait_for_ops_stream

__all__ = ["BusError", "connect", "ensure_ops_stream", "wait_for_ops_stream"]
