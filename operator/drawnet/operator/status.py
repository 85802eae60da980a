"""A session's status from what the operator observes (pure: no I/O).

Conditions follow the Kubernetes API conventions (type, status, reason, message, lastTransitionTime,
observedGeneration; a transition time moves only when the status does). `Ready` summarizes the specific
ones; `phase` is a one-word summary for people (printer column), never something to automate on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ConditionStatus = Literal["True", "False", "Unknown"]

READY = "Ready"
ACCEPTED = "Accepted"
ROOM_READY = "RoomReady"
EXPOSED = "Exposed"
LIVE = "Live"
CONDITION_TYPES = (READY, ACCEPTED, ROOM_READY, EXPOSED, LIVE)

HEARTBEAT_REFRESH_SECONDS = 60.0
"""`lastHeartbeatTime` alone moves at most this often: a status that changes with every heartbeat
would be a patch per session every few seconds for nothing."""


@dataclass(frozen=True)
class PodState:
    name: str
    uid: str
    phase: str
    """Pending, Running, Succeeded, Failed or Unknown."""
    ready: bool
    scheduled: bool
    deleting: bool
    reason: str = ""
    """Why it stopped, when it did (from its container's termination or the pod's own reason)."""

    @property
    def finished(self) -> bool:
        """A pod that will never run again: the operator replaces it."""
        return self.phase in {"Failed", "Succeeded"}


@dataclass(frozen=True)
class Heartbeat:
    """The latest heartbeat of a session's room, as the operator received it."""

    replica: str
    ready: bool
    participants: int
    strokes: int
    last_activity: float
    """Unix time of the room's last op or live message (0: none since it started)."""
    received: float
    """Unix time the operator received it."""


@dataclass(frozen=True)
class Observation:
    """Everything a status is computed from, gathered by one reconcile."""

    generation: int
    url: str
    spec_error: str | None = None
    deleting: bool = False
    archive_message: str = ""
    ended: bool = False
    idle_seconds: float = 0.0
    pod: PodState | None = None
    service: bool = False
    route_kind: str | None = None
    """`Ingress` or `HTTPRoute` when one is configured, else None."""
    route: bool = False
    route_error: str = ""
    route_waiting: str = ""
    """Why the route exists but does not route yet ("" once its controller admitted it): an Ingress
    without an address from its controller, an HTTPRoute its Gateway has not accepted."""
    listening: bool = True
    """Whether the operator listens to heartbeats at all (it has a NATS URL)."""
    heartbeat: Heartbeat | None = None
    heartbeat_stale_seconds: float = 15.0
    recovered: bool = False
    """A replacement room pod was created during this reconcile."""


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC, whole seconds: what Kubernetes writes."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _condition(
    previous: Mapping[str, Mapping[str, Any]],
    kind: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: dt.datetime,
) -> dict[str, Any]:
    before = previous.get(kind)
    unchanged = before is not None and before.get("status") == status and before.get("lastTransitionTime")
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": before["lastTransitionTime"] if unchanged and before else timestamp(now),
    }


def _room_ready(obs: Observation) -> tuple[ConditionStatus, str, str]:  # noqa: PLR0911 - one per state
    pod = obs.pod
    if obs.spec_error is not None:
        return "False", "InvalidSpec", "no room is started for a spec outside the operator's bounds"
    if obs.ended:
        return "False", "Ended", "the session ended when it was idle; its room pod was removed"
    if pod is None:
        return "False", "PodMissing", "the room pod does not exist (yet)"
    if pod.deleting:
        return "False", "PodTerminating", f"room pod {pod.name} is being deleted"
    if pod.finished:
        why = f": {pod.reason}" if pod.reason else ""
        return "False", "PodFailed", f"room pod {pod.name} stopped ({pod.phase}{why}); it is being replaced"
    if pod.phase == "Pending":
        # Scheduled or not, the same words: one status patch fewer per session while pods start.
        return "False", "PodPending", f"room pod {pod.name} is Pending (scheduling, pulling, starting)"
    if not pod.ready:
        return (
            "False",
            "PodNotReady",
            f"room pod {pod.name} is {pod.phase} but not Ready yet (loading the board)",
        )
    return "True", "PodReady", f"room pod {pod.name} is Ready"


def _exposed(obs: Observation) -> tuple[ConditionStatus, str, str]:  # noqa: PLR0911 - one per state
    if obs.spec_error is not None:
        return "False", "InvalidSpec", "nothing is exposed for a spec outside the operator's bounds"
    if not obs.service:
        return "False", "ServiceMissing", "the room's Service does not exist yet"
    if obs.route_kind is not None:
        if obs.route_error:
            return "False", "RouteUnavailable", obs.route_error
        if not obs.route:
            return "False", "RouteMissing", f"the room's {obs.route_kind} does not exist yet"
        if obs.route_waiting:
            return "False", "RouteNotAdmitted", f"the room's {obs.route_kind} {obs.route_waiting}"
        return "True", "Exposed", f"Service and {obs.route_kind} route {obs.url}"
    return "True", "Exposed", f"Service serves {obs.url} (inside the cluster)"


def _live(obs: Observation, now: dt.datetime) -> tuple[ConditionStatus, str, str]:
    if not obs.listening:
        return "Unknown", "NotListening", "the operator does not listen to room heartbeats (no NATS URL)"
    beat = obs.heartbeat
    if beat is None:
        return "Unknown", "NoHeartbeat", "no heartbeat from the room yet"
    age = now.timestamp() - beat.received
    if age > obs.heartbeat_stale_seconds:
        return "False", "HeartbeatStale", f"the last heartbeat is {age:.0f}s old"
    if not beat.ready:
        return (
            "False",
            "RoomNotReady",
            f"room replica {beat.replica} reports it is not ready (loading or draining)",
        )
    return (
        "True",
        "Heartbeat",
        f"room replica {beat.replica}: {beat.participants} participants, {beat.strokes} strokes",
    )


def _ready(
    obs: Observation,
    accepted: tuple[ConditionStatus, str, str],
    room: tuple[ConditionStatus, str, str],
    exposed: tuple[ConditionStatus, str, str],
) -> tuple[ConditionStatus, str, str]:
    if obs.deleting:
        return "False", "Terminating", obs.archive_message or "the session is being deleted"
    for status, reason, message in (accepted, room, exposed):
        if status != "True":
            return "False", reason, message
    return "True", "Ready", f"the room is ready at {obs.url}"


def _phase(obs: Observation, ready: bool, was_ready: bool) -> str:
    if obs.deleting:
        return "Terminating"
    if obs.spec_error is not None:
        return "Failed"
    if obs.ended:
        return "Ended"
    if ready:
        return "Running"
    return "Recovering" if was_ready else "Pending"


def compute_status(obs: Observation, previous: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The whole status the operator owns, from `obs` and the `previous` status (for transition times,
    counters and first-time timestamps)."""
    conditions_before = {
        c["type"]: c for c in previous.get("conditions") or [] if isinstance(c, Mapping) and "type" in c
    }
    if obs.spec_error is not None:
        accepted: tuple[ConditionStatus, str, str] = ("False", "InvalidSpec", obs.spec_error)
    else:
        accepted = ("True", "Accepted", "the spec is within the operator's bounds")
    room = _room_ready(obs)
    exposed = _exposed(obs)
    live = _live(obs, now)
    ready = _ready(obs, accepted, room, exposed)

    def condition(kind: str, value: tuple[ConditionStatus, str, str]) -> dict[str, Any]:
        return _condition(conditions_before, kind, *value, obs.generation, now)

    status: dict[str, Any] = {
        "observedGeneration": obs.generation,
        "conditions": [
            condition(READY, ready),
            condition(ACCEPTED, accepted),
            condition(ROOM_READY, room),
            condition(EXPOSED, exposed),
            condition(LIVE, live),
        ],
        "url": obs.url,
        "recoveries": int(previous.get("recoveries") or 0) + (1 if obs.recovered else 0),
    }
    for key in ("readyTime", "lastRecoveryTime", "lastActivityTime", "lastHeartbeatTime"):
        if previous.get(key):
            status[key] = previous[key]
    if obs.ended and previous.get("endTime"):
        status["endTime"] = previous["endTime"]  # a revived session has no end (yet)
    is_ready = ready[0] == "True"
    if is_ready and "readyTime" not in status:
        status["readyTime"] = timestamp(now)
    if obs.ended and "endTime" not in status:
        status["endTime"] = timestamp(now)
    if obs.recovered:
        status["lastRecoveryTime"] = timestamp(now)
    status["phase"] = _phase(obs, is_ready, "readyTime" in previous)
    if obs.pod is not None and not obs.ended:
        status["pod"] = obs.pod.name
    _fold_heartbeat(status, obs, previous)
    return status


def _fold_heartbeat(status: dict[str, Any], obs: Observation, previous: Mapping[str, Any]) -> None:
    participants = int(previous.get("participants") or 0)
    strokes = int(previous.get("strokes") or 0)
    beat = obs.heartbeat
    if beat is not None:
        participants, strokes = beat.participants, beat.strokes
        if beat.last_activity > 0:
            status["lastActivityTime"] = timestamp(dt.datetime.fromtimestamp(beat.last_activity, dt.UTC))
        moved = (participants, strokes) != (
            previous.get("participants"),
            previous.get("strokes"),
        ) or status.get("lastActivityTime") != previous.get("lastActivityTime")
        last = parse_timestamp(previous.get("lastHeartbeatTime"))
        if moved or last is None or beat.received - last.timestamp() >= HEARTBEAT_REFRESH_SECONDS:
            status["lastHeartbeatTime"] = timestamp(dt.datetime.fromtimestamp(beat.received, dt.UTC))
    if obs.ended or obs.pod is None:
        participants = 0  # nobody can be in a room that does not exist
    status["participants"] = participants
    status["strokes"] = strokes


def last_active(
    status: Mapping[str, Any], created: dt.datetime | None, heartbeat: Heartbeat | None
) -> dt.datetime | None:
    """The latest sign of life: the room's last activity, when it last became Ready (a recovered or
    revived room starts a new wait), or when the session was created."""
    moments = [parse_timestamp(status.get("lastActivityTime")), created]
    ready = condition_of(status, READY)
    if ready is not None and ready.get("status") == "True":
        moments.append(parse_timestamp(ready.get("lastTransitionTime")))
    if heartbeat is not None and heartbeat.last_activity > 0:
        moments.append(dt.datetime.fromtimestamp(heartbeat.last_activity, dt.UTC))
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def is_idle(
    *,
    timeout_seconds: int,
    participants: int,
    last_active_at: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """Idle: nobody in the room and nothing drawn for `timeout_seconds` (0: never idle)."""
    if timeout_seconds <= 0 or participants > 0 or last_active_at is None:
        return False
    return (now - last_active_at).total_seconds() >= timeout_seconds


def condition_of(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    conditions: Sequence[Any] = status.get("conditions") or []
    for condition in conditions:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            return condition
    return None


def same_status(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether writing `a` over `b` would change anything a reader sees."""
    return dict(a) == {key: b[key] for key in a if key in b} and all(key in b for key in a)
