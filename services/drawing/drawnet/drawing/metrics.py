"""The drawing service's Prometheus metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prometheus_client import Counter, Gauge, Histogram, start_http_server

OPS_PERSISTED = Counter(
    "drawnet_drawing_ops_persisted_total", "Durable ops written to SQL (or already there)"
)
PERSIST_BATCH_SECONDS = Histogram(
    "drawnet_drawing_persist_batch_seconds",
    "Time to write one batch of ops to SQL",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
PERSIST_ERRORS = Counter(
    "drawnet_drawing_persist_errors_total", "Batches the database refused (retried until stored)"
)
CONSUMER_LAG = Gauge(
    "drawnet_drawing_consumer_pending_ops",
    "Consumer lag: ops in the op log not yet stored in SQL (JetStream num_pending + num_ack_pending)",
)
PERSISTED_SEQ = Gauge(
    "drawnet_drawing_persisted_seq", "The highest op-log sequence number stored in SQL and acknowledged"
)
SNAPSHOTS_WRITTEN = Counter(
    "drawnet_drawing_snapshots_written_total", "Materialized board snapshots written by the persister"
)
SNAPSHOT_BYTES_WRITTEN = Counter(
    "drawnet_drawing_snapshot_bytes_written_total",
    "Bytes of snapshot heads and chunks the persister wrote (only chunks whose strokes changed)",
)
LOGIN_FAILURES = Counter("drawnet_drawing_login_failures_total", "Logins refused (wrong password or user)")
RATE_LIMITED = Counter(
    "drawnet_drawing_rate_limited_total", "Requests refused by a rate limit", labelnames=("limit",)
)
POISON_MESSAGES = Counter(
    "drawnet_drawing_poison_messages_total", "Op-log messages that are not op records (skipped, logged)"
)
PERSISTER_ACTIVE = Gauge(
    "drawnet_drawing_persister_active",
    "1 while this process is the active persister (holds the lease, or persists without one), else 0",
)
PERSISTER_RESTARTS = Counter(
    "drawnet_drawing_persister_restarts_total",
    "Times the persister resumed from its last acknowledged op (a failure, a lost delivery or consumer)",
)
EXPORT_SECONDS = Histogram(
    "drawnet_drawing_export_duration_seconds",
    "Time to draw an SVG or PNG export, once its board is loaded",
    labelnames=("format",),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PNG_BANDS = Counter(
    "drawnet_drawing_png_bands_total",
    "Bands of large PNG exports drawn by the export workers (DRAWNET_DRAWING_EXPORT_WORKERS)",
)
THUMBNAILS_DRAWN = Counter(
    "drawnet_drawing_thumbnails_drawn_total", "Lobby thumbnails drawn (not served from the per-seq cache)"
)
IMAGES_STORED = Counter("drawnet_drawing_images_stored_total", "Uploaded images stored (new to their board)")
IMAGES_REFUSED = Counter(
    "drawnet_drawing_images_refused_total",
    "Uploads refused, by the limit or check they failed (image_format, image_corrupt, max_image_pixels...)",
    labelnames=("limit",),
)


@contextlib.contextmanager
def serve(host: str, port: int) -> Iterator[None]:
    """/metrics on a port of its own (`metrics_port`), in a thread, for as long as the service runs."""
    server, thread = start_http_server(port, addr=host)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
