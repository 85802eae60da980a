"""The room's Prometheus metrics (names follow Prometheus conventions: units, `_total` counters).

The per-message counters are plain integers on the room, read at scrape time by a collector: the hot path
adds 1 to an int instead of taking a lock in prometheus-client.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from drawnet.protocol import CloseCode

PUBLISH_SECONDS = Histogram(
    "drawnet_room_jetstream_publish_seconds",
    "Time from a durable op's arrival to JetStream's ack",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
FANOUT_SECONDS = Histogram(
    "drawnet_room_fanout_seconds",
    "Time to hand one libuv turn's live frames to uWebSockets' pub/sub (server-side fan-out)",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025),
)
WELCOME_SECONDS = Histogram(
    "drawnet_room_welcome_seconds",
    "Server time to build and send a welcome (snapshot or tail)",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.3, 1.0),
)


KINDS = ("hello", "begin", "points", "drag", "laser", "cursor", "view", "presence", "op", "renew")
"""Client message kinds (the `t` tags of ClientMessage)."""
REASONS = (
    # connections closed, by close code
    *(code.name.lower() for code in CloseCode if code >= CloseCode.MESSAGE_TOO_BIG),
    # live messages dropped or ops refused, by limit
    "live_rate_per_second",
    "slow_consumer_live",
    "rate_limited",
    "forbidden",
    "draining",
    "stale",
    "nothing_to_undo",
    "nothing_to_redo",
    "max_points_per_stroke",
    "max_strokes_per_board",
    "max_width",
    "max_text_chars",
    "max_font_size",
    "singular_transform",
)
"""Every reason the room refuses something: exported from the start at 0, so rate() sees the first one."""


class RoomStats:
    """Counters the room bumps on its hot path."""

    def __init__(self) -> None:
        self.received: Tally[str] = Tally(dict.fromkeys(KINDS, 0))
        """Client messages accepted, by kind."""
        self.bytes_in: Tally[str] = Tally(dict.fromkeys(KINDS, 0))
        """Bytes of client frames accepted, by kind."""
        self.published = 0
        """Frames handed to a topic (live frames, committed ops, presence)."""
        self.deliveries = 0
        """Frames times their recipients: what uWebSockets' pub/sub sends on our behalf."""
        self.bytes_out_live = 0
        """Bytes of live frames times their recipients."""
        self.bytes_out_ops = 0
        """Bytes of committed ops and presence frames times their recipients."""
        self.rejected: Tally[str] = Tally(dict.fromkeys(REASONS, 0))
        """Messages dropped or refused and connections closed, by reason."""
        self.acked = 0
        self.deduplicated = 0
        self.connections = 0
        self.sessions = 0
        self.board_loads: Tally[str] = Tally({"snapshot": 0, "log": 0})
        """Boards loaded, by where from: `snapshot` (then the op log's tail) or `log` (all of it)."""
        self.max_buffered_bytes = 0
        """The most bytes waiting for any one client at the slow-consumer watcher's last look."""
        self.replayed_ops = 0
        """Ops applied from the op log while loading boards."""
        self.revocations = 0
        """Revocations received from the drawing service (over the access stream)."""


class RoomCollector(Collector):
    def __init__(self, stats: RoomStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        received = CounterMetricFamily(
            "drawnet_room_messages_received", "Client messages accepted, by kind", labels=["kind"]
        )
        for kind, count in s.received.items():
            received.add_metric([kind], count)
        yield received
        rejected = CounterMetricFamily(
            "drawnet_room_rejected",
            "Messages dropped or refused and connections closed, by reason",
            labels=["reason"],
        )
        for reason, count in s.rejected.items():
            rejected.add_metric([reason], count)
        yield rejected
        received_bytes = CounterMetricFamily(
            "drawnet_room_received_bytes", "Bytes of client frames accepted, by kind", labels=["kind"]
        )
        for kind, count in s.bytes_in.items():
            received_bytes.add_metric([kind], count)
        yield received_bytes
        yield CounterMetricFamily(
            "drawnet_room_published_frames", "Frames handed to a topic", value=s.published
        )
        yield CounterMetricFamily(
            "drawnet_room_delivered_frames",
            "Frames sent to clients by the native pub/sub",
            value=s.deliveries,
        )
        sent = CounterMetricFamily(
            "drawnet_room_sent_bytes", "Bytes sent to clients by the pub/sub, by channel", labels=["channel"]
        )
        sent.add_metric(["live"], s.bytes_out_live)
        sent.add_metric(["ops"], s.bytes_out_ops)
        yield sent
        yield CounterMetricFamily(
            "drawnet_room_ops_acked", "Durable ops acknowledged to their authors", value=s.acked
        )
        yield CounterMetricFamily(
            "drawnet_room_ops_deduplicated",
            "Resent ops recognised by their op id and not applied again",
            value=s.deduplicated,
        )
        loads = CounterMetricFamily("drawnet_room_board_loads", "Boards loaded, by source", labels=["source"])
        for source, count in s.board_loads.items():
            loads.add_metric([source], count)
        yield loads
        yield CounterMetricFamily(
            "drawnet_room_replayed_ops",
            "Ops replayed from the op log while loading boards",
            value=s.replayed_ops,
        )
        yield CounterMetricFamily(
            "drawnet_room_revocations",
            "Revocations received from the drawing service",
            value=s.revocations,
        )
        yield GaugeMetricFamily(
            "drawnet_room_max_buffered_bytes",
            "The most bytes waiting to be sent to any one client, at the last look",
            value=s.max_buffered_bytes,
        )
        yield GaugeMetricFamily("drawnet_room_connections", "Participants connected", value=s.connections)
        yield GaugeMetricFamily("drawnet_room_sessions", "Sessions with a loaded board", value=s.sessions)
