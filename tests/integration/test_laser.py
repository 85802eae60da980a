"""The laser pointer: live traffic only. Everyone else sees it (viewers may point), nothing of it is logged,
and a message over max_laser_points_per_message closes only its sender."""

from __future__ import annotations

import pytest

from drawnet.embedded.components import RoomServer
from drawnet.protocol import Ack, CloseCode, Committed, Laser, encode
from drawnet.testkit import RoomClient
from drawnet.testkit.client import line
from tests.conftest import Join

pytestmark = pytest.mark.integration


def laser_from(who: str) -> object:
    def match(message: object) -> Laser | None:
        return message if isinstance(message, Laser) and message.by == who else None

    return match


async def still_drawing(ann: RoomClient, bob: RoomClient) -> None:
    ack = await ann.draw_stroke(line(5))
    assert isinstance(ack, Ack)
    await bob.wait_for(lambda m: m if isinstance(m, Committed) and m.op.id == ack.id else None)


async def test_a_viewers_laser_reaches_the_others_and_leaves_nothing_in_the_log(
    room_server: RoomServer, join: Join
) -> None:
    async with (
        await join(room_server, "laser", name="Ann") as ann,
        await join(room_server, "laser", name="Vic", role="viewer") as vic,
    ):
        await vic.send(encode(Laser(pts=[(10.0, 20.0), (12.5, 21.0)], start=True)))
        await vic.send(encode(Laser(pts=[(15.0, 22.0)])))
        first = await ann.wait_for(lambda m: m if isinstance(m, Laser) and m.start else None)
        assert first == Laser(pts=[(10.0, 20.0), (12.5, 21.0)], start=True, by=vic.me)
        then = await ann.wait_for(lambda m: m if isinstance(m, Laser) and not m.start else None)
        assert then.pts == [(15.0, 22.0)]
        # A newcomer's welcome holds an empty board and no ops: the trail was never logged.
        async with await join(room_server, "laser", name="Cy") as cy:
            assert cy.welcome is not None
            assert cy.welcome.seq == 0
            assert cy.welcome.ops == []
            assert cy.welcome.snapshot is None or cy.welcome.snapshot.strokes == []
        assert len(ann.board) == 0


async def test_a_laser_message_over_the_limit_closes_its_sender_only(
    room_server: RoomServer, join: Join
) -> None:
    async with (
        await join(room_server, "laser-limit", name="Ann") as ann,
        await join(room_server, "laser-limit", name="Bob") as bob,
        await join(room_server, "laser-limit", name="Mal") as mal,
    ):
        assert mal.welcome is not None
        limit = mal.welcome.limits.max_laser_points_per_message
        assert limit == 64
        await mal.send(encode(Laser(pts=[(1.0, 1.0)] * (limit + 1), start=True)))
        assert await mal.wait_closed() == (
            CloseCode.LIMIT_EXCEEDED,
            f"{limit + 1} laser points in one message exceed max_laser_points_per_message {limit}",
        )
        await still_drawing(ann, bob)
