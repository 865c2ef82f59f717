"""Public pages against a Starlette hello-world served the same way, in the same run.

    .venv/bin/python benchmarks/pages.py [--quick] [--seconds 5] [--connections 32] [--database sqlite|postgres]

Seeds 500 public events (400 upcoming, 100 past), starts `events-app serve` (one process) and a Starlette
hello-world under the same uvicorn settings, and drives each with `wrk` when it is installed (else the
Python client in loadclient.py) with `Accept-Encoding: gzip`, as browsers and calendar clients send it.
Prints requests per second, the ratio to the hello-world (beside the goal for each page), the 99th
percentile latency and the bytes each answer takes on the wire. The public pages are kept by the page cache
(web/page_cache.py); `--no-cache` serves them with EVENTS_PAGE_CACHE_SECONDS=0, built for every request.
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
import gzip
import re
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import loadclient as _client  # noqa: E402 (after the path is set)
PG_ADMIN = os.environ.get("EVENTS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
EVENTS, PAST = 500, 100
#: Throughput each page should reach, as a share of the hello-world's.
GOALS = {"/": 0.10, "/events/{id}": 0.25, "/api/v1/events": 0.10, "/calendar.ics": 0.25, "/calendar.ics, 304": 0.25}

HELLO = textwrap.dedent('''
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request):
        return PlainTextResponse("Hello, world!")

    app = Starlette(routes=[Route("/", hello)])
''')


async def seed(database_url: str) -> int:
    """500 public events with one date each (a fifth of them past); returns the id of an upcoming one."""
    from events_app.core import db
    from events_app.core.models import EventKind
    from events_app.seats import events
    from events_app.seats.events import SessionSpec

    await db.migrate(database_url)
    kinds = list(EventKind)
    upcoming = None
    async with db.orm(database_url):
        now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        for n in range(EVENTS):
            start = now + timedelta(days=(n - PAST) if n >= PAST else -(n + 40), hours=n % 7)
            event = await events.create_event(
                values={"kind": kinds[n % len(kinds)], "title": f"Veranstaltung {n}", "capacity": 20,
                        "description": "Beschreibung mit ein paar Sätzen. " * 8, "location": "Rathaus Gießen"},
                sessions=[SessionSpec(start, start + timedelta(hours=2))])
            if n == PAST + 10:
                upcoming = event.id
    return upcoming


def start(command: list[str], env: dict, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def fetch(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def settle(base: str) -> None:
    """Wait until the server has answered what the last run left queued (it answers a cheap page quickly)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        began = time.perf_counter()
        fetch(base + "/health")
        if time.perf_counter() - began < 0.05:
            return
        time.sleep(0.2)


def measure(url: str, *, seconds: float, connections: int, headers: dict) -> dict:
    """Requests per second over `seconds` with `connections` keep-alive connections."""
    if shutil.which("wrk"):
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        scale = {"us": 0.001, "ms": 1, "s": 1000}
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return {"rate": rate, "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else 0.0,
                "errors": int(non_2xx.group(1)) if non_2xx else 0, "tool": "wrk"}
    return asyncio.run(_measure_python(url, seconds=seconds, connections=connections, headers=headers))


async def _measure_python(url: str, *, seconds: float, connections: int, headers: dict) -> dict:
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, port = host_port.split(":")
    request = _client.request_bytes("GET", "/" + path, host=host_port, headers=headers)
    pool = await _client.open_connections(host, int(port), connections)
    result = await _client.run_for(pool, lambda: request, seconds)
    for connection in pool:
        connection.close()
    errors = sum(1 for reply in result.replies if reply.status >= 400)
    return {"rate": result.throughput, "p99_ms": result.percentile(0.99) * 1000, "errors": errors,
            "tool": "python client"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true", help="2 seconds per page")
    parser.add_argument("--no-cache", action="store_true", help="without the page cache (EVENTS_PAGE_CACHE_SECONDS=0)")
    args = parser.parse_args()
    seconds = 2 if args.quick else args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        if args.database == "postgres":
            import asyncpg

            db_name = f"events_pages_{os.getpid()}"

            async def create() -> None:
                admin = await asyncpg.connect(PG_ADMIN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
                await admin.execute(f'CREATE DATABASE "{db_name}"')
                await admin.close()

            asyncio.run(create())
            database_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db_name}"
        else:
            database_url = f"sqlite://{tmp}/pages.sqlite3"
        event_id = asyncio.run(seed(database_url))
        env = {**os.environ, "EVENTS_DATABASE_URL": database_url, "EVENTS_VAR_DIR": tmp, "EVENTS_RUN_WORKER": "false",
               "EVENTS_SECRET_KEY": "bench", "EVENTS_RATE_LIMITS": "off",
               "EVENTS_PAGE_CACHE_SECONDS": "0" if args.no_cache else "1"}
        Path(tmp, "hello.py").write_text(HELLO)
        hello_port, app_port = _client.free_port(), _client.free_port()
        hello = start([sys.executable, "-m", "uvicorn", "--app-dir", tmp, "--port", str(hello_port), "--loop", "uvloop",
                       "--http", "httptools", "--no-access-log", "--log-level", "warning", "hello:app"],
                      env, hello_port, Path(tmp, "hello.log"))
        app = start([sys.executable, "-m", "events_app.cli", "serve", "--port", str(app_port), "--no-migrate"],
                    env, app_port, Path(tmp, "app.log"))
        try:
            base = f"http://127.0.0.1:{app_port}"
            _, feed_headers, _ = fetch(base + "/calendar.ics")
            pages = [
                ("hello-world", f"http://127.0.0.1:{hello_port}/", {}),
                ("/", base + "/", {}),
                (f"/events/{{id}}", f"{base}/events/{event_id}", {}),
                ("/api/v1/events", base + "/api/v1/events", {}),
                ("/calendar.ics", base + "/calendar.ics", {}),
                ("/calendar.ics, 304", base + "/calendar.ics", {"If-None-Match": feed_headers.get("etag", "")}),
            ]
            results = {}
            for name, url, headers in pages:
                settle(base)
                status, response_headers, body = fetch(url, headers)
                measured = measure(url, seconds=seconds, connections=args.connections,
                                   headers={"Accept-Encoding": "gzip", **headers})
                results[name] = (status, response_headers, body, measured)
        finally:
            stop(app)
            stop(hello)
        if args.database == "postgres":
            async def drop() -> None:
                admin = await asyncpg.connect(PG_ADMIN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                await admin.close()

            asyncio.run(drop())
    hello_rate = results["hello-world"][3]["rate"]
    tool = results["hello-world"][3]["tool"]
    print(f"\npublic pages, {EVENTS} public events ({PAST} past), {args.database}, one process, {tool},"
          f" {args.connections} connections, {seconds:g} s each, Accept-Encoding: gzip,"
          f" page cache {'off' if args.no_cache else 'on'}")
    print(f"  {'page':22}{'status':>7}{'req/s':>9}{'x hello':>9}{'goal':>7}{'p99 ms':>9}{'bytes':>9}{'unzipped':>10}"
          f"  encoding")
    for name, (status, headers, body, measured) in results.items():
        encoding = headers.get("content-encoding", "") or headers.get("Content-Encoding", "")
        plain = gzip.decompress(body) if encoding == "gzip" else body
        goal = f"{GOALS[name]:.2f}" if name in GOALS else ""
        print(f"  {name:22}{status:>7}{measured['rate']:>9.0f}{measured['rate'] / hello_rate:>9.3f}{goal:>7}"
              f"{measured['p99_ms']:>9.1f}{len(body):>9}{len(plain):>10}  {encoding or '-'}"
              + (f"  ({measured['errors']} errors)" if measured["errors"] else ""))


if __name__ == "__main__":
    main()
