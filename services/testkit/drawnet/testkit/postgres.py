"""A real PostgreSQL server for tests: Debian's binaries, a private data dir and port, torn down after.

PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres` system user
(created by Debian's package) in a data directory handed to that user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from drawnet.embedded.components import free_port
from drawnet.embedded.processes import ProcessError, Supervised


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL's server binaries are not installed (Debian package `postgresql`)."""


def find_bindir() -> Path:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for bindir in roots:
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    raise PostgresUnavailableError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")


@dataclass
class PostgresServer:
    port: int = field(default_factory=free_port)
    superuser: str = "drawnet"
    bindir: Path = field(default_factory=find_bindir)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="drawnet-pg-")))
    process: Supervised | None = None

    @property
    def _run_as(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            list(command), capture_output=True, text=True, user=self._run_as, check=False, timeout=60
        )
        if result.returncode != 0:
            raise ProcessError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> PostgresServer:
        data = self.root / "data"
        if self._run_as is not None:
            shutil.chown(self.root, self._run_as)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            self.superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        command = [
            str(self.bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(self.port),
            "-k",
            str(self.root),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",  # tests need no crash safety from the disk, only speed
            "-c",
            "max_connections=200",
        ]
        self.process = Supervised(
            "postgres", command, log_path=self.root / "postgres.log", user=self._run_as
        ).start()
        self.process.wait_until(self.accepting, timeout=30, what="accepting connections")
        return self

    def accepting(self) -> bool:
        result = subprocess.run(
            [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.superuser],
            capture_output=True,
            check=False,
            timeout=10,
        )
        return result.returncode == 0

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database; returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self._run(
            str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.superuser, name
        )
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.process is not None:
            # SIGTERM is PostgreSQL's "smart" shutdown; SIGINT is "fast" (disconnect clients): use fast.
            if self.process.process is not None and self.process.running():
                self.process.process.send_signal(2)
            self.process.stop(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)
