"""Running in production: `serve` stops cleanly on SIGTERM, backups restore what they saved."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import asyncpg
import pytest

from events_app.core.models import Registration
from events_app.core.settings import Settings, tortoise_config
from events_app.seats import registration
from events_app.seats.registration import Applicant
from tests.conftest import PG_ADMIN_DSN
from tests.helpers import both_databases, make_event, make_user

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(database_url: str, *args: str, var_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EVENTS_DATABASE_URL": database_url, "EVENTS_VAR_DIR": str(var_dir),
           "EVENTS_SECRET_KEY": "test"}
    return subprocess.run([sys.executable, "-m", "events_app.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_serve_answers_the_request_in_flight_on_sigterm_then_ends_with_its_render_process(db, tmp_path):
    """The last part of a registration's body arrives after SIGTERM: it is still stored and answered, so
    the database closed only after it. The PDF render process started by an export ends with the server."""
    _, token = await make_user("organiser", "ops@stadt-giessen.de")
    event = await make_event(capacity=5)
    await registration.register(event_id=event.id, applicant=Applicant(name="Erste", email="erste@example.org"))
    port = _free_port()
    env = {**os.environ, "EVENTS_DATABASE_URL": db, "EVENTS_VAR_DIR": str(tmp_path), "EVENTS_SECRET_KEY": "test",
           "EVENTS_RUN_WORKER": "false", "EVENTS_RATE_LIMITS": "off"}
    server = subprocess.Popen([sys.executable, "-m", "events_app.cli", "serve", "--port", str(port), "--no-migrate"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/health", timeout=2).read()
                break
            except OSError:
                await asyncio.sleep(0.1)
        export = urllib.request.Request(f"{base}/api/v1/events/{event.id}/export.pdf",
                                        headers={"Authorization": f"Bearer {token}"})
        pdf = await asyncio.to_thread(lambda: urllib.request.urlopen(export, timeout=120).read())
        assert pdf.startswith(b"%PDF")
        children = _descendants(server.pid)
        assert children, "the export started a render process"

        body = json.dumps({"name": "Nach dem Signal", "email": "spaet@example.org"}).encode()
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(f"POST /api/v1/events/{event.id}/registrations HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:10])
        await asyncio.sleep(0.5)  # the request is in flight: headers read, body half sent
        server.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        conn.sendall(body[10:])
        answer = await asyncio.to_thread(conn.recv, 65536)
        conn.close()
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
        # uvicorn re-raises the signal once it has shut down; systemd counts an exit by SIGTERM as clean
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
    assert await Registration.filter(event_id=event.id, email="spaet@example.org").count() == 1
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert [pid for pid in children if _alive(pid)] == []


@both_databases
async def test_backup_and_restore_round_trip(db, tmp_path):
    """A backup taken from the live database, restored into an empty one and over a changed one, gives back
    exactly the rows it saved."""
    kept = await make_event(title="Schwimmkurs", capacity=8)
    await registration.register(event_id=kept.id, applicant=Applicant(name="Amina", email="amina@example.org"))
    saved = await _snapshot(db)
    file = tmp_path / "events.backup"
    done = _cli(db, "backup", str(file), var_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert file.stat().st_size > 0 and not file.with_name(file.name + ".partial").exists()

    await make_event(title="Danach angelegt")  # after the backup: a restore must remove it again
    await Registration.filter(event_id=kept.id).delete()
    target = await _empty_database(db, tmp_path)
    try:
        for _ in range(2):  # into an empty database, then over the one just restored
            done = _cli(target, "restore", str(file), var_dir=tmp_path)
            assert done.returncode == 0, done.stderr
            assert await _snapshot(target) == saved
    finally:
        await _drop(target)


async def test_restore_refuses_a_missing_file_and_a_file_that_is_not_a_backup(db, tmp_path):
    missing = _cli(db, "restore", str(tmp_path / "nope.backup"), var_dir=tmp_path)
    assert missing.returncode != 0 and "no such file" in missing.stderr
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database" * 100)
    refused = _cli(db, "restore", str(junk), var_dir=tmp_path)
    assert refused.returncode != 0 and "not an SQLite backup" in refused.stderr
    assert sqlite3.connect(db.removeprefix("sqlite://")).execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def _snapshot(database_url: str) -> dict:
    """Events and registrations as plain rows, read straight from the database."""
    queries = {"event": "SELECT id, title, capacity, seats_taken, waiting FROM event ORDER BY id",
               "registration": "SELECT id, event_id, name, email, status FROM registration ORDER BY id"}
    if database_url.startswith("sqlite://"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite://"))
        try:
            return {name: [tuple(row) for row in conn.execute(sql)] for name, sql in queries.items()}
        finally:
            conn.close()
    conn = await asyncpg.connect(database_url)
    try:
        return {name: [tuple(row) for row in await conn.fetch(sql)] for name, sql in queries.items()}
    finally:
        await conn.close()


async def _empty_database(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite://"):
        return f"sqlite://{tmp_path / 'restored.sqlite3'}"
    name = f"events_restore_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


async def _drop(database_url: str) -> None:
    if database_url.startswith("sqlite://"):
        return
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


def test_each_web_process_gets_its_share_of_the_connection_budget():
    assert Settings(database_url="postgresql://x/y", db_connections=20, web_processes=4).pool_size == 5
    assert Settings(database_url="postgresql://x/y", db_connections=20, web_processes=1).pool_size == 20
    assert Settings(database_url="postgresql://x/y", db_connections=4, web_processes=8).pool_size == 2


@both_databases
async def test_postgresql_connections_stop_a_statement_after_the_timeout(db):
    config = tortoise_config(db, pool_size=3, statement_timeout=7)
    if db.startswith("sqlite://"):
        assert "server_settings" not in config["connections"]["default"]["credentials"]
        return
    credentials = config["connections"]["default"]["credentials"]
    assert credentials["maxsize"] == 3
    conn = await asyncpg.connect(db, server_settings=credentials["server_settings"])
    try:
        assert await conn.fetchval("SHOW statement_timeout") == "7s"
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.execute("SET statement_timeout = 50; SELECT pg_sleep(1)")
    finally:
        await conn.close()
