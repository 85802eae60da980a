"""A board's history through HTTP against a real drawing service and room, on SQLite and PostgreSQL: every
op with its author and time, paged; "restore as a copy" at any seq, images included; viewers read it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.protocol import AddImage, AddStroke, Erase, Transform
from drawnet.testkit import RoomClient, eventually_async, pictures
from drawnet.testkit.client import line
from drawnet.testkit.tokens import Signer

pytestmark = pytest.mark.integration

START_TIMEOUT = 90.0
KEYS = "k1:" + "k" * 40
PAGE = 3


@pytest.fixture(scope="module")
def stack(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder: Path = tmp_path_factory.mktemp("stack")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "drawing.log",
        extra_env={
            "DRAWNET_DRAWING_SIGNING_KEYS": KEYS,
            "DRAWNET_DRAWING_PERSIST_FETCH_TIMEOUT_SECONDS": "0.2",
            "DRAWNET_DRAWING_MAX_OPS_PAGE_SIZE": str(PAGE),
        },
    ).start(timeout=START_TIMEOUT)
    room = RoomServer(
        nats_url=nats_server.url, log_path=folder / "room.log", signing_keys=KEYS, drawing_url=service.url
    ).start(timeout=START_TIMEOUT)
    yield service.url, room.url
    room.stop()
    service.stop()
    nats_server.stop()


@pytest.fixture
async def http(stack: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack[0], timeout=30) as client:
        yield client


def viewer_token(session: str) -> str:
    """A viewer's join token for an open board, as the drawing service mints them."""
    return Signer(keys=KEYS, kid="k1").token(
        session, role="viewer", name="Vi", ttl_seconds=600, grant="public"
    )


async def login(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    account = {"username": username, "password": f"{username} draws a violet heron at dawn"}
    registered = await http.post("/api/v1/users", json=account)
    assert registered.status_code == 201, registered.text
    response = await http.post("/api/v1/auth/login", json=account)
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def whole_history(http: httpx.AsyncClient, session: str, headers: dict[str, str]) -> dict[str, Any]:
    ops: list[dict[str, Any]] = []
    authors: dict[str, str] = {}
    after: int | None = 0
    while after is not None:
        response = await http.get(
            f"/api/v1/sessions/{session}/history", params={"after": after}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        ops.extend(body["ops"])
        authors.update(body["authors"])
        after = body["next"]
    return {"ops": ops, "authors": authors}


async def test_the_history_says_who_did_what_and_when_and_a_copy_restores_any_point(
    stack: tuple[str, str], http: httpx.AsyncClient
) -> None:
    owner = await login(http, "ann")
    made = await http.post(
        "/api/v1/sessions", json={"name": "timeline", "visibility": "public"}, headers=owner
    )
    assert made.status_code == 201, made.text
    token = (await http.post("/api/v1/sessions/timeline/join", json={}, headers=owner)).json()["token"]
    digest = (
        await http.post(
            "/api/v1/sessions/timeline/images",
            content=pictures.picture(20, 20),
            headers={"Authorization": f"Bearer {token}"},
        )
    ).json()["image"]
    began = time.time()
    async with await RoomClient.join(stack[1], "timeline", name="Ann", token=token) as ann:
        ops = [
            AddStroke(id="s1", tool="pen", color="#1e1e1e", width=4.0, opacity=1.0, pts=line(4)),
            AddImage(id="i1", image=digest, x=0, y=0, w=40, h=40),
            Transform(id="t1", items=["i1"], m=(1, 0, 0, 1, 100, 0)),
            AddStroke(id="s2", tool="pen", color="#e03131", width=4.0, opacity=1.0, pts=line(4)),
            Erase(id="e1", strokes=["s1"]),
        ]
        acks = [await ann.submit(op) for op in ops]  # type: ignore[arg-type]
    seqs = [ack.seq for ack in acks]  # type: ignore[union-attr]

    async def stored() -> dict[str, Any]:
        found = await whole_history(http, "timeline", {"Authorization": f"Bearer {viewer_token('timeline')}"})
        return found if len(found["ops"]) == len(ops) else {}

    # A viewer reads it, in pages of max_ops_page_size.
    found = await eventually_async(stored, timeout=20, what="the history stored")
    assert [entry["seq"] for entry in found["ops"]] == seqs
    assert [entry["op"]["id"] for entry in found["ops"]] == ["s1", "i1", "t1", "s2", "e1"]
    ann_id = found["ops"][0]["by"]
    assert found["authors"] == {ann_id: "ann"}
    assert all(began - 1 <= entry["ts"] <= time.time() + 1 for entry in found["ops"])

    # Restore as a copy, at the seq of the transform: the stroke, the moved picture, no second stroke.
    bob = await login(http, "bob")
    copied = await http.post("/api/v1/sessions/timeline/copies", json={"seq": seqs[2]}, headers=bob)
    assert copied.status_code == 201, copied.text
    copy = copied.json()
    assert (copy["items"], copy["seq"], copy["session"]["owner"] is not None) == (2, seqs[2], True)
    name = copy["session"]["name"]
    assert copy["session"]["title"] == f"timeline (at {seqs[2]})"

    async def board() -> dict[str, Any]:
        body: dict[str, Any] = (await http.get(f"/api/v1/sessions/{name}/board", headers=bob)).json()
        return body if len(body["strokes"]) == 2 else {}

    restored = await eventually_async(board, timeout=20, what="the copy stored")
    assert [item["id"] for item in restored["strokes"]] == ["s1", "i1"]
    assert restored["placements"]["i1"]["m"] == [1, 0, 0, 1, 100, 0]
    picture = await http.get(f"/api/v1/sessions/{name}/images/{digest}", headers=bob)
    assert picture.status_code == 200


async def test_a_copy_past_the_board_or_without_a_login_is_refused(http: httpx.AsyncClient) -> None:
    owner = await login(http, "cyd")
    await http.post("/api/v1/sessions", json={"name": "short", "visibility": "public"}, headers=owner)
    past = await http.post("/api/v1/sessions/short/copies", json={"seq": 10**9}, headers=owner)
    anonymous = await http.post("/api/v1/sessions/short/copies", json={"seq": 0})
    assert past.status_code == 422
    assert "past the board's last stored seq" in past.json()["detail"]
    assert anonymous.status_code == 401
