"""`drawnet up`: the whole platform in one command; the board survives a restart; Ctrl-C leaves nothing."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from drawnet.embedded.components import free_port
from drawnet.embedded.processes import Supervised, venv_binary
from drawnet.protocol import Ack, Nack
from drawnet.testkit import RoomClient, eventually, eventually_async, holds
from drawnet.testkit.client import line
from drawnet.testkit.participant import (
    Participant,
    assert_late_joiner_sees_it_all,
    converged,
    each_draws,
    stored_ids,
)
from drawnet.testkit.proc import alive, child_running, descendants
from drawnet.testkit.tokens import Signer

pytestmark = pytest.mark.integration


class Platform:
    """`drawnet up` as a newcomer runs it, on free ports, with its data in `data_dir`."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.ports = {"port": free_port(), "room-port": free_port(), "nats-port": free_port()}
        self.process: Supervised | None = None
        self.runs = 0

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.ports['port']}"

    @property
    def room(self) -> str:
        return f"ws://127.0.0.1:{self.ports['room-port']}"

    def up(self, *options: str) -> Supervised:
        command = [venv_binary("drawnet"), "up", "--data-dir", str(self.data_dir), *options]
        command += ["--database-url", self.database_url]
        for flag, port in self.ports.items():
            command += [f"--{flag}", str(port)]
        self.runs += 1
        log_path = self.data_dir / f"up-{self.runs}.log"
        self.process = Supervised("drawnet up", command, log_path=log_path).start()
        self.process.wait_until(lambda: "Drawnet is up." in self.process.log_tail(50), timeout=240)  # type: ignore[union-attr]
        return self.process

    async def join(self, session: str, *, name: str) -> RoomClient:
        """Join with a token signed by the key `drawnet up` made in its data folder."""
        keys = (self.data_dir / "signing-keys").read_text().strip()
        signer = Signer(keys=keys, kid=keys.split(":", 1)[0])
        return await RoomClient.join(self.room, session, name=name, token=signer.token(session, name=name))

    def participant(self, session: str, name: str) -> Participant:
        """Someone who keeps drawing on `session` and rejoins the room when it goes."""
        keys = (self.data_dir / "signing-keys").read_text().strip()
        signer = Signer(keys=keys, kid=keys.split(":", 1)[0])
        return Participant([self.room], session, name, lambda: signer.token(session, name=name))

    def log(self) -> str:
        assert self.process is not None
        return self.process.log_path.read_text(errors="replace")

    def part(self, command_part: str) -> int | None:
        """The pid of the launcher's child running `command_part` (`drawnet.room`, `nats-server`...)."""
        assert self.process is not None
        return child_running(self.process.pid, command_part)

    def interrupt(self) -> int | None:
        """Ctrl-C, as the terminal sends it; returns the exit code."""
        assert self.process is not None
        assert self.process.process is not None
        self.process.process.send_signal(signal.SIGINT)
        self.process.process.wait(timeout=30)
        return self.process.stop()


@pytest.fixture
def platform(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    platform = Platform(tmp_path / "data", database_url)
    yield platform
    if platform.process is not None:
        platform.process.stop()


def test_the_board_survives_a_restart_of_the_whole_platform(platform: Platform) -> None:
    async def draw_three_strokes() -> list[Ack | Nack]:
        async with await platform.join("keep", name="Ann") as ann:
            return [await ann.draw_stroke(line(10, y0=float(i))) for i in range(3)]

    async def strokes_seen_by_a_late_joiner() -> list[str]:
        async with await platform.join("keep", name="Bob") as bob:
            return [stroke.id for stroke in bob.board.strokes]

    def stored_board() -> dict[str, Any]:
        board: dict[str, Any] = httpx.get(f"{platform.web}/api/v1/sessions/keep/board").json()
        return board

    platform.up()
    acks = [ack for ack in asyncio.run(draw_three_strokes()) if isinstance(ack, Ack)]
    assert len(acks) == 3
    eventually(lambda: stored_board()["seq"] == acks[-1].seq, what="all strokes in SQL")
    assert platform.interrupt() == 0

    platform.up()

    assert asyncio.run(strokes_seen_by_a_late_joiner()) == [ack.id for ack in acks]
    assert [stroke["id"] for stroke in stored_board()["strokes"]] == [ack.id for ack in acks]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ctrl_c_stops_everything(platform: Platform) -> None:
    launcher = platform.up()
    children = descendants(launcher.pid)
    assert len(children) >= 3  # nats-server, the drawing service, the room server
    assert httpx.get(f"{platform.web}/").status_code == 200

    assert platform.interrupt() == 0

    assert alive(children) == set()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_killing_the_launcher_takes_its_children_down(platform: Platform) -> None:
    launcher = platform.up()
    children = descendants(launcher.pid)

    launcher.kill()

    eventually(lambda: not alive(children), timeout=15, what="children gone after SIGKILL of the launcher")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_platform_heals_when_each_part_is_killed_and_nothing_acknowledged_is_lost(
    platform: Platform,
) -> None:
    platform.up()
    people = [platform.participant("heal", "Ann"), platform.participant("heal", "Bob")]
    stop = asyncio.Event()
    running = [asyncio.create_task(p.run(stop)) for p in people]
    try:
        parts = {"drawnet.room": "room", "drawnet.drawing": "drawing service", "nats-server": "nats-server"}
        for command, name in parts.items():
            await each_draws(people, 3)  # before the kill
            victim = platform.part(command)
            assert victim is not None, name
            os.kill(victim, signal.SIGKILL)
            await _restarted(platform, name)
            await each_draws(people, 3)  # after the part came back
        for person in people:
            person.drawing = False
        await eventually_async(
            holds(lambda: converged(people)), timeout=60, what="outboxes flushed, every ack on both boards"
        )
    finally:
        stop.set()
        await asyncio.gather(*running)

    acked = {op_id for p in people for op_id in p.acked}
    async with await platform.join("heal", name="Cat") as late:
        assert_late_joiner_sees_it_all(people, late)
    async with httpx.AsyncClient(base_url=platform.web) as http:
        stored = await eventually_async(
            lambda: stored_ids(http, "heal", len(acked)), timeout=30, what="every acked op in SQL"
        )
    assert stored == acked
    log = platform.log()
    for name in ("room", "drawing service", "nats-server"):
        assert f"restarting {name} in " in log
        assert f"{name} restarted (pid " in log
    assert platform.process is not None
    assert platform.process.running()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_part_that_keeps_dying_ends_the_platform_after_max_restarts(platform: Platform) -> None:
    launcher = platform.up("--max-restarts", "1", "--restart-window", "600")
    children = descendants(launcher.pid)
    os.kill(_pid(platform, "drawnet.room"), signal.SIGKILL)
    _wait_restarted(platform, "room")
    os.kill(_pid(platform, "drawnet.room"), signal.SIGKILL)

    assert launcher.process is not None
    assert launcher.process.wait(timeout=30) == 1
    assert "room died after 1 restarts within 600s: over max_restarts 1" in platform.log()
    assert alive(children) == set()


def test_restart_options_out_of_range_are_refused_with_the_numbers(tmp_path: Path) -> None:
    up = Supervised(
        "drawnet up",
        [venv_binary("drawnet"), "up", "--data-dir", str(tmp_path), "--max-restart-backoff", "0.1"],
        log_path=tmp_path / "up.log",
    ).start()
    assert up.process is not None
    assert up.process.wait(timeout=30) == 2
    up.stop()
    assert "0 < first_backoff_seconds (0.5) <= max_backoff_seconds (0.1)" in up.log_tail()


def _pid(platform: Platform, command: str) -> int:
    pid = eventually(lambda: platform.part(command), what=f"a child running {command}")
    assert pid is not None
    return pid


def _wait_restarted(platform: Platform, name: str) -> None:
    def said() -> bool:
        return f"{name} restarted (pid " in platform.log()

    eventually(said, timeout=60, what=f"{name} restarted")


async def _restarted(platform: Platform, name: str) -> None:
    async def said() -> bool:
        return f"{name} restarted (pid " in platform.log()

    await eventually_async(said, timeout=60, what=f"{name} restarted")
