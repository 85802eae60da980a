"""Materialized boards: a snapshot per board, kept current by the persister, read by the API.

A board is its snapshot (strokes at `seq`) plus the ops stored after `seq`. The persister writes a
snapshot after `snapshot_every_ops` new ops or `snapshot_every_seconds` after the first op it lacks, so
the tail anyone replays is short.

A snapshot is a head (`snapshots` row: seq, undo history, the keys of its chunks) and its strokes in
chunks (`snapshot_chunks` rows) of about `CHUNK_BYTES` of JSON each, consecutive strokes in board order.
Strokes are only ever added at the top of a board, so new strokes go into the last chunk (or open a new
one), and a snapshot rewrites only the chunks whose strokes an op added, changed or dropped: its cost
follows the ops since the last one, not the size of the board (rewriting a 10,000-stroke board whole was
megabytes every few thousand ops; bench/persistence). A `reorder` (or its undo or redo) changes the
stacking order, which the chunks' order is: the next snapshot after one is written whole, in a new layout
that follows the new order (chunk keys only increase along the board, whatever the items' seqs). The
response of `GET …/snapshot` is the chunks' bytes joined: a `BoardState`, byte for byte what encoding the
board gives (a unit test keeps them equal).

Writes of changed chunks apply to the chunking they were made for: a head names its `layout`, made anew
by each whole write. When the stored head is not the one the persister last wrote (the API wrote the
board whole after a long replay, or a crash of PostgreSQL emptied the unlogged tables), nothing is
written and the board's next snapshot, due at once, is written whole.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.drawing import db
from drawnet.drawing.db import SnapshotWrite
from drawnet.drawing.models import OpRow
from drawnet.drawing.oplog import LoggedOp, decode_op
from drawnet.protocol import AddImage, AddNote, AddShape, AddStroke, AddText, Board, BoardState, Committed, Op
from drawnet.protocol.messages import Effect, StrokeEntry

log = logging.getLogger(__name__)

_op_decoder = msgspec.json.Decoder(Op)
_state_decoder = msgspec.json.Decoder(BoardState)
_encoder = msgspec.json.Encoder()
PAGE = 5_000
"""Ops read per query while replaying a tail."""
CHUNK_BYTES = 64 * 1024
"""A chunk takes no new strokes once its JSON is this large: about what a change to one stroke rewrites."""


def committed(row: OpRow) -> Committed:
    return Committed(seq=row.seq, by=row.author, op=_op_decoder.decode(row.body))


class _SnapshotStroke(msgspec.Struct, frozen=True):
    """`StrokeEntry` with its stroke as JSON already made: a chunk copies each stroke's bytes."""

    stroke: msgspec.Raw
    seq: int
    by: str
    undone: bool = False
    removed_by: list[str] = []
    m: list[float] | None = None
    text: str | None = None


class _Head(msgspec.Struct, frozen=True):
    """A snapshot's `BoardState` without its strokes, and the keys of the chunks that hold them."""

    chunks: list[int]
    effects: list[Effect] = []
    undo: dict[str, list[str]] = {}
    redo: dict[str, list[str]] = {}


class _RawHead(msgspec.Struct, frozen=True):
    chunks: list[int]
    effects: msgspec.Raw
    undo: msgspec.Raw
    redo: msgspec.Raw


_head_decoder = msgspec.json.Decoder(_RawHead)
_chunk_decoder = msgspec.json.Decoder(list[_SnapshotStroke])


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot as read from SQL, in one statement (its head and chunks from the same commit)."""

    seq: int
    layout: int
    head: _RawHead
    chunks: list[bytes]

    def state_json(self) -> bytes:
        """The board's `BoardState` as JSON, assembled from the stored bytes."""
        return b"".join(
            (
                b'{"seq":%d,"strokes":[' % self.seq,
                b",".join(self.chunks),
                b'],"effects":',
                self.head.effects,
                b',"undo":',
                self.head.undo,
                b',"redo":',
                self.head.redo,
                b"}",
            )
        )

    def strokes(self) -> Iterable[tuple[int, list[_SnapshotStroke]]]:
        """Each chunk's key and strokes (each stroke's JSON as stored)."""
        for key, body in zip(self.head.chunks, self.chunks, strict=True):
            yield key, _chunk_decoder.decode(b"[" + body + b"]")


async def read(engine: AsyncEngine, namespace: str, session: str) -> StoredSnapshot | None:
    """The board's stored snapshot; None when there is none, or when its chunks are not the ones its head
    names (it is then written again like a missing one)."""
    stored = await db.load_snapshot(engine, namespace, session)
    if stored is None:
        return None
    seq, layout, head_body, chunks = stored
    head = _head_decoder.decode(head_body)
    if head.chunks != [key for key, _ in chunks]:
        log.warning("the snapshot of %s/%s lacks chunks its head names: ignored", namespace, session)
        return None
    return StoredSnapshot(seq, layout, head, [body for _, body in chunks])


def decode_state(body: bytes) -> BoardState:
    return _state_decoder.decode(body)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """For building a whole board: its points are ~10^5 tuples, all kept, and the garbage collector's
    passes over them while they are made find nothing and cost more than the decode (a board of 10,000
    strokes decoded and built, in-process, others kept: 0.13-0.18 s with it paused, 0.17-0.56 s not).

    Nor does the first pass after it: the new objects go straight to the oldest generation (freeze, then
    unfreeze, moves every tracked object there without looking at them), where the next full collection
    finds them, if they are still there. Left young, they made the next allocation's collection walk all
    of them: 30-45 ms of each export of a 10,000-stroke board, after it was built and before it was drawn.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():  # never thaw what someone froze on purpose
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


# ------------------------------------------------------------------------------------------- writing


def _stroke_body(board: Board, stroke_id: str, bodies: dict[str, bytes]) -> tuple[StrokeEntry, bytes]:
    entry = board.entry(stroke_id)
    if entry is None:
        msg = f"stroke {stroke_id} is not on the board"
        raise KeyError(msg)
    body = bodies.get(stroke_id)
    if body is None:
        body = bodies[stroke_id] = _encoder.encode(entry.stroke)
    return entry, body


_entries_encoder = msgspec.json.Encoder()


def _chunk_body(board: Board, ids: Iterable[str], bodies: dict[str, bytes]) -> bytes:
    """A chunk's strokes as they appear in `BoardState.strokes`, without the brackets."""
    items = []
    for stroke_id in ids:
        entry, body = _stroke_body(board, stroke_id, bodies)
        items.append(
            _SnapshotStroke(
                msgspec.Raw(body), entry.seq, entry.by, entry.undone, entry.removed_by, entry.m, entry.text
            )
        )
    return _entries_encoder.encode(items)[1:-1]


class _Layout:
    """How the stored snapshot of a board splits its strokes into chunks, kept in step with the board."""

    def __init__(self, layout: int, seq: int) -> None:
        self.layout = layout
        self.seq = seq
        """The seq of the snapshot stored (or being written) in this layout."""
        self.chunks: dict[int, dict[str, None]] = {}
        """Chunk key -> its stroke ids in board order; in key order, which is board order."""
        self.chunk_of: dict[str, int] = {}
        self.open_bytes = 0
        """About how many bytes of JSON the last chunk holds."""

    def append(self, stroke_id: str, seq: int, size: int) -> int:
        """Put a stroke added at the top of the board into the last chunk, or into a new one: its key."""
        key = next(reversed(self.chunks), None)
        if key is None or self.open_bytes >= CHUNK_BYTES:
            # Keys increase along the board: an item's seq, or past the last key when a reorder put
            # items with older seqs above newer ones.
            key, self.open_bytes = seq if key is None else max(seq, key + 1), 0
            self.chunks[key] = {}
        self.chunks[key][stroke_id] = None
        self.chunk_of[stroke_id] = key
        self.open_bytes += size + 64  # the entry's fields around the stroke
        return key

    @classmethod
    def whole(cls, board: Board, bodies: dict[str, bytes]) -> _Layout:
        layout = cls(secrets.randbits(62), board.seq)
        for stroke_id in board.stroke_ids():
            entry, body = _stroke_body(board, stroke_id, bodies)
            layout.append(stroke_id, entry.seq, len(body))
        return layout

    def update(
        self, board: Board, changed: Iterable[str], bodies: dict[str, bytes]
    ) -> tuple[set[int], set[int]]:
        """Follow the strokes ops added, changed or dropped: (chunks to write, chunks to delete)."""
        dirty: set[int] = set()
        dropped: set[int] = set()
        for stroke_id in changed:
            key = self.chunk_of.get(stroke_id)
            on_board = board.holds(stroke_id)
            if key is None:
                if on_board:  # new: strokes are added at the top, and `changed` lists new ones in order
                    entry, body = _stroke_body(board, stroke_id, bodies)
                    dirty.add(self.append(stroke_id, entry.seq, len(body)))
                continue  # else added and dropped since the last snapshot
            dirty.add(key)
            if not on_board:
                del self.chunk_of[stroke_id]
                bodies.pop(stroke_id, None)
                ids = self.chunks[key]
                del ids[stroke_id]
                if not ids:
                    del self.chunks[key]
                    dropped.add(key)
        return dirty - dropped, dropped


def _head(board: Board, layout: _Layout) -> bytes:
    effects, undo, redo = board.history()
    return _encoder.encode(_Head(list(layout.chunks), effects, undo, redo))


def whole_snapshot(
    namespace: str, session: str, board: Board, bodies: dict[str, bytes] | None = None
) -> tuple[SnapshotWrite, _Layout]:
    """The board's snapshot written whole, in a new layout."""
    bodies = {} if bodies is None else bodies
    layout = _Layout.whole(board, bodies)
    chunks = {key: _chunk_body(board, ids, bodies) for key, ids in layout.chunks.items()}
    write = SnapshotWrite(
        namespace, session, board.seq, len(board), _head(board, layout), layout.layout, chunks, [], None
    )
    return write, layout


async def save(engine: AsyncEngine, write: SnapshotWrite) -> bool:
    """Write a snapshot in its own transaction: False when the stored one made it moot (see `db`)."""
    async with engine.begin() as conn:
        return await db.save_snapshot(conn, write)


@dataclass
class StoredBoard:
    board: Board
    snapshot_seq: int
    """The seq of the snapshot it was loaded from (0: none); ops after it were replayed."""
    tail: int
    """Ops replayed on top of the snapshot."""


async def _replay(
    engine: AsyncEngine, namespace: str, session: str, board: Board, bodies: dict[str, bytes] | None
) -> int:
    """Apply every op stored after the board's seq: how many there were."""
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
            return tail
        after = rows[-1].seq


async def load_board(engine: AsyncEngine, namespace: str, session: str) -> StoredBoard:
    """The board as stored: its snapshot, then every op stored after it."""
    snapshot = await read(engine, namespace, session)
    if snapshot is None:
        board, snapshot_seq = Board(), 0
    else:
        with _collector_paused():
            board, snapshot_seq = Board.from_state(decode_state(snapshot.state_json())), snapshot.seq
    tail = await _replay(engine, namespace, session, board, None)
    return StoredBoard(board, snapshot_seq, tail)


def _lazy_board(snapshot: StoredSnapshot, bodies: dict[str, bytes]) -> tuple[Board, _Layout]:
    """The board a snapshot holds, its strokes keeping their points as JSON (`oplog.decode_op`), their
    JSON in `bodies`; and its chunks."""
    layout = _Layout(snapshot.layout, snapshot.seq)
    strokes = []
    for key, items in snapshot.strokes():
        layout.chunks[key] = {}
        for item in items:
            stroke = decode_op(item.stroke)
            if not isinstance(stroke, AddStroke | AddShape | AddText | AddNote | AddImage):
                msg = f"a snapshot's stroke is a {stroke.__struct_config__.tag} op"
                raise msgspec.ValidationError(msg)
            bodies[stroke.id] = bytes(item.stroke)
            strokes.append(
                StrokeEntry(stroke, item.seq, item.by, item.undone, item.removed_by, item.m, item.text)
            )
            layout.chunks[key][stroke.id] = None
            layout.chunk_of[stroke.id] = key
    if layout.chunks:
        last = next(reversed(layout.chunks))
        layout.open_bytes = sum(len(bodies[stroke_id]) + 64 for stroke_id in layout.chunks[last])
    history = msgspec.json.decode(
        b'{"chunks":[],"effects":%s,"undo":%s,"redo":%s}'
        % (snapshot.head.effects, snapshot.head.undo, snapshot.head.redo),
        type=_Head,
    )
    state = BoardState(snapshot.seq, strokes, history.effects, history.undo, history.redo)
    return Board.from_state(state), layout


@dataclass
class _Cached:
    board: Board
    bodies: dict[str, bytes] = field(default_factory=dict)
    """Its strokes' JSON as logged, by id, for its snapshots."""
    layout: _Layout | None = None
    """The chunks of its stored snapshot (None: its next snapshot is written whole)."""
    pending: int = 0
    """Ops applied since the last snapshot written."""
    first_pending_at: float = 0.0


def _snapshot(namespace: str, session: str, cached: _Cached) -> SnapshotWrite:
    """The snapshot of a cached board now: its changed chunks, or all of them in a new layout."""
    board, layout = cached.board, cached.layout
    changed = board.take_changes()
    if board.take_reordered():
        layout = None  # the chunks no longer follow the board's order
    if layout is None:
        write, cached.layout = whole_snapshot(namespace, session, board, cached.bodies)
        return write
    dirty, dropped = layout.update(board, changed, cached.bodies)
    after, layout.seq = layout.seq, board.seq
    chunks = {key: _chunk_body(board, layout.chunks[key], cached.bodies) for key in sorted(dirty)}
    head = _head(board, layout)
    return SnapshotWrite(
        namespace, session, board.seq, len(board), head, layout.layout, chunks, sorted(dropped), after
    )


class BoardCache:
    """The persister's boards in memory (LRU), and the decision of when each one's snapshot is due."""

    def __init__(self, engine: AsyncEngine, *, capacity: int, every_ops: int, every_seconds: float) -> None:
        self._engine = engine
        self._capacity = capacity
        self._every_ops = every_ops
        self._every_seconds = every_seconds
        self._boards: OrderedDict[tuple[str, str], _Cached] = OrderedDict()

    async def _load(self, namespace: str, session: str) -> _Cached:
        bodies: dict[str, bytes] = {}
        stored = await read(self._engine, namespace, session)
        board, layout = (Board(), None) if stored is None else _lazy_board(stored, bodies)
        board.track_changes()
        tail = await _replay(self._engine, namespace, session, board, bodies)
        return _Cached(board, bodies, layout, pending=tail, first_pending_at=time.monotonic())

    async def _get(self, key: tuple[str, str]) -> _Cached:
        cached = self._boards.get(key)
        if cached is None:
            cached = self._boards[key] = await self._load(*key)
            while len(self._boards) > self._capacity:
                self._boards.popitem(last=False)  # its ops are in SQL: it reloads from there
        self._boards.move_to_end(key)
        return cached

    async def absorb(self, rows: Iterable[LoggedOp]) -> list[SnapshotWrite]:
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

    def take_due(self, now: float | None = None) -> list[SnapshotWrite]:
        """Snapshots of boards with `every_ops` ops not in their snapshot, or older than `every_seconds`.

        They count as written from here: the caller writes them, retrying until the database takes them,
        and reports those it found moot (`moot()`), or calls `clear()` when it gives up.
        """
        now = time.monotonic() if now is None else now
        due = []
        for (namespace, session), cached in self._boards.items():
            if cached.pending and (
                cached.pending >= self._every_ops or now - cached.first_pending_at >= self._every_seconds
            ):
                due.append(_snapshot(namespace, session, cached))
                cached.pending = 0
        return due

    def moot(self, writes: Iterable[SnapshotWrite]) -> None:
        """Snapshots the database did not take (the stored one was not what they were made for): the next
        snapshot of each of their boards is written whole, and is due at once."""
        for write in writes:
            cached = self._boards.get((write.namespace, write.session))
            if cached is not None:
                cached.layout = None
                cached.pending = max(cached.pending, self._every_ops)

    def clear(self) -> None:
        """Forget every board: each reloads from SQL (its snapshot and the ops after it) when next needed."""
        self._boards.clear()
