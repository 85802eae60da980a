"""`drawnet up`: the whole platform in one command; the board survives a restart; Ctrl-C leaves nothing."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from drawnet.embedded.components import free_port
from drawnet.embedded.processes import Supervised, venv_binary
from drawnet.protocol import Ack, Nack
from drawnet.testkit import RoomClient, eventually
from drawnet.testkit.client import line
from drawnet.testkit.proc import alive, descendants
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

    def up(self) -> Supervised:
        command = [venv_binary("drawnet"), "up", "--data-dir", str(self.data_dir)]
        command += ["--database-url", self.database_url]
        for flag, port in self.ports.items():
            command += [f"--{flag}", str(port)]
        self.runs += 1
        log_path = self.data_dir / f"up-{self.runs}.log"
        self.process = Supervised("drawnet up", command, log_path=log_path).start()
        self.process.wait_until(lambda: "Drawnet is up." in self.process.log_tail(50), timeout=60)  # type: ignore[union-attr]
        return self.process

    async def join(self, session: str, *, name: str) -> RoomClient:
        """Join with a token signed by the key `drawnet up` made in its data folder."""
        keys = (self.data_dir / "signing-keys").read_text().strip()
        signer = Signer(keys=keys, kid=keys.split(":", 1)[0])
        return await RoomClient.join(self.room, session, name=name, token=signer.token(session, name=name))

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
