"""What the REST API reads and writes (msgspec Structs: validated on decode, described in the OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from drawnet.protocol import Committed, Effect, StrokeEntry
from drawnet.protocol.messages import Item, Matrix, Text

SessionName = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", description="a DNS-1123 label")
]
Title = Annotated[str, msgspec.Meta(max_length=200)]
Visibility = Literal["public", "private"]
Participants = Annotated[int, msgspec.Meta(ge=1)]
IdleTimeout = Annotated[int, msgspec.Meta(ge=0, le=30 * 24 * 3600, description="seconds; 0: never")]
Username = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$",
        description="3 to 32 letters, digits, '_', '.', '-'; unique regardless of case",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
DisplayName = Annotated[str, msgspec.Meta(max_length=64)]
LinkRole = Literal["editor", "viewer"]


# ------------------------------------------------------------------------------------ users


class Registration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    username: Username
    password: Password
    display_name: DisplayName = ""


class Credentials(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Password


class PasswordChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class AccountDeletion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    password: Password
    """The account's password, again: deleting it cannot be undone."""


class User(msgspec.Struct, frozen=True):
    id: str
    username: str
    display_name: str
    created_at: float


class Login(msgspec.Struct, frozen=True):
    token: str
    """Send as `Authorization: Bearer <token>`; browsers get the same in an HTTP-only cookie."""
    expires_at: float
    user: User


# ------------------------------------------------------------------------------------ sessions


class SessionCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: SessionName | None = None
    """Chosen by the server when absent."""
    title: Title = ""
    visibility: Visibility = "private"
    allow_guests: bool = True
    max_participants: Participants = 50
    idle_timeout_seconds: IdleTimeout = 3600


class SessionPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Settings to change; absent fields keep their value."""

    title: Title | None = None
    visibility: Visibility | None = None
    allow_guests: bool | None = None
    max_participants: Participants | None = None
    idle_timeout_seconds: IdleTimeout | None = None


class RoomStatus(msgspec.Struct, frozen=True):
    """What the platform observes of the session's room (with the Kubernetes backend: the DrawingSession's
    status, kept by the operator)."""

    phase: str
    """Pending, Running, Recovering, Ended, Failed or Terminating (a word for people; automate on `ready`)."""
    ready: bool
    """The room accepts participants: its pod is Ready, its NATS subscriptions live, its board loaded."""
    participants: int
    strokes: int


class Session(msgspec.Struct, frozen=True):
    name: str
    namespace: str
    ref: str
    """How this API and the web app address it: `name`, or `<namespace>.<name>` in another namespace."""
    title: str
    owner: str | None
    visibility: Visibility
    allow_guests: bool
    max_participants: int
    idle_timeout_seconds: int
    created_at: float
    archived: bool
    url: str
    """The board in the web app."""
    room_url: str
    """The room's WebSocket for this session."""
    your_role: str | None = None
    """What the caller may do: owner, editor, viewer, or public (read only); null for nothing."""
    status: RoomStatus | None = None
    """The room as the platform sees it; null where nobody observes it (the embedded room hosts every
    session) or the cluster has no resource for the session (any more)."""


class Archived(msgspec.Struct, frozen=True):
    session: str
    archived: bool
    seq: int
    strokes: int


class LinkCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: LinkRole
    ttl_seconds: Annotated[int, msgspec.Meta(ge=60)] | None = None
    """Life of the link; the server's `share_link_ttl_seconds` when absent."""


class ShareLink(msgspec.Struct, frozen=True):
    id: str
    role: str
    created_at: float
    expires_at: float
    revoked: bool
    code: str | None = None
    """Only when minted: what `/join` takes as `link` (the owner cannot read it again)."""
    url: str | None = None
    """Only when minted: the board's address with the code in it, to send to people."""


class JoinRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    link: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    """A share link's code; absent for the owner, and for anyone on a public session."""
    name: DisplayName = ""
    """The name others see; guests must give one, users default to their display name."""


Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Removal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whom to kick or ban: a participant's `user` (the join token's `sub`: an account id, or
    `guest:<id>` for a guest), as the room's participant list shows it."""

    user: Subject
    name: DisplayName = ""
    """Their display name, kept with a ban so the owner's list says who it is."""


class Ban(msgspec.Struct, frozen=True):
    user: str
    name: str
    banned_at: float
    banned_by: str


class JoinToken(msgspec.Struct, frozen=True):
    token: str
    """A JWT for the room (`hello.token`) and for this session's REST endpoints (`Bearer`)."""
    role: str
    session: str
    namespace: str
    sub: str
    name: str
    expires_at: int
    room_url: str


# ------------------------------------------------------------------------------------ boards


class Snapshot(msgspec.Struct, frozen=True):
    """A board's `BoardState` (what a room loads, what `welcome.snapshot` carries), and more."""

    seq: int
    """The board holds every op up to this sequence number."""
    strokes: list[StrokeEntry]
    """Bottom to top; hidden ones can come back through undo or redo."""
    effects: list[Effect]
    undo: dict[str, list[str]]
    redo: dict[str, list[str]]
    session: str
    recent: dict[str, int]
    """The latest op ids with their seq (at most `recent_op_ids`), for deduplicating resends."""


class Placement(msgspec.Struct, frozen=True, omit_defaults=True):
    """What later ops did to an exported item: its transform and its edited text."""

    m: Matrix | None = None
    text: Text | None = None


class ExportedImage(msgspec.Struct, frozen=True):
    """An image the board's `image` items show, as stored (an import checks and stores it again)."""

    media_type: Annotated[str, msgspec.Meta(max_length=32)]
    data: bytes
    """The file (base64 in JSON)."""


class BoardExport(msgspec.Struct, frozen=True):
    """A board as JSON: what `export.json` gives and `import` takes."""

    format: Literal["drawnet.board.v1"]
    strokes: list[Item]
    """The visible items, bottom to top (strokes, shapes, texts, notes, images: the ops that added them)."""
    placements: dict[str, Placement] = {}
    """By item id, for the items a `transform` or an `edit` changed (an import replays them as such)."""
    images: dict[str, ExportedImage] = {}
    """By SHA-256, the stored images the `image` items show."""
    session: str = ""
    seq: int = 0


class Imported(msgspec.Struct, frozen=True):
    session: str
    imported: int
    """Strokes added (strokes already on the board, by id, are skipped)."""
    seq: int
    """The board's sequence number after the import."""


OpPage = list[Committed]
