"""A board's history, from SQL: every op with who committed it and when (the web app's timeline replays
them), and "restore as a copy": a new board holding the board as it was at any seq."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import MediaType, Response, get, post
from litestar.params import Parameter
from sqlalchemy import select
from sqlmodel import col

from drawnet.drawing import imagestore
from drawnet.drawing.access import READERS, Caller, require
from drawnet.drawing.api.boards import MAX_SEQ, _publish, _replayed
from drawnet.drawing.api.pages import page_size
from drawnet.drawing.api.sessions import SessionPath, access_to, create_owned, session_view
from drawnet.drawing.context import Context
from drawnet.drawing.errors import InvalidInputError
from drawnet.drawing.models import OpRow, UserRow
from drawnet.drawing.oplog import decode_op
from drawnet.drawing.schemas import Placement, Session, SessionCreate, Title, Visibility
from drawnet.protocol import AddImage, Board, Committed

TAG = ["history"]
_encoder = msgspec.json.Encoder()


class HistoryEntry(msgspec.Struct, frozen=True):
    seq: int
    by: str
    """Who committed it: an account id or `guest:<id>` (names in `authors`)."""
    ts: float
    """When the room accepted it (unix seconds)."""
    op: msgspec.Raw


class HistoryPage(msgspec.Struct, frozen=True):
    ops: list[HistoryEntry]
    """In log order."""
    authors: dict[str, str]
    """Display names of the accounts among this page's authors (guests have none stored)."""
    next: int | None
    """`after` for the next page; null on the last one."""


@get(
    "/api/v1/sessions/{session:str}/history",
    tags=TAG,
    summary="The board's ops with who committed them and when, after a seq (readers)",
    description="Paged like `ops` (at most `max_ops_page_size` a page; `next` is the `after` of the next "
    "one). The web app's timeline replays them; each op is as the protocol encodes it.",
)
async def history(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    after: Annotated[int, Parameter(ge=0, le=MAX_SEQ, description="ops with a seq greater than this")] = 0,
    limit: Annotated[int | None, Parameter(ge=1, description="ops in this page")] = None,
) -> Response[HistoryPage]:
    access = await access_to(ctx, caller, session)
    require(access, READERS, caller, "read this board")
    size = page_size(
        limit,
        default=ctx.settings.max_ops_page_size,
        maximum=ctx.settings.max_ops_page_size,
        name="max_ops_page_size",
    )
    query = (
        select(col(OpRow.seq), col(OpRow.author), col(OpRow.ts), col(OpRow.body))
        .where(
            col(OpRow.namespace) == access.namespace,
            col(OpRow.session) == access.name,
            col(OpRow.seq) > after,
        )
        .order_by(col(OpRow.seq))
        .limit(size)
    )
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        accounts = sorted({by for _, by, _, _ in rows if not by.startswith("guest:")})
        authors: dict[str, str] = {}
        if accounts:
            users = select(col(UserRow.id), col(UserRow.display_name)).where(col(UserRow.id).in_(accounts))
            authors = {row[0]: row[1] for row in await conn.execute(users)}
    # The ops' bodies are the protocol's JSON already: sent as they are, not decoded and encoded again.
    entries = [HistoryEntry(seq, by, ts, msgspec.Raw(bytes(body))) for seq, by, ts, body in rows]
    body = HistoryPage(entries, authors, rows[-1][0] if len(rows) >= size else None)
    return Response(_encoder.encode(body), media_type=MediaType.JSON)  # type: ignore[arg-type]


class CopyRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    seq: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
    """The board as it was right after the op at this seq (0: empty)."""
    title: Title = ""
    """The copy's title (default: the board's, with the seq)."""
    visibility: Visibility = "private"


class Copy(msgspec.Struct, frozen=True):
    session: Session
    seq: int
    """The seq the copy was made at."""
    items: int
    """Items the copy holds."""


async def board_at(ctx: Context, namespace: str, name: str, seq: int) -> Board:
    """The board as it was at `seq`: its ops up to there, replayed from SQL in pages."""
    board = Board()
    after, size = 0, ctx.settings.max_ops_page_size
    while True:
        query = (
            select(col(OpRow.seq), col(OpRow.author), col(OpRow.body))
            .where(
                col(OpRow.namespace) == namespace,
                col(OpRow.session) == name,
                col(OpRow.seq) > after,
                col(OpRow.seq) <= seq,
            )
            .order_by(col(OpRow.seq))
            .limit(size)
        )
        async with ctx.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        # Decoded as the persister decodes ops (a stroke keeps its points as JSON): no model per row.
        for at, by, body in rows:
            board.apply(Committed(seq=at, by=by, op=decode_op(body)))
        if len(rows) < size:
            return board
        after = rows[-1][0]


@post(
    "/api/v1/sessions/{session:str}/copies",
    tags=TAG,
    status_code=201,
    summary="Restore as a copy: a new board (yours) holding this board as it was at a seq",
    description="Anyone who may read the board and is logged in (the copy is theirs, within "
    "`max_sessions_per_user`). Its items come with their transforms and edited texts, and its images.",
)
async def copy_board(ctx: Context, caller: Caller, session: SessionPath, data: CopyRequest) -> Copy:
    access = await access_to(ctx, caller, session)
    require(access, READERS, caller, "read this board")
    last = await _last_stored(ctx, access.namespace, access.name)
    if data.seq > last:
        raise InvalidInputError(f"seq {data.seq} is past the board's last stored seq {last}", last_seq=last)
    board = await board_at(ctx, access.namespace, access.name, data.seq)
    title = data.title.strip() or f"{access.row.title if access.row else access.name} (at {data.seq})"
    row = await create_owned(ctx, caller, SessionCreate(title=title[:200], visibility=data.visibility))
    copy = await access_to(ctx, caller, row.name)
    placed = board.placed()
    digests = {item.image for item, _, _ in placed if isinstance(item, AddImage)}
    await imagestore.copy(ctx.engine, (access.namespace, access.name), (copy.namespace, copy.name), digests)
    placements = {item.id: Placement(m=m, text=text) for item, m, text in placed if m or text is not None}
    by = caller.user.id if caller.user else "copy"
    items = [item for item, _, _ in placed]
    if items:
        await _publish(ctx, copy, by, _replayed(items, placements))
    return Copy(session=session_view(ctx, row, "owner"), seq=data.seq, items=len(items))


async def _last_stored(ctx: Context, namespace: str, name: str) -> int:
    async with ctx.engine.connect() as conn:
        found = await conn.scalar(
            select(col(OpRow.seq))
            .where(col(OpRow.namespace) == namespace, col(OpRow.session) == name)
            .order_by(col(OpRow.seq).desc())
            .limit(1)
        )
    return int(found or 0)


ROUTES = [history, copy_board]
