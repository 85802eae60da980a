"""Settings are typed, read from one env var per field, and validated at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from drawnet.drawing.errors import UnavailableError
from drawnet.drawing.kube_sessions import load_api_client
from drawnet.drawing.settings import DrawingSettings, normalize_database_url
from drawnet.room.settings import RoomSettings


class TestRoomSettings:
    @pytest.fixture(autouse=True)
    def _keys(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DRAWNET_ROOM_SIGNING_KEYS", "k1:" + "s" * 32)

    def test_a_room_without_keys_must_be_told_to_let_anyone_in(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("DRAWNET_ROOM_SIGNING_KEYS")
        with pytest.raises(ValidationError, match="set signing_keys"):
            RoomSettings()
        monkeypatch.setenv("DRAWNET_ROOM_ALLOW_ANONYMOUS", "true")
        assert RoomSettings().keys == {}

    def test_each_field_comes_from_its_env_var(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DRAWNET_ROOM_MAX_POINTS_PER_STROKE", "42")
        monkeypatch.setenv("DRAWNET_ROOM_SESSION", "my-board")
        settings = RoomSettings()
        assert settings.limits.max_points_per_stroke == 42
        assert settings.session == "my-board"

    def test_a_bad_value_fails_at_start_up_with_the_field_name(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DRAWNET_ROOM_MAX_PARTICIPANTS", "0")
        with pytest.raises(ValidationError, match="max_participants"):
            RoomSettings()

    def test_a_namespace_must_be_a_dns_label(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DRAWNET_ROOM_NAMESPACE", "Not_Valid")
        with pytest.raises(ValidationError, match="DNS-1123"):
            RoomSettings()

    def test_unknown_settings_are_not_silently_accepted(self) -> None:
        with pytest.raises(ValidationError):
            RoomSettings(max_participant=3)  # type: ignore[call-arg]


class TestDrawingSettings:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
            ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
            ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
            ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ],
    )
    def test_plain_database_urls_get_async_drivers(self, given: str, expected: str) -> None:
        assert normalize_database_url(given) == expected

    def test_the_web_app_must_exist(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match=r"has no index\.html"):
            DrawingSettings(frontend_dir=tmp_path)

    def test_the_default_web_app_is_the_repository_frontend(self) -> None:
        assert (DrawingSettings().frontend_dir / "index.html").is_file()

    def test_other_namespaces_are_served_only_with_the_kubernetes_backend(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DRAWNET_DRAWING_SESSION_NAMESPACES", '["team-a", "team-b"]')
        with pytest.raises(ValidationError, match="needs session_backend 'kubernetes'"):
            DrawingSettings()
        served = DrawingSettings(session_backend="kubernetes", namespace="drawnet")
        assert [served.serves(ns) for ns in ("drawnet", "team-a", "team-b", "other")] == [
            True,
            True,
            True,
            False,
        ]
        assert DrawingSettings(session_backend="kubernetes", session_namespaces=["*"]).serves("other")
        with pytest.raises(ValidationError, match="cannot be listed with other namespaces"):
            DrawingSettings(session_backend="kubernetes", session_namespaces=["*", "team-a"])
        with pytest.raises(ValidationError, match="'Team_A' is not a DNS-1123 label"):
            DrawingSettings(session_backend="kubernetes", session_namespaces=["Team_A"])

    def test_sessions_come_from_the_embedded_or_the_kubernetes_backend_only(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DRAWNET_DRAWING_SESSION_BACKEND", "kubernetes")
        assert DrawingSettings().session_backend == "kubernetes"
        monkeypatch.setenv("DRAWNET_DRAWING_SESSION_BACKEND", "docker")
        with pytest.raises(ValidationError, match=r"session_backend[\s\S]*'embedded' or 'kubernetes'"):
            DrawingSettings()

    def test_the_kubernetes_backend_without_a_cluster_says_what_to_set(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
        with pytest.raises(UnavailableError, match=r"found no cluster to talk to.*set kubeconfig"):
            load_api_client()
        with pytest.raises(UnavailableError, match="found no cluster"):
            load_api_client(str(tmp_path / "missing.kubeconfig"))
