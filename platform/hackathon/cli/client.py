"""A small HTTP client for the platform's API, standard library only (urllib).

Every failure becomes an `ApiClientError` whose message tells the participant what to do.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib import error, parse, request

from hackathon.cli import render

USER_AGENT = "hackathon-cli/1"
TIMEOUT_S = 30.0


class ApiClientError(Exception):
    """A failure with a message for a human; `status` is the HTTP status (0: no answer)."""

    def __init__(
        self, message: str, *, status: int = 0, code: str = "", body: dict | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body or {}


def _when(seconds: int) -> str:
    at = datetime.now().astimezone() + timedelta(seconds=seconds)
    if seconds < 90:
        span = f"{seconds} s"
    elif seconds < 5400:
        span = f"{round(seconds / 60)} min"
    else:
        span = f"{seconds / 3600:.1f} h"
    return f"in {span} (at {at:%H:%M} local time)"


def describe_error(status: int, body: dict[str, Any], url: str) -> str:
    message = str(body.get("message") or "").strip()
    code = str(body.get("code") or "")
    if status == 401:
        return (
            f"The server rejected your credentials ({message or 'invalid token'}). "
            "Run `hackathon login` again."
        )
    if status == 429:
        retry = body.get("retry_after")
        quota = body.get("quota") or "rate"
        what = {
            "daily": "daily submission quota reached",
            "total": "total submission quota reached",
            "in_flight": "too many submissions still being graded",
            "rate": "too many requests",
        }.get(str(quota), f"{quota} quota reached")
        text = f"{what.capitalize()}: {message}" if message else what.capitalize()
        if isinstance(retry, int | float) and retry > 0:
            text += f" The next slot opens {_when(int(retry))}."
        return text
    if status == 413:
        return f"File too large: {message}"
    if status == 404 and not message:
        return f"Not found: {url}"
    if status >= 500:
        return f"The server failed ({status}) on {url}. Try again later or tell the organizers."
    fields = body.get("fields") or {}
    if fields and not message:
        message = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
    return message or f"HTTP {status} {code}".strip()


@dataclass
class ApiClient:
    base_url: str
    token: str = ""
    timeout: float = TIMEOUT_S
    headers: dict[str, str] = field(default_factory=dict)

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        if path.startswith(("http://", "https://")):
            full = path
        else:
            full = self.base_url.rstrip("/") + "/" + path.lstrip("/")
        if query:
            clean = {k: v for k, v in query.items() if v is not None}
            full += ("&" if "?" in full else "?") + parse.urlencode(clean)
        return full

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        json_body: Any = None,
        files: dict[str, tuple[str, bytes]] | None = None,
        data: dict[str, str] | None = None,
        accept: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        url = self.url(path, query)
        if parse.urlsplit(url).scheme not in ("http", "https"):
            raise ApiClientError(
                f"Invalid server URL {self.base_url!r}: it must start with http:// or https://"
            )
        headers = {"User-Agent": USER_AGENT, "Accept": accept, **self.headers}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        payload: bytes | None = None
        if files is not None:
            payload, content_type = encode_multipart(data or {}, files)
            headers["Content-Type"] = content_type
        elif json_body is not None:
            payload = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        req = request.Request(url, data=payload, headers=headers, method=method)  # noqa: S310 - the scheme is checked above
        try:
            return request.urlopen(req, timeout=timeout or self.timeout)  # noqa: S310 - checked above
        except error.HTTPError as exc:
            raw = exc.read()
            try:
                body = render.terminal_safe(json.loads(raw)) if raw else {}
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            raise ApiClientError(
                describe_error(exc.code, body, url),
                status=exc.code,
                code=str(body.get("code", "")),
                body=body,
            ) from None
        except error.URLError as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiClientError(
                f"Cannot reach the server at {self.base_url} ({reason}). "
                "Is it running, and is the URL right? (`hackathon login --url URL` changes it.)"
            ) from None
        except (TimeoutError, socket.timeout):
            raise ApiClientError(
                f"The server at {self.base_url} did not answer within {timeout or self.timeout} s."
            ) from None
        except ValueError as exc:  # a malformed URL
            raise ApiClientError(f"Invalid server URL {self.base_url!r}: {exc}") from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return the decoded JSON answer (None for 204)."""
        with self._request(method, path, **kwargs) as response:
            raw = response.read()
            if not raw:
                return None
            try:
                # Every string the server sends is made inert before anything prints it.
                return render.terminal_safe(json.loads(raw))
            except ValueError:
                raise ApiClientError(
                    f"The server at {self.base_url} answered with something that is not JSON. "
                    "Is this the platform's URL?"
                ) from None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)

    def download(self, path: str) -> bytes:
        with self._request("GET", path, accept="*/*") as response:
            return response.read()

    def open_stream(self, path: str, *, timeout: float = 60.0) -> Any:
        """An open Server-Sent Events response (read it with `iter_sse`); close it after."""
        return self._request("GET", path, accept="text/event-stream", timeout=timeout)


def iter_sse(response: Any) -> Iterator[tuple[str, str]]:
    """(event, data) pairs from an SSE response; comments (heartbeats) as ("comment", text)."""
    event = "message"
    data_lines: list[str] = []
    for raw in response:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data_lines:
                yield event, "\n".join(data_lines)
            event, data_lines = "message", []
        elif line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data_lines.append(line[5:].lstrip())


def encode_multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, (filename, content) in files.items():
        safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{safe}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
