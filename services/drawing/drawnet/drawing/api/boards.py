"""Boards: the snapshot, ops after a sequence number, exports (SVG, PNG, JSON) and imports."""

from __future__ import annotations

import asyncio
import hashlib
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Annotated, cast

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import ResponseHeader, State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_304_NOT_MODIFIED
from nats.errors import Error as NatsError

from drawnet.drawing import conditional, db, imagestore, metrics, persister, render, snapshots
from drawnet.drawing.access import READERS, WRITERS, Caller, SessionAccess, parse_ref, require
from drawnet.drawing.api.pages import page, page_size
from drawnet.drawing.api.sessions import SessionPath, access_to
from drawnet.drawing.context import Context
from drawnet.drawing.errors import InvalidInputError, LimitExceededError, UnavailableError
from drawnet.drawing.images import ImageLimits, ImageRefused, process
from drawnet.drawing.schemas import BoardExport, ExportedImage, Imported, Placement, Snapshot
from drawnet.protocol import (
    OPS_STREAM,
    AddImage,
    Board,
    Committed,
    EditText,
    Limits,
    Op,
    OpRecord,
    Transform,
    encode,
    ops_subject,
)
from drawnet.protocol.board import invertible
from drawnet.protocol.messages import Item
from drawnet.protocol.validation import LimitError, check_op

TAG = ["boards"]
_encoder = msgspec.json.Encoder()
MAX_SEQ = 2**63 - 1
"""Sequence numbers are 64-bit in JetStream and in SQL."""
PUBLISH_TIMEOUT_SECONDS = 60.0
"""How long an import waits for the op log to acknowledge every stroke."""
STORED_POLL_SECONDS = 0.25
"""While a read waits for its seq: how often the database is asked again when no batch of this process's
persister wakes it first (the persister may run in another replica)."""
NOT_MODIFIED = {
    HTTP_304_NOT_MODIFIED: ResponseSpec(
        None, description="Not Modified: the board is as it was when the `ETag` in `If-None-Match` was sent"
    )
}
AtLeast = Annotated[
    int | None,
    Parameter(
        ge=0,
        le=MAX_SEQ,
        description="the board at least at this seq (what the reader's page shows): waits up to "
        "`DRAWNET_DRAWING_BOARD_WAIT_SECONDS` for the op log's ops up to it to be stored, else 503; "
        "a seq past the op log's last is 422",
    ),
]
Background = Annotated[
    str,
    Parameter(
        pattern=r"^(#[0-9a-fA-F]{6}|transparent)$",
        description="`#rrggbb`, or `transparent`; the web app's board colour by default",
    ),
]


async def _readable(ctx: Context, caller: Caller, session: str) -> SessionAccess:
    access = await access_to(ctx, caller, session)
    require(access, READERS, caller, "read this board")
    return access


async def _reading(ctx: Context, caller: Caller, session: str, seq: int | None) -> SessionAccess:
    """The caller's access to a board they may read, once it is stored up to `seq` (when given)."""
    access = await _readable(ctx, caller, session)
    if seq:
        await _stored(ctx, access, seq)
    return access


async def _board(ctx: Context, caller: Caller, session: str, seq: int | None = None) -> snapshots.StoredBoard:
    access = await _reading(ctx, caller, session, seq)
    return await _load(ctx, access)


class Export:
    """One export of a board (`kind` and the options that change its bytes): its entity tag, from the seq
    of the board it shows. Ops are never changed once stored, so a board's seq names its content."""

    def __init__(self, ctx: Context, session: str, kind: str, *options: object) -> None:
        self._ctx, self.session, self.kind = ctx, session, kind
        self._options = "|".join(map(str, options))
        self._namespace = ctx.settings.namespace

    def etag(self, seq: int) -> str:
        named = "|".join((render.RENDERER, self._namespace, self.session, str(seq), self.kind, self._options))
        return f'"{seq}-{hashlib.blake2b(named.encode(), digest_size=12).hexdigest()}"'

    def headers(self, seq: int) -> dict[str, str]:
        return {**_download(self.session, seq, self.kind), "ETag": self.etag(seq)}

    async def board(
        self, caller: Caller, request: Request[object, object, State], seq: int | None
    ) -> snapshots.StoredBoard | Response[bytes]:
        """The board to export, or 304 Not Modified when the reader's copy (If-None-Match) is of the board
        as stored now: then the board is neither loaded nor drawn."""
        access = await _reading(self._ctx, caller, self.session, seq)
        self._namespace = access.namespace
        if request.headers.get("if-none-match"):
            last = await db.last_seq(self._ctx.engine, access.namespace, access.name)
            if conditional.unchanged(request, self.etag(last)):
                return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=self.headers(last))
        return await _load(self._ctx, access)


async def _stored(ctx: Context, access: SessionAccess, seq: int) -> None:
    """Return once the board's ops up to `seq` are stored; UnavailableError when the wait runs out, and
    InvalidInputError for a seq the op log has not reached.

    An op is acknowledged to its author when the op log has it, and stored a batch later: a page that
    shows seq N and asks for the board (an export) must get N, not the board of a moment ago. The board
    is stored up to N when its own ops reach N, or when every op of the log up to N is (the persister's
    ack floor): the seq may be another board's, or the board may have no op after it.
    """
    deadline = time.monotonic() + ctx.settings.board_wait_seconds
    while (stored := await db.last_seq(ctx.engine, access.namespace, access.name)) < seq:
        op_log = await _op_log(ctx, timeout=max(STORED_POLL_SECONDS, deadline - time.monotonic()))
        if op_log is not None:
            floor, last = op_log
            if floor >= seq:
                return
            if seq > last:
                raise InvalidInputError(
                    f"seq {seq} is past the op log, whose last seq is {last}: no board is at it yet",
                    logged_seq=last,
                )
        left = deadline - time.monotonic()
        if left <= 0:
            raise UnavailableError(
                f"the board is stored up to seq {stored}, not yet up to seq {seq}: "
                f"the persister is behind (waited {ctx.settings.board_wait_seconds:g} s)",
                headers={"Retry-After": "1"},
                stored_seq=stored,
            )
        await ctx.persister.progressed(min(left, STORED_POLL_SECONDS))


async def _op_log(ctx: Context, *, timeout: float) -> tuple[int, int] | None:
    """(the seq up to which every op of the log is stored, the log's last seq), from JetStream: the
    persister's ack floor (it acknowledges after commit) and the stream's last seq. None when NATS does not
    answer within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            consumer = await ctx.js.consumer_info(OPS_STREAM, persister.CONSUMER)
            stream = await ctx.js.stream_info(OPS_STREAM)
    except (NatsError, TimeoutError):
        return None
    return consumer.ack_floor.stream_seq or 0, stream.state.last_seq or 0


async def _load(ctx: Context, access: SessionAccess) -> snapshots.StoredBoard:
    """The stored board; one that needed a long replay gets its snapshot written for the next reader
    (a board the persister has not snapshotted yet, or a snapshot PostgreSQL dropped in a crash)."""
    stored = await snapshots.load_board(ctx.engine, access.namespace, access.name)
    if stored.tail >= ctx.settings.snapshot_every_ops:
        write, _ = snapshots.whole_snapshot(access.namespace, access.name, stored.board)
        await snapshots.save(ctx.engine, write)
    return stored


@get(
    "/api/v1/sessions/{session:str}/snapshot",
    tags=TAG,
    summary="The board's state at its latest stored seq (what a room loads)",
    response_headers=[
        ResponseHeader(
            name="X-Drawnet-Snapshot-Seq",
            description="seq of the stored snapshot it started from",
            documentation_only=True,
        ),
        ResponseHeader(
            name="X-Drawnet-Tail-Ops",
            description="ops replayed on top of that snapshot",
            documentation_only=True,
        ),
    ],
)
async def get_snapshot(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    namespace: Annotated[
        str | None,
        Parameter(
            description="the session's namespace (rooms send theirs); one this service does not serve "
            "(its own and `session_namespaces`) is 404",
            max_length=63,
        ),
    ] = None,
) -> Response[Snapshot]:
    # A room of a session in a namespace not served here must not load the board of the same name in
    # ours (a 404: it replays its own namespace's op log instead).
    home = ctx.settings.namespace
    access = await _readable(ctx, caller, session if namespace in {None, home} else f"{namespace}.{session}")
    namespace = access.namespace
    recent = await db.recent_op_ids(ctx.engine, namespace, access.name, ctx.settings.recent_op_ids)
    stored = await snapshots.read(ctx.engine, namespace, access.name)
    if stored is not None and not await db.ops_after(ctx.engine, namespace, access.name, stored.seq, 1):
        # The stored snapshot is the board: send its bytes as they are, with our two fields added.
        extra = _encoder.encode({"session": access.name, "recent": recent})
        body = stored.state_json()[:-1] + b"," + extra[1:]
        headers = {"X-Drawnet-Snapshot-Seq": str(stored.seq), "X-Drawnet-Tail-Ops": "0"}
        return cast("Response[Snapshot]", Response(body, media_type=MediaType.JSON, headers=headers))
    board = await _load(ctx, access)
    state = board.board.state()
    snapshot = Snapshot(
        seq=state.seq,
        strokes=state.strokes,
        effects=state.effects,
        undo=state.undo,
        redo=state.redo,
        session=access.name,
        recent=recent,
    )
    headers = {"X-Drawnet-Snapshot-Seq": str(board.snapshot_seq), "X-Drawnet-Tail-Ops": str(board.tail)}
    return Response(snapshot, headers=headers)


@get("/api/v1/sessions/{session:str}/board", tags=TAG, summary="The board's strokes at its latest seq")
async def get_board(ctx: Context, caller: Caller, session: SessionPath, seq: AtLeast = None) -> BoardExport:
    stored = await _board(ctx, caller, session, seq)
    return _export(session, stored.board)


@get("/api/v1/sessions/{session:str}/ops", tags=TAG, summary="Committed ops after a sequence number")
async def list_ops(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    request: Request[object, object, State],
    after: Annotated[
        int, Parameter(ge=0, le=MAX_SEQ, description="return ops with a seq greater than this")
    ] = 0,
    limit: Annotated[int | None, Parameter(ge=1, description="ops in this page")] = None,
) -> Response[list[Committed]]:
    access = await _readable(ctx, caller, session)
    size = page_size(
        limit,
        default=ctx.settings.max_ops_page_size,
        maximum=ctx.settings.max_ops_page_size,
        name="max_ops_page_size",
    )
    rows = await db.ops_after(ctx.engine, access.namespace, access.name, after, size)
    items = [snapshots.committed(row) for row in rows]
    return page(items, limit=size, cursor=str(rows[-1].seq) if rows else None, request=request)


def _background(value: str) -> str | None:
    return None if value == "transparent" else value


@get(
    "/api/v1/sessions/{session:str}/export.svg",
    tags=TAG,
    media_type="image/svg+xml",
    summary="The board as SVG, drawn as the web app draws it",
    responses=NOT_MODIFIED,
)
async def export_svg(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    request: Request[object, object, State],
    background: Background = render.BACKGROUND,
    seq: AtLeast = None,
) -> Response[str]:
    export = Export(ctx, session, "svg", background)
    async with ctx.export_gate.turn():
        stored = await export.board(caller, request, seq)
        if isinstance(stored, Response):
            return cast("Response[str]", stored)
        images = await _pictures(ctx, session, stored.board)
        with metrics.EXPORT_SECONDS.labels("svg").time():
            body = await asyncio.to_thread(
                render.svg, stored.board.placed(), background=_background(background), images=images
            )
    return Response(
        body,
        media_type="image/svg+xml",
        headers=export.headers(stored.board.seq),
        background=_freed_after_sending(stored),
    )


@get(
    "/api/v1/sessions/{session:str}/export.png",
    tags=TAG,
    media_type="image/png",
    summary="The board as PNG, drawn as the web app draws it",
    responses=NOT_MODIFIED,
)
async def export_png(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    request: Request[object, object, State],
    background: Background = render.BACKGROUND,
    scale: Annotated[
        float, Parameter(gt=0, le=8, description="pixels per board unit (reduced to fit)")
    ] = 1.0,
    seq: AtLeast = None,
) -> Response[bytes]:
    export = Export(ctx, session, "png", background, scale, ctx.settings.max_export_pixels)
    try:
        async with ctx.export_gate.turn():
            stored = await export.board(caller, request, seq)
            if isinstance(stored, Response):
                return stored
            images = await _pictures(ctx, session, stored.board)
            with metrics.EXPORT_SECONDS.labels("png").time():
                body = await asyncio.to_thread(
                    render.png,
                    stored.board.placed(),
                    scale=scale,
                    max_pixels=ctx.settings.max_export_pixels,
                    background=_background(background),
                    workers=ctx.exports,
                    bands=ctx.settings.export_workers,
                    on_bands=metrics.PNG_BANDS.inc,
                    images=images,
                )
    except BrokenProcessPool as died:
        # The next export gets new workers (drawing.workers).
        raise UnavailableError(
            "an export worker stopped while drawing this board; try again", headers={"Retry-After": "1"}
        ) from died
    return Response(
        body,
        media_type="image/png",
        headers=export.headers(stored.board.seq),
        background=_freed_after_sending(stored),
    )


@get(
    "/api/v1/sessions/{session:str}/export.json",
    tags=TAG,
    summary="The board as JSON (for import)",
    responses=NOT_MODIFIED,
)
async def export_json(
    ctx: Context,
    caller: Caller,
    session: SessionPath,
    request: Request[object, object, State],
    seq: AtLeast = None,
) -> Response[BoardExport]:
    export = Export(ctx, session, "json")
    async with ctx.export_gate.turn():
        stored = await export.board(caller, request, seq)
        if isinstance(stored, Response):
            return cast("Response[BoardExport]", stored)
        images = await _pictures(ctx, session, stored.board)
    body = _export(session, stored.board, images)
    return Response(body, headers=export.headers(stored.board.seq), background=_freed_after_sending(stored))


async def _keep(_: object) -> None:
    return


def _freed_after_sending(stored: snapshots.StoredBoard) -> BackgroundTask:
    """Keeps an exported board until its response is sent: freeing its objects (its points are one tuple
    each) takes ~20 ms for 10,000 strokes, which the reader need not wait for."""
    return BackgroundTask(_keep, stored)


def _download(session: str, seq: int, extension: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{session}-{seq}.{extension}"',
        "Cache-Control": "no-cache",
    }


@post(
    "/api/v1/sessions/{session:str}/import",
    tags=TAG,
    status_code=200,
    summary="Add a JSON export's items to the board (owner, editor)",
)
async def import_board(ctx: Context, caller: Caller, session: SessionPath, data: BoardExport) -> Imported:
    access = await access_to(ctx, caller, session)
    require(access, WRITERS, caller, "draw on this board")
    limit = ctx.settings.max_import_ops
    if len(data.strokes) > limit:
        raise LimitExceededError(
            "max_import_ops", f"{len(data.strokes)} strokes exceed max_import_ops {limit}"
        )
    points = sum(len(getattr(item, "pts", ())) for item in data.strokes)
    most = ctx.settings.max_import_points
    if points > most:
        raise LimitExceededError("max_import_points", f"{points} points exceed max_import_points {most}")
    limits = Limits()
    for stroke in data.strokes:
        try:
            check_op(stroke, limits)
        except LimitError as error:
            raise LimitExceededError(error.limit, f"{_kind(stroke)} {stroke.id!r}: {error.reason}") from error
    for item_id, placement in data.placements.items():
        if placement.m is not None and not invertible(placement.m):
            reason = f"item {item_id!r}: its transform cannot be undone (determinant 0)"
            raise LimitExceededError("singular_transform", reason)
    stored = await snapshots.load_board(ctx.engine, access.namespace, access.name)
    present = {stroke.id for stroke in stored.board.strokes}
    new = list({s.id: s for s in data.strokes if s.id not in present}.values())
    if (total := len(stored.board) + len(new)) > limits.max_strokes_per_board:
        raise LimitExceededError(
            "max_strokes_per_board",
            f"the board would hold {total} strokes, "
            f"over max_strokes_per_board {limits.max_strokes_per_board}",
        )
    held, adding = stored.board.points, sum(len(getattr(item, "pts", ())) for item in new)
    if held + adding > (most := ctx.settings.max_points_per_board):
        raise LimitExceededError(
            "max_points_per_board",
            f"the board holds {held} points and the import adds {adding}: over max_points_per_board {most}",
        )
    by = access.claims.sub if access.claims else caller.user.id if caller.user else "import"
    renamed = await _import_images(ctx, access, by, data, new)
    new = [msgspec.structs.replace(s, image=renamed[s.image]) if isinstance(s, AddImage) else s for s in new]
    seq = await _publish(ctx, access, by, _replayed(new, data.placements))
    return Imported(session=access.name, imported=len(new), seq=max(seq, stored.board.seq))


def _export(session: str, board: Board, images: imagestore.Pictures | None = None) -> BoardExport:
    placed = board.placed()
    placements = {
        item.id: Placement(m=m, text=text) for item, m, text in placed if m is not None or text is not None
    }
    return BoardExport(
        format="drawnet.board.v1",
        session=session,
        seq=board.seq,
        strokes=[item for item, _, _ in placed],
        placements=placements,
        images={
            digest: ExportedImage(media_type, data) for digest, (media_type, data) in (images or {}).items()
        },
    )


async def _pictures(ctx: Context, session: str, board: Board) -> imagestore.Pictures:
    """The stored images the board's visible `image` items show."""
    digests = {item.image for item, _, _ in board.placed() if isinstance(item, AddImage)}
    if not digests:
        return {}
    namespace, name = parse_ref(session, ctx.settings.namespace)
    return await imagestore.load_many(ctx.engine, namespace, name, digests)


async def _import_images(
    ctx: Context, access: SessionAccess, by: str, data: BoardExport, items: list[Item]
) -> dict[str, str]:
    """Store the images the imported items show, each checked and re-encoded like an upload; what each
    exported image is called on this board (re-encoding may give it another SHA-256). Nothing is stored
    unless every one of them passes."""
    settings = ctx.settings
    limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels, settings.max_image_side)
    wanted = {item.image for item in items if isinstance(item, AddImage)}
    missing = sorted(wanted - data.images.keys())
    if missing:
        raise InvalidInputError(
            f"image items show {len(missing)} images the export does not hold: {missing[0]}"
        )
    checked = {}
    async with ctx.export_gate.turn():
        for digest in sorted(wanted):
            try:
                checked[digest] = await asyncio.to_thread(process, data.images[digest].data, limits)
            except ImageRefused as refused:
                raise LimitExceededError(
                    refused.limit, f"image {digest[:12]}…: {refused.reason}", status=refused.status
                ) from refused
    fresh = {p.digest: p for p in checked.values()}
    held = await imagestore.digests(ctx.engine, access.namespace, access.name)
    if (total := len(held | fresh.keys())) > settings.max_images_per_board:
        raise LimitExceededError(
            "max_images_per_board",
            f"the board would hold {total} images, over max_images_per_board {settings.max_images_per_board}",
            status=409,
        )
    for processed in fresh.values():
        await imagestore.store(
            ctx.engine,
            access.namespace,
            access.name,
            processed,
            by,
            max_per_board=settings.max_images_per_board,
        )
    return {digest: processed.digest for digest, processed in checked.items()}


def _replayed(items: list[Item], placements: dict[str, Placement]) -> list[Op]:
    """The ops that rebuild exported items: each add, then a transform and an edit for those that had
    one. Their ids derive from the item's, so a retried import logs nothing twice."""
    ops: list[Op] = []
    for item in items:
        ops.append(item)
        placement = placements.get(item.id)
        if placement is None:
            continue
        tag = hashlib.sha256(item.id.encode()).hexdigest()[:24]
        if placement.m is not None:
            ops.append(Transform(id=f"import-{tag}-m", items=[item.id], m=placement.m))
        if placement.text is not None:
            ops.append(EditText(id=f"import-{tag}-t", item=item.id, text=placement.text))
    return ops


async def _publish(ctx: Context, access: SessionAccess, by: str, strokes: list[Op]) -> int:
    """Put ops into the op log in order, as the room does with committed ops (deduplicated by op id, so
    retrying an import that failed half-way adds nothing twice)."""
    subject = ops_subject(access.namespace, access.name)
    session = access.name
    try:
        pending = [
            await ctx.js.publish_async(
                subject,
                encode(OpRecord(by=by, op=stroke, ts=time.time())),
                headers={"Nats-Msg-Id": f"{session}/{stroke.id}"},
            )
            for stroke in strokes
        ]
        acks = await asyncio.wait_for(asyncio.gather(*pending), timeout=PUBLISH_TIMEOUT_SECONDS)
    except (NatsError, TimeoutError) as error:
        raise UnavailableError(
            f"the op log refused the import ({error.__class__.__name__}); retry it"
        ) from error
    return max((int(ack.seq) for ack in acks), default=0)


def _kind(item: Item) -> str:
    return str(type(item).__struct_config__.tag)


ROUTES = [get_snapshot, get_board, list_ops, export_svg, export_png, export_json, import_board]
