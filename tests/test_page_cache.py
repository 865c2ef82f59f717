"""The page cache (web/page_cache.py) with the database's change stamps (migration 0016): a kept public page
is sent again without building it, and any change, by this process or another, by the ORM or by raw SQL,
shows on the very next request. A negative control drops the trigger and finds the stale page."""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import timedelta
from pathlib import Path

import asyncpg
import icalendar
import pytest
from tortoise import connections

from events_app.core import stamps
from events_app.core.models import Event, EventSession, Question
from events_app.seats import registration
from events_app.seats.registration import Applicant
from events_app.web import page_cache, pages
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, counted, in_days, make_event

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ["/", "/events/{id}", "/api/v1/events", "/api/v1/events/{id}", "/calendar.ics", "/events/{id}.ics",
          "/calendar/workshop.ics"]


async def _get(client, path: str, **headers):
    """The answer and the number of ORM statements it took (0: sent from the cache)."""
    with counted() as queries:
        response = await client.get(path, headers=headers)
    assert response.status_code in (200, 304), (path, response.status_code, response.text[:300])
    return response, len(queries)


async def _pages(client, event_id: int, **headers) -> dict[str, tuple]:
    return {path: await _get(client, path.format(id=event_id), **headers) for path in PUBLIC}


async def _other_connection(db: str):
    """A connection of its own, as another process (a second web process, the worker) would write."""
    if db.startswith("sqlite://"):
        import aiosqlite

        conn = await aiosqlite.connect(db.removeprefix("sqlite://"), isolation_level=None)
        return conn, lambda sql, *args: conn.execute(sql.replace("$1", "?").replace("$2", "?"), args)
    conn = await asyncpg.connect(db)
    return conn, conn.execute


@both_databases
async def test_public_pages_are_sent_again_without_building_them(client, db):
    event = await make_event(title="Schwimmkurs für Frauen")
    first = await _pages(client, event.id)
    assert all(queries > 0 for _, queries in first.values())
    again = await _pages(client, event.id)
    assert {path: queries for path, (_, queries) in again.items()} == {path: 0 for path in PUBLIC}
    for path in PUBLIC:
        assert again[path][0].content == first[path][0].content, path
        assert again[path][0].headers.get("content-encoding") == first[path][0].headers.get("content-encoding")
    assert "Schwimmkurs für Frauen" in again["/events/{id}"][0].text
    assert again["/"][0].headers["content-security-policy"]  # kept with every header


@both_databases
async def test_a_change_through_the_orm_shows_on_every_kept_page_at_once(client, db):
    event = await make_event(title="Schwimmkurs für Frauen")
    await _pages(client, event.id)
    await Event.filter(id=event.id).update(title="Schwimmkurs am Abend")
    changed = await _pages(client, event.id)
    for path, (response, queries) in changed.items():
        assert queries > 0, path
        text = response.text
        if path.endswith(".ics"):
            text = "".join(str(e.get("summary")) for e in icalendar.Calendar.from_ical(response.content).walk("VEVENT"))
        assert "Schwimmkurs am Abend" in text, path


@both_databases
async def test_a_change_by_another_process_shows_at_once(client, db):
    event = await make_event(title="Einbürgerungsfeier")
    await Question.create(event_id=event.id, key="diet", label="Ernährung", kind="text")
    await _pages(client, event.id)
    conn, execute = await _other_connection(db)
    try:
        # a date moved, then a question renamed, each from outside this process's ORM
        await execute("UPDATE event_session SET starts_at = starts_at + interval '1 hour' WHERE event_id = $1"
                      if db.startswith("postgres") else
                      "UPDATE event_session SET starts_at = datetime(starts_at, '+1 hour') WHERE event_id = $1",
                      event.id)
        moved = await _pages(client, event.id)
        assert all(queries > 0 for _, queries in moved.values())
        await _pages(client, event.id)
        await execute("UPDATE question SET label = $1 WHERE event_id = $2", "Essenswünsche", event.id)
        page, queries = await _get(client, f"/events/{event.id}")
        assert queries > 0 and "Essenswünsche" in page.text
    finally:
        await conn.close()


@both_databases
async def test_a_registration_changes_the_seat_counts_but_not_the_calendars(client, db):
    event = await make_event(capacity=3)
    before, _ = await _get(client, f"/api/v1/events/{event.id}")
    feed, _ = await _get(client, "/calendar.ics")
    await _get(client, "/calendar.ics")
    await registration.register(event_id=event.id, applicant=Applicant(name="Amina", email="amina@example.org"))
    after, queries = await _get(client, f"/api/v1/events/{event.id}")
    assert queries > 0 and (before.json()["seats_taken"], after.json()["seats_taken"]) == (0, 1)
    same_feed, queries = await _get(client, "/calendar.ics")
    assert queries == 0 and same_feed.headers["etag"] == feed.headers["etag"]


@both_databases
async def test_a_conditional_request_for_a_kept_feed_is_answered_304(client, db):
    event = await make_event()
    feed, _ = await _get(client, "/calendar.ics")
    etag = feed.headers["etag"]
    unchanged, queries = await _get(client, "/calendar.ics", **{"If-None-Match": etag})
    assert (unchanged.status_code, queries, unchanged.content) == (304, 0, b"")
    assert unchanged.headers["etag"] == etag and "content-encoding" not in unchanged.headers
    since, _ = await _get(client, "/calendar.ics", **{"If-Modified-Since": feed.headers["last-modified"]})
    assert since.status_code == 304
    await Event.filter(id=event.id).update(title="Neuer Titel")
    changed, _ = await _get(client, "/calendar.ics", **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and b"Neuer Titel" in changed.content


@both_databases
async def test_negative_control_without_the_trigger_the_kept_page_stays_stale(client, db):
    """Shows that the stamps are what makes a change visible: with the event's trigger dropped, a changed
    title is not seen until the page expires."""
    event = await make_event(title="Vorher")
    await _get(client, f"/events/{event.id}")
    conn = connections.get("default")
    postgres = db.startswith("postgres")
    await conn.execute_script("DROP TRIGGER stamp_event_update" + (" ON event" if postgres else ""))
    try:
        await Event.filter(id=event.id).update(title="Nachher")
        stale, queries = await _get(client, f"/events/{event.id}")
        assert queries == 0 and "Vorher" in stale.text and "Nachher" not in stale.text
    finally:
        await conn.execute_script(_migration_0016().create_script("postgres" if postgres else "sqlite"))
    await Event.filter(id=event.id).update(title="Nachher wieder")
    fresh, _ = await _get(client, f"/events/{event.id}")
    assert "Nachher wieder" in fresh.text


def _migration_0016():
    spec = importlib.util.spec_from_file_location("m0016", ROOT / "alembic-free-migrations" / "0016_change_stamps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_pages_expire_with_the_clock(client, db, monkeypatch):
    """Opening times and dates move with the clock, not with the data: a kept page lives its seconds only."""
    event = await make_event()
    now = [1000.0]
    monkeypatch.setattr(page_cache, "_clock", lambda: now[0])
    await _get(client, f"/events/{event.id}")
    now[0] += 0.9
    assert (await _get(client, f"/events/{event.id}"))[1] == 0
    now[0] += 0.2
    assert (await _get(client, f"/events/{event.id}"))[1] > 0


async def test_languages_and_encodings_are_kept_apart(client, db):
    event = await make_event()
    german, _ = await _get(client, f"/events/{event.id}", **{"Accept-Language": "de"})
    arabic, _ = await _get(client, f"/events/{event.id}", **{"Accept-Language": "ar"})
    by_cookie, queries = await _get(client, f"/events/{event.id}", Cookie="lang=ar")
    assert 'lang="de"' in german.text and 'dir="rtl"' in arabic.text
    assert queries == 0 and by_cookie.text == arabic.text
    plain, queries = await _get(client, f"/events/{event.id}", **{"Accept-Encoding": "identity"})
    assert queries > 0 and "content-encoding" not in plain.headers and plain.text == german.text
    for _ in range(2):  # a new choice sets the language cookie: never kept, or the next visitor would not get it
        chosen = await client.get(f"/events/{event.id}?lang=tr")
        assert "lang=tr" in chosen.headers["set-cookie"] and 'lang="tr"' in chosen.text
        client.cookies.clear()


async def test_signed_in_and_private_requests_are_always_built(client, db):
    event = await make_event()
    await sign_in(client, "organiser")
    assert client.cookies  # the session cookie
    for _ in range(2):
        assert (await _get(client, f"/events/{event.id}"))[1] > 0
    client.cookies.clear()
    outcome = await registration.register(event_id=event.id, applicant=Applicant(name="Olena", email="o@example.org"))
    token = outcome.registration.manage_token
    mine = f"/r/{token}/calendar.ics"
    first, _ = await _get(client, mine)
    again, queries = await _get(client, mine)
    assert queries > 0 and again.content == first.content
    for _ in range(2):
        assert (await _get(client, "/api/v1/events", Authorization="Bearer x"))[1] > 0


async def test_consultation_hours_show_their_slots_fresh(client, db):
    event = await make_event(kind="consultation", capacity=1, title="Sprechstunde")
    for _ in range(2):
        page, queries = await _get(client, f"/events/{event.id}")
        assert queries > 0 and "Sprechstunde" in page.text


async def test_without_readable_stamps_every_page_is_built(client, db, monkeypatch):
    async def unavailable():
        raise stamps.StampsUnavailable("test")

    monkeypatch.setattr(stamps, "read", unavailable)
    event = await make_event(title="Ohne Stempel")
    for _ in range(2):
        page, queries = await _get(client, f"/events/{event.id}")
        assert queries > 0 and "Ohne Stempel" in page.text


async def test_new_dates_and_questions_count_as_changes(client, db):
    event = await make_event()
    await _get(client, f"/events/{event.id}")
    await EventSession.create(event_id=event.id, starts_at=in_days(20), ends_at=in_days(20) + timedelta(hours=1))
    assert (await _get(client, f"/events/{event.id}"))[1] > 0
    await _get(client, f"/events/{event.id}")
    await Question.create(event_id=event.id, key="size", label="Badeanzuggröße", kind="text", position=1)
    page, queries = await _get(client, f"/events/{event.id}")
    assert queries > 0 and "Badeanzuggröße" in page.text


class _HeldBuild:
    """Holds the first build of an event's page, after it read the event, until the other requests wait
    for it (no sleeps: each waiting request has read the stamps, and goes straight to waiting)."""

    def __init__(self, monkeypatch, waiting: int):
        self.builds = 0
        self.release = asyncio.Event()
        self.all_waiting = asyncio.Event()
        self.arrived = 0
        original_show, original_stamps = pages.show_event, page_cache._current_stamps

        async def show_event(*args, **kwargs):
            self.builds += 1
            if self.builds == 1:
                await self.release.wait()
            return await original_show(*args, **kwargs)

        async def current_stamps():
            found = await original_stamps()
            self.arrived += 1
            if self.arrived == waiting:
                self.all_waiting.set()
            return found

        monkeypatch.setattr(pages, "show_event", show_event)
        monkeypatch.setattr(page_cache, "_current_stamps", current_stamps)


@both_databases
async def test_requests_for_a_page_being_built_wait_for_that_build(client, db, monkeypatch):
    event = await make_event(title="Global Village")
    held = _HeldBuild(monkeypatch, waiting=4)
    first = asyncio.create_task(client.get(f"/events/{event.id}"))
    others = []
    while held.builds == 0:  # the first request is inside the handler
        await asyncio.sleep(0)
    others = [asyncio.create_task(client.get(f"/events/{event.id}")) for _ in range(4)]
    await held.all_waiting.wait()
    held.release.set()
    answers = await asyncio.gather(first, *others)
    assert held.builds == 1
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1 and "Global Village" in answers[0].text


@both_databases
async def test_a_request_after_a_change_does_not_take_a_build_begun_before_it(client, db, monkeypatch):
    event = await make_event(title="Vorher")
    held = _HeldBuild(monkeypatch, waiting=1)
    first = asyncio.create_task(client.get(f"/events/{event.id}"))
    while held.builds == 0:
        await asyncio.sleep(0)
    await Event.filter(id=event.id).update(title="Nachher")  # committed while the first build is held
    second = asyncio.create_task(client.get(f"/events/{event.id}"))
    await held.all_waiting.wait()
    held.release.set()
    first_answer, second_answer = await asyncio.gather(first, second)
    assert "Vorher" in first_answer.text  # read before the change
    assert held.builds == 2 and "Nachher" in second_answer.text


@both_databases
async def test_a_page_past_its_time_is_built_once_while_the_others_get_the_kept_one(client, db, monkeypatch):
    """The moment a kept page expires under load, one request builds it anew and the others are answered
    at once from the kept page, even while the builder's handler has not yet shared the page."""
    event = await make_event(title="Global Village")
    now = [1000.0]
    monkeypatch.setattr(page_cache, "_clock", lambda: now[0])
    kept = (await _get(client, f"/events/{event.id}"))[0]
    builds, release = [], asyncio.Event()
    original_share = page_cache.share

    async def share(request, **kwargs):  # the first rebuild is held in its handler, before it shares
        builds.append(request.url.path)
        if len(builds) == 1:
            await release.wait()
        return await original_share(request, **kwargs)

    monkeypatch.setattr(page_cache, "share", share)
    now[0] += 5  # past its time
    first = asyncio.create_task(client.get(f"/events/{event.id}"))
    while not builds:
        await asyncio.sleep(0)
    others = [asyncio.create_task(client.get(f"/events/{event.id}")) for _ in range(4)]
    done, _ = await asyncio.wait(others, timeout=30)  # a guard only: they must not wait for the held build
    assert len(done) == 4 and len(builds) == 1  # none of them built the page
    assert {answer.content for answer in await asyncio.gather(*others)} == {kept.content}
    release.set()
    assert (await first).status_code == 200 and len(builds) == 1
    assert (await _get(client, f"/events/{event.id}"))[1] == 0  # the new build is kept


async def test_kept_pages_stay_within_their_count_and_bytes(client, db, monkeypatch):
    """Odd query strings cannot make a process grow: the oldest kept pages make room."""
    monkeypatch.setattr(page_cache, "MAX_PAGES", 3)
    monkeypatch.setattr(page_cache, "MAX_BYTES", 10_000)
    await make_event()
    for n in range(8):
        await _get(client, f"/api/v1/events?limit={n + 1}")
    cache = _middleware(client)
    assert len(cache.pages) <= 3 and cache.bytes == sum(len(p.body) for p in cache.pages.values()) <= 10_000
    assert (await _get(client, "/api/v1/events?limit=8"))[1] == 0  # the newest is kept
    assert (await _get(client, "/api/v1/events?limit=1"))[1] > 0  # the oldest made room


def _middleware(client) -> page_cache.PageCacheMiddleware:
    app = client._transport.app
    layer = app.middleware_stack
    while not isinstance(layer, page_cache.PageCacheMiddleware):
        layer = layer.app
    return layer


async def test_requests_for_pages_that_are_never_kept_do_not_wait_for_each_other(client, db, monkeypatch):
    """A person's own page is built for every request: two at once both run, none waits for the other."""
    event = await make_event()
    outcome = await registration.register(event_id=event.id, applicant=Applicant(name="Olena", email="o@example.org"))
    inside, release = [], asyncio.Event()
    original = pages._manage

    async def held(request, token, **kwargs):
        inside.append(token)
        await release.wait()
        return await original(request, token, **kwargs)

    monkeypatch.setattr(pages, "_manage", held)
    path = f"/r/{outcome.registration.manage_token}"
    first = asyncio.create_task(client.get(path))
    second = asyncio.create_task(client.get(path))
    for _ in range(10_000):  # a few rounds of the loop suffice; a waiting request would never get in
        if len(inside) == 2:
            break
        await asyncio.sleep(0)
    assert len(inside) == 2 and _middleware(client).building == {}
    release.set()
    assert [answer.status_code for answer in await asyncio.gather(first, second)] == [200, 200]
