"""The drawing service's settings: one environment variable per field (`DRAWNET_DRAWING_<FIELD>`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from drawnet.protocol import valid_name


def _default_frontend() -> Path:
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
    database_url: str = "sqlite:///.drawnet/drawnet.db"
    """SQLite (a file; the embedded default) or PostgreSQL (production): `postgresql://user:pw@host/db`."""
    nats_url: str = "nats://127.0.0.1:4222"
    namespace: str = "default"
    """The namespace whose sessions this service's web app and API address by default."""
    room_public_url: str = "ws://127.0.0.1:8001"
    """Where browsers reach the room server (injected into the web app)."""
    frontend_dir: Path = Field(default_factory=_default_frontend)
    """The web app's files (index.html, js/, css/)."""
    duplicate_window_seconds: Annotated[float, Field(gt=0)] = 600.0
    """Must match the room's: both declare the op-log stream."""
    persist_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    """Ops fetched from JetStream and written to SQL in one transaction."""
    persist_fetch_timeout_seconds: Annotated[float, Field(gt=0)] = 0.5
    """How long one fetch waits for a batch to fill before writing what it has."""
    persist_retry_seconds: Annotated[float, Field(gt=0)] = 1.0
    """Pause before retrying a batch the database refused; nothing is acknowledged until it is stored."""

    def model_post_init(self, _context: object, /) -> None:
        if not valid_name(self.namespace):
            raise ValueError(f"namespace {self.namespace!r} is not a DNS-1123 label")
        if not (self.frontend_dir / "index.html").is_file():
            raise ValueError(f"frontend_dir {self.frontend_dir} has no index.html")

    @property
    def async_database_url(self) -> str:
        return normalize_database_url(self.database_url)
