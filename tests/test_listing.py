"""Lists and feeds: a page at a time in the database's order, and a number of queries that does not grow
with the number of rows (no N+1), counted from Tortoise's query log."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
import pytest

from events_app.calendar import feeds
from events_app.core.models import Registration
from events_app.seats import registration
from events_app.seats.registration import Applicant
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, counted, in_days, make_event, make_user

from events_app.seats.events import SessionSpec


async def _events(count: int, *, start_day: int = 5, **values) -> list:
    made = []
    for n in range(count):
        starts = in_days(start_day + n)
        event = await make_event(title=f"Kurs {start_day + n}", sessions=[SessionSpec(starts, starts + timedelta(hours=2))],
                                 **values)
        await registration.register(event_id=event.id, applicant=Applicant(name=f"P{n}", email=f"p{n}@example.org"))
        made.append(event)
    return made


async def _queries_for(client, path: str, **headers) -> int:
    with counted() as queries:
        response = await client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return len(queries)


@both_databases
async def test_public_lists_and_feeds_cost_the_same_queries_for_3_and_for_15_events(client, db):
    user, _ = await make_user("organiser", "feeds@stadt-giessen.de")
    token = (await feeds.create_feed_token(user_id=user.id)).token
    paths = ["/", "/api/v1/events", "/calendar.ics", "/calendar/workshop.ics", f"/feeds/{token}.ics"]
    await _events(3)
    few = {path: await _queries_for(client, path) for path in paths}
    await _events(12, start_day=20)
    many = {path: await _queries_for(client, path) for path in paths}
    assert many == few
    assert max(few.values()) <= 6


async def test_back_office_lists_cost_the_same_queries_for_few_and_many_rows(client, db):
    me = await sign_in(client, "organiser")
    [event] = await _events(1)
    paths = ["/admin", "/admin/events", f"/admin/events/{event.id}"]
    few = {path: await _queries_for(client, path) for path in paths}
    await _events(8, start_day=30)
    for n in range(8):
        await registration.register(event_id=event.id, applicant=Applicant(name=f"Q{n}", email=f"q{n}@example.org"))
    many = {path: await _queries_for(client, path) for path in paths}
    assert many == few, me.user.email


@both_databases
async def test_the_api_pages_through_upcoming_events_soonest_first_with_a_cursor(client, db):
    await _events(3, start_day=-10)  # over: never listed
    upcoming = await _events(7, start_day=3)
    seen, url, pages = [], "/api/v1/events?limit=3", 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        seen += [item["id"] for item in response.json()]
        pages += 1
        link = response.headers.get("link")
        url = re.match(r"<http://[^/]+(/[^>]+)>; rel=\"next\"", link).group(1) if link else None
    assert seen == [event.id for event in upcoming]
    assert pages == 3
    first = (await client.get("/api/v1/events")).json()
    assert len(first) == 7 and first[0]["waitlist_length"] == 0


@both_databases
async def test_the_home_page_shows_upcoming_events_a_page_at_a_time(client, db):
    await _events(2, start_day=-5)
    upcoming = await _events(22, start_day=1)
    first = await client.get("/")
    assert first.text.count('class="event-card"') == 20
    assert "Kurs -5" not in first.text and "Kurs 1<" in first.text
    following = re.search(r'<a href="(/\?cursor=[^"]+)" rel="next">', first.text).group(1)
    second = await client.get(following.replace("&amp;", "&"))
    assert second.text.count('class="event-card"') == 2
    assert f"/events/{upcoming[-1].id}" in second.text and 'rel="next"' not in second.text


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=many"])
async def test_a_limit_outside_1_to_100_is_refused_naming_the_field(client, db, query):
    response = await client.get(f"/api/v1/events?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "limit" in response.json()["errors"]


@pytest.mark.parametrize("cursor", ["nonsense", "bm9wZQ", "MjAyNi0wMS0wMVQwMDowMDowMHwx"])
async def test_a_cursor_we_did_not_hand_out_is_refused(client, db, cursor):
    api = await client.get(f"/api/v1/events?cursor={cursor}")
    assert api.status_code == 400 and api.json()["type"] == "/problems/invalid-cursor"
    page = await client.get(f"/?cursor={cursor}", headers={"Accept-Language": "de"})
    assert page.status_code == 400 and "nicht gültig" in page.text


async def test_waitlist_length_in_the_api_is_the_waiting_list(client, db):
    event = await make_event(capacity=1)
    for n in range(4):
        await registration.register(event_id=event.id, applicant=Applicant(name=f"W{n}", email=f"w{n}@example.org"))
    [listed] = (await client.get("/api/v1/events")).json()
    assert listed["waitlist_length"] == 3 == await Registration.filter(event_id=event.id, status="waitlisted").count()


@pytest.fixture
async def uncached_client(settings):
    """A client of an app without the page cache, as a process whose kept page has expired sees it."""
    from events_app.app import create_app

    app = create_app(settings.with_(page_cache_seconds=0), manage_orm=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_the_public_feed_is_built_once_per_change_and_served_compressed(uncached_client, db):
    client = uncached_client
    await _events(2)
    first = await client.get("/calendar.ics", headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip" and "Kurs 6" in first.text
    with counted() as queries:
        again = await client.get("/calendar.ics", headers={"Accept-Encoding": "gzip"})
    assert again.content == first.content and len(queries) == 1  # the validator only
    plain = await client.get("/calendar.ics", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == first.content
    await _events(1, start_day=40)
    changed = await client.get("/calendar.ics")
    assert changed.headers["etag"] != first.headers["etag"] and "Kurs 40" in changed.text


async def test_pages_and_json_are_compressed_for_clients_that_accept_it(client, db):
    await _events(3)
    for path in ("/", "/api/v1/events"):
        packed = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip" and "Kurs 5" in packed.text
        plain = await client.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.text == packed.text


@both_databases
async def test_ten_identical_sign_ups_at_once_store_one(db):
    """The public sign-up's one-address rule holds under a rush: the hot path checks the address after
    taking the event's lock (on PostgreSQL with a snapshot taken after it)."""
    from events_app.core import errors
    from events_app.seats import signup

    event = await make_event(capacity=3)
    outcomes = await asyncio.gather(*(signup.sign_up(
        event_id=event.id, applicant=Applicant(name="Zwilling", email="zwilling@example.org"), staff_domains=())
        for _ in range(10)), return_exceptions=True)
    assert [type(o).__name__ for o in outcomes if isinstance(o, BaseException)] == ["AlreadyRegistered"] * 9
    assert await Registration.filter(event_id=event.id).count() == 1
    assert all(isinstance(o, errors.AlreadyRegistered) or o.registration.status.value == "confirmed" for o in outcomes)
