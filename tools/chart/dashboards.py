"""Drawnet's Grafana dashboards as code (grafana-foundation-sdk), written to charts/drawnet/dashboards/.

    .venv/bin/python tools/chart/dashboards.py           # write the JSON files
    .venv/bin/python tools/chart/dashboards.py --check   # exit 1 when a file differs from what this makes

The chart ships each file as a ConfigMap labelled grafana_dashboard: "1". Every query selects on the jobs
the chart's ServiceMonitors and PodMonitor set (drawnet-operator, drawnet-drawing, drawnet-room) or on our
metric names; tests/monitoring evaluates every query in a real Prometheus scraping the real components.
"""

# ruff: noqa: FBT003 - the SDK's builders take their booleans positionally (`.multi(True)`)
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BigValueGraphMode,
    LegendDisplayMode,
    LegendPlacement,
    SortOrder,
    TooltipDisplayMode,
)
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DataSourceRef, VariableRefresh

OUT = Path(__file__).resolve().parents[2] / "charts" / "drawnet" / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
NS = 'namespace=~"$namespace"'
"""Every query is filtered by the namespace variable (all namespaces by default)."""


def query(expr: str, legend: str = "") -> prometheus.Dataquery:
    built = prometheus.Dataquery().expr(expr).datasource(DATASOURCE).range()
    return built.legend_format(legend) if legend else built


def graph(title: str, description: str, unit: str, *queries: prometheus.Dataquery) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .height(8)
        .span(12)
        .fill_opacity(10)
        .line_width(1)
        .legend(
            common.VizLegendOptions()
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(common.VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING))
    )
    for ref_id, item in zip("ABCDEFGH", queries, strict=False):
        panel = panel.with_target(item.ref_id(ref_id))
    return panel


def number(title: str, description: str, unit: str, expr: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .height(4)
        .span(6)
        .graph_mode(BigValueGraphMode.AREA)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(query(expr).ref_id("A"))
    )


def base(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["drawnet"])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("browser")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            dashboard.QueryVariable("namespace")
            .label("Namespace")
            .datasource(DATASOURCE)
            .query("label_values(drawnet_room_connections, namespace)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .include_all(True)
            .all_value(".*")
            .multi(True)
        )
        .link(
            dashboard.DashboardLink("Drawnet")
            .type("dashboards")
            .tags(["drawnet"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


def overview() -> dashboard.Dashboard:
    return (
        base(
            "drawnet-overview",
            "Drawnet / Platform overview",
            "Is everyone able to draw? Targets, sessions, people, strokes and the alerts' signals.",
        )
        .with_row(dashboard.Row("Now"))
        .with_panel(
            number(
                "Sessions running",
                "DrawingSessions whose room is Ready (operator).",
                "none",
                'sum(drawnet_operator_sessions{phase="Running"})',
            )
        )
        .with_panel(
            number(
                "People connected",
                "Participants connected to all rooms.",
                "none",
                f'sum(drawnet_room_connections{{job="drawnet-room",{NS}}})',
            )
        )
        .with_panel(
            number(
                "Ops waiting for SQL",
                "Ops in the op log not yet stored in the board database.",
                "none",
                'sum(drawnet_drawing_consumer_pending_ops{job="drawnet-drawing"})',
            )
        )
        .with_panel(
            number(
                "Sessions not Ready",
                "Sessions Pending or Recovering: no working room.",
                "none",
                'sum(drawnet_operator_sessions{phase=~"Pending|Recovering"})',
            )
        )
        .with_row(dashboard.Row("Health"))
        .with_panel(
            graph(
                "Targets up",
                "Scraped targets answering /metrics, by job.",
                "none",
                query('sum by (job) (up{job=~"drawnet-.*"})', "{{job}}"),
            )
        )
        .with_panel(
            graph(
                "Sessions by phase",
                "DrawingSessions the operator serves, by phase.",
                "none",
                query("sum by (phase) (drawnet_operator_sessions)", "{{phase}}"),
            )
        )
        .with_panel(
            graph(
                "Strokes committed and stored",
                "Durable ops acknowledged by rooms and written to SQL, per second.",
                "ops",
                query(f"sum(rate(drawnet_room_ops_acked_total{{{NS}}}[$__rate_interval]))", "acked by rooms"),
                query("sum(rate(drawnet_drawing_ops_persisted_total[$__rate_interval]))", "stored in SQL"),
            )
        )
        .with_panel(
            graph(
                "Error signals",
                "Room rejects, database refusals and failed reconciles, per second.",
                "reqps",
                query(f"sum(rate(drawnet_room_rejected_total{{{NS}}}[$__rate_interval]))", "room rejects"),
                query("sum(rate(drawnet_drawing_persist_errors_total[$__rate_interval]))", "persist errors"),
                query(
                    "sum(rate(drawnet_operator_reconcile_errors_total[$__rate_interval]))", "reconcile errors"
                ),
            )
        )
    )


def rooms() -> dashboard.Dashboard:
    return (
        base(
            "drawnet-rooms",
            "Drawnet / Rooms",
            "The room servers: who is connected, what they send, how fast it fans out, what is refused.",
        )
        .with_row(dashboard.Row("Connections"))
        .with_panel(
            graph(
                "Participants by session",
                "Participants connected to each session's room.",
                "none",
                query(
                    f"sum by (namespace, session) (drawnet_room_connections{{{NS}}})",
                    "{{namespace}}/{{session}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Boards loaded",
                "Sessions with a loaded board, and boards loaded per second by source (snapshot or log).",
                "none",
                query(f"sum(drawnet_room_sessions{{{NS}}})", "loaded"),
                query(
                    f"sum by (source) (rate(drawnet_room_board_loads_total{{{NS}}}[$__rate_interval]))",
                    "loads from {{source}} /s",
                ),
            )
        )
        .with_row(dashboard.Row("Traffic"))
        .with_panel(
            graph(
                "Messages received by kind",
                "Client messages accepted per second (points, op, cursor, ...).",
                "reqps",
                query(
                    f"sum by (kind) (rate(drawnet_room_messages_received_total{{{NS}}}[$__rate_interval]))",
                    "{{kind}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Bytes in and out",
                "Bytes of client frames accepted, and sent by the pub/sub by channel (live, ops).",
                "Bps",
                query(f"sum(rate(drawnet_room_received_bytes_total{{{NS}}}[$__rate_interval]))", "received"),
                query(
                    f"sum by (channel) (rate(drawnet_room_sent_bytes_total{{{NS}}}[$__rate_interval]))",
                    "sent {{channel}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Fan-out",
                "Frames handed to topics and frames delivered to clients, per second.",
                "reqps",
                query(
                    f"sum(rate(drawnet_room_published_frames_total{{{NS}}}[$__rate_interval]))", "published"
                ),
                query(
                    f"sum(rate(drawnet_room_delivered_frames_total{{{NS}}}[$__rate_interval]))", "delivered"
                ),
            )
        )
        .with_panel(
            graph(
                "Fan-out latency",
                "Time to hand one turn's live frames to the pub/sub (p50, p99).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le) "
                    f"(rate(drawnet_room_fanout_seconds_bucket{{{NS}}}[$__rate_interval])))",
                    "p50",
                ),
                query(
                    "histogram_quantile(0.99, sum by (le) "
                    f"(rate(drawnet_room_fanout_seconds_bucket{{{NS}}}[$__rate_interval])))",
                    "p99",
                ),
            )
        )
        .with_panel(
            graph(
                "Welcome latency",
                "Server time to build and send a welcome: snapshot or tail (p50, p99).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le) "
                    f"(rate(drawnet_room_welcome_seconds_bucket{{{NS}}}[$__rate_interval])))",
                    "p50",
                ),
                query(
                    "histogram_quantile(0.99, sum by (le) "
                    f"(rate(drawnet_room_welcome_seconds_bucket{{{NS}}}[$__rate_interval])))",
                    "p99",
                ),
            )
        )
        .with_row(dashboard.Row("Refused"))
        .with_panel(
            graph(
                "Rejects by reason",
                "Messages dropped or refused and connections closed, per second, by reason.",
                "reqps",
                query(
                    f"sum by (reason) (rate(drawnet_room_rejected_total{{{NS}}}[$__rate_interval]))",
                    "{{reason}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Ops acknowledged and deduplicated",
                "Durable ops acknowledged to authors, and resent ops recognised by id, per second.",
                "ops",
                query(f"sum(rate(drawnet_room_ops_acked_total{{{NS}}}[$__rate_interval]))", "acked"),
                query(
                    f"sum(rate(drawnet_room_ops_deduplicated_total{{{NS}}}[$__rate_interval]))",
                    "deduplicated",
                ),
            )
        )
    )


def persistence() -> dashboard.Dashboard:
    return (
        base(
            "drawnet-persistence",
            "Drawnet / Persistence",
            "From the op log (JetStream) to the board database: latency, lag, throughput and refusals.",
        )
        .with_row(dashboard.Row("Op log"))
        .with_panel(
            graph(
                "JetStream publish latency",
                "From a durable op's arrival in a room to JetStream's ack (p50, p99).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le) "
                    f"(rate(drawnet_room_jetstream_publish_seconds_bucket{{{NS}}}[$__rate_interval])))",
                    "p50",
                ),
                query(
                    "histogram_quantile(0.99, sum by (le) "
                    f"(rate(drawnet_room_jetstream_publish_seconds_bucket{{{NS}}}[$__rate_interval])))",
                    "p99",
                ),
            )
        )
        .with_panel(
            graph(
                "Op log unavailable",
                "Connections closed with 1013 (try again later): JetStream did not answer, per second.",
                "reqps",
                query(
                    f'sum(rate(drawnet_room_rejected_total{{reason="try_again_later",{NS}}}[$__rate_interval]))',
                    "try again later",
                ),
            )
        )
        .with_row(dashboard.Row("Persister"))
        .with_panel(
            graph(
                "Lag",
                "Ops in the op log not yet stored in SQL (JetStream num_pending).",
                "none",
                query('sum(drawnet_drawing_consumer_pending_ops{job="drawnet-drawing"})', "pending"),
            )
        )
        .with_panel(
            graph(
                "Ops stored",
                "Ops written to SQL per second, and the highest op-log sequence stored.",
                "ops",
                query("sum(rate(drawnet_drawing_ops_persisted_total[$__rate_interval]))", "stored /s"),
            )
        )
        .with_panel(
            graph(
                "Batch write time",
                "Time to write one batch of ops to SQL (p50, p99).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le) "
                    "(rate(drawnet_drawing_persist_batch_seconds_bucket[$__rate_interval])))",
                    "p50",
                ),
                query(
                    "histogram_quantile(0.99, sum by (le) "
                    "(rate(drawnet_drawing_persist_batch_seconds_bucket[$__rate_interval])))",
                    "p99",
                ),
            )
        )
        .with_panel(
            graph(
                "Snapshots written",
                "Materialized board snapshots written per second.",
                "ops",
                query("sum(rate(drawnet_drawing_snapshots_written_total[$__rate_interval]))", "snapshots"),
            )
        )
        .with_panel(
            graph(
                "Refusals and restarts",
                "Batches the database refused, persister restarts, poison messages skipped (in the range).",
                "none",
                query("sum(increase(drawnet_drawing_persist_errors_total[$__range]))", "batches refused"),
                query("sum(increase(drawnet_drawing_persister_restarts_total[$__range]))", "restarts"),
                query("sum(increase(drawnet_drawing_poison_messages_total[$__range]))", "poison messages"),
            )
        )
        .with_panel(
            graph(
                "Persisted sequence",
                "The highest op-log sequence number stored in SQL and acknowledged.",
                "none",
                query('max(drawnet_drawing_persisted_seq{job="drawnet-drawing"})', "seq"),
            )
        )
    )


def operator() -> dashboard.Dashboard:
    return (
        base(
            "drawnet-operator",
            "Drawnet / Operator",
            "The DrawingSession operator: sessions, reconciles, replacements, heartbeats and archives.",
        )
        .with_row(dashboard.Row("Sessions"))
        .with_panel(
            graph(
                "Sessions by phase",
                "DrawingSessions the operator serves, by phase.",
                "none",
                query("sum by (phase) (drawnet_operator_sessions)", "{{phase}}"),
            )
        )
        .with_panel(
            graph(
                "Conditions",
                "Sessions by condition type and status (Ready, RoomReady, Exposed, Live, Accepted).",
                "none",
                query("sum by (type, status) (drawnet_operator_session_conditions)", "{{type}}={{status}}"),
            )
        )
        .with_panel(
            graph(
                "Time to Ready",
                "From a session's creation to its first Ready (p50, p90).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le) "
                    "(rate(drawnet_operator_time_to_ready_seconds_bucket[$__rate_interval])))",
                    "p50",
                ),
                query(
                    "histogram_quantile(0.9, sum by (le) "
                    "(rate(drawnet_operator_time_to_ready_seconds_bucket[$__rate_interval])))",
                    "p90",
                ),
            )
        )
        .with_panel(
            graph(
                "Room pods replaced",
                "Room pods replaced by the operator in the range, by reason (lost, failed, spec-changed).",
                "none",
                query(
                    "sum by (reason) (increase(drawnet_operator_room_pods_replaced_total[$__range]))",
                    "{{reason}}",
                ),
            )
        )
        .with_row(dashboard.Row("Reconciles"))
        .with_panel(
            graph(
                "Reconciles by trigger",
                "Reconciles per second, by what triggered them (create, resume, timer, pod, ...).",
                "reqps",
                query(
                    "sum by (trigger) (rate(drawnet_operator_reconciles_total[$__rate_interval]))",
                    "{{trigger}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Reconcile errors",
                "Failed reconciles per second, by trigger and error kind.",
                "reqps",
                query(
                    "sum by (trigger, error) "
                    "(rate(drawnet_operator_reconcile_errors_total[$__rate_interval]))",
                    "{{trigger}} {{error}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Reconcile duration",
                "Time one reconcile takes, API calls included (p50, p99).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le) "
                    "(rate(drawnet_operator_reconcile_duration_seconds_bucket[$__rate_interval])))",
                    "p50",
                ),
                query(
                    "histogram_quantile(0.99, sum by (le) "
                    "(rate(drawnet_operator_reconcile_duration_seconds_bucket[$__rate_interval])))",
                    "p99",
                ),
            )
        )
        .with_panel(
            graph(
                "API server load",
                "Status patches sent, by trigger, and room heartbeats received, per second.",
                "reqps",
                query(
                    "sum by (trigger) (rate(drawnet_operator_status_patches_total[$__rate_interval]))",
                    "patches {{trigger}}",
                ),
                query(
                    "sum(rate(drawnet_operator_heartbeats_received_total[$__rate_interval]))", "heartbeats"
                ),
            )
        )
        .with_row(dashboard.Row("Endings"))
        .with_panel(
            graph(
                "Archives",
                "Archive calls to the drawing service on delete in the range, by result.",
                "none",
                query("sum by (result) (increase(drawnet_operator_archives_total[$__range]))", "{{result}}"),
            )
        )
        .with_panel(
            graph(
                "Sessions ended when idle",
                "Sessions ended by the idle policy in the range, by action (Stop, Delete).",
                "none",
                query(
                    "sum by (action) (increase(drawnet_operator_sessions_ended_total[$__range]))",
                    "{{action}}",
                ),
            )
        )
    )


DASHBOARDS = {"overview": overview, "rooms": rooms, "persistence": persistence, "operator": operator}


def render(name: str) -> str:
    model = json.loads(json.dumps(DASHBOARDS[name]().build(), cls=JSONEncoder))
    # Grafana identifies panels by id within a dashboard (links, alerts, "view panel"): number them.
    for number, panel in enumerate(model["panels"], start=1):
        panel["id"] = number
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file differs")
    args = parser.parse_args(argv)
    stale = []
    for name in DASHBOARDS:
        path = OUT / f"{name}.json"
        text = render(name)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if args.check:
            stale.append(path.name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if stale:
        print(f"out of date (run tools/chart/dashboards.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
