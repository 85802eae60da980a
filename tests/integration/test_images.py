"""Images on boards through HTTP against a real drawing service and room, on SQLite and PostgreSQL:
uploads checked by their content and stored once per content hash, served with immutable caching, placed
by an `image` op that every participant applies, drawn into the SVG, PNG and JSON exports, brought along
by an import; hostile files get problem details and change nothing."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.protocol import Ack, AddImage, Transform
from drawnet.testkit import RoomClient, eventually_async, pictures
from drawnet.testkit.metrics import metric
from drawnet.testkit.tokens import Signer

pytestmark = pytest.mark.integration

START_TIMEOUT = 90.0
KEYS = "k1:" + "k" * 40
MAX_IMAGE_BYTES = 400_000
MAX_IMAGE_PIXELS = 4_000_000
MAX_IMAGE_SIDE = 512
MAX_IMAGES_PER_BOARD = 3


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
            "DRAWNET_DRAWING_PERSIST_FETCH_TIMEOUT_SECONDS": "0.2",
            "DRAWNET_DRAWING_MAX_IMAGE_BYTES": str(MAX_IMAGE_BYTES),
            "DRAWNET_DRAWING_MAX_IMAGE_PIXELS": str(MAX_IMAGE_PIXELS),
            "DRAWNET_DRAWING_MAX_IMAGE_SIDE": str(MAX_IMAGE_SIDE),
            "DRAWNET_DRAWING_MAX_IMAGES_PER_BOARD": str(MAX_IMAGES_PER_BOARD),
        },
    ).start(timeout=START_TIMEOUT)
    room = RoomServer(
        nats_url=nats_server.url, log_path=folder / "room.log", signing_keys=KEYS, drawing_url=service.url
    ).start(timeout=START_TIMEOUT)
    yield Stack(nats_server, service, room)
    room.stop()
    service.stop()
    nats_server.stop()


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.service.url, timeout=30) as client:
        yield client


async def editor_token(http: httpx.AsyncClient, session: str, name: str = "Ann") -> str:
    response = await http.post(f"/api/v1/sessions/{session}/join", json={"name": name})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def viewer_token(session: str) -> str:
    """A viewer's join token for an open board, as the drawing service mints them."""
    return Signer(keys=KEYS, kid="k1").token(
        session, role="viewer", name="Vi", ttl_seconds=600, grant="public"
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def upload(
    http: httpx.AsyncClient, session: str, token: str, data: bytes, content_type: str = "image/png"
) -> httpx.Response:
    return await http.post(
        f"/api/v1/sessions/{session}/images",
        content=data,
        headers={**bearer(token), "Content-Type": content_type, "X-File-Name": "picture.png"},
    )


async def stored(http: httpx.AsyncClient, session: str, token: str) -> list[dict[str, Any]]:
    response = await http.get(f"/api/v1/sessions/{session}/images", headers=bearer(token))
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


async def board_at(http: httpx.AsyncClient, session: str, seq: int) -> dict[str, Any]:
    async def board() -> dict[str, Any]:
        body: dict[str, Any] = (await http.get(f"/api/v1/sessions/{session}/board")).json()
        return body if body["seq"] >= seq else {}

    return await eventually_async(board, timeout=20, what=f"{session} stored up to seq {seq}")


class TestUpload:
    async def test_an_upload_is_stored_once_and_served_at_its_hash_with_immutable_caching(
        self, http: httpx.AsyncClient
    ) -> None:
        token = await editor_token(http, "photos")
        first = await upload(http, "photos", token, pictures.picture(40, 30, "#e03131"))
        again = await upload(http, "photos", token, pictures.picture(40, 30, "#e03131"))

        assert first.status_code == 201, first.text
        body = first.json()
        assert again.json()["image"] == body["image"]
        assert (body["stored"], again.json()["stored"]) == (True, False)
        assert (body["media_type"], body["width"], body["height"]) == ("image/png", 40, 30)
        assert body["url"] == f"/api/v1/sessions/photos/images/{body['image']}"

        served = await http.get(body["url"], headers=bearer(token))
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == body["image"]
        assert served.headers["content-type"] == "image/png"
        assert served.headers["cache-control"] == "private, max-age=31536000, immutable"
        assert served.headers["etag"] == f'"{body["image"]}"'
        assert [image["image"] for image in await stored(http, "photos", token)] == [body["image"]]

    async def test_content_decides_not_the_name_a_jpeg_called_png_is_a_jpeg(
        self, http: httpx.AsyncClient
    ) -> None:
        token = await editor_token(http, "named")
        response = await upload(
            http, "named", token, pictures.picture(30, 30, "#1971c2", "JPEG"), "image/png"
        )
        assert response.status_code == 201
        assert response.json()["media_type"] == "image/jpeg"

    async def test_a_large_picture_is_scaled_to_max_image_side_and_metadata_is_dropped(
        self, http: httpx.AsyncClient
    ) -> None:
        token = await editor_token(http, "scaled")
        big = (await upload(http, "scaled", token, pictures.picture(1600, 800, fmt="JPEG"))).json()
        private = (await upload(http, "scaled", token, pictures.jpeg_with_metadata(), "image/jpeg")).json()

        assert (big["width"], big["height"]) == (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE // 2)
        served = (await http.get(private["url"], headers=bearer(token))).content
        assert b"SecretCam" not in served
        assert b"SN-123456" not in served

    async def test_viewers_and_strangers_may_not_upload_but_viewers_see_the_images(
        self, http: httpx.AsyncClient
    ) -> None:
        token = await editor_token(http, "roles")
        body = (await upload(http, "roles", token, pictures.picture())).json()
        viewer = viewer_token("roles")

        refused = await upload(http, "roles", viewer, pictures.picture(12, 12))
        anonymous = await http.post("/api/v1/sessions/roles/images", content=pictures.picture(12, 12))
        seen = await http.get(body["url"], headers=bearer(viewer))
        elsewhere = await http.get(
            f"/api/v1/sessions/other/images/{body['image']}",
            headers=bearer(await editor_token(http, "other")),
        )

        assert refused.status_code == 403
        assert anonymous.status_code == 401
        assert seen.status_code == 200
        assert elsewhere.status_code == 404  # stored per board: another board's hash is not this board's
        assert len(await stored(http, "roles", token)) == 1


class TestHostileUploads:
    @pytest.mark.parametrize(
        ("name", "data", "status", "problem", "limit"),
        [
            (
                "decompression bomb",
                pictures.decompression_bomb(30_000),
                413,
                "limit-exceeded",
                "max_image_pixels",
            ),
            (
                "over max_image_pixels",
                pictures.picture(2100, 2000, fmt="JPEG"),
                413,
                "limit-exceeded",
                "max_image_pixels",
            ),
            ("bmp named png", pictures.picture(20, 20, fmt="BMP"), 415, "unsupported-image", "image_format"),
            ("svg disguised as png", pictures.SVG_AS_PNG, 415, "unsupported-image", "image_format"),
            ("truncated png", pictures.truncated_png(), 422, "broken-image", "image_corrupt"),
            (
                "over max_image_bytes",
                b"\x89PNG" + b"\x00" * MAX_IMAGE_BYTES,
                413,
                "limit-exceeded",
                "max_image_bytes",
            ),
        ],
    )
    async def test_a_hostile_file_gets_problem_details_and_changes_nothing(
        self, http: httpx.AsyncClient, name: str, data: bytes, status: int, problem: str, limit: str
    ) -> None:
        session = "hostile-" + hashlib.sha256(name.encode()).hexdigest()[:8]
        token = await editor_token(http, session)

        response = await upload(http, session, token, data)

        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        details = response.json()
        assert details["type"].endswith(problem)
        assert details["limit"] == limit
        assert await stored(http, session, token) == []
        # and the board still takes an honest picture
        assert (await upload(http, session, token, pictures.picture())).status_code == 201

    async def test_a_board_stores_at_most_max_images_per_board_and_says_so(
        self, http: httpx.AsyncClient
    ) -> None:
        token = await editor_token(http, "full")
        colors = ["#111111", "#222222", "#333333", "#444444"]
        responses = [await upload(http, "full", token, pictures.picture(color=c)) for c in colors]

        assert [r.status_code for r in responses] == [201, 201, 201, 409]
        assert responses[-1].json()["limit"] == "max_images_per_board"
        assert f"max_images_per_board {MAX_IMAGES_PER_BOARD}" in responses[-1].json()["detail"]
        assert (await upload(http, "full", token, pictures.picture(color=colors[0]))).status_code == 201


class TestPlacedTogether:
    async def test_one_places_an_image_the_other_sees_it_moved_and_every_export_shows_it(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        ann_token, bob_token = (
            await editor_token(http, "gallery", "Ann"),
            await editor_token(http, "gallery", "Bob"),
        )
        digest = (await upload(http, "gallery", ann_token, pictures.picture(40, 20, "#2f9e44"))).json()[
            "image"
        ]
        url = stack.room.url
        async with (
            await RoomClient.join(url, "gallery", name="Ann", token=ann_token) as ann,
            await RoomClient.join(url, "gallery", name="Bob", token=bob_token) as bob,
        ):
            placed = await ann.submit(AddImage(id="img-1", image=digest, x=100, y=50, w=200, h=100))
            moved = await bob.submit(Transform(id="mv-1", items=["img-1"], m=(1, 0, 0, 1, 20, 10)))
            assert isinstance(placed, Ack)
            assert isinstance(moved, Ack)

            async def both_applied() -> bool:
                return bob.board.seq >= moved.seq and ann.board.seq >= moved.seq

            await eventually_async(both_applied, timeout=10, what="both boards at the transform")
            assert [item.id for item in bob.board.strokes] == ["img-1"]
            assert bob.board.state_hash() == ann.board.state_hash()

        board = await board_at(http, "gallery", moved.seq)
        svg = (await http.get("/api/v1/sessions/gallery/export.svg")).text
        exported = (await http.get("/api/v1/sessions/gallery/export.json")).json()
        png = (
            await http.get("/api/v1/sessions/gallery/export.png", params={"background": "#ffffff"})
        ).content

        assert board["strokes"][0]["kind"] == "image"
        assert '<image x="10000" y="5000" width="20000" height="10000"' in svg
        assert "data:image/png;base64," in svg
        assert exported["images"][digest]["media_type"] == "image/png"
        assert hashlib.sha256(base64.b64decode(exported["images"][digest]["data"])).hexdigest() == digest
        # The export's box starts 8 units left of and above the picture's (moved) corner (120, 60).
        with Image.open(io.BytesIO(png)) as drawn:
            assert drawn.convert("RGB").getpixel((8 + 100, 8 + 50)) == (0x2F, 0x9E, 0x44)

        # A JSON import into another board brings the picture along, stored there under its own name.
        target = await editor_token(http, "gallery-copy")
        imported = await http.post(
            "/api/v1/sessions/gallery-copy/import", json=exported, headers=bearer(target)
        )
        assert imported.status_code == 200, imported.text
        copy = await board_at(http, "gallery-copy", imported.json()["seq"])
        [item] = copy["strokes"]
        assert item["kind"] == "image"
        served = await http.get(
            f"/api/v1/sessions/gallery-copy/images/{item['image']}", headers=bearer(target)
        )
        assert served.status_code == 200

    async def test_an_import_whose_image_is_hostile_adds_nothing(self, http: httpx.AsyncClient) -> None:
        token = await editor_token(http, "bad-import")
        digest = "ab" * 32
        exported = {
            "format": "drawnet.board.v1",
            "strokes": [{"kind": "image", "id": "i1", "image": digest, "x": 0, "y": 0, "w": 10, "h": 10}],
            "images": {
                digest: {"media_type": "image/png", "data": base64.b64encode(pictures.SVG_AS_PNG).decode()}
            },
        }
        response = await http.post("/api/v1/sessions/bad-import/import", json=exported, headers=bearer(token))
        board = (await http.get("/api/v1/sessions/bad-import/board")).json()

        assert response.status_code == 415, response.text
        assert response.json()["limit"] == "image_format"
        assert board["strokes"] == []
        assert await stored(http, "bad-import", token) == []


class TestThumbnails:
    async def test_a_thumbnail_is_drawn_once_per_board_seq_and_revalidated_by_its_etag(
        self, stack: Stack, http: httpx.AsyncClient
    ) -> None:
        token = await editor_token(http, "thumbs")
        digest = (await upload(http, "thumbs", token, pictures.picture(40, 20, "#2f9e44"))).json()["image"]
        async with await RoomClient.join(stack.room.url, "thumbs", name="Ann", token=token) as ann:
            placed = await ann.submit(AddImage(id="i1", image=digest, x=0, y=0, w=400, h=200))
        assert isinstance(placed, Ack)
        await board_at(http, "thumbs", placed.seq)

        def drawn() -> float:
            text = httpx.get(f"{stack.service.url}/metrics").text
            return metric(text, "drawnet_drawing_thumbnails_drawn_total") or 0.0

        before = drawn()
        first = await http.get("/api/v1/sessions/thumbs/thumbnail.png")
        again = await http.get("/api/v1/sessions/thumbs/thumbnail.png")
        unchanged = await http.get(
            "/api/v1/sessions/thumbs/thumbnail.png", headers={"If-None-Match": first.headers["etag"]}
        )

        assert first.status_code == 200
        assert first.headers["content-type"] == "image/png"
        assert first.headers["etag"].startswith(f'"{placed.seq}-')
        assert again.content == first.content
        assert unchanged.status_code == 304
        assert drawn() == before + 1  # the second one came from the per-seq cache
        with Image.open(io.BytesIO(first.content)) as small:
            assert max(small.size) <= 320
            assert small.height <= 200
            assert small.convert("RGB").getpixel((small.width // 2, small.height // 2)) == (0x2F, 0x9E, 0x44)
