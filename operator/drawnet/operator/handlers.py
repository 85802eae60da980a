"""The kopf handlers: thin, idempotent, all ending in one `Reconciler.reconcile`.

`register(registry, settings)` puts them in a registry (the operator's `__main__` and the tests each make
their own), closed over one `Operator` that holds the connections the startup handler opens.

    create / resume / update  -> reconcile now (kopf retries on TemporaryError; a bad spec is permanent)
    timer (resync_seconds)    -> reconcile: repairs drift, applies the idle policy (level-based)
    room pod / Service / route events -> reconcile that session now (a lost pod is back in seconds)
    heartbeats (NATS)         -> reconcile through a throttle (bounded status patches)
    delete                    -> the finalizer: archive the board in the drawing service, then let go
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import kopf
from prometheus_client import start_http_server

from drawnet.operator.archive import ArchiveError, archive_board
from drawnet.operator.heartbeats import HeartbeatBoard, HeartbeatListener, Throttle
from drawnet.operator.kube import Kube, KubeError, load_api_client
from drawnet.operator.metrics import OperatorMetrics
from drawnet.operator.reconcile import ClusterView, Key, Reconciler
from drawnet.operator.resource import (
    ANNOTATION_PREFIX,
    FINALIZER,
    GROUP,
    MANAGED_BY,
    OPERATOR,
    PLURAL,
    VERSION,
)
from drawnet.operator.settings import OperatorSettings

log = logging.getLogger(__name__)

CHILDREN = {MANAGED_BY: OPERATOR}
SELECTOR = f"{MANAGED_BY}={OPERATOR}"


class Operator:
    """What the handlers share: settings, the API client, the cluster view, heartbeats and metrics."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self.metrics = OperatorMetrics()
        self.view = ClusterView()
        self.heartbeats = HeartbeatBoard(
            stale_seconds=3 * settings.room_heartbeat_seconds, on_change=self._heartbeat_changed
        )
        self._kube: Kube | None = None
        self._reconciler: Reconciler | None = None
        self.listener: HeartbeatListener | None = None
        self.throttle: Throttle | None = None
        self.http: httpx.AsyncClient | None = None

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            raise RuntimeError("the operator has not started")
        return self._kube

    @property
    def reconciler(self) -> Reconciler:
        if self._reconciler is None:
            raise RuntimeError("the operator has not started")
        return self._reconciler

    async def start(self) -> None:
        settings = self.settings
        self._kube = Kube(load_api_client(qps_connections=settings.api_workers), workers=settings.api_workers)
        self._reconciler = Reconciler(
            settings, self._kube, self.view, self.heartbeats, self.metrics, listening=bool(settings.nats_url)
        )
        self.http = httpx.AsyncClient(timeout=settings.archive_timeout_seconds)
        if settings.metrics_port:
            start_http_server(settings.metrics_port, registry=self.metrics.registry)
        if settings.nats_url:
            self.throttle = Throttle(
                self._fold_heartbeat,
                min_interval=settings.status_min_interval_seconds,
                rate=settings.status_patches_per_second,
            )
            self.throttle.start()
            self.listener = HeartbeatListener(settings.nats_url, settings.namespace_list, self.heartbeats)
            self.listener.start()

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        if self.throttle is not None:
            await self.throttle.stop()
        if self.http is not None:
            await self.http.aclose()
        if self._kube is not None:
            self._kube.close()

    def _heartbeat_changed(self, key: Key) -> None:
        self.metrics.heartbeats.inc()
        if self.throttle is not None and key in self.view.sessions:
            self.throttle.request(key)

    async def _fold_heartbeat(self, key: Key) -> None:
        await self.reconciler.reconcile(key, "heartbeat")

    async def reconcile_quietly(self, key: Key, trigger: str) -> None:
        """For triggers kopf does not retry (child events): a failure waits for the resync timer."""
        try:
            await self.reconciler.reconcile(key, trigger)
        except (KubeError, OSError) as error:
            log.warning(
                "reconcile of %s/%s after a %s event failed (the timer retries): %s", *key, trigger, error
            )


def _key(body: kopf.Body) -> Key:
    return (str(body.metadata.namespace), str(body.metadata.name))


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> Operator:  # noqa: C901, PLR0915
    """Put the operator's handlers into `registry`; returns the state they share."""
    operator = Operator(settings)
    session = (GROUP, VERSION, PLURAL)

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        """The one place kopf is tuned; each setting says why."""
        ours = operator.settings
        # kopf's bookkeeping (handler progress, the last handled spec) goes to annotations under our
        # prefix: the status is the user's view, and its schema would prune kopf's fields anyway.
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
        )
        # Our finalizer's name says what deleting waits for.
        settings.persistence.finalizer = FINALIZER
        # One replica (the chart's Deployment uses Recreate): no peering objects, no RBAC for them.
        settings.peering.standalone = True
        # Serve the resources that exist at start (the chart installs the CRD first) without watching
        # every CRD and namespace in the cluster: less RBAC, less traffic.
        settings.scanning.disabled = True
        # Watch only our own children, filtered by the API server rather than in here.
        for resource in (("v1", "pods"), ("v1", "services"), ("networking.k8s.io", "ingresses")):
            settings.watching.label_selectors[resource] = SELECTOR
        settings.watching.label_selectors[("gateway.networking.k8s.io", "httproutes")] = SELECTOR
        # Restart watches every few minutes: a silently dead connection heals without a restart.
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        # A burst of creations is worked off by at most this many sessions at a time.
        settings.queueing.worker_limit = ours.workers
        # Kubernetes events are the ones we post (invalid spec, room replaced, idle, archive), never
        # every log line: at a thousand sessions those would flood the API server.
        settings.posting.loggers = False
        settings.posting.reporting_component = OPERATOR
        # A session being deleted first waits for its resync timer to stop. One caught mid-reconcile (the
        # idle policy deleting its own session, say) finishes within a second; kopf's default would
        # look again only after a minute, and the delete (the archive) would wait that long.
        settings.background.instant_exit_timeout = 1.0
        settings.background.cancellation_polling = 2.0
        # Handler retries: quick at first (a pod name still taken by its predecessor), then back off.
        settings.networking.error_backoffs = [1, 2, 5, 10, 20]
        await operator.start()

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        """The same credentials as our own API client: in-cluster, else the kubeconfig."""
        info: kopf.ConnectionInfo | None = kopf.login_via_client(**kwargs)
        return info

    @kopf.on.cleanup(registry=registry)
    async def shut_down(**_: Any) -> None:
        await operator.stop()

    # ----------------------------------------------------------------------------- what we see

    @kopf.on.event(*session, registry=registry)
    async def session_seen(event: kopf.RawEvent, **_: Any) -> None:
        key = operator.view.observe_session(event["type"], event["object"])
        if event["type"] == "DELETED" and key not in operator.view.sessions:
            operator.reconciler.forget(key)
            if operator.throttle is not None:
                operator.throttle.forget(key)

    async def child_seen(kind: str, event: kopf.RawEvent) -> None:
        key = operator.view.observe_child(kind, event["type"], event["object"])
        if key is None or key not in operator.view.sessions:
            return
        # A pod's every change matters (scheduled, ready, failed, gone); a Service or route only
        # when it is gone (drift is otherwise the timer's).
        if kind == "Pod" or event["type"] == "DELETED":
            await operator.reconcile_quietly(key, kind.lower())

    @kopf.on.event("v1", "pods", labels=CHILDREN, registry=registry)
    async def pod_seen(event: kopf.RawEvent, **_: Any) -> None:
        await child_seen("Pod", event)

    @kopf.on.event("v1", "services", labels=CHILDREN, registry=registry)
    async def service_seen(event: kopf.RawEvent, **_: Any) -> None:
        await child_seen("Service", event)

    if settings.exposure == "ingress":

        @kopf.on.event("networking.k8s.io", "v1", "ingresses", labels=CHILDREN, registry=registry)
        async def ingress_seen(event: kopf.RawEvent, **_: Any) -> None:
            await child_seen("Ingress", event)

    if settings.exposure == "httproute":

        @kopf.on.event("gateway.networking.k8s.io", "v1", "httproutes", labels=CHILDREN, registry=registry)
        async def httproute_seen(event: kopf.RawEvent, **_: Any) -> None:
            await child_seen("HTTPRoute", event)

    # ----------------------------------------------------------------------------- what we do

    async def reconcile(body: kopf.Body, trigger: str) -> None:
        key = _key(body)
        operator.view.observe_session(None, body)
        try:
            outcome = await operator.reconciler.reconcile(key, trigger, body)
        except KubeError as error:
            raise kopf.TemporaryError(f"{trigger}: {error}", delay=5) from error
        if outcome is not None and outcome.spec_error is not None:
            raise kopf.PermanentError(outcome.spec_error)

    @kopf.on.create(*session, registry=registry)
    async def created(body: kopf.Body, **_: Any) -> None:
        await reconcile(body, "create")

    @kopf.on.resume(*session, registry=registry)
    async def resumed(body: kopf.Body, **_: Any) -> None:
        await reconcile(body, "resume")

    @kopf.on.update(*session, field="spec", registry=registry)
    async def updated(body: kopf.Body, **_: Any) -> None:
        await reconcile(body, "update")

    @kopf.timer(
        *session, interval=settings.resync_seconds, initial_delay=settings.resync_seconds, registry=registry
    )
    async def resync(body: kopf.Body, **_: Any) -> None:
        key = _key(body)
        try:
            await operator.reconciler.reconcile(key, "resync", body)
        except (KubeError, OSError) as error:
            log.warning("resync of %s/%s failed (next one in %ss): %s", *key, settings.resync_seconds, error)

    @kopf.on.delete(*session, registry=registry)
    async def archive(body: kopf.Body, retry: int, **_: Any) -> None:
        """The finalizer: the board is archived before the session (and, by garbage collection, its
        children) goes. Until the drawing service says yes, the session stays, Terminating, saying why."""
        key = _key(body)
        ours = operator.settings
        if not ours.drawing_url:
            log.warning("session %s/%s deleted without archiving: no drawing_url is set", *key)
            operator.metrics.archives.labels("skipped").inc()
            return
        await operator.reconciler.terminating(key, body, "archiving the board in the drawing service")
        assert operator.http is not None  # noqa: S101 - started before any handler runs
        try:
            archived = await archive_board(
                operator.http,
                base_url=ours.drawing_url,
                token=ours.service_token.get_secret_value(),
                namespace=key[0],
                session=key[1],
            )
        except ArchiveError as error:
            operator.metrics.archives.labels("failed").inc()
            message = f"archiving failed, retrying every {ours.archive_retry_seconds:g}s: {error}"
            if retry == 0:
                operator.reconciler.event(body, "Warning", "ArchiveFailed", message)
            await operator.reconciler.terminating(key, body, message)
            raise kopf.TemporaryError(message, delay=ours.archive_retry_seconds) from error
        operator.metrics.archives.labels("archived").inc()
        operator.reconciler.event(
            body, "Normal", "Archived", f"board archived: {archived.strokes} strokes up to seq {archived.seq}"
        )
        log.info("archived board %s/%s: %d strokes up to seq %d", *key, archived.strokes, archived.seq)

    return operator
