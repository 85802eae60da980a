"""`create_app()`: the Litestar application, its connections held in one lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsPlugin
from nats.errors import Error as NatsError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.bus import connect, ensure_ops_stream
from drawnet.bus.access import ensure_access_stream
from drawnet.drawing import apidocs, csrf, db, headers, metrics, web
from drawnet.drawing.api import boards, history, images, sessions, thumbnails, users
from drawnet.drawing.context import Context, Limits, SigningKeys, provide_caller, provide_ctx
from drawnet.drawing.errors import (
    DrawingError,
    body_too_large,
    database_problem,
    http_problem,
    internal_problem,
    to_problem,
    too_deep_problem,
)
from drawnet.drawing.exportgate import ExportGate
from drawnet.drawing.images import set_decoder_limit
from drawnet.drawing.persister import Persister
from drawnet.drawing.sessions import EmbeddedBackend, SessionBackend
from drawnet.drawing.settings import DrawingSettings
from drawnet.drawing.snapshots import BoardCache
from drawnet.drawing.workers import ExportWorkers

if TYPE_CHECKING:
    from drawnet.drawing.lease import PersisterLease

log = logging.getLogger(__name__)


@get("/healthz", include_in_schema=False, media_type=MediaType.TEXT)
async def healthz() -> str:
    return "ok"


@get("/readyz", include_in_schema=False, media_type=MediaType.TEXT)
async def readyz(state: State) -> Response[str]:
    ctx: Context = state.ctx
    problems = []
    try:
        await db.ping(ctx.engine)
    except (SQLAlchemyError, OSError) as error:
        problems.append(f"database: {error.__class__.__name__}")
    if not ctx.nc.is_connected:
        problems.append("nats: disconnected")
    task = ctx.extra.get("persister_task")
    if isinstance(task, asyncio.Task) and task.done():
        problems.append("persister: stopped")
    if problems:
        return Response("; ".join(problems), status_code=503, media_type=MediaType.TEXT)
    return Response("ready", media_type=MediaType.TEXT)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@contextlib.contextmanager
def _session_backend(settings: DrawingSettings, engine: AsyncEngine) -> Iterator[SessionBackend]:
    """The backend `session_backend` names; the Kubernetes one holds a client of the cluster's API."""
    if settings.session_backend == "embedded":
        yield EmbeddedBackend(engine, open_boards=settings.open_boards)
        return
    from drawnet.drawing import kube_sessions  # noqa: PLC0415 - the Kubernetes client is slow to import

    with kube_sessions.load_api_client(settings.kubeconfig) as api:
        yield kube_sessions.KubernetesBackend(engine, api, open_sessions=settings.open_boards)


@contextlib.contextmanager
def _export_workers(count: int) -> Iterator[Executor | None]:
    if not count:
        yield None
        return
    pool = ExportWorkers(count)
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: DrawingSettings = app.state.settings
    engine = db.make_engine(settings.async_database_url)
    await db.migrate(engine)
    nc = await connect(settings.nats_url, name="drawnet-drawing")
    js = nc.jetstream()

    async def declare_op_log() -> None:
        # Numbered on from what SQL holds, should NATS have lost the log (see ensure_ops_stream).
        first_seq = await db.max_seq(engine) + 1
        await ensure_ops_stream(
            js,
            duplicate_window_seconds=settings.duplicate_window_seconds,
            first_seq=first_seq,
            replicas=settings.ops_stream_replicas,
        )

    await declare_op_log()
    await ensure_access_stream(
        js,
        keep_seconds=settings.revocation_keep_seconds,
        update=True,
        replicas=settings.ops_stream_replicas,
    )
    boards_cache = BoardCache(
        engine,
        capacity=settings.snapshot_cache_boards,
        every_ops=settings.snapshot_every_ops,
        every_seconds=settings.snapshot_every_seconds,
    )
    persister = Persister(
        nc,
        js,
        engine,
        batch_size=settings.persist_batch_size,
        fetch_timeout=settings.persist_fetch_timeout_seconds,
        retry_seconds=settings.persist_retry_seconds,
        boards=boards_cache,
        declare_log=declare_op_log,
    )
    lease = _persister_lease(settings) if settings.persist and settings.persist_lease else None
    task = None
    if settings.persist:
        task = asyncio.create_task(
            persister.run() if lease is None else _persist_while_leading(persister, lease), name="persister"
        )
        metrics.PERSISTER_ACTIVE.set(1 if lease is None else 0)
    stack = contextlib.ExitStack()
    backend = stack.enter_context(_session_backend(settings, engine))
    exports = stack.enter_context(_export_workers(settings.export_workers))
    if settings.metrics_port:
        stack.enter_context(metrics.serve(settings.host, settings.metrics_port))
    app.state.ctx = Context(
        settings=settings,
        engine=engine,
        nc=nc,
        js=js,
        persister=persister,
        backend=backend,
        signing=SigningKeys.from_settings(settings),
        limits=Limits.from_settings(engine, settings),
        export_gate=ExportGate(settings.max_concurrent_exports, settings.export_queue),
        exports=exports,
        extra={"persister_task": task},
    )
    try:
        yield
    finally:
        persister.stop()
        if task is not None and lease is not None and not lease.holding:
            task.cancel()  # a standby has nothing in hand
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=settings.persist_fetch_timeout_seconds + 5)
            except TimeoutError:
                log.warning("persister did not stop in time; unacknowledged ops will be redelivered")
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise
        with contextlib.suppress(NatsError, TimeoutError):
            await nc.drain()
        stack.close()
        await engine.dispose()


def _persister_lease(settings: DrawingSettings) -> PersisterLease:
    # The Kubernetes client is slow to import: only a persister with a lease needs it.
    from drawnet.drawing.kube_sessions import load_api_client  # noqa: PLC0415
    from drawnet.drawing.lease import PersisterLease  # noqa: PLC0415

    return PersisterLease(
        load_api_client(settings.kubeconfig),
        namespace=settings.namespace,
        name=settings.persist_lease,
        identity=f"{socket.gethostname()}-{os.getpid()}",
        lease_seconds=settings.persist_lease_seconds,
        renew_seconds=settings.persist_lease_renew_seconds,
    )


async def _persist_while_leading(persister: Persister, lease: PersisterLease) -> None:
    """Persist while this replica holds the Lease, stand by while another does; release it on a stop."""
    while True:
        await lease.acquire()
        metrics.PERSISTER_ACTIVE.set(1)
        run = asyncio.create_task(persister.run(), name="persister run")
        held = asyncio.create_task(lease.hold(), name="persister lease")
        await asyncio.wait({run, held}, return_when=asyncio.FIRST_COMPLETED)
        metrics.PERSISTER_ACTIVE.set(0)
        if run.done():  # stopped: the process is going
            held.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await held
            await lease.release()
            await run
            return
        persister.stop()  # the lease is lost: finish the batch in hand (it is stored once: SQL keys)
        await run
        persister.reset()


def _too_large(request: Request[Any, Any, Any], _error: RequestEntityTooLarge) -> Response[Any]:
    settings: DrawingSettings = request.app.state.settings
    if request.url.path.endswith("/import"):
        return body_too_large("max_import_bytes", settings.max_import_bytes).to_response(request)
    if request.url.path.endswith("/images"):
        return body_too_large("max_image_bytes", settings.max_image_bytes).to_response(request)
    return body_too_large("max_body_bytes", settings.max_body_bytes).to_response(request)


def create_app(settings: DrawingSettings | None = None) -> Litestar:
    settings = settings or DrawingSettings()
    imports = Router(
        path="/", route_handlers=[boards.import_board], request_max_body_size=settings.max_import_bytes
    )
    pictures = Router(path="/", route_handlers=images.ROUTES, request_max_body_size=settings.max_image_bytes)
    set_decoder_limit(settings.max_image_pixels)
    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            # On its own port when there is one: the public route to the app (an Ingress for `/`) must
            # not show every counter to the world.
            *([] if settings.metrics_port else [metrics_endpoint]),
            *users.ROUTES,
            *sessions.ROUTES,
            *[handler for handler in boards.ROUTES if handler is not boards.import_board],
            imports,
            pictures,
            *history.ROUTES,
            *thumbnails.ROUTES,
            *web.routes(),
        ],
        dependencies={
            "ctx": Provide(provide_ctx, sync_to_thread=False),
            "caller": Provide(provide_caller),
        },
        state=State(
            {
                "settings": settings,
                "index_page": web.index_page(settings),
                "content_security_policy": web.content_security_policy(settings),
                "static_files": web.StaticFiles(settings.frontend_dir),
            }
        ),
        lifespan=[_lifespan],
        before_request=csrf.check_origin,
        request_max_body_size=settings.max_body_bytes,
        exception_handlers={RequestEntityTooLarge: _too_large},
        middleware=[headers.every_response(settings)],
        plugins=[
            ProblemDetailsPlugin(
                ProblemDetailsConfig(
                    exception_to_problem_detail_map={
                        DrawingError: to_problem,
                        HTTPException: http_problem,
                        SQLAlchemyError: database_problem,
                        RecursionError: too_deep_problem,
                        Exception: internal_problem,
                    }
                )
            )
        ],
        openapi_config=OpenAPIConfig(
            title="Drawnet",
            version="1",
            path=apidocs.PATH,
            render_plugins=[apidocs.DocsPage()],
            openapi_router=apidocs.router(),
            description="The drawing service: sessions, boards, users and join tokens. Errors are RFC 9457 "
            "problem details; lists are paged with `after` and `limit`, the next page in a `Link` header.",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", description="login or join token"),
                    "cookie": SecurityScheme(
                        type="apiKey", name="drawnet_login", security_scheme_in="cookie"
                    ),
                }
            ),
            security=[{}, {"bearer": []}, {"cookie": []}],
        ),
    )
