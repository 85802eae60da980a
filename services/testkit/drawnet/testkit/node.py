"""A real one-node Kubernetes cluster for tests, without Docker.

The test kit's control plane (drawnet.testkit.kube, without KWOK) plus a real node: containerd v2 with
runc and the CNI plugins, the kubelet and kube-proxy, CoreDNS for cluster DNS and Traefik as the
ingress controller (DNS and ingress run as host processes of the fixture, not as pods). Every binary is
built from pinned Go modules by ``tools/k8s/build.sh``; runc, iptables and conntrack are Debian's.

Addresses: everything lives in 198.18.0.0/15 (reserved for network testing). The node's bridge
``drawnet0`` holds 198.18.0.1, the pods get 198.18.0.0/24 from it, Services 198.19.0.0/16; the API
server, the kubelet, CoreDNS and Traefik listen on the bridge's address. Nothing is masqueraded, a
guard chain drops any forwarded packet that would leave the bridge or the range, and the range is
routed to the bridge, so nothing is ever routed off the machine.

There is one real node per machine (fixed names: the bridge, port 10250, containerd's shim socket
folder), kept under ``/var/lib/drawnet-node``; a lock refuses a second one. ``stop()`` removes
every process, mount, interface, rule, cgroup, sysctl change and folder the run made, and ``start()``
first removes what a killed run left (``leftovers()`` lists anything still there). Needs root.

By hand: ``python -m drawnet.testkit.node up`` (Ctrl-C stops it and cleans up) and
``python -m drawnet.testkit.node clean`` (removes what a killed run left).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Self

from drawnet.testkit.kube import (
    Component,
    ControlPlane,
    ControlPlaneError,
    find_binaries,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from kubernetes.client import ApiClient

__all__ = [
    "BRIDGE",
    "BRIDGE_IP",
    "INGRESS_HOST",
    "INGRESS_HOSTS",
    "NODE_NAME",
    "NodeBinaries",
    "NodeError",
    "NodeUnavailableError",
    "RealNode",
    "clean_leftovers",
    "find_node_binaries",
    "leftovers",
]

NODE_NAME = "drawnet-node"
BRIDGE = "drawnet0"
BRIDGE_IP = "198.18.0.1"
POD_SUBNET = "198.18.0.0/24"  # the node's podCIDR; host-local hands out .2-.254, the bridge is .1
TEST_RANGE = "198.18.0.0/15"  # RFC 2544: every pod, Service and fake address of the test clusters
CLUSTER_DOMAIN = "cluster.local"
KUBELET_PORT = 10250
INGRESS_HTTP_PORT = 80  # Traefik's entry point on the bridge: the URLs browsers see carry no port
# The public host of what the node's ingress serves: /etc/hosts maps it to the bridge while the node runs
# (.test is reserved for testing, RFC 2606), so browsers and clients on this machine use real URLs.
INGRESS_HOST = "draw.drawnet.test"
INGRESS_HOSTS = (INGRESS_HOST, "ha.drawnet.test")
"""The names this machine's /etc/hosts maps to the node's ingress while it runs: one per release a test
installs (each its own `public.host`)."""
_HOSTS_FILE = Path("/etc/hosts")
_HOSTS_MARK = "# drawnet-node"
ROOT = Path(os.environ.get("DRAWNET_NODE_DIR", "/var/lib/drawnet-node"))
LOCK = Path("/run/drawnet-node.lock")
GUARD_CHAIN = "DRAWNET-NODE-GUARD"
INGRESS_CLASS = "traefik"
STORAGE_CLASS = "drawnet-local"  # the default class: pre-made local volumes on the node (no provisioner)
LOCAL_VOLUMES = 8  # how many; each claim of the class binds one, whatever size it asks for up to this
LOCAL_VOLUME_SIZE = "100Gi"

# Sysctls the run changes (the bridge plugin turns forwarding on for the whole host; the kubelet sets
# the overcommit and panic ones): saved at start, restored at stop.
_SYSCTLS = (
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
)
# State the kubelet, containerd and libcni make outside their configured folders: removed at stop
# when the run made them.
_HOST_PATHS = (
    Path("/var/lib/kubelet"),
    Path("/var/log/containers"),
    Path("/var/log/pods"),
    Path("/var/lib/cni"),
    Path("/run/containerd"),
    Path("/run/netns"),
    Path("/opt/containerd"),
)
_STATE = ROOT / "state.json"
# iptables chains other than kube-proxy's (which `kube-proxy --cleanup` removes) that the run makes:
# the portmap plugin's (not CNI-FORWARD and the like: buildah's CNI makes those).
_CNI_CHAIN_PREFIXES = ("CNI-HOSTPORT-", "CNI-DN-")
_COMPONENTS = ("kubelet", "kube-proxy", "containerd", "cni-plugins", "coredns", "traefik", "pause")


class NodeError(ControlPlaneError):
    """A node component failed to start or to become ready (with its log's tail)."""


class NodeUnavailableError(NodeError):
    """What a real node needs is missing here: root, a binary, a Debian package (named)."""


# ---------------------------------------------------------------------------------------- binaries


@dataclass(frozen=True)
class NodeBinaries:
    kubelet: Path
    kube_proxy: Path
    containerd: Path
    containerd_shim: Path
    ctr: Path
    cni_dir: Path  # bridge, host-local, loopback, portmap
    coredns: Path
    traefik: Path
    pause: Path
    runc: Path
    iptables: Path


def _repo_root() -> Path:
    for folder in (Path(__file__).resolve().parent, *Path(__file__).resolve().parents, Path.cwd()):
        if (folder / "tools" / "k8s" / "build.sh").is_file():
            return folder
    raise NodeUnavailableError("cannot find tools/k8s/build.sh: run from a Drawnet checkout")


def _printed_paths(script: Path, components: Sequence[str]) -> dict[str, Path]:
    """``script --print``'s ``name: path`` lines; raises naming what is not built."""
    result = subprocess.run(
        ["bash", str(script), "--print", *components], capture_output=True, text=True, check=False
    )
    paths: dict[str, Path] = {}
    missing = []
    for line in result.stdout.splitlines():
        name, _, rest = line.partition(": ")
        if rest.endswith("(not built)"):
            missing.append(name)
        elif rest:
            paths[name] = Path(rest.strip())
    if missing or result.returncode != 0:
        raise NodeUnavailableError(
            f"not built: {', '.join(missing) or result.stderr.strip()}. Build them with: "
            f"{script} {' '.join(components)}"
        )
    return paths


def find_node_binaries(*, build: bool = False) -> NodeBinaries:
    """The node's binaries at their pinned versions (``build``: run tools/k8s/build.sh first)."""
    script = _repo_root() / "tools" / "k8s" / "build.sh"
    if build:
        subprocess.run(["bash", str(script), *_COMPONENTS], check=True)
    paths = _printed_paths(script, _COMPONENTS)
    debian = {}
    for program, package in (("runc", "runc"), ("iptables", "iptables"), ("conntrack", "conntrack")):
        found = shutil.which(program, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if found is None:
            raise NodeUnavailableError(f"{program} not found: install Debian's package {package}")
        debian[program] = Path(found)
    containerd_dir = paths["containerd"].parent
    return NodeBinaries(
        kubelet=paths["kubelet"],
        kube_proxy=paths["kube-proxy"],
        containerd=paths["containerd"],
        containerd_shim=containerd_dir / "containerd-shim-runc-v2",
        ctr=containerd_dir / "ctr",
        cni_dir=paths["cni-plugins"].parent,
        coredns=paths["coredns"],
        traefik=paths["traefik"],
        pause=paths["pause"],
        runc=debian["runc"],
        iptables=debian["iptables"],
    )


# ------------------------------------------------------------------------------------- host helpers


def _run(*argv: str | Path, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and result.returncode != 0:
        raise NodeError(f"{' '.join(map(str, argv))} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name


def _read_sysctl(name: str) -> str | None:
    try:
        return _sysctl_path(name).read_text().strip()
    except OSError:
        return None


def _write_sysctl(name: str, value: str) -> None:
    with contextlib.suppress(OSError):
        _sysctl_path(name).write_text(value + "\n")


def _mounts_under(roots: Sequence[Path]) -> list[Path]:
    """Mount points at or below any of ``roots``, deepest first (from /proc/self/mountinfo)."""
    found = []
    with Path("/proc/self/mountinfo").open(encoding="utf-8") as mountinfo:
        for line in mountinfo:
            # Field 5 is the mount point; spaces and the like are escaped as \\040 etc.
            point = line.split()[4].encode().decode("unicode_escape")
            if any(point == str(root) or point.startswith(f"{root}/") for root in roots):
                found.append(Path(point))
    return sorted(set(found), key=lambda path: len(path.parts), reverse=True)


def _kubepods_cgroups() -> list[Path]:
    """The kubelet's cgroups (``kubepods`` in every v1 hierarchy, or v2), deepest first."""
    base = Path("/sys/fs/cgroup")
    found = [path for path in base.glob("*/kubepods*") if path.is_dir()]
    found += [path for path in base.glob("kubepods*") if path.is_dir()]
    every = []
    for top in found:
        every += [Path(dirpath) for dirpath, _, _ in os.walk(top)]
    return sorted(set(every), key=lambda path: len(path.parts), reverse=True)


def _pids_in(cgroups: Sequence[Path]) -> set[int]:
    pids = set()
    for cgroup in cgroups:
        with contextlib.suppress(OSError):
            pids |= {int(pid) for pid in (cgroup / "cgroup.procs").read_text().split()}
    return pids


def _processes_of(executables: Sequence[Path]) -> list[int]:
    """PIDs whose executable is one of ``executables`` (the node's own binaries)."""
    wanted = {str(path) for path in executables}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            exe = str((entry / "exe").readlink()).removesuffix(" (deleted)")
            if exe in wanted:
                pids.append(int(entry.name))
    return pids


def _kill(pids: Sequence[int] | set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _links_of_bridge() -> list[str]:
    result = _run("ip", "-o", "link", "show", "master", BRIDGE, check=False)
    return [line.split(": ")[1].split("@")[0] for line in result.stdout.splitlines() if ": " in line]


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _iptables_chains(iptables: str, table: str) -> list[str]:
    result = _run(iptables, "-w", "-t", table, "-S", check=False)
    return [line.split()[1] for line in result.stdout.splitlines() if line.startswith("-N ")]


def _executables() -> list[Path]:
    """The node's processes, by the binaries they run (what a killed run may have left)."""
    try:
        binaries = find_node_binaries()
    except NodeUnavailableError:
        return []
    return [
        binaries.kubelet,
        binaries.kube_proxy,
        binaries.containerd,
        binaries.containerd_shim,
        binaries.coredns,
        binaries.traefik,
    ]


# ------------------------------------------------------------------------------- leftovers, cleanup


def leftovers() -> list[str]:
    """Everything of a real node still on this machine (empty after a clean stop)."""
    found = [f"process {pid}" for pid in _processes_of(_executables())]
    found += [f"interface {BRIDGE}"] if _link_exists(BRIDGE) else []
    found += [f"mount {path}" for path in _mounts_under([ROOT, *_HOST_PATHS])]
    found += [f"cgroup {path}" for path in _kubepods_cgroups()]
    for iptables in ("iptables", "ip6tables"):
        if shutil.which(iptables, path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
            continue
        for table in ("filter", "nat", "mangle"):
            found += [
                f"{iptables} -t {table} chain {chain}"
                for chain in _iptables_chains(iptables, table)
                if chain == GUARD_CHAIN or chain.startswith(("KUBE-", *_CNI_CHAIN_PREFIXES))
            ]
    found += [f"folder {ROOT}"] if ROOT.exists() else []
    found += [f"{_HOSTS_FILE} entry of {INGRESS_HOST}"] if _HOSTS_MARK in _hosts_text() else []
    return found


def _hosts_text() -> str:
    try:
        return _HOSTS_FILE.read_text(encoding="utf-8")
    except OSError:
        return ""


def _set_hosts_entry(*, present: bool) -> None:
    """Add (or remove) the line that maps INGRESS_HOSTS to the bridge, marked as ours."""
    kept = [line for line in _hosts_text().splitlines() if not line.endswith(_HOSTS_MARK)]
    if present:
        kept.append(f"{BRIDGE_IP} {' '.join(INGRESS_HOSTS)} {_HOSTS_MARK}")
    # In place (not a rename): /etc/hosts may be a bind mount.
    _HOSTS_FILE.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")


def _state() -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(_STATE.read_text())
    except (OSError, ValueError):
        return {}
    return state


def clean_leftovers(*, kube_proxy: Path | None = None, log: Callable[[str], object] = lambda _: None) -> None:
    """Remove what a node left on this machine: processes, containers, mounts, the bridge, iptables
    chains, cgroups, changed sysctls and folders. Safe to run when nothing is left."""
    state = _state()
    _kill_leftover_processes(log)
    for mount in _mounts_under([ROOT, *_HOST_PATHS]):
        _run("umount", "--lazy", mount, check=False)
    for link in _links_of_bridge():
        _run("ip", "link", "delete", link, check=False)
    if _link_exists(BRIDGE):
        _run("ip", "link", "delete", BRIDGE, check=False)
    _remove_iptables(kube_proxy)
    if _HOSTS_MARK in _hosts_text():
        _set_hosts_entry(present=False)
    for name, value in (state.get("sysctls") or {}).items():
        if value is not None:
            _write_sysctl(name, value)
    for cgroup in _kubepods_cgroups():
        with contextlib.suppress(OSError):
            cgroup.rmdir()
    for path_name in state.get("made_paths", []):
        shutil.rmtree(path_name, ignore_errors=True)
    shutil.rmtree(ROOT, ignore_errors=True)


def _kill_leftover_processes(log: Callable[[str], object]) -> None:
    """The node's daemons, then every process still in a pod's cgroup (containers outlive a killed
    containerd: their shims keep them)."""
    for attempt in range(50):
        pids = set(_processes_of(_executables())) | _pids_in(_kubepods_cgroups())
        if not pids:
            return
        if attempt == 0:
            log(f"killing {len(pids)} leftover processes")
        _kill(pids)
        time.sleep(0.1)
    log("processes still alive after 5 s of SIGKILL")


def _remove_iptables(kube_proxy: Path | None) -> None:
    if kube_proxy is not None and kube_proxy.exists():
        _run(kube_proxy, "--cleanup", "--v=0", check=False)
    for iptables in ("iptables", "ip6tables"):
        if shutil.which(iptables, path="/usr/sbin:/usr/bin:/sbin:/bin") is None:
            continue
        _run(iptables, "-w", "-D", "FORWARD", "-j", GUARD_CHAIN, check=False)
        for table in ("filter", "nat", "mangle"):
            ours = [
                chain
                for chain in _iptables_chains(iptables, table)
                if chain == GUARD_CHAIN or chain.startswith(("KUBE-", *_CNI_CHAIN_PREFIXES))
            ]
            if not ours:
                continue
            # Rules in the built-in chains that jump to ours go first, then ours are emptied and removed.
            rules = _run(iptables, "-w", "-t", table, "-S", check=False).stdout.splitlines()
            for rule in rules:
                parts = shlex.split(rule)  # comments are quoted: "kubernetes forwarding rules"
                if parts[:1] == ["-A"] and parts[1] not in ours and any(chain in parts for chain in ours):
                    _run(iptables, "-w", "-t", table, "-D", *parts[1:], check=False)
            for chain in ours:
                _run(iptables, "-w", "-t", table, "-F", chain, check=False)
            for chain in ours:
                _run(iptables, "-w", "-t", table, "-X", chain, check=False)


# --------------------------------------------------------------------------------------- the node


@dataclass
class _Certificates:
    node_kubeconfig: Path
    kubelet_serving: tuple[Path, Path]
    kube_proxy_kubeconfig: Path


@dataclass
class RealNode:
    """The control plane plus one real node. A context manager, like ControlPlane.

    ``images``: image tarballs (docker-archive or OCI) imported into containerd at start, so pods can
    use them with ``imagePullPolicy: Never`` or ``IfNotPresent``; ``sandbox_image`` is the pause
    image's reference (one of them).
    """

    images: Sequence[Path] = ()
    sandbox_image: str = ""
    start_timeout: float = 240.0
    binaries: NodeBinaries | None = None
    control_plane: ControlPlane | None = None
    components: list[Component] = field(default_factory=list)
    startup_seconds: dict[str, float] = field(default_factory=dict)
    _lock: IO[str] | None = None
    _last_mark: float = 0.0

    # ------------------------------------------------------------------ public properties

    @property
    def kubeconfig(self) -> Path:
        return self._plane().kubeconfig

    @property
    def log_dir(self) -> Path:
        return ROOT / "logs"

    @property
    def containerd_socket(self) -> Path:
        return ROOT / "containerd" / "containerd.sock"

    @property
    def ingress_url(self) -> str:
        """The public URL of what the node's ingress controller serves (INGRESS_HOST, plain HTTP)."""
        return f"http://{INGRESS_HOST}"

    @property
    def dns_server(self) -> str:
        return BRIDGE_IP

    def api_client(self) -> ApiClient:
        return self._plane().api_client()

    def _plane(self) -> ControlPlane:
        if self.control_plane is None:
            raise NodeError("node not started")
        return self.control_plane

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
        if os.geteuid() != 0:
            raise NodeUnavailableError("a real node needs root (network, mounts, cgroups)")
        binaries = self.binaries = self.binaries or find_node_binaries()
        control_binaries = find_binaries()
        self._take_lock()
        began = self._last_mark = time.monotonic()
        deadline = began + self.start_timeout
        try:
            clean_leftovers(kube_proxy=binaries.kube_proxy)
            _refuse_leftovers()
            self._save_host_state()
            self._set_up_network(binaries)
            self._mark("network")
            self.control_plane = ControlPlane(
                binaries=control_binaries,
                address=BRIDGE_IP,
                fake_node=False,
                workdir=ROOT / "control-plane",
                start_timeout=max(30.0, deadline - time.monotonic()),
            )
            self.control_plane.start()
            self._mark("control plane")
            certificates = self._certificates()
            self._start_containerd(binaries, deadline)
            self._mark("containerd")
            self._import_images()
            self._mark("images")
            self._start_kubelet(binaries, certificates, deadline)
            self._mark("kubelet")
            self._start_kube_proxy(binaries, certificates, deadline)
            self._mark("kube-proxy")
            self._start_coredns(binaries, deadline)
            self._mark("coredns")
            self._start_traefik(binaries, deadline)
            self._mark("traefik")
            self._make_local_volumes()
            self._mark("volumes")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Pods first (while the kubelet and containerd run), then every component, then the host."""
        binaries = self.binaries
        errors: list[str] = []
        if self.control_plane is not None and self.control_plane._components and self._kubelet_running():  # noqa: SLF001
            try:
                self._delete_all_pods(timeout=60)
            except Exception as exc:  # noqa: BLE001 - clean up regardless
                errors.append(f"deleting pods: {exc!r}")
        for component in reversed(self.components):
            try:
                component.stop(timeout=15)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{component.name}: {exc!r}")
        self.components.clear()
        if self.control_plane is not None:
            try:
                self.control_plane.stop()
            except Exception as exc:  # noqa: BLE001
                errors.append(f"control plane: {exc!r}")
            self.control_plane = None
        if self._lock is not None:
            clean_leftovers(kube_proxy=binaries.kube_proxy if binaries else None)
            self._release_lock()
        if errors:
            raise NodeError("failed to stop cleanly: " + "; ".join(errors))

    # ------------------------------------------------------------------------- the host

    def _take_lock(self) -> None:
        handle = LOCK.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise NodeError(f"another real node runs on this machine (it holds {LOCK})") from None
        self._lock = handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None
            LOCK.unlink(missing_ok=True)

    def _mark(self, step: str) -> None:
        """Record how long ``step`` took (since the previous mark)."""
        now = time.monotonic()
        self.startup_seconds[step] = now - self._last_mark
        self._last_mark = now

    def _save_host_state(self) -> None:
        ROOT.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        state = {
            "sysctls": {name: _read_sysctl(name) for name in _SYSCTLS},
            "made_paths": [str(path) for path in _HOST_PATHS if not path.exists()],
        }
        _STATE.write_text(json.dumps(state, indent=2))

    def _set_up_network(self, binaries: NodeBinaries) -> None:
        prefix = POD_SUBNET.split("/")[1]
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "addr", "add", f"{BRIDGE_IP}/{prefix}", "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        # The whole test range goes to the bridge: a Service address the host dials is rewritten by
        # kube-proxy; anything else in the range has nowhere to go but the bridge.
        _run("ip", "route", "add", TEST_RANGE, "dev", BRIDGE)
        iptables = str(binaries.iptables)
        _run(iptables, "-w", "-N", GUARD_CHAIN)
        for rule in (
            ["-i", BRIDGE, "!", "-o", BRIDGE],  # from a pod to any other interface
            ["!", "-i", BRIDGE, "-o", BRIDGE],  # from any other interface to a pod
            ["-i", BRIDGE, "!", "-d", TEST_RANGE],  # from a pod to outside the range
        ):
            _run(iptables, "-w", "-A", GUARD_CHAIN, *rule, "-j", "DROP")
        _run(iptables, "-w", "-I", "FORWARD", "1", "-j", GUARD_CHAIN)
        # Pod-to-pod traffic through a Service crosses the bridge: it must see kube-proxy's rules.
        _write_sysctl("net/bridge/bridge-nf-call-iptables", "1")
        _write_sysctl("net/ipv4/ip_forward", "1")
        _set_hosts_entry(present=True)

    def _certificates(self) -> _Certificates:
        plane = self._plane()
        node = plane.issue_certificate("node", f"system:node:{NODE_NAME}", org="system:nodes")
        proxy = plane.issue_certificate("kube-proxy", "system:kube-proxy")
        serving = plane.issue_certificate("kubelet-serving", NODE_NAME, server_ips=[BRIDGE_IP])
        return _Certificates(
            node_kubeconfig=plane.write_kubeconfig("node", *node),
            kubelet_serving=serving,
            kube_proxy_kubeconfig=plane.write_kubeconfig("kube-proxy", *proxy),
        )

    def _spawn(self, name: str, argv: Sequence[str | Path], env: dict[str, str] | None = None) -> Component:
        environment = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        environment["PATH"] = os.pathsep.join(
            [str(self._bins().containerd.parent), "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        )
        environment.update(env or {})
        component = Component(name, [str(a) for a in argv], self.log_dir / f"{name}.log", environment)
        self.components.append(component)
        return component

    def _bins(self) -> NodeBinaries:
        if self.binaries is None:
            raise NodeError("node not started")
        return self.binaries

    def _wait(
        self, what: str, condition: Callable[[], object], deadline: float, component: Component
    ) -> None:
        def probe() -> object:
            component.check_alive()
            return condition()

        wait_until(
            probe,
            timeout=max(1.0, deadline - time.monotonic()),
            what=what,
            interval=0.1,
            details=lambda: component.tail(30),
        )

    # --------------------------------------------------------------------------- containerd

    def _start_containerd(self, binaries: NodeBinaries, deadline: float) -> None:
        home = ROOT / "containerd"
        cni_conf = ROOT / "cni" / "net.d"
        cni_conf.mkdir(parents=True)
        (ROOT / "cni" / "ipam").mkdir()
        _write_cni_config(cni_conf / "10-drawnet.conflist", ROOT / "cni" / "ipam")
        home.mkdir()
        config = home / "config.toml"
        config.write_text(
            _containerd_config(
                home=home,
                cni_bin=binaries.cni_dir,
                cni_conf=cni_conf,
                runc=binaries.runc,
                sandbox=self.sandbox_image,
            )
        )
        containerd = self._spawn(
            "containerd", [binaries.containerd, "--config", config, "--log-level", "info"]
        )
        socket_path = self.containerd_socket
        self._wait(
            "containerd's socket",
            lambda: _run(binaries.ctr, "--address", socket_path, "version", check=False).returncode == 0,
            deadline,
            containerd,
        )

    def ctr(self, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``ctr`` against the node's containerd, in the CRI's namespace (k8s.io)."""
        bins = self._bins()
        return _run(
            bins.ctr, "--address", self.containerd_socket, "--namespace", "k8s.io", *args, timeout=timeout
        )

    def _import_images(self) -> None:
        for tarball in self.images:
            self.ctr("images", "import", "--platform", "linux/amd64", tarball)

    def run_until_stopped(self) -> None:
        """Keep the node running until SIGTERM or SIGINT (a person's Ctrl-C); a component that dies
        ends it with its log's tail."""
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: stop.set())
        while not stop.wait(0.5):
            for component in self.components:
                component.check_alive()

    # ------------------------------------------------------------------------------ kubelet

    def _start_kubelet(self, binaries: NodeBinaries, certificates: _Certificates, deadline: float) -> None:
        plane = self._plane()
        home = ROOT / "kubelet"
        home.mkdir()
        resolv = ROOT / "resolv.conf"  # pods with dnsPolicy Default also stay inside
        resolv.write_text(f"nameserver {BRIDGE_IP}\n")
        config = home / "config.json"
        serving_cert, serving_key = certificates.kubelet_serving
        config.write_text(
            json.dumps(
                {
                    "apiVersion": "kubelet.config.k8s.io/v1beta1",
                    "kind": "KubeletConfiguration",
                    "address": BRIDGE_IP,
                    "port": KUBELET_PORT,
                    "readOnlyPort": 0,
                    "healthzBindAddress": "127.0.0.1",
                    "healthzPort": _free_port(),
                    "tlsCertFile": str(serving_cert),
                    "tlsPrivateKeyFile": str(serving_key),
                    "authentication": {
                        "anonymous": {"enabled": False},
                        "webhook": {"enabled": True},
                        "x509": {"clientCAFile": str(plane.ca_cert)},
                    },
                    "authorization": {"mode": "Webhook"},
                    # This kind of machine has cgroup v1, which the kubelet refuses since 1.35 unless told.
                    "failCgroupV1": False,
                    "cgroupDriver": "cgroupfs",
                    "failSwapOn": False,
                    "podCIDR": POD_SUBNET,
                    "clusterDNS": [BRIDGE_IP],
                    "clusterDomain": CLUSTER_DOMAIN,
                    "resolvConf": str(resolv),
                    "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
                    "podLogsDir": str(ROOT / "pod-logs"),
                    # A test machine's disk and memory are shared with everything else: evict late.
                    "evictionHard": {
                        "memory.available": "100Mi",
                        "nodefs.available": "1%",
                        "imagefs.available": "1%",
                        "nodefs.inodesFree": "1%",
                    },
                    "imageGCHighThresholdPercent": 100,
                    "imageGCLowThresholdPercent": 99,
                    "serializeImagePulls": False,
                    "maxPods": 60,
                    "nodeStatusUpdateFrequency": "4s",
                    "syncFrequency": "10s",
                    "fileCheckFrequency": "5s",
                    "shutdownGracePeriod": "0s",
                    "rotateCertificates": False,
                    "serverTLSBootstrap": False,
                }
            )
        )
        kubelet = self._spawn(
            "kubelet",
            [
                binaries.kubelet,
                f"--config={config}",
                f"--kubeconfig={certificates.node_kubeconfig}",
                f"--root-dir={home / 'root'}",
                f"--cert-dir={home / 'pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={BRIDGE_IP}",
                "--v=1",
            ],
        )

        def node_ready() -> bool:
            from kubernetes import client  # noqa: PLC0415

            with plane.api_client() as api:
                status = client.CoreV1Api(api).read_node(NODE_NAME).status
            conditions = (status.conditions if status else None) or []
            return any(c.type == "Ready" and c.status == "True" for c in conditions)

        self._wait(f"node {NODE_NAME} Ready", node_ready, deadline, kubelet)

    def _kubelet_running(self) -> bool:
        return any(c.name == "kubelet" and c.process.poll() is None for c in self.components)

    def _delete_all_pods(self, *, timeout: float) -> None:
        """Every namespace but the system ones deleted (so no controller makes its pods again), the
        pods left anywhere deleted too, and a wait until the kubelet has stopped all of them."""
        from drawnet.testkit.operator import RawKube  # noqa: PLC0415 - the kubernetes client is slow to import

        system = {"default", "kube-system", "kube-public", "kube-node-lease"}
        with self._plane().api_client() as api:
            kube = RawKube(api)
            for namespace in kube.request_sync("GET", "/api/v1/namespaces")["items"]:
                name = namespace["metadata"]["name"]
                if name not in system:
                    with contextlib.suppress(Exception):
                        kube.request_sync("DELETE", f"/api/v1/namespaces/{name}")
            for pod in kube.request_sync("GET", "/api/v1/pods")["items"]:
                meta = pod["metadata"]
                with contextlib.suppress(Exception):
                    kube.request_sync(
                        "DELETE",
                        f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                        query={"gracePeriodSeconds": "2"},
                    )
            wait_until(
                lambda: not kube.request_sync("GET", "/api/v1/pods")["items"],
                timeout=timeout,
                what="every pod gone (the kubelet stopping their containers)",
                interval=0.2,
            )

    # --------------------------------------------------------------------------- kube-proxy

    def _start_kube_proxy(self, binaries: NodeBinaries, certificates: _Certificates, deadline: float) -> None:
        home = ROOT / "kube-proxy"
        home.mkdir()
        healthz = _free_port()
        config = home / "config.json"
        config.write_text(
            json.dumps(
                {
                    "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                    "kind": "KubeProxyConfiguration",
                    "mode": "iptables",
                    "clientConnection": {"kubeconfig": str(certificates.kube_proxy_kubeconfig)},
                    "hostnameOverride": NODE_NAME,
                    "bindAddress": BRIDGE_IP,
                    "healthzBindAddress": f"127.0.0.1:{healthz}",
                    "metricsBindAddress": f"127.0.0.1:{_free_port()}",
                    # Which traffic is the pods': what comes in on the bridge (no masquerade for it).
                    "detectLocalMode": "BridgeInterface",
                    "detectLocal": {"bridgeInterface": BRIDGE},
                    "iptables": {"masqueradeAll": False, "localhostNodePorts": False},
                    # Leave the host's conntrack sysctls as they are.
                    "conntrack": {
                        "maxPerCore": 0,
                        "min": 0,
                        "tcpEstablishedTimeout": "0s",
                        "tcpCloseWaitTimeout": "0s",
                    },
                    "nodePortAddresses": [f"{BRIDGE_IP}/32"],
                }
            )
        )
        proxy = self._spawn("kube-proxy", [binaries.kube_proxy, f"--config={config}", "--v=1"])
        self._wait(
            "kube-proxy /healthz",
            lambda: _http_ok("127.0.0.1", healthz, "/healthz"),
            deadline,
            proxy,
        )

    # ------------------------------------------------------------------------------ CoreDNS

    def _start_coredns(self, binaries: NodeBinaries, deadline: float) -> None:
        plane = self._plane()
        home = ROOT / "coredns"
        home.mkdir()
        health = _free_port()
        corefile = home / "Corefile"
        corefile.write_text(
            f"""\
{CLUSTER_DOMAIN}:53 in-addr.arpa:53 {{
    bind {BRIDGE_IP}
    errors
    health 127.0.0.1:{health}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa {{
        kubeconfig {plane.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa
        ttl 5
    }}
    cache 5
}}
# Nothing outside the cluster is resolved: pods never reach off the machine.
.:53 {{
    bind {BRIDGE_IP}
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"""
        )
        coredns = self._spawn("coredns", [binaries.coredns, "-conf", corefile])
        self._wait(
            "CoreDNS answering for kubernetes.default",
            lambda: _resolves(f"kubernetes.default.svc.{CLUSTER_DOMAIN}", BRIDGE_IP),
            deadline,
            coredns,
        )

    # ------------------------------------------------------------------------------ Traefik

    def _start_traefik(self, binaries: NodeBinaries, deadline: float) -> None:
        from kubernetes import client  # noqa: PLC0415

        plane = self._plane()
        with plane.api_client() as api:
            client.NetworkingV1Api(api).create_ingress_class(
                client.V1IngressClass(
                    metadata=client.V1ObjectMeta(
                        name=INGRESS_CLASS,
                        annotations={"ingressclass.kubernetes.io/is-default-class": "true"},
                    ),
                    spec=client.V1IngressClassSpec(controller="traefik.io/ingress-controller"),
                )
            )
        ping = _free_port()
        traefik = self._spawn(
            "traefik",
            [
                binaries.traefik,
                f"--entryPoints.web.address={BRIDGE_IP}:{INGRESS_HTTP_PORT}",
                f"--entryPoints.traefik.address=127.0.0.1:{ping}",
                "--ping=true",
                "--ping.entryPoint=traefik",
                "--providers.kubernetesingress=true",
                # Admitted Ingresses get this address in their status (what "Exposed" waits for).
                f"--providers.kubernetesingress.ingressendpoint.ip={BRIDGE_IP}",
                "--providers.kubernetesingress.throttleduration=0s",
                "--global.checknewversion=false",
                "--global.sendanonymoususage=false",
                "--log.level=INFO",
                "--accesslog=true",
            ],
            # Traefik's Kubernetes provider reads a kubeconfig from here when it runs outside a cluster.
            env={"KUBECONFIG": str(plane.kubeconfig)},
        )
        self._wait("Traefik /ping", lambda: _http_ok("127.0.0.1", ping, "/ping"), deadline, traefik)

    # ------------------------------------------------------------------------------ volumes

    def _make_local_volumes(self) -> None:
        """A default StorageClass whose claims bind pre-made local volumes (folders on the node), as
        a cluster's default class would give them (the chart's NATS and PostgreSQL ask for one each)."""
        kube_objects: list[tuple[str, dict[str, Any]]] = [
            (
                "/apis/storage.k8s.io/v1/storageclasses",
                {
                    "apiVersion": "storage.k8s.io/v1",
                    "kind": "StorageClass",
                    "metadata": {
                        "name": STORAGE_CLASS,
                        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                    },
                    "provisioner": "kubernetes.io/no-provisioner",
                    "volumeBindingMode": "WaitForFirstConsumer",
                    "reclaimPolicy": "Delete",
                },
            )
        ]
        for index in range(LOCAL_VOLUMES):
            folder = ROOT / "volumes" / f"pv-{index}"
            folder.mkdir(parents=True)
            folder.chmod(0o777)  # the kubelet gives local volumes to the pod's fsGroup as well
            kube_objects.append(
                (
                    "/api/v1/persistentvolumes",
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolume",
                        "metadata": {"name": f"{STORAGE_CLASS}-{index}"},
                        "spec": {
                            "capacity": {"storage": LOCAL_VOLUME_SIZE},
                            "accessModes": ["ReadWriteOnce"],
                            "persistentVolumeReclaimPolicy": "Retain",
                            "storageClassName": STORAGE_CLASS,
                            "local": {"path": str(folder)},
                            "nodeAffinity": {
                                "required": {
                                    "nodeSelectorTerms": [
                                        {
                                            "matchExpressions": [
                                                {
                                                    "key": "kubernetes.io/hostname",
                                                    "operator": "In",
                                                    "values": [NODE_NAME],
                                                }
                                            ]
                                        }
                                    ]
                                }
                            },
                        },
                    },
                )
            )
        from drawnet.testkit.operator import RawKube  # noqa: PLC0415 - the kubernetes client is slow to import

        with self.api_client() as api:
            kube = RawKube(api)
            for path, body in kube_objects:
                kube.request_sync("POST", path, body=body)


def _refuse_leftovers() -> None:
    if left := leftovers():
        raise NodeError("cannot start: a previous node left these behind:\n  " + "\n  ".join(left))


# ------------------------------------------------------------------------------------ file makers


def _write_cni_config(path: Path, ipam_dir: Path) -> None:
    path.write_text(
        json.dumps(
            {
                "cniVersion": "1.0.0",
                "name": "drawnet",
                "plugins": [
                    {
                        "type": "bridge",
                        "bridge": BRIDGE,
                        "isGateway": True,
                        "ipMasq": False,  # nothing leaves the machine: no masquerade
                        "hairpinMode": True,  # a pod reaching itself through its Service
                        "ipam": {
                            "type": "host-local",
                            "dataDir": str(ipam_dir),
                            "ranges": [[{"subnet": POD_SUBNET, "gateway": BRIDGE_IP}]],
                            "routes": [{"dst": "0.0.0.0/0"}],
                        },
                    },
                    {"type": "portmap", "capabilities": {"portMappings": True}, "snat": False},
                ],
            },
            indent=2,
        )
    )


def _containerd_config(*, home: Path, cni_bin: Path, cni_conf: Path, runc: Path, sandbox: str) -> str:
    return f"""\
version = 3
root = "{home / "root"}"
state = "{home / "state"}"

[grpc]
  address = "{home / "containerd.sock"}"

[ttrpc]
  address = "{home / "containerd.sock.ttrpc"}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{home / "opt"}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{sandbox}"

[plugins."io.containerd.cri.v1.runtime"]
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID
  # from pipe: EOF"; runc: "failed to update /proc/self/oom_score_adj: Permission denied").
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{cni_bin}"]
    conf_dir = "{cni_conf}"
    max_conf_num = 1
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        Root = "{home / "runc"}"
        SystemdCgroup = false

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
"""


# ------------------------------------------------------------------------------------ small probes


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _http_ok(host: str, port: int, path: str) -> bool:
    import http.client  # noqa: PLC0415

    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    finally:
        connection.close()


def _resolves(name: str, server: str) -> bool:
    """Whether ``server`` answers an A query for ``name`` with an address (a minimal DNS query)."""
    query_id = os.getpid() & 0xFFFF
    question = b"".join(len(label).to_bytes(1, "big") + label.encode() for label in name.split(".")) + b"\0"
    header = query_id.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"  # RD, 1 question
    packet = header + question + b"\x00\x01\x00\x01"  # type A, class IN
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        sock.sendto(packet, (server, 53))
        answer, _ = sock.recvfrom(512)
    rcode = answer[3] & 0x0F
    answers = int.from_bytes(answer[6:8], "big")
    return answer[:2] == packet[:2] and rcode == 0 and answers > 0


# --------------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drawnet.testkit.node",
        description="A real one-node Kubernetes cluster on this machine (root; no Docker).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start it, print the KUBECONFIG export line, run until Ctrl-C")
    up.add_argument("--image", type=Path, action="append", default=[], help="an image tarball to import")
    up.add_argument("--sandbox-image", default="", help="the pause image's reference (imported with --image)")
    sub.add_parser("clean", help="remove what a killed node left on this machine")
    sub.add_parser("leftovers", help="list what a node left on this machine (exit 1 if anything)")
    args = parser.parse_args(argv)

    if args.command == "clean":
        clean_leftovers(log=lambda line: sys.stderr.write(line + "\n"))
        left = leftovers()
        sys.stdout.write("".join(f"{line}\n" for line in left))
        return 1 if left else 0
    if args.command == "leftovers":
        left = leftovers()
        sys.stdout.write("".join(f"{line}\n" for line in left))
        return 1 if left else 0

    try:
        with RealNode(images=args.image, sandbox_image=args.sandbox_image) as node:
            sys.stdout.write(
                f"export KUBECONFIG={node.kubeconfig}\n# ingress {node.ingress_url}; Ctrl-C stops it\n"
            )
            sys.stdout.flush()
            node.run_until_stopped()
    except (ControlPlaneError, TimeoutError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
