"""Boards through HTTP against a real drawing service fed by a real room: snapshots, ops after a sequence,
exports that draw what the browser draws, and imports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import numpy as np
import pytest
import skia
from sqlalchemy import text

from drawnet.drawing import db, render
from drawnet.drawing.render import quantize, width_at
from drawnet.drawing.settings import normalize_database_url
from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.protocol import (
    OPS_STREAM,
    Ack,
    AddNote,
    AddShape,
    AddStroke,
    AddText,
    EditText,
    Erase,
    Op,
    Redo,
    Reorder,
    Transform,
    Undo,
    encode,
)
from drawnet.testkit import RoomClient, eventually_async
from drawnet.testkit.client import line
from drawnet.testkit.metrics import metric
from drawnet.testkit.oplog import log_ops

pytestmark = pytest.mark.integration

START_TIMEOUT = 90.0
"""Seconds a process gets to be ready: the machine running the tests may be busy."""

KEYS = "k1:" + "k" * 40
OPS_PAGE = 20
IMPORT_BYTES = 64 * 1024
BOARD_WAIT_SECONDS = 1.0


class Stack:
    def __init__(self, nats_server: NatsServer, service: DrawingService, room: RoomServer) -> None:
        self.nats, self.service, self.room = nats_server, service, room


@pytest.fixture(scope="module")
def stack(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("stack")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "drawing.log",
        extra_env={
            "DRAWNET_DRAWING_SIGNING_KEYS": KEYS,
            "DRAWNET_DRAWING_MAX_OPS_PAGE_SIZE": str(OPS_PAGE),
            "DRAWNET_DRAWING_MAX_IMPORT_BYTES": str(IMPORT_BYTES),
            "DRAWNET_DRAWING_PERSIST_FETCH_TIMEOUT_SECONDS": "0.2",
            "DRAWNET_DRAWING_BOARD_WAIT_SECONDS": str(BOARD_WAIT_SECONDS),
        },
    ).start(timeout=START_TIMEOUT)
    room = RoomServer(
        nats_url=nats_server.url,
        log_path=folder / "room.log",
        signing_keys=KEYS,
        drawing_url=service.url,
    ).start(timeout=START_TIMEOUT)
    yield Stack(nats_server, service, room)
    room.stop()
    service.stop()
    nats_server.stop()


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.service.url, timeout=30) as client:
        yield client


def stroke(stroke_id: str, **style: Any) -> AddStroke:
    fields: dict[str, Any] = {"tool": "pen", "color": "#1e1e1e", "width": 4.0, "opacity": 1.0, "pts": line(5)}
    return AddStroke(id=stroke_id, **{**fields, **style})


@contextlib.asynccontextmanager
async def sql_writes_held(database_url: str) -> AsyncIterator[None]:
    """Another transaction holds the ops table: the persister's inserts wait while reads go on (SQLite in
    WAL mode: the write lock; PostgreSQL: an EXCLUSIVE table lock, which lets plain reads through)."""
    if database_url.startswith("sqlite:///"):
        lite = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        lite.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            lite.execute("ROLLBACK")
            lite.close()
        return
    engine = db.make_engine(normalize_database_url(database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("LOCK TABLE ops IN EXCLUSIVE MODE"))
            yield
    finally:
        await engine.dispose()


async def last_logged_seq(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().stream_info(OPS_STREAM)
        return info.state.last_seq
    finally:
        await nc.close()


async def stored_up_to(http: httpx.AsyncClient, session: str, seq: int) -> dict[str, Any]:
    async def board() -> dict[str, Any]:
        body: dict[str, Any] = (await http.get(f"/api/v1/sessions/{session}/board")).json()
        return body if body["seq"] >= seq else {}

    return await eventually_async(board, timeout=20, what=f"{session} stored up to seq {seq}")


def pixels(png: bytes) -> np.ndarray[Any, Any]:
    image = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(png))
    rgba: np.ndarray[Any, Any] = image.convert(colorType=skia.kRGBA_8888_ColorType).toarray()
    return rgba


class TestFromTheRoom:
    async def test_a_stroke_drawn_with_a_join_token_from_here_is_stored_and_exported(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        joined = (await http.post("/api/v1/sessions/e2e/join", json={"name": "Ann"})).json()
        async with await RoomClient.join(stack.room.url, "e2e", name="Ann", token=joined["token"]) as ann:
            ack = await ann.draw_stroke(line(30, step=3), color="#e03131", width=6)
        assert isinstance(ack, Ack)

        board = await stored_up_to(http, "e2e", ack.seq)
        snapshot = (await http.get("/api/v1/sessions/e2e/snapshot")).json()
        svg = (await http.get("/api/v1/sessions/e2e/export.svg")).text

        assert [s["id"] for s in board["strokes"]] == [ack.id]
        assert snapshot["seq"] == ack.seq
        assert snapshot["recent"] == {ack.id: ack.seq}
        assert [entry["stroke"]["id"] for entry in snapshot["strokes"]] == [ack.id]
        assert 'stroke="#e03131"' in svg

    async def test_a_late_joiner_gets_the_board_the_room_loaded_from_the_snapshot(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        seqs = await log_ops(stack.nats.url, "loaded", [stroke(f"l{i}") for i in range(8)])
        await stored_up_to(http, "loaded", seqs[-1])
        token = (await http.post("/api/v1/sessions/loaded/join", json={"name": "Bo"})).json()["token"]
        async with await RoomClient.join(stack.room.url, "loaded", name="Bo", token=token) as bo:
            assert [s.id for s in bo.board.strokes] == [f"l{i}" for i in range(8)]


class TestAtLeastASeq:
    """`?seq=N`: the board as the reader's page shows it, never the board of a batch ago."""

    async def test_a_read_for_a_seq_not_stored_yet_waits_for_it(
        self, stack: Stack, http: httpx.AsyncClient, module_database_url: str
    ) -> None:
        async with sql_writes_held(module_database_url):
            seqs = await log_ops(stack.nats.url, "waited", [stroke("w1"), stroke("w2")])
            # Logged, held on its way to SQL: the read waits for it.
            export = asyncio.ensure_future(
                http.get("/api/v1/sessions/waited/export.json", params={"seq": seqs[0]})
            )
            now = await http.get("/api/v1/sessions/waited/board")
            assert now.json()["strokes"] == []
            assert not export.done()
        response = await export
        board = await http.get("/api/v1/sessions/waited/board", params={"seq": seqs[-1]})

        assert response.status_code == 200
        assert [s["id"] for s in response.json()["strokes"]][:1] == ["w1"]
        assert [s["id"] for s in board.json()["strokes"]] == ["w1", "w2"]

    async def test_a_seq_that_is_not_stored_in_time_is_503_with_what_is_stored(
        self, stack: Stack, http: httpx.AsyncClient, module_database_url: str
    ) -> None:
        [seq] = await log_ops(stack.nats.url, "behind", [stroke("b1")])
        await stored_up_to(http, "behind", seq)
        async with sql_writes_held(module_database_url):
            [held] = await log_ops(stack.nats.url, "behind", [stroke("b2")])

            response = await http.get("/api/v1/sessions/behind/export.svg", params={"seq": held})

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        problem = response.json()
        assert problem["stored_seq"] == seq
        assert problem["detail"] == (
            f"the board is stored up to seq {seq}, not yet up to seq {held}: "
            f"the persister is behind (waited {BOARD_WAIT_SECONDS:g} s)"
        )

    async def test_a_seq_past_the_op_log_is_refused_at_once_with_the_last_seq(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        last = await last_logged_seq(stack.nats.url)

        response = await http.get("/api/v1/sessions/ahead/export.svg", params={"seq": last + 1000})

        assert response.status_code == 422
        problem = response.json()
        assert problem["logged_seq"] >= last
        assert problem["detail"].startswith(f"seq {last + 1000} is past the op log, whose last seq is ")

    async def test_a_board_with_no_op_after_it_is_at_any_stored_seq(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        [quiet] = await log_ops(stack.nats.url, "quiet", [stroke("q1")])
        [other] = await log_ops(stack.nats.url, "busy", [stroke("o1")])
        await stored_up_to(http, "busy", other)

        # `other` is another board's seq: every op up to it is stored, so "quiet" is at it already.
        response = await http.get("/api/v1/sessions/quiet/board", params={"seq": other})

        assert response.status_code == 200
        assert response.json()["seq"] == quiet


class TestOps:
    async def test_ops_after_a_sequence_come_in_pages_linked_to_the_next(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        seqs = await log_ops(stack.nats.url, "paged", [stroke(f"p{i}") for i in range(45)])
        await stored_up_to(http, "paged", seqs[-1])

        seen: list[int] = []
        url: str | None = f"/api/v1/sessions/paged/ops?after={seqs[4]}"
        pages = 0
        while url:
            response = await http.get(url)
            seen += [op["seq"] for op in response.json()]
            url = response.links.get("next", {}).get("url")
            pages += 1

        assert seen == seqs[5:]
        assert pages == 2 + 1  # 40 ops: two full pages, then an empty one that ends the walk

    async def test_a_page_larger_than_the_limit_is_refused_with_the_numbers(
        self, http: httpx.AsyncClient
    ) -> None:
        response = await http.get("/api/v1/sessions/paged/ops", params={"limit": OPS_PAGE + 1})
        assert response.status_code == 400
        assert response.json()["detail"] == f"limit {OPS_PAGE + 1} exceeds max_ops_page_size {OPS_PAGE}"

    async def test_a_sequence_number_past_64_bits_is_refused_not_a_failure(
        self, http: httpx.AsyncClient
    ) -> None:
        response = await http.get("/api/v1/sessions/paged/ops", params={"after": 2**63})
        assert response.status_code == 400
        assert "after" in response.text


@pytest.fixture(scope="module")
def drawn(stack: Stack) -> dict[str, Any]:
    """A board with a thick red stroke, a half-transparent blue one, a dot, and an erased green one."""
    ops: list[Op] = [
        stroke("red", color="#ff0000", width=10, pts=[(10, 10, 0.5), (60, 10, 0.5), (110, 10, 0.5)]),
        stroke("blue", color="#0000ff", width=10, opacity=0.5, pts=[(10, 60, 0.5), (110, 60, 0.5)]),
        stroke("green", color="#00ff00", width=10, pts=[(10, 100, 0.5), (110, 100, 0.5)]),
        stroke("dot", color="#000000", width=8, pts=[(60, 130, 1.0)]),
        Erase(id="rub", strokes=["green"]),
    ]
    seqs = asyncio.run(log_ops(stack.nats.url, "art", ops))
    return {"seq": seqs[-1]}


class TestExports:
    async def test_svg_draws_widths_colours_opacity_and_leaves_out_erased_strokes(
        self, drawn: dict[str, Any], http: httpx.AsyncClient
    ) -> None:
        await stored_up_to(http, "art", drawn["seq"])
        response = await http.get("/api/v1/sessions/art/export.svg")

        assert response.headers["content-type"].startswith("image/svg+xml")
        assert f'filename="art-{drawn["seq"]}.svg"' in response.headers["content-disposition"]
        svg = response.text
        assert svg.startswith("<svg")
        # Lengths in hundredths of a board unit (render.UNITS), which the viewBox scales back.
        assert f'stroke="#ff0000" stroke-width="{quantize(width_at(10, 0.5)) * 100:g}"' in svg
        assert 'stroke="#0000ff" stroke-width="1000" opacity="0.5"' in svg
        assert "#00ff00" not in svg
        assert f'r="{width_at(8, 1.0) / 2 * 100:g}" fill="#000000"' in svg
        assert 'stroke-linecap="round"' in svg

    async def test_png_paints_what_the_browser_paints(
        self, drawn: dict[str, Any], http: httpx.AsyncClient
    ) -> None:
        await stored_up_to(http, "art", drawn["seq"])
        svg_box = (await http.get("/api/v1/sessions/art/export.svg")).text.split('viewBox="')[1].split('"')[0]
        x0, y0, width, height = (float(v) / 100 for v in svg_box.split())
        response = await http.get("/api/v1/sessions/art/export.png")
        assert response.headers["content-type"] == "image/png"
        image = pixels(response.content)

        def at(x: float, y: float) -> tuple[int, ...]:
            return tuple(int(v) for v in image[int(y - y0), int(x - x0)])

        assert image.shape[:2] == (int(height), int(width))
        assert at(60, 10) == (255, 0, 0, 255)
        blue = at(60, 60)
        assert blue[2] > 200 and 100 < blue[0] < 150  # half blue over the board colour  # noqa: PT018
        assert at(60, 100) == (0xFB, 0xFB, 0xFA, 255)  # erased: the board colour
        assert at(60, 130) == (0, 0, 0, 255)
        assert at(60, 13)[0] > 200  # the width follows the pressure: 10 at 0.5 is 10 wide
        assert at(60, 17) == (0xFB, 0xFB, 0xFA, 255)

    async def test_png_scales_and_can_be_transparent(
        self, drawn: dict[str, Any], http: httpx.AsyncClient
    ) -> None:
        await stored_up_to(http, "art", drawn["seq"])
        one = pixels((await http.get("/api/v1/sessions/art/export.png")).content)
        two = pixels(
            (
                await http.get(
                    "/api/v1/sessions/art/export.png", params={"scale": 2, "background": "transparent"}
                )
            ).content
        )
        assert two.shape[0] == 2 * one.shape[0]
        assert two[0, 0, 3] == 0

    async def test_a_large_board_is_drawn_by_the_export_workers_as_it_is_drawn_whole(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        strokes = [
            stroke(
                f"w{i}",
                color=f"#{(i * 2654435761) % 0x1000000:06x}",
                width=(3.0, 9.0)[i % 2],
                opacity=(1.0, 0.5)[i % 3 == 0],
                pts=[(5.0 * j + i % 7, 3.0 * i + 40 * math.sin(j / 9), (j % 10) / 10) for j in range(100)],
            )
            for i in range(render.PARALLEL_POINTS // 100 + 10)
        ]
        seqs = await log_ops(stack.nats.url, "large", list(strokes))
        await stored_up_to(http, "large", seqs[-1])
        before = metric((await http.get("/metrics")).text, "drawnet_drawing_png_bands_total")

        response = await http.get("/api/v1/sessions/large/export.png")

        assert response.status_code == 200
        after = metric((await http.get("/metrics")).text, "drawnet_drawing_png_bands_total")
        assert after - before == 2  # DRAWNET_DRAWING_EXPORT_WORKERS: 2 by default
        whole = render.png(strokes, max_pixels=4096 * 4096)
        assert np.array_equal(pixels(response.content), pixels(whole))

    async def test_an_export_is_revalidated_by_its_etag_until_the_board_changes(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        seqs = await log_ops(stack.nats.url, "tagged", [stroke("t1")])
        await stored_up_to(http, "tagged", seqs[-1])
        png = await http.get("/api/v1/sessions/tagged/export.png")
        etag = png.headers["etag"]
        assert png.status_code == 200
        assert png.headers["cache-control"] == "no-cache"  # revalidate every time

        same = await http.get("/api/v1/sessions/tagged/export.png", headers={"If-None-Match": etag})
        weak = await http.get("/api/v1/sessions/tagged/export.png", headers={"If-None-Match": f"W/{etag}"})
        scaled = await http.get(
            "/api/v1/sessions/tagged/export.png", params={"scale": 2}, headers={"If-None-Match": etag}
        )
        svg = await http.get("/api/v1/sessions/tagged/export.svg", headers={"If-None-Match": etag})

        assert (same.status_code, same.content, same.headers["etag"]) == (304, b"", etag)
        assert weak.status_code == 304
        assert scaled.status_code == 200  # another option, another image
        assert svg.status_code == 200
        assert svg.headers["etag"] != etag

        more = await log_ops(stack.nats.url, "tagged", [stroke("t2", pts=line(5, y0=20))])
        await stored_up_to(http, "tagged", more[-1])
        changed = await http.get("/api/v1/sessions/tagged/export.png", headers={"If-None-Match": etag})

        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert pixels(changed.content).tobytes() != pixels(png.content).tobytes()

    async def test_a_bad_export_option_is_refused_with_the_field(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/sessions/art/export.png", params={"background": "red"})
        assert response.status_code == 400
        assert "background" in response.text


class TestImport:
    async def test_an_exported_board_imported_elsewhere_is_the_same_board(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        seqs = await log_ops(
            stack.nats.url, "source", [stroke(f"x{i}", color=f"#0000{i:02x}") for i in range(6)]
        )
        await stored_up_to(http, "source", seqs[-1])
        export = (await http.get("/api/v1/sessions/source/export.json")).json()
        token = (await http.post("/api/v1/sessions/copy/join", json={"name": "Im"})).json()["token"]

        imported = await http.post(
            "/api/v1/sessions/copy/import", json=export, headers={"Authorization": f"Bearer {token}"}
        )
        copy = await stored_up_to(http, "copy", imported.json()["seq"])
        again = await http.post(
            "/api/v1/sessions/copy/import", json=export, headers={"Authorization": f"Bearer {token}"}
        )

        assert imported.json()["imported"] == 6
        assert copy["strokes"] == export["strokes"]
        assert again.json()["imported"] == 0  # strokes already on the board are skipped

    async def test_every_kind_moved_and_edited_survives_a_json_round_trip_and_draws_the_same(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        ops: list[Op] = [
            stroke("ink", color="#e03131"),
            AddShape(
                id="box", shape="rect", x=0, y=40, w=120, h=60, color="#1971c2", width=3, fill="#d0ebff"
            ),
            AddShape(id="oval", shape="ellipse", x=140, y=40, w=80, h=60, color="#2f9e44", width=2),
            AddShape(
                id="gem", shape="diamond", x=240, y=40, w=60, h=60, color="#f08c00", width=2, rounded=True
            ),
            AddShape(id="to", shape="arrow", x=0, y=130, w=200, h=0, color="#1e1e1e", width=2, end_head=True),
            AddShape(id="rule", shape="line", x=0, y=160, w=200, h=20, color="#1e1e1e", width=1),
            AddText(id="label", x=10, y=200, text="Hello\nboard", size=24, color="#1e1e1e"),
            AddNote(id="todo", x=240, y=130, w=160, text="todo", size=18, fill="#ffec99"),
            Transform(id="turn", items=["box", "label"], m=(0.0, 1.0, -1.0, 0.0, 300.0, 0.0)),
            EditText(id="done", item="todo", text="done\nand dusted"),
        ]
        seqs = await log_ops(stack.nats.url, "kinds", ops)
        source = await stored_up_to(http, "kinds", seqs[-1])
        assert [item["kind"] for item in source["strokes"]] == [
            "stroke",
            "shape",
            "shape",
            "shape",
            "shape",
            "shape",
            "text",
            "note",
        ]
        assert source["placements"] == {
            "box": {"m": [0.0, 1.0, -1.0, 0.0, 300.0, 0.0]},
            "label": {"m": [0.0, 1.0, -1.0, 0.0, 300.0, 0.0]},
            "todo": {"text": "done\nand dusted"},
        }
        token = (await http.post("/api/v1/sessions/kinds-copy/join", json={"name": "Im"})).json()["token"]
        imported = await http.post(
            "/api/v1/sessions/kinds-copy/import", json=source, headers={"Authorization": f"Bearer {token}"}
        )
        assert imported.json()["imported"] == 8
        copy = await stored_up_to(http, "kinds-copy", imported.json()["seq"])
        assert (copy["strokes"], copy["placements"]) == (source["strokes"], source["placements"])
        svg = (await http.get("/api/v1/sessions/kinds/export.svg")).text
        assert svg == (await http.get("/api/v1/sessions/kinds-copy/export.svg")).text
        for drawn in (
            "<ellipse",
            'rx="',
            'transform="matrix(0.0 1.0 -1.0 0.0 30000.0 0.0)"',
            'fill="#d0ebff"',
        ):
            assert drawn in svg
        png = (await http.get("/api/v1/sessions/kinds/export.png")).content
        assert np.array_equal(
            pixels(png), pixels((await http.get("/api/v1/sessions/kinds-copy/export.png")).content)
        )

    async def test_the_stacking_order_survives_snapshots_exports_and_a_json_round_trip(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        colours = {"a": "#e03131", "b": "#1971c2", "c": "#2f9e44", "d": "#f08c00", "e": "#862e9c"}

        def box(item: str, x: float) -> AddShape:
            return AddShape(id=item, shape="rect", x=x, y=0, w=80, h=80, color=colours[item], width=2)

        def order(board: list[dict[str, Any]]) -> str:
            return "".join(entry["stroke"]["id"] if "stroke" in entry else entry["id"] for entry in board)

        async def snapshot_at(seq: int) -> dict[str, Any]:
            # The persister's own snapshot (written every few seconds), served as stored: no tail replayed.
            async def stored() -> dict[str, Any]:
                response = await http.get("/api/v1/sessions/stacking/snapshot")
                written = int(response.headers["X-Drawnet-Snapshot-Seq"]) >= seq
                body: dict[str, Any] = response.json()
                return body if written and response.headers["X-Drawnet-Tail-Ops"] == "0" else {}

            return await eventually_async(stored, timeout=30, what=f"a snapshot at seq {seq}")

        ops: list[Op] = [
            box("a", 0),
            box("b", 40),
            box("c", 80),
            box("d", 120),
            Reorder(id="front", items=["a"], to="front"),  # b c d a
            Reorder(id="back", items=["d"], to="back"),  # d b c a
            Reorder(id="step", items=["b"], to="forward"),  # d c b a
            Undo(id="undo-step", target="step"),  # d b c a
        ]
        seqs = await log_ops(stack.nats.url, "stacking", ops)
        assert order((await snapshot_at(seqs[-1]))["strokes"]) == "dbca"
        # More after that snapshot: an item on top, a step backward, and a redo of an older reorder.
        more: list[Op] = [
            Redo(id="redo-step", target="step"),  # d c b a
            box("e", 160),  # d c b a e
            Reorder(id="down", items=["e", "a"], to="backward"),  # both just below b: d c a e b
        ]
        more_seqs = await log_ops(stack.nats.url, "stacking", more)
        snapshot = await snapshot_at(more_seqs[-1])
        board = await stored_up_to(http, "stacking", more_seqs[-1])
        expected = "dcaeb"
        assert order(snapshot["strokes"]) == order(board["strokes"]) == expected

        # The SVG and the PNG draw bottom to top; the JSON export lists the items so, and an import keeps it.
        svg = (await http.get("/api/v1/sessions/stacking/export.svg")).text
        drawn = sorted(colours, key=lambda item: svg.index(f'stroke="{colours[item]}"'))
        assert "".join(drawn) == expected
        token = (await http.post("/api/v1/sessions/stacking-copy/join", json={"name": "Im"})).json()["token"]
        imported = await http.post(
            "/api/v1/sessions/stacking-copy/import",
            json=board,
            headers={"Authorization": f"Bearer {token}"},
        )
        copy = await stored_up_to(http, "stacking-copy", imported.json()["seq"])
        assert order(copy["strokes"]) == expected
        png = (await http.get("/api/v1/sessions/stacking/export.png")).content
        assert np.array_equal(
            pixels(png), pixels((await http.get("/api/v1/sessions/stacking-copy/export.png")).content)
        )

    async def test_an_import_over_the_size_limit_is_refused_with_the_numbers(
        self, http: httpx.AsyncClient
    ) -> None:
        token = (await http.post("/api/v1/sessions/big/join", json={"name": "Im"})).json()["token"]
        strokes = [json.loads(encode(stroke(f"b{i}", pts=line(200))).decode()) for i in range(40)]
        assert len(json.dumps(strokes)) > IMPORT_BYTES
        response = await http.post(
            "/api/v1/sessions/big/import",
            json={"format": "drawnet.board.v1", "strokes": strokes},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 413
        assert response.json()["detail"] == f"request body exceeds max_import_bytes {IMPORT_BYTES} bytes"

    async def test_an_import_with_a_stroke_past_a_protocol_limit_is_refused_whole(
        self, http: httpx.AsyncClient
    ) -> None:
        token = (await http.post("/api/v1/sessions/wide/join", json={"name": "Im"})).json()["token"]
        strokes = [
            json.loads(encode(stroke("ok")).decode()),
            json.loads(encode(stroke("w", width=500)).decode()),
        ]
        response = await http.post(
            "/api/v1/sessions/wide/import",
            json={"format": "drawnet.board.v1", "strokes": strokes},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400
        assert response.json()["limit"] == "max_width"
        assert response.json()["detail"] == "stroke 'w': width 500.0 exceeds max_width 200.0"
        assert (await http.get("/api/v1/sessions/wide/board")).json()["strokes"] == []
