"""`create_app()`: the Litestar application, its connections held in one lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Litestar, MediaType, Response, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.params import Parameter
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.static_files import create_static_files_router
from nats.errors import Error as NatsError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from drawnet.bus import connect, ensure_ops_stream
from drawnet.drawing import db
from drawnet.drawing.persister import Persister
from drawnet.drawing.settings import DrawingSettings
from drawnet.protocol import AddStroke, Board, Committed, Op, valid_name
from drawnet.protocol.codec import to_builtins

log = logging.getLogger(__name__)

_op_decoder = msgspec.json.Decoder(Op)
SessionName = Annotated[str, Parameter(description="Session name (a DNS-1123 label)")]


class SessionSummary(msgspec.Struct):
    name: str
    ops: int
    seq: int


class BoardView(msgspec.Struct):
    session: str
    seq: int
    strokes: list[AddStroke]


def _session(name: str) -> str:
    if not valid_name(name):
        raise ProblemDetailsException(
            status_code=422,
            title="Invalid session name",
            detail=f"{name[:70]!r} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)",
            type_="https://drawnet.dev/problems/invalid-session-name",
        )
    return name


@get("/healthz", include_in_schema=False, media_type=MediaType.TEXT)
async def healthz() -> str:
    return "ok"


@get("/readyz", include_in_schema=False, media_type=MediaType.TEXT)
async def readyz(state: State) -> Response[str]:
    problems = []
    try:
        await db.ping(state.engine)
    except (SQLAlchemyError, OSError) as error:
        problems.append(f"database: {error.__class__.__name__}")
    if not state.nc.is_connected:
        problems.append("nats: disconnected")
    if problems:
        return Response("; ".join(problems), status_code=503, media_type=MediaType.TEXT)
    return Response("ready", media_type=MediaType.TEXT)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@get("/api/v1/sessions", summary="Sessions that have a board")
async def list_sessions(state: State) -> list[SessionSummary]:
    rows = await db.sessions_summary(state.engine, state.settings.namespace)
    return [SessionSummary(name=name, ops=ops, seq=seq) for name, ops, seq in rows]


@get("/api/v1/sessions/{session:str}/ops", summary="Committed ops after a sequence number")
async def list_ops(
    state: State,
    session: SessionName,
    after: Annotated[int, Parameter(ge=0, description="Return ops with seq greater than this")] = 0,
    limit: Annotated[int, Parameter(ge=1, le=10_000)] = 1_000,
) -> list[dict[str, Any]]:
    rows = await db.ops_after(state.engine, state.settings.namespace, _session(session), after, limit)
    return [
        to_builtins(Committed(seq=row.seq, by=row.author, op=_op_decoder.decode(row.body))) for row in rows
    ]


@get("/api/v1/sessions/{session:str}/board", summary="The board as stored: its strokes at a sequence")
async def get_board(state: State, session: SessionName) -> BoardView:
    board = Board()
    after = 0
    while True:
        rows = await db.ops_after(state.engine, state.settings.namespace, _session(session), after, 5_000)
        for row in rows:
            board.apply(Committed(seq=row.seq, by=row.author, op=_op_decoder.decode(row.body)))
        if len(rows) < 5_000:
            break
        after = rows[-1].seq
    return BoardView(session=session, seq=board.seq, strokes=board.strokes)


def _index_page(settings: DrawingSettings) -> str:
    """index.html with the server's configuration injected, so the page needs no extra request."""
    page = (settings.frontend_dir / "index.html").read_text()
    config = json.dumps({"roomUrl": settings.room_public_url, "namespace": settings.namespace})
    # Inside <script> entities are not decoded: escaping "<" keeps "</script>" out, and JSON reads \u003c.
    safe = config.replace("<", "\\u003c")
    tag = f'<script id="drawnet-config" type="application/json">{safe}</script>'
    return page.replace('<script id="drawnet-config" type="application/json">{}</script>', tag)


@get(["/", "/s/{session:str}"], include_in_schema=False, media_type=MediaType.HTML)
async def web_app(state: State) -> Response[str]:
    return Response(
        state.index_page,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-cache"},
    )


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: DrawingSettings = app.state.settings
    engine = db.make_engine(settings.async_database_url)
    await db.create_schema(engine)
    nc = await connect(settings.nats_url, name="drawnet-drawing")
    js = nc.jetstream()
    await ensure_ops_stream(js, duplicate_window_seconds=settings.duplicate_window_seconds)
    persister = Persister(
        js,
        engine,
        batch_size=settings.persist_batch_size,
        fetch_timeout=settings.persist_fetch_timeout_seconds,
        retry_seconds=settings.persist_retry_seconds,
    )
    task = asyncio.create_task(persister.run(), name="persister")
    app.state.engine, app.state.nc, app.state.persister = engine, nc, persister
    try:
        yield
    finally:
        persister.stop()
        try:
            await asyncio.wait_for(task, timeout=settings.persist_fetch_timeout_seconds + 5)
        except TimeoutError:
            log.warning("persister did not stop in time; unacknowledged ops will be redelivered")
        with contextlib.suppress(NatsError, TimeoutError):
            await nc.drain()
        await engine.dispose()


def create_app(settings: DrawingSettings | None = None) -> Litestar:
    settings = settings or DrawingSettings()
    static: Path = settings.frontend_dir
    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics_endpoint,
            list_sessions,
            list_ops,
            get_board,
            web_app,
            create_static_files_router(path="/js", directories=[static / "js"], include_in_schema=False),
            create_static_files_router(path="/css", directories=[static / "css"], include_in_schema=False),
        ],
        state=State({"settings": settings, "index_page": _index_page(settings)}),
        lifespan=[_lifespan],
        plugins=[ProblemDetailsPlugin(ProblemDetailsConfig(enable_for_all_http_exceptions=True))],
        openapi_config=OpenAPIConfig(title="Drawnet", version="1", path="/api/v1/schema"),
    )
