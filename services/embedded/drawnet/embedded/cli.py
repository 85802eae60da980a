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

from drawnet.embedded.components import DrawingService, NatsServer, RoomServer
from drawnet.embedded.processes import ProcessError


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
    return parser


def _supervise(parts: list[NatsServer | RoomServer | DrawingService], stop: threading.Event) -> int:
    """Wait for Ctrl-C (0), or for a part to die (1, with its log)."""
    while not stop.wait(0.5):
        for part in parts:
            if part.process is not None and not part.process.running():
                print(f"{part.process.name} exited:\n{part.process.log_tail()}", file=sys.stderr)
                return 1
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
    started: list[NatsServer | RoomServer | DrawingService] = []
    try:
        for part in (nats, drawing, room):
            part.start()
            started.append(part)
            if stop.is_set():
                return 130
        print(
            f"Drawnet is up.\n"
            f"  NATS + JetStream   {nats.url}  (data in {nats.data_dir})\n"
            f"  drawing service    {drawing.url}  ({database_url.split('@')[-1]})\n"
            f"  room server        {room.url}\n"
            f"  logs               {data / 'logs'}\n\n"
            f"  Open {drawing.url}/ in a browser.  Ctrl-C stops everything.",
            flush=True,
        )
        return _supervise(started, stop)
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
