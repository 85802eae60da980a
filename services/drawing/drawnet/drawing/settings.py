"""The drawing service's settings: one environment variable per field (`DRAWNET_DRAWING_<FIELD>`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from drawnet.protocol import valid_name
from drawnet.protocol.proxies import TrustedProxies
from drawnet.protocol.tokens import parse_keys


def default_frontend() -> Path:
    """The web app: `frontend/` of a source checkout, or the copy packaged into the wheel."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[4] / "frontend", here.parents[1] / "frontend"):
        if (candidate / "index.html").is_file():
            return candidate
    return here.parents[4] / "frontend"


def normalize_database_url(url: str) -> str:
    """Accept the plain URLs people type and pick our async drivers for them."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


class DrawingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRAWNET_DRAWING_", frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 0
    """Serve /metrics on this port of its own (on `host`) and not on `port`: behind an Ingress that routes
    `/` to the service, Prometheus reaches it and the public does not (the chart's `drawing.metricsPort`).
    0: /metrics on `port` (one machine)."""
    database_url: str = "sqlite:///.drawnet/drawnet.db"
    """SQLite (a file; the embedded default) or PostgreSQL (production): `postgresql://user:pw@host/db`."""
    nats_url: str = "nats://127.0.0.1:4222"
    namespace: str = "default"
    """The namespace whose sessions this service's web app and API address by default."""
    room_public_url: str = "ws://127.0.0.1:8001"
    """Where browsers reach the room server (injected into the web app)."""
    frontend_dir: Path = Field(default_factory=default_frontend)
    """The web app's files (index.html, js/, css/)."""
    duplicate_window_seconds: Annotated[float, Field(gt=0)] = 600.0
    """Must match the room's: both declare the op-log stream."""
    ops_stream_replicas: Annotated[int, Field(ge=1, le=5)] = 1
    """Servers of a NATS cluster that hold the op log (JetStream's stream replicas): 1 on a single server,
    3 on a three-server cluster (an op is acknowledged once two hold it; any one server may be lost).
    The drawing service declares the stream; the rooms keep the replicas it set."""
    persist: bool = True
    """Run the persister here: only one process per op log stores at a time. The API's replicas set it off;
    the persister's own replicas elect the active one with `persist_lease`."""
    persist_lease: str = ""
    """The Kubernetes Lease (in `namespace`, reached with `kubeconfig` or the pod's ServiceAccount) that
    elects the one active persister among several replicas; the others stand by. Empty: this process
    persists whenever `persist` is on (one persister: the embedded platform)."""
    persist_lease_seconds: Annotated[float, Field(ge=2, le=300)] = 15.0
    """How long a standby waits, after the active persister stopped renewing the Lease, before it takes
    over (a graceful stop releases the Lease: no wait)."""
    persist_lease_renew_seconds: Annotated[float, Field(gt=0, le=100)] = 5.0
    """How often the active persister renews the Lease, and a standby looks at it. The active one steps
    down when it could not renew for `persist_lease_seconds` minus this."""
    persist_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 2000
    """The most ops fetched from JetStream and written to SQL in one transaction (bench/persistence: 2,000
    stored about a third more a second into PostgreSQL than 500). A batch is what the consumer holds when
    it is fetched, so a quiet log commits each op as it comes, whatever the size."""
    persist_fetch_timeout_seconds: Annotated[float, Field(gt=0)] = 0.5
    """How long a fetch that found the consumer empty waits for the next op (then the persister checks the
    lag and the snapshots due, and fetches again)."""
    persist_retry_seconds: Annotated[float, Field(gt=0)] = 1.0
    """Pause before retrying a batch the database refused; nothing is acknowledged until it is stored."""

    snapshot_every_ops: Annotated[int, Field(ge=1)] = 1_000
    """A board's materialized snapshot is rewritten after this many new ops..."""
    snapshot_every_seconds: Annotated[float, Field(gt=0)] = 5.0
    """...or this long after its first op not in the snapshot, whichever comes first."""
    snapshot_cache_boards: Annotated[int, Field(ge=1)] = 64
    """Boards the persister keeps in memory to write snapshots without reading them back (LRU)."""
    recent_op_ids: Annotated[int, Field(ge=0, le=100_000)] = 1_000
    """How many of the latest op ids (with their seq) a snapshot response carries, for deduplication."""

    # ---------------------------------------------------------------------------------- HTTP limits
    header_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    """A request's head (request line and headers) must have arrived this long after the connection opened
    or the previous response ended; a client that trickles it (slowloris) is disconnected."""
    body_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 120.0
    """A request's body must have arrived this long after its head (a 32 MiB import at 2 Mbit/s takes
    about as long); a client that trickles it is disconnected."""
    max_body_bytes: Annotated[int, Field(ge=1_024)] = 1_048_576
    """Largest request body of the JSON API (everything but board imports): 413 past it."""
    max_import_bytes: Annotated[int, Field(ge=1_024)] = 32 * 1_048_576
    """Largest board import (a JSON export): 413 past it."""
    max_image_bytes: Annotated[int, Field(ge=1_024)] = 10 * 1_048_576
    """Largest image upload, and largest image as stored after re-encoding: 413 past it."""
    max_image_pixels: Annotated[int, Field(ge=1)] = 36_000_000
    """Width x height an uploaded image may declare (6000 x 6000): refused (413) before it is decoded, so
    a decompression bomb (a small file that decodes to gigabytes) is never unpacked. Decoding one at the
    limit takes 4 bytes a pixel (144 MB); uploads take turns with the exports (`max_concurrent_exports`)."""
    max_image_side: Annotated[int, Field(ge=16, le=16_384)] = 4096
    """Longest side of a stored image, in pixels: a larger upload is scaled down to it."""
    max_images_per_board: Annotated[int, Field(ge=0)] = 200
    """Different images one board may store (placing one image many times counts once): 409 past it."""
    thumbnail_cache: Annotated[int, Field(ge=0, le=100_000)] = 256
    """Lobby thumbnails kept per process, by board and seq (about 20 KB each): a board is drawn again only
    when it changed. 0: none kept (browsers still revalidate with their ETag)."""
    max_import_ops: Annotated[int, Field(ge=1)] = 100_000
    """Ops one import may add (the protocol's max_strokes_per_board)."""
    max_import_points: Annotated[int, Field(ge=1)] = 500_000
    """Points one import may add, all strokes together: what the board, its snapshot and its exports
    then hold in memory grows with them (an import of 1.5M points took the service to 728 MB)."""
    max_points_per_board: Annotated[int, Field(ge=1)] = 1_000_000
    """Points a board may hold after an import, all its strokes together (the rooms' own
    `max_points_per_board`, which refuses strokes past it: keep them equal)."""
    default_page_size: Annotated[int, Field(ge=1)] = 100
    """Items in one page of a list when the request does not say (`limit`)."""
    max_page_size: Annotated[int, Field(ge=1)] = 1_000
    """Most items one page of sessions or links may hold: a larger `limit` is refused with 400."""
    max_ops_page_size: Annotated[int, Field(ge=1)] = 10_000
    """Most ops one page of `/ops` may hold."""
    login_attempts_per_minute: Annotated[int, Field(ge=1)] = 10
    """Login attempts for one user name a minute, failed or not, from any address through any replica
    (the count is in the database): the next one gets 429 with Retry-After."""
    login_attempts_per_address_per_minute: Annotated[int, Field(ge=1)] = 30
    """Login attempts from one client address a minute, whatever the user names."""
    register_per_minute: Annotated[int, Field(ge=1)] = 20
    """Accounts one client address may create per minute."""
    guest_joins_per_minute: Annotated[int, Field(ge=1)] = 30
    """Guest join tokens one client address may get a minute (renewals of a token are not counted)."""
    open_boards_per_address_per_hour: Annotated[int, Field(ge=1)] = 30
    """Open boards (any name, embedded, `open_boards`) nobody had drawn on that one client address may
    start in an hour: a join token for such a board counts once per board, coming back to it is free, the
    next new one is 429 with Retry-After. Each board a room loads holds a JetStream consumer and memory
    until it lingers out (200 boards opened by one script left 200 consumers)."""
    trusted_proxies: str = ""
    """Addresses or networks (CIDR) of the proxies in front of the service (the ingress controller's, or
    the cluster's pod network), comma-separated, or `*`: from them the client's address is the last
    X-Forwarded-For hop that is not a proxy. Empty: never, so a client cannot pick its own address for the
    per-address limits."""
    max_export_pixels: Annotated[int, Field(ge=1_024)] = 4096 * 4096
    """Largest PNG export (width x height); a bigger board is scaled down to fit."""
    export_workers: Annotated[int, Field(ge=0, le=64)] = 2
    """Processes that draw a large board's PNG export in bands side by side (Skia holds the GIL while it
    draws, so threads would not help); started at the first such export. 0: draw it in the request's
    thread."""
    max_concurrent_exports: Annotated[int, Field(ge=1, le=64)] = 2
    """Exports (SVG, PNG, JSON) loaded and drawn at once by this process: each holds its board, and a
    PNG its image, in memory (four PNGs of a 1.5M-point board at once took 2.4 GB)."""
    export_queue: Annotated[int, Field(ge=0, le=1000)] = 4
    """Exports that may wait for a turn; past that an export is answered 503 with Retry-After at once."""
    board_wait_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0
    """How long a read of the board `?seq=N` (a board or an export at least at seq N: what the reader
    sees) waits for the persister to store seq N; then 503 with Retry-After."""

    # ---------------------------------------------------------------------------------- users and tokens
    password_min_length: Annotated[int, Field(ge=1)] = 8
    password_min_score: Annotated[int, Field(ge=0, le=4)] = 2
    """How hard to guess a new password must be, as zxcvbn scores it (0-4, estimated from its lists of
    common passwords, names and words, their variants, and the user's own name): 2 refuses the common
    passwords and those close to them (guessed within about 10^8 tries), "password1" or "sunshine2024"
    among them. 0: no check."""
    login_ttl_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    """How long a login (cookie or bearer token) lasts."""
    cookie_secure: bool = True
    """Send the login cookie over HTTPS only (browsers treat http://localhost as secure)."""
    signing_keys: str = ""
    """Join-token keys, `kid1:secret1,kid2:secret2` (secrets of >= 32 bytes), shared with the rooms.
    Empty: a random key for this process only (tokens then verify nowhere else)."""
    signing_key_id: str = ""
    """The key that signs new tokens; empty means the first of `signing_keys`. Keep the old key listed
    while tokens signed with it are still in use: that is how keys rotate."""
    join_token_ttl_seconds: Annotated[int, Field(ge=5, le=3600)] = 300
    """How long a join token lasts. Short, because a token is what a room admits: the web app renews it
    in the background (a renewal needs the authority minting did: the link still valid, the board still
    public, nobody kicked or banned), and a room closes a connection whose token ran out (4012)."""
    revocation_keep_seconds: Annotated[float, Field(ge=60)] = 3600.0
    """How long the access stream keeps each revocation: a room that starts later still learns of those
    that concern a token not yet expired. Must exceed `join_token_ttl_seconds` by a minute at least."""
    share_link_ttl_seconds: Annotated[int, Field(ge=60)] = 30 * 24 * 3600
    """Default life of a share link (the owner may ask for less or more)."""
    service_token: str = ""
    """Bearer token of the platform's own callers (the operator's archive call, rooms loading boards).
    Empty: no service caller is accepted."""
    allowed_origins: str = ""
    """Other sites whose pages may change things here with a visitor's login cookie, comma-separated
    `https://host[:port]` (the service's own host and `public_url` always may)."""
    public_url: str = ""
    """Where browsers reach this service (share links point there); empty: http://<host>:<port>."""

    # ---------------------------------------------------------------------------------- sessions
    session_backend: Literal["embedded", "kubernetes"] = "embedded"
    """Who brings a session into being: `embedded` (its row here; the embedded room hosts any session) or
    `kubernetes` (a DrawingSession resource in `namespace` as well, which the operator gives a room of its
    own; the API then shows the resource's status: phase, readiness, participants)."""
    kubeconfig: str = ""
    """With `kubernetes`: the kubeconfig file to reach the cluster with; empty: the pod's service account
    (in a cluster), else $KUBECONFIG."""
    open_boards: bool = True
    """Sessions nobody created through the API are public and open to guests: with `embedded`, any board
    name (the embedded room hosts any session on demand; off in production, such a board is then not
    found); with `kubernetes`, the DrawingSessions a platform team applied with kubectl."""
    session_namespaces: list[str] = Field(default_factory=list)
    """With `kubernetes`: the other namespaces whose DrawingSessions (applied there with kubectl; the
    operator gives them rooms) the web app lists and joins, addressed as `<namespace>.<session>` (both are
    DNS-1123 labels, so the dot is unambiguous); `["*"]`: every namespace. They are open sessions, as in
    `namespace` (they need `open_boards`). As an environment variable: a JSON list."""
    max_sessions_per_user: Annotated[int, Field(ge=1)] = 100
    """Sessions one user may own at once (archived ones do not count): 409 past it."""
    max_links_per_session: Annotated[int, Field(ge=1)] = 100
    """Share links of one session that are neither revoked nor expired: 409 past it."""
    max_participants_limit: Annotated[int, Field(ge=1)] = 500
    """The most participants an owner may allow in one session."""

    def model_post_init(self, _context: object, /) -> None:
        if not valid_name(self.namespace):
            raise ValueError(f"namespace {self.namespace!r} is not a DNS-1123 label")
        if not (self.frontend_dir / "index.html").is_file():
            raise ValueError(f"frontend_dir {self.frontend_dir} has no index.html")
        keys = parse_keys(self.signing_keys)
        if self.signing_key_id and self.signing_key_id not in keys:
            raise ValueError(f"signing_key_id {self.signing_key_id!r} is not one of signing_keys")
        if self.revocation_keep_seconds < self.join_token_ttl_seconds + 60:
            raise ValueError(
                f"revocation_keep_seconds {self.revocation_keep_seconds:g} must exceed "
                f"join_token_ttl_seconds {self.join_token_ttl_seconds} by 60 at least"
            )
        TrustedProxies(self.trusted_proxies)  # raises, naming the entry that is not an address or network
        if self.metrics_port == self.port:
            raise ValueError(f"metrics_port {self.metrics_port} must differ from port (0: /metrics on port)")
        if self.service_token and len(self.service_token) < 32:
            raise ValueError("service_token must be at least 32 characters")
        self._check_session_namespaces()
        if self.persist_lease_renew_seconds >= self.persist_lease_seconds:
            raise ValueError(
                f"persist_lease_renew_seconds ({self.persist_lease_renew_seconds:g}) must be less than "
                f"persist_lease_seconds ({self.persist_lease_seconds:g})"
            )

    def _check_session_namespaces(self) -> None:
        listed = self.session_namespaces
        if not listed:
            return
        if self.session_backend != "kubernetes":
            raise ValueError(
                "session_namespaces needs session_backend 'kubernetes' (the embedded room has no namespaces)"
            )
        if "*" in listed and len(listed) > 1:
            raise ValueError(
                'session_namespaces: "*" (every namespace) cannot be listed with other namespaces'
            )
        for namespace in listed:
            if namespace != "*" and not valid_name(namespace):
                raise ValueError(f"session_namespaces: {namespace!r} is not a DNS-1123 label")

    def serves(self, namespace: str) -> bool:
        """Whether this service's API and web app address the sessions of `namespace`."""
        return (
            namespace == self.namespace
            or namespace in self.session_namespaces
            or self.session_namespaces == ["*"]
        )

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def async_database_url(self) -> str:
        return normalize_database_url(self.database_url)
