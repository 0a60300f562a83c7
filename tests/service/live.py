"""A real server process for tests that need one: started with ``python -m alliance serve``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from alembic import command

from alliance.store.migrate import alembic_config
from tests.fixtures.database import Database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def kill(self) -> None:
        """Kill the server and its workers at once, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@contextmanager
def live_server(
    database: Database, *, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[Server]:
    command.stamp(alembic_config(database.engine), "head")  # built with create_all
    port = free_port()
    env = {
        **os.environ,
        "ALLIANCE_DATABASE_URL": database.url,
        "ALLIANCE_BASE_URL": f"http://127.0.0.1:{port}",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "alliance", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{server.url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 60 s")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if process.stderr:
            process.stderr.close()
