"""Three real nats-server processes clustered with JetStream, as the chart's HA shape runs them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from nats.aio.client import Client
from nats.errors import Error as NatsError

from drawnet.embedded.components import NatsServer, free_port
from drawnet.protocol import OPS_STREAM


@dataclass
class NatsCluster:
    """`size` servers on loopback, each with its own JetStream store under `data_dir`."""

    data_dir: Path
    size: int = 3
    servers: list[NatsServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        cluster_ports = [free_port() for _ in range(self.size)]
        for index, port in enumerate(cluster_ports):
            others = [f"nats://127.0.0.1:{p}" for p in cluster_ports if p != port]
            self.servers.append(
                NatsServer(
                    data_dir=self.data_dir / f"n{index}",
                    server_name=f"n{index}",
                    cluster_port=port,
                    routes=others,
                )
            )

    @property
    def url(self) -> str:
        """Every server, comma-separated: what the components are given."""
        return ",".join(server.url for server in self.servers)

    def start(self, timeout: float = 60.0) -> NatsCluster:
        for server in self.servers:
            server.launch()
        for server in self.servers:
            assert server.process is not None
            server.process.wait_until(
                functools.partial(_has_meta_leader, server), timeout=timeout, what="JetStream cluster formed"
            )
        return self

    def by_name(self, name: str) -> NatsServer:
        return next(server for server in self.servers if server.server_name == name)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def _has_meta_leader(server: NatsServer) -> bool:
    """JetStream is up on `server` and the cluster elected its meta leader (streams can be made)."""
    answer = httpx.get(f"http://{server.host}:{server.monitor_port}/jsz", timeout=1.0).json()
    return bool(answer.get("meta_cluster", {}).get("leader"))


async def stream_leader(nc: Client, *, timeout: float = 30.0) -> str:
    """The name of the server that leads the op-log stream (waits for an election in progress)."""
    js = nc.jetstream(timeout=0.5)  # a question to a dead leader is asked again soon
    async with asyncio.timeout(timeout):
        while True:
            with contextlib.suppress(NatsError, TimeoutError):
                info = await js.stream_info(OPS_STREAM)
                if info.cluster is not None and info.cluster.leader:
                    return info.cluster.leader
            await asyncio.sleep(0.02)
