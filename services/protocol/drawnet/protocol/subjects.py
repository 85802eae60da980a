"""Names on the NATS bus, shared by every component that publishes or consumes them."""

from __future__ import annotations

import re

OPS_STREAM = "DRAWNET_OPS"
"""The JetStream stream that holds every durable op of every session: the op log."""

OPS_SUBJECTS = "drawnet.ops.>"

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def valid_name(name: str) -> bool:
    """A namespace or session name: a DNS-1123 label, as Kubernetes names them (and safe in a subject)."""
    return bool(_NAME.match(name))


def ops_subject(namespace: str, session: str) -> str:
    """Durable ops of one session, in JetStream."""
    return f"drawnet.ops.{namespace}.{session}"


def live_subject(namespace: str, session: str) -> str:
    """Ephemeral traffic of one session (points in flight, cursors, presence), on core NATS."""
    return f"drawnet.live.{namespace}.{session}"


def relay_subject(namespace: str, session: str, replica: str, channel: str) -> str:
    """Traffic one room replica relays to the others of the same session (`live` or `presence`)."""
    return f"drawnet.relay.{namespace}.{session}.{channel}.{replica}"


def status_subject(namespace: str, session: str) -> str:
    """Room heartbeats: what a session looks like from its room, for the operator's status."""
    return f"drawnet.status.{namespace}.{session}"
