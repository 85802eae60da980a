"""Names the operator shares with the cluster: the DrawingSession resource, its children and their labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

GROUP = "drawnet.dev"
VERSION = "v1alpha1"
PLURAL = "drawingsessions"
KIND = "DrawingSession"
API_VERSION = f"{GROUP}/{VERSION}"

CRD_PATH = Path(__file__).parent / "crd" / "drawingsession.yaml"
"""The CRD's single source (the chart ships a copy that a test keeps equal)."""
RBAC_PATH = Path(__file__).parent / "rbac.yaml"
"""The ClusterRole the operator needs, and nothing more: the chart binds it; a test runs with exactly it."""

OPERATOR = "drawnet-operator"
"""Our name as a field manager, in `app.kubernetes.io/managed-by` and on events."""

# Labels every child carries; the operator watches only objects with MANAGED_BY (server-side selector).
MANAGED_BY = "app.kubernetes.io/managed-by"
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
INSTANCE = "app.kubernetes.io/instance"
SESSION_LABEL = "drawnet.dev/session"
"""The session a child belongs to (also the Service's selector)."""
TEMPLATE_HASH = "drawnet.dev/pod-template-hash"
"""Annotation on the room pod: a hash of what it was built from."""
SESSION_GENERATION = "drawnet.dev/session-generation"
"""Annotation on the room pod: the session's generation it was built for. A pod is replaced when the
session's spec changed it (new generation, other hash); new operator defaults (an upgrade) reach rooms
as they are recreated, instead of disconnecting every session at once."""

ANNOTATION_PREFIX = "operator.drawnet.dev"
"""kopf's own bookkeeping (handler progress, the last handled spec) lives in annotations under this
prefix, never in the user-facing status."""
FINALIZER = "drawnet.dev/archive"
"""Held while the session exists: deleting it first archives its board in the drawing service."""


def child_name(session: str) -> str:
    """The room Pod, Service and route of a session: `room-<session>`, a DNS-1035 label (the CRD caps
    session names at 58 characters so this fits in 63)."""
    return f"room-{session}"


def selector_labels(session: str) -> dict[str, str]:
    return {SESSION_LABEL: session, COMPONENT: "room"}


def child_labels(session: str) -> dict[str, str]:
    return {
        NAME: "drawnet-room",
        INSTANCE: session,
        MANAGED_BY: OPERATOR,
        **selector_labels(session),
    }


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    """Every document of a YAML file (the CRD, the RBAC) as plain dicts."""
    import yaml  # noqa: PLC0415 - only tools and tests read the sources; the operator itself does not

    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]
