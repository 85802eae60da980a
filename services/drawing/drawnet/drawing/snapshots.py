"""Materialized boards: a snapshot row per board, kept current by the persister, read by the API.

A board is its snapshot (strokes at `seq`) plus the ops stored after `seq`. The persister rewrites a
snapshot after `snapshot_every_ops` new ops or `snapshot_every_seconds` after the first op it lacks, so
the tail anyone replays is short.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.drawing import db
from drawnet.drawing.models import OpRow, SnapshotRow
from drawnet.drawing.oplog import LoggedOp, decode_op
from drawnet.protocol import AddStroke, Board, BoardState, Committed, Op
from drawnet.protocol.messages import Effect, StrokeEntry

_op_decoder = msgspec.json.Decoder(Op)
_state_decoder = msgspec.json.Decoder(BoardState)
_encoder = msgspec.json.Encoder()
PAGE = 5_000
"""Ops read per query while replaying a tail."""


def committed(row: OpRow) -> Committed:
    return Committed(seq=row.seq, by=row.author, op=_op_decoder.decode(row.body))


class _SnapshotStroke(msgspec.Struct, frozen=True):
    """`StrokeEntry` with its stroke as JSON already made: a snapshot copies each stroke's bytes."""

    stroke: msgspec.Raw
    seq: int
    by: str
    undone: bool = False
    removed_by: list[str] = []


class _Snapshot(msgspec.Struct, frozen=True):
    """`BoardState`, encoded the same way (a unit test keeps the two equal), from `_SnapshotStroke`s."""

    seq: int
    strokes: list[_SnapshotStroke]
    effects: list[Effect] = []
    undo: dict[str, list[str]] = {}
    redo: dict[str, list[str]] = {}


def encode_state(board: Board, bodies: dict[str, bytes] | None = None) -> bytes:
    """The board's `BoardState` as JSON. With `bodies` (stroke id -> the stroke's JSON, as logged), the
    strokes are copied from there instead of encoded (a board's snapshot is rewritten every so many ops:
    encoding every stroke each time cost the persister a third of its time); strokes missing there are
    encoded once and added, strokes no longer on the board are dropped from it."""
    state = board.state()
    if bodies is None:
        return _encoder.encode(state)
    strokes = []
    for entry in state.strokes:
        body = bodies.get(entry.stroke.id)
        if body is None:
            body = bodies[entry.stroke.id] = _encoder.encode(entry.stroke)
        strokes.append(
            _SnapshotStroke(msgspec.Raw(body), entry.seq, entry.by, entry.undone, entry.removed_by)
        )
    if len(bodies) > len(strokes):
        kept = {entry.stroke.id for entry in state.strokes}
        for stroke_id in [stroke_id for stroke_id in bodies if stroke_id not in kept]:
            del bodies[stroke_id]
    return _encoder.encode(_Snapshot(state.seq, strokes, state.effects, state.undo, state.redo))


def decode_state(body: bytes) -> BoardState:
    return _state_decoder.decode(body)


def snapshot_row(
    namespace: str, session: str, board: Board, bodies: dict[str, bytes] | None = None
) -> SnapshotRow:
    return SnapshotRow(
        namespace=namespace,
        session=session,
        seq=board.seq,
        strokes=len(board),
        body=encode_state(board, bodies),
        updated_at=time.time(),
    )


async def save(engine: AsyncEngine, snapshot: SnapshotRow) -> None:
    async with engine.begin() as conn:
        await db.save_snapshot(conn, snapshot)


@dataclass
class StoredBoard:
    board: Board
    snapshot_seq: int
    """The seq of the snapshot it was loaded from (0: none); ops after it were replayed."""
    tail: int
    """Ops replayed on top of the snapshot."""


async def load_board(
    engine: AsyncEngine, namespace: str, session: str, *, bodies: dict[str, bytes] | None = None
) -> StoredBoard:
    """The board as stored: its snapshot, then every op stored after it.

    With `bodies` it is a board for the persister: its strokes keep their points as JSON (`oplog.decode_op`)
    and `bodies` receives each stroke's JSON by id, for its snapshots (see `encode_state`).
    """
    snapshot = await db.load_snapshot(engine, namespace, session)
    if snapshot is None:
        board, snapshot_seq = Board(), 0
    elif bodies is None:
        board, snapshot_seq = Board.from_state(decode_state(snapshot.body)), snapshot.seq
    else:
        board, snapshot_seq = Board.from_state(_lazy_state(snapshot.body, bodies)), snapshot.seq
    after, tail = board.seq, 0
    while True:
        rows = await db.ops_after(engine, namespace, session, after, PAGE)
        for row in rows:
            if bodies is None:
                board.apply(committed(row))
                continue
            op = decode_op(row.body)
            if board.apply(Committed(seq=row.seq, by=row.author, op=op)) and isinstance(op, AddStroke):
                bodies[op.id] = row.body
        tail += len(rows)
        if len(rows) < PAGE:
            return StoredBoard(board, snapshot_seq, tail)
        after = rows[-1].seq


_snapshot_decoder = msgspec.json.Decoder(_Snapshot)


def _lazy_state(body: bytes, bodies: dict[str, bytes]) -> BoardState:
    """A snapshot whose strokes keep their points as JSON; their JSON goes into `bodies`."""
    snapshot = _snapshot_decoder.decode(body)
    strokes = []
    for item in snapshot.strokes:
        stroke = decode_op(item.stroke)
        if not isinstance(stroke, AddStroke):
            msg = f"a snapshot's stroke is a {stroke.__struct_config__.tag} op"
            raise msgspec.ValidationError(msg)
        bodies[stroke.id] = bytes(item.stroke)
        strokes.append(StrokeEntry(stroke, item.seq, item.by, item.undone, item.removed_by))
    return BoardState(snapshot.seq, strokes, snapshot.effects, snapshot.undo, snapshot.redo)


@dataclass
class _Cached:
    board: Board
    bodies: dict[str, bytes] = field(default_factory=dict)
    """Its strokes' JSON as logged, by id, for its snapshots (see `encode_state`)."""
    pending: int = 0
    """Ops applied since the last snapshot written."""
    first_pending_at: float = 0.0


class BoardCache:
    """The persister's boards in memory (LRU), and the decision of when each one's snapshot is due."""

    def __init__(self, engine: AsyncEngine, *, capacity: int, every_ops: int, every_seconds: float) -> None:
        self._engine = engine
        self._capacity = capacity
        self._every_ops = every_ops
        self._every_seconds = every_seconds
        self._boards: OrderedDict[tuple[str, str], _Cached] = OrderedDict()

    async def _get(self, key: tuple[str, str]) -> _Cached:
        cached = self._boards.get(key)
        if cached is None:
            bodies: dict[str, bytes] = {}
            stored = await load_board(self._engine, *key, bodies=bodies)
            cached = _Cached(stored.board, bodies, pending=stored.tail, first_pending_at=time.monotonic())
            self._boards[key] = cached
            while len(self._boards) > self._capacity:
                self._boards.popitem(last=False)  # its ops are in SQL: it reloads from there
        self._boards.move_to_end(key)
        return cached

    async def absorb(self, rows: Iterable[LoggedOp]) -> list[SnapshotRow]:
        """Apply ops about to be stored to their boards; the snapshots now due. Idempotent (by seq)."""
        by_board: dict[tuple[str, str], list[LoggedOp]] = {}
        for row in rows:
            by_board.setdefault((row.namespace, row.session), []).append(row)
        now = time.monotonic()
        for key, board_rows in by_board.items():
            cached = await self._get(key)
            applied = 0
            for row in board_rows:
                if cached.board.apply(row.committed):
                    applied += 1
                    if isinstance(row.committed.op, AddStroke):
                        cached.bodies[row.committed.op.id] = row.body
            if applied and not cached.pending:
                cached.first_pending_at = now
            cached.pending += applied
        return self.take_due(now)

    def missing(self, rows: Iterable[LoggedOp]) -> bool:
        """Whether a board of these rows is not in memory (absorbing them loads it from SQL)."""
        return any((row.namespace, row.session) not in self._boards for row in rows)

    def take_due(self, now: float | None = None) -> list[SnapshotRow]:
        """Snapshots of boards with `every_ops` ops not in their snapshot, or older than `every_seconds`.

        They count as written from here: the caller writes them, retrying until the database takes them,
        or calls `clear()` when it gives up.
        """
        now = time.monotonic() if now is None else now
        due = []
        for (namespace, session), cached in self._boards.items():
            if cached.pending and (
                cached.pending >= self._every_ops or now - cached.first_pending_at >= self._every_seconds
            ):
                due.append(snapshot_row(namespace, session, cached.board, cached.bodies))
                cached.pending = 0
        return due

    def clear(self) -> None:
        """Forget every board: each reloads from SQL (its snapshot and the ops after it) when next needed."""
        self._boards.clear()
