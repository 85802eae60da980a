"""A DrawingSession's spec, read and checked against the operator's bounds (pure: no I/O).

The API server already enforces the schema (types, ranges, CEL rules); what only the operator knows --
which images it allows, how much CPU and memory a room may have -- is checked here, and a session
outside those bounds is refused with a message that names the bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from drawnet.operator.settings import OperatorSettings, quantity


class InvalidSpecError(ValueError):
    """The spec asks for something the operator does not allow; the message says what and the bound."""


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_manifest(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class SessionSpec:
    """What a session asks for, with the operator's defaults filled in and its bounds checked."""

    title: str
    owner: str | None
    max_participants: int
    idle_timeout_seconds: int
    on_idle: Literal["Stop", "Delete"]
    image: str
    resources: Resources
    replicas: int = 1
    """Room pods for the session; more than one relay live traffic between each other."""


def _text(value: object, default: str) -> str:
    return value if isinstance(value, str) else default


def _whole(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _within(field: str, value: str, maximum: str, bound_name: str) -> None:
    try:
        amount = quantity(value)
    except ValueError as error:
        raise InvalidSpecError(f"{field} {value!r} is not a Kubernetes quantity") from error
    if amount <= 0:
        raise InvalidSpecError(f"{field} {value!r} must be positive")
    if amount > quantity(maximum):
        raise InvalidSpecError(f"{field} {value} exceeds the operator's {bound_name} {maximum}")


def parse_spec(raw: Mapping[str, Any], settings: OperatorSettings) -> SessionSpec:
    """Read `raw` (a DrawingSession's spec), fill in defaults, check the operator's bounds."""
    room = raw.get("room") or {}
    image = _text(room.get("image"), "") or settings.room_image
    if image != settings.room_image and not image.startswith(settings.image_prefixes):
        allowed = ", ".join(settings.image_prefixes)
        raise InvalidSpecError(
            f"spec.room.image {image!r} is not allowed: it must start with one of {allowed}"
        )

    wanted = room.get("resources") or {}
    requests, limits = wanted.get("requests") or {}, wanted.get("limits") or {}
    resources = Resources(
        cpu_request=_text(requests.get("cpu"), settings.room_cpu_request),
        memory_request=_text(requests.get("memory"), settings.room_memory_request),
        cpu_limit=_text(limits.get("cpu"), settings.room_cpu_limit),
        memory_limit=_text(limits.get("memory"), settings.room_memory_limit),
    )
    for kind, field, value in (
        ("requests", "cpu", resources.cpu_request),
        ("limits", "cpu", resources.cpu_limit),
        ("requests", "memory", resources.memory_request),
        ("limits", "memory", resources.memory_limit),
    ):
        bound_name, bound = (
            ("max_cpu", settings.max_cpu) if field == "cpu" else ("max_memory", settings.max_memory)
        )
        _within(f"spec.room.resources.{kind}.{field}", value, bound, bound_name)
    # A default limit below a session's own request (or the reverse) would be refused by the API server
    # with a message about the pod; say it about the session instead.
    for field, request, limit in (
        ("cpu", resources.cpu_request, resources.cpu_limit),
        ("memory", resources.memory_request, resources.memory_limit),
    ):
        if quantity(request) > quantity(limit):
            raise InvalidSpecError(
                f"spec.room.resources.requests.{field} {request} exceeds the limit {limit} "
                "(set limits too, or ask for less)"
            )

    replicas = _whole(room.get("replicas"), 1)
    if replicas < 1:
        raise InvalidSpecError(f"spec.room.replicas {replicas} must be at least 1")
    if replicas > settings.max_room_replicas:
        raise InvalidSpecError(
            f"spec.room.replicas {replicas} exceeds the operator's max_room_replicas "
            f"{settings.max_room_replicas}"
        )

    on_idle = raw.get("onIdle", "Stop")
    return SessionSpec(
        title=_text(raw.get("title"), ""),
        owner=_text(raw.get("owner"), "") or None,
        max_participants=_whole(raw.get("maxParticipants"), 50),
        idle_timeout_seconds=_whole(raw.get("idleTimeoutSeconds"), 3600),
        on_idle="Delete" if on_idle == "Delete" else "Stop",
        image=image,
        resources=resources,
        replicas=replicas,
    )
