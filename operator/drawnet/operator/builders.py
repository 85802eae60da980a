"""Pure builders of a session's children: the room Pod, its Service and (when configured) an Ingress or a
Gateway API HTTPRoute. Plain dicts in, plain dicts out; no cluster needed to test them.

The handlers add ownership (`kopf.adopt`) and send them; what the API server fills in on its own (a
Service's clusterIP, defaults) is ignored when looking for drift (`drifted`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from drawnet.operator.resource import (
    COMPONENT,
    MANAGED_BY,
    NAME,
    OPERATOR,
    TEMPLATE_HASH,
    child_labels,
    child_name,
    selector_labels,
)
from drawnet.operator.settings import OperatorSettings
from drawnet.operator.spec import SessionSpec

PORT_NAME = "ws"
STARTUP_PERIOD_SECONDS = 1
"""The startup probe looks this often: a room is probed for readiness as soon as it serves (a 2 s period
added up to 2 s to every apply -> first stroke on the real node, bench/node)."""
GATEWAY_GROUP = "gateway.networking.k8s.io"


def room_path(namespace: str, session: str) -> str:
    """The path browsers open (`/rooms/<namespace>/<session>`), also what the routes match: every
    namespace's sessions share the public host, and two sessions of one name must not share a path."""
    return f"/rooms/{namespace}/{session}"


def room_url(namespace: str, session: str, settings: OperatorSettings) -> str:
    """Where browsers reach the session's room: through the route, or in-cluster through its Service."""
    if settings.exposure != "none":
        scheme = "wss" if settings.public_tls else "ws"
        return f"{scheme}://{settings.public_host}{room_path(namespace, session)}"
    host = f"{child_name(session)}.{namespace}.svc"
    return f"ws://{host}:{settings.room_port}{room_path(namespace, session)}"


def _metadata(namespace: str, session: str) -> dict[str, Any]:
    return {"name": child_name(session), "namespace": namespace, "labels": child_labels(session)}


def replica_name(session: str, index: int) -> str:
    """A session's room pod `index`: the first is `room-<session>` (as with one replica), the others
    `room-<session>.<index>`. A dot, which no session name has (DNS-1035 labels), so that replica 1 of
    `retro` can never take the name of the room of a session called `retro-1`."""
    return child_name(session) if index == 0 else f"{child_name(session)}.{index}"


def _env(namespace: str, session: str, spec: SessionSpec, settings: OperatorSettings) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "DRAWNET_ROOM_HOST", "value": "0.0.0.0"},
        {"name": "DRAWNET_ROOM_PORT", "value": str(settings.room_port)},
        {"name": "DRAWNET_ROOM_NAMESPACE", "value": namespace},
        {"name": "DRAWNET_ROOM_SESSION", "value": session},
        {"name": "DRAWNET_ROOM_NATS_URL", "value": settings.room_nats_url},
        # The pod's uid, not its name: a recreated pod has the same name but is another replica.
        {"name": "DRAWNET_ROOM_REPLICA_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "DRAWNET_ROOM_MAX_PARTICIPANTS", "value": str(spec.max_participants)},
        {"name": "DRAWNET_ROOM_HEARTBEAT_SECONDS", "value": f"{settings.room_heartbeat_seconds:g}"},
        {"name": "DRAWNET_ROOM_DRAIN_GRACE_SECONDS", "value": f"{settings.room_drain_grace_seconds:g}"},
        {"name": "DRAWNET_ROOM_PING_INTERVAL_SECONDS", "value": f"{settings.room_ping_interval_seconds:g}"},
    ]
    if settings.room_drawing_url:
        env.append({"name": "DRAWNET_ROOM_DRAWING_URL", "value": settings.room_drawing_url})
    if spec.replicas > 1:
        # Several rooms host the session: each relays live traffic and presence to the others over NATS
        # (durable ops reach every replica through the op log anyway).
        env.append({"name": "DRAWNET_ROOM_RELAY_BETWEEN_REPLICAS", "value": "true"})
    if settings.room_trusted_proxies:
        env.append({"name": "DRAWNET_ROOM_TRUSTED_PROXIES", "value": settings.room_trusted_proxies})
    if settings.room_allowed_origins:
        env.append({"name": "DRAWNET_ROOM_ALLOWED_ORIGINS", "value": settings.room_allowed_origins})
    if settings.room_signing_keys_secret:
        secret = {"name": settings.room_signing_keys_secret, "key": settings.room_signing_keys_key}
        env.append({"name": "DRAWNET_ROOM_SIGNING_KEYS", "valueFrom": {"secretKeyRef": secret}})
    else:
        env.append({"name": "DRAWNET_ROOM_ALLOW_ANONYMOUS", "value": "true"})
    return env


def template_hash(pod: Mapping[str, Any]) -> str:
    """A short hash of everything a pod was built from; a different one means "replace the pod"."""
    canonical = json.dumps(pod.get("spec", {}), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def build_room_pod(
    namespace: str, session: str, spec: SessionSpec, settings: OperatorSettings, *, index: int = 0
) -> dict[str, Any]:
    """Room pod `index` of a session (of `spec.replicas`): hosts only this session and reports Ready once
    its board is loaded. The session's Service selects every replica: the route spreads participants."""
    probe_port = {"port": PORT_NAME}
    container: dict[str, Any] = {
        "name": "room",
        "image": spec.image,
        "imagePullPolicy": settings.room_image_pull_policy,
        "ports": [{"name": PORT_NAME, "containerPort": settings.room_port, "protocol": "TCP"}],
        "env": _env(namespace, session, spec, settings),
        "resources": spec.resources.as_manifest(),
        # /healthz answers as soon as the process serves HTTP, before NATS, the op log and the board: the
        # startup budget covers only the process starting; liveness takes over after it.
        "startupProbe": {
            "httpGet": {"path": "/healthz", **probe_port},
            "periodSeconds": STARTUP_PERIOD_SECONDS,
            "timeoutSeconds": settings.room_probe_timeout_seconds,
            "failureThreshold": max(1, -(-settings.room_startup_seconds // STARTUP_PERIOD_SECONDS)),
        },
        # /readyz: NATS connected, the op-log stream declared, the socket listening, the board loaded.
        "readinessProbe": {
            "httpGet": {"path": "/readyz", **probe_port},
            "periodSeconds": 2,
            "timeoutSeconds": settings.room_probe_timeout_seconds,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", **probe_port},
            "periodSeconds": 10,
            "timeoutSeconds": settings.room_probe_timeout_seconds,
            "failureThreshold": 3,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        # The root file system is read-only; the room writes nothing, but Python and libraries may want /tmp.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - a private emptyDir
    }
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**_metadata(namespace, session), "name": replica_name(session, index)},
        "spec": {
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
            # The kubelet restarts a crashed room in place; a lost or failed pod is the operator's to replace.
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": int(settings.room_drain_grace_seconds) + 5,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            **(
                {"imagePullSecrets": [{"name": name} for name in settings.image_pull_secret_list]}
                if settings.image_pull_secret_list
                else {}
            ),
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": settings.room_run_as_user,
                "runAsGroup": settings.room_run_as_user,
                "fsGroup": settings.room_run_as_user,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        },
    }
    if index > 0:
        # A pod's hostname defaults to its name, and a hostname has no dots.
        pod["spec"]["hostname"] = f"{child_name(session)}-{index}"
    if spec.replicas > 1:
        # The session's replicas on different nodes where the scheduler can: one node lost is one replica.
        pod["spec"]["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector_labels(session)},
            }
        ]
    pod["metadata"]["annotations"] = {TEMPLATE_HASH: template_hash(pod)}
    return pod


def build_room_service(namespace: str, session: str, settings: OperatorSettings) -> dict[str, Any]:
    """A stable in-cluster name for the room, whichever pod serves it now."""
    spec: dict[str, Any] = {"type": "ClusterIP"}
    if settings.room_service_headless:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(namespace, session),
        "spec": {
            **spec,
            "selector": selector_labels(session),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": settings.room_port,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                    "appProtocol": "kubernetes.io/ws",
                }
            ],
        },
    }


def build_room_ingress(namespace: str, session: str, settings: OperatorSettings) -> dict[str, Any]:
    """`<public_host>/rooms/<session>` to the room's Service."""
    path = {
        "path": room_path(namespace, session),
        "pathType": "Prefix",
        "backend": {"service": {"name": child_name(session), "port": {"name": PORT_NAME}}},
    }
    spec: dict[str, Any] = {"rules": [{"host": settings.public_host, "http": {"paths": [path]}}]}
    if settings.ingress_class_name:
        spec["ingressClassName"] = settings.ingress_class_name
    if settings.ingress_tls_secret:
        spec["tls"] = [{"hosts": [settings.public_host], "secretName": settings.ingress_tls_secret}]
    metadata = _metadata(namespace, session)
    if settings.ingress_annotation_map:
        metadata["annotations"] = dict(settings.ingress_annotation_map)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}


def build_room_httproute(namespace: str, session: str, settings: OperatorSettings) -> dict[str, Any]:
    """The same route for a Gateway API gateway."""
    parent: dict[str, Any] = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": settings.gateway_name}
    if settings.gateway_namespace:
        parent["namespace"] = settings.gateway_namespace
    if settings.gateway_section_name:
        parent["sectionName"] = settings.gateway_section_name
    rule = {
        "matches": [{"path": {"type": "PathPrefix", "value": room_path(namespace, session)}}],
        "backendRefs": [{"name": child_name(session), "port": settings.room_port}],
    }
    return {
        "apiVersion": f"{GATEWAY_GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": _metadata(namespace, session),
        "spec": {"parentRefs": [parent], "hostnames": [settings.public_host], "rules": [rule]},
    }


def build_signing_keys_secret(namespace: str, settings: OperatorSettings) -> dict[str, Any]:
    """The join-token keys rooms verify with, in a session's namespace: one Secret per namespace, shared
    by its rooms (no owner: it outlives any one session)."""
    keys = settings.room_signing_keys.get_secret_value()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": settings.room_signing_keys_secret,
            "namespace": namespace,
            "labels": {NAME: "drawnet-room", MANAGED_BY: OPERATOR, COMPONENT: "room-signing-keys"},
        },
        "type": "Opaque",
        "data": {settings.room_signing_keys_key: base64.b64encode(keys.encode()).decode()},
    }


def admitted(kind: str, route: Mapping[str, Any] | None) -> tuple[bool, str]:  # noqa: PLR0911 - one per state
    """Whether the controller serves a route (and if not, what it waits for).

    An Ingress is served once its controller wrote an address into `status.loadBalancer.ingress`.
    An HTTPRoute once every parent (Gateway) it names reports `Accepted: True` in `status.parents`
    (Gateway API: a route not accepted by a parent is not attached to it) and none of them says its
    backends are unresolved (`ResolvedRefs: False`).
    """
    if route is None:
        return False, "does not exist yet"
    status = route.get("status") or {}
    if kind == "Ingress":
        if (status.get("loadBalancer") or {}).get("ingress"):
            return True, ""
        return False, "has no address from an ingress controller yet (status.loadBalancer.ingress is empty)"
    parents = status.get("parents") or []
    if not parents:
        return False, "is not accepted by its Gateway yet (no status.parents)"
    for parent in parents:
        conditions = {c.get("type"): c for c in parent.get("conditions") or []}
        name = (parent.get("parentRef") or {}).get("name", "?")
        accepted = conditions.get("Accepted") or {}
        if accepted.get("status") != "True":
            reason = accepted.get("reason") or "no Accepted condition yet"
            message = accepted.get("message") or ""
            return False, f"is not accepted by Gateway {name}: {reason}" + (
                f" ({message})" if message else ""
            )
        resolved = conditions.get("ResolvedRefs") or {}
        if resolved.get("status") == "False":
            return False, f"has unresolved backends on Gateway {name} ({resolved.get('reason')})"
    return True, ""


def build_route(namespace: str, session: str, settings: OperatorSettings) -> dict[str, Any] | None:
    """The configured route, or None when rooms are not exposed outside the cluster."""
    if settings.exposure == "ingress":
        return build_room_ingress(namespace, session, settings)
    if settings.exposure == "httproute":
        return build_room_httproute(namespace, session, settings)
    return None


def drifted(desired: Any, actual: Any) -> bool:
    """Whether `actual` lost or changed something `desired` sets (what the server adds is fine)."""
    if isinstance(desired, Mapping):
        if not isinstance(actual, Mapping):
            return True
        return any(key not in actual or drifted(value, actual[key]) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(actual) != len(desired):
            return True
        return any(drifted(d, a) for d, a in zip(desired, actual, strict=True))
    return bool(desired != actual)


def is_room_child(obj: Mapping[str, Any]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return labels.get(COMPONENT) == "room"
