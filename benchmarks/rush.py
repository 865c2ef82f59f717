"""Registration rush: N registrations for 20 seats, all in flight at once, over HTTP against `events-app serve`.

    .venv/bin/python benchmarks/rush.py [--quick] [--n 2000] [--backends sqlite,postgres]
                                        [--server uvicorn|granian] [--profile] [--no-drain]

SQLite is served by one process, PostgreSQL by four (`--workers`). The client (benchmarks/loadclient.py)
opens one keep-alive HTTP/1.1 connection per request, warms them up, then sends every registration
(each with its own name and address) at once; its CPU time is printed beside the server's, to show it
is not what limits the figures.

The floor is measured in the same run: a bare async transaction doing the same conditional seat update
and insert straight on the database (asyncpg / aiosqlite; no web, no ORM), all N at once, with the
durability the app uses: PostgreSQL with the server's defaults (synchronous_commit on), SQLite in WAL mode
with synchronous=NORMAL. Figures are printed as ratios against that floor, since the machine is shared.
The floor is one transaction per registration; the app places the sign-ups that arrive while a placing
call is under way together in its next one (seats/register_sql.py), so it can pass the floor.

Checked after each rush: exactly 20 confirmed, N - 20 waiting with the positions 1..N-20 (in the answers
and in the database), one mail per registration in the outbox. Then one separate `events-app worker`
delivers the outbox to a local SMTP sink (aiosmtpd) and the time until the last mail arrived is printed.
`--profile` samples the server with py-spy during the rush and prints its busiest functions.
"""

from __future__ import annotations

import os
import sys

# this folder holds calendar.py: it is searched after the standard library, so that it does not hide the
# `calendar` module, and its own modules (loadclient, rush) are still found
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]

import argparse
import asyncio
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import loadclient as _client  # noqa: E402 (after the path is set)
RunResult, ServerMeter, free_port, open_connections = (_client.RunResult, _client.ServerMeter, _client.free_port,
                                                       _client.open_connections)
peak_rss_mb, post_json, request_bytes, run_all = (_client.peak_rss_mb, _client.post_json, _client.request_bytes,
                                                  _client.run_all)

PG_ADMIN = os.environ.get("EVENTS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SEATS = 20
#: What a rush should reach (both databases): a share of the floor's throughput, the 99th percentile, memory.
GOAL_RATIO, GOAL_P99_SECONDS, GOAL_RSS_MB = 0.40, 1.5, 150
PROFILE_TOP = 25


async def seed_event(database_url: str) -> int:
    from tortoise import Tortoise

    from events_app.core import db
    from events_app.core.models import EventKind
    from events_app.seats import events
    from events_app.seats.events import SessionSpec

    await db.migrate(database_url)
    async with db.orm(database_url):
        start = datetime.now(timezone.utc) + timedelta(days=30)
        event = await events.create_event(
            values={"kind": EventKind.FESTIVAL, "title": "Rush", "capacity": SEATS, "waitlist": True},
            sessions=[SessionSpec(start, start + timedelta(hours=2))])
        event_id = event.id
    await Tortoise.close_connections()
    return event_id


# --- the floor -------------------------------------------------------------------------------------


def _floor_result(latencies: list[float], elapsed: float, cpu: float) -> RunResult:
    return RunResult([], latencies, elapsed, cpu)


async def floor_sqlite(path: str, event_id: int, n: int) -> RunResult:
    """One connection, BEGIN IMMEDIATE, conditional update + insert: the least the app must do."""
    import aiosqlite

    latencies: list[float] = []
    lock = asyncio.Lock()
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")

        async def one(i: int) -> None:
            began = time.perf_counter()
            async with lock:
                await conn.execute("BEGIN IMMEDIATE")
                cursor = await conn.execute(
                    "UPDATE event SET seats_taken = seats_taken + 1 WHERE id = ? AND seats_taken + 1 <= capacity",
                    (event_id,))
                status = "confirmed" if cursor.rowcount == 1 else "waitlisted"
                now = datetime.now(timezone.utc).isoformat(" ")
                await conn.execute(
                    "INSERT INTO registration (event_id, name, email, phone, language, companions, seats, status,"
                    " queued_at, manage_token, checkin_token, answers, sequence, created_at, updated_at)"
                    " VALUES (?, ?, ?, '', 'de', 0, 1, ?, ?, ?, ?, '{}', 0, ?, ?)",
                    (event_id, f"Floor {i}", f"f{i}@example.org", status, now, secrets.token_urlsafe(32),
                     secrets.token_urlsafe(32), now, now))
                await conn.execute("COMMIT")
            latencies.append(time.perf_counter() - began)

        cpu = time.process_time()
        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - began
    return _floor_result(latencies, elapsed, time.process_time() - cpu)


async def floor_postgres(dsn: str, event_id: int, n: int, backends=lambda: []) -> RunResult:
    import asyncpg

    latencies: list[float] = []
    pool = await asyncpg.create_pool(dsn, min_size=20, max_size=20)
    db_pids = backends()
    db_cpu = _client.cpu_seconds(db_pids)
    try:
        async def one(i: int) -> None:
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

        cpu = time.process_time()
        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - began
        db_cpu = _client.cpu_seconds(db_pids) - db_cpu
    finally:
        await pool.close()
    result = _floor_result(latencies, elapsed, time.process_time() - cpu)
    result.db_cpu = db_cpu
    return result


# --- the server ------------------------------------------------------------------------------------


def server_env(database_url: str, var_dir: str, **extra: str) -> dict:
    return {**os.environ, "EVENTS_DATABASE_URL": database_url, "EVENTS_VAR_DIR": var_dir,
            "EVENTS_RUN_WORKER": "false", "EVENTS_SECRET_KEY": "bench",
            # 2,000 registrations from one loopback address: the throttles would (rightly) stop them
            "EVENTS_RATE_LIMITS": "off", "PYTHONUNBUFFERED": "1", **extra}


def start_server(database_url: str, var_dir: str, workers: int, server: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = server_env(database_url, var_dir, EVENTS_WEB_PROCESSES=str(workers))
    if server == "granian":
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--backlog", "4096",
                   "--log-level", "warning", "events_app.asgi:app"]
    else:
        command = [sys.executable, "-m", "events_app.cli", "serve", "--port", str(port), "--workers", str(workers),
                   "--no-migrate"]
    log = open(Path(var_dir) / f"server-{port}.log", "wb")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(Path(var_dir) / f'server-{port}.log').read_text()[-2000:]}")
        try:
            with socket_connect(port):
                pass
            return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


def socket_connect(port: int):
    import socket

    return socket.create_connection(("127.0.0.1", port), timeout=1)


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def database_processes(database_url: str) -> list[int]:
    """PostgreSQL's backend processes serving this database (their CPU is the database's share)."""
    if database_url.startswith("sqlite://"):
        return []
    name = database_url.rsplit("/", 1)[1]
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
            and _client.command_line(int(entry.name)).startswith("postgres: ")
            and f" {name} " in _client.command_line(int(entry.name))]


# --- the rush --------------------------------------------------------------------------------------


def registration_requests(event_id: int, n: int, *, host: str, prefix: str) -> list[bytes]:
    path = f"/api/v1/events/{event_id}/registrations"
    return [post_json(path, {"name": f"{prefix} {i}", "email": f"{prefix.lower()}{i}@example.org"}, host=host)
            for i in range(n)]


class Profiler:
    """py-spy sampling the server's processes (raw collapsed stacks), summed up afterwards."""

    def __init__(self, pid: int, out: Path):
        self.out = out
        executable = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        self.process = None
        if executable:
            self.process = subprocess.Popen(
                [executable, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "250",
                 "--nonblocking", "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)  # py-spy attaches to every process first

    def stop(self) -> list[str]:
        if self.process is None:
            return ["(py-spy not installed: pip install py-spy)"]
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        return top_entries(self.out)


def top_entries(collapsed: Path, top: int = PROFILE_TOP) -> list[str]:
    """Own and inclusive sample shares per function from py-spy's collapsed stacks, idle waits left out."""
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    if not collapsed.exists():
        return ["(no samples)"]
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame for frame in stack.split(";") if not frame.startswith(("process ", "thread "))]
        if not frames:
            continue
        leaf = frames[-1]
        if any(idle in leaf for idle in ("select (selectors", "run_once (uvloop", "_run_once (asyncio",
                                         "poll (", "wait (threading", "_worker (concurrent")):
            continue
        samples = int(count)
        total += samples
        own[_short(leaf)] += samples
        for name in {_short(frame) for frame in frames}:
            inclusive[name] += samples
    if not total:
        return ["(no busy samples)"]
    lines = [f"{total} busy samples; own time (where the CPU was):"]
    lines += [f"  {samples / total:6.1%}  {name}" for name, samples in own.most_common(top)]
    lines += ["inclusive (time under the function, our code and the libraries it drives):"]
    ours = [(name, samples) for name, samples in inclusive.most_common() if "events_app" in name
            or "tortoise" in name or "starlette" in name or "uvicorn" in name or "asyncpg" in name
            or "granian" in name][:top]
    lines += [f"  {samples / total:6.1%}  {name}" for name, samples in ours]
    return lines


def _short(frame: str) -> str:
    """`function (path/to/module.py:line)` -> `function (module.py)`; site-packages paths shortened."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.split(":")[0]
    for marker in ("site-packages/", "wt-rush/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


async def check_outcome(database_url: str, event_id: int, n: int, result: RunResult) -> list[str]:
    """Problems found, if any: counts, positions in the answers and in the database, one mail each."""
    problems = []
    statuses = Counter(r.json().get("status", r.status) if r.status < 500 else r.status for r in result.replies)
    if statuses.get("confirmed") != SEATS or statuses.get("waitlisted") != n - SEATS:
        problems.append(f"answers: {dict(statuses)}")
    positions = sorted(r.json().get("waitlist_position") for r in result.replies
                       if r.status < 500 and r.json().get("status") == "waitlisted")
    if positions != list(range(1, n - SEATS + 1)):
        problems.append("the answers' waiting positions are not 1..N-20")
    rows = await _query(database_url, "SELECT status, count(*) FROM registration WHERE event_id = {} GROUP BY status",
                        event_id)
    counts = {status: count for status, count in rows}
    if counts != {"confirmed": SEATS, "waitlisted": n - SEATS}:
        problems.append(f"database: {counts}")
    seats = await _query(database_url, "SELECT seats_taken FROM event WHERE id = {}", event_id)
    if seats[0][0] != SEATS:
        problems.append(f"seats_taken is {seats[0][0]}")
    mails = await _query(database_url, "SELECT count(*), count(DISTINCT registration_id) FROM outbox_message"
                         " WHERE event_id = {}", event_id)
    if tuple(mails[0]) != (n, n):
        problems.append(f"outbox: {tuple(mails[0])} rows / registrations, expected {n}")
    return problems


async def _query(database_url: str, sql: str, *args) -> list[tuple]:
    sql = sql.format(*args)
    if database_url.startswith("sqlite://"):
        import aiosqlite

        async with aiosqlite.connect(database_url.removeprefix("sqlite://")) as conn:
            return list(await (await conn.execute(sql)).fetchall())
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


# --- the outbox drain ------------------------------------------------------------------------------


class Sink:
    """Counts the messages a local SMTP server (aiosmtpd) receives."""

    def __init__(self):
        self.count = 0
        self.last_at = 0.0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.count += 1
            self.last_at = time.perf_counter()
        return "250 OK"


async def drain_outbox(database_url: str, var_dir: str) -> dict:
    """Start one `events-app worker` against a local SMTP sink; time until every queued mail arrived."""
    from aiosmtpd.controller import Controller

    queued = (await _query(database_url, "SELECT count(*) FROM outbox_message WHERE state = 'queued'"))[0][0]
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = server_env(database_url, var_dir, EVENTS_SMTP_HOST="127.0.0.1", EVENTS_SMTP_PORT=str(port))
    began = time.perf_counter()
    worker = subprocess.Popen([sys.executable, "-m", "events_app.cli", "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while sink.count < queued and time.monotonic() < deadline and worker.poll() is None:
            await asyncio.sleep(0.05)
        elapsed = (sink.last_at or time.perf_counter()) - began
        rss = peak_rss_mb(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        controller.stop()
    return {"queued": queued, "received": sink.count, "seconds": elapsed, "worker_rss": rss}


# --- one backend -----------------------------------------------------------------------------------


async def bench_backend(name: str, n: int, tmp: str, *, server: str, profile: bool, drain: bool) -> dict | None:
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
    try:
        warm_event = await seed_event(url)
        app_event = await seed_event(url)
        floor_event = await seed_event(url)
        process, port = start_server(url, tmp, workers, server)
        host = f"127.0.0.1:{port}"
        try:
            connections = await open_connections("127.0.0.1", port, n)
            # warm-up: every connection once (a cheap page), then registrations for a throwaway event
            await run_all(connections, [request_bytes("GET", "/health", host=host)] * n)
            await run_all(connections[:200], registration_requests(warm_event, min(200, n), host=host, prefix="Warm"))
            await run_all(connections, [request_bytes("GET", "/health", host=host)] * n)  # all fresh again
            requests = registration_requests(app_event, n, host=host, prefix="Person")
            meter = ServerMeter(process.pid)
            db_meter = ServerMeter(0, pids=database_processes(url))
            profiler = Profiler(process.pid, Path(tmp) / f"profile-{name}.txt") if profile else None
            meter.start()
            db_meter.start()
            try:
                app = await run_all(connections, requests)
            except (OSError, asyncio.IncompleteReadError) as exc:
                logs = "\n".join(path.read_text()[-3000:] for path in Path(tmp).glob("server-*.log"))
                raise RuntimeError(f"the server dropped a connection ({exc}); its log:\n{logs}") from None
            meter.stop()
            db_meter.stop()
            profile_lines = profiler.stop() if profiler else []
            rss = {pid: peak_rss_mb(pid) for pid in meter.app_processes()}
            for connection in connections:
                connection.close()
        finally:
            stop_server(process)
        problems = await check_outcome(url, app_event, n, app)
        mail = await drain_outbox(url, tmp) if drain else None
        if name == "sqlite":
            floor = await floor_sqlite(path, floor_event, n)
        else:
            floor = await floor_postgres(url.replace("postgresql://", "postgres://"), floor_event, n,
                                         backends=lambda: database_processes(url))
            floor_db_cpu = floor.db_cpu
    finally:
        if name != "sqlite":
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            await admin.close()
    return {"app": app, "floor": floor, "workers": workers, "server_cpu": meter.used, "db_cpu": db_meter.used,
            "cpu_each": [meter.each.get(pid, 0.0) for pid in rss],
            "floor_db_cpu": floor_db_cpu if name != "sqlite" else 0.0,
            "rss": rss,
            "problems": problems, "mail": mail, "profile": profile_lines, "server": server}


def report(name: str, result: dict, n: int) -> None:
    app, floor = result["app"], result["floor"]
    processes = f"{result['workers']} app process{'es' if result['workers'] > 1 else ''}"
    durability = ("synchronous_commit on (server default)" if name == "postgres"
                  else "WAL, synchronous=NORMAL")
    print(f"\n{name} ({result['server']}, {processes}), {n} registrations for {SEATS} seats, all in flight;"
          f" durability: {durability}")
    print(f"  {'':26}{'app (HTTP)':>12}{'floor (DB)':>12}{'app / floor':>13}")
    print(f"  {'throughput (req/s)':26}{app.throughput:>12.0f}{floor.throughput:>12.0f}"
          f"{app.throughput / floor.throughput:>13.2f}")
    for label, share in (("p50", 0.50), ("p99", 0.99)):
        print(f"  {label + ' latency (ms)':26}{app.percentile(share) * 1000:>12.0f}"
              f"{floor.percentile(share) * 1000:>12.0f}{app.percentile(share) / floor.percentile(share):>13.2f}")
    print(f"  CPU during the rush: server processes {result['server_cpu']:.2f} s"
          f" ({result['server_cpu'] / n * 1000:.2f} ms/request), this client {app.client_cpu:.2f} s"
          f" ({app.client_cpu / n * 1000:.2f} ms/request, {app.client_cpu / max(result['server_cpu'], 1e-9):.2f}"
          f" x the server's)")
    if len(result["cpu_each"]) > 1:
        print(f"  CPU per app process (s): {', '.join(f'{cpu:.2f}' for cpu in result['cpu_each'])}")
    if name == "postgres":
        print(f"  PostgreSQL's backends: {result['db_cpu']:.2f} s during the rush,"
              f" {result['floor_db_cpu']:.2f} s during the floor")
    rss = result["rss"]
    print(f"  peak RSS per app process (MB): {', '.join(f'{mb:.0f}' for mb in rss.values())}"
          f" (max {max(rss.values()):.0f})")
    print("  correctness: " + ("exactly 20 confirmed, waiting positions 1..N-20 in answers and database, "
                               "one outbox mail per registration" if not result["problems"]
                               else "PROBLEMS: " + "; ".join(result["problems"])))
    ratio, p99, peak = app.throughput / floor.throughput, app.percentile(0.99), max(rss.values())
    print("  goals: " + "; ".join(f"{label} {'met' if ok else 'NOT met'}" for label, ok in (
        (f"throughput >= {GOAL_RATIO:.2f} x floor ({ratio:.2f})", ratio >= GOAL_RATIO),
        (f"p99 <= {GOAL_P99_SECONDS:.1f} s ({p99:.2f})", p99 <= GOAL_P99_SECONDS),
        (f"peak RSS <= {GOAL_RSS_MB} MB ({peak:.0f})", peak <= GOAL_RSS_MB))))
    mail = result["mail"]
    if mail:
        print(f"  outbox drain, one separate worker to a local SMTP sink: {mail['received']}/{mail['queued']} mails"
              f" in {mail['seconds']:.1f} s ({mail['received'] / max(mail['seconds'], 1e-9):.0f} mails/s),"
              f" worker peak RSS {mail['worker_rss']:.0f} MB")
    if result["profile"]:
        print("  profile of the server during the rush (py-spy):")
        for line in result["profile"]:
            print("    " + line)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="registrations (all in flight at once)")
    parser.add_argument("--quick", action="store_true", help="400 registrations, no outbox drain")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn",
                        help="uvicorn: `events-app serve`; granian: for comparison")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy during the rush")
    parser.add_argument("--no-drain", action="store_true", help="skip the outbox delivery")
    args = parser.parse_args()
    n = 400 if args.quick and args.n == 2000 else args.n
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends.split(","):
            result = await bench_backend(name, n, tmp, server=args.server, profile=args.profile,
                                         drain=not (args.no_drain or args.quick))
            if result:
                report(name, result, n)


if __name__ == "__main__":
    asyncio.run(main())
