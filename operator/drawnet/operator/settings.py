"""The operator's settings: one environment variable per field (`DRAWNET_OPERATOR_<FIELD>`), read once at
start and validated there. The Helm chart's values become these variables."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Literal

from kubernetes.utils.quantity import parse_quantity
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from drawnet.protocol import valid_name
from drawnet.protocol.proxies import TrustedProxies
from drawnet.protocol.tokens import parse_keys

Exposure = Literal["none", "ingress", "httproute"]

ROOM_SIGNING_KEYS_SECRET = "drawnet-room-signing-keys"  # noqa: S105 - a Secret's name, not a secret
"""The Secret the operator writes the join-token keys to in each session's namespace (rbac.yaml names it)."""


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def quantity(value: str) -> Decimal:
    """A Kubernetes quantity (`500m`, `256Mi`) as a number; ValueError when it is not one."""
    parsed: Decimal = parse_quantity(value)  # type: ignore[no-untyped-call]
    return parsed


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRAWNET_OPERATOR_", frozen=True, extra="forbid")

    # ------------------------------------------------------------------------------------ scope
    namespaces: str = ""
    """Namespaces to serve, comma-separated; empty serves every namespace (the chart's default, with a
    ClusterRole). Listing them lets one operator per team run with less reach."""

    # ------------------------------------------------------------------------------------ the room pod
    room_image: str = ""
    """The room image every session gets unless it names another; required (Drawnet publishes no images:
    build images/room/Dockerfile; the chart sets it from `images.room`)."""
    room_image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    """Tagged releases need no pull per pod; a development loop pushing the same tag sets Always."""
    allowed_image_prefixes: str = ""
    """Prefixes a session's own `spec.room.image` must start with, comma-separated. Empty: other tags of
    `room_image`'s repository only, so a session cannot run arbitrary code under the platform's name."""
    room_port: Annotated[int, Field(ge=1, le=65535)] = 8001
    """The room's WebSocket and HTTP port (/healthz, /readyz, /metrics) in its pod and Service."""
    room_service_headless: bool = True
    """Rooms' Services without a cluster IP: a room is one pod, so its name can resolve to the pod itself,
    and a thousand sessions then take no addresses from the Service range and add no kube-proxy rules
    (ingress controllers and gateways route to the endpoints either way)."""
    room_cpu_request: str = "100m"
    """What the scheduler reserves for an idle room: one session is light."""
    room_memory_request: str = "128Mi"
    """A room's interpreter, socket buffers and one board in memory."""
    room_cpu_limit: str = "1"
    """A busy board's relay needs about one core (the room is one thread)."""
    room_memory_limit: str = "512Mi"
    """Room for a large board (max_strokes_per_board) and slow clients' buffers, not for a leak."""
    max_cpu: str = "2"
    """The most CPU a session may ask for in `spec.room.resources` (requests and limits alike)."""
    max_memory: str = "2Gi"
    """The most memory a session may ask for: one session must not take a node."""
    max_room_replicas: Annotated[int, Field(ge=1, le=16)] = 4
    """The most room pods a session may ask for (`spec.room.replicas`): each relays to every other, so
    the cost of a live frame grows with them; beyond a few, split the session."""
    room_run_as_user: Annotated[int, Field(ge=1)] = 10001
    """The room runs as this non-root user (the image's `USER`); the pod meets the restricted profile."""
    room_nats_url: str = "nats://nats:4222"
    """NATS (JetStream) as the rooms reach it, in their namespace (`DRAWNET_ROOM_NATS_URL`)."""
    room_drawing_url: str = ""
    """The drawing service as the rooms reach it, to load boards from snapshots
    (`DRAWNET_ROOM_DRAWING_URL`)."""
    room_signing_keys_secret: str = ROOM_SIGNING_KEYS_SECRET
    """Secret (in the session's namespace) whose key `room_signing_keys_key` holds the join-token keys
    the room verifies with; empty lets rooms in without tokens (development only). With
    `room_signing_keys` set, the operator writes this Secret itself in every namespace it starts a room
    in (rbac.yaml lets it read and patch only a Secret of this name)."""
    room_signing_keys_key: str = "signing-keys"
    """The key in that Secret."""
    room_signing_keys: SecretStr = SecretStr("")
    """The join-token keys (`kid:secret,...`, the chart passes its signing-keys Secret): the operator
    copies them into `room_signing_keys_secret` in each session's namespace before it starts a room there,
    so sessions in any namespace it serves work without copying Secrets by hand. Empty: that Secret must
    already exist wherever rooms run."""
    room_image_pull_secrets: str = ""
    """Image pull Secrets of the room pods, comma-separated names (the chart's `imagePullSecrets`). Like
    every pod's, they must exist in the pod's namespace, the session's."""
    room_startup_seconds: Annotated[int, Field(ge=10, le=3600)] = 300
    """How long a room's process may take to start serving HTTP (its startupProbe on /healthz) before the
    kubelet restarts it: interpreter start on a busy node. Waiting for NATS, the op log and the board
    does not count: the room is alive (/healthz) meanwhile and only not ready (/readyz)."""
    room_probe_timeout_seconds: Annotated[int, Field(ge=1, le=60)] = 5
    """How long the kubelet waits for /healthz and /readyz to answer. The room is one thread: loading a
    large board holds it for seconds, and a 1 s timeout would restart a room that is busy, not hung."""
    room_heartbeat_seconds: Annotated[float, Field(gt=0)] = 5.0
    """How often rooms publish heartbeats (`DRAWNET_ROOM_HEARTBEAT_SECONDS`); Live goes stale after 3."""
    room_ping_interval_seconds: Annotated[float, Field(gt=0, lt=120)] = 25.0
    """How often rooms ping each WebSocket (`DRAWNET_ROOM_PING_INTERVAL_SECONDS`): below the idle timeout
    of every proxy between browsers and rooms (ingress-nginx and cloud load balancers: 60 s), or quiet
    boards are cut off."""
    room_drain_grace_seconds: Annotated[float, Field(gt=0)] = 10.0
    """The room's drain time on SIGTERM; the pod's termination grace period adds 5 s to it."""
    room_trusted_proxies: str = ""
    """The proxies in front of the rooms whose X-Forwarded-For names the client
    (`DRAWNET_ROOM_TRUSTED_PROXIES`: addresses or CIDR networks, comma-separated, or `*`): the ingress
    controller's pods, so that the per-address limit counts clients and not the controller."""
    room_allowed_origins: str = ""
    """Other sites whose pages may open the rooms' WebSockets (`DRAWNET_ROOM_ALLOWED_ORIGINS`)."""

    # ------------------------------------------------------------------------------------ exposure
    exposure: Exposure = "none"
    """How browsers reach rooms from outside: an Ingress or a Gateway API HTTPRoute per session, with the
    path /rooms/<session> on `public_host`; `none` leaves it to the cluster (Service only)."""
    public_host: str = ""
    """The host name of the routes (required with an exposure)."""
    public_tls: bool = True
    """Whether browsers use wss:// (TLS ends at the ingress or gateway)."""
    ingress_class_name: str = ""
    """With `ingress`: the IngressClass (empty: the cluster's default class)."""
    ingress_annotations: str = ""
    """With `ingress`: annotations of every room's Ingress, as a JSON object (the chart passes
    `ingress.roomAnnotations`, by default ingress-nginx's WebSocket timeouts)."""
    ingress_tls_secret: str = ""
    """With `ingress`: the TLS Secret for `public_host`, in each session's namespace (empty: no TLS section,
    as when a shared certificate is the controller's default)."""
    gateway_name: str = ""
    """With `httproute`: the Gateway the routes attach to (it must allow routes from the sessions'
    namespaces)."""
    gateway_namespace: str = ""
    """The Gateway's namespace (empty: each session's own)."""
    gateway_section_name: str = ""
    """The Gateway's listener (empty: every listener that accepts the routes)."""

    # ------------------------------------------------------------------------------------ status
    resync_seconds: Annotated[float, Field(gt=0)] = 30.0
    """The level-based timer: every session is reconciled this often even when nothing happened, which
    repairs drift (a deleted Service, a changed pod) and applies the idle policy."""
    status_min_interval_seconds: Annotated[float, Field(ge=0)] = 2.0
    """Heartbeats change a session's status at most this often (participants, strokes, activity)."""
    status_patches_per_second: Annotated[float, Field(gt=0)] = 20.0
    """All heartbeat-driven status patches together stay under this rate: the API server's share."""
    nats_url: str = ""
    """Where the operator hears room heartbeats (`drawnet.status.>`); empty: no live status."""

    # ------------------------------------------------------------------------------------ archive
    drawing_url: str = ""
    """The drawing service's base URL for the archive call on delete; `{namespace}` is replaced by the
    session's namespace. Empty: sessions are deleted without archiving (development only)."""
    service_token: SecretStr = SecretStr("")
    """The drawing service's service token (`DRAWNET_DRAWING_SERVICE_TOKEN`), sent as a bearer token."""
    archive_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    """One archive call may take this long: the drawing service snapshots the whole board."""
    archive_retry_seconds: Annotated[float, Field(gt=0)] = 5.0
    """A failed archive is retried this often; the session stays (Terminating) until it succeeds."""

    # ------------------------------------------------------------------------------------ process
    liveness_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    """kopf's liveness endpoint (/healthz) for the pod's probe; 0 turns it off."""
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9090
    """Prometheus metrics (/metrics); 0 turns them off."""
    api_workers: Annotated[int, Field(ge=1, le=256)] = 16
    """Threads making Kubernetes API calls at once (the client is synchronous)."""
    workers: Annotated[int, Field(ge=1, le=10_000)] = 200
    """Sessions kopf handles at once; a cap keeps a burst of creations from starving the API server."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """INFO says what the operator did to what (created, replaced, ended, archived); kopf's own chatter
    stays at WARNING."""

    def model_post_init(self, _context: object, /) -> None:
        self._check_room_image()
        for namespace in self.namespace_list:
            if not valid_name(namespace):
                raise ValueError(f"namespaces: {namespace!r} is not a DNS-1123 label")
        for name in ("room_cpu_request", "room_memory_request", "room_cpu_limit", "room_memory_limit"):
            value = getattr(self, name)
            try:
                quantity(value)
            except ValueError as error:
                raise ValueError(f"{name}: {value!r} is not a Kubernetes quantity") from error
        for name in ("max_cpu", "max_memory"):
            try:
                quantity(getattr(self, name))
            except ValueError as error:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not a Kubernetes quantity") from error
        if self.exposure != "none" and not self.public_host:
            raise ValueError(f"exposure {self.exposure!r} needs public_host")
        if self.exposure == "httproute" and not self.gateway_name:
            raise ValueError("exposure 'httproute' needs gateway_name")
        self._check_room_secrets_and_annotations()
        if self.service_token.get_secret_value() and len(self.service_token.get_secret_value()) < 32:
            raise ValueError("service_token must be at least 32 characters (the drawing service's rule)")

    @property
    def namespace_list(self) -> tuple[str, ...]:
        return _csv(self.namespaces)

    def _check_room_secrets_and_annotations(self) -> None:
        try:
            annotations = json.loads(self.ingress_annotations or "{}")
        except ValueError as error:
            raise ValueError(f"ingress_annotations is not JSON: {error}") from error
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise ValueError("ingress_annotations must be a JSON object of strings")
        if self.room_signing_keys.get_secret_value():
            try:
                parse_keys(self.room_signing_keys.get_secret_value())
            except ValueError as error:
                raise ValueError(f"room_signing_keys: {error}") from error
            if not self.room_signing_keys_secret:
                raise ValueError("room_signing_keys needs room_signing_keys_secret: the Secret to write")
        try:
            TrustedProxies(self.room_trusted_proxies)
        except ValueError as error:
            raise ValueError(f"room_trusted_proxies: {error}") from error

    @property
    def ingress_annotation_map(self) -> dict[str, str]:
        loaded: dict[str, str] = json.loads(self.ingress_annotations or "{}")
        return loaded

    @property
    def image_pull_secret_list(self) -> tuple[str, ...]:
        return _csv(self.room_image_pull_secrets)

    def _check_room_image(self) -> None:
        if not self.room_image.strip():
            raise ValueError(
                "room_image is not set: Drawnet publishes no images. Build images/room/Dockerfile, push it "
                "where the cluster pulls from and set DRAWNET_OPERATOR_ROOM_IMAGE (the chart sets it from "
                'images.room; docs/deploy.md, "The images")'
            )

    @property
    def image_prefixes(self) -> tuple[str, ...]:
        prefixes = _csv(self.allowed_image_prefixes)
        if prefixes:
            return prefixes
        repository = self.room_image.split("@", 1)[0]
        if ":" in repository.rsplit("/", 1)[-1]:
            repository = repository.rsplit(":", 1)[0]
        return (repository + ":", repository + "@")
