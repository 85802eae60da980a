"""Whose `X-Forwarded-For` is believed: the proxies in front of a service (an ingress controller).

Both the room and the drawing service take a client's address from the last hop a trusted proxy added,
for their per-address limits. Behind an ingress the proxy's own address is what every connection comes
from, and the cluster's pod network is not known in advance: the setting takes addresses and networks
(CIDR). Read right to left, as each proxy appends the address it was reached from: the first hop that is
not a trusted proxy is the client (the same rule as uvicorn's, which serves the drawing service).
"""

from __future__ import annotations

import ipaddress

__all__ = ["TrustedProxies"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """`*` (everyone: only where a NetworkPolicy admits nothing but the proxy), or addresses and CIDR
    networks, comma-separated. Empty: nobody, so the peer's address is the client's whatever it says."""

    def __init__(self, text: str) -> None:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        self.everyone = "*" in parts
        self.networks: list[_Network] = []
        for part in parts:
            if part == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as error:
                raise ValueError(
                    f"trusted proxy {part[:60]!r} is neither an address, a network (CIDR) nor '*'"
                ) from error

    def __bool__(self) -> bool:
        return self.everyone or bool(self.networks)

    def __contains__(self, address: str) -> bool:
        if self.everyone:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The peer, or when the peer is a trusted proxy the last forwarded hop that is not one (all of
        them proxies: the first)."""
        hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if not hops or peer not in self:
            return peer
        if self.everyone:
            return hops[0]
        for hop in reversed(hops):
            if hop not in self:
                return hop
        return hops[0]
