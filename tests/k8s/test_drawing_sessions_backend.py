"""The drawing service's Kubernetes sessions backend against the real API server (and, for the room and the
archive, the real operator): creating a session creates a DrawingSession, listing reads them, deleting
archives the board through the operator's finalizer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from drawnet.drawing import db, kube_sessions
from drawnet.drawing.errors import ConflictError, InvalidInputError
from drawnet.drawing.kube_sessions import KubernetesBackend
from drawnet.drawing.models import SessionRow
from drawnet.drawing.sessions import get_session
from drawnet.drawing.settings import normalize_database_url
from drawnet.operator.resource import API_VERSION, CRD_PATH, KIND, PLURAL, load_yaml_documents
from drawnet.testkit.kube import ControlPlane, wait_until
from drawnet.testkit.operator import DrawingSessions

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from sqlalchemy.ext.asyncio import AsyncEngine

    from tests.k8s.conftest import StartOperator

pytestmark = pytest.mark.k8s


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = db.make_engine(normalize_database_url(f"sqlite:///{tmp_path / 'drawnet.db'}"))
    await db.migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def backend(control_plane: ControlPlane, engine: AsyncEngine) -> Iterator[KubernetesBackend]:
    with control_plane.api_client() as api:
        yield KubernetesBackend(engine, api)


def _row(namespace: str, name: str, **changes: Any) -> SessionRow:
    values: dict[str, Any] = {
        "namespace": namespace,
        "name": name,
        "title": "Planning",
        "owner": "u-ann",
        "visibility": "private",
        "allow_guests": True,
        "max_participants": 12,
        "idle_timeout_seconds": 900,
        "created_at": time.time(),
    }
    values.update(changes)
    return SessionRow(**values)


def test_the_backends_names_are_the_crds() -> None:
    (crd,) = load_yaml_documents(CRD_PATH)
    assert f"{kube_sessions.GROUP}/{kube_sessions.VERSION}" == API_VERSION
    assert (kube_sessions.KIND, kube_sessions.PLURAL) == (KIND, PLURAL)
    assert crd["spec"]["names"]["plural"] == kube_sessions.PLURAL


async def test_creating_a_session_creates_a_drawingsession_and_listing_reads_them(
    backend: KubernetesBackend, engine: AsyncEngine, sessions: DrawingSessions, namespace: str
) -> None:
    await backend.create(_row(namespace, "planning"))
    await backend.create(_row(namespace, "retro", title="Retro", owner="u-bob", max_participants=3))

    resource = sessions.get("planning")
    assert resource["spec"] == {
        "title": "Planning",
        "owner": "u-ann",
        "maxParticipants": 12,
        "idleTimeoutSeconds": 900,
        "onIdle": "Stop",  # the CRD's default
    }
    assert resource["metadata"]["labels"] == {"app.kubernetes.io/created-by": "drawnet-drawing"}
    assert await db_row(engine, namespace, "planning") is not None  # ownership and links stay in SQL

    listed = await backend.list(namespace)
    assert [(s.name, s.title, s.owner, s.phase) for s in listed] == [
        ("planning", "Planning", "u-ann", "Pending"),
        ("retro", "Retro", "u-bob", "Pending"),
    ]
    assert [s.name for s in await backend.list(namespace, after="planning")] == ["retro"]

    await backend.update(_row(namespace, "retro", title="Retro, again", max_participants=4))
    assert sessions.get("retro")["spec"]["title"] == "Retro, again"
    assert sessions.get("retro")["spec"]["maxParticipants"] == 4


async def test_what_the_cluster_refuses_is_refused_and_leaves_nothing_behind(
    backend: KubernetesBackend, engine: AsyncEngine, sessions: DrawingSessions, namespace: str
) -> None:
    too_long = "x" * 60  # a valid session name for the drawing service, too long for a room's Pod name
    with pytest.raises(InvalidInputError) as refused:
        await backend.create(_row(namespace, too_long))
    assert "metadata.name must be at most 58 characters" in str(refused.value)
    assert await db_row(engine, namespace, too_long) is None

    sessions.create(DrawingSessions.manifest("taken"))  # made with kubectl, not through the API
    with pytest.raises(ConflictError):
        await backend.create(_row(namespace, "taken"))
    assert await db_row(engine, namespace, "taken") is None


async def test_deleting_a_session_deletes_its_resource_and_the_operator_lets_it_go(
    backend: KubernetesBackend,
    engine: AsyncEngine,
    sessions: DrawingSessions,
    namespace: str,
    start_operator: StartOperator,
) -> None:
    start_operator()
    await backend.create(_row(namespace, "done"))
    sessions.wait_for_condition("done", "Ready", "True")
    (listed,) = await backend.list(namespace)
    assert (listed.phase, listed.ready, listed.url) == (
        "Running",
        True,
        f"ws://room-done.{namespace}.svc:8001/rooms/{namespace}/done",
    )

    await backend.delete(namespace, "done")
    sessions.wait_gone("done")

    # Without a resource, deleting archives the row directly.
    await backend.create(_row(namespace, "orphan"))
    sessions.delete("orphan")
    wait_until(lambda: sessions.find("orphan") is None, timeout=60, what="orphan deleted")
    await backend.delete(namespace, "orphan")
    row = await db_row(engine, namespace, "orphan")
    assert row is not None
    assert row.archived


async def db_row(engine: AsyncEngine, namespace: str, name: str) -> SessionRow | None:
    return await get_session(engine, namespace, name)
