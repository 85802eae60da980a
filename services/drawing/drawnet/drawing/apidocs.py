"""The API's docs page, `/api/v1/schema`: Swagger UI from a pinned Python package (swagger-ui-py, in the
drawing extra), its files served by this service, the page started by a script of ours. Nothing
comes from another origin and the page runs no inline script, so it gets a Content-Security-Policy as
strict as the web app's (it used to load Redoc "latest" from a CDN, without Subresource Integrity).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import TYPE_CHECKING, Any

from litestar import MediaType, Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from drawnet.drawing import conditional
from drawnet.drawing.web import SECURITY_HEADERS

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PATH = "/api/v1/schema"
SWAGGER_UI_VERSION = "5.24.2"
"""The Swagger UI that swagger-ui-py==25.7.1 (constraints.txt) ships: 5.x reads OpenAPI 3.1, which
Litestar writes (4.x refuses it)."""

SWAGGER_UI_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"
"""The one style element Swagger UI 5.24.2 adds to the page, allowed by its hash (not 'unsafe-inline')."""

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src 'self'; style-src 'self' {SWAGGER_UI_STYLE}; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_INIT = b"""// Starts Swagger UI on the page (no inline script: the page's CSP allows none).
window.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({
    url: "%s/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
});
""" % PATH.encode()


def _swagger_ui() -> Traversable:
    return resources.files("swagger_ui").joinpath("static")


def _asset(body: bytes, media_type: str) -> tuple[bytes, str, str]:
    return body, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _assets() -> dict[str, tuple[bytes, str, str]]:
    """name -> (body, media type, ETag): what the page loads, read once."""
    folder = _swagger_ui()
    javascript, css = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
    return {
        "swagger-ui-bundle.js": _asset(folder.joinpath("swagger-ui-bundle.js").read_bytes(), javascript),
        "swagger-ui-standalone-preset.js": _asset(
            folder.joinpath("swagger-ui-standalone-preset.js").read_bytes(), javascript
        ),
        "swagger-ui.css": _asset(folder.joinpath("swagger-ui.css").read_bytes(), css),
        "favicon-32x32.png": _asset(folder.joinpath("favicon-32x32.png").read_bytes(), "image/png"),
        "drawnet-init.js": _asset(_INIT, javascript),
    }


class DocsPage(OpenAPIRenderPlugin):
    """Swagger UI's standalone page with its files from `assets/` of the schema's path."""

    def __init__(self) -> None:
        super().__init__(path="/swagger", media_type=MediaType.HTML)
        self._assets = _assets()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:  # noqa: ARG002 - the plugin interface
        title = str(openapi_schema["info"]["title"]).replace("<", "&lt;")
        assets = f"{PATH}/assets"
        return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title} API</title>
    <link rel="icon" href="{assets}/favicon-32x32.png">
    <link rel="stylesheet" href="{assets}/swagger-ui.css">
    <script src="{assets}/swagger-ui-bundle.js"></script>
    <script src="{assets}/swagger-ui-standalone-preset.js"></script>
    <script src="{assets}/drawnet-init.js"></script>
  </head>
  <body><div id="swagger-ui"></div></body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        files = self._assets

        @get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
        def asset(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
            found = files.get(name)
            if found is None:
                raise NotFoundException(f"no file {name} in the API docs page's assets")
            body, media, etag = found
            headers = {"ETag": etag, "Cache-Control": "no-cache"}
            if conditional.unchanged(request, etag):
                return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
            return Response(body, media_type=media, headers=headers)

        router.register(asset)


def router() -> Router:
    """The schema's router: every answer under it carries the page's policy and the security headers."""
    return Router(
        PATH,
        route_handlers=[],
        include_in_schema=False,
        response_headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, **SECURITY_HEADERS},
    )
