"""`python -m drawnet.drawing`: run the drawing service with settings from the environment."""

from __future__ import annotations

import logging

import uvicorn

from drawnet.drawing.app import create_app
from drawnet.drawing.settings import DrawingSettings
from drawnet.drawing.timeouts import timed_protocol


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s drawing %(levelname)s %(name)s: %(message)s")
    settings = DrawingSettings()
    print(f"drawnet drawing service on http://{settings.host}:{settings.port}", flush=True)  # noqa: T201
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
        # uvicorn has no deadline on reading a request: a slow client would hold its connection for ever.
        http=timed_protocol(settings.header_timeout_seconds, settings.body_timeout_seconds),
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default: any local client could claim any
        # address. Only the configured proxies are believed.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or "",
    )


if __name__ == "__main__":
    main()
