"""A real, throw-away PostgreSQL server for the tests that claim PostgreSQL support.

It is started from the ``initdb``/``postgres`` binaries (on PATH or in Debian's
``/usr/lib/postgresql/<version>/bin``), in a temporary folder, on a free port, owned by the
``postgres`` user when the tests run as root (the server refuses to run as root). Without the
binaries the tests that use it are skipped with the reason printed; ``scripts/test`` installs
them (Debian's ``postgresql`` package), so CI always runs them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pytest


def _binary(name: str) -> Optional[str]:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        initdb, postgres = _binary("initdb"), _binary("postgres")
        if not initdb or not postgres:
            pytest.skip("PostgreSQL is not installed (no initdb/postgres binaries); scripts/test installs it")
        self.root = Path(tempfile.mkdtemp(prefix="koogallery-pg-"))
        self.port = _free_port()
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_user:
            shutil.chown(self.root, "postgres")
        data = self.root / "data"
        subprocess.run([*self._as_user, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync",
                        "-E", "UTF8"], check=True, capture_output=True)
        self.process = subprocess.Popen(
            [*self._as_user, postgres, "-D", str(data), "-p", str(self.port), "-k", str(self.root),
             "-h", "127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    time.sleep(0.2)
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")

    def new_database(self) -> str:
        """A fresh database; its URL (psycopg driver)."""
        import psycopg

        name = "kg_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()
