"""A board: the state that the ordered log of durable ops builds, the same wherever it is built.

The room, the drawing service, the browser (`frontend/js/board.js`) and the tests all apply committed ops
in sequence order with these rules, so after quiescence they all reach the same `state_hash()`.

- Applying is idempotent per op id (exactly once) and monotonic in seq (an op at or below the board's seq
  is already in it).
- `stroke`, `shape`, `text`, `note` and `image` add an item on top; `erase` removes the named items that are
  visible; `clear` removes every visible item.
- `transform` applies its matrix after the transform each named visible item has (concurrent transforms
  compose in log order); undoing it applies the inverse matrix, redoing it the matrix again.
- `edit` replaces the text of a visible text or note; undoing it puts the text before it back.
- `reorder` moves the named visible items in the stacking order (`reorder()` says exactly how); undoing
  it puts each back just above the item that was below it (`restore()`), redoing it moves them again.
- `undo` and `redo` act on their author's own ops, newest first: each author has an undo stack and a redo
  stack of at most `UNDO_DEPTH` ops; a new op clears its author's redo stack. The room resolves which op an
  undo or redo targets before logging it, so the log says exactly what happens.
- An op that leaves both stacks can no longer be undone or redone: strokes it hid for good are dropped.
  So a board holds its visible strokes plus only those hidden strokes that an undo or redo can bring back,
  and the snapshot (`BoardState`) that late joiners and rooms load is exactly that.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import msgspec

from drawnet.protocol.messages import (
    AddImage,
    AddNote,
    AddShape,
    AddStroke,
    AddText,
    BoardState,
    ClearBoard,
    Committed,
    EditText,
    Effect,
    Erase,
    Item,
    Redo,
    Reorder,
    StrokeEntry,
    Transform,
    Undo,
)

Stroke = Item
"""An item on the board is the op that added it (named for the first kind of item)."""
Matrix = tuple[float, float, float, float, float, float]

ADDS = frozenset({"stroke", "shape", "text", "note", "image"})
"""The effect kinds of ops that add an item: undoing them hides it."""


def compose(m: Matrix, n: Matrix | None) -> Matrix:
    """`m` after `n` (n may be None: no transform). board.js's `compose` does the same float operations
    in the same order, so both boards reach the same bits."""
    if n is None:
        return m
    return (
        m[0] * n[0] + m[2] * n[1],
        m[1] * n[0] + m[3] * n[1],
        m[0] * n[2] + m[2] * n[3],
        m[1] * n[2] + m[3] * n[3],
        m[0] * n[4] + m[2] * n[5] + m[4],
        m[1] * n[4] + m[3] * n[5] + m[5],
    )


def determinant(m: Matrix) -> float:
    return m[0] * m[3] - m[1] * m[2]


MIN_DETERMINANT = 1e-9
"""A transform that squashes an item flatter than this (its area factor) cannot be undone: refused."""


def invertible(m: Matrix) -> bool:
    det = determinant(m)
    return math.isfinite(det) and abs(det) >= MIN_DETERMINANT


def invert(m: Matrix) -> Matrix:
    """The inverse of a matrix whose determinant is not 0 (the room refuses transforms that are)."""
    a, b, c, d, e, f = m
    det = a * d - b * c
    return (d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det)


UNDO_DEPTH = 100
"""Ops per author that can be undone (and as many that can be redone)."""

_hash_encoder = msgspec.json.Encoder(order="deterministic")


class _Stroke:
    """An item on the board: the op that added it, and what later ops did to it."""

    __slots__ = ("by", "m", "removed_by", "seq", "stroke", "text", "undone")

    def __init__(self, stroke: Stroke, seq: int, by: str) -> None:
        self.stroke = stroke
        self.seq = seq
        self.by = by
        self.undone = False
        self.removed_by: set[str] = set()
        self.m: Matrix | None = None
        self.text: str | None = None

    @property
    def visible(self) -> bool:
        return not self.undone and not self.removed_by


class _Effect:
    """What an undoable op did, so it can be undone and redone."""

    __slots__ = ("below", "by", "id", "kind", "m", "targets", "texts", "to", "undone")

    def __init__(
        self,
        op_id: str,
        by: str,
        kind: str,
        targets: tuple[str, ...],
        m: Matrix | None = None,
        texts: tuple[str, str] | None = None,
        to: str | None = None,
        below: tuple[str | None, ...] | None = None,
    ) -> None:
        self.id = op_id
        self.by = by
        self.kind = kind
        self.targets = targets
        self.undone = False
        self.m = m
        self.texts = texts
        self.to = to
        self.below = below


def reorder(order: list[str], targets: tuple[str, ...], to: str, visible: Callable[[str], bool]) -> list[str]:
    """The stacking order (ids bottom to top) after a `reorder` of `targets` (ids in `order`) `to`:

    - `front` / `back`: the targets go to the top / the bottom, in the order they had;
    - `forward`: from the bottom up, targets are carried along until the next entry that is visible
      and not a target, and put just above it (together, in their order); a target with none above it
      stays on top;
    - `backward`: the same from the top down, putting them just below it.

    Linear in the board's size; board.js's `reorder` does exactly the same.
    """
    moving = set(targets)
    if to in {"front", "back"}:
        rest = [i for i in order if i not in moving]
        moved = [i for i in order if i in moving]
        return rest + moved if to == "front" else moved + rest
    scan = order if to == "forward" else order[::-1]
    out: list[str] = []
    carried: list[str] = []
    for i in scan:
        if i in moving:
            carried.append(i)
            continue
        out.append(i)
        if carried and visible(i):
            out.extend(carried)
            carried.clear()
    out.extend(carried)
    return out if to == "forward" else out[::-1]


def restore(order: list[str], targets: tuple[str, ...], below: tuple[str | None, ...]) -> list[str]:
    """The stacking order after undoing a reorder: each target that is still in `order` goes just above
    the entry that was below it (`below`, aligned with `targets`; None: to the bottom). A target whose
    neighbour is gone for good stays where it is. Linear; board.js's `restore` does the same."""
    held = set(order)
    above: dict[str | None, str] = {
        neighbour: target
        for target, neighbour in zip(targets, below, strict=True)
        if target in held and (neighbour is None or neighbour in held)
    }
    moving = set(above.values())
    pending = set(moving)
    out: list[str] = []

    def put(entry: str | None) -> None:
        while (entry := above.get(entry)) is not None and entry in pending:
            pending.discard(entry)
            out.append(entry)

    put(None)
    for i in order:
        if i not in moving:
            out.append(i)
            put(i)
    out.extend(i for i in order if i in pending)  # only a malformed history leaves any (a cycle)
    return out


def _point_count(item: object) -> int:
    """The points of a stroke (other kinds of item have none)."""
    return len(getattr(item, "pts", ()))


class Board:
    """The strokes of one session in the order they were committed, with their undo history."""

    __slots__ = (
        "_effects",
        "_op_seqs",
        "_points",
        "_redo",
        "_reordered",
        "_strokes",
        "_touched",
        "_undo",
        "seq",
    )

    def __init__(self) -> None:
        self.seq = 0
        self._strokes: dict[str, _Stroke] = {}
        self._op_seqs: dict[str, int] = {}
        self._effects: dict[str, _Effect] = {}
        self._undo: dict[str, list[str]] = {}
        self._redo: dict[str, list[str]] = {}
        self._touched: dict[str, None] | None = None
        self._reordered = False
        self._points = 0

    # ------------------------------------------------------------------------------------- reading

    @property
    def strokes(self) -> list[Stroke]:
        """The visible strokes, bottom to top."""
        return [entry.stroke for entry in self._strokes.values() if entry.visible]

    @property
    def points(self) -> int:
        """Points of every stroke the board holds, visible or hidden (what its snapshot and a welcome
        carry): what a room's `max_points_per_board` bounds."""
        return self._points

    def __len__(self) -> int:
        return sum(1 for entry in self._strokes.values() if entry.visible)

    def entry(self, stroke_id: str) -> StrokeEntry | None:
        """The stroke as a snapshot holds it (visible or hidden); None when it is not on the board."""
        entry = self._strokes.get(stroke_id)
        if entry is None:
            return None
        return _entry_state(entry)

    def placed(self) -> list[tuple[Stroke, Matrix | None, str | None]]:
        """The visible items bottom to top, each with its transform and its edited text (or None)."""
        return [(e.stroke, e.m, e.text) for e in self._strokes.values() if e.visible]

    def holds(self, stroke_id: str) -> bool:
        """Whether the stroke is on the board (visible or hidden: in its snapshot)."""
        return stroke_id in self._strokes

    def stroke_ids(self) -> list[str]:
        """The ids of the strokes a snapshot holds (visible or hidden), bottom to top."""
        return list(self._strokes)

    def track_changes(self) -> None:
        """Start recording which strokes ops add, change or drop (see `take_changes`)."""
        self._touched = {}

    def take_changes(self) -> list[str]:
        """The strokes added, changed or dropped since tracking started or since the last call, in the
        order each was first touched (so strokes added since come in board order); [] when not tracking."""
        if not self._touched:
            return []
        touched, self._touched = list(self._touched), {}
        return touched

    def take_reordered(self) -> bool:
        """Whether the stacking order changed (a `reorder`, its undo or redo) since the last call."""
        reordered, self._reordered = self._reordered, False
        return reordered

    def seq_of(self, op_id: str) -> int | None:
        """The sequence number at which the op `op_id` was applied, if this board applied it."""
        return self._op_seqs.get(op_id)

    def remember(self, op_seqs: dict[str, int]) -> None:
        """Op ids (with their seqs) applied before a snapshot: resends of them are recognised too."""
        self._op_seqs.update(op_seqs)

    def knows(self, op_id: str) -> bool:
        """Whether the op is in this board: applied here, or a stroke that came in a snapshot."""
        return op_id in self._op_seqs or op_id in self._strokes

    def undo_target(self, author: str) -> str | None:
        """The op an undo by `author` would undo now: their newest op still done."""
        stack = self._undo.get(author)
        return stack[-1] if stack else None

    def redo_target(self, author: str) -> str | None:
        """The op a redo by `author` would redo now: their newest undone op."""
        stack = self._redo.get(author)
        return stack[-1] if stack else None

    def state_hash(self) -> str:
        """A digest of the visible board (items in order, with their transforms and edited texts), equal
        wherever the same ops were applied."""
        return hashlib.sha256(_hash_encoder.encode(self.placed())).hexdigest()

    # ------------------------------------------------------------------------------------- applying

    def apply(self, committed: Committed) -> bool:
        """Apply one committed op; False when it was already applied (same seq or same op id)."""
        op = committed.op
        if committed.seq <= self.seq or self.knows(op.id):
            self.seq = max(self.seq, committed.seq)
            return False
        self.seq = committed.seq
        self._op_seqs[op.id] = committed.seq
        by = committed.by
        match op:
            case AddStroke() | AddShape() | AddText() | AddNote() | AddImage():
                self._strokes[op.id] = _Stroke(op, committed.seq, by)
                self._points += _point_count(op)
                if self._touched is not None:
                    self._touched[op.id] = None
                self._done(_Effect(op.id, by, op.__struct_config__.tag, (op.id,)))  # type: ignore[arg-type]
            case Erase(strokes=named):
                targets = tuple(t for t in dict.fromkeys(named) if self._visible(t))
                self._remove(op.id, targets)
                self._done(_Effect(op.id, by, "erase", targets))
            case Transform(items=named, m=m):
                targets = tuple(t for t in dict.fromkeys(named) if self._visible(t))
                self._transform(targets, m)
                self._done(_Effect(op.id, by, "transform", targets, m=m))
            case Reorder(items=named, to=to):
                targets = tuple(t for t in dict.fromkeys(named) if self._visible(t))
                below = self._reorder(targets, to)
                self._done(_Effect(op.id, by, "reorder", targets, to=to, below=below))
            case EditText():
                self._edit(op, by)
            case ClearBoard():
                targets = tuple(sid for sid, entry in self._strokes.items() if entry.visible)
                self._remove(op.id, targets)
                self._done(_Effect(op.id, by, "clear", targets))
            case Undo() | Redo():
                self._undo_redo(op, by)
        return True

    def _undo_redo(self, op: Undo | Redo, by: str) -> None:
        target = op.target
        effect = None if target is None else self._effects.get(target)
        if effect is None:
            return
        if isinstance(op, Undo):
            if self.undo_target(by) == target:
                self._set_undone(effect, undone=True)
                self._undo[by].pop()
                self._redo.setdefault(by, []).append(effect.id)
        elif self.redo_target(by) == target:
            self._set_undone(effect, undone=False)
            self._redo[by].pop()
            self._push(self._undo.setdefault(by, []), effect.id)

    def _visible(self, stroke_id: str) -> bool:
        entry = self._strokes.get(stroke_id)
        return entry is not None and entry.visible

    def _edit(self, op: EditText, by: str) -> None:
        entry = self._strokes.get(op.item)
        if entry is None or not entry.visible or not isinstance(entry.stroke, AddText | AddNote):
            self._done(_Effect(op.id, by, "edit", ()))
            return
        before = entry.stroke.text if entry.text is None else entry.text
        self._set_text(entry, op.text)
        self._done(_Effect(op.id, by, "edit", (op.item,), texts=(before, op.text)))

    def _transform(self, targets: tuple[str, ...], m: Matrix) -> None:
        for target in targets:
            entry = self._strokes.get(target)
            if entry is not None:
                entry.m = compose(m, entry.m)
                if self._touched is not None:
                    self._touched[target] = None

    def _reorder(self, targets: tuple[str, ...], to: str) -> tuple[str | None, ...]:
        """Move the targets `to`; what was below each of them before (for its undo)."""
        order = list(self._strokes)
        wanted = set(targets)
        below_of = {i: under for under, i in zip([None, *order], order, strict=False) if i in wanted}
        held = tuple(t for t in targets if t in below_of)
        self._order(reorder(order, held, to, self._visible), targets, order)
        return tuple(below_of.get(t) for t in targets)

    def _order(self, order: list[str], moved: tuple[str, ...], before: list[str] | None = None) -> None:
        if order == (list(self._strokes) if before is None else before):
            return
        self._strokes = dict(zip(order, map(self._strokes.__getitem__, order), strict=True))
        self._reordered = True
        if self._touched is not None:
            self._touched.update(dict.fromkeys(t for t in moved if t in self._strokes))

    def _set_text(self, entry: _Stroke, text: str) -> None:
        entry.text = text
        if self._touched is not None:
            self._touched[entry.stroke.id] = None

    def _remove(self, remover: str, targets: tuple[str, ...]) -> None:
        for target in targets:
            self._strokes[target].removed_by.add(remover)
        if self._touched is not None:
            self._touched.update(dict.fromkeys(targets))

    def _set_undone(self, effect: _Effect, *, undone: bool) -> None:
        effect.undone = undone
        if effect.kind == "transform" and effect.m is not None:
            self._transform(effect.targets, invert(effect.m) if undone else effect.m)
            return
        if effect.kind == "reorder":
            self._reorder_again(effect, undone=undone)
            return
        if effect.kind == "edit":
            entry = self._strokes.get(effect.targets[0]) if effect.targets else None
            if entry is not None and effect.texts is not None:
                self._set_text(entry, effect.texts[0] if undone else effect.texts[1])
            return
        for target in effect.targets:
            entry = self._strokes.get(target)
            if entry is None:
                continue
            if self._touched is not None:
                self._touched[target] = None
            if effect.kind in ADDS:
                entry.undone = undone
            elif undone:
                entry.removed_by.discard(effect.id)
            else:
                entry.removed_by.add(effect.id)

    def _reorder_again(self, effect: _Effect, *, undone: bool) -> None:
        """Undo a reorder (each item back above its old neighbour), or redo it (moved `to` again)."""
        if not undone and effect.to is not None:
            effect.below = self._reorder(effect.targets, effect.to)
        elif undone and effect.below is not None:
            self._order(restore(list(self._strokes), effect.targets, effect.below), effect.targets)

    def _done(self, effect: _Effect) -> None:
        """A new op by its author: undoable; whatever the author could redo is gone for good (dropped
        first: an op applied again after a snapshot, which does not carry the op ids before it, may have
        the id of one in the redo stack)."""
        for dropped in self._redo.pop(effect.by, []):
            self._finalize(dropped)
        self._effects[effect.id] = effect
        self._push(self._undo.setdefault(effect.by, []), effect.id)

    def _push(self, stack: list[str], op_id: str) -> None:
        stack.append(op_id)
        if len(stack) > UNDO_DEPTH:
            self._finalize(stack.pop(0))

    def _finalize(self, op_id: str) -> None:
        """The op can no longer be undone or redone: drop it and the strokes it hid for good."""
        effect = self._effects.pop(op_id, None)
        if effect is None:
            return
        if effect.kind not in ADDS and effect.kind not in {"erase", "clear"}:
            return
        gone = effect.undone if effect.kind in ADDS else not effect.undone
        if gone:
            for target in effect.targets:
                dropped = self._strokes.pop(target, None)
                if dropped is not None:
                    self._points -= _point_count(dropped.stroke)
                    if self._touched is not None:
                        self._touched[target] = None

    # ------------------------------------------------------------------------------------- snapshots

    def state(self) -> BoardState:
        """Everything a late joiner or a room needs to continue from here (see the module docstring)."""
        effects, undo, redo = self.history()
        return BoardState(
            seq=self.seq,
            strokes=[_entry_state(entry) for entry in self._strokes.values()],
            effects=effects,
            undo=undo,
            redo=redo,
        )

    def history(self) -> tuple[list[Effect], dict[str, list[str]], dict[str, list[str]]]:
        """The undo history of `state()`: effects, undo stacks and redo stacks."""
        return (
            [
                Effect(
                    id=e.id,
                    by=e.by,
                    kind=e.kind,
                    targets=list(e.targets),
                    undone=e.undone,
                    m=None if e.m is None else list(e.m),
                    texts=None if e.texts is None else list(e.texts),
                    to=e.to,
                    below=None if e.below is None else list(e.below),
                )
                for e in self._effects.values()
            ],
            {author: list(stack) for author, stack in self._undo.items() if stack},
            {author: list(stack) for author, stack in self._redo.items() if stack},
        )

    @classmethod
    def from_state(cls, state: BoardState) -> Board:
        """The board a snapshot describes."""
        board = cls()
        board.seq = state.seq
        for item in state.strokes:
            entry = _Stroke(item.stroke, item.seq, item.by)
            entry.undone = item.undone
            entry.removed_by = set(item.removed_by)
            entry.m = _matrix(item.m)
            entry.text = item.text
            board._strokes[item.stroke.id] = entry
            board._points += _point_count(item.stroke)
        for effect in state.effects:
            texts = (effect.texts[0], effect.texts[1]) if effect.texts and len(effect.texts) == 2 else None
            below = None if effect.below is None else tuple(effect.below)
            if below is not None and len(below) != len(effect.targets):
                below = None
            restored = _Effect(
                effect.id,
                effect.by,
                effect.kind,
                tuple(effect.targets),
                _matrix(effect.m),
                texts,
                effect.to,
                below,
            )
            restored.undone = effect.undone
            board._effects[effect.id] = restored
        board._undo = {author: list(stack) for author, stack in state.undo.items()}
        board._redo = {author: list(stack) for author, stack in state.redo.items()}
        return board


def _entry_state(entry: _Stroke) -> StrokeEntry:
    return StrokeEntry(
        stroke=entry.stroke,
        seq=entry.seq,
        by=entry.by,
        undone=entry.undone,
        removed_by=sorted(entry.removed_by),
        m=None if entry.m is None else list(entry.m),
        text=entry.text,
    )


def _matrix(values: list[float] | None) -> Matrix | None:
    if values is None or len(values) != 6:
        return None
    return (values[0], values[1], values[2], values[3], values[4], values[5])
