"""Live push: publish events to Redis, stream them to browsers as Server-Sent Events.

Publishing (sync, from web or worker processes): one Lua call appends the event to a
capped Redis stream per topic (for resume) and publishes it on the topic's pub/sub
channel, atomically, so the stream id a client sees live is the one it resumes from.

Serving (async, in the ASGI web process): one shared Redis pattern subscription per
process (`Hub`) fans events out to per-client asyncio queues; `sse_response` is the one
response both SSE endpoints return. Each SSE event carries,
as its id, the last stream id of every channel of the connection; a reconnecting
EventSource sends it back as Last-Event-ID and the stream replays what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse

logger = logging.getLogger(__name__)

STREAM_MAXLEN = 1000  # events kept per topic for resume
STREAM_TTL_S = 2 * 24 * 3600  # a topic's stream expires two days after its last event
CHANNEL_PREFIX = "live:chan:"
STREAM_PREFIX = "live:stream:"
CLIENT_QUEUE_MAX = 500  # a client this far behind is dropped; its browser resumes
RETRY_MS = 1500
HUB_START_TIMEOUT_S = 5.0

# KEYS: the topics' streams; ARGV: max length, TTL, then (payload, channel) per topic.
_PUBLISH_LUA = """
local ids = {}
for i, key in ipairs(KEYS) do
  local payload = ARGV[1 + 2 * i]
  local id = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'p', payload)
  redis.call('EXPIRE', key, ARGV[2])
  redis.call('PUBLISH', ARGV[2 + 2 * i], id .. ' ' .. payload)
  ids[i] = id
end
return ids
"""


def challenge_topic(challenge_id: int, audience: str = "public") -> str:
    """`challenge:<id>` is what everyone may see; `challenge:<id>:organizers` and
    `challenge:<id>:team:<team_id>` carry what only those audiences may see."""
    if audience == "public":
        return f"challenge:{challenge_id}"
    return f"challenge:{challenge_id}:{audience}"


def submission_topic(submission_id: int) -> str:
    return f"submission:{submission_id}"


# --- Publishing (sync) ---------------------------------------------------------------------

_sync_clients: dict[str, redis.Redis] = {}
_publish_scripts: dict[str, Any] = {}


def _sync_client() -> redis.Redis:
    url = settings.REDIS_URL
    client = _sync_clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        _sync_clients[url] = client
    return client


def _publish_script() -> Any:
    """The publish script on this process's client (sent by EVALSHA, loaded when missing)."""
    client = _sync_client()
    script = _publish_scripts.get(settings.REDIS_URL)
    if script is None or script.registered_client is not client:
        script = _publish_scripts[settings.REDIS_URL] = client.register_script(_PUBLISH_LUA)
    return script


def publish(topic: str, event: str, data: dict[str, Any]) -> str | None:
    """Send `event` with `data` to everyone subscribed to `topic`; returns the stream id.

    Never raises (a grading result must not fail because the live push did): it logs and
    returns None, and browsers catch up on their next event or reload.
    """
    return publish_many([(topic, event, data)])[0]


def publish_many(events: list[tuple[str, str, dict[str, Any]]]) -> list[str | None]:
    """`publish` for several (topic, event, data) at once, in one call to Redis (each
    topic's event appended and published atomically, in this order); their stream ids,
    all None if it failed (logged, never raised)."""
    if not events:
        return []
    keys, args = [], [STREAM_MAXLEN, STREAM_TTL_S]
    for topic, event, data in events:
        keys.append(STREAM_PREFIX + topic)
        payload = json.dumps({"event": event, "data": data}, separators=(",", ":"), default=str)
        args += [payload, CHANNEL_PREFIX + topic]
    try:
        ids = _publish_script()(keys=keys, args=args)
    except Exception:  # noqa: BLE001 - live updates are best effort by design
        topics = ", ".join(topic for topic, _, _ in events)
        logger.warning("live publish to %s failed", topics, exc_info=True)
        return [None] * len(events)
    return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]


# --- Stream ids and Last-Event-ID ----------------------------------------------------------


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def encode_cursor(cursor: dict[str, str]) -> str:
    return ",".join(f"{channel}={entry_id}" for channel, entry_id in sorted(cursor.items()))


def decode_cursor(raw: str | None, channels: list[str]) -> dict[str, str]:
    """Parse a Last-Event-ID; unknown channels and malformed parts are ignored."""
    cursor: dict[str, str] = {}
    for part in (raw or "").split(","):
        channel, _, entry_id = part.strip().partition("=")
        if channel in channels:
            with contextlib.suppress(ValueError):
                _id_key(entry_id)
                cursor[channel] = entry_id
    return cursor


# --- Serving (async) -----------------------------------------------------------------------


class _Resync:
    """Put in every queue after the shared subscription reconnected: read the streams."""


RESYNC = _Resync()


class Hub:
    """One Redis subscription per process and event loop, fanned out to client queues."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.queues: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self.redis = aioredis.Redis.from_url(url)
        self._reader: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        if self._reader is None or self._reader.done():
            self._subscribed.clear()
            self._reader = asyncio.get_running_loop().create_task(self._read_forever())
        await self._subscribed.wait()

    def register(self, channels: list[str], queue: asyncio.Queue) -> None:
        for channel in channels:
            self.queues[channel].add(queue)

    def unregister(self, channels: list[str], queue: asyncio.Queue) -> None:
        for channel in channels:
            listeners = self.queues.get(channel)
            if listeners is not None:
                listeners.discard(queue)
                if not listeners:
                    del self.queues[channel]

    @property
    def client_count(self) -> int:
        return len({id(q) for listeners in self.queues.values() for q in listeners})

    async def _read_forever(self) -> None:
        first = True
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                self._subscribed.set()
                if not first:
                    self._broadcast_resync()
                first = False
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is not None and message["type"] == "pmessage":
                        self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep serving; clients resync on reconnect
                logger.warning("live subscription lost; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _dispatch(self, raw_channel: bytes, raw: bytes) -> None:
        channel = raw_channel.decode()[len(CHANNEL_PREFIX) :]
        listeners = self.queues.get(channel)
        if not listeners:
            return
        entry_id, _, payload = raw.decode().partition(" ")
        item = (channel, entry_id, _event_body(channel, payload))  # formatted once for all
        for queue in list(listeners):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                queue.put_nowait_overflow = True  # type: ignore[attr-defined]

    def _broadcast_resync(self) -> None:
        for queue in {q for listeners in self.queues.values() for q in listeners}:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(RESYNC)


_hubs: dict[tuple[int, str], Hub] = {}


def get_hub() -> Hub:
    key = (id(asyncio.get_running_loop()), settings.REDIS_URL)
    hub = _hubs.get(key)
    if hub is None:
        hub = _hubs[key] = Hub(settings.REDIS_URL)
    return hub


def _event_body(channel: str, payload: str) -> str:
    message = json.loads(payload)
    return json.dumps(
        {"topic": channel, "event": message.get("event"), "data": message.get("data")},
        separators=(",", ":"),
    )


def _sse(cursor: dict[str, str], body: str) -> str:
    return f"id: {encode_cursor(cursor)}\ndata: {body}\n\n"


async def _backlog(
    hub: Hub, channels: list[str], cursor: dict[str, str]
) -> list[tuple[str, str, str]]:
    """Events after the cursor on each channel, oldest first."""
    found: list[tuple[str, str, str]] = []
    for channel in channels:
        start = cursor.get(channel)
        if start is None:
            continue
        entries = await hub.redis.xrange(STREAM_PREFIX + channel, min=f"({start}", max="+")
        for raw_id, fields in entries:
            found.append((channel, raw_id.decode(), _event_body(channel, fields[b"p"].decode())))
    found.sort(key=lambda item: _id_key(item[1]))
    return found


async def _latest_ids(hub: Hub, channels: list[str]) -> dict[str, str]:
    cursor = {}
    for channel in channels:
        last = await hub.redis.xrevrange(STREAM_PREFIX + channel, count=1)
        cursor[channel] = last[0][0].decode() if last else "0-0"
    return cursor


def _release_database_connection() -> None:
    # Looked up here, in the request's sync thread: `connection` is per thread.
    connection.close()


async def event_stream(
    channels: list[str], last_event_id: str | None, *, heartbeat_s: float | None = None
) -> AsyncIterator[str]:
    """The SSE body for one client subscribed to `channels` (already authorized).

    It gives the request's database connection back first: a stream lives for hours and
    needs no database, and under ASGI the connection belongs to this request's thread.
    """
    await sync_to_async(_release_database_connection)()
    heartbeat_s = heartbeat_s or float(getattr(settings, "LIVE_HEARTBEAT_SECONDS", 15))
    hub = get_hub()
    try:
        await asyncio.wait_for(hub.start(), timeout=HUB_START_TIMEOUT_S)
    except TimeoutError:
        # Redis is unreachable: end the stream; the browser retries after RETRY_MS.
        yield f"retry: {RETRY_MS * 2}\n: live updates unavailable\n\n"
        return
    resumed = decode_cursor(last_event_id, channels)
    # Where each channel stands before we listen: nothing published after this is lost,
    # it is either in the backlog read below or in the queue (duplicates are skipped).
    cursor = {**await _latest_ids(hub, [c for c in channels if c not in resumed]), **resumed}
    queue: asyncio.Queue = asyncio.Queue(maxsize=CLIENT_QUEUE_MAX)
    hub.register(channels, queue)
    try:
        yield f"retry: {RETRY_MS}\nid: {encode_cursor(cursor)}\n: connected\n\n"
        pending = await _backlog(hub, channels, cursor)
        while True:
            for channel, entry_id, body in pending:
                if _id_key(entry_id) <= _id_key(cursor.get(channel, "0-0")):
                    continue  # already sent (it was both in the backlog and the queue)
                cursor[channel] = entry_id
                yield _sse(cursor, body)
            if getattr(queue, "put_nowait_overflow", False):
                return  # too slow a reader: end, the browser reconnects and resumes
            try:
                item = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
            except TimeoutError:
                yield ": heartbeat\n\n"
                pending = []
                continue
            pending = await _backlog(hub, channels, cursor) if item is RESYNC else [item]
    finally:
        hub.unregister(channels, queue)


def sse_response(request: HttpRequest, channels: list[str]) -> StreamingHttpResponse:
    """THE Server-Sent Events response, behind both endpoints (the pages' /leaderboard/live/
    and the API's /api/v1/submissions/<id>/events/): `channels` are already authorized; the
    client resumes from its Last-Event-ID header (or ?last_event_id= where it cannot set
    headers); no proxy may buffer or cache it."""
    last_event_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    response = StreamingHttpResponse(
        event_stream(channels, last_event_id), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"
    return response
