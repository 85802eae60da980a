"""The relay benchmark: our room against baseline relays, on this machine, in one run.

    .venv/bin/python bench/relay.py                  # every target and scenario: a few minutes
    .venv/bin/python bench/relay.py --quick          # shorter steps
    .venv/bin/python bench/relay.py --targets room,ws,socketio

Each server runs pinned to one core (`taskset -c 0`) and the Go load generator (bench/loadgen) to the
other (`-c 1`), all on loopback. nats-server shares the generator's core so that the room has its core
to itself; its CPU is reported separately. For every target, in this order:

  idle        500 connections (10 rooms x 50) that stay quiet: server CPU, RSS per idle connection
  steady      1 room x 50 participants x 30 Hz live frames of ~200 B: latency, loss, server CPU
  durable     (room) 50 participants each committing a stroke per second: the author's ack latency
  late join   (room) a board of 50,000 strokes written to JetStream: hello -> welcome, cold and warm
  saturation  1 x 50, S = 200 B: the highest delivery rate with no loss and p99 < 100 ms (ramp)

then the generator's own receive ceiling, and a table with our figures as ratios of the baselines'.
Results go to bench/results/relay-<time>.json (not committed); the Markdown table goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
LOADGEN_DIR = BENCH / "loadgen"
LOADGEN = LOADGEN_DIR / "loadgen"
BASELINES = BENCH / "baselines"
RESULTS = BENCH / "results"
NAMESPACE = "default"

# The room's per-connection and per-user rate limits are far below a saturation test's 400 frames/s per
# participant; the ramp raises the ones this room knows (they stay enforced, at a higher rate). The other
# scenarios run with the room's defaults.
SATURATION_ROOM_ENV = {
    "live_rate_per_second": "1000000",
    "live_burst": "2000000",
    "user_live_rate_per_second": "1000000",
    "user_live_burst": "2000000",
}
# Steady scenarios wait this long for late frames (so a frame held back shows in the maximum latency
# instead of as a loss); the ramp waits 2 s (a failing step's backlog would take too long). The ramp's
# steps measure a steady state: traffic goes on for 250 ms after each window, uncounted, whereas the
# steady scenarios stop dead, as a drawing does, so the delivery of a burst's last frames shows there.
LATE_FRAMES = ["-drain-idle", "4500ms", "-drain-max", "6s"]
# A late joiner's welcome can be larger than the bytes a client may leave unread; when the join fails at
# the defaults it is measured again in the saturation room, which also has these.
LATE_JOIN_ROOM_ENV = {"slow_consumer_live_bytes": "67108864", "slow_consumer_close_bytes": "134217728"}
SATURATION_ROOM_ENV |= LATE_JOIN_ROOM_ENV


# ------------------------------------------------------------------------------------------- processes


NICE = 0
"""Scheduling priority of every process we start: other people's builds and tests share this machine."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: no orphans, even if we are SIGKILLed
    if not NICE:
        os.setpgid(0, 0)
        return
    # With autogroup scheduling (kernel.sched_autogroup_enabled), a nice value only counts inside its
    # session's group: each child gets a session of its own, and that group gets the priority.
    os.setsid()
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(NICE))
    os.setpriority(os.PRIO_PROCESS, 0, NICE)


class Server:
    """A server process pinned to a core, with its output in a log file; stopped with SIGTERM."""

    def __init__(
        self, name: str, command: list[str], *, core: int, log: Path, env: dict[str, str], cwd: Path
    ) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own, fixed commands
            ["taskset", "-c", str(core), *command],  # noqa: S607
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
            cwd=cwd,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no other threads run Python code here
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_until(self, ready: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")
            with contextlib.suppress(OSError):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.05)

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        self.wait_until(lambda: text in self.log.read_text(errors="replace"), timeout)

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        def ok() -> bool:  # refused, 503 and time-outs are OSErrors: not yet
            with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 - loopback http
                return bool(response.status == 200)

        self.wait_until(ok, timeout)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


def machine_busy() -> tuple[float, float]:
    """CPU seconds spent busy by the whole machine so far, and the wall clock."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in fields]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK"), time.monotonic()


def proc_cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------- targets


@dataclass
class Target:
    key: str
    label: str
    proto: str
    command: list[str] | None = None  # None: the Drawnet room (with nats-server)
    note: str = ""


TARGETS = {
    "room": Target("room", "Drawnet room", "drawnet", note="full protocol: decode, validate, re-encode"),
    "ws": Target("ws", "Node ws", "bare", ["node", "ws-relay.mjs"], "broadcast loop, raw frames"),
    "socketio": Target(
        "socketio", "socket.io", "socketio", ["node", "socketio-relay.mjs"], "socket.to(room).emit"
    ),
    "websockets": Target(
        "websockets", "Python websockets", "bare", [sys.executable, "websockets_relay.py"], "broadcast()"
    ),
    "socketify": Target(
        "socketify",
        "socketify queued",
        "bare",
        [sys.executable, "socketify_relay.py"],
        "publish after the libuv turn",
    ),
    "socketify-inline": Target(
        "socketify-inline",
        "socketify inline",
        "bare",
        [sys.executable, "socketify_relay.py", "--inline"],
        "publish in the callback",
    ),
}
SCENARIOS = "idle,steady,durable,join,saturation"
DEFAULT_TARGETS = "room,ws,socketio,websockets,socketify,socketify-inline"


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    results: dict[str, Any] = field(default_factory=dict)
    sign_key: str = ""

    @property
    def server_core(self) -> int:
        return int(self.args.server_core)

    @property
    def gen_core(self) -> int:
        return int(self.args.gen_core)

    # --------------------------------------------------------------------------------- the generator

    def loadgen(self, *flags: str, timeout: float = 300.0) -> dict[str, Any]:
        command = ["taskset", "-c", str(self.gen_core), str(LOADGEN), *flags]
        if self.args.verbose:
            print("  $", " ".join(command[3:]), file=sys.stderr)
        done = subprocess.run(  # noqa: S603 - our own binary
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            preexec_fn=_die_with_parent,
        )
        for line in done.stderr.splitlines():
            print("   ", line, file=sys.stderr)
        try:
            out: dict[str, Any] = json.loads(done.stdout)
        except json.JSONDecodeError:
            out = {"error": f"loadgen exited {done.returncode}: {done.stderr[-500:]}"}
        return out

    def step_flags(self) -> list[str]:
        return ["-warmup", self.args.warmup, "-seconds", self.args.step]

    # --------------------------------------------------------------------------------- the room

    @contextlib.contextmanager
    def room(self, name: str, extra: dict[str, str]) -> Iterator[tuple[Server, Server, str]]:
        known = room_settings()
        data = self.workdir / f"nats-{name}"
        nats_port, monitor = free_port(), free_port()
        nats = Server(
            "nats-server",
            [
                str(Path(sys.executable).parent / "nats-server"),
                "--jetstream",
                "--store_dir",
                str(data),
                "--addr",
                "127.0.0.1",
                "--port",
                str(nats_port),
                "--http_port",
                str(monitor),
            ],
            core=self.gen_core,
            log=self.workdir / f"nats-{name}.log",
            env={},
            cwd=self.workdir,
        )
        room = None
        try:
            nats.wait_http(f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true")
            port = free_port()
            env = {
                "DRAWNET_ROOM_HOST": "127.0.0.1",
                "DRAWNET_ROOM_PORT": str(port),
                "DRAWNET_ROOM_NATS_URL": f"nats://127.0.0.1:{nats_port}",
                "DRAWNET_ROOM_NAMESPACE": NAMESPACE,
            }
            if "signing_keys" in known:
                env["DRAWNET_ROOM_SIGNING_KEYS"] = self.sign_key
            for key, value in extra.items():
                if key in known:
                    env[f"DRAWNET_ROOM_{key.upper()}"] = value
            if self.args.room_tree:
                env["PYTHONPATH"] = os.pathsep.join(tree_paths(self.args.room_tree))
            room = Server(
                "room",
                [sys.executable, "-m", "drawnet.room"],
                core=self.server_core,
                log=self.workdir / f"room-{name}.log",
                env=env,
                cwd=ROOT,
            )
            room.wait_http(f"http://127.0.0.1:{port}/readyz")
            yield room, nats, f"ws://127.0.0.1:{port}"
        finally:
            if room is not None:
                room.stop()
            nats.stop()

    def drawnet_flags(self) -> list[str]:
        flags = ["-proto", "drawnet"]
        if "signing_keys" in room_settings():
            flags += ["-sign-key", self.sign_key, "-ns", NAMESPACE]
        return flags

    # --------------------------------------------------------------------------------- scenarios

    def run_target(self, target: Target) -> dict[str, Any]:
        busy0, wall0 = machine_busy()
        ours0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        result: dict[str, Any] = {"label": target.label, "proto": target.proto, "note": target.note}
        pids: list[int] = []
        try:
            if target.command is None:
                self.run_room(result, pids)
            else:
                self.run_baseline(target, result, pids)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            result["error"] = str(error)
            print(f"  {target.label}: {error}", file=sys.stderr)
        busy1, wall1 = machine_busy()
        ours1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = (ours1.ru_utime + ours1.ru_stime) - (ours0.ru_utime + ours0.ru_stime)
        # Everything the machine did that was not this benchmark (other people's builds and tests).
        others = (busy1 - busy0) - ours - sum(result.pop("_cpu", {}).values())
        result["others_cpu_pct"] = round(100 * max(others, 0.0) / (wall1 - wall0), 1)
        return result

    def scenarios(self, proto_flags: list[str], url: str, pid: int, aux: int, result: dict[str, Any]) -> None:
        base = ["-url", url, "-server-pid", str(pid), "-aux-pid", str(aux), *proto_flags]
        if "idle" in self.args.scenarios:
            print("  idle: 10 rooms x 50 quiet connections", file=sys.stderr)
            result["idle"] = self.loadgen(
                *base, "-mode", "idle", "-rooms", "10", "-participants", "50", "-seconds", "3s"
            )
        if "steady" in self.args.scenarios:
            print("  steady: 1 x 50 x 30 Hz", file=sys.stderr)
            result["steady"] = self.loadgen(
                *base, "-mode", "steady", "-rooms", "1", "-participants", "50", "-hz", "30", "-size", "200",
                "-warmup", "1s", "-seconds", self.args.steady, *LATE_FRAMES,
            )  # fmt: skip

    def ramp(self, proto_flags: list[str], url: str, pid: int, aux: int, start: float) -> dict[str, Any]:
        print("  saturation ramp: 1 x 50, S = 200 B", file=sys.stderr)
        return self.loadgen(
            "-url", url, "-server-pid", str(pid), "-aux-pid", str(aux), *proto_flags,
            "-mode", "ramp", "-rooms", "1", "-participants", "50", "-size", "200",
            "-ramp-start", str(start), "-ramp-factor", "2", "-ramp-bisect", str(self.args.bisect),
            "-ramp-max", "8000000", "-cooldown", "250ms", "-drain-idle", "2s", "-drain-max", "5s",
            *self.step_flags(),
        )  # fmt: skip

    def run_room(self, result: dict[str, Any], pids: list[int]) -> None:
        cpu: dict[str, float] = {}
        wanted = self.args.scenarios
        flags = self.drawnet_flags()
        if wanted & {"idle", "steady", "durable", "join"}:
            with self.room("defaults", {}) as (room, nats, url):
                pids += [room.pid, nats.pid]
                self.scenarios(flags, url, room.pid, nats.pid, result)
                if "durable" in wanted:
                    print("  durable: 50 participants x 1 stroke/s", file=sys.stderr)
                    result["durable"] = self.loadgen(
                        "-url", url, "-server-pid", str(room.pid), "-aux-pid", str(nats.pid), *flags,
                        "-mode", "steady", "-rooms", "1", "-participants", "50", "-hz", "0", "-op-hz", "1",
                        "-warmup", "1s", "-seconds", f"{self.args.durable_seconds}s", *LATE_FRAMES,
                    )  # fmt: skip
                if "join" in wanted:
                    result["late_join"] = self.late_join(url, nats, room)
                cpu["room_a"], cpu["nats_a"] = proc_cpu(room.pid), proc_cpu(nats.pid)
        retry_join = "error" in result.get("late_join", {})
        if "saturation" in wanted or retry_join:
            with self.room("saturation", SATURATION_ROOM_ENV) as (room, nats, url):
                if "saturation" in wanted:
                    result["saturation"] = self.ramp(flags, url, room.pid, nats.pid, self.args.ramp_start)
                if retry_join:
                    # The welcome of a big board is one frame larger than the slow-consumer limits:
                    # measure its time with them raised, and keep the failure at the defaults.
                    failed = result["late_join"]
                    result["late_join"] = self.late_join(url, nats, room)
                    result["late_join"]["at_defaults"] = failed
                    result["late_join"]["settings"] = LATE_JOIN_ROOM_ENV
                cpu["room_b"], cpu["nats_b"] = proc_cpu(room.pid), proc_cpu(nats.pid)
        result["_cpu"] = cpu

    def run_baseline(self, target: Target, result: dict[str, Any], pids: list[int]) -> None:
        assert target.command is not None  # noqa: S101
        port = free_port()
        server = Server(
            target.key,
            target.command,
            core=self.server_core,
            log=self.workdir / f"{target.key}.log",
            env={"PORT": str(port)},
            cwd=BASELINES,
        )
        try:
            server.wait_log("listening")
            pids.append(server.pid)
            url = f"ws://127.0.0.1:{port}"
            flags = ["-proto", target.proto]
            self.scenarios(flags, url, server.pid, 0, result)
            if "saturation" in self.args.scenarios:
                result["saturation"] = self.ramp(flags, url, server.pid, 0, self.args.ramp_start)
            result["_cpu"] = {"server": proc_cpu(server.pid)}
        finally:
            server.stop()

    def late_join(self, url: str, nats: Server, room: Server) -> dict[str, Any]:
        strokes, points = self.args.board_strokes, self.args.board_points
        session = f"board-{secrets.token_hex(3)}"
        print(
            f"  late join: writing a board of {strokes} strokes x {points} points to JetStream",
            file=sys.stderr,
        )
        nats_url = self._nats_url(nats)
        started = time.monotonic()
        try:
            asyncio.run(seed_board(nats_url, session, strokes, points))
        except Exception as error:  # noqa: BLE001 - report whatever the protocol package now refuses
            return {"error": f"could not write the board: {error!r}"}
        seeded = time.monotonic() - started
        out = self.loadgen(
            "-url", url, "-server-pid", str(room.pid), *self.drawnet_flags(),
            "-mode", "join", "-room", session, "-joins", "4",
        )  # fmt: skip
        out["strokes"], out["points_per_stroke"], out["seed_seconds"] = strokes, points, round(seeded, 2)
        return out

    @staticmethod
    def _nats_url(nats: Server) -> str:
        command = nats.process.args
        port = command[command.index("--port") + 1]
        return f"nats://127.0.0.1:{port}"

    def ceiling(self) -> dict[str, Any]:
        """The generator's own receive ceiling: a blaster on the server core floods 50 connections, in
        256 KiB writes (how uWebSockets sends) and one frame per write (how Node's ws sends)."""
        out: dict[str, Any] = {}
        for name, frames in (("bulk", "0"), ("frame_per_write", "1")):
            print(
                f"generator ceiling ({name}): a blaster on the server core floods 50 connections",
                file=sys.stderr,
            )
            addr_file = self.workdir / f"blast-{name}.addr"
            blaster = Server(
                "blast",
                [str(LOADGEN), "-mode", "blast", "-size", "200", "-seconds", "3s", "-blast-frames", frames],
                core=self.server_core,
                log=addr_file,
                env={},
                cwd=self.workdir,
            )
            try:
                blaster.wait_until(lambda f=addr_file: ":" in f.read_text(), timeout=10)
                addr = addr_file.read_text().split()[0]
                out[name] = self.loadgen(
                    "-mode", "ceiling", "-url", f"ws://{addr}", "-participants", "50", "-size", "200",
                    "-seconds", "3s", "-server-pid", str(blaster.pid),
                )  # fmt: skip
            finally:
                blaster.stop()
        return out


def free_port() -> int:
    """The platform's `free_port()` (never the same port twice), imported once --room-tree took effect."""
    from drawnet.embedded.components import free_port as shared  # noqa: PLC0415

    return shared()


def tree_paths(tree: str) -> list[str]:
    return [str(p) for p in sorted((Path(tree) / "services").iterdir()) if p.is_dir()]


def room_settings() -> set[str]:
    """The names of the settings the room being measured knows (it gains some as it grows)."""
    from drawnet.room.settings import RoomSettings  # noqa: PLC0415 - after --room-tree took effect

    return set(RoomSettings.model_fields)


async def seed_board(nats_url: str, session: str, strokes: int, points: int) -> None:
    """Write `strokes` committed strokes for `session` straight into the op log, as the room would."""
    import nats  # noqa: PLC0415

    from drawnet.protocol import AddStroke, OpRecord, encode, ops_subject  # noqa: PLC0415

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        subject = ops_subject(NAMESPACE, session)
        now = time.time()
        for i in range(strokes):
            pts = [
                (float(10 + (i * 7 + k * 3) % 900), float(10 + (i * 13 + k * 5) % 700), 0.5)
                for k in range(points)
            ]
            op = AddStroke(id=f"seed-{i}", tool="pen", color="#1e1e1e", width=3.0, opacity=1.0, pts=pts)
            body = encode(OpRecord(by="seed", op=op, ts=now))
            headers = {"Nats-Msg-Id": f"{session}/seed-{i}"}
            if i == strokes - 1:  # the last one waits for the ack: everything before it is stored
                await js.publish(subject, body, headers=headers, timeout=30)
            else:
                await nc.publish(subject, body, headers=headers)
                if i % 2000 == 1999:
                    await nc.flush()
    finally:
        await nc.close()


# ------------------------------------------------------------------------------------------- report

NA = "-"


def _get(d: Any, *path: str | int, default: Any = None) -> Any:
    for key in path:
        if (isinstance(d, dict) and key in d) or (
            isinstance(d, list) and isinstance(key, int) and -len(d) <= key < len(d)
        ):
            d = d[key]
        else:
            return default
    return d


def _num(v: Any, fmt: str = "{:,.0f}") -> str:
    return NA if v is None else fmt.format(v)


def _ms(v: Any) -> str:
    if v is None:
        return NA
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def _lat(r: dict[str, Any], *path: str) -> str:
    return " / ".join(_ms(_get(r, *path, q)) for q in ("p50_ms", "p99_ms", "max_ms"))


def _ratio(ours: Any, theirs: Any) -> str:
    if not ours or not theirs:
        return NA
    r = ours / theirs
    return f"{r:,.1f}x" if r < 100 else f"{r:,.0f}x"


SAT = ("saturation", "best")
STEADY = ("steady", "result")
DURABLE = ("durable", "result")


def _sat_rate(r: dict[str, Any]) -> str:
    return f"**{_num(_get(r, *SAT, 'deliveries_per_s'))}**"


def _sat_cpu(r: dict[str, Any]) -> str:
    return f"{_num(_get(r, *SAT, 'server_cpu_pct'))} ({_num(_get(r, *SAT, 'gen_cpu_pct'))})"


def _first_fail(r: dict[str, Any]) -> str:
    best = _get(r, *SAT, "target_deliveries_per_s") or 0
    steps = _get(r, "saturation", "steps", default=[])
    fails = [s for s in steps if not s["pass"] and s["target_deliveries_per_s"] > best]
    if not fails:
        return str(_get(r, "saturation", "error", default=NA))
    return f"{fails[0]['target_deliveries_per_s']:,.0f}: {fails[0]['why']}"


def _durable(r: dict[str, Any], what: str) -> str:
    if "durable" not in r:
        return "n/a"
    if what == "ack":
        return _lat(r, *DURABLE, "ops", "ack_latency")
    if what == "fanout":
        ops = _get(r, *DURABLE, "ops", default={})
        return f"{_ms(_get(ops, 'fanout_latency', 'p99_ms'))}; {ops.get('acked')}/{ops.get('sent')}"
    cpu = _get(r, *DURABLE, "server_cpu_pct"), _get(r, *DURABLE, "aux_cpu_pct")
    return " / ".join(_num(v, "{:.1f}") for v in cpu)


def _idle_cpu(r: dict[str, Any]) -> str:
    cpu = _get(r, "idle", "server_cpu_no_connections_pct"), _get(r, "idle", "server_cpu_idle_connections_pct")
    return " / ".join(_num(v, "{:.1f}") for v in cpu)


def _join(r: dict[str, Any], what: str) -> str:
    if "late_join" not in r:
        return "n/a"
    joins = _get(r, "late_join", "joins", default=[])
    if not joins:
        return str(_get(r, "late_join", "error", default=NA))
    if what == "size":
        return f"{joins[0]['welcome_bytes'] / 1e6:.1f}"
    if what == "cold":
        return f"{_ms(joins[0]['ms'])} ({joins[0]['server_cpu_ms']:.0f})"
    warm = joins[1:]
    ms = sorted(j["ms"] for j in warm)
    cpu = sorted(j["server_cpu_ms"] for j in warm)
    return f"{_ms(ms[len(ms) // 2])} ({cpu[len(cpu) // 2]:.0f})" if warm else NA


ROWS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("**saturation** 1x50, 200 B: deliveries/s, no loss, p99 < 100 ms", _sat_rate),
    ("... p50 / p99 / max ms at that rate", lambda r: _lat(r, *SAT, "latency")),
    ("... server CPU % (generator CPU %)", _sat_cpu),
    ("... first failing rate: why", _first_fail),
    ("**steady 1x50x30 Hz**: deliveries/s", lambda r: _num(_get(r, *STEADY, "deliveries_per_s"))),
    ("... p50 / p99 / max ms", lambda r: _lat(r, *STEADY, "latency")),
    ("... lost", lambda r: _num(_get(r, *STEADY, "lost"))),
    ("... server CPU % of one core", lambda r: _num(_get(r, *STEADY, "server_cpu_pct"), "{:.1f}")),
    ("... generator CPU %", lambda r: _num(_get(r, *STEADY, "gen_cpu_pct"), "{:.1f}")),
    ("**durable op** 50 x 1 stroke/s: ack p50 / p99 / max ms", lambda r: _durable(r, "ack")),
    ("... fan-out to all p99 ms; acked/sent", lambda r: _durable(r, "fanout")),
    ("... room CPU % / nats-server CPU %", lambda r: _durable(r, "cpu")),
    ("**idle** server CPU %: no connections / 500 idle", _idle_cpu),
    ("... RSS per idle connection, KiB", lambda r: _num(_get(r, "idle", "rss_per_connection_kib"), "{:.1f}")),
    ("**late joiner**, 50,000 strokes: welcome MB", lambda r: _join(r, "size")),
    ("... first join, board loaded from the log: ms (server CPU ms)", lambda r: _join(r, "cold")),
    ("... later joins, board in memory: ms (server CPU ms)", lambda r: _join(r, "warm")),
    ("other processes' CPU % (of 200) during the target's run", lambda r: _num(r.get("others_cpu_pct"))),
]


def table(results: dict[str, Any], ceiling: dict[str, Any]) -> str:
    keys = list(results)
    rows = ["| | " + " | ".join(results[k]["label"] for k in keys) + " |", "| --- |" + " ---: |" * len(keys)]
    rows += [f"| {name} | " + " | ".join(cell(results[k]) for k in keys) + " |" for name, cell in ROWS]
    rows.append("")
    room = results.get("room")
    if room is not None:
        ours = _get(room, *SAT, "deliveries_per_s")
        ours_p99 = _get(room, *STEADY, "latency", "p99_ms")
        for k in keys:
            if k != "room":
                theirs = _get(results[k], *SAT, "deliveries_per_s")
                their_p99 = _get(results[k], *STEADY, "latency", "p99_ms")
                rows.append(
                    f"- Drawnet room / {results[k]['label']}: saturation throughput {_ratio(ours, theirs)}; "
                    f"p99 at 1x50x30 Hz {_ms(ours_p99)} ms vs {_ms(their_p99)} ms"
                )
    for name, how in (("bulk", "in 256 KiB writes"), ("frame_per_write", "one frame per write")):
        if name in ceiling:
            rows.append(
                f"- generator ceiling, {how}: {_num(_get(ceiling, name, 'frames_per_s'))} frames/s of 200 B "
                f"received on one core ({_num(_get(ceiling, name, 'gen_cpu_pct'))} % busy; blaster on the "
                f"other core {_num(_get(ceiling, name, 'sender_cpu_pct'))} %)"
            )
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------- main


def build() -> None:
    go = shutil.which("go")
    if go is None:
        sys.exit("go is needed to build bench/loadgen")
    subprocess.run([go, "build", "-o", str(LOADGEN), "."], cwd=LOADGEN_DIR, check=True)  # noqa: S603
    if not (BASELINES / "node_modules" / "socket.io").exists():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed for the baseline relays")
        subprocess.run(  # noqa: S603
            [npm, "install", "--no-package-lock", "--no-audit", "--no-fund"], cwd=BASELINES, check=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--targets", default=DEFAULT_TARGETS, help=f"comma-separated, of {', '.join(TARGETS)}"
    )
    parser.add_argument(
        "--scenarios", default=SCENARIOS, help=f"comma-separated, of {SCENARIOS} (durable, join: room only)"
    )
    parser.add_argument("--no-ceiling", dest="ceiling", action="store_false", help="skip the ceiling test")
    parser.add_argument("--quick", action="store_true", help="shorter steps, fewer bisections")
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--gen-core", default="1")
    parser.add_argument("--ramp-start", type=float, default=5000, help="first ramp rate, deliveries/s")
    parser.add_argument(
        "--durable-seconds",
        type=int,
        default=30,
        help="length of the durable scenario (50 acks a second: 30 s gives a p99 of 1,500 samples)",
    )
    parser.add_argument("--board-strokes", type=int, default=50_000)
    parser.add_argument("--board-points", type=int, default=16)
    parser.add_argument(
        "--room-tree", help="run the room from this source tree (e.g. a `git archive` of HEAD)"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=-15,
        help="priority of the servers and the generator (as root; 0: unchanged), against other load",
    )
    parser.add_argument(
        "--logs", help="keep the servers' logs and data in this folder (default: a temporary one)"
    )
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args()
    args.warmup, args.step, args.steady, args.bisect = (
        ("300ms", "1s", "3s", 2) if args.quick else ("500ms", "2s", "5s", 3)
    )
    targets = [TARGETS[k] for k in args.targets.split(",") if k]
    args.scenarios = set(args.scenarios.split(","))
    global NICE  # noqa: PLW0603 - read in the children between fork and exec
    NICE = args.nice if os.geteuid() == 0 else 0
    if args.room_tree:  # the protocol package and the room from there, for us and for the room process
        sys.path[:0] = tree_paths(args.room_tree)
    os.sched_setaffinity(0, {int(args.gen_core)})
    build()
    started = dt.datetime.now(dt.UTC)
    with contextlib.ExitStack() as stack:
        if args.logs:
            workdir = Path(args.logs).resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="drawnet-relay-bench-")))
        bench = Bench(args, workdir, sign_key=f"bench:{secrets.token_hex(24)}")
        for target in targets:
            print(f"{target.label} (load average {os.getloadavg()[0]:.2f})", file=sys.stderr)
            bench.results[target.key] = bench.run_target(target)
        ceiling = bench.ceiling() if args.ceiling else {}
    report = {
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
        },
        "cores": {"server": args.server_core, "generator": args.gen_core},
        "targets": bench.results,
        "generator_ceiling": ceiling,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"relay-{started:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nresults: {out.relative_to(ROOT)}", file=sys.stderr)
    print(table(bench.results, ceiling))


if __name__ == "__main__":
    main()
