"""Room heartbeats in the operator: what it remembers, when it asks for a status update, and the throttle
that keeps those updates few."""

from __future__ import annotations

import asyncio

from drawnet.embedded.components import free_port
from drawnet.operator.heartbeats import HeartbeatBoard, HeartbeatListener, Key, Throttle
from drawnet.protocol.status import RoomHeartbeat
from drawnet.testkit import eventually_async

NOW = 1_800_000_000.0


def _beat(replica: str = "r1", **changes: object) -> RoomHeartbeat:
    values: dict[str, object] = {
        "namespace": "ns",
        "session": "s",
        "replica": replica,
        "ready": True,
        "participants": 1,
        "strokes": 10,
        "seq": 99,
        "last_activity": NOW - 5,
        "ts": NOW,
    }
    values.update(changes)
    return RoomHeartbeat(**values)  # type: ignore[arg-type]


class TestBoard:
    def test_a_status_update_is_asked_for_only_when_what_people_see_changed(self) -> None:
        asked: list[Key] = []
        board = HeartbeatBoard(stale_seconds=15, on_change=asked.append)

        board.receive(_beat(), now=NOW)
        board.receive(_beat(ts=NOW + 5), now=NOW + 5)  # the same room, nothing new
        board.receive(_beat(participants=2), now=NOW + 10)
        board.receive(_beat(participants=2, ts=NOW + 75), now=NOW + 75)  # a minute on: refresh

        assert asked == [("ns", "s"), ("ns", "s"), ("ns", "s")]
        assert board.received == 4

    def test_replicas_of_a_session_are_summed_while_fresh(self) -> None:
        board = HeartbeatBoard(stale_seconds=15, on_change=lambda _key: None)
        board.receive(_beat("r1", participants=2, strokes=10), now=NOW)
        board.receive(_beat("r2", participants=3, strokes=12, ready=False), now=NOW + 1)

        both = board.get(("ns", "s"), now=NOW + 2)
        assert both is not None
        assert (both.participants, both.strokes, both.ready, both.replica) == (5, 12, True, "r1,r2")

        one = board.get(("ns", "s"), now=NOW + 15.5)
        assert one is not None
        assert (one.participants, one.replica) == (3, "r2")

        stale = board.get(("ns", "s"), now=NOW + 100)
        assert stale is not None
        assert stale.received == NOW + 1  # the newest stale one, so the status can say how stale

    def test_a_forgotten_session_has_no_heartbeat(self) -> None:
        board = HeartbeatBoard(stale_seconds=15, on_change=lambda _key: None)
        board.receive(_beat(), now=NOW)
        board.forget(("ns", "s"))

        assert board.get(("ns", "s"), now=NOW) is None
        assert board.get(("ns", "other"), now=NOW) is None


class TestThrottle:
    async def test_requests_for_a_waiting_session_are_merged_into_one_update(self) -> None:
        done: list[Key] = []

        async def update(key: Key) -> None:
            done.append(key)

        throttle = Throttle(update, min_interval=60, rate=1000)
        throttle.start()
        try:
            throttle.request(("ns", "a"))
            await eventually_async(lambda: asyncio.sleep(0, result=done == [("ns", "a")]), timeout=5)
            for _ in range(5):
                throttle.request(("ns", "a"))  # within its minimum interval: waits, merged
            throttle.request(("ns", "b"))
            await eventually_async(lambda: asyncio.sleep(0, result=("ns", "b") in done), timeout=5)
        finally:
            await throttle.stop()

        assert done == [("ns", "a"), ("ns", "b")]
        assert throttle.merged == 4
        assert throttle.runs == 2

    async def test_a_failing_update_does_not_stop_the_others(self) -> None:
        done: list[Key] = []

        async def update(key: Key) -> None:
            if key == ("ns", "bad"):
                raise RuntimeError("the API server said no")
            done.append(key)

        throttle = Throttle(update, min_interval=0, rate=1000)
        throttle.start()
        try:
            throttle.request(("ns", "bad"))
            throttle.request(("ns", "good"))
            await eventually_async(lambda: asyncio.sleep(0, result=done == [("ns", "good")]), timeout=5)
        finally:
            await throttle.stop()


async def test_the_listener_starts_without_nats_and_keeps_trying() -> None:
    board = HeartbeatBoard(stale_seconds=15, on_change=lambda _key: None)
    listener = HeartbeatListener(f"nats://127.0.0.1:{free_port()}", ["team-a"], board)

    listener.start()  # nobody listens on that port: no exception, the operator carries on
    await asyncio.sleep(0)
    await listener.stop()

    assert listener.subjects == ["drawnet.status.team-a.*"]
    assert HeartbeatListener("nats://x", [], board).subjects == ["drawnet.status.>"]
