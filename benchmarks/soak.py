"""Soak test: mixed traffic at a steady rate for ten minutes against the production set-up, judged on what
must hold however long the site runs: no server error, never an oversold seat, every mail delivered
exactly once, memory that stays flat.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--quick] [--rate 60] [--users 12] [--seed 1] [--keep]

The set-up is a fresh PostgreSQL database, `events-app serve --workers 4` (four app processes sharing
EVENTS_DB_CONNECTIONS=16) and two `events-app worker` processes delivering to a local SMTP sink (aiosmtpd).
A dozen events are seeded (`events.create_event`): workshops, festivals, courses of several dates and tours,
public and for women, with 5-30 seats, most with a waiting list, some that offer a freed seat for a few hours
(`offer_hours`) instead of giving it, some that take companions, two without a waiting list. An admin and
an API token are made with `events-app user add` and `events-app token create`.

Simulated users (`--users`), each on its own keep-alive connection that it now and then opens anew as a
browser does, send requests at random moments so that together they keep `--rate` requests per second:
  browsing   the home page, event pages, the API's event list, the public calendar (also conditional, with
             the ETag it gave), event calendars, a person's own page and own calendar;
  registering through the API and the HTML form (a few repeat an address already registered, or give a
             broken one, and get their 409 or 422), some with companions;
  cancelling freed seats go to the waiting list, or are offered; people waiting for an offer look at their
             own page, and those who find an offer accept it through the API;
  back office the API's registration list and CSV export with the token, and /admin/events and an event's
             page in a session signed in through /admin/login.
An organiser closes an event's registration once its waiting list is twice its size (or it refused three
people, without a waiting list), publishes a replacement through the API, and every 20 s adds seats to an
event with people waiting: so there is always something to register for, and seats keep moving. A probe
sends GET /health twice a second on its own connection: the mixed traffic's p99 is printed against it.
A warm-up of a quarter of the run's length (at most 30 s) comes first: checked like the rest, left out of
the figures. `--quick` runs one minute (`--minutes 0.5` half of one).

Judged at the end (exit status 1 if any check fails):
  - no answer with status >= 500, no dropped connection or request without an answer in 30 s, and no
    answer the request could not get (a 404 for a person's own link, say); counts per route group and status;
  - never oversold: every 10 s during the run and at the end, for every event, the seats of its confirmed
    and offered registrations (offers hold their seats) equal `event.seats_taken`, which never exceeds the
    capacity; and the waiting-list counter `event.waiting` equals the registrations waiting;
  - nothing lost: the registrations and cancellations stored, and the mails queued for them, match the
    answers the users got;
  - every mail delivered exactly once: once traffic stops and the outbox is drained (every row sent, none
    failed), the sink received as many messages as rows are marked sent, each row's Message-ID once;
  - memory flat: the mean RSS of each app process and worker in the run's last minute is within 10 % of
    its mean in the first minute (runs under five minutes: the first and last fifth).
Also printed: throughput, p50/p99 per route group (and p99 in the same first and last windows, to show a
drift), CPU of the app processes, workers, PostgreSQL and this client (the app's per request in both
windows too), the mixed traffic's p99 against /health's, and the machine's load average, since the machine
may be shared. `--keep` keeps the server and worker logs.
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
import contextlib
import gzip
import json
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rush as _rush  # noqa: E402 (after the path is set)
_client = _rush._client  # the loadclient module rush.py loaded
Connection, RunResult = _client.Connection, _client.RunResult
cpu_seconds, peak_rss_mb, post_json, request_bytes, rss_mb = (_client.cpu_seconds, _client.peak_rss_mb,
                                                             _client.post_json, _client.request_bytes, _client.rss_mb)

APP_PROCESSES = 4
MAIL_WORKERS = 2
#: The app processes' pool together (4 each); the two workers hold 4 each: 24 of PostgreSQL's 100.
DB_CONNECTIONS = 16
ADMIN_EMAIL = "soak-admin@example.org"
ADMIN_PASSWORD = "soak-password-1"
REQUEST_TIMEOUT = 30.0
HEALTH_EVERY = 0.5
RSS_EVERY = 5.0
CHECK_EVERY = 10.0
ORGANISE_EVERY = 3.0
ADD_SEATS_EVERY = 20.0
#: Requests a user sends on one connection before opening a new one (a browser's visit).
VISIT_LENGTH = (20, 60)
MEMORY_TOLERANCE = 0.10
DRAIN_TIMEOUT = 300.0
#: Seat-holding statuses (events_app.core.models.SEAT_HOLDING): an offer holds its seats until it is
#: accepted, declined or expires.
HOLDING = ("confirmed", "offered")
LIVE = ("confirmed", "offered", "waitlisted")
WAITING = ("waitlisted", "offered")
STATUS_ON_PAGE = re.compile(rb'class="status status-([a-z]+)"')


# --- the events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A kind of event the soak keeps open: seeded with create_event, replaced through the API."""

    kind: str
    audience: str
    capacity: int
    waitlist: bool = True
    offer_hours: int = 0
    max_companions: int = 0
    dates: int = 1

    def values(self, title: str) -> dict:
        return {"kind": self.kind, "audience": self.audience, "title": title, "capacity": self.capacity,
                "waitlist": self.waitlist, "offer_hours": self.offer_hours, "max_companions": self.max_companions,
                "description": "Ein Abend mit Austausch, Getränken und Musik. " * 4, "location": "Rathaus Gießen",
                "visibility": "public"}

    def sessions(self, first: datetime) -> list[tuple[datetime, datetime]]:
        return [(first + timedelta(days=7 * n), first + timedelta(days=7 * n, hours=2)) for n in range(self.dates)]


TEMPLATES = (
    Template("workshop", "public", 12),
    Template("workshop", "public", 8, offer_hours=24, max_companions=2),
    Template("festival", "public", 30),
    Template("course", "public", 15, offer_hours=48, dates=4),
    Template("course", "women", 10, offer_hours=24, dates=3),
    Template("tour", "women", 6),
    Template("workshop", "public", 20, waitlist=False),
    Template("festival", "public", 25, offer_hours=12),
    Template("course", "public", 5, dates=2),
    Template("workshop", "public", 10, offer_hours=24, max_companions=1),
    Template("tour", "women", 8, offer_hours=24),
    Template("festival", "public", 18, waitlist=False, max_companions=2),
)


def first_date(serial: int) -> datetime:
    """Event n's first date: a week or more ahead, spread over two months."""
    today = datetime.now(timezone.utc).replace(hour=16, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 + serial % 60)


async def seed(database_url: str) -> list[int]:
    """The schema and one event per template; their ids."""
    from events_app.core import db
    from events_app.core.models import Audience, EventKind
    from events_app.seats import events
    from events_app.seats.events import SessionSpec

    await db.migrate(database_url)
    ids = []
    async with db.orm(database_url, pool_size=2):
        for serial, template in enumerate(TEMPLATES):
            values = template.values(f"{template.kind.title()} {serial}")
            values.update(kind=EventKind(template.kind), audience=Audience(template.audience))
            event = await events.create_event(values=values, sessions=[
                SessionSpec(start, end) for start, end in template.sessions(first_date(serial))])
            ids.append(event.id)
    return ids


def events_app_cli(database_url: str, var_dir: str, *args: str, stdin: str = "") -> str:
    result = subprocess.run([sys.executable, "-m", "events_app.cli", *args], input=stdin, capture_output=True,
                            text=True, env=_rush.server_env(database_url, var_dir), cwd=ROOT, timeout=120)
    if result.returncode:
        raise RuntimeError(f"events-app {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result.stdout.strip()


def make_admin_token(database_url: str, var_dir: str) -> str:
    events_app_cli(database_url, var_dir, "user", "add", ADMIN_EMAIL, "--role", "admin", "--name", "Soak",
                   stdin=ADMIN_PASSWORD + "\n")
    return events_app_cli(database_url, var_dir, "token", "create", ADMIN_EMAIL, "--label", "soak")


# --- what the users know ---------------------------------------------------------------------------


@dataclass
class Event:
    id: int
    template: Template
    capacity: int
    open: bool = True
    #: The highest waiting-list place an answer gave.
    longest_wait: int = 0
    refused_full: int = 0

    def due_for_replacement(self) -> bool:
        if self.template.waitlist:
            return self.longest_wait >= 2 * self.capacity
        return self.refused_full >= 3


@dataclass
class Person:
    token: str
    event: Event
    email: str
    #: As last seen in an answer, on the person's own page or in the back office's list.
    status: str
    registration_id: int | None = None
    #: A change of this person is in flight or queued: nobody else acts on them meanwhile.
    busy: bool = False
    #: World.clock when their last change started or ended.
    changed_at: int = 0


class World:
    """The events and people the users know of, and what the server acknowledged."""

    def __init__(self, rng: random.Random, api_token: str):
        self.rng = rng
        self.api_token = api_token
        self.session_cookie = ""
        self.calendar_etag = ""
        self.events: dict[int, Event] = {}
        self.people: list[Person] = []
        self.live: list[Person] = []
        #: Waiting for a freed seat at an event that offers it.
        self.watching: list[Person] = []
        self.by_registration: dict[int, Person] = {}
        self.offers: deque[Person] = deque()
        self.acknowledged: Counter = Counter()
        #: Moves on at the start and the end of each change a user makes; an answer read before a
        #: person's last change was over says nothing about them any more.
        self.clock = 0
        self.registered = 0

    def add_event(self, event_id: int, template: Template, capacity: int) -> Event:
        event = self.events[event_id] = Event(event_id, template, capacity)
        return event

    def open_events(self) -> list[Event]:
        return [event for event in self.events.values() if event.open]

    def any_event(self) -> Event:
        return self.rng.choice(list(self.events.values()))

    def new_applicant(self) -> dict:
        self.registered += 1
        return {"name": f"Person {self.registered}", "email": f"person{self.registered}@example.org"}

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def add_person(self, person: Person) -> None:
        self.people.append(person)
        self.live.append(person)
        if person.registration_id:
            self.by_registration[person.registration_id] = person
        if person.status == "waitlisted" and person.event.template.offer_hours:
            self.watching.append(person)

    def pick(self, pool: list[Person], wanted=lambda person: True, *, keep: tuple[str, ...] = LIVE,
             tries: int = 30) -> Person | None:
        """A random idle person of the pool for whom `wanted` holds; those whose status is no longer one
        the pool `keep`s leave it."""
        for _ in range(tries):
            if not pool:
                return None
            index = self.rng.randrange(len(pool))
            person = pool[index]
            if person.status not in keep:
                pool[index] = pool[-1]
                pool.pop()
            elif not person.busy and wanted(person):
                return person
        return None

    def saw(self, person: Person, status: str, asked_at: int) -> None:
        """The person's status as an answer asked for at `asked_at` showed it, unless a change of theirs
        was in flight or ended since; an offer seen is queued to be accepted."""
        if person.busy or person.changed_at > asked_at or person.status == "cancelled":
            return
        person.status = status
        if status == "offered":
            person.busy = True
            self.offers.append(person)

    def changing(self, person: Person) -> None:
        person.busy = True
        person.changed_at = self.tick()

    def changed(self, person: Person, status: str | None) -> None:
        if status:
            person.status = status
        person.busy = False
        person.changed_at = self.tick()


# --- the record of every request -------------------------------------------------------------------


@dataclass
class Answer:
    at: float
    group: str
    status: int  # 0: no answer (dropped connection or timeout)
    kind: str  # the problem's slug of a 4xx, "dropped" or "timeout"
    latency: float


@dataclass
class Stats:
    began: float = field(default_factory=time.perf_counter)
    run_from: float = 0.0
    run_until: float = 0.0
    answers: list[Answer] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def in_run(self, answer: Answer) -> bool:
        return self.run_from <= answer.at <= self.run_until

    def run_answers(self) -> list[Answer]:
        return [answer for answer in self.answers if self.in_run(answer)]


def body_text(reply) -> str:
    body = reply.body
    if reply.headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode("utf-8", "replace")


def problem_slug(reply) -> str:
    if reply.status < 400 or "problem+json" not in reply.headers.get("content-type", ""):
        return ""
    try:
        return str(json.loads(body_text(reply)).get("type", "")).rsplit("/", 1)[-1]
    except ValueError:
        return ""


def describe(request: bytes, reply, elapsed: float) -> str:
    head, _, body = request.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    shown = f"  at {elapsed:.1f} s: {line}" + (f" {body[:300].decode('utf-8', 'replace')}" if body else "")
    if reply is not None:
        shown += f"\n    -> {reply.status}: {body_text(reply)[:400]!r}"
    return shown


# --- clients ---------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection; every request and its answer go into the stats."""

    def __init__(self, port: int, stats: Stats, rng: random.Random):
        self.port, self.host, self.stats, self.rng = port, f"127.0.0.1:{port}", stats, rng
        self.connection: Connection | None = None
        self.left_on_connection = 0

    async def send(self, group: str, request: bytes, expected: tuple[int, ...]):
        """The answer, or None when there was none; an answer not in `expected` is noted."""
        began = time.perf_counter()
        try:
            if self.connection is None or self.left_on_connection <= 0:
                self.close()
                self.connection = await Connection("127.0.0.1", self.port).open()
                self.left_on_connection = self.rng.randint(*VISIT_LENGTH)
            self.left_on_connection -= 1
            reply = await asyncio.wait_for(self.connection.send(request), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
            kind = "timeout" if isinstance(exc, asyncio.TimeoutError) else "dropped"
            self.stats.answers.append(Answer(began, group, 0, kind, time.perf_counter() - began))
            self.stats.server_errors.append(f"{describe(request, None, began - self.stats.began)}\n"
                                            f"    -> {kind}: {exc!r}")
            self.close()
            return None
        self.stats.answers.append(Answer(began, group, reply.status, problem_slug(reply), time.perf_counter() - began))
        if reply.status >= 500:
            self.stats.server_errors.append(describe(request, reply, began - self.stats.began))
        elif reply.status not in expected:
            self.stats.unexpected.append(describe(request, reply, began - self.stats.began))
        return reply

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def get(self, path: str, **headers: str) -> bytes:
        return request_bytes("GET", path, host=self.host, headers={"Accept-Encoding": "gzip", **headers})

    def api(self, method: str, path: str, token: str, payload: dict | None = None) -> bytes:
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return request_bytes(method, path, host=self.host, body=body, headers=headers)


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` unless `stop` is set first; whether it was."""
    try:
        await asyncio.wait_for(stop.wait(), max(seconds, 0))
        return True
    except asyncio.TimeoutError:
        return stop.is_set()


class User(Client):
    """A visitor, a registrant or an organiser at the back office, one request at a time."""

    def __init__(self, port: int, stats: Stats, rng: random.Random, world: World):
        super().__init__(port, stats, rng)
        self.world = world

    async def run(self, stop: asyncio.Event, mean_gap: float) -> None:
        """Requests at random moments (Poisson), on average `mean_gap` apart; no burst to catch up."""
        next_at = time.perf_counter() + self.rng.uniform(0, mean_gap)
        while not await sleep_unless(stop, next_at - time.perf_counter()):
            next_at = max(next_at, time.perf_counter() - mean_gap) + self.rng.expovariate(1 / mean_gap)
            action = self.rng.choices(MIX_ACTIONS, weights=MIX_WEIGHTS)[0]
            if not await action(self):
                await self.event_page()
        self.close()

    # browsing

    async def home(self) -> bool:
        await self.send("home", self.get("/"), (200,))
        return True

    async def event_page(self) -> bool:
        await self.send("event page", self.get(f"/events/{self.world.any_event().id}"), (200,))
        return True

    async def api_events(self) -> bool:
        await self.send("api events", self.get("/api/v1/events?limit=20", Accept="application/json"), (200,))
        return True

    async def calendar(self) -> bool:
        reply = await self.send("calendar", self.get("/calendar.ics"), (200,))
        if reply is not None and reply.status == 200:
            self.world.calendar_etag = reply.headers.get("etag", "")
        return True

    async def calendar_again(self) -> bool:
        """A calendar client asking whether its copy is still current (304) or not (200)."""
        if not self.world.calendar_etag:
            return await self.calendar()
        request = self.get("/calendar.ics", **{"If-None-Match": self.world.calendar_etag})
        reply = await self.send("calendar 304", request, (200, 304))
        if reply is not None and reply.status == 200:
            self.world.calendar_etag = reply.headers.get("etag", "")
        return True

    async def event_calendar(self) -> bool:
        await self.send("event ics", self.get(f"/events/{self.world.any_event().id}.ics"), (200,))
        return True

    async def own_page(self, person: Person | None = None, suffix: str = "") -> bool:
        """A person looks at their own page; waiting people of events with offers look most often."""
        world = self.world
        if person is None:
            person = ((self.rng.random() < 0.5 and world.pick(world.watching, keep=WAITING))
                      or world.pick(world.live))
        if person is None:
            return False
        asked_at = world.clock
        reply = await self.send("own page", self.get(f"/r/{person.token}{suffix}"), (200,))
        if reply is not None and reply.status == 200:
            found = STATUS_ON_PAGE.search(body_text(reply).encode())
            if found:
                world.saw(person, found.group(1).decode(), asked_at)
        return True

    async def own_calendar(self) -> bool:
        person = self.world.pick(self.world.live)
        if person is None:
            return False
        await self.send("own ics", self.get(f"/r/{person.token}/calendar.ics"), (200,))
        return True

    # registering

    def applicant(self, event: Event) -> tuple[dict, tuple[int, ...], Person | None]:
        """What a person sends, what they may get back, and (for a repeated address) who registered it before."""
        world = self.world
        roll = self.rng.random()
        if roll < 0.03:
            earlier = world.pick(world.live, lambda person: person.event.open)
            if earlier is not None:
                return {"name": "Noch Einmal", "email": earlier.email}, (409,), earlier
        if roll < 0.05:
            return {"name": "Tippfehler", "email": "kein-at-zeichen.example.org"}, (422,), None
        data = world.new_applicant()
        if event.template.max_companions and self.rng.random() < 0.4:
            data["companions"] = self.rng.randint(1, event.template.max_companions)
        return data, (201, 409), None

    def registering_event(self) -> Event:
        open_events = self.world.open_events()
        return self.rng.choice(open_events) if open_events else self.world.any_event()

    async def register_api(self) -> bool:
        event = self.registering_event()
        data, expected, earlier = self.applicant(event)
        if earlier is not None:
            event = earlier.event
        if event.template.audience == "women":
            data["women_only"] = True
        reply = await self.send("register api", post_json(f"/api/v1/events/{event.id}/registrations", data,
                                                          host=self.host), expected)
        if reply is None:
            return True
        if reply.status == 201:
            answer = reply.json()
            self.world.acknowledged["registrations"] += 1
            self.world.add_person(Person(answer["manage_url"].rsplit("/r/", 1)[1], event, data["email"],
                                         answer["status"], answer["id"]))
            event.longest_wait = max(event.longest_wait, answer["waitlist_position"] or 0)
        elif problem_slug(reply) == "event-full":
            event.refused_full += 1
        return True

    async def register_form(self) -> bool:
        """The HTML form; a browser follows the 303 to the person's new page."""
        event = self.registering_event()
        data, expected, earlier = self.applicant(event)
        if earlier is not None:
            event = earlier.event
        if event.template.audience == "women":
            data["women_only"] = "yes"
        expected = tuple(303 if status == 201 else status for status in expected)
        request = request_bytes("POST", f"/events/{event.id}/register", host=self.host,
                                body=urlencode(data).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded",
                                         "Accept-Encoding": "gzip"})
        reply = await self.send("register form", request, expected)
        if reply is None or reply.status != 303:
            if reply is not None and reply.status == 409 and earlier is None:  # full (or just closed)
                event.refused_full += 1
            return True
        self.world.acknowledged["registrations"] += 1
        token = reply.headers["location"].split("/r/", 1)[1].split("?", 1)[0]
        person = Person(token, event, data["email"], "unknown")
        await self.own_page(person, "?new=1")
        self.world.add_person(person)
        return True

    async def cancel(self) -> bool:
        """Mostly people holding a seat (which moves the waiting list), some who are waiting."""
        world = self.world
        holding = self.rng.random() < 0.7
        person = world.pick(world.live, lambda p: (p.status in HOLDING) == holding) or world.pick(world.live)
        if person is None:
            return False
        world.changing(person)
        reply = await self.send("cancel", post_json(f"/api/v1/registrations/{person.token}/cancel", {},
                                                    host=self.host), (200,))
        cancelled = reply is not None and reply.status == 200
        world.acknowledged["cancellations"] += cancelled
        world.changed(person, "cancelled" if cancelled else None)
        return True

    async def accept(self) -> bool:
        if not self.world.offers:  # nobody knows of an offer yet: someone waiting looks
            return await self.own_page(self.world.pick(self.world.watching, keep=WAITING))
        person = self.world.offers.popleft()
        self.world.changing(person)
        reply = await self.send("accept", post_json(f"/api/v1/registrations/{person.token}/accept", {},
                                                    host=self.host), (200,))
        accepted = reply is not None and reply.status == 200
        self.world.acknowledged["accepted offers"] += accepted
        self.world.changed(person, "confirmed" if accepted else None)
        return True

    # back office

    async def registration_list(self) -> bool:
        world = self.world
        event = world.any_event()
        asked_at = world.clock
        reply = await self.send("bo list", self.api("GET", f"/api/v1/events/{event.id}/registrations",
                                                    world.api_token), (200,))
        if reply is not None and reply.status == 200:
            for row in reply.json():
                person = world.by_registration.get(row["id"])
                if person is not None:
                    world.saw(person, row["status"], asked_at)
        return True

    async def export(self) -> bool:
        event = self.world.any_event()
        await self.send("bo export", self.api("GET", f"/api/v1/events/{event.id}/export.csv", self.world.api_token),
                        (200,))
        return True

    async def admin_pages(self) -> bool:
        path = "/admin/events" if self.rng.random() < 0.5 else f"/admin/events/{self.world.any_event().id}"
        await self.send("admin pages", self.get(path, Cookie=self.world.session_cookie), (200,))
        return True


#: The mix, as weights: browsing 64, registering 14 (a form registration then loads the page it is sent
#: to), cancelling 5, accepting offers 3 (looking for one while none is known), back office 9.
MIX = ((User.home, 10), (User.event_page, 14), (User.api_events, 8), (User.calendar, 3), (User.calendar_again, 7),
       (User.event_calendar, 5), (User.own_page, 12), (User.own_calendar, 5), (User.register_api, 9),
       (User.register_form, 5), (User.cancel, 5), (User.accept, 3), (User.registration_list, 4),
       (User.export, 2), (User.admin_pages, 3))
MIX_ACTIONS = [action for action, _ in MIX]
MIX_WEIGHTS = [weight for _, weight in MIX]


class Organiser(Client):
    """Closes events with long waiting lists, publishes replacements, adds seats now and then (API, token)."""

    def __init__(self, port: int, stats: Stats, rng: random.Random, world: World):
        super().__init__(port, stats, rng)
        self.world = world
        self.published = len(world.events)

    async def run(self, stop: asyncio.Event) -> None:
        seats_added_at = time.perf_counter()
        while not await sleep_unless(stop, ORGANISE_EVERY):
            for event in [e for e in self.world.open_events() if e.due_for_replacement()]:
                await self.replace(event)
            if time.perf_counter() - seats_added_at >= ADD_SEATS_EVERY:
                seats_added_at = time.perf_counter()
                await self.add_seats()
        self.close()

    async def replace(self, event: Event) -> None:
        world = self.world
        closing = {"registration_closes_at": datetime.now(timezone.utc).isoformat()}
        await self.send("organise", self.api("PATCH", f"/api/v1/events/{event.id}", world.api_token, closing), (200,))
        event.open = False
        template = event.template
        payload = template.values(f"{template.kind.title()} {self.published}")
        payload["sessions"] = [{"starts_at": start.isoformat(), "ends_at": end.isoformat()}
                               for start, end in template.sessions(first_date(self.published))]
        reply = await self.send("organise", self.api("POST", "/api/v1/events", world.api_token, payload), (201,))
        if reply is not None and reply.status == 201:
            self.published += 1
            world.add_event(reply.json()["id"], template, template.capacity)

    async def add_seats(self) -> None:
        waiting = [e for e in self.world.events.values() if e.template.waitlist and e.longest_wait]
        if not waiting:
            return
        event = self.rng.choice(waiting)
        change = {"capacity": event.capacity + self.rng.randint(1, 3)}
        reply = await self.send("organise", self.api("PATCH", f"/api/v1/events/{event.id}", self.world.api_token,
                                                     change), (200,))
        if reply is not None and reply.status == 200:
            event.capacity = reply.json()["capacity"]


async def probe_health(client: Client, stop: asyncio.Event) -> None:
    while not await sleep_unless(stop, HEALTH_EVERY):
        await client.send("health", client.get("/health"), (200,))
    client.close()


async def sign_in(client: Client) -> str:
    """Through /admin/login with its CSRF cookie, as a browser does; the session cookie."""
    page = await client.send("admin sign-in", client.get("/admin/login"), (200,))
    csrf = next(c.split(";", 1)[0] for c in page.cookies if c.startswith("bo_login_csrf="))
    form = urlencode({"csrf_token": csrf.split("=", 1)[1], "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    reply = await client.send("admin sign-in", request_bytes(
        "POST", "/admin/login", host=client.host, body=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": csrf}), (303,))
    return next(c.split(";", 1)[0] for c in reply.cookies if c.startswith("bo_session="))


# --- watching the server ---------------------------------------------------------------------------


INVARIANT_SQL = """
SELECT e.id, e.capacity, e.seats_taken, e.waiting,
       COALESCE(SUM(r.seats) FILTER (WHERE r.status IN ('confirmed', 'offered')), 0) AS held,
       COUNT(r.id) FILTER (WHERE r.status = 'waitlisted') AS waitlisted
  FROM event e LEFT JOIN registration r ON r.event_id = e.id
 GROUP BY e.id ORDER BY e.id
"""


@dataclass
class Watch:
    """Samples taken during the run: every process's RSS and CPU, the machine's load, the seat invariants."""

    processes: dict[int, str]
    #: Per process: (time, RSS in MB, CPU seconds so far).
    samples: dict[int, list[tuple[float, float, float]]] = field(default_factory=dict)
    #: (time, the machine's 1-minute load average): the machine is shared.
    load: list[tuple[float, float]] = field(default_factory=list)
    #: Per process at the end of the run: peak RSS (MB) and CPU seconds since it started.
    peaks: dict[int, float] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)
    seat_problems: list[str] = field(default_factory=list)
    waiting_problems: list[str] = field(default_factory=list)
    checks: int = 0
    longest_backlog: int = 0

    async def check_seats(self, database_url: str, at: float) -> tuple[int, int]:
        """One consistent look (one statement) at every event; (events, events full)."""
        rows = await _rush._query(database_url, INVARIANT_SQL)
        self.checks += 1
        for event_id, capacity, taken, waiting, held, waitlisted in rows:
            if held != taken or taken > capacity:
                self.seat_problems.append(f"at {at:.0f} s event {event_id}: capacity {capacity}, seats_taken {taken},"
                                          f" seats of confirmed and offered registrations {held}")
            if waiting != waitlisted:
                self.waiting_problems.append(f"at {at:.0f} s event {event_id}: waiting {waiting},"
                                             f" registrations waiting {waitlisted}")
        return len(rows), sum(1 for row in rows if row[2] >= row[1])

    def sample(self, at: float) -> None:
        for pid in self.processes:
            self.samples.setdefault(pid, []).append((at, rss_mb(pid), cpu_seconds([pid])))
        self.load.append((at, os.getloadavg()[0]))

    def app_cpu(self, start: float, end: float) -> tuple[float, float, float]:
        """CPU seconds the app processes used between the first and the last sample inside [start, end],
        and the times of those samples."""
        used, span = 0.0, (start, start)
        for pid, samples in self.samples.items():
            inside = [(at, cpu) for at, _, cpu in samples if start <= at <= end]
            if self.processes[pid].startswith("app") and inside:
                used += inside[-1][1] - inside[0][1]
                span = (inside[0][0], inside[-1][0])
        return used, *span

    def note_totals(self) -> None:
        for pid in self.processes:
            self.peaks[pid], self.cpu[pid] = peak_rss_mb(pid), cpu_seconds([pid])


async def outbox_states(database_url: str) -> dict[str, int]:
    return dict(await _rush._query(database_url, "SELECT state, count(*) FROM outbox_message GROUP BY state"))


async def watch(database_url: str, stats: Stats, world: World, watched: Watch, stop: asyncio.Event,
                report_every: float) -> None:
    """RSS and CPU every few seconds, the invariants every 10 s, a progress line now and then."""
    last_check = last_report = time.perf_counter()
    while not await sleep_unless(stop, RSS_EVERY):
        now = time.perf_counter()
        watched.sample(now)
        if now - last_check < CHECK_EVERY:
            continue
        last_check = now
        events, full = await watched.check_seats(database_url, now - stats.began)
        states = await outbox_states(database_url)
        backlog = sum(count for state, count in states.items() if state != "sent")
        watched.longest_backlog = max(watched.longest_backlog, backlog)
        if now - last_report >= report_every:
            last_report = now
            recent = [a for a in stats.answers if a.at >= now - report_every and a.group != "health"]
            latencies = RunResult([], [a.latency for a in recent] or [0.0], report_every, 0.0)
            app_rss = [samples[-1][1] for pid, samples in watched.samples.items()
                       if watched.processes[pid].startswith("app")]
            print(f"  {now - stats.began:5.0f} s  {len(recent) / report_every:5.1f} req/s  p99"
                  f" {latencies.percentile(0.99) * 1000:5.0f} ms  5xx/dropped {len(stats.server_errors)}"
                  f"  unexpected {len(stats.unexpected)}  events {events} ({full} full, {len(world.open_events())}"
                  f" open)  people {len(world.people)}  mails not yet sent {backlog}"
                  f"  app RSS {' '.join(f'{mb:.0f}' for mb in app_rss)} MB"
                  f"  seat problems {len(watched.seat_problems)}  load {watched.load[-1][1]:.1f}", flush=True)


# --- mail ------------------------------------------------------------------------------------------


class MessageSink(_rush.Sink):
    """rush.py's counting sink that also notes each message's Message-ID."""

    def __init__(self):
        super().__init__()
        self.message_ids: Counter = Counter()

    async def handle_DATA(self, server, session, envelope) -> str:
        message_id = BytesHeaderParser().parsebytes(envelope.content).get("Message-ID", "").strip()
        with self._lock:
            self.message_ids[message_id] += 1
        return await super().handle_DATA(server, session, envelope)


def start_worker(database_url: str, var_dir: str, smtp_port: int, number: int) -> subprocess.Popen:
    env = _rush.server_env(database_url, var_dir, EVENTS_SMTP_HOST="127.0.0.1", EVENTS_SMTP_PORT=str(smtp_port))
    log = open(Path(var_dir) / f"worker-{number}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "events_app.cli", "worker"], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)


async def drain(database_url: str, sink: MessageSink) -> tuple[dict[str, int], float]:
    """Wait until no mail is queued, being sent or waiting for a retry; the states and the seconds it took."""
    began = time.perf_counter()
    while True:
        states = await outbox_states(database_url)
        if not set(states) - {"sent", "failed"} or time.perf_counter() - began > DRAIN_TIMEOUT:
            break
        await asyncio.sleep(0.5)
    deadline = time.perf_counter() + 10  # the sink holds at least what the database marks sent
    while sink.count < states.get("sent", 0) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    return states, time.perf_counter() - began


async def mail_problems(database_url: str, sink: MessageSink, states: dict[str, int]) -> list[str]:
    problems = []
    left = {state: count for state, count in states.items() if state != "sent"}
    if left:
        problems.append(f"outbox not drained: {left}")
    sent_ids = Counter(row[0] for row in await _rush._query(
        database_url, "SELECT message_id FROM outbox_message WHERE state = 'sent'"))
    if sink.count != sum(sent_ids.values()):
        problems.append(f"the sink received {sink.count} messages, {sum(sent_ids.values())} rows are marked sent")
    twice = {mid: n for mid, n in sink.message_ids.items() if n > 1}
    if twice:
        problems.append(f"{len(twice)} Message-IDs arrived more than once, e.g. {list(twice.items())[:5]}")
    if set(sink.message_ids) != set(sent_ids):
        lost = set(sent_ids) - set(sink.message_ids)
        stray = set(sink.message_ids) - set(sent_ids)
        problems.append(f"{len(lost)} rows marked sent never arrived (e.g. {sorted(lost)[:3]}), "
                        f"{len(stray)} messages arrived for no sent row (e.g. {sorted(stray)[:3]})")
    return problems


async def stored_problems(database_url: str, world: World) -> list[str]:
    """What the users were told against what is stored: registrations, cancellations and their mails."""
    registrations = dict(await _rush._query(database_url, "SELECT status, count(*) FROM registration GROUP BY status"))
    mails = dict(await _rush._query(database_url, "SELECT template, count(*) FROM outbox_message GROUP BY template"))
    told = world.acknowledged
    expected_and_found = [
        ("registrations", told["registrations"], sum(registrations.values())),
        ("cancelled registrations", told["cancellations"], registrations.get("cancelled", 0)),
        ("confirmation and waiting-list mails (registrations + accepted offers)",
         told["registrations"] + told["accepted offers"], mails.get("confirmed", 0) + mails.get("waitlisted", 0)),
        ("cancellation mails", told["cancellations"], mails.get("cancelled", 0)),
    ]
    return [f"{what}: {expected} acknowledged, {found} stored" for what, expected, found in expected_and_found
            if expected != found]


# --- figures and checks ----------------------------------------------------------------------------


def memory_windows(run_seconds: float) -> float:
    """The length of the first and the last window whose mean RSS is compared."""
    return 60.0 if run_seconds >= 300 else run_seconds / 5


def memory_lines(watched: Watch, stats: Stats) -> tuple[list[str], bool]:
    window = memory_windows(stats.run_until - stats.run_from)
    lines, flat = [], True
    for pid, name in watched.processes.items():
        samples = watched.samples.get(pid, [])
        first = [mb for at, mb, _ in samples if stats.run_from <= at < stats.run_from + window]
        last = [mb for at, mb, _ in samples if stats.run_until - window <= at <= stats.run_until]
        if not first or not last or min(first + last) == 0:
            lines.append(f"    {name} (pid {pid}): gone during the run or not sampled")
            flat = False
            continue
        before, after = sum(first) / len(first), sum(last) / len(last)
        change = after / before - 1
        ok = change <= MEMORY_TOLERANCE
        flat = flat and ok
        lines.append(f"    {name:<9} (pid {pid}): {before:6.1f} MB -> {after:6.1f} MB ({change:+.1%}),"
                     f" peak {watched.peaks.get(pid, 0):.0f} MB, CPU {watched.cpu.get(pid, 0):.1f} s"
                     f"{'' if ok else '  <-- grew'}")
    return lines, flat


def p99_ms(latencies: list[float]) -> str:
    return f"{RunResult([], latencies, 1.0, 0.0).percentile(0.99) * 1000:.1f}" if latencies else "-"


def print_traffic(stats: Stats, cpu: dict[str, float], watched: Watch) -> None:
    """Throughput, latency per route group (also in the first and last window, to show a drift), CPU."""
    answers = stats.run_answers()
    seconds = stats.run_until - stats.run_from
    window = memory_windows(seconds)
    early_end, late_start = stats.run_from + window, stats.run_until - window
    mixed = [a for a in answers if a.group != "health"]
    health = [a for a in answers if a.group == "health"]
    print(f"\ntraffic in the measured {seconds:.0f} s: {len(mixed)} requests, {len(mixed) / seconds:.1f}/s"
          f" (+ {len(health)} health probes); all phases: {len(stats.answers)} requests")
    print(f"  {'route group':<15}{'requests':>9}{'p50 ms':>8}{'p99 ms':>8}{'p99 first':>10}{'p99 last':>9}"
          f"   statuses (whole run, warm-up included)")
    rows = [(group, [a for a in answers if a.group == group])
            for group in sorted({a.group for a in stats.answers}, key=lambda g: (g == "health", g))]
    for group, measured in rows + [("mixed traffic", mixed)]:
        counts = Counter((a.status, a.kind) for a in stats.answers if a.group == group)
        shown = ", ".join(f"{status}{' ' + kind if kind else ''}: {n}" for (status, kind), n in sorted(counts.items()))
        if not measured:
            print(f"  {group:<15}{'':>9}{'':>8}{'':>8}{'':>10}{'':>9}   {shown}")
            continue
        result = RunResult([], [a.latency for a in measured], seconds, 0.0)
        print(f"  {group:<15}{len(measured):>9}{result.percentile(0.5) * 1000:>8.1f}"
              f"{result.percentile(0.99) * 1000:>8.1f}{p99_ms([a.latency for a in measured if a.at < early_end]):>10}"
              f"{p99_ms([a.latency for a in measured if a.at >= late_start]):>9}   {shown}")
    print(f"  (p99 first / last: in the run's first and last {window:.0f} s)")
    all_mixed = RunResult([], [a.latency for a in mixed], seconds, 0.0)
    probe = RunResult([], [a.latency for a in health], seconds, 0.0)
    print(f"  p99 of the mixed traffic / p99 of GET /health: {all_mixed.percentile(0.99) / probe.percentile(0.99):.1f}"
          f" (p50: {all_mixed.percentile(0.5) / probe.percentile(0.5):.1f})")
    requests = len(mixed) + len(health)
    print(f"  CPU per second of the run: app processes {cpu['app'] / seconds:.2f}"
          f" ({cpu['app'] / requests * 1000:.2f} ms/request), mail workers {cpu['workers'] / seconds:.2f},"
          f" PostgreSQL {cpu['database'] / seconds:.2f}, this client {cpu['client'] / seconds:.2f}"
          f" ({cpu['client'] / max(cpu['app'], 1e-9):.2f} x the app's)")
    per_request = []
    for start, end in ((stats.run_from, early_end), (late_start, stats.run_until)):
        used, first, last = watched.app_cpu(start, end)
        count = sum(1 for a in answers if first <= a.at < last)
        per_request.append(used / count * 1000 if count else None)
    if None not in per_request:  # a window holds at least two samples
        print(f"  app CPU per request in the first {window:.0f} s: {per_request[0]:.2f} ms,"
              f" in the last {window:.0f} s: {per_request[1]:.2f} ms")
    load = [value for at, value in watched.load if stats.run_from <= at <= stats.run_until]
    if load:
        print(f"  the machine's load average (1 min, {os.cpu_count()} cores) during the run: mean"
              f" {sum(load) / len(load):.1f}, highest {max(load):.1f}")


def log_excerpt(var_dir: str, limit: int = 80) -> list[str]:
    """The server's and workers' error lines with the tracebacks after them."""
    lines = []
    for path in sorted(Path(var_dir).glob("*.log")):
        keep = 0
        for line in path.read_text(errors="replace").splitlines():
            if (" ERROR " in line or " CRITICAL " in line or " WARNING " in line
                    or line.startswith(("ERROR", "CRITICAL", "WARNING", "Traceback"))):
                keep = 30
            if keep:
                lines.append(f"    {path.name}: {line}")
                keep -= 1
            if len(lines) >= limit:
                return lines
    return lines


def print_checks(checks: list[tuple[str, bool, list[str]]]) -> bool:
    print("\nchecks:")
    for title, ok, details in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {title}")
        for line in details:
            print(line if line.startswith("    ") else f"        {line}")
    return all(ok for _, ok, _ in checks)


# --- the run ---------------------------------------------------------------------------------------


async def create_database() -> tuple[str, str]:
    import asyncpg

    name = f"events_soak_{os.getpid()}"
    admin = await asyncpg.connect(_rush.PG_ADMIN, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _rush.PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


async def drop_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(_rush.PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def app_processes(server_pid: int) -> list[int]:
    """The server's app processes, once all of them have started."""
    deadline = time.monotonic() + 60
    while True:
        found = _client.ServerMeter(server_pid).app_processes()
        if len(found) >= APP_PROCESSES or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


async def run_for(seconds: float, tasks: list[asyncio.Task]) -> None:
    """Let the traffic run `seconds`; what a task raised (a fault of this script) is raised at once."""
    done, _ = await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_EXCEPTION)
    for task in done:
        task.result()


def stop_process(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


async def soak(database_url: str, var_dir: str, *, seconds: float, warmup: float, rate: float, users: int,
               seed_value: int) -> bool:
    from aiosmtpd.controller import Controller

    event_ids = await seed(database_url)
    api_token = make_admin_token(database_url, var_dir)
    sink = MessageSink()
    smtp_port = _client.free_port()
    with contextlib.ExitStack() as running:  # stopped in reverse: workers, server, sink
        controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        running.callback(controller.stop)
        server, port = _rush.start_server(database_url, var_dir, APP_PROCESSES, "uvicorn")
        running.callback(_rush.stop_server, server)
        workers = []
        for number in range(1, MAIL_WORKERS + 1):
            workers.append(start_worker(database_url, var_dir, smtp_port, number))
            running.callback(stop_process, workers[-1])
        rng = random.Random(seed_value)
        stats = Stats()
        world = World(rng, api_token)
        for event_id, template in zip(event_ids, TEMPLATES):
            world.add_event(event_id, template, template.capacity)
        world.session_cookie = await sign_in(Client(port, stats, rng))
        app_pids = await app_processes(server.pid)
        watched = Watch({**{pid: f"app {n}" for n, pid in enumerate(app_pids, 1)},
                         **{w.pid: f"worker {n}" for n, w in enumerate(workers, 1)}})
        print(f"soak: {seconds / 60:g} min at {rate:g} requests/s from {users} users after {warmup:.0f} s of warm-up;"
              f" {len(app_pids)} app processes, {len(workers)} mail workers, PostgreSQL, {len(event_ids)} events",
              flush=True)
        stop, stop_watching = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(User(port, stats, random.Random(rng.random()), world).run(stop, users / rate))
                 for _ in range(users)]
        tasks.append(asyncio.create_task(Organiser(port, stats, random.Random(rng.random()), world).run(stop)))
        tasks.append(asyncio.create_task(probe_health(Client(port, stats, rng), stop)))
        watcher = asyncio.create_task(watch(database_url, stats, world, watched, stop_watching,
                                            report_every=max(10.0, seconds / 20)))
        await run_for(warmup, [*tasks, watcher])
        database_pids = _rush.database_processes(database_url)
        meters = {"app": _client.process_tree(server.pid), "workers": [w.pid for w in workers],
                  "database": database_pids}
        began_cpu = {name: cpu_seconds(pids) for name, pids in meters.items()}
        began_client = time.process_time()
        stats.run_from = time.perf_counter()
        await run_for(seconds, [*tasks, watcher])
        stats.run_until = time.perf_counter()
        cpu = {name: cpu_seconds(pids) - began_cpu[name] for name, pids in meters.items()}
        cpu["client"] = time.process_time() - began_client
        watched.note_totals()
        stop.set()
        await asyncio.gather(*tasks)
        print("traffic stopped; waiting for the outbox to drain", flush=True)
        states, drain_seconds = await drain(database_url, sink)
        stop_watching.set()
        await watcher
        await watched.check_seats(database_url, time.perf_counter() - stats.began)
        restarted = sorted(set(_client.ServerMeter(server.pid).app_processes()) ^ set(app_pids))

    print_traffic(stats, cpu, watched)
    memory, flat = memory_lines(watched, stats)
    mail = await mail_problems(database_url, sink, states)
    stored = await stored_problems(database_url, world)
    errors = stats.server_errors + ([f"app processes changed during the run: {restarted}"] if restarted else [])
    checks = [
        (f"no answer >= 500, no dropped connection or timeout ({len(stats.answers)} requests)", not errors,
         errors[:10] + (log_excerpt(var_dir) if errors else [])),
        (f"every answer one the request could get ({len(stats.unexpected)} others)", not stats.unexpected,
         stats.unexpected[:10] + (log_excerpt(var_dir) if stats.unexpected else [])),
        (f"never oversold: seats of confirmed and offered registrations = seats_taken <= capacity, every event, "
         f"{watched.checks} looks", not watched.seat_problems, watched.seat_problems[:10]),
        (f"waiting-list counter = registrations waiting, every event, {watched.checks} looks",
         not watched.waiting_problems, watched.waiting_problems[:10]),
        (f"nothing lost: {world.acknowledged['registrations']} registrations, "
         f"{world.acknowledged['cancellations']} cancellations, {world.acknowledged['accepted offers']} accepted "
         f"offers acknowledged, and their mails, all stored", not stored, stored),
        (f"every mail delivered exactly once: {sink.count} received, {states.get('sent', 0)} rows sent, "
         f"{len(sink.message_ids)} distinct Message-IDs; drained {drain_seconds:.1f} s after the traffic,"
         f" at most {watched.longest_backlog} waiting during the run", not mail, mail),
        (f"memory flat: mean RSS of the last {memory_windows(seconds):.0f} s within {MEMORY_TOLERANCE:.0%} of the"
         f" first {memory_windows(seconds):.0f} s, every process", flat, memory),
    ]
    return print_checks(checks)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=None, help="length of the measured run (default 10)")
    parser.add_argument("--quick", action="store_true", help="one minute")
    parser.add_argument("--rate", type=float, default=60.0, help="requests per second, all users together")
    parser.add_argument("--users", type=int, default=12, help="simulated users, one connection each")
    parser.add_argument("--seed", type=int, default=1, help="of the users' random choices")
    parser.add_argument("--keep", action="store_true", help="keep the server's and workers' logs")
    args = parser.parse_args()
    minutes = args.minutes if args.minutes is not None else (1.0 if args.quick else 10.0)
    seconds = minutes * 60
    os.environ["EVENTS_DB_CONNECTIONS"] = str(DB_CONNECTIONS)  # the app processes inherit it (server_env)
    try:
        database_url, name = await create_database()
    except OSError as exc:
        print(f"soak: PostgreSQL at {_rush.PG_ADMIN} not reachable ({exc})")
        return 1
    var_dir = tempfile.mkdtemp(prefix="soak-")
    try:
        passed = await soak(database_url, var_dir, seconds=seconds, warmup=min(30.0, seconds / 4), rate=args.rate,
                            users=args.users, seed_value=args.seed)
    finally:
        await drop_database(name)
        if args.keep:
            print(f"logs kept in {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
