"""The fault suite's own servers: a private PostgreSQL cluster it may restart at will
(never the machine's shared one, which other tests use)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pingvas_kit.ports import free_port


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pytest.fail("PostgreSQL's initdb and pg_ctl are needed (Debian: postgresql)")


@dataclass
class PrivatePostgres:
    """A cluster in a temporary folder on a free port, trust auth, user postgres."""

    bin: Path
    data: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/pingvas"

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    def pg_ctl(self, *args: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} "
            "-c max_connections=300 -c fsync=off -c synchronous_commit=off"
        )
        self.pg_ctl("-l", str(self.data / "server.log"), "-o", options, "start")

    def restart(self, mode: str = "immediate") -> None:
        """`pg_ctl restart -m immediate`: every connection is cut, with no checkpoint (crash
        recovery on the way up), as when the database's host dies."""
        self.pg_ctl("-l", str(self.data / "server.log"), "-m", mode, "restart")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    pg_bin = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="pingvas-faults-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root: the cluster belongs to the postgres user
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        root.chmod(0o700)
    pg = PrivatePostgres(pg_bin, data, free_port(), as_user)
    try:
        pg._run(
            str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
        )
        pg.start()
        pg._run(
            str(pg_bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.port),
            "-U",
            "postgres",
            "pingvas",
        )
        yield pg
    finally:
        try:
            pg.stop()
        except Exception as exc:  # noqa: BLE001 - never leave a cluster running
            print(f"private postgres: stop failed ({exc}); killing it")
            subprocess.run(
                [*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            )
        shutil.rmtree(root, ignore_errors=True)
