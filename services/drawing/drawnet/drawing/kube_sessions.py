"""The Kubernetes sessions backend: a session created through `/api/v1/sessions` is a DrawingSession
resource, which the operator turns into a room (Pod, Service, route); listing reads the resources.

It implements `SessionBackend` next to `EmbeddedBackend`. The SQL row stays the record of ownership,
visibility and share links (every access check reads it); the resource is what brings the room into being.
Deleting a session deletes its resource; the operator's finalizer then archives the board through
`POST /api/v1/sessions/<name>/archive`, which marks the row archived. A DrawingSession that a platform
team applied with kubectl has no row: with `open_boards` it is an open session (public, open to guests),
listed and joined like any other.

The drawing service never imports the operator (an import-linter contract): the resource's names are
repeated here, and a test keeps them equal to the CRD's single source.
"""

from __future__ import annotations

import asyncio
import builtins
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from drawnet.drawing.errors import ConflictError, InvalidInputError, UnavailableError
from drawnet.drawing.models import SessionRow
from drawnet.drawing.sessions import EmbeddedBackend, SessionStatus, mark_archived

GROUP = "drawnet.dev"
VERSION = "v1alpha1"
PLURAL = "drawingsessions"
KIND = "DrawingSession"
CREATED_BY = {"app.kubernetes.io/created-by": "drawnet-drawing"}
RBAC_PATH = Path(__file__).with_name("rbac.yaml")
"""The Role this backend needs in its namespace, and no more (the chart binds it; the tests run with it)."""
RBAC_ELSEWHERE_PATH = Path(__file__).with_name("rbac-elsewhere.yaml")
"""The ClusterRole it needs in each other namespace it serves (`session_namespaces`): reading sessions."""


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

    @property
    def status(self) -> SessionStatus:
        return SessionStatus(self.phase, self.ready, self.url, self.participants, self.strokes, self.title)


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


def load_api_client(kubeconfig: str = "") -> client.ApiClient:
    """A client of the cluster's API: from `kubeconfig`, else the pod's service account, else $KUBECONFIG."""
    configuration = client.Configuration()
    try:
        if kubeconfig:
            config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            try:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except config.ConfigException:
                config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError) as error:
        raise UnavailableError(
            f"session_backend 'kubernetes' found no cluster to talk to ({error}): run in a pod with a "
            "service account, or set kubeconfig"
        ) from error
    api = client.ApiClient(configuration)
    api.user_agent = "drawnet-drawing/0.1"
    return api


def _refusal(error: ApiException) -> str:
    try:
        return str(json.loads(error.body or "")["message"])
    except (ValueError, KeyError, TypeError):
        return f"{error.status} {error.reason}"


class KubernetesBackend:
    """Sessions are DrawingSession resources (plus their SQL rows); the Kubernetes client runs in threads."""

    def __init__(self, engine: AsyncEngine, api: client.ApiClient, *, open_sessions: bool = False) -> None:
        self._engine = engine
        self._rows = EmbeddedBackend(engine)
        self._objects = client.CustomObjectsApi(api)
        self._open_sessions = open_sessions

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

    async def list(
        self, namespace: str, *, limit: int = 500, after: str = ""
    ) -> builtins.list[SessionResource]:
        """The namespace's sessions as the cluster has them (phase, URL, participants), by name."""
        return [item for item in await self._all(namespace) if item.name > after][:limit]

    async def _all(self, namespace: str) -> builtins.list[SessionResource]:
        try:
            listing: Any = await asyncio.to_thread(
                self._objects.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL
            )
        except ApiException as error:
            raise UnavailableError(f"the cluster did not list sessions: {_refusal(error)}") from error
        return sorted((resource_view(item) for item in listing["items"]), key=lambda s: s.name)

    async def get(self, namespace: str, name: str) -> SessionResource | None:
        try:
            item: Any = await asyncio.to_thread(
                self._objects.get_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise UnavailableError(
                f"the cluster did not say how session {name!r} is: {_refusal(error)}"
            ) from error
        return resource_view(item)

    async def is_open(self, namespace: str, name: str) -> bool:
        """A DrawingSession nobody created through the API (applied with kubectl) is open, if they may be."""
        return self._open_sessions and await self.get(namespace, name) is not None

    async def status(self, namespace: str, names: Collection[str] | None = None) -> dict[str, SessionStatus]:
        if names is not None and len(names) == 1:  # one session's page: one GET, not a LIST
            (name,) = names
            found = await self.get(namespace, name)
            return {name: found.status} if found is not None else {}
        wanted = None if names is None else set(names)
        if wanted is not None and not wanted:
            return {}
        return {
            item.name: item.status
            for item in await self._all(namespace)
            if wanted is None or item.name in wanted
        }

    async def status_elsewhere(
        self, namespaces: Sequence[str], *, but: str
    ) -> dict[tuple[str, str], SessionStatus]:
        """The sessions of these namespaces (`["*"]`: of every one) but `but`, by (namespace, name)."""
        if list(namespaces) == ["*"]:
            try:
                listing: Any = await asyncio.to_thread(
                    self._objects.list_cluster_custom_object, GROUP, VERSION, PLURAL
                )
            except ApiException as error:
                raise UnavailableError(f"the cluster did not list sessions: {_refusal(error)}") from error
            found = [resource_view(item) for item in listing["items"]]
        else:
            found = [
                item for namespace in namespaces if namespace != but for item in await self._all(namespace)
            ]
        return {(item.namespace, item.name): item.status for item in found if item.namespace != but}

    async def _forget_row(self, namespace: str, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(SessionRow).where(col(SessionRow.namespace) == namespace, col(SessionRow.name) == name)
            )
