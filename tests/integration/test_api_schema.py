"""The API against its own OpenAPI (schemathesis: no request makes the server fail), health and metrics,
and the web app with its injected configuration and caching headers, through a real drawing service."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err

from drawnet.embedded.components import DrawingService, NatsServer

# Each fuzz runs every operation (some 35) with 15 examples in both modes: minutes on a busy 2-core machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

START_TIMEOUT = 90.0
"""Seconds a process gets to be ready: the machine running the tests may be busy."""


@pytest.fixture(scope="module")
def service(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrawingService]:
    folder: Path = tmp_path_factory.mktemp("stack")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    service = DrawingService(
        nats_url=nats_server.url,
        database_url=module_database_url,
        log_path=folder / "drawing.log",
        room_public_url="wss://rooms.example/</script><script>alert(1)</script>",
        extra_env={"DRAWNET_DRAWING_SERVICE_TOKEN": "svc-" + "s" * 40, "DRAWNET_DRAWING_OPEN_BOARDS": "true"},
    ).start(timeout=START_TIMEOUT)
    yield service
    service.stop()
    nats_server.stop()


@pytest.fixture(scope="module")
def owner(service: DrawingService) -> dict[str, str]:
    """A logged-in user with a session of their own (`mine`), as schemathesis's caller."""
    with httpx.Client(base_url=service.url) as http:
        username, password = f"fuzz-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
        http.post("/api/v1/users", json={"username": username, "password": password})
        token = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()[
            "token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        http.post("/api/v1/sessions", json={"name": "mine"}, headers=headers)
    return headers


FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def fuzz(service: DrawingService, headers: dict[str, str], *, session: str | None = None) -> list[str]:
    """Every operation of the app's own OpenAPI, with valid and invalid input; the names fuzzed.

    A response of 500 or more fails the test with hypothesis's smallest example of it.
    """
    api = schemathesis.openapi.from_url(f"{service.url}/api/v1/schema/openapi.json")
    fuzzed = []
    for result in api.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"the app's own OpenAPI is invalid: {result.err()}")
        operation = result.ok()
        for mode in MODES:

            @given(case=operation.as_strategy(generation_mode=mode))
            @FUZZ
            def no_server_error(case: Any) -> None:
                if session is not None and "session" in (case.path_parameters or {}):
                    case.path_parameters["session"] = session
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                no_server_error()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # an operation with nothing to get wrong
        fuzzed.append(f"{operation.method.upper()} {operation.path}")
    return fuzzed


def test_no_request_from_the_openapi_makes_the_server_fail(
    service: DrawingService, owner: dict[str, str]
) -> None:
    fuzzed = fuzz(service, owner)
    assert "POST /api/v1/sessions/{session}/import" in fuzzed
    assert len(fuzzed) >= 20


def test_no_request_on_an_existing_session_makes_the_server_fail(
    service: DrawingService, owner: dict[str, str]
) -> None:
    fuzz(service, owner, session="mine")


def test_no_anonymous_request_makes_the_server_fail(service: DrawingService) -> None:
    fuzz(service, {}, session="mine")


class TestHealth:
    def test_health_readiness_and_metrics_answer(self, service: DrawingService) -> None:
        assert httpx.get(f"{service.url}/healthz").text == "ok"
        assert httpx.get(f"{service.url}/readyz").text == "ready"
        metrics = httpx.get(f"{service.url}/metrics").text
        for name in (
            "drawnet_drawing_consumer_pending_ops",
            "drawnet_drawing_ops_persisted_total",
            "drawnet_drawing_persisted_seq",
            "drawnet_drawing_snapshots_written_total",
        ):
            assert re.search(rf"^{name} ", metrics, re.MULTILINE), name

    def test_the_openapi_describes_every_endpoint_under_api_v1(self, service: DrawingService) -> None:
        paths = httpx.get(f"{service.url}/api/v1/schema/openapi.json").json()["paths"]
        assert set(paths) >= {
            "/api/v1/users",
            "/api/v1/auth/login",
            "/api/v1/auth/logout",
            "/api/v1/auth/me",
            "/api/v1/sessions",
            "/api/v1/sessions/{session}",
            "/api/v1/sessions/{session}/archive",
            "/api/v1/sessions/{session}/links",
            "/api/v1/sessions/{session}/links/{link_id}",
            "/api/v1/sessions/{session}/join",
            "/api/v1/sessions/{session}/snapshot",
            "/api/v1/sessions/{session}/ops",
            "/api/v1/sessions/{session}/export.svg",
            "/api/v1/sessions/{session}/export.png",
            "/api/v1/sessions/{session}/export.json",
            "/api/v1/sessions/{session}/import",
        }

    def test_an_unknown_route_is_a_problem_document(self, service: DrawingService) -> None:
        response = httpx.get(f"{service.url}/api/v1/nothing-here")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


class TestWebApp:
    def config(self, page: str) -> dict[str, Any]:
        tag = r'<script id="drawnet-config" type="application/json">(.*?)</script>'
        found = re.search(tag, page, re.DOTALL)
        assert found is not None
        config: dict[str, Any] = json.loads(found.group(1))
        return config

    @pytest.mark.parametrize("path", ["/", "/s/some-board"])
    def test_the_page_carries_the_servers_urls_and_limits_and_is_never_cached_stale(
        self, service: DrawingService, path: str
    ) -> None:
        response = httpx.get(f"{service.url}{path}")

        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        config = self.config(response.text)
        assert config["roomUrl"] == "wss://rooms.example/</script><script>alert(1)</script>"
        assert config["apiUrl"] == f"{service.url}/api/v1"
        assert config["namespace"] == "default"
        assert config["limits"]["max_body_bytes"] == 1_048_576
        assert config["limits"]["login_attempts_per_minute"] == 10

    def test_a_url_in_the_config_cannot_end_the_script_element(self, service: DrawingService) -> None:
        page = httpx.get(f"{service.url}/").text
        assert "<script>alert(1)" not in page
        assert "\\u003c/script>" in page

    @pytest.mark.parametrize("path", ["/js/app.js", "/css/main.css"])
    def test_assets_revalidate_with_an_etag_and_answer_304_when_unchanged(
        self, service: DrawingService, path: str
    ) -> None:
        first = httpx.get(f"{service.url}{path}")
        again = httpx.get(f"{service.url}{path}", headers={"If-None-Match": first.headers["etag"]})

        assert first.status_code == 200
        assert first.headers["cache-control"] == "no-cache"
        assert first.headers["content-type"].split(";")[0] in {"text/javascript", "text/css"}
        assert (again.status_code, again.content) == (304, b"")

    def test_files_outside_the_web_app_are_not_served(self, service: DrawingService) -> None:
        for path in ("/js/../../pyproject.toml", "/js/%2e%2e/%2e%2e/pyproject.toml", "/css/nothing.css"):
            assert httpx.get(f"{service.url}{path}").status_code == 404
