"""One level-based reconcile of a session: make its children match the spec, then write what is observed.

Every trigger -- a new session or spec, the resync timer, a room pod's event, a heartbeat -- runs the same
`Reconciler.reconcile`, one at a time per session (a lock), reading the cluster from `ClusterView`: the
sessions and children kopf's watches delivered (no API reads on the way). Writes are idempotent: children
have fixed names (`room-<session>`), so a create that finds one already there (409) is a success, and a
second operator, or a restarted one, never makes duplicates. The status is patched only when it changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from drawnet.operator.builders import (
    admitted,
    build_room_pod,
    build_room_service,
    build_route,
    build_signing_keys_secret,
    drifted,
    room_url,
)
from drawnet.operator.heartbeats import HeartbeatBoard
from drawnet.operator.kube import Kube, KubeError
from drawnet.operator.metrics import OperatorMetrics
from drawnet.operator.resource import (
    API_VERSION,
    FINALIZER,
    KIND,
    SESSION_GENERATION,
    SESSION_LABEL,
    TEMPLATE_HASH,
    child_name,
)
from drawnet.operator.settings import OperatorSettings
from drawnet.operator.spec import InvalidSpecError, SessionSpec, parse_spec
from drawnet.operator.status import (
    ACCEPTED,
    Heartbeat,
    Observation,
    PodState,
    compute_status,
    condition_of,
    is_idle,
    last_active,
    parse_timestamp,
    same_status,
)

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, session name)"""

# Every key compute_status may write: one it leaves out is removed (set to null in the merge patch).
STATUS_KEYS = (
    "phase",
    "observedGeneration",
    "conditions",
    "participants",
    "strokes",
    "url",
    "pod",
    "recoveries",
    "lastRecoveryTime",
    "lastActivityTime",
    "lastHeartbeatTime",
    "readyTime",
    "endTime",
)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    return meta


def pod_state(pod: Mapping[str, Any]) -> PodState:
    meta, status = _meta(pod), pod.get("status") or {}
    conditions = status.get("conditions") or []
    reason = str(status.get("reason") or "")
    for container in status.get("containerStatuses") or []:
        terminated = (container.get("state") or {}).get("terminated")
        if terminated:
            reason = str(terminated.get("reason") or terminated.get("message") or reason)
    return PodState(
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        phase=str(status.get("phase") or "Pending"),
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        scheduled=bool((pod.get("spec") or {}).get("nodeName")),
        deleting=bool(meta.get("deletionTimestamp")),
        reason=reason,
    )


def trimmed(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the operator keeps of an object: no managedFields, and of a pod only what reconciling reads
    (its node, phase, conditions and why its container stopped). A thousand sessions' worth of full pods
    would be most of the operator's memory."""
    meta = {k: v for k, v in _meta(obj).items() if k != "managedFields"}
    kept: dict[str, Any] = {**obj, "metadata": meta}
    if obj.get("kind") == "Pod":
        status = obj.get("status") or {}
        kept["spec"] = {"nodeName": (obj.get("spec") or {}).get("nodeName")}
        kept["status"] = {
            "phase": status.get("phase"),
            "reason": status.get("reason"),
            "conditions": [
                {"type": c.get("type"), "status": c.get("status")} for c in status.get("conditions") or []
            ],
            "containerStatuses": [
                {"state": {"terminated": (c.get("state") or {}).get("terminated")}}
                for c in status.get("containerStatuses") or []
                if (c.get("state") or {}).get("terminated")
            ],
        }
    return kept


@dataclass
class ClusterView:
    """The latest sessions and room children the watches delivered, by (namespace, session)."""

    sessions: dict[Key, dict[str, Any]] = field(default_factory=dict)
    pods: dict[Key, dict[str, Any]] = field(default_factory=dict)
    services: dict[Key, dict[str, Any]] = field(default_factory=dict)
    routes: dict[Key, dict[str, Any]] = field(default_factory=dict)
    replicas: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    """A session's room pods after the first (`spec.room.replicas` > 1), by (namespace, session, index)."""

    def children(self, kind: str) -> dict[Key, dict[str, Any]]:
        return {"Pod": self.pods, "Service": self.services}.get(kind, self.routes)

    def observe_session(self, event_type: str | None, body: Mapping[str, Any]) -> Key:
        meta = _meta(body)
        key = (str(meta.get("namespace")), str(meta.get("name")))
        if event_type == "DELETED":
            current = self.sessions.get(key)
            if current is None or _meta(current).get("uid") == meta.get("uid"):
                self.sessions.pop(key, None)
        else:
            self.sessions[key] = trimmed(body)
        return key

    @staticmethod
    def child_key(obj: Mapping[str, Any]) -> Key | None:
        """The session a child belongs to, or None when it is not a room child."""
        meta = _meta(obj)
        session = (meta.get("labels") or {}).get(SESSION_LABEL)
        if not session or meta.get("name") != child_name(session):
            return None
        return (str(meta.get("namespace")), str(session))

    @staticmethod
    def replica_index(obj: Mapping[str, Any]) -> tuple[Key, int] | None:
        """The session and index of a room pod after the first (`room-<session>.<index>`), or None."""
        meta = _meta(obj)
        session = (meta.get("labels") or {}).get(SESSION_LABEL)
        name = str(meta.get("name") or "")
        prefix = f"{child_name(session)}." if session else ""
        if not session or not name.startswith(prefix) or not name[len(prefix) :].isdigit():
            return None
        index = int(name[len(prefix) :])
        return ((str(meta.get("namespace")), str(session)), index) if index > 0 else None

    def observe_child(self, kind: str, event_type: str | None, obj: Mapping[str, Any]) -> Key | None:
        """Record a child's event; the session it belongs to, or None when it is not a room child."""
        replica = self.replica_index(obj) if kind == "Pod" else None
        if replica is not None:
            (namespace, session), index = replica
            slot = (namespace, session, index)
            if event_type == "DELETED":
                current = self.replicas.get(slot)
                if current is None or _meta(current).get("uid") == _meta(obj).get("uid"):
                    self.replicas.pop(slot, None)
            else:
                self.replicas[slot] = trimmed(obj)
            return (namespace, session)
        key = self.child_key(obj)
        if key is None:
            return None
        meta = _meta(obj)
        store = self.children(kind)
        if event_type == "DELETED":
            current = store.get(key)
            # A late event about an earlier incarnation must not hide the current one.
            if current is None or _meta(current).get("uid") == meta.get("uid"):
                store.pop(key, None)
        else:
            store[key] = trimmed(obj)
        return key

    def observe_own_write(self, kind: str, key: Key, obj: Mapping[str, Any]) -> None:
        """Record what our own create or patch of a child returned, unless the watch already told us about
        that object (same uid): its copy is as new or newer. Events are handled while our request is in
        flight, so the response can be older than the view: an ingress controller writes the address into
        a new Ingress's status at once, and only once; overwriting that with the creation's response (no
        status) left the session waiting for an admission it had (RouteNotAdmitted for ever)."""
        store = self.children(kind)
        current = store.get(key)
        if current is None or _meta(current).get("uid") != _meta(obj).get("uid"):
            store[key] = trimmed(obj)


class Reconciler:
    def __init__(
        self,
        settings: OperatorSettings,
        kube: Kube,
        view: ClusterView,
        heartbeats: HeartbeatBoard,
        metrics: OperatorMetrics,
        *,
        listening: bool,
    ) -> None:
        self.settings = settings
        self.kube = kube
        self.view = view
        self.heartbeats = heartbeats
        self.metrics = metrics
        self.listening = listening
        self._locks: dict[Key, asyncio.Lock] = {}
        self._written: dict[Key, tuple[str, dict[str, Any]]] = {}
        self._replacing: dict[Key, str] = {}
        self._reconciled: dict[Key, tuple[str, int]] = {}  # the (uid, generation) last reconciled
        self._keys_checked: dict[str, float] = {}  # namespace -> when its signing-keys Secret was checked

    # ------------------------------------------------------------------------------------- public

    def lock(self, key: Key) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def forget(self, key: Key) -> None:
        """The session is gone: drop what we remembered of it."""
        self._locks.pop(key, None)
        self._written.pop(key, None)
        self._replacing.pop(key, None)
        self._reconciled.pop(key, None)
        self.heartbeats.forget(key)
        self.metrics.sessions.statuses.pop(key, None)

    async def reconcile(self, key: Key, trigger: str, body: Mapping[str, Any] | None = None) -> None:
        """Reconcile one session (nothing to do if it no longer exists); serialized per session."""
        async with self.lock(key):
            session = dict(body) if body is not None else self.view.sessions.get(key)
            if session is None:
                return
            if _meta(session).get("deletionTimestamp"):
                return  # the delete handler owns a session being deleted
            with self.metrics.reconciling(trigger):
                await self._reconcile(key, session, trigger)
            meta = _meta(session)
            self._reconciled[key] = (str(meta.get("uid") or ""), int(meta.get("generation") or 0))

    def due(self, key: Key, body: Mapping[str, Any], *, listed: bool) -> str | None:
        """Whether a session's watch event calls for a reconcile, by the trigger it is counted as: one
        not yet reconciled is a `create` (a `resume` when found by the listing at start), a new
        generation an `update`; anything else (our own status writes) is None."""
        meta = _meta(body)
        if meta.get("deletionTimestamp"):
            return None  # the delete handler's
        if FINALIZER not in (meta.get("finalizers") or ()):
            # kopf adds it first (its patch would conflict with our status write otherwise): no room
            # exists before the finalizer that archives its board.
            return None
        done = self._reconciled.get(key)
        if done is None or done[0] != str(meta.get("uid") or ""):
            return "resume" if listed else "create"
        return "update" if done[1] != int(meta.get("generation") or 0) else None

    async def terminating(self, key: Key, body: Mapping[str, Any], message: str) -> None:
        """Say in the status that the session is being deleted, and why it is still there."""
        async with self.lock(key):
            meta = _meta(body)
            obs = Observation(
                generation=int(meta.get("generation") or 0),
                url=room_url(key[0], key[1], self.settings),
                deleting=True,
                archive_message=message,
                pod=self._pod(key),
                service=key in self.view.services,
                route_kind=self._route_kind(),
                route=key in self.view.routes,
                route_waiting=admitted(self._route_kind() or "", self.view.routes.get(key))[1],
                listening=self.listening,
                heartbeat=self.heartbeats.get(key),
                heartbeat_stale_seconds=self.heartbeats.stale_seconds,
            )
            previous = self._previous(key, body)
            await self._write(key, body, previous, compute_status(obs, previous, _now()), "delete")

    @staticmethod
    def event(body: Mapping[str, Any], kind: str, reason: str, message: str) -> None:
        """A Kubernetes event on the session (`kubectl describe`), posted by kopf in the background."""
        try:
            kopf.event(kopf.Body(dict(body)), type=kind, reason=reason, message=message)  # type: ignore[arg-type]
        except LookupError:  # outside the operator's tasks (unit tests): nowhere to post
            log.debug("no event poster: %s %s", reason, message)

    # ------------------------------------------------------------------------------------- the work

    async def _reconcile(self, key: Key, body: dict[str, Any], trigger: str) -> None:
        namespace, name = key
        meta = _meta(body)
        generation = int(meta.get("generation") or 0)
        previous = self._previous(key, body)
        url = room_url(namespace, name, self.settings)
        try:
            spec = parse_spec(body.get("spec") or {}, self.settings)
        except InvalidSpecError as error:
            obs = Observation(
                generation=generation,
                url=url,
                spec_error=str(error),
                pod=self._pod(key),
                listening=self.listening,
                heartbeat_stale_seconds=self.heartbeats.stale_seconds,
            )
            status = compute_status(obs, previous, _now())
            before = condition_of(previous, ACCEPTED) or {}
            if before.get("status") != "False" or before.get("message") != str(error):
                self.event(body, "Warning", "InvalidSpec", str(error))
            await self._write(key, body, previous, status, trigger)
            return

        # An ended session stays ended until its spec changes (a new generation revives it).
        ended = previous.get("phase") == "Ended" and previous.get("observedGeneration") == generation
        service = await self._ensure_service(key, body)
        route, route_error = await self._ensure_route(key, body)
        heartbeat = self.heartbeats.get(key)
        now = _now()
        if not ended and self._idle(spec, previous, meta, heartbeat, now):
            if spec.on_idle == "Delete":
                self.metrics.ended.labels("Delete").inc()
                log.info(
                    "session %s/%s idle for %ss: deleting it", namespace, name, spec.idle_timeout_seconds
                )
                self.event(
                    body, "Normal", "Idle", f"idle for {spec.idle_timeout_seconds}s: deleting the session"
                )
                await self.kube.delete(API_VERSION, KIND, namespace, name, uid=str(meta.get("uid") or ""))
                return
            self.metrics.ended.labels("Stop").inc()
            log.info(
                "session %s/%s idle for %ss: stopping its room", namespace, name, spec.idle_timeout_seconds
            )
            self.event(body, "Normal", "Idle", f"idle for {spec.idle_timeout_seconds}s: the room is stopped")
            ended = True
        pod, recovered = await self._ensure_pod(key, body, spec, previous, ended=ended)
        await self._ensure_replicas(key, body, spec, ended=ended)
        obs = Observation(
            generation=generation,
            url=url,
            ended=ended,
            pod=pod,
            service=service,
            route_kind=self._route_kind(),
            route=route,
            route_error=route_error,
            route_waiting=admitted(self._route_kind() or "", self.view.routes.get(key))[1] if route else "",
            listening=self.listening,
            heartbeat=heartbeat,
            heartbeat_stale_seconds=self.heartbeats.stale_seconds,
            recovered=recovered,
        )
        status = compute_status(obs, previous, now)
        await self._write(key, body, previous, status, trigger)

    def _previous(self, key: Key, body: Mapping[str, Any]) -> dict[str, Any]:
        """The status to build on: what we last wrote for this incarnation, else what the body says."""
        uid = str(_meta(body).get("uid") or "")
        written = self._written.get(key)
        if written is not None and written[0] == uid:
            return written[1]
        return dict(body.get("status") or {})

    def _idle(
        self,
        spec: SessionSpec,
        previous: Mapping[str, Any],
        meta: Mapping[str, Any],
        heartbeat: Heartbeat | None,
        now: dt.datetime,
    ) -> bool:
        participants = (
            heartbeat.participants if heartbeat is not None else int(previous.get("participants") or 0)
        )
        return is_idle(
            timeout_seconds=spec.idle_timeout_seconds,
            participants=participants,
            last_active_at=last_active(previous, parse_timestamp(meta.get("creationTimestamp")), heartbeat),
            now=now,
        )

    def _route_kind(self) -> str | None:
        return {"ingress": "Ingress", "httproute": "HTTPRoute"}.get(self.settings.exposure)

    def _pod(self, key: Key) -> PodState | None:
        pod = self.view.pods.get(key)
        return pod_state(pod) if pod is not None else None

    async def _create(
        self, key: Key, obj: dict[str, Any], owner: Mapping[str, Any], *, replica: int = 0
    ) -> tuple[dict[str, Any] | None, bool]:
        """Create a child owned by the session: (the child, whether we made it). On 409 it reads the one
        already there; (None, False) if that one vanished meanwhile."""
        kopf.adopt(obj, owner=kopf.Body(dict(owner)))  # type: ignore[arg-type]
        kind = obj["kind"]
        made = True
        try:
            child: dict[str, Any] | None = await self.kube.create(obj)
        except KubeError as error:
            if not error.conflict:
                raise
            made = False
            child = await self.kube.get(obj["apiVersion"], kind, key[0], obj["metadata"]["name"])
        if child is None:
            return None, False
        if made:
            log.info("created %s %s/%s", kind, key[0], obj["metadata"]["name"])
        if replica:
            slot = (key[0], key[1], replica)
            current = self.view.replicas.get(slot)
            if current is None or _meta(current).get("uid") != _meta(child).get("uid"):
                self.view.replicas[slot] = trimmed(child)  # as observe_own_write: a newer watch copy wins
        else:
            self.view.observe_own_write(kind, key, child)
        return child, made

    async def _ensure_service(self, key: Key, body: Mapping[str, Any]) -> bool:
        desired = build_room_service(key[0], key[1], self.settings)
        actual = self.view.services.get(key)
        if actual is None:
            child, _ = await self._create(key, desired, body)
            return child is not None
        if drifted(desired["spec"], actual.get("spec")) or drifted(
            desired["metadata"]["labels"], _meta(actual).get("labels")
        ):
            log.info("repairing drifted Service %s/%s", key[0], child_name(key[1]))
            patch = {"metadata": {"labels": desired["metadata"]["labels"]}, "spec": desired["spec"]}
            repaired = await self.kube.merge_patch("v1", "Service", key[0], child_name(key[1]), patch)
            self.view.observe_own_write("Service", key, repaired)
        return True

    async def _ensure_route(self, key: Key, body: Mapping[str, Any]) -> tuple[bool, str]:
        desired = build_route(key[0], key[1], self.settings)
        if desired is None:
            return False, ""
        actual = self.view.routes.get(key)
        try:
            if actual is None:
                child, _ = await self._create(key, desired, body)
                return child is not None, ""
            annotations = desired["metadata"].get("annotations") or {}
            if drifted(desired["spec"], actual.get("spec")) or drifted(
                annotations, _meta(actual).get("annotations") or {}
            ):
                log.info("repairing drifted %s %s/%s", desired["kind"], key[0], child_name(key[1]))
                patch: dict[str, Any] = {"spec": desired["spec"]}
                if annotations:
                    patch["metadata"] = {"annotations": annotations}
                repaired = await self.kube.merge_patch(
                    desired["apiVersion"], desired["kind"], key[0], child_name(key[1]), patch
                )
                self.view.observe_own_write(desired["kind"], key, repaired)
        except KubeError as error:
            if error.status == 404:  # the collection itself is missing: the API is not installed
                return (
                    False,
                    f"the cluster does not serve {desired['apiVersion']} {desired['kind']}: install it",
                )
            raise
        return True, ""

    async def _ensure_signing_keys(self, namespace: str, *, recheck: bool) -> None:
        """The join-token keys in the namespace's Secret, written before a room that reads them starts
        (a missing Secret would stop the pod at CreateContainerConfigError). New rooms check it at most
        once per resync interval per namespace (a thousand sessions created at once cost a handful of
        reads); a replacement room (`recheck`) always does, so a deleted or edited Secret is repaired
        before the room that replaces a lost one reads it."""
        if not self.settings.room_signing_keys.get_secret_value():
            return
        checked = self._keys_checked.get(namespace)
        if not recheck and checked is not None and time.monotonic() - checked < self.settings.resync_seconds:
            return
        desired = build_signing_keys_secret(namespace, self.settings)
        name = desired["metadata"]["name"]
        actual = await self.kube.get("v1", "Secret", namespace, name)
        if actual is None:
            try:
                await self.kube.create(desired)
                log.info("created Secret %s/%s (the rooms' join-token keys)", namespace, name)
            except KubeError as error:
                if not error.conflict:
                    raise
        elif (actual.get("data") or {}) != desired["data"]:
            await self.kube.merge_patch("v1", "Secret", namespace, name, {"data": desired["data"]})
            log.info("updated Secret %s/%s (the rooms' join-token keys changed)", namespace, name)
        self._keys_checked[namespace] = time.monotonic()

    async def _ensure_pod(
        self,
        key: Key,
        body: Mapping[str, Any],
        spec: SessionSpec,
        previous: Mapping[str, Any],
        *,
        ended: bool,
    ) -> tuple[PodState | None, bool]:
        """The room pod as it is after this reconcile, and whether a lost one was replaced."""
        namespace, name = key
        desired = build_room_pod(namespace, name, spec, self.settings)
        generation = str(_meta(body).get("generation") or 0)
        desired["metadata"]["annotations"][SESSION_GENERATION] = generation
        actual = self.view.pods.get(key)
        if actual is not None:
            state = pod_state(actual)
            if state.deleting:
                return state, False
            annotations = _meta(actual).get("annotations") or {}
            outdated = (
                annotations.get(TEMPLATE_HASH) != desired["metadata"]["annotations"][TEMPLATE_HASH]
                and annotations.get(SESSION_GENERATION) != generation
            )
            reason = (
                "ended" if ended else "failed" if state.finished else "spec-changed" if outdated else None
            )
            if reason is None:
                return state, False
            log.info("deleting room pod %s/%s (%s)", namespace, state.name, reason)
            if reason != "ended":
                self._replacing[key] = reason
            await self.kube.delete("v1", "Pod", namespace, state.name, uid=state.uid)
            return PodState(**{**state.__dict__, "deleting": True}), False
        if ended:
            return None, False
        # No pod: the first one, or a lost/failed one's replacement.
        reason = self._replacing.pop(key, "lost" if previous.get("pod") else "")
        await self._ensure_signing_keys(namespace, recheck=bool(reason))
        created, made = await self._create(key, desired, body)
        if created is None:
            return None, False
        if made and reason:
            self.metrics.pod_replacements.labels(reason).inc()
            why = {"lost": "was lost", "failed": "failed", "spec-changed": "had an outdated spec"}[reason]
            self.event(
                body,
                "Normal" if reason == "spec-changed" else "Warning",
                "RoomReplaced",
                f"room pod {desired['metadata']['name']} {why}: a new one is starting",
            )
        return pod_state(created), made and reason in {"lost", "failed"}

    async def _ensure_replicas(
        self, key: Key, body: Mapping[str, Any], spec: SessionSpec, *, ended: bool
    ) -> None:
        """The session's room pods after the first: made when missing, replaced when failed or outdated,
        deleted beyond `spec.room.replicas` (or all of them when the session ended)."""
        namespace, name = key
        wanted = 0 if ended else spec.replicas - 1
        generation = str(_meta(body).get("generation") or 0)
        for (ns, session, index), pod in list(self.view.replicas.items()):
            state = pod_state(pod)
            if (ns, session) == key and index > wanted and not state.deleting:
                log.info("deleting room pod %s/%s (beyond %d replicas)", namespace, state.name, spec.replicas)
                await self.kube.delete("v1", "Pod", namespace, state.name, uid=state.uid)
        for index in range(1, wanted + 1):
            desired = build_room_pod(namespace, name, spec, self.settings, index=index)
            desired["metadata"]["annotations"][SESSION_GENERATION] = generation
            actual = self.view.replicas.get((namespace, name, index))
            if actual is None:
                await self._ensure_signing_keys(namespace, recheck=False)
                await self._create(key, desired, body, replica=index)
                continue
            state = pod_state(actual)
            annotations = _meta(actual).get("annotations") or {}
            outdated = (
                annotations.get(TEMPLATE_HASH) != desired["metadata"]["annotations"][TEMPLATE_HASH]
                and annotations.get(SESSION_GENERATION) != generation
            )
            if not state.deleting and (state.finished or outdated):
                reason = "failed" if state.finished else "spec-changed"
                log.info("deleting room pod %s/%s (%s)", namespace, state.name, reason)
                self.metrics.pod_replacements.labels(reason).inc()
                await self.kube.delete("v1", "Pod", namespace, state.name, uid=state.uid)

    async def _write(
        self,
        key: Key,
        body: Mapping[str, Any],
        previous: Mapping[str, Any],
        status: dict[str, Any],
        trigger: str,
    ) -> None:
        uid = str(_meta(body).get("uid") or "")
        if same_status(status, previous) and all(k in status for k in STATUS_KEYS if k in previous):
            self._written[key] = (uid, dict(previous))
            self.metrics.sessions.statuses[key] = previous
            return
        patch = {k: status.get(k) for k in STATUS_KEYS if k in status or k in previous}
        try:
            await self.kube.merge_patch(API_VERSION, KIND, key[0], key[1], {"status": patch}, status=True)
        except KubeError as error:
            if error.not_found:
                return  # deleted meanwhile
            raise
        self.metrics.status_patches.labels(trigger).inc()
        self._written[key] = (uid, status)
        self.metrics.sessions.statuses[key] = status
        if "readyTime" in status and "readyTime" not in previous:
            created = parse_timestamp(_meta(body).get("creationTimestamp"))
            if created is not None:
                self.metrics.time_to_ready.observe(max(0.0, time.time() - created.timestamp()))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
