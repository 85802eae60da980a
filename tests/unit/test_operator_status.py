"""A session's status from what the operator observes: conditions per the API conventions, the phase,
counters and timestamps, the idle rule, and the metrics that count sessions by phase and condition."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from prometheus_client import generate_latest

from drawnet.operator.metrics import OperatorMetrics
from drawnet.operator.status import (
    Heartbeat,
    Observation,
    PodState,
    compute_status,
    condition_of,
    is_idle,
    last_active,
    timestamp,
)

T0 = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
URL = "ws://room-s.ns.svc:8001/rooms/s"
READY_POD = PodState(name="room-s", uid="u1", phase="Running", ready=True, scheduled=True, deleting=False)


def _conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def _ready(**changes: Any) -> Observation:
    return replace(Observation(generation=3, url=URL, pod=READY_POD, service=True), **changes)


def test_a_session_whose_room_is_ready_and_exposed_is_ready() -> None:
    status = compute_status(_ready(), {}, T0)

    assert status["phase"] == "Running"
    assert status["observedGeneration"] == 3
    assert _conditions(status) == {
        "Ready": ("True", "Ready"),
        "Accepted": ("True", "Accepted"),
        "RoomReady": ("True", "PodReady"),
        "Exposed": ("True", "Exposed"),
        "Live": ("Unknown", "NoHeartbeat"),
    }
    for condition in status["conditions"]:
        assert condition["observedGeneration"] == 3
        assert condition["lastTransitionTime"] == "2026-05-01T12:00:00Z"
        assert condition["message"]
    assert status["readyTime"] == "2026-05-01T12:00:00Z"
    assert (status["participants"], status["strokes"], status["recoveries"]) == (0, 0, 0)
    assert status["url"] == URL
    assert status["pod"] == "room-s"


def test_a_transition_time_moves_only_when_the_condition_changes() -> None:
    first = compute_status(_ready(), {}, T0)
    later = compute_status(_ready(generation=4), first, T0 + dt.timedelta(minutes=5))
    lost = compute_status(_ready(pod=None), later, T0 + dt.timedelta(minutes=6))

    times = {c["type"]: c["lastTransitionTime"] for c in later["conditions"]}
    assert times["Ready"] == "2026-05-01T12:00:00Z"
    assert all(c["observedGeneration"] == 4 for c in later["conditions"])
    lost_times = {c["type"]: c["lastTransitionTime"] for c in lost["conditions"]}
    assert lost_times["Ready"] == lost_times["RoomReady"] == "2026-05-01T12:06:00Z"
    assert lost_times["Accepted"] == "2026-05-01T12:00:00Z"


def test_the_room_pods_state_says_why_a_session_is_not_ready() -> None:
    pending = replace(READY_POD, phase="Pending", ready=False, scheduled=False)
    scheduled = replace(READY_POD, phase="Pending", ready=False)
    starting = replace(READY_POD, ready=False)
    failed = replace(READY_POD, phase="Failed", ready=False, reason="OOMKilled")
    going = replace(READY_POD, deleting=True)
    cases = {
        None: "PodMissing",
        pending: "PodPending",
        scheduled: "PodPending",
        starting: "PodNotReady",
        failed: "PodFailed",
        going: "PodTerminating",
    }
    for pod, reason in cases.items():
        status = compute_status(_ready(pod=pod), {}, T0)
        assert _conditions(status)["RoomReady"] == ("False", reason)
        assert _conditions(status)["Ready"] == ("False", reason)
        assert status["phase"] == "Pending"
    failed_status = compute_status(_ready(pod=failed), {}, T0)
    message = next(c["message"] for c in failed_status["conditions"] if c["type"] == "RoomReady")
    assert message == "room pod room-s stopped (Failed: OOMKilled); it is being replaced"


def test_a_session_that_was_ready_is_recovering_and_counts_its_recoveries() -> None:
    ready = compute_status(_ready(), {}, T0)
    broken = compute_status(_ready(pod=replace(READY_POD, phase="Failed", ready=False)), ready, T0)
    replaced = compute_status(
        _ready(pod=replace(READY_POD, uid="u2", phase="Pending", ready=False), recovered=True),
        broken,
        T0 + dt.timedelta(seconds=2),
    )
    back = compute_status(_ready(pod=replace(READY_POD, uid="u2")), replaced, T0 + dt.timedelta(seconds=3))

    assert [s["phase"] for s in (ready, broken, replaced, back)] == [
        "Running",
        "Recovering",
        "Recovering",
        "Running",
    ]
    assert [s["recoveries"] for s in (ready, broken, replaced, back)] == [0, 0, 1, 1]
    assert back["lastRecoveryTime"] == "2026-05-01T12:00:02Z"
    assert back["readyTime"] == "2026-05-01T12:00:00Z"


def test_an_exposure_that_is_missing_unavailable_or_not_admitted_keeps_the_session_from_ready() -> None:
    no_service = compute_status(_ready(service=False), {}, T0)
    no_route = compute_status(_ready(route_kind="Ingress"), {}, T0)
    no_api = compute_status(_ready(route_kind="HTTPRoute", route_error="no Gateway API"), {}, T0)
    waiting = compute_status(
        _ready(
            route_kind="Ingress", route=True, route_waiting="has no address from an ingress controller yet"
        ),
        {},
        T0,
    )
    routed = compute_status(_ready(route_kind="Ingress", route=True), {}, T0)

    assert _conditions(no_service)["Exposed"] == ("False", "ServiceMissing")
    assert _conditions(no_route)["Exposed"] == ("False", "RouteMissing")
    assert _conditions(no_api)["Exposed"] == ("False", "RouteUnavailable")
    assert _conditions(waiting)["Exposed"] == ("False", "RouteNotAdmitted")
    assert (condition_of(waiting, "Exposed") or {})["message"] == (
        "the room's Ingress has no address from an ingress controller yet"
    )
    assert _conditions(waiting)["Ready"] == ("False", "RouteNotAdmitted")
    assert _conditions(routed)["Ready"] == ("True", "Ready")


def test_an_invalid_spec_fails_the_session_with_the_reason() -> None:
    status = compute_status(_ready(spec_error="spec.room.image 'x' is not allowed", pod=None), {}, T0)

    assert status["phase"] == "Failed"
    assert _conditions(status)["Accepted"] == ("False", "InvalidSpec")
    assert _conditions(status)["Ready"] == ("False", "InvalidSpec")
    accepted = next(c for c in status["conditions"] if c["type"] == "Accepted")
    assert accepted["message"] == "spec.room.image 'x' is not allowed"


def test_an_ended_and_a_deleting_session_say_so() -> None:
    ready = compute_status(_ready(), {}, T0)
    ended = compute_status(_ready(ended=True, pod=None), ready, T0 + dt.timedelta(hours=1))
    revived = compute_status(_ready(), ended, T0 + dt.timedelta(hours=2))
    deleting = compute_status(_ready(deleting=True, archive_message="archiving the board"), ready, T0)

    assert ended["phase"] == "Ended"
    assert ended["endTime"] == "2026-05-01T13:00:00Z"
    assert _conditions(ended)["Ready"] == ("False", "Ended")
    assert "pod" not in ended
    assert "endTime" not in revived
    assert revived["phase"] == "Running"
    assert deleting["phase"] == "Terminating"
    assert _conditions(deleting)["Ready"] == ("False", "Terminating")
    assert next(c["message"] for c in deleting["conditions"] if c["type"] == "Ready") == "archiving the board"


class TestHeartbeats:
    def beat(self, **changes: Any) -> Heartbeat:
        base = Heartbeat(
            replica="r1",
            ready=True,
            participants=2,
            strokes=40,
            last_activity=T0.timestamp() - 30,
            received=T0.timestamp(),
        )
        return replace(base, **changes)

    def test_a_fresh_heartbeat_is_folded_into_the_status(self) -> None:
        status = compute_status(_ready(heartbeat=self.beat()), {}, T0)

        assert (status["participants"], status["strokes"]) == (2, 40)
        assert status["lastActivityTime"] == "2026-05-01T11:59:30Z"
        assert status["lastHeartbeatTime"] == "2026-05-01T12:00:00Z"
        assert _conditions(status)["Live"] == ("True", "Heartbeat")

    def test_a_stale_or_unready_room_is_not_live(self) -> None:
        later = T0 + dt.timedelta(seconds=16)
        stale = compute_status(_ready(heartbeat=self.beat()), {}, later)
        draining = compute_status(_ready(heartbeat=self.beat(ready=False)), {}, T0)
        deaf = compute_status(_ready(listening=False), {}, T0)

        assert _conditions(stale)["Live"] == ("False", "HeartbeatStale")
        assert _conditions(stale)["Ready"] == ("True", "Ready")  # readiness is the pod's probe, not this
        assert _conditions(draining)["Live"] == ("False", "RoomNotReady")
        assert _conditions(deaf)["Live"] == ("Unknown", "NotListening")

    def test_the_heartbeat_time_alone_moves_once_a_minute_not_with_every_beat(self) -> None:
        first = compute_status(_ready(heartbeat=self.beat()), {}, T0)
        soon = T0 + dt.timedelta(seconds=20)
        same = compute_status(_ready(heartbeat=self.beat(received=soon.timestamp())), first, soon)
        moved = compute_status(
            _ready(heartbeat=self.beat(received=soon.timestamp(), participants=3)), first, soon
        )
        minute = T0 + dt.timedelta(seconds=61)
        refreshed = compute_status(_ready(heartbeat=self.beat(received=minute.timestamp())), first, minute)

        assert same == first
        assert moved["lastHeartbeatTime"] == timestamp(soon)
        assert refreshed["lastHeartbeatTime"] == timestamp(minute)

    def test_nobody_is_in_a_room_that_does_not_exist(self) -> None:
        with_people = compute_status(_ready(heartbeat=self.beat()), {}, T0)
        gone = compute_status(_ready(pod=None), with_people, T0)

        assert gone["participants"] == 0
        assert gone["strokes"] == 40


class TestIdle:
    def test_idle_means_nobody_there_and_nothing_drawn_for_the_timeout(self) -> None:
        quiet_since = T0 - dt.timedelta(seconds=600)
        assert is_idle(timeout_seconds=600, participants=0, last_active_at=quiet_since, now=T0)
        assert not is_idle(timeout_seconds=601, participants=0, last_active_at=quiet_since, now=T0)
        assert not is_idle(timeout_seconds=600, participants=1, last_active_at=quiet_since, now=T0)
        assert not is_idle(timeout_seconds=0, participants=0, last_active_at=quiet_since, now=T0)

    def test_the_last_sign_of_life_is_the_latest_of_activity_readiness_and_creation(self) -> None:
        ready_at = T0 - dt.timedelta(hours=1)
        status = compute_status(_ready(), {}, ready_at)
        status["lastActivityTime"] = "2026-05-01T11:30:00Z"
        beat = Heartbeat(
            replica="r",
            ready=True,
            participants=0,
            strokes=0,
            last_activity=T0.timestamp() - 60,
            received=T0.timestamp(),
        )
        recovered = compute_status(_ready(pod=None), status, T0 - dt.timedelta(minutes=10))
        back = compute_status(_ready(), recovered, T0 - dt.timedelta(minutes=5))

        assert last_active(status, T0 - dt.timedelta(hours=2), None) == dt.datetime(
            2026, 5, 1, 11, 30, tzinfo=dt.UTC
        )
        assert last_active(status, None, beat) == T0 - dt.timedelta(seconds=60)
        assert last_active(back, None, None) == T0 - dt.timedelta(minutes=5)
        assert last_active({}, T0, None) == T0
        assert last_active({}, None, None) is None


def test_the_metrics_count_sessions_by_phase_and_condition() -> None:
    metrics = OperatorMetrics()
    metrics.sessions.statuses[("ns", "a")] = compute_status(_ready(), {}, T0)
    metrics.sessions.statuses[("ns", "b")] = compute_status(_ready(pod=None), {}, T0)

    text = generate_latest(metrics.registry).decode()

    assert 'drawnet_operator_sessions{phase="Running"} 1.0' in text
    assert 'drawnet_operator_sessions{phase="Pending"} 1.0' in text
    assert 'drawnet_operator_sessions{phase="Ended"} 0.0' in text
    assert 'drawnet_operator_session_conditions{status="True",type="Ready"} 1.0' in text
    assert 'drawnet_operator_session_conditions{status="False",type="Ready"} 1.0' in text
