"""Every message of protocol v1, as msgspec Structs (validated while they are decoded).

Two directions, two tagged unions: `ClientMessage` (browser → room) and `ServerMessage` (room → browser).
The tag field is `t`. Durable ops (`Op`) are tagged by `kind` and travel inside `Submit` (client → room),
`Committed` (room → clients, with the sequence number the op log gave them) and `OpRecord` (the JetStream
message body). `docs/protocol.md` describes the conversation.

Ops and boards are `gc=False`: they hold only strings, numbers and lists of them, so they can never be in a
reference cycle, and the garbage collector need not walk a board's tens of thousands of strokes (decoding
a 10k-stroke snapshot took up to twice as long with collections running over it).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from drawnet.protocol.limits import (
    COORDINATE_BOUND,
    HARD_MAX_ERASE_TARGETS,
    HARD_MAX_FONT_SIZE,
    HARD_MAX_ID_LENGTH,
    HARD_MAX_ITEMS_PER_OP,
    HARD_MAX_LASER_POINTS,
    HARD_MAX_NAME_LENGTH,
    HARD_MAX_POINTS_PER_STROKE,
    HARD_MAX_TEXT_CHARS,
    Limits,
)

PROTOCOL_VERSION = 1

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=HARD_MAX_ID_LENGTH, pattern=r"^[A-Za-z0-9_.:-]+$")]
Name = Annotated[str, msgspec.Meta(max_length=HARD_MAX_NAME_LENGTH)]
Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
Width = Annotated[float, msgspec.Meta(gt=0)]
Opacity = Annotated[float, msgspec.Meta(ge=0, le=1)]
Seq = Annotated[int, msgspec.Meta(ge=0)]
Coordinate = Annotated[float, msgspec.Meta(ge=-COORDINATE_BOUND, le=COORDINATE_BOUND)]
Point = tuple[Coordinate, Coordinate, Annotated[float, msgspec.Meta(ge=0, le=1)]]
"""x, y in board units, and pen pressure in [0, 1] (0.5 where the device reports none)."""
PointList = Annotated[list[Point], msgspec.Meta(max_length=HARD_MAX_POINTS_PER_STROKE)]
Tool = Literal["pen", "highlighter", "line"]
Extent = Annotated[float, msgspec.Meta(ge=-2 * COORDINATE_BOUND, le=2 * COORDINATE_BOUND)]
"""A width or height that may be negative (a line or arrow drawn up or to the left)."""
Size = Annotated[float, msgspec.Meta(gt=0, le=2 * COORDINATE_BOUND)]
FontSize = Annotated[float, msgspec.Meta(gt=0, le=HARD_MAX_FONT_SIZE)]
Text = Annotated[str, msgspec.Meta(max_length=HARD_MAX_TEXT_CHARS)]
ShapeName = Literal["rect", "ellipse", "diamond", "arrow", "line"]
Align = Literal["left", "center", "right"]
Place = Literal["front", "back", "forward", "backward"]
"""Where a `reorder` puts its items in the stacking order."""
Factor = Annotated[float, msgspec.Meta(ge=-1000, le=1000)]
Matrix = tuple[Factor, Factor, Factor, Factor, Extent, Extent]
"""An affine transform [a, b, c, d, e, f]: (x, y) -> (a x + c y + e, b x + d y + f), as canvas's
`setTransform` and SVG's `matrix()` take it."""
ItemIds = Annotated[list[Id], msgspec.Meta(min_length=1, max_length=HARD_MAX_ITEMS_PER_OP)]


class Participant(msgspec.Struct, frozen=True):
    id: str
    """This connection, in this room: live traffic and presence carry it as `by`."""
    name: str
    color: str
    user: str = ""
    """Who it is (the join token's subject): committed ops carry it as `by`, and undo follows it."""
    role: str = "editor"
    """owner, editor or viewer; viewers do not draw."""
    idle: bool = False


# ------------------------------------------------------------------------------------- durable ops


class AddStroke(msgspec.Struct, frozen=True, gc=False, tag="stroke", tag_field="kind"):
    """A finished stroke: immutable once committed. Its id is both the op id and the stroke id."""

    id: Id
    tool: Tool
    color: Color
    width: Width
    opacity: Opacity
    pts: Annotated[PointList, msgspec.Meta(min_length=1)]


class AddShape(msgspec.Struct, frozen=True, gc=False, tag="shape", tag_field="kind"):
    """A shape in the box from (`x`, `y`) to (`x` + `w`, `y` + `h`): a rectangle, an ellipse or a diamond
    inscribed in it, or a line or arrow from its first corner to the opposite one."""

    id: Id
    shape: ShapeName
    x: Coordinate
    y: Coordinate
    w: Extent
    h: Extent
    color: Color
    width: Width
    """The outline's width, in board units."""
    opacity: Opacity = 1.0
    fill: Color | None = None
    """A solid fill (rect, ellipse, diamond), or none."""
    rounded: bool = False
    """Rounded corners (rect, diamond)."""
    start_head: bool = False
    """An arrowhead at (`x`, `y`) (arrow, line)."""
    end_head: bool = False
    """An arrowhead at (`x` + `w`, `y` + `h`) (arrow, line)."""


class AddText(msgspec.Struct, frozen=True, gc=False, tag="text", tag_field="kind"):
    """Text whose first line's top is at `y`; lines are separated by newlines; `x` is the left edge, the
    centre or the right edge of every line, after `align`."""

    id: Id
    x: Coordinate
    y: Coordinate
    text: Annotated[Text, msgspec.Meta(min_length=1)]
    size: FontSize
    color: Color
    align: Align = "left"
    opacity: Opacity = 1.0


class AddNote(msgspec.Struct, frozen=True, gc=False, tag="note", tag_field="kind"):
    """A sticky note: a card `w` wide with its top left corner at (`x`, `y`), as tall as its text needs
    (at least square)."""

    id: Id
    x: Coordinate
    y: Coordinate
    w: Size
    text: Text
    size: FontSize
    fill: Color
    """The card's colour."""
    color: Color = "#1e1e1e"
    """The text's colour."""
    align: Align = "left"


ImageHash = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
"""An uploaded image's name: the SHA-256 of its stored bytes (the drawing service keeps them per board)."""


class AddImage(msgspec.Struct, frozen=True, gc=False, tag="image", tag_field="kind"):
    """A picture uploaded to the drawing service (`image`: its content hash), drawn into the box from
    (`x`, `y`), `w` wide and `h` high (stretched to it: the web app keeps the picture's proportions)."""

    id: Id
    image: ImageHash
    x: Coordinate
    y: Coordinate
    w: Size
    h: Size


class Transform(msgspec.Struct, frozen=True, gc=False, tag="transform", tag_field="kind"):
    """Moves, resizes or rotates a selection at once: each of the named items that is visible has `m`
    applied after whatever transform it had."""

    id: Id
    items: ItemIds
    m: Matrix


class Reorder(msgspec.Struct, frozen=True, gc=False, tag="reorder", tag_field="kind"):
    """Changes where the named visible items are in the stacking order: to the `front` (top) or the `back`
    (bottom) of the board, keeping their order among themselves, or one step `forward` (each past the
    next visible item above it that is not named) or `backward` (likewise, below)."""

    id: Id
    items: ItemIds
    to: Place


class EditText(msgspec.Struct, frozen=True, gc=False, tag="edit", tag_field="kind"):
    """Replaces the text of a text or a note."""

    id: Id
    item: Id
    text: Text


class Erase(msgspec.Struct, frozen=True, gc=False, tag="erase", tag_field="kind"):
    """Removes whole items (strokes, shapes, texts, notes, images) from the board."""

    id: Id
    strokes: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=HARD_MAX_ERASE_TARGETS)]


class ClearBoard(msgspec.Struct, frozen=True, gc=False, tag="clear", tag_field="kind"):
    """Removes every item."""

    id: Id


class Undo(msgspec.Struct, frozen=True, gc=False, tag="undo", tag_field="kind"):
    """Undo the author's newest op that is still done. The room fills in `target` before logging it;
    a client may name it, and the room refuses the undo unless it is that op."""

    id: Id
    target: Id | None = None


class Redo(msgspec.Struct, frozen=True, gc=False, tag="redo", tag_field="kind"):
    """Redo the author's newest undone op (`target`, filled in by the room like undo's)."""

    id: Id
    target: Id | None = None


Item = AddStroke | AddShape | AddText | AddNote | AddImage
"""What a board holds: each item is the op that added it (its id is the op's)."""

Op = (
    AddStroke
    | AddShape
    | AddText
    | AddNote
    | AddImage
    | Transform
    | Reorder
    | EditText
    | Erase
    | ClearBoard
    | Undo
    | Redo
)


class StrokeEntry(msgspec.Struct, frozen=True, gc=False):
    """An item in a board snapshot, visible or hidden (hidden ones can come back with undo or redo).
    (Named for the first kind of item; `stroke` is any item.)"""

    stroke: Item
    seq: int
    by: str
    undone: bool = False
    removed_by: list[str] = []
    m: list[float] | None = None
    """The transform its item has now (None: none)."""
    text: str | None = None
    """Its text now, when an `edit` changed it."""


class Effect(msgspec.Struct, frozen=True, gc=False):
    """What an op that can still be undone or redone did."""

    id: str
    by: str
    kind: str
    targets: list[str]
    undone: bool = False
    m: list[float] | None = None
    """A transform's matrix (undone by its inverse)."""
    texts: list[str] | None = None
    """An edit's text before and after."""
    to: str | None = None
    """A reorder's `to` (done again by a redo)."""
    below: list[str | None] | None = None
    """A reorder's items' neighbours below them before it was done (or redone), in `targets`' order:
    undoing it puts each item back just above its neighbour (None: at the bottom)."""


class BoardState(msgspec.Struct, frozen=True, gc=False):
    """A board at `seq`: its strokes bottom to top and its undo history (see `board.py`)."""

    seq: int
    strokes: list[StrokeEntry]
    effects: list[Effect] = []
    undo: dict[str, list[str]] = {}
    redo: dict[str, list[str]] = {}


class OpRecord(msgspec.Struct, frozen=True, gc=False):
    """What the op log (JetStream) stores for one durable op; its stream sequence is the op's seq."""

    by: str
    """The participant who submitted it."""
    op: Op
    ts: float
    """Unix time at which the room accepted it."""


# ------------------------------------------------------------------------------------- client → room


class Hello(msgspec.Struct, frozen=True, tag="hello", tag_field="t"):
    """The first message of every connection."""

    v: int
    """Protocol version the client speaks."""
    client: Id
    """Stable id of this browser tab: the same across reconnects."""
    name: Name = ""
    color: Color = "#1e1e1e"
    since: Seq = 0
    """The last sequence number the client has applied: the welcome carries only what came after."""
    token: str | None = None


class Begin(msgspec.Struct, frozen=True, tag="begin", tag_field="t"):
    """Live: a stroke starts (ephemeral, never stored). The room stamps `by` before relaying it."""

    stroke: Id
    tool: Tool
    color: Color
    width: Width
    opacity: Opacity = 1.0
    by: str = ""


class Points(msgspec.Struct, frozen=True, tag="points", tag_field="t"):
    """Live: more points of a stroke still being drawn (ephemeral)."""

    stroke: Id
    pts: Annotated[PointList, msgspec.Meta(min_length=1)]
    by: str = ""


class Cursor(msgspec.Struct, frozen=True, tag="cursor", tag_field="t"):
    """Live: where this participant's pointer is, in board units (ephemeral)."""

    x: Coordinate
    y: Coordinate
    by: str = ""


class View(msgspec.Struct, frozen=True, tag="view", tag_field="t"):
    """Live: this participant's viewport, so others can follow it (ephemeral)."""

    x: Coordinate
    y: Coordinate
    zoom: Annotated[float, msgspec.Meta(gt=0, le=1000)]
    by: str = ""


class Presence(msgspec.Struct, frozen=True, tag="presence", tag_field="t"):
    """Live: the participant went idle or came back (ephemeral)."""

    idle: bool
    by: str = ""


class Drag(msgspec.Struct, frozen=True, tag="drag", tag_field="t"):
    """Live: a selection being moved, resized or rotated: others draw `items` with `m` applied after
    their transforms until the `transform` op commits; an empty `items` ends the preview (ephemeral)."""

    items: Annotated[list[Id], msgspec.Meta(max_length=HARD_MAX_ITEMS_PER_OP)]
    m: Matrix
    by: str = ""


class Sketch(msgspec.Struct, frozen=True, tag="sketch", tag_field="t"):
    """Live: a shape being drawn (`id` is its op's), as it is now: the others draw it until the `shape` op
    with that id commits; `shape` null ends the preview (the drawer let it go without a shape) (ephemeral,
    never logged)."""

    id: Id
    shape: AddShape | None = None
    by: str = ""


class Laser(msgspec.Struct, frozen=True, tag="laser", tag_field="t"):
    """Live: the laser pointer's newest points, in board units: the others draw a trail that fades within a
    moment. Never logged or stored, so it leaves nothing on the board; viewers may point too. `start`
    begins a new trail (a new press), else the points continue the sender's current one (ephemeral)."""

    pts: Annotated[
        list[tuple[Coordinate, Coordinate]], msgspec.Meta(min_length=1, max_length=HARD_MAX_LASER_POINTS)
    ]
    start: bool = False
    by: str = ""


class Submit(msgspec.Struct, frozen=True, tag="op", tag_field="t"):
    """A durable op for the log. The room answers the author with `ack` or `nack`."""

    op: Op


class Renew(msgspec.Struct, frozen=True, tag="renew", tag_field="t"):
    """A fresh join token for this connection, before the one it joined with expires: same user, same
    role, same session. The room answers `renewed`, or closes the connection saying why not."""

    token: str


Live = Begin | Points | Drag | Sketch | Laser | Cursor | View | Presence
"""Ephemeral traffic: relayed at once to the session's others, never stored, dropped for slow clients."""

ClientMessage = Hello | Begin | Points | Drag | Sketch | Laser | Cursor | View | Presence | Submit | Renew


# ------------------------------------------------------------------------------------- room → client


class Welcome(msgspec.Struct, frozen=True, tag="welcome", tag_field="t"):
    v: int
    you: Participant
    participants: list[Participant]
    seq: int
    """The board's sequence number when this was made: after applying what follows, the client is at it."""
    snapshot: BoardState | None
    """The whole board at `seq` (the client replaces its board with it), or None when `ops` suffice."""
    ops: list[Committed]
    """Committed ops after the client's `since`, when the room still holds them all (else a snapshot)."""
    limits: Limits


class Joined(msgspec.Struct, frozen=True, tag="joined", tag_field="t"):
    who: Participant


class Left(msgspec.Struct, frozen=True, tag="left", tag_field="t"):
    id: str


class Committed(msgspec.Struct, frozen=True, gc=False, tag="op", tag_field="t"):
    """A durable op in the log, in sequence order. Clients apply these and nothing else to their board."""

    seq: int
    by: str
    op: Op


class Ack(msgspec.Struct, frozen=True, tag="ack", tag_field="t"):
    """The op `id` is durable in the log at `seq` (also the answer to a resend of an op already there)."""

    id: str
    seq: int


class Nack(msgspec.Struct, frozen=True, tag="nack", tag_field="t"):
    """The op `id` was refused and will never be applied; `code` is machine-readable, `reason` human."""

    id: str
    code: str
    reason: str


class Renewed(msgspec.Struct, frozen=True, tag="renewed", tag_field="t"):
    """The token of a `renew` is now this connection's: it stays open until `exp` (unix seconds)."""

    exp: int


ServerMessage = (
    Welcome
    | Joined
    | Left
    | Committed
    | Ack
    | Nack
    | Renewed
    | Begin
    | Points
    | Drag
    | Sketch
    | Laser
    | Cursor
    | View
    | Presence
)
