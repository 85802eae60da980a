"""skaffold.yaml: one artifact per image, the chart deployed with them, the room image handed to the operator
through a chart value, the web app and the rooms reached through the ingress, a dev profile. Skaffold
itself cannot run here (no Docker engine, and its module is not served by the Go proxy), so this checks
what skaffold would hand to helm by rendering the chart with exactly those values."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
import yaml

from tests.chart.helm import CHART, ROOT, env_of, helm, one

SKAFFOLD = ROOT / "skaffold.yaml"
IMAGES = ("room", "drawing", "operator")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SKAFFOLD.read_text(encoding="utf-8"))
    return loaded


def _release(config: dict[str, Any]) -> dict[str, Any]:
    (release,) = config["deploy"]["helm"]["releases"]
    return dict(release)


def _template_key(image: str) -> str:
    """Skaffold's name of an artifact in templates: non-alphanumerics become underscores."""
    return re.sub(r"[^A-Za-z0-9]", "_", image)


def _render(
    release: dict[str, Any],
    built: dict[str, tuple[str, str]],
    directory: Path,
    *,
    api_versions: tuple[str, ...] = ("monitoring.coreos.com/v1",),
) -> list[dict[str, Any]]:
    """`helm template` with what skaffold passes: setValueTemplates filled in for the built images (image ->
    (repository, tag)), and setValues."""
    context = {}
    for image, (repository, tag) in built.items():
        context[f"IMAGE_REPO_{_template_key(image)}"] = repository
        context[f"IMAGE_TAG_{_template_key(image)}"] = tag
    args: list[str | Path] = ["template", release["name"], CHART, "--namespace", release["namespace"]]
    for key, value in release.get("setValueTemplates", {}).items():
        filled = re.sub(r"\{\{\.(\w+)\}\}", lambda m: context[m.group(1)], value)
        args += ["--set-string", f"{key}={filled}"]
    for key, value in release.get("setValues", {}).items():
        args += ["--set", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    for api_version in api_versions:
        args += ["--api-versions", api_version]
    directory.mkdir(parents=True, exist_ok=True)
    return [doc for doc in yaml.safe_load_all(helm(*args).stdout) if doc]


def test_it_uses_the_current_v4_schema(config: dict[str, Any]) -> None:
    assert config["apiVersion"] == "skaffold/v4beta13"
    assert config["kind"] == "Config"


def test_one_artifact_per_image_built_from_the_repository_root(config: dict[str, Any]) -> None:
    artifacts = {a["image"]: a for a in config["build"]["artifacts"]}
    assert set(artifacts) == {f"drawnet-{image}" for image in IMAGES}
    for image in IMAGES:
        artifact = artifacts[f"drawnet-{image}"]
        assert artifact["context"] == "."
        assert artifact["docker"]["dockerfile"] == f"images/{image}/Dockerfile"
        assert (ROOT / artifact["docker"]["dockerfile"]).is_file()
    # images/ also holds NATS and PostgreSQL images for the real-node tier (no registry there); a laptop
    # cluster pulls those two from their projects, as the chart's defaults say.
    assert set(IMAGES) <= {p.parent.name for p in ROOT.glob("images/*/Dockerfile")}


def test_the_chart_gets_every_built_image_and_the_operator_the_room_image(
    config: dict[str, Any], tmp_path: Path
) -> None:
    release = _release(config)
    assert release["chartPath"] == "charts/drawnet"
    built = {f"drawnet-{image}": (f"localhost:5000/drawnet-{image}", f"{image}-abc123") for image in IMAGES}
    objects = _render(release, built, tmp_path)
    operator = one(objects, "Deployment", "-operator")
    (container,) = operator["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "localhost:5000/drawnet-operator:operator-abc123"
    assert env_of(container)["DRAWNET_OPERATOR_ROOM_IMAGE"] == "localhost:5000/drawnet-room:room-abc123"
    (drawing,) = one(objects, "Deployment", "-drawing")["spec"]["template"]["spec"]["containers"]
    assert drawing["image"] == "localhost:5000/drawnet-drawing:drawing-abc123"


def test_browsers_reach_the_web_app_and_every_room_through_the_ingress(
    config: dict[str, Any], tmp_path: Path
) -> None:
    """A port-forward reached the web app only: rooms are pods the operator makes per session, which
    skaffold never sees, and the web app gave browsers ws://127.0.0.1:8001. Through the ingress, the web
    app and each room's Ingress share one host."""
    release = _release(config)
    assert "portForward" not in config
    built = {f"drawnet-{image}": (f"drawnet-{image}", "dev") for image in IMAGES}
    objects = _render(release, built, tmp_path)
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    assert ingress["spec"]["rules"][0]["host"] == "drawnet.localtest.me"
    (drawing,) = one(objects, "Deployment", "-drawing")["spec"]["template"]["spec"]["containers"]
    assert env_of(drawing)["DRAWNET_DRAWING_PUBLIC_URL"] == "http://drawnet.localtest.me"
    assert env_of(drawing)["DRAWNET_DRAWING_ROOM_PUBLIC_URL"] == "ws://drawnet.localtest.me"
    (operator,) = one(objects, "Deployment", "-operator")["spec"]["template"]["spec"]["containers"]
    assert env_of(operator)["DRAWNET_OPERATOR_EXPOSURE"] == "ingress"
    assert env_of(operator)["DRAWNET_OPERATOR_PUBLIC_HOST"] == "drawnet.localtest.me"
    assert env_of(operator)["DRAWNET_OPERATOR_PUBLIC_TLS"] == "false"


def test_the_dev_profile_applies_and_the_chart_takes_its_values(
    config: dict[str, Any], tmp_path: Path
) -> None:
    (profile,) = config["profiles"]
    assert profile["name"] == "dev"
    assert profile["activation"] == [{"command": "dev"}]
    patched = jsonpatch.apply_patch(copy.deepcopy(config), profile["patches"])
    release = _release(patched)
    assert release["setValues"]["operator.logLevel"] == "DEBUG"
    built = {f"drawnet-{image}": (f"drawnet-{image}", "dev") for image in IMAGES}
    objects = _render(release, built, tmp_path, api_versions=())  # a laptop cluster: no Prometheus Operator
    assert not [o for o in objects if o["kind"] in {"ServiceMonitor", "PodMonitor", "PrometheusRule"}]
    (operator,) = one(objects, "Deployment", "-operator")["spec"]["template"]["spec"]["containers"]
    assert env_of(operator)["DRAWNET_OPERATOR_LOG_LEVEL"] == "DEBUG"
