"""The kopf handlers: thin, idempotent, all ending in one `Reconciler.reconcile`.

`register(registry, settings)` puts them in a registry (the operator's `__main__` and the tests each make
their own), closed over one `Operator` that holds the connections the startup handler opens.

    a session seen new (create, resume) or with a new generation (update) -> reconcile now
    timer (resync_seconds)    -> reconcile: repairs drift, applies the idle policy (level-based)
    room pod / Service / route events -> reconcile that session now (a lost pod is back in seconds)
    heartbeats (NATS)         -> reconcile through a throttle (bounded status patches)
    delete                    -> the finalizer: archive the board in the drawing service, then let go

A reconcile a watch event started that fails is retried with backoff (`RETRY_BACKOFFS`); the timer is
the backstop. The operator is level-triggered, so kopf's change detection (`on.create/update/resume`,
which needs the last handled spec stored on every session: one more PATCH and watch event each) is
not used; `IgnoredDiffBase` tells kopf to keep no diff base.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import httpx
import kopf
from prometheus_client import start_http_server

from drawnet.operator.archive import ArchiveError, archive_board
from drawnet.operator.builders import admitted
from drawnet.operator.heartbeats import HeartbeatBoard, HeartbeatListener, Throttle
from drawnet.operator.kube import Kube, KubeError, load_api_client
from drawnet.operator.metrics import OperatorMetrics
from drawnet.operator.reconcile import ClusterView, Key, Reconciler, pod_state
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

# Seconds before retrying a failed event-driven reconcile: the nth failure in a row waits the nth (the
# last one from then on); the resync timer runs as well.
RETRY_BACKOFFS = (1.0, 2.0, 5.0, 10.0, 20.0)


class IgnoredDiffBase(kopf.DiffBaseStorage):
    """No diff base: every session event is reconciled by what it is, never by what changed, so kopf has
    nothing to remember between events (and no copy of every event's body to make)."""

    # The signatures are kopf's (it passes them by keyword).
    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:  # noqa: ARG002
        return {}

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:  # noqa: ARG002
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:  # noqa: ARG002
        return None


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
        self._failures: dict[Key, int] = {}
        self._retries: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

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
        for retry in self._retries.values():
            retry.cancel()
        self._retries.clear()
        if self.listener is not None:
            await self.listener.stop()
        if self.throttle is not None:
            await self.throttle.stop()
        if self.http is not None:
            await self.http.aclose()
        if self._kube is not None:
            self._kube.close()

    def forget(self, key: Key) -> None:
        """The session is gone: drop its state and any pending retry."""
        self.reconciler.forget(key)
        if self.throttle is not None:
            self.throttle.forget(key)
        self._failures.pop(key, None)
        retry = self._retries.pop(key, None)
        if retry is not None:
            retry.cancel()

    def _heartbeat_changed(self, key: Key) -> None:
        self.metrics.heartbeats.inc()
        if self.throttle is not None and key in self.view.sessions:
            self.throttle.request(key)

    async def _fold_heartbeat(self, key: Key) -> None:
        await self.reconciler.reconcile(key, "heartbeat")

    async def reconcile_or_retry(self, key: Key, trigger: str) -> None:
        """For triggers kopf does not retry (watch events): a failure is retried after a backoff."""
        try:
            await self.reconciler.reconcile(key, trigger)
        except (KubeError, OSError) as error:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
            session = self.view.sessions.get(key)
            if failures == 0 and session is not None:  # once a streak: `kubectl describe` says why
                self.reconciler.event(session, "Warning", "ReconcileFailed", f"{error} (retrying)")
            delay = RETRY_BACKOFFS[min(failures, len(RETRY_BACKOFFS) - 1)]
            log.warning("reconcile of %s/%s (%s) failed, retrying in %gs: %s", *key, trigger, delay, error)
            self._retry_later(key, delay)
        else:
            self._failures.pop(key, None)

    def _retry_later(self, key: Key, delay: float) -> None:
        pending = self._retries.pop(key, None)
        if pending is not None:
            pending.cancel()
        loop = asyncio.get_running_loop()
        self._retries[key] = loop.call_later(delay, self._retry, key)

    def _retry(self, key: Key) -> None:
        self._retries.pop(key, None)
        task = asyncio.get_running_loop().create_task(self.reconcile_or_retry(key, "retry"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


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
        # kopf's bookkeeping (the delete handler's retries) goes to annotations under our prefix: the
        # status is the user's view, and its schema would prune kopf's fields anyway. There is no diff
        # base to keep: we reconcile what is, not what changed.
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
        settings.persistence.diffbase_storage = IgnoredDiffBase()
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
        """Sessions new to us (created, or listed at start) and changed specs are reconciled at once; our
        own writes (status, kopf's finalizer) change no generation and are only noted."""
        key = operator.view.observe_session(event["type"], event["object"])
        if event["type"] == "DELETED":
            if key not in operator.view.sessions:
                operator.forget(key)
            return
        trigger = operator.reconciler.due(key, event["object"], listed=event["type"] is None)
        if trigger is not None:
            await operator.reconcile_or_retry(key, trigger)

    async def child_seen(kind: str, event: kopf.RawEvent) -> None:
        view, obj = operator.view, event["object"]
        replica = view.replica_index(obj) if kind == "Pod" else None
        if replica is not None:
            # One of a session's further room pods (spec.room.replicas): gone or changed, reconcile.
            (namespace, session), index = replica
            earlier = view.replicas.get((namespace, session, index))
            view.observe_child(kind, event["type"], obj)
            changed = earlier is None or pod_state(earlier) != pod_state(obj)
            if (namespace, session) in view.sessions and (event["type"] == "DELETED" or changed):
                await operator.reconcile_or_retry((namespace, session), "pod")
            return
        key = view.child_key(obj)
        before = view.children(kind).get(key) if key is not None else None
        if view.observe_child(kind, event["type"], obj) is None or key not in view.sessions:
            return
        # A pod's every change of state matters (scheduled, ready, failed, gone), not the echo of one
        # we made or of a change reconciling does not read; a Service or route only when it is gone
        # (drift is otherwise the timer's).
        if event["type"] == "DELETED":
            await operator.reconcile_or_retry(key, kind.lower())
        elif kind == "Pod" and (before is None or pod_state(before) != pod_state(obj)):
            await operator.reconcile_or_retry(key, "pod")
        elif (
            kind in {"Ingress", "HTTPRoute"}
            and before is not None
            and admitted(kind, before) != admitted(kind, obj)
        ):
            # Its controller admitted it (or stopped routing it): Exposed follows at once.
            await operator.reconcile_or_retry(key, "route")

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
