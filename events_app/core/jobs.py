"""Background jobs that make a large file for the back office (invitation letters, certificates) while
the organiser watches a progress page.

A job's status is a small JSON file under var/<kind>/ and its result a file next to it, so any server
process can show the page and hand out the file. The status says `state` (preparing, rendering, done,
failed), `step` (what the rendering is at, e.g. laying out or cutting into files), `done` of `total`
items, and the details the job was started with. The files hold personal data and are deleted after
JOB_KEEP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Awaitable, Callable

from events_app.core.timeutil import utcnow

log = logging.getLogger(__name__)

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_running: set[asyncio.Task] = set()
#: Finished files hold personal data: they are deleted after a day.
JOB_KEEP = timedelta(days=1)
#: A running job writes its status at least this often ...
HEARTBEAT = timedelta(seconds=10)
#: ... so one silent this long has lost its process (e.g. the server restarted) and is marked failed.
STALE_AFTER = timedelta(minutes=2)
RUNNING_STATES = ("preparing", "rendering")


def _jobs_dir(settings, kind: str) -> Path:
    path = Path(settings.var_dir) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_status(settings, kind: str, job_id: str, status: dict) -> None:
    path = _jobs_dir(settings, kind) / f"{job_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(path)


class Job:
    """The running job's handle: its work reports progress through it."""

    def __init__(self, settings, kind: str, job_id: str, status: dict):
        self.settings, self.kind, self.job_id, self.status = settings, kind, job_id, status

    def save(self, **changes) -> None:
        self.status.update(changes, updated=utcnow().isoformat())
        write_status(self.settings, self.kind, self.job_id, self.status)

    def progress(self, done: int, total: int, step: str = "layout") -> None:
        self.save(state="rendering", step=step, done=done, total=total)


def status(settings, *, kind: str, event_id: int, job_id: str) -> dict | None:
    """The job's status, or None for an unknown job or one of another event. A running job silent for
    STALE_AFTER is marked failed (and `interrupted`) here."""
    if not _JOB_ID.match(job_id or ""):
        return None
    path = _jobs_dir(settings, kind) / f"{job_id}.json"
    if not path.exists():
        return None
    found = json.loads(path.read_text())
    if found.get("event_id") != event_id:
        return None
    last_heard = datetime.fromisoformat(found.get("updated", found["started"]))
    if found["state"] in RUNNING_STATES and last_heard < utcnow() - STALE_AFTER:
        found.update(state="failed", interrupted=True)
        write_status(settings, kind, job_id, found)
    return found


def result(settings, *, kind: str, event_id: int, job_id: str) -> tuple[dict, bytes] | None:
    """(status, file) of a finished job, or None while it runs, after it failed, or for an unknown job."""
    found = status(settings, kind=kind, event_id=event_id, job_id=job_id)
    if not found or found["state"] != "done":
        return None
    return found, (_jobs_dir(settings, kind) / f"{job_id}.out").read_bytes()


def _purge_old_jobs(settings, kind: str) -> None:
    cutoff = time.time() - JOB_KEEP.total_seconds()
    for path in _jobs_dir(settings, kind).iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


async def start(settings, *, kind: str, event_id: int, work: Callable[[Job], Awaitable[bytes]], **details) -> str:
    """Run `work` in the background and keep the file it returns; the organiser watches `status`.

    `work` reports its progress with `Job.progress`; the job's status is also rewritten every HEARTBEAT
    so that a job whose server process ended is recognised as stalled.
    """
    _purge_old_jobs(settings, kind)
    job_id = secrets.token_urlsafe(18)
    job = Job(settings, kind, job_id, {"event_id": event_id, **details, "state": "preparing", "total": None,
                                       "done": 0, "started": utcnow().isoformat()})

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            job.save()

    async def run() -> None:
        beating = asyncio.create_task(heartbeat())
        try:
            content = await work(job)
            target = _jobs_dir(settings, kind) / f"{job_id}.out"
            target.with_suffix(".part").write_bytes(content)
            target.with_suffix(".part").replace(target)
            job.save(state="done", done=job.status["total"], finished=utcnow().isoformat())
        except Exception:
            log.exception("%s job %s failed", kind, job_id)
            job.save(state="failed")
        finally:
            beating.cancel()

    job.save()
    task = asyncio.create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return job_id
