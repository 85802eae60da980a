"""The few Kubernetes API calls the operator makes itself, as plain JSON, off the event loop.

kopf watches and keeps its own bookkeeping; creating children, deleting pods and writing status go
through here: the `kubernetes` client's configuration (in-cluster, or a kubeconfig) and connection pool,
without its model classes (our builders make dicts, and validating them twice costs time at scale).
Errors leave as `KubeError` with the API server's status and message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlencode

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from drawnet.operator.resource import GROUP, OPERATOR, PLURAL, VERSION

log = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"

# apiVersion/kind -> the collection path of that resource in a namespace.
_COLLECTIONS = {
    ("v1", "Pod"): "/api/v1/namespaces/{namespace}/pods",
    ("v1", "Service"): "/api/v1/namespaces/{namespace}/services",
    ("v1", "Secret"): "/api/v1/namespaces/{namespace}/secrets",
    ("networking.k8s.io/v1", "Ingress"): "/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): (
        "/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes"
    ),
    (f"{GROUP}/{VERSION}", "DrawingSession"): f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}/{PLURAL}",
}


class KubeError(Exception):
    """The API server refused a request (or could not be reached: status 0)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        """409: AlreadyExists on create, or a stale resourceVersion."""
        return self.status == 409


def load_api_client(*, qps_connections: int) -> client.ApiClient:
    """An ApiClient for the cluster we run in (service-account token), else the kubeconfig ($KUBECONFIG)."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except ConfigException:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    configuration.connection_pool_maxsize = qps_connections
    api = client.ApiClient(configuration=configuration)
    api.user_agent = f"{OPERATOR}/0.1"
    return api


def collection_path(api_version: str, kind: str, namespace: str) -> str:
    try:
        return _COLLECTIONS[(api_version, kind)].format(namespace=namespace)
    except KeyError:
        raise ValueError(f"the operator does not manage {kind} of {api_version}") from None


class Kube:
    """Blocking JSON requests through an ApiClient, run in a thread pool of `workers` threads."""

    def __init__(self, api: client.ApiClient, *, workers: int) -> None:
        self.api = api
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kube-api")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.api.close()  # type: ignore[no-untyped-call]

    # -------------------------------------------------------------------------------------- raw calls

    def request_sync(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = JSON,
        query: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        headers = {"Accept": JSON, "Content-Type": content_type, **self.api.default_headers}
        if self.api.user_agent:
            headers["User-Agent"] = self.api.user_agent
        url = self.api.configuration.host + path
        if query:
            url += "?" + urlencode(query)
        # Bearer tokens (service accounts, exec plugins) are applied, and refreshed, by the client.
        self.api.update_params_for_auth(headers, [], ["BearerToken"], path, method, body)
        try:
            response = self.api.rest_client.request(  # type: ignore[no-untyped-call]
                method, url, headers=headers, body=body, _request_timeout=timeout
            )
            data = response.read()
        except ApiException as error:  # raised by the REST layer for transport problems
            raise KubeError(int(error.status or 0), str(error.reason), str(error.body or error)) from error
        except Exception as error:
            raise KubeError(0, "Unreachable", repr(error)) from error
        if not 200 <= response.status < 300:
            message = data.decode(errors="replace")
            reason = response.reason or ""
            try:
                problem = json.loads(message)
            except ValueError:
                problem = None
            if isinstance(problem, dict):
                message, reason = str(problem.get("message", message)), str(problem.get("reason", reason))
            raise KubeError(response.status, reason, message)
        if not data:
            return {}
        loaded: dict[str, Any] = json.loads(data)
        return loaded

    async def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: self.request_sync(method, path, **kwargs))

    # -------------------------------------------------------------------------------------- helpers

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        metadata = obj["metadata"]
        path = collection_path(obj["apiVersion"], obj["kind"], metadata["namespace"])
        return await self.request("POST", path, body=obj, query={"fieldManager": OPERATOR})

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        path = f"{collection_path(api_version, kind, namespace)}/{quote(name)}"
        try:
            return await self.request("GET", path)
        except KubeError as error:
            if error.not_found:
                return None
            raise

    async def merge_patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: dict[str, Any],
        *,
        status: bool = False,
    ) -> dict[str, Any]:
        path = f"{collection_path(api_version, kind, namespace)}/{quote(name)}" + (
            "/status" if status else ""
        )
        return await self.request(
            "PATCH", path, body=patch, content_type=MERGE_PATCH, query={"fieldManager": OPERATOR}
        )

    async def delete(
        self, api_version: str, kind: str, namespace: str, name: str, *, uid: str | None = None
    ) -> bool:
        """Delete (only that incarnation, when `uid` is given); False when it was already gone."""
        path = f"{collection_path(api_version, kind, namespace)}/{quote(name)}"
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
        }
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            await self.request("DELETE", path, body=body)
        except KubeError as error:
            if error.not_found or (error.conflict and uid):  # gone, or already another incarnation
                return False
            raise
        return True
