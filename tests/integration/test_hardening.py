"""What the drawing service answers to hostile requests a probe sends: bodies nested too deep and NUL
bytes in paths are clean 4xx, never a 500 with a traceback; every response says `nosniff`, the web app
has a strict Content-Security-Policy, and HTTPS deployments get HSTS. A real service over real NATS."""

from __future__ import annotations

import re
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drawnet.drawing import apidocs
from drawnet.embedded.components import DrawingService, NatsServer, free_port

pytestmark = pytest.mark.integration

SESSIONS, LINKS = 3, 2
HEADER_TIMEOUT, BODY_TIMEOUT = 2, 3
METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrawingService]:
    folder: Path = tmp_path_factory.mktemp("hardening")
    nats_server = NatsServer(data_dir=folder / "nats").start()
    drawing = DrawingService(
        nats_url=nats_server.url,
        database_url=f"sqlite:///{folder / 'drawnet.db'}",
        log_path=folder / "drawing.log",
        room_public_url="ws://127.0.0.1:18001",
        extra_env={
            "DRAWNET_DRAWING_PUBLIC_URL": "https://draw.example.com",
            "DRAWNET_DRAWING_MAX_SESSIONS_PER_USER": str(SESSIONS),
            "DRAWNET_DRAWING_MAX_LINKS_PER_SESSION": str(LINKS),
            "DRAWNET_DRAWING_METRICS_PORT": str(METRICS_PORT),
            "DRAWNET_DRAWING_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            "DRAWNET_DRAWING_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        },
    ).start(timeout=90)
    yield drawing
    drawing.stop()
    nats_server.stop()


@pytest.fixture
def http(service: DrawingService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        yield client


def test_a_body_nested_ten_thousand_deep_is_a_400(http: httpx.Client) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    for path in ("/api/v1/users", "/api/v1/sessions/deep/join"):
        response = http.post(path, content=deep, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:200])


def test_with_a_metrics_port_the_public_port_shows_no_metrics(http: httpx.Client) -> None:
    """What an Ingress for `/` routes to the service is the public port: /metrics is not there."""
    assert http.get("/metrics").status_code == 404
    with httpx.Client(timeout=30) as scraper:
        scraped = scraper.get(f"http://127.0.0.1:{METRICS_PORT}/metrics")
    assert scraped.status_code == 200
    assert "drawnet_drawing_ops_persisted_total" in scraped.text


def test_a_nul_byte_in_a_static_path_is_a_404(http: httpx.Client) -> None:
    response = http.get("/js/app%00.js")
    assert response.status_code == 404


def test_every_response_says_nosniff_and_https_deployments_get_hsts(http: httpx.Client) -> None:
    for path in (
        "/api/v1/sessions",
        "/api/v1/sessions/no-such/snapshot?namespace=elsewhere",
        "/",
        "/js/app.js",
    ):
        response = http.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Strict-Transport-Security"].startswith("max-age="), path


def test_the_web_app_has_a_strict_content_security_policy(http: httpx.Client) -> None:
    policy = http.get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["connect-src"] == "'self' ws://127.0.0.1:18001"


def test_the_api_docs_page_loads_every_file_from_this_service_under_a_strict_policy(
    http: httpx.Client,
) -> None:
    """Swagger UI from the pinned swagger-ui-bundle, served here: no CDN, no inline script."""
    page = http.get("/api/v1/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    directives = dict(
        part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";")
    )
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no other origin
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in page.text  # every script has a src
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(urls) == 5, urls
    for url in urls:
        assert url.startswith("/api/v1/schema/assets/"), url  # this service's, nothing from elsewhere
        asset = http.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css", "image/png")), url
        assert http.get(url, headers={"If-None-Match": asset.headers["ETag"]}).status_code == 304
    bundle = http.get("/api/v1/schema/assets/swagger-ui-bundle.js").content
    assert f'PACKAGE_VERSION:"{apidocs.SWAGGER_UI_VERSION}"'.encode() in bundle  # the pin is what we say
    missing = http.get("/api/v1/schema/assets/nothing.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert http.get("/api/v1/schema/openapi.json").json()["info"]["title"] == "Drawnet"


def test_one_user_owns_at_most_max_sessions_per_user_and_a_session_has_at_most_max_links(
    http: httpx.Client,
) -> None:
    username, password = f"q-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    assert http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
    token = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()["token"]
    me = {"Authorization": f"Bearer {token}"}
    made = [http.post("/api/v1/sessions", json={}, headers=me) for _ in range(SESSIONS + 1)]
    assert [r.status_code for r in made] == [201] * SESSIONS + [409]
    assert made[-1].json()["limit"] == "max_sessions_per_user"
    name = made[0].json()["name"]
    links = [
        http.post(f"/api/v1/sessions/{name}/links", json={"role": "viewer"}, headers=me)
        for _ in range(LINKS + 1)
    ]
    assert [r.status_code for r in links] == [201] * LINKS + [409]
    assert links[-1].json()["limit"] == "max_links_per_session"
    # Revoking a link makes room for another; deleting a session for another session.
    assert (
        http.delete(f"/api/v1/sessions/{name}/links/{links[0].json()['id']}", headers=me).status_code == 204
    )
    assert http.post(f"/api/v1/sessions/{name}/links", json={"role": "viewer"}, headers=me).status_code == 201
    assert http.delete(f"/api/v1/sessions/{name}", headers=me).status_code == 204
    assert http.post("/api/v1/sessions", json={}, headers=me).status_code == 201


def test_a_password_change_ends_the_other_logins_and_needs_the_current_password(http: httpx.Client) -> None:
    username, password = f"p-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    assert http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
    here, elsewhere = (
        http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()["token"]
        for _ in range(2)
    )
    wrong = http.post(
        "/api/v1/auth/password",
        json={"current_password": "not the password", "new_password": "a new long password"},
        headers={"Authorization": f"Bearer {here}"},
    )
    assert wrong.status_code == 401
    changed = http.post(
        "/api/v1/auth/password",
        json={"current_password": password, "new_password": "a new long password"},
        headers={"Authorization": f"Bearer {here}"},
    )
    assert changed.status_code == 204
    assert http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {here}"}).status_code == 200
    assert http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {elsewhere}"}).status_code == 401
    old = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert old.status_code == 401
    new = http.post("/api/v1/auth/login", json={"username": username, "password": "a new long password"})
    assert new.status_code == 200


class TestCommonPasswords:
    @pytest.mark.parametrize("common", ["password1234", "qwerty123456", "sunshine2024", "P@ssw0rd1"])
    def test_a_common_password_is_refused_at_registration(self, http: httpx.Client, common: str) -> None:
        username = f"c-{secrets.token_hex(4)}"
        refused = http.post("/api/v1/users", json={"username": username, "password": common})
        assert refused.status_code == 422
        detail = refused.json()["detail"]
        assert "too easy to guess" in detail
        assert "below password_min_score 2" in detail
        assert (
            http.post("/api/v1/auth/login", json={"username": username, "password": common}).status_code
            == 401
        )

    def test_a_password_made_of_the_user_s_own_name_is_refused(self, http: httpx.Client) -> None:
        username = f"wilhelmina-{secrets.token_hex(2)}"
        refused = http.post("/api/v1/users", json={"username": username, "password": f"{username}1"})
        assert refused.status_code == 422
        assert "too easy to guess" in refused.json()["detail"]

    def test_a_change_to_a_common_password_is_refused_and_the_old_one_stays(self, http: httpx.Client) -> None:
        username, password = f"k-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
        assert (
            http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
        )
        token = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()[
            "token"
        ]
        refused = http.post(
            "/api/v1/auth/password",
            json={"current_password": password, "new_password": "iloveyou2024"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert refused.status_code == 422
        assert "too easy to guess" in refused.json()["detail"]
        assert (
            http.post("/api/v1/auth/login", json={"username": username, "password": password}).status_code
            == 200
        )


def test_a_deleted_account_s_sessions_are_archived_and_its_logins_end(http: httpx.Client) -> None:
    username, password = f"d-{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    assert http.post("/api/v1/users", json={"username": username, "password": password}).status_code == 201
    token = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()["token"]
    me = {"Authorization": f"Bearer {token}"}
    name = http.post("/api/v1/sessions", json={"visibility": "public"}, headers=me).json()["name"]
    assert (
        http.post("/api/v1/auth/delete", json={"password": "wrong password"}, headers=me).status_code == 401
    )
    assert http.post("/api/v1/auth/delete", json={"password": password}, headers=me).status_code == 204
    assert http.get("/api/v1/auth/me", headers=me).status_code == 401
    assert http.get(f"/api/v1/sessions/{name}").status_code == 404  # archived: nobody joins it again
    again = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert again.status_code == 401


def trickle(service: DrawingService, head: bytes, drip: bytes, *, for_seconds: float) -> float | None:
    """Send `head` at once, then `drip` a byte every 0.2 s (a slowloris client); the seconds after which
    the service closed the connection, or None if it held it for `for_seconds`."""
    started = time.monotonic()
    with socket.create_connection((service.host, service.port), timeout=0.2) as sock:
        sock.sendall(head)
        for byte in drip:
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1024) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                pass  # nothing to read yet: the service is still waiting for the rest
            except OSError:  # reset: closed while we wrote
                return time.monotonic() - started
            if time.monotonic() - started > for_seconds:
                return None
    return None


class TestSlowClients:
    def test_a_request_head_sent_a_byte_at_a_time_is_cut_off_at_header_timeout(
        self, service: DrawingService, http: httpx.Client
    ) -> None:
        endless_headers = b"".join(b"X-Slow-%d: %d\r\n" % (n, n) for n in range(1000))
        closed = trickle(service, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", endless_headers, for_seconds=15)
        assert closed is not None, "the service held a slowloris connection open"
        assert HEADER_TIMEOUT <= closed < HEADER_TIMEOUT + 5
        assert http.get("/healthz").text == "ok"  # and serves everyone else

    def test_a_body_sent_a_byte_at_a_time_is_cut_off_at_body_timeout(
        self, service: DrawingService, http: httpx.Client
    ) -> None:
        head = (
            b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n"
        )
        closed = trickle(service, head, b"x" * 1000, for_seconds=15)
        assert closed is not None, "the service held a slow body open"
        assert BODY_TIMEOUT <= closed < BODY_TIMEOUT + 5
        assert http.get("/healthz").text == "ok"

    def test_a_kept_alive_connection_serves_request_after_request(self, service: DrawingService) -> None:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            for _ in range(3):
                assert client.get("/healthz").text == "ok"
