"""Exactly one active persister: a Kubernetes Lease (coordination.k8s.io/v1) elects it among the
persister's replicas; the others stand by and take over when the holder stops renewing it.

The algorithm is client-go's leader election: a holder renews the Lease every `renew_seconds`; a standby
takes it over once it has seen the same record, unchanged, for `lease_seconds` by its own clock (no
trust in other machines' clocks); every write carries the resourceVersion it read, so of two standbys
racing for it the API server lets exactly one win. A holder that cannot renew for
`lease_seconds - renew_seconds` stops persisting before anyone may take over. A holder that stops
gracefully releases the Lease, so a standby takes over at once.

Even two writers at once (a holder paused past its lease) store nothing twice and lose nothing: SQL keys
ops by their op-log seq, and a persister acknowledges only up to the last op it stored with no gap in
what the consumer delivered to it (persister.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

RBAC_PATH = Path(__file__).with_name("rbac-persister.yaml")
"""The Role the persister needs (the chart binds it; the tests run with it)."""

_CONFLICT, _NOT_FOUND = 409, 404


class LeaseError(Exception):
    """The API server refused what the Lease needs (other than a lost race), e.g. missing RBAC."""


class PersisterLease:
    """One replica's view of the Lease `namespace/name`."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_seconds: float,
        renew_seconds: float,
    ) -> None:
        self._api = client.CoordinationV1Api(api)
        self.namespace, self.name, self.identity = namespace, name, identity
        self.lease_seconds, self.renew_seconds = lease_seconds, renew_seconds
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._renewed_at = 0.0
        self.holding = False

    async def acquire(self) -> None:
        """Return once this replica holds the Lease."""
        said = False
        while not await asyncio.to_thread(self._try):
            if not said:
                log.info("persister standing by: the lease %s/%s is held", self.namespace, self.name)
                said = True
            await asyncio.sleep(self.renew_seconds)
        log.info("persister active: holding the lease %s/%s as %s", self.namespace, self.name, self.identity)

    async def hold(self) -> None:
        """Renew the Lease until it is lost; return when this replica must stop persisting."""
        deadline = self.lease_seconds - self.renew_seconds
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                renewed = await asyncio.to_thread(self._try)
            except LeaseError as error:
                log.warning("renewing the lease: %s", error)
                renewed = False
            if not renewed and (not self.holding or time.monotonic() - self._renewed_at > deadline):
                self.holding = False
                log.warning("persister lost the lease %s/%s: stepping down", self.namespace, self.name)
                return

    async def release(self) -> None:
        """Give the Lease up (a graceful stop): a standby takes over at once."""
        if self.holding:
            self.holding = False
            try:
                await asyncio.to_thread(self._release)
            except (LeaseError, ApiException) as error:
                log.warning("releasing the lease: %s", error)

    def _try(self) -> bool:
        """Take or renew the Lease if it is ours to take; False if another replica holds it."""
        try:
            lease = self._api.read_namespaced_lease(self.name, self.namespace)
        except ApiException as error:
            if error.status != _NOT_FOUND:
                raise LeaseError(f"reading lease {self.namespace}/{self.name}: {error.reason}") from error
            return self._write(None)
        spec = _spec(lease)
        record = _record(spec)
        now = time.monotonic()
        if record != self._observed:
            self._observed, self._observed_at = record, now
        holder = spec.holder_identity or ""
        if holder and holder != self.identity and now - self._observed_at < self.lease_seconds:
            self.holding = False
            return False
        return self._write(lease)

    def _write(self, lease: client.V1Lease | None) -> bool:
        now = dt.datetime.now(dt.UTC)
        if lease is None:
            lease = client.V1Lease(
                metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
                spec=client.V1LeaseSpec(lease_transitions=0),
            )
        spec = _spec(lease)
        if spec.holder_identity != self.identity:
            spec.acquire_time = now
            spec.lease_transitions = (spec.lease_transitions or 0) + (1 if spec.holder_identity else 0)
        spec.holder_identity = self.identity
        spec.renew_time = now
        spec.lease_duration_seconds = max(1, round(self.lease_seconds))
        try:
            if lease.metadata is None or lease.metadata.resource_version is None:
                written = self._api.create_namespaced_lease(self.namespace, lease)
            else:
                written = self._api.replace_namespaced_lease(self.name, self.namespace, lease)
        except ApiException as error:
            if error.status == _CONFLICT:  # another replica wrote it first (or made it first)
                self.holding = False
                return False
            raise LeaseError(f"writing lease {self.namespace}/{self.name}: {error.reason}") from error
        self._observed = _record(_spec(written))
        self._observed_at = self._renewed_at = time.monotonic()
        self.holding = True
        return True

    def _release(self) -> None:
        lease = self._api.read_namespaced_lease(self.name, self.namespace)
        spec = _spec(lease)
        if spec.holder_identity != self.identity:
            return
        spec.holder_identity = None
        spec.lease_duration_seconds = 1
        self._api.replace_namespaced_lease(self.name, self.namespace, lease)
        log.info("persister released the lease %s/%s", self.namespace, self.name)


def _spec(lease: client.V1Lease) -> client.V1LeaseSpec:
    if lease.spec is None:
        lease.spec = client.V1LeaseSpec()
    return lease.spec


def _record(spec: client.V1LeaseSpec) -> tuple[Any, ...]:
    """What changes at every renewal: a standby that sees it unchanged for a lease's time takes over."""
    return (spec.holder_identity, spec.renew_time, spec.lease_transitions)
