"""The API docs page in Chromium: Swagger UI shows the API from this service's own files, the page's
strict Content-Security-Policy blocks nothing it needs, and no request leaves the service's origin."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Request

    from tests.browser.conftest import Platform

pytestmark = pytest.mark.browser


def test_the_api_docs_page_shows_the_api_with_nothing_blocked_and_nothing_from_elsewhere(
    browser: Browser, platform: Platform
) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    try:
        page = context.new_page()
        requests: list[str] = []
        problems: list[str] = []
        page.on("request", lambda request: requests.append(_url(request)))
        page.on("console", lambda message: _note_error(message, problems))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{platform.url}/api/v1/schema")
        page.locator(".swagger-ui .info .title").filter(has_text="Drawnet").wait_for()
        # Every operation of the API is listed: one of them, opened, shows its parameters.
        page.locator(".opblock-summary-path", has_text="/api/v1/sessions/{session}/join").first.click()
        page.locator(".opblock.is-open .parameters").first.wait_for()
        assert not problems, problems  # a CSP violation is a console error
        assert requests, "no request seen"
        assert all(url.startswith(platform.url) for url in requests), requests
    finally:
        context.close()


def _url(request: Request) -> str:
    return request.url


def _note_error(message: ConsoleMessage, problems: list[str]) -> None:
    if message.type == "error":
        problems.append(message.text)
