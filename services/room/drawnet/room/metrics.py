"""The room's Prometheus metrics (names follow Prometheus conventions: units, `_total` counters)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("drawnet_room_connections", "Open WebSocket connections that completed hello")
SESSIONS = Gauge("drawnet_room_sessions", "Sessions with a loaded board in this room")
MESSAGES_IN = Counter("drawnet_room_messages_received_total", "Client messages accepted, by kind", ["kind"])
REJECTED = Counter(
    "drawnet_room_rejected_total", "Client messages or connections refused, by reason", ["reason"]
)
OPS_ACKED = Counter("drawnet_room_ops_acked_total", "Durable ops acknowledged to their authors")
OPS_DEDUPLICATED = Counter(
    "drawnet_room_ops_deduplicated_total", "Resent ops recognised by their op id and not applied again"
)
PUBLISH_SECONDS = Histogram(
    "drawnet_room_jetstream_publish_seconds",
    "Time from an op's arrival to JetStream's ack",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
