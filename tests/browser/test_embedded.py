"""The web app on `drawnet up`, as a newcomer meets it: a guest starts a board from the lobby, sends its
address to a friend, who pastes it into the lobby and joins; they draw together."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drawnet.embedded.components import free_port
from drawnet.embedded.processes import Supervised, venv_binary
from tests.browser.conftest import NewPerson

pytestmark = pytest.mark.browser


@dataclass
class DrawnetUp:
    """`drawnet up` on free ports with its data in a temporary folder (the web app at `url`)."""

    process: Supervised
    url: str


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrawnetUp]:
    data: Path = tmp_path_factory.mktemp("drawnet-up")
    port = free_port()
    command = [venv_binary("drawnet"), "up", "--data-dir", str(data), "--port", str(port)]
    command += ["--room-port", str(free_port()), "--nats-port", str(free_port())]
    process = Supervised("drawnet up", command, log_path=data / "up.log").start()
    process.wait_until(lambda: "Drawnet is up." in process.log_tail(50), timeout=90)
    yield DrawnetUp(process, f"http://127.0.0.1:{port}")
    process.stop()


def test_a_guest_starts_a_board_and_a_friend_joins_by_its_link(new_person: NewPerson) -> None:
    ann = new_person("Ann", color="#e03131")
    ann.go_to_lobby()
    ann.start_board_as_guest()
    ann.draw_stroke([(200, 200), (400, 300)])
    ann.expect_strokes(1)
    address = ann.page.url

    bob = new_person("Bob", color="#1971c2")
    bob.go_to_lobby()
    bob.join_from_lobby(address)
    bob.expect_connection("live")
    bob.expect_strokes(1)
    bob.draw_stroke([(200, 400), (400, 450)])

    ann.expect_strokes(2)
    ann.expect_same_board_as(bob)
    ann.expect_participants("Ann", "Bob")
