"""`drawnet up`: the whole platform on this machine, no Kubernetes. Ctrl-C stops all of it."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import httpx

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.embedded.healing import RestartLimitError, RestartPolicy, Restarts
from drawnet.embedded.processes import ProcessError

Part = NatsServer | RoomServer | DrawingService

_DEFAULTS = RestartPolicy()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drawnet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start NATS, the drawing service, a room server and the web app")
    up.add_argument("--data-dir", type=Path, default=Path(".drawnet"), help="JetStream, SQLite and logs")
    up.add_argument("--host", default="127.0.0.1", help="interface every part listens on")
    up.add_argument("--port", type=int, default=8000, help="web app and REST API")
    up.add_argument("--room-port", type=int, default=8001, help="room server (WebSockets)")
    up.add_argument("--nats-port", type=int, default=4222, help="NATS client port")
    up.add_argument(
        "--database-url",
        help="PostgreSQL instead of the SQLite file, e.g. postgresql://user:password@localhost/drawnet",
    )
    up.add_argument(
        "--start-timeout",
        type=float,
        default=_DEFAULTS.ready_timeout_seconds,
        help="seconds each part has to become ready, at start and after a restart (default: %(default)s)",
    )
    up.add_argument(
        "--max-restarts",
        type=int,
        default=_DEFAULTS.max_restarts,
        help="restarts of one part within --restart-window before drawnet up gives up (default: %(default)s)",
    )
    up.add_argument(
        "--restart-window",
        type=float,
        default=_DEFAULTS.window_seconds,
        help="seconds over which --max-restarts counts (default: %(default)s)",
    )
    up.add_argument(
        "--max-restart-backoff",
        type=float,
        default=_DEFAULTS.max_backoff_seconds,
        help="longest pause in seconds before restarting a part; pauses double from "
        f"{_DEFAULTS.first_backoff_seconds:g}s (default: %(default)s)",
    )
    return parser


def _say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def _supervise(parts: list[Part], stop: threading.Event, policy: RestartPolicy) -> int:
    """Restart each part that dies (after a growing pause, a bounded number of times) while the others
    keep running and are watched. Returns 0 on Ctrl-C, 1 when a part died more often than the policy
    allows."""
    restarts = {id(part): Restarts(policy) for part in parts}
    due: dict[int, float] = {}  # dead parts waiting for their restart: when it is due
    starting: dict[int, float] = {}  # restarted parts not ready yet: when they count as dead
    while not stop.wait(0.2):
        for part in parts:
            assert part.process is not None  # noqa: S101 - supervised parts were started
            name, now = part.process.name, time.monotonic()
            if id(part) in due:
                if now >= due[id(part)]:
                    del due[id(part)]
                    starting[id(part)] = now + policy.ready_timeout_seconds
                    part.launch()
                continue
            if not part.process.running():
                code = part.process.stop()  # reaps it and closes its log
                tail = "\n".join(f"    {line}" for line in part.process.log_tail(8).splitlines())
                _say(f"{name} exited (code {code}); the end of its log ({part.process.log_path}):\n{tail}")
            elif id(part) in starting and _ready(part.ready_url):
                del starting[id(part)]
                _say(f"{name} restarted (pid {part.process.pid})")
                continue
            elif id(part) in starting and now > starting[id(part)]:
                part.process.stop()
                _say(f"{name} not ready {policy.ready_timeout_seconds:g}s after its restart; stopped it")
            else:
                continue
            starting.pop(id(part), None)
            try:
                backoff = restarts[id(part)].next_backoff(now)
            except RestartLimitError as error:
                _say(f"{name} {error} (--max-restarts); stopping everything")
                return 1
            _say(
                f"restarting {name} in {backoff:.1f}s (restart {restarts[id(part)].count} of "
                f"{policy.max_restarts} within {policy.window_seconds:g}s); the other parts keep running"
            )
            due[id(part)] = now + backoff
    return 0


def signing_keys(data: Path) -> str:
    """The embedded platform's join-token key: made once, kept in the data folder (owner-only)."""
    path = data / "signing-keys"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(f"embedded-1:{secrets.token_urlsafe(48)}\n")
    return path.read_text().strip()


def service_token(data: Path) -> str:
    """The platform's own token for the drawing service: made once, kept in the data folder (owner-only)."""
    path = data / "service-token"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def up(args: argparse.Namespace) -> int:
    data: Path = args.data_dir.resolve()
    try:
        policy = RestartPolicy(
            max_restarts=args.max_restarts,
            window_seconds=args.restart_window,
            ready_timeout_seconds=args.start_timeout,
            max_backoff_seconds=args.max_restart_backoff,
        )
    except ValueError as error:
        print(f"drawnet up: {error}", file=sys.stderr)
        return 2
    database_url = args.database_url or f"sqlite:///{data / 'drawnet.db'}"
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    keys = signing_keys(data)
    nats = NatsServer(data_dir=data / "nats", host=args.host, port=args.nats_port)
    room = RoomServer(
        nats_url=nats.url,
        log_path=data / "logs" / "room.log",
        host=args.host,
        port=args.room_port,
        signing_keys=keys,
        drawing_url=f"http://{args.host}:{args.port}",
    )
    drawing = DrawingService(
        nats_url=nats.url,
        database_url=database_url,
        log_path=data / "logs" / "drawing.log",
        host=args.host,
        port=args.port,
        room_public_url=room.url,
        signing_keys=keys,
        service_token=service_token(data),
    )
    started: list[Part] = []
    try:
        for part in (nats, drawing, room):
            part.start(timeout=args.start_timeout)
            started.append(part)
            if stop.is_set():
                return 130
        print(
            f"Drawnet is up.\n"
            f"  NATS + JetStream   {nats.url}  (data in {nats.data_dir})\n"
            f"  drawing service    {drawing.url}  ({database_url.split('@')[-1]})\n"
            f"  room server        {room.url}\n"
            f"  logs               {data / 'logs'}\n\n"
            f"  Open {drawing.url}/ in a browser.  Ctrl-C stops everything.\n"
            f"  A part that dies is restarted (at most {policy.max_restarts} times "
            f"in {policy.window_seconds:g}s).",
            flush=True,
        )
        return _supervise(started, stop, policy)
    except ProcessError as error:
        print(f"drawnet up failed: {error}", file=sys.stderr)
        return 1
    finally:
        print("Stopping...", flush=True)
        for part in reversed(started):
            began = time.monotonic()
            part.stop()
            assert part.process is not None  # noqa: S101 - started parts have a process
            print(f"  stopped {part.process.name} in {time.monotonic() - began:.1f}s", flush=True)
        print("Stopped.", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "up":
        sys.exit(up(args))
