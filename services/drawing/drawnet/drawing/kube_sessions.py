"""The Kubernetes sessions backend: a session created through `/api/v1/sessions` is a DrawingSession
resource, which the operator turns into a room (Pod, Service, route); listing reads the resources.

It implements `SessionBackend` next to `EmbeddedBackend`. The SQL row stays the record of ownership,
visibility and share links (every access check reads it); the resource is what brings the room into being.
Deleting a session deletes its resource; the operator's finalizer then archives the board through
`POST /api/v1/sessions/<name>/archive`, which marks the row archived.

The drawing service never imports the operator (an import-linter contract): the resource's names are
repeated here, and a test keeps them equal to the CRD's single source.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from drawnet.drawing.errors import ConflictError, InvalidInputError, UnavailableError
from drawnet.drawing.models import SessionRow
from drawnet.drawing.sessions import EmbeddedBackend, mark_archived

GROUP = "drawnet.dev"
VERSION = "v1alpha1"
PLURAL = "drawingsessions"
KIND = "DrawingSession"
CREATED_BY = {"app.kubernetes.io/created-by": "drawnet-drawing"}


@dataclass(frozen=True)
class SessionResource:
    """A DrawingSession as the API lists it: what its owner asked for and what the operator observes."""

    namespace: str
    name: str
    title: str
    owner: str | None
    phase: str
    ready: bool
    url: str
    participants: int
    strokes: int
    created_at: str


def session_manifest(session: SessionRow) -> dict[str, Any]:
    """The DrawingSession for a new session row."""
    spec: dict[str, Any] = {
        "title": session.title,
        "maxParticipants": session.max_participants,
        "idleTimeoutSeconds": session.idle_timeout_seconds,
    }
    if session.owner:
        spec["owner"] = session.owner
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {"name": session.name, "namespace": session.namespace, "labels": dict(CREATED_BY)},
        "spec": spec,
    }


def resource_view(item: dict[str, Any]) -> SessionResource:
    metadata, spec, status = item["metadata"], item.get("spec") or {}, item.get("status") or {}
    conditions = status.get("conditions") or []
    return SessionResource(
        namespace=metadata["namespace"],
        name=metadata["name"],
        title=spec.get("title", ""),
        owner=spec.get("owner"),
        phase=status.get("phase", "Pending"),
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        url=status.get("url", ""),
        participants=int(status.get("participants") or 0),
        strokes=int(status.get("strokes") or 0),
        created_at=metadata.get("creationTimestamp", ""),
    )


def _refusal(error: ApiException) -> str:
    try:
        return str(json.loads(error.body or "")["message"])
    except (ValueError, KeyError, TypeError):
        return f"{error.status} {error.reason}"


class KubernetesBackend:
    """Sessions are DrawingSession resources (plus their SQL rows); the Kubernetes client runs in threads."""

    def __init__(self, engine: AsyncEngine, api: client.ApiClient) -> None:
        self._engine = engine
        self._rows = EmbeddedBackend(engine)
        self._objects = client.CustomObjectsApi(api)

    async def create(self, session: SessionRow) -> None:
        await self._rows.create(session)  # a name already taken here is a ConflictError before the cluster
        try:
            await asyncio.to_thread(
                self._objects.create_namespaced_custom_object,
                GROUP,
                VERSION,
                session.namespace,
                PLURAL,
                session_manifest(session),
            )
        except ApiException as error:
            await self._forget_row(session.namespace, session.name)
            if error.status == 409:
                raise ConflictError(f"session {session.name!r} already exists in the cluster") from error
            if error.status == 422:
                raise InvalidInputError(
                    f"the cluster refused session {session.name!r}: {_refusal(error)}"
                ) from error
            raise UnavailableError(
                f"the cluster did not create session {session.name!r}: {_refusal(error)}"
            ) from error

    async def update(self, session: SessionRow) -> None:
        await self._rows.update(session)
        patch = {
            "spec": {
                "title": session.title,
                "maxParticipants": session.max_participants,
                "idleTimeoutSeconds": session.idle_timeout_seconds,
            }
        }
        try:
            await asyncio.to_thread(
                self._objects.patch_namespaced_custom_object,
                GROUP,
                VERSION,
                session.namespace,
                PLURAL,
                session.name,
                patch,
            )
        except ApiException as error:
            if error.status == 404:
                return  # no resource (any more): the row is all there is
            if error.status == 422:
                raise InvalidInputError(f"the cluster refused the change: {_refusal(error)}") from error
            raise UnavailableError(
                f"the cluster did not change session {session.name!r}: {_refusal(error)}"
            ) from error

    async def delete(self, namespace: str, name: str) -> None:
        """Delete the resource; the operator archives the board before the room goes. Without a
        resource, archive the row here."""
        try:
            await asyncio.to_thread(
                self._objects.delete_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name
            )
        except ApiException as error:
            if error.status != 404:
                raise UnavailableError(
                    f"the cluster did not delete session {name!r}: {_refusal(error)}"
                ) from error
            await mark_archived(self._engine, namespace, name)

    async def list(self, namespace: str, *, limit: int = 500, after: str = "") -> list[SessionResource]:
        """The namespace's sessions as the cluster has them (phase, URL, participants), by name."""
        listing: Any = await asyncio.to_thread(
            self._objects.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL
        )
        items = sorted((resource_view(item) for item in listing["items"]), key=lambda s: s.name)
        return [item for item in items if item.name > after][:limit]

    async def _forget_row(self, namespace: str, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(SessionRow).where(col(SessionRow.namespace) == namespace, col(SessionRow.name) == name)
            )
