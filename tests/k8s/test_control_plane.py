"""The test control plane is a real Kubernetes: it schedules, runs (KWOK), collects garbage and
enforces RBAC, and its service-account keys are wired end to end."""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drawnet.testkit.kube import ControlPlane, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from kubernetes.client import ApiClient

pytestmark = pytest.mark.k8s


def _pod(name: str, owner: client.V1OwnerReference | None = None) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, owner_references=[owner] if owner else None),
        spec=client.V1PodSpec(
            # KWOK runs no containers: the image is never pulled.
            containers=[client.V1Container(name="main", image="registry.invalid/drawnet/none:0")],
        ),
    )


def _gone(read: Callable[[], object]) -> bool:
    """True once ``read()`` answers 404."""
    try:
        read()
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def test_api_server_reports_the_pinned_version(control_plane: ControlPlane, api: ApiClient) -> None:
    info = client.VersionApi(api).get_code()
    assert info.git_version.startswith("v1.36.")
    assert info.git_version == control_plane.versions["KUBERNETES_VERSION"]
    assert (info.major, info.minor) == ("1", "36")


def test_the_fake_node_is_ready(control_plane: ControlPlane, api: ApiClient) -> None:
    node = client.CoreV1Api(api).read_node(control_plane.node_name)
    assert node.metadata is not None
    assert node.metadata.annotations is not None
    assert node.metadata.annotations["kwok.x-k8s.io/node"] == "fake"
    assert node.status is not None
    assert node.status.conditions is not None
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


def test_a_pod_is_scheduled_to_the_kwok_node_and_runs(
    control_plane: ControlPlane, api: ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, _pod("runner"))

    def running() -> client.V1Pod | None:
        pod = core.read_namespaced_pod("runner", namespace)
        return pod if pod.status is not None and pod.status.phase == "Running" else None

    pod = wait_until(running, timeout=60, what=f"pod {namespace}/runner Running")
    assert pod.spec is not None
    assert pod.spec.node_name == control_plane.node_name
    assert pod.status is not None
    assert pod.status.pod_ip  # KWOK assigned one from its CIDR


def test_deleting_an_owner_garbage_collects_its_dependent(api: ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    owner = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"), data={"k": "v"})
    )
    assert owner.metadata is not None
    reference = client.V1OwnerReference(
        api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
    )
    core.create_namespaced_pod(namespace, _pod("dependent", owner=reference))
    core.read_namespaced_pod("dependent", namespace)

    core.delete_namespaced_config_map("owner", namespace)

    # The controller-manager's garbage collector deletes the pod; KWOK (the "kubelet") confirms it.
    wait_until(
        lambda: _gone(lambda: core.read_namespaced_pod("dependent", namespace)),
        timeout=60,
        what=f"pod {namespace}/dependent garbage-collected after its owner was deleted",
    )


def test_rbac_is_enforced_for_a_service_account(
    control_plane: ControlPlane, api: ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="reader"))
    )
    user = f"system:serviceaccount:{namespace}:reader"

    with control_plane.api_client(impersonate_user=user) as as_reader:
        reader_core = client.CoreV1Api(as_reader)
        with pytest.raises(ApiException) as forbidden:
            reader_core.list_namespaced_pod(namespace)
        assert forbidden.value.status == 403

        rbac.create_namespaced_role(
            namespace,
            client.V1Role(
                metadata=client.V1ObjectMeta(name="pod-reader"),
                rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list"])],
            ),
        )
        rbac.create_namespaced_role_binding(
            namespace,
            client.V1RoleBinding(
                metadata=client.V1ObjectMeta(name="reader-reads-pods"),
                role_ref=client.V1RoleRef(
                    api_group="rbac.authorization.k8s.io", kind="Role", name="pod-reader"
                ),
                subjects=[client.RbacV1Subject(kind="ServiceAccount", name="reader", namespace=namespace)],
            ),
        )

        def allowed() -> bool:
            try:
                reader_core.list_namespaced_pod(namespace)
            except ApiException as exc:
                if exc.status == 403:
                    return False
                raise
            return True

        wait_until(allowed, timeout=30, what="the RoleBinding to take effect")
        # Still scoped: the Role grants pods only, in this namespace only.
        with pytest.raises(ApiException) as still_forbidden:
            reader_core.list_namespaced_secret(namespace)
        assert still_forbidden.value.status == 403


def test_service_account_tokens_are_minted_and_accepted(
    control_plane: ControlPlane, api: ApiClient, namespace: str
) -> None:
    """The controller-manager's serviceaccount-token controller signs with the key the API server
    verifies with: a token it writes into a Secret authenticates as the service account."""
    core = client.CoreV1Api(api)
    name = f"sa-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
    )
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=f"{name}-token", annotations={"kubernetes.io/service-account.name": name}
            ),
            type="kubernetes.io/service-account-token",
        ),
    )

    def token() -> str | None:
        secret = core.read_namespaced_secret(f"{name}-token", namespace)
        data = secret.data or {}
        return base64.b64decode(data["token"]).decode() if "token" in data else None

    bearer = wait_until(token, timeout=30, what="the serviceaccount-token controller to fill the Secret")

    configuration = client.Configuration(
        host=control_plane.server, ssl_ca_cert=str(control_plane.ca_cert), api_key={"authorization": bearer}
    )
    configuration.api_key_prefix = {"authorization": "Bearer"}
    with client.ApiClient(configuration=configuration) as as_sa:
        review = client.AuthenticationV1Api(as_sa).create_self_subject_review(client.V1SelfSubjectReview())
    assert review.status is not None
    assert review.status.user_info is not None
    assert review.status.user_info.username == f"system:serviceaccount:{namespace}:{name}"
