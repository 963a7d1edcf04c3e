"""A real uvicorn process serving the ASGI app on the test database, an SSE reader, and a
chat webhook receiver on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.conf import settings
from django.db import connection
from hackathon.testing import ManagedProcess, free_port, port_open, uvicorn_argv, wait_until


def _database_url_for_subprocess(workdir: Path) -> str:
    """The test database as a URL another process can open.

    PostgreSQL: the test database itself (rows committed by a transactional test are
    visible). SQLite: the test database lives in this process's memory, so it is copied
    to a file first; rows written after the copy are not seen by the server.
    """
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"
    connection.ensure_connection()
    target = workdir / "live.sqlite3"
    with sqlite3.connect(target) as dest:
        connection.connection.backup(dest)
    return f"sqlite:///{target}"


@contextmanager
def uvicorn_server(**env: str) -> Iterator[str]:
    """Start `uvicorn hackathon.asgi:application`; yields its host:port."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lb-uvicorn-") as tmp:
        workdir = Path(tmp)
        child_env = {
            **os.environ,
            "DATABASE_URL": _database_url_for_subprocess(workdir),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "HACKATHON_TESTING": "1",
            "HACKATHON_VAR_DIR": str(workdir),
            "DJANGO_SETTINGS_MODULE": "hackathon.settings",
            **env,
        }
        server = ManagedProcess.spawn(
            "uvicorn", uvicorn_argv(port), log_path=workdir / "uvicorn.log", env=child_env
        )
        try:

            def listening() -> bool:
                if not server.is_alive():
                    raise RuntimeError("uvicorn exited: " + server.log_text())
                return port_open(port)

            wait_until(listening, timeout=60, message="uvicorn to listen", interval=0.1)
            yield f"127.0.0.1:{port}"
        finally:
            server.stop(grace=15, group=False)


class SSEClient:
    """Reads Server-Sent Events from a real HTTP connection, one event at a time."""

    def __init__(
        self, host: str, path: str, *, headers: dict[str, str] | None = None, timeout: float = 20
    ) -> None:
        self.conn = http.client.HTTPConnection(host, timeout=timeout)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.last_event_id: str | None = None
        self.comments: list[str] = []
        if self.status == 200:
            self._read_preamble()

    def _read_preamble(self) -> None:
        """Up to the ": connected" comment: from then on no published event is missed."""
        while "connected" not in self.comments:
            raw = self.response.readline()
            if not raw:
                raise EOFError("stream closed before it was connected")
            line = raw.decode().rstrip("\n")
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
            elif line.startswith("id:"):
                self.last_event_id = line[3:].strip()

    def next_event(self) -> dict:
        """The next data event (id and parsed JSON); comments and retry lines are noted."""
        data: list[str] = []
        while True:
            raw = self.response.readline()
            if not raw:
                raise EOFError("stream closed")
            line = raw.decode().rstrip("\n")
            if line == "":
                if data:
                    return json.loads("\n".join(data))
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                self.comments.append(value)
            elif field == "id":
                self.last_event_id = value
            elif field == "data":
                data.append(value)

    def close(self) -> None:
        self.conn.close()


def cookie_header(client: object) -> dict[str, str]:
    session = client.cookies.get(settings.SESSION_COOKIE_NAME)  # type: ignore[attr-defined]
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session.value}"} if session else {}


class Receiver:
    """Answers each POST with the next status of `statuses` (200 once they run out)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, json.loads(body)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def texts(self) -> list[str]:
        """What each message said (Slack's "text" or Discord's "content")."""
        return [body.get("text") or body.get("content") for _, body in self.received]
