"""A session's spec against the operator's bounds, and the operator's own settings."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from drawnet.operator.settings import OperatorSettings
from drawnet.operator.spec import InvalidSpecError, parse_spec
from tests.conftest import TEST_ROOM_IMAGE


def test_an_empty_spec_gets_the_defaults_of_the_crd_and_the_operator() -> None:
    spec = parse_spec({}, OperatorSettings())

    assert (spec.title, spec.owner, spec.max_participants) == ("", None, 50)
    assert (spec.idle_timeout_seconds, spec.on_idle) == (3600, "Stop")
    assert spec.image == TEST_ROOM_IMAGE  # what tests/conftest.py gives the operator
    assert spec.resources.as_manifest() == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }


class TestImages:
    def test_other_tags_and_digests_of_the_default_repository_are_allowed(self) -> None:
        settings = OperatorSettings(room_image="registry.example:5000/drawnet/room:1.0")

        for image in (
            "registry.example:5000/drawnet/room:1.1",
            "registry.example:5000/drawnet/room@sha256:ab",
        ):
            assert parse_spec({"room": {"image": image}}, settings).image == image

    def test_another_repository_is_refused_with_the_allowed_prefixes(self) -> None:
        settings = OperatorSettings(room_image="registry.example/drawnet/room:1.0")

        with pytest.raises(InvalidSpecError) as refused:
            parse_spec({"room": {"image": "registry.example/drawnet/room-evil:1"}}, settings)
        assert str(refused.value) == (
            "spec.room.image 'registry.example/drawnet/room-evil:1' is not allowed: it must start with one "
            "of registry.example/drawnet/room:, registry.example/drawnet/room@"
        )

    def test_listed_prefixes_replace_the_default_rule(self) -> None:
        settings = OperatorSettings(allowed_image_prefixes="mirror.example/, registry.example/")

        assert (
            parse_spec({"room": {"image": "mirror.example/room:9"}}, settings).image
            == "mirror.example/room:9"
        )
        with pytest.raises(InvalidSpecError):
            parse_spec({"room": {"image": "ghcr.io/drawnet/room:0.2.0"}}, settings)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"limits": {"cpu": "3"}}, "spec.room.resources.limits.cpu 3 exceeds the operator's max_cpu 2"),
        (
            {"requests": {"memory": "3Gi"}},
            "spec.room.resources.requests.memory 3Gi exceeds the operator's max_memory 2Gi",
        ),
        (
            {"requests": {"cpu": "1500m"}},
            "spec.room.resources.requests.cpu 1500m exceeds the limit 1 (set limits too, or ask for less)",
        ),
        ({"limits": {"memory": "0"}}, "spec.room.resources.limits.memory '0' must be positive"),
        (
            {"limits": {"memory": "much"}},
            "spec.room.resources.limits.memory 'much' is not a Kubernetes quantity",
        ),
    ],
)
def test_resources_beyond_the_bounds_are_refused_with_the_bound(
    resources: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidSpecError) as refused:
        parse_spec({"room": {"resources": resources}}, OperatorSettings())
    assert str(refused.value) == message


def test_resources_within_the_bounds_are_taken() -> None:
    spec = parse_spec(
        {"room": {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "2", "memory": "2Gi"}}}},
        OperatorSettings(),
    )
    assert spec.resources.as_manifest() == {
        "requests": {"cpu": "2", "memory": "128Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }


class TestSettings:
    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"exposure": "ingress"}, "exposure 'ingress' needs public_host"),
            ({"exposure": "httproute", "public_host": "h"}, "exposure 'httproute' needs gateway_name"),
            ({"namespaces": "good,Not_Good"}, "namespaces: 'Not_Good' is not a DNS-1123 label"),
            ({"room_cpu_limit": "fast"}, "room_cpu_limit: 'fast' is not a Kubernetes quantity"),
            ({"max_memory": "lots"}, "max_memory: 'lots' is not a Kubernetes quantity"),
            ({"service_token": "short"}, "service_token must be at least 32 characters"),
            # Nothing is published under a default name: the operator must be told its room image.
            ({"room_image": " "}, "room_image is not set: Drawnet publishes no images"),
        ],
    )
    def test_bad_settings_stop_the_operator_at_start_with_a_reason(
        self, values: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            OperatorSettings(**values)
        assert message in str(refused.value)

    def test_settings_come_from_drawnet_operator_environment_variables(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DRAWNET_OPERATOR_NAMESPACES", "team-a, team-b")
        monkeypatch.setenv("DRAWNET_OPERATOR_RESYNC_SECONDS", "7.5")

        settings = OperatorSettings()
        assert settings.namespace_list == ("team-a", "team-b")
        assert settings.resync_seconds == 7.5

    def test_an_unknown_setting_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            OperatorSettings(room_imag="typo")  # type: ignore[call-arg]


class TestReplicas:
    def test_one_room_unless_asked_and_up_to_the_operators_bound(self) -> None:
        settings = OperatorSettings(max_room_replicas=3)
        assert parse_spec({}, settings).replicas == 1
        assert parse_spec({"room": {"replicas": 3}}, settings).replicas == 3

    def test_more_than_the_bound_is_refused_naming_it(self) -> None:
        with pytest.raises(InvalidSpecError) as refused:
            parse_spec({"room": {"replicas": 4}}, OperatorSettings(max_room_replicas=3))
        assert str(refused.value) == "spec.room.replicas 4 exceeds the operator's max_room_replicas 3"

    def test_the_bound_itself_is_bounded(self) -> None:
        with pytest.raises(ValidationError, match="max_room_replicas"):
            OperatorSettings(max_room_replicas=17)
