#!/usr/bin/env python3
"""Live fan-out: N concurrent SSE clients on ONE uvicorn process all receive each update.

    .venv/bin/python benchmarks/sse_fanout.py [--clients 1000] [--events 5]

Starts one uvicorn process (DEBUG off) on a fresh SQLite database with one published
challenge (or on DATABASE_URL if set), connects N Server-Sent Events clients to the
challenge's topic, then publishes events through `live.publish` (Redis: REDIS_URL, default
127.0.0.1:6379/15) and measures, per event, how long each client took to receive it.
Prints a table; target: every client receives every event, p95 delivery under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from hackathon.testing import ManagedProcess, free_port, port_open, uvicorn_argv, wait_until

ROOT = Path(__file__).resolve().parents[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _listening(server: ManagedProcess, port: int) -> bool:
    """Wait up to 60 s for uvicorn to listen; False if it exited or never did."""
    try:
        wait_until(lambda: server.check_alive() or port_open(port), timeout=60, message="uvicorn")
    except (AssertionError, RuntimeError):
        return False
    return True


class Client:
    def __init__(self) -> None:
        self.received: dict[int, float] = {}  # event number -> receive time (time.time())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, port: int, path: str) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await self.writer.drain()
        status = await self.reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"SSE connect failed: {status!r}")
        while not (await self.reader.readline()).startswith(b": connected"):
            pass

    async def listen(self) -> None:
        if self.reader is None:
            raise RuntimeError("listen() before connect()")
        while True:
            line = await self.reader.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                now = time.time()
                message = json.loads(line[6:])
                self.received[message["data"]["n"]] = now


async def run(port: int, topic: str, n_clients: int, n_events: int, gap_s: float, publish) -> dict:
    path = f"/leaderboard/live/?topic={topic}"
    clients = [Client() for _ in range(n_clients)]
    t0 = time.perf_counter()
    for start in range(0, n_clients, 50):  # connect in waves, as browsers would trickle in
        await asyncio.gather(*(c.connect(port, path) for c in clients[start : start + 50]))
    connect_s = time.perf_counter() - t0
    listeners = [asyncio.create_task(c.listen()) for c in clients]
    sent: dict[int, float] = {}
    loop = asyncio.get_running_loop()
    for n in range(1, n_events + 1):
        await asyncio.sleep(gap_s)
        sent[n] = time.time()
        await loop.run_in_executor(None, publish, n)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(len(c.received) == n_events for c in clients):
        await asyncio.sleep(0.1)
    for task in listeners:
        task.cancel()
    for c in clients:
        c.writer.close()
    return {"connect_s": connect_s, "sent": sent, "clients": clients}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between events")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.clients * 2 + 256)), hard))

    workdir = Path(tempfile.mkdtemp(prefix="bench-sse-"))
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "SECRET_KEY": "benchmark-only-secret-key-not-for-production",
        "DEBUG": "0",
        "HACKATHON_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "hackathon.settings",
    }
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True)  # noqa: S603
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "platform"))
    import django

    django.setup()
    from hackathon import live
    from hackathon.challenges.models import Challenge

    challenge, _ = Challenge.objects.get_or_create(
        slug="sse-fanout-bench",
        defaults={
            "title": "SSE fan-out",
            "task": "binary",
            "metric": "accuracy",
            "is_published": True,
        },
    )
    topic = live.challenge_topic(challenge.pk)

    def publish(n: int) -> None:
        live.publish(topic, "leaderboard", {"challenge": challenge.pk, "n": n})

    port = free_port()
    server = ManagedProcess.spawn(
        "uvicorn",
        [*uvicorn_argv(port), "--backlog", "4096"],
        log_path=workdir / "uvicorn.log",
        env=env,
        cwd=ROOT,
    )
    try:
        if not _listening(server, port):
            print(server.log_text(), file=sys.stderr)
            return 1
        idle_rss = _rss_mb(server.pid)
        load_before = os.getloadavg()[0]
        result = asyncio.run(run(port, topic, args.clients, args.events, args.gap, publish))
        busy_rss = _rss_mb(server.pid)
    finally:
        server.stop(grace=30, group=False)

    clients, sent = result["clients"], result["sent"]
    print()
    print(
        f"SSE fan-out: {args.clients} clients on one uvicorn process, {args.events} events "
        f"{args.gap:g} s apart; {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
        "other work on the machine inflates the figures"
    )
    print(
        f"all clients connected in {result['connect_s']:.1f} s; "
        f"server RSS {idle_rss:.0f} MB idle, {busy_rss:.0f} MB with the clients"
    )
    print()
    header = f"{'event':>5} {'delivered':>11} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    all_delays: list[float] = []
    delivered_all = True
    for n, at in sent.items():
        delays = [(c.received[n] - at) * 1000 for c in clients if n in c.received]
        delivered_all &= len(delays) == len(clients)
        all_delays += delays
        if delays:
            print(
                f"{n:>5} {len(delays):>5}/{len(clients):<5} {statistics.median(delays):>8.1f} "
                f"{_percentile(delays, 0.95):>8.1f} {max(delays):>8.1f}"
            )
        else:
            print(f"{n:>5} {0:>5}/{len(clients):<5}")
    p95 = _percentile(all_delays, 0.95) if all_delays else float("inf")
    ok = delivered_all and p95 < 1000
    print("-" * len(header))
    print(
        f"{'all':>5} {len(all_delays):>5}/{len(clients) * len(sent):<5} "
        f"{statistics.median(all_delays) if all_delays else 0:>8.1f} {p95:>8.1f} "
        f"{max(all_delays) if all_delays else 0:>8.1f}   target: all delivered, p95 < 1000 ms: "
        f"{'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
