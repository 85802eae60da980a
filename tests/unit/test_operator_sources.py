"""The operator's single sources -- the CRD and the RBAC -- agree with its code, its example and the
copies the Helm chart ships."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drawnet.operator.builders import build_room_pod, build_room_service, build_route
from drawnet.operator.kube import collection_path
from drawnet.operator.reconcile import STATUS_KEYS
from drawnet.operator.resource import (
    API_VERSION,
    CRD_PATH,
    GROUP,
    KIND,
    PLURAL,
    RBAC_PATH,
    VERSION,
    load_yaml_documents,
)
from drawnet.operator.settings import OperatorSettings
from drawnet.operator.spec import parse_spec
from drawnet.operator.status import CONDITION_TYPES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "drawingsession.yaml"
CHART_CRD = ROOT / "charts" / "drawnet" / "crds" / "drawingsession.yaml"
CHART_RBAC = ROOT / "charts" / "drawnet" / "files" / "operator-rbac.yaml"


def _crd() -> dict[str, Any]:
    (crd,) = load_yaml_documents(CRD_PATH)
    return crd


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = _crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    nodes = [(path or ".", schema)]
    for name, child in (schema.get("properties") or {}).items():
        nodes += _walk(child, f"{path}.{name}")
    if "items" in schema:
        nodes += _walk(schema["items"], f"{path}[]")
    return nodes


def test_the_crd_names_what_the_operator_serves() -> None:
    crd = _crd()
    assert crd["metadata"]["name"] == f"{PLURAL}.{GROUP}"
    assert crd["spec"]["group"] == GROUP
    assert crd["spec"]["names"]["kind"] == KIND
    (version,) = crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == (VERSION, True, True)
    assert version["subresources"] == {"status": {}}
    assert f"{GROUP}/{VERSION}" == API_VERSION


def test_the_crd_schema_is_structural_every_node_has_a_type() -> None:
    untyped = [path for path, node in _walk(_schema()) if "type" not in node]
    assert untyped == []


def test_the_status_schema_holds_exactly_what_the_operator_writes() -> None:
    status = _schema()["properties"]["status"]["properties"]
    assert set(status) == set(STATUS_KEYS)
    conditions = status["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert conditions["items"]["required"] == ["type", "status", "lastTransitionTime", "reason", "message"]
    assert "Ready" in CONDITION_TYPES


def test_the_printer_columns_show_phase_participants_url_and_age() -> None:
    columns = _crd()["spec"]["versions"][0]["additionalPrinterColumns"]
    shown = [(c["name"], c["jsonPath"]) for c in columns if c.get("priority", 0) == 0]
    assert shown == [
        ("Phase", ".status.phase"),
        ("Participants", ".status.participants"),
        ("URL", ".status.url"),
        ("Age", ".metadata.creationTimestamp"),
    ]


def test_the_spec_defaults_are_the_operators_defaults() -> None:
    spec = _schema()["properties"]["spec"]["properties"]
    parsed = parse_spec({}, OperatorSettings())
    assert spec["maxParticipants"]["default"] == parsed.max_participants
    assert spec["idleTimeoutSeconds"]["default"] == parsed.idle_timeout_seconds
    assert spec["onIdle"]["default"] == parsed.on_idle


def test_the_example_is_a_valid_session_within_the_default_bounds() -> None:
    (example,) = load_yaml_documents(EXAMPLE)
    assert (example["apiVersion"], example["kind"]) == (API_VERSION, KIND)
    spec = parse_spec(example["spec"], OperatorSettings())
    assert spec.title == "Team retro"
    assert set(example["spec"]) <= set(_schema()["properties"]["spec"]["properties"])


def _granted() -> dict[tuple[str, str], set[str]]:
    (role,) = load_yaml_documents(RBAC_PATH)
    assert role["kind"] == "ClusterRole"
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def test_the_rbac_grants_what_the_operator_does_to_each_kind_it_builds() -> None:
    granted = _granted()
    settings = {
        "ingress": OperatorSettings(exposure="ingress", public_host="h"),
        "httproute": OperatorSettings(exposure="httproute", public_host="h", gateway_name="g"),
    }
    children = [
        build_room_pod("ns", "s", parse_spec({}, settings["ingress"]), settings["ingress"]),
        build_room_service("ns", "s", settings["ingress"]),
        build_route("ns", "s", settings["ingress"]),
        build_route("ns", "s", settings["httproute"]),
    ]
    for child in children:
        assert child is not None
        group = child["apiVersion"].rpartition("/")[0]
        resource = collection_path(child["apiVersion"], child["kind"], "ns").rsplit("/", 1)[1]
        assert {"get", "list", "watch", "create"} <= granted[(group, resource)], resource
    assert "delete" in granted[("", "pods")]  # replacing failed and outdated rooms
    assert {"get", "list", "watch", "patch", "delete"} <= granted[(GROUP, PLURAL)]
    assert "patch" in granted[(GROUP, f"{PLURAL}/status")]
    assert "create" in granted[("", "events")]


def test_the_rbac_grants_nothing_the_operator_does_not_use() -> None:
    granted = _granted()
    # Secrets: create (the signing keys in a namespace's first room's way), and read or change only the one
    # the operator writes, by name.
    (role,) = load_yaml_documents(RBAC_PATH)
    secret_rules = [r for r in role["rules"] if "secrets" in r["resources"]]
    assert sorted((tuple(r["verbs"]), tuple(r.get("resourceNames", ()))) for r in secret_rules) == [
        (("create",), ()),
        (("get", "patch"), (OperatorSettings().room_signing_keys_secret,)),
    ]
    assert all("*" not in verbs for verbs in granted.values())
    assert all(resource != "*" for _group, resource in granted)
    assert "update" not in granted[("", "pods")]


@pytest.mark.parametrize(
    ("copy", "source"), [(CHART_CRD, CRD_PATH), (CHART_RBAC, RBAC_PATH)], ids=["crd", "rbac"]
)
def test_the_charts_copy_equals_the_operators_source(copy: Path, source: Path) -> None:
    if not copy.exists():
        pytest.skip(f"the chart (its own issue) ships no {copy.relative_to(ROOT)} yet")
    assert load_yaml_documents(copy) == load_yaml_documents(source)
