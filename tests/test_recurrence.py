"""Dates by pattern: weekly series across the change to summer time, in the API and the back-office form."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from events_app.core import errors
from events_app.core.models import Event, EventSession, SessionStatus
from events_app.seats.recurrence import Weekly, parse_days, weekly_dates
from tests.fixtures_backoffice import sign_in
from tests.helpers import make_user

BERLIN = ZoneInfo("Europe/Berlin")


def local(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=BERLIN).astimezone(timezone.utc)


def shown(dates) -> list[str]:
    return [start.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") + "-" + end.astimezone(BERLIN).strftime("%H:%M")
            for start, end in dates]


def test_weekly_series_keeps_the_local_time_across_summer_time():
    # 8 Mondays from 15 March 2027; summer time starts on 28 March; Easter Monday (29 March) left out
    dates = weekly_dates(local("2027-03-15", "18:00"), local("2027-03-15", "19:30"),
                         Weekly(count=8, skip=frozenset({date(2027, 3, 29)})), tz="Europe/Berlin")
    assert shown(dates) == [
        "2027-03-15 18:00-19:30", "2027-03-22 18:00-19:30", "2027-04-05 18:00-19:30", "2027-04-12 18:00-19:30",
        "2027-04-19 18:00-19:30", "2027-04-26 18:00-19:30", "2027-05-03 18:00-19:30", "2027-05-10 18:00-19:30"]
    # in UTC the hour moves with the clock change
    assert (dates[0][0].hour, dates[2][0].hour) == (17, 16)


def test_weekly_until_a_day_and_back_to_winter_time():
    dates = weekly_dates(local("2026-10-13", "10:00"), local("2026-10-13", "12:00"),
                         Weekly(until=date(2026, 11, 3)), tz="Europe/Berlin")
    assert shown(dates) == ["2026-10-13 10:00-12:00", "2026-10-20 10:00-12:00", "2026-10-27 10:00-12:00",
                            "2026-11-03 10:00-12:00"]


@pytest.mark.parametrize("pattern", [Weekly(), Weekly(count=2, until=date(2027, 5, 1)), Weekly(count=0),
                                     Weekly(count=61), Weekly(until=date(2026, 1, 1)),
                                     Weekly(until=date(2040, 1, 1))])
def test_impossible_patterns_are_refused(pattern):
    with pytest.raises(errors.ValidationFailed) as caught:
        weekly_dates(local("2027-03-15", "18:00"), local("2027-03-15", "19:00"), pattern, tz="Europe/Berlin")
    assert "recurrence" in caught.value.fields


def test_days_to_leave_out_in_german_or_iso_form():
    assert parse_days("24.12.2026, 2026-12-31\n 7.1.2027") == (
        frozenset({date(2026, 12, 24), date(2026, 12, 31), date(2027, 1, 7)}), True)
    assert parse_days("24.12.2026, morgen")[1] is False


async def test_api_creates_a_course_series_in_one_request(client, db):
    _, token = await make_user("organiser")
    response = await client.post("/api/v1/events", headers={"authorization": f"Bearer {token}"}, json={
        "kind": "course", "title": "Schwimmkurs", "capacity": 10,
        "sessions": [{"starts_at": "2027-03-15T18:00:00+01:00", "ends_at": "2027-03-15T19:30:00+01:00"}],
        "recurrence": {"weekly": {"count": 8}, "skip": ["2027-03-29"]}})
    assert response.status_code == 201, response.text
    sessions = await EventSession.filter(event_id=response.json()["id"]).order_by("starts_at")
    assert [s.starts_at.astimezone(BERLIN).strftime("%d.%m. %H:%M") for s in sessions] == [
        "15.03. 18:00", "22.03. 18:00", "05.04. 18:00", "12.04. 18:00", "19.04. 18:00", "26.04. 18:00",
        "03.05. 18:00", "10.05. 18:00"]
    assert len(response.json()["sessions"]) == 8


@pytest.mark.parametrize("recurrence", [
    {"weekly": {"count": 0}}, {"weekly": {"count": "acht"}}, {"weekly": {}}, {"weekly": {"until": "bald"}},
    {"weekly": {"count": 3}, "skip": "2027-03-29"}, {"daily": {"count": 3}}, "weekly", [],
    {"weekly": {"count": 3, "until": "2027-05-01"}}])
async def test_api_refuses_bad_patterns_and_stores_nothing(client, db, recurrence):
    _, token = await make_user("organiser")
    response = await client.post("/api/v1/events", headers={"authorization": f"Bearer {token}"}, json={
        "kind": "course", "title": "Schwimmkurs", "capacity": 10, "recurrence": recurrence,
        "sessions": [{"starts_at": "2027-03-15T18:00:00+01:00", "ends_at": "2027-03-15T19:30:00+01:00"}]})
    assert response.status_code == 422
    assert "recurrence" in response.json()["errors"]
    assert not await Event.exists()


def _course_form(csrf: str, **extra) -> dict:
    return {"csrf_token": csrf, "title": "Schwimmkurs für Frauen", "kind": "course", "audience": "women",
            "visibility": "public", "capacity": "10", "offer_hours": "0", "max_companions": "0",
            "certificate_min_attendance": "100", "session_rows": "3", "question_rows": "2",
            "s0_date": "2027-03-15", "s0_start": "18:00", "s0_end": "19:30", **extra}


async def test_back_office_sets_up_an_eight_week_course_in_one_form_with_a_preview(client, db):
    me = await sign_in(client, "organiser")
    preview = await client.post("/admin/events/new", data=_course_form(
        me.csrf, repeat="count", repeat_count="8", repeat_skip="29.03.2027", preview="1"))
    assert preview.status_code == 200
    assert not await Event.exists()  # a preview stores nothing
    days = re.findall(r'name="s\d+_date" value="([0-9-]+)"', preview.text)
    assert days == ["2027-03-15", "2027-03-22", "2027-04-05", "2027-04-12", "2027-04-19", "2027-04-26",
                    "2027-05-03", "2027-05-10"]
    assert 'value="18:00"' in preview.text

    saved = await client.post("/admin/events/new", data=_course_form(
        me.csrf, repeat="count", repeat_count="8", repeat_skip="29.03.2027"))
    assert saved.status_code == 303
    event = await Event.get()
    sessions = await EventSession.filter(event_id=event.id, status=SessionStatus.SCHEDULED).order_by("starts_at")
    assert [s.starts_at.astimezone(BERLIN).date().isoformat() for s in sessions] == days
    assert {s.starts_at.astimezone(BERLIN).strftime("%H:%M") for s in sessions} == {"18:00"}


async def test_back_office_names_a_bad_pattern_at_its_field(client, db):
    me = await sign_in(client, "organiser")
    response = await client.post("/admin/events/new", data=_course_form(
        me.csrf, repeat="until", repeat_until="2027-03-01", repeat_skip="Ostern"))
    assert response.status_code == 422
    assert 'id="e-repeat_skip"' in response.text
    assert not await Event.exists()
