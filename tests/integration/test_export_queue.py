"""Exports are bounded: at most max_concurrent_exports run at once and export_queue more wait; the rest
are told to come back (503 with Retry-After) at once instead of piling boards and images up in memory.
A real drawing service over a real nats-server, a board imported through the API, PNGs asked for at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from drawnet.embedded.components import DrawingService, NatsServer

pytestmark = pytest.mark.integration

CONCURRENT, QUEUE = 1, 1
STROKES = 3_000
POINTS_LIMIT = STROKES * 40


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrawingService]:
    folder: Path = tmp_path_factory.mktemp("exports")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    drawing = DrawingService(
        nats_url=nats_server.url,
        database_url=f"sqlite:///{folder / 'drawnet.db'}",
        log_path=folder / "drawing.log",
        extra_env={
            "DRAWNET_DRAWING_MAX_CONCURRENT_EXPORTS": str(CONCURRENT),
            "DRAWNET_DRAWING_EXPORT_QUEUE": str(QUEUE),
            "DRAWNET_DRAWING_EXPORT_WORKERS": "0",
            "DRAWNET_DRAWING_MAX_IMPORT_POINTS": str(POINTS_LIMIT),
        },
    ).start(timeout=90)
    yield drawing
    drawing.stop()
    nats_server.stop()


@pytest.fixture
async def http(service: DrawingService) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.url, timeout=120) as client:
        yield client


def stroke(n: int) -> dict[str, object]:
    y = (n // 60) * 12.0
    pts = [[(n % 60) * 20.0 + i, y + (i % 7), 0.5] for i in range(40)]
    return {
        "kind": "stroke",
        "id": f"s{n}",
        "tool": "pen",
        "color": "#1e1e1e",
        "width": 6,
        "opacity": 1,
        "pts": pts,
    }


async def test_exports_past_the_queue_are_told_to_retry_and_the_others_are_drawn(
    http: httpx.AsyncClient,
) -> None:
    token = (await http.post("/api/v1/sessions/crowded/join", json={"name": "Ex"})).json()["token"]
    imported = await http.post(
        "/api/v1/sessions/crowded/import",
        json={"format": "drawnet.board.v1", "strokes": [stroke(n) for n in range(STROKES)]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert imported.status_code == 200, imported.text
    seq = imported.json()["seq"]

    answers = await asyncio.gather(
        *(http.get(f"/api/v1/sessions/crowded/export.png?scale=4&seq={seq}") for _ in range(8))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(200) >= CONCURRENT + QUEUE
    refused = [answer for answer in answers if answer.status_code == 503]
    assert refused, statuses
    assert refused[0].headers["Retry-After"].isdigit()
    assert refused[0].json()["limit"] == "export_queue"
    # Once the crowd is gone, exports go through again.
    assert (await http.get(f"/api/v1/sessions/crowded/export.png?seq={seq}")).status_code == 200


async def test_an_import_of_too_many_points_is_refused_with_the_numbers(service: DrawingService) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=60) as http:
        token = (await http.post("/api/v1/sessions/heavy/join", json={"name": "Im"})).json()["token"]
        strokes = [stroke(n) for n in range(POINTS_LIMIT // 40 + 1)]
        response = await http.post(
            "/api/v1/sessions/heavy/import",
            json={"format": "drawnet.board.v1", "strokes": strokes},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 400
    assert response.json()["limit"] == "max_import_points"
    assert response.json()["detail"] == f"{len(strokes) * 40} points exceed max_import_points {POINTS_LIMIT}"
