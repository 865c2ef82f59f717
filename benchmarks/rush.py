"""Registration rush: N concurrent registrations for 20 seats over HTTP against a running server.

    .venv/bin/python benchmarks/rush.py [--n 2000] [--concurrency C] [--backends sqlite,postgres]

All N requests are in flight at once unless `--concurrency` caps them (the floor gets the same cap).
SQLite is served by one process, PostgreSQL by `--workers 4`. The floor is measured in the same
run: a bare async transaction doing the same conditional seat update and insert straight on the
database (no web, no ORM). Figures are printed as ratios against that floor, since the machine is
shared and absolute numbers wander.
"""

from __future__ import annotations

import os
import sys

# this folder holds calendar.py, which must not hide the standard library's calendar module
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import asyncio
import secrets
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("EVENTS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SEATS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def summary(latencies: list[float], elapsed: float) -> dict:
    ordered = sorted(latencies)
    return {
        "throughput": len(ordered) / elapsed,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


async def seed_event(database_url: str) -> int:
    from tortoise import Tortoise

    from events_app.core import db
    from events_app.seats import events
    from events_app.seats.events import SessionSpec
    from events_app.core.models import EventKind

    await db.migrate(database_url)
    async with db.orm(database_url):
        start = datetime.now(timezone.utc) + timedelta(days=30)
        event = await events.create_event(
            values={"kind": EventKind.FESTIVAL, "title": "Rush", "capacity": SEATS, "waitlist": True},
            sessions=[SessionSpec(start, start + timedelta(hours=2))])
        event_id = event.id
    await Tortoise.close_connections()
    return event_id


async def http_rush(url: str, event_id: int, n: int, concurrency: int) -> dict:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        async def one(i: int) -> None:
            async with gate:
                began = time.perf_counter()
                response = await client.post(f"/api/v1/events/{event_id}/registrations",
                                             json={"name": f"Person {i}", "email": f"p{i}@example.org"})
                latencies.append(time.perf_counter() - began)
                key = response.json().get("status", str(response.status_code)) if response.status_code < 500 else "500"
                statuses[key] = statuses.get(key, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - began
    return {**summary(latencies, elapsed), "statuses": statuses}


async def floor_sqlite(path: str, event_id: int, n: int, concurrency: int) -> dict:
    """One connection, BEGIN IMMEDIATE, conditional update + insert: the least the app must do."""
    import aiosqlite

    latencies: list[float] = []
    lock = asyncio.Lock()
    gate = asyncio.Semaphore(concurrency)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")

        async def one(i: int) -> None:
            async with gate:
                began = time.perf_counter()
                async with lock:
                    await conn.execute("BEGIN IMMEDIATE")
                    cursor = await conn.execute(
                        "UPDATE event SET seats_taken = seats_taken + 1 WHERE id = ? AND seats_taken + 1 <= capacity",
                        (event_id,))
                    status = "confirmed" if cursor.rowcount == 1 else "waitlisted"
                    now = datetime.now(timezone.utc).isoformat()
                    await conn.execute(
                        "INSERT INTO registration (event_id, name, email, phone, language, companions, seats, status,"
                        " queued_at, manage_token, checkin_token, answers, sequence, created_at, updated_at)"
                        " VALUES (?, ?, ?, '', 'de', 0, 1, ?, ?, ?, ?, '{}', 0, ?, ?)",
                        (event_id, f"Floor {i}", f"f{i}@example.org", status, now, secrets.token_urlsafe(32),
                         secrets.token_urlsafe(32), now, now))
                    await conn.execute("COMMIT")
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - began
    return summary(latencies, elapsed)


async def floor_postgres(dsn: str, event_id: int, n: int, concurrency: int) -> dict:
    import asyncpg

    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=20)
    try:
        async def one(i: int) -> None:
            async with gate:
                began = time.perf_counter()
                async with pool.acquire() as conn, conn.transaction():
                    done = await conn.execute(
                        "UPDATE event SET seats_taken = seats_taken + 1 WHERE id = $1 AND seats_taken + 1 <= capacity",
                        event_id)
                    status = "confirmed" if done.endswith(" 1") else "waitlisted"
                    now = datetime.now(timezone.utc)
                    await conn.execute(
                        "INSERT INTO registration (event_id, name, email, phone, language, companions, seats, status,"
                        " queued_at, manage_token, checkin_token, answers, sequence, created_at, updated_at)"
                        " VALUES ($1, $2, $3, '', 'de', 0, 1, $4, $5, $6, $7, '{}', 0, $5, $5)",
                        event_id, f"Floor {i}", f"f{i}@example.org", status, now, secrets.token_urlsafe(32),
                        secrets.token_urlsafe(32))
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - began
    finally:
        await pool.close()
    return summary(latencies, elapsed)


def start_server(database_url: str, var_dir: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "EVENTS_DATABASE_URL": database_url, "EVENTS_VAR_DIR": var_dir,
           "EVENTS_RUN_WORKER": "false", "EVENTS_SECRET_KEY": "bench",
           # 2,000 registrations from one loopback address: the throttles would (rightly) stop them
           "EVENTS_RATE_LIMITS": "off"}
    process = subprocess.Popen([sys.executable, "-m", "events_app.cli", "serve", "--port", str(port),
                                "--workers", str(workers), "--no-migrate"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


async def bench_backend(name: str, n: int, concurrency: int, tmp: str) -> dict | None:
    if name == "sqlite":
        path = f"{tmp}/rush.sqlite3"
        url, workers = f"sqlite://{path}", 1
    else:
        import asyncpg

        db_name = f"events_bench_{os.getpid()}"
        try:
            admin = await asyncpg.connect(PG_ADMIN, timeout=5)
        except OSError as exc:
            print(f"postgres: skipped ({exc})")
            return None
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        await admin.execute(f'CREATE DATABASE "{db_name}"')
        await admin.close()
        url, workers = PG_ADMIN.rsplit("/", 1)[0] + f"/{db_name}", 4
    app_event = await seed_event(url)
    floor_event = await seed_event(url)
    process, server = start_server(url, tmp, workers)
    try:
        await http_rush(server, app_event, min(50, n), concurrency)  # warm-up on a throwaway event
        app_event = await seed_event(url)
        app = await http_rush(server, app_event, n, concurrency)
    finally:
        process.terminate()
        process.wait(timeout=20)
    if name == "sqlite":
        floor = await floor_sqlite(path, floor_event, n, concurrency)
    else:
        floor = await floor_postgres(url.replace("postgresql://", "postgres://"), floor_event, n, concurrency)
        import asyncpg

        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await admin.close()
    return {"app": app, "floor": floor, "workers": workers}


def report(name: str, result: dict, n: int, concurrency: int) -> None:
    app, floor = result["app"], result["floor"]
    print(f"\n{name} ({result['workers']} app process{'es' if result['workers'] > 1 else ''}), {n} registrations "
          f"for {SEATS} seats, {concurrency} in flight at once")
    print(f"  outcomes over HTTP: {app['statuses']}")
    print(f"  {'':24}{'app (HTTP)':>14}{'floor (DB only)':>18}{'app / floor':>14}")
    print(f"  {'throughput (req/s)':24}{app['throughput']:>14.0f}{floor['throughput']:>18.0f}{app['throughput'] / floor['throughput']:>14.2f}")
    for key in ("p50", "p99"):
        print(f"  {key + ' latency (ms)':24}{app[key]:>14.1f}{floor[key]:>18.1f}{app[key] / floor[key]:>14.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, help="requests in flight at once (default: all N)")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    concurrency = args.concurrency or args.n
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends.split(","):
            result = await bench_backend(name, args.n, concurrency, tmp)
            if result:
                report(name, result, args.n, concurrency)


if __name__ == "__main__":
    asyncio.run(main())
