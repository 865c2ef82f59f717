"""Backups of the whole database to one file, and restoring one: `events-app backup FILE` / `restore FILE`.

SQLite: SQLite's online backup API copies a consistent snapshot while the server keeps running (a plain
file copy can catch a half-written page or miss the WAL). Restoring writes the backup over the live
database through the same API; stop the server and the workers first.

PostgreSQL: `pg_dump --format=custom` (a consistent snapshot, no lock that blocks writers) and
`pg_restore --clean --if-exists --no-owner --single-transaction`, run with the connection from
EVENTS_DATABASE_URL. Both tools must match the server's major version (PostgreSQL 15).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class BackupFailed(Exception):
    """The backup or restore could not be done; the message says why."""


def _sqlite_path(database_url: str) -> str:
    return database_url.removeprefix("sqlite://")


def _postgres(database_url: str) -> tuple[str, dict]:
    """The URL for pg_dump/pg_restore and an environment carrying the password (never on the command line)."""
    parts = urlsplit(database_url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
        netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts._replace(scheme="postgresql")), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupFailed(f"{name} is not installed (Debian: apt-get install postgresql-client-15)")
    return found


def backup(database_url: str, target: Path) -> None:
    """Write a consistent copy of the database to `target` (replaced if it exists)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if database_url.startswith("sqlite://"):
        source = sqlite3.connect(_sqlite_path(database_url))
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
    else:
        url, env = _postgres(database_url)
        done = subprocess.run([_tool("pg_dump"), "--format=custom", "--file", str(partial), "--dbname", url],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupFailed(done.stderr.strip() or "pg_dump failed")
    partial.replace(target)  # a half-written backup never carries the final name


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup in `source`. Stop the server and workers first."""
    source = Path(source)
    if not source.is_file():
        raise BackupFailed(f"{source}: no such file")
    if database_url.startswith("sqlite://"):
        try:
            backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            backup_db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupFailed(f"{source}: not an SQLite backup ({exc})") from None
        try:
            live = sqlite3.connect(_sqlite_path(database_url))
            try:
                backup_db.backup(live)
            finally:
                live.close()
        finally:
            backup_db.close()
        return
    url, env = _postgres(database_url)
    done = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           "--dbname", url, str(source)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupFailed(done.stderr.strip() or "pg_restore failed")
