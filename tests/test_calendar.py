"""Calendar feeds, parsed back with icalendar: UIDs, times across clock changes, SEQUENCE,
cancellations, privacy, validators (304) and private feed tokens."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from events_app.calendar import ical, feeds
from events_app.core import errors
from events_app.seats import events, registration
from events_app.seats.events import SessionSpec
from events_app.core.i18n import LANGUAGES
from events_app.core.models import EventKind, Registration, RegistrationStatus, Role, User
from events_app.seats.registration import Applicant
from tests.helpers import both_databases, in_days, make_event

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


async def fetch(client, url: str, **kwargs) -> tuple[icalendar.Calendar, object]:
    response = await client.get(url, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content), response


def vevents(cal: icalendar.Calendar) -> list[icalendar.Event]:
    return list(cal.walk("VEVENT"))


def by_uid(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(v["UID"]): v for v in vevents(cal)}


def summaries(cal: icalendar.Calendar) -> set[str]:
    return {str(v["SUMMARY"]) for v in vevents(cal)}


async def staff_user(role: str = "organiser", email: str = "organiser@stadt-giessen.de") -> User:
    """A staff account without a password: feed tokens need no login (and argon2 is slow)."""
    return await User.create(email=email, role=Role(role))


def register(event_id: int, name: str, **extra) -> Applicant:
    return registration.register(event_id=event_id, applicant=Applicant(name=name, **extra),
                                 languages=tuple(LANGUAGES))


async def test_event_feed_has_one_vevent_per_session_with_stable_uids(client, db):
    course = await make_event(kind="course", title="Schwimmkurs", description="Bitte Badekappe mitbringen.",
                              sessions=[SessionSpec(in_days(7 * i + 3), in_days(7 * i + 3) + timedelta(hours=1))
                                        for i in range(3)])
    first, response = await fetch(client, f"/events/{course.id}.ics")
    second, again = await fetch(client, f"/events/{course.id}.ics")
    session_ids = [s.id for s in (await events.get_event(course.id)).sessions]
    expected = {f"event-{course.id}-session-{sid}@127.0.0.1" for sid in session_ids}
    assert set(by_uid(first)) == expected == set(by_uid(second))
    assert response.content == again.content  # the same data gives the same bytes (strong ETag)
    assert first["METHOD"] == "PUBLISH" and str(first["X-WR-CALNAME"]) == "Schwimmkurs"
    for vevent in vevents(first):
        assert str(vevent["URL"]) == f"http://127.0.0.1:8000/events/{course.id}"
        assert str(vevent["LOCATION"]) == "Rathaus"
        assert str(vevent["STATUS"]) == "CONFIRMED" and vevent["SEQUENCE"] == 0
        assert str(vevent["DESCRIPTION"]).startswith("Bitte Badekappe mitbringen.")
        assert vevent["DTSTAMP"].dt.tzinfo is not None and "LAST-MODIFIED" in vevent
    assert 'filename="event-' in response.headers["content-disposition"]


async def test_times_keep_wall_clock_on_both_clock_change_days(client, db):
    """10:00 in Gießen on the day summer time starts (UTC+2) and on the day it ends (UTC+1)."""
    march = (berlin(2027, 3, 28, 10), berlin(2027, 3, 28, 12))
    october = (berlin(2027, 10, 31, 10), berlin(2027, 10, 31, 12))
    event = await make_event(sessions=[SessionSpec(*march), SessionSpec(*october)])
    cal, response = await fetch(client, f"/events/{event.id}.ics")
    text = response.text
    assert "DTSTART;TZID=Europe/Berlin:20270328T100000" in text.replace("\r\n", "\n")
    assert "DTSTART;TZID=Europe/Berlin:20271031T100000" in text.replace("\r\n", "\n")
    starts = sorted(v["DTSTART"].dt for v in vevents(cal))
    assert [s.utcoffset() for s in starts] == [timedelta(hours=2), timedelta(hours=1)]
    assert [s.astimezone(UTC) for s in starts] == [march[0], october[0]]
    assert [v["DTEND"].dt.astimezone(UTC) for v in sorted(vevents(cal), key=lambda v: v["DTSTART"].dt)] == [
        march[1], october[1]]
    # the file's own VTIMEZONE (what clients without a tz database use) says the same
    (vtimezone,) = cal.timezones
    assert vtimezone.tz_name == "Europe/Berlin"
    own_zone = vtimezone.to_tz()
    assert datetime(2027, 3, 28, 1, tzinfo=own_zone).utcoffset() == timedelta(hours=1)
    assert datetime(2027, 3, 28, 10, tzinfo=own_zone).utcoffset() == timedelta(hours=2)
    assert datetime(2027, 10, 31, 10, tzinfo=own_zone).utcoffset() == timedelta(hours=1)
    # narrow: the VTIMEZONE covers the feed's dates, not decades
    assert vtimezone.to_ical().count(b"BEGIN:DAYLIGHT") == 1
    assert not cal.get_missing_tzids()


async def test_sequence_rises_when_a_date_moves_and_uid_stays(client, db):
    event = await make_event()
    (session,) = (await events.get_event(event.id)).sessions
    before = by_uid((await fetch(client, f"/events/{event.id}.ics"))[0])
    moved = SessionSpec(session.starts_at + timedelta(hours=1), session.ends_at + timedelta(hours=1), id=session.id)
    await events.update_event(event_id=event.id, values={}, sessions=[moved])
    after = by_uid((await fetch(client, f"/events/{event.id}.ics"))[0])
    assert set(before) == set(after)
    (uid,) = after
    assert after[uid]["SEQUENCE"] > before[uid]["SEQUENCE"]
    assert after[uid]["DTSTART"].dt.astimezone(UTC) == moved.starts_at
    await events.update_event(event_id=event.id, values={"location": "Stadtbibliothek"})
    latest = by_uid((await fetch(client, f"/events/{event.id}.ics"))[0])[uid]
    assert latest["SEQUENCE"] > after[uid]["SEQUENCE"] and str(latest["LOCATION"]) == "Stadtbibliothek"


async def test_cancelled_event_stays_in_public_feed_as_cancelled(client, db):
    event = await make_event(title="Global Village")
    before = by_uid((await fetch(client, "/calendar.ics"))[0])
    await events.cancel_event(event_id=event.id, reason="Unwetter")
    after = by_uid((await fetch(client, "/calendar.ics"))[0])
    assert set(after) == set(before)
    (vevent,) = after.values()
    (old,) = before.values()
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert vevent["SEQUENCE"] > old["SEQUENCE"]
    assert "Global Village" in str(vevent["SUMMARY"]) and str(vevent["SUMMARY"]) != "Global Village"


async def test_a_dropped_date_of_a_course_turns_cancelled_the_others_stay(client, db):
    sessions = [SessionSpec(in_days(3 + 7 * i), in_days(3 + 7 * i) + timedelta(hours=1)) for i in range(3)]
    event = await make_event(kind="course", sessions=sessions)
    stored = (await events.get_event(event.id)).sessions
    keep = [SessionSpec(s.starts_at, s.ends_at, id=s.id) for s in stored[:2]]
    await events.update_event(event_id=event.id, values={}, sessions=keep)
    cal = by_uid((await fetch(client, f"/events/{event.id}.ics"))[0])
    status = {uid: str(v["STATUS"]) for uid, v in cal.items()}
    dropped = f"event-{event.id}-session-{stored[2].id}@127.0.0.1"
    assert status.pop(dropped) == "CANCELLED"
    assert set(status.values()) == {"CONFIRMED"} and len(status) == 2


@both_databases
async def test_public_feeds_show_only_public_listed_events_and_old_dates_leave(client, db):
    await make_event(title="Workshop öffentlich")
    await make_event(title="Kurs öffentlich", kind="course")
    await make_event(title="Entwurf", visibility="draft")
    await make_event(title="Nicht gelistet", visibility="unlisted")
    await make_event(title="Empfang", kind="reception", audience="invitation")
    recent = await make_event(title="Vor zehn Tagen abgesagt", sessions=[SessionSpec(in_days(-10), in_days(-10) + timedelta(hours=2))])
    await events.cancel_event(event_id=recent.id)
    await make_event(title="Lange vorbei", sessions=[SessionSpec(in_days(-40), in_days(-40) + timedelta(hours=2))])
    cal, _ = await fetch(client, "/calendar.ics")
    titles = summaries(cal)
    assert {"Workshop öffentlich", "Kurs öffentlich"} <= titles
    assert any("Vor zehn Tagen abgesagt" in t for t in titles)
    assert not any(word in " ".join(titles) for word in ("Entwurf", "Nicht gelistet", "Empfang", "Lange vorbei"))
    workshops, _ = await fetch(client, "/calendar/workshop.ics")
    assert "Workshop öffentlich" in summaries(workshops) and "Kurs öffentlich" not in summaries(workshops)
    assert (await client.get("/calendar/party.ics")).status_code == 404


async def test_unknown_and_draft_event_feeds_are_404(client, db):
    draft = await make_event(visibility="draft")
    assert (await client.get(f"/events/{draft.id}.ics")).status_code == 404
    assert (await client.get("/events/999.ics")).status_code == 404
    unlisted = await make_event(visibility="unlisted")
    assert (await client.get(f"/events/{unlisted.id}.ics")).status_code == 200


async def test_no_personal_data_in_public_feeds(client, db):
    course = await make_event(kind="course", title="Schwimmkurs für Frauen", audience="women", capacity=1,
                              location="Hallenbad Ost, Eingang B", location_confidential=True, phone_allowed=True)
    await register(course.id, "Zahra Ahmadi", email="zahra@example.org")
    await register(course.id, "Mariam Haddad", phone="+49 641 1234567")
    for url in ("/calendar.ics", "/calendar/course.ics", f"/events/{course.id}.ics"):
        cal, response = await fetch(client, url)
        assert summaries(cal) == {"Schwimmkurs für Frauen"}
        text = response.text
        for private in ("Zahra", "Ahmadi", "Mariam", "zahra@example.org", "1234567", "Hallenbad", "ATTENDEE"):
            assert private not in text, (url, private)
        (vevent,) = vevents(cal)
        assert "LOCATION" not in vevent
        assert set(vevent) <= {"UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY",
                               "DESCRIPTION", "URL", "STATUS"}


@both_databases
async def test_personal_feed_shows_meeting_point_only_once_confirmed_and_verified(client, db):
    course = await make_event(kind="course", audience="women", capacity=1, location="Hallenbad Ost",
                              location_confidential=True,
                              translations={"ar": {"title": "دورة سباحة"}})
    confirmed = (await register(course.id, "A", email="a@example.org", language="ar")).registration
    waiting = (await register(course.id, "B", email="b@example.org")).registration
    unverified, _ = await fetch(client, f"/r/{confirmed.manage_token}/calendar.ics")
    assert "LOCATION" not in vevents(unverified)[0]  # a typed address proves nothing yet
    from events_app.core.models import Registration
    from events_app.core.timeutil import utcnow

    # both opened the link in our mail (tests/test_security_contact.py)
    await Registration.filter(id__in=[confirmed.id, waiting.id]).update(contact_verified_at=utcnow())
    mine, response = await fetch(client, f"/r/{confirmed.manage_token}/calendar.ics")
    (vevent,) = vevents(mine)
    assert str(vevent["LOCATION"]) == "Hallenbad Ost" and str(vevent["STATUS"]) == "CONFIRMED"
    assert str(vevent["SUMMARY"]) == "دورة سباحة"  # the registration's language
    assert "private" in response.headers["cache-control"]
    theirs, _ = await fetch(client, f"/r/{waiting.manage_token}/calendar.ics")
    (other,) = vevents(theirs)
    assert "LOCATION" not in other and str(other["STATUS"]) == "TENTATIVE"
    assert str(other["UID"]) == str(vevent["UID"])
    await registration.cancel(token=confirmed.manage_token)
    after, _ = await fetch(client, f"/r/{confirmed.manage_token}/calendar.ics")
    (gone,) = vevents(after)
    assert str(gone["STATUS"]) == "CANCELLED" and "LOCATION" not in gone
    # the person who moved up now sees the place
    promoted, _ = await fetch(client, f"/r/{waiting.manage_token}/calendar.ics")
    assert str(vevents(promoted)[0]["LOCATION"]) == "Hallenbad Ost"
    assert (await client.get("/r/not-a-token/calendar.ics")).status_code == 404


def sequence_and_stamps(cal: icalendar.Calendar) -> tuple[int, str, datetime, datetime]:
    (vevent,) = vevents(cal)
    return (int(vevent["SEQUENCE"]), str(vevent["STATUS"]), vevent.decoded("DTSTAMP"),
            vevent.decoded("LAST-MODIFIED"))


@both_databases
async def test_personal_feed_sequence_rises_with_every_change_of_status(client, db):
    """Waiting, offered, confirmed, cancelled by the organisers: each is a new version for calendar clients."""
    from events_app.backoffice import changes

    course = await make_event(capacity=1, offer_hours=48)
    first = (await register(course.id, "A", email="a@example.org")).registration
    person = (await register(course.id, "B", email="b@example.org")).registration
    url = f"/r/{person.manage_token}/calendar.ics"
    organiser = await staff_user()
    seen = []
    etags = []

    async def look() -> None:
        cal, response = await fetch(client, url)
        seen.append(sequence_and_stamps(cal))
        etags.append(response.headers["etag"])

    now = datetime.now(UTC).replace(microsecond=0)
    await look()  # waiting
    await registration.cancel(token=first.manage_token, now=now + timedelta(minutes=1))
    await look()  # offered
    await registration.accept_offer(token=person.manage_token, now=now + timedelta(minutes=2))
    await look()  # confirmed
    await changes.cancel_registration(event_id=course.id, registration_id=person.id, by=organiser,
                                         now=now + timedelta(minutes=3))
    await look()  # cancelled

    sequences, statuses, stamps, modified = zip(*seen)
    assert statuses == ("TENTATIVE", "TENTATIVE", "CONFIRMED", "CANCELLED")
    assert all(a < b for a, b in zip(sequences, sequences[1:])), sequences
    assert all(a < b for a, b in zip(stamps, stamps[1:])), stamps
    assert stamps == modified
    assert stamps[1:] == tuple(now + timedelta(minutes=m) for m in (1, 2, 3))
    assert len(set(etags)) == 4  # a client holding the old version never gets 304
    # an unchanged registration keeps its bytes: same SEQUENCE and DTSTAMP on the next download
    again, _ = await fetch(client, url)
    assert sequence_and_stamps(again) == seen[-1]


async def test_feed_language_from_query_with_german_fallback(client, db):
    event = await make_event(title="Stadtführung", description="Treffpunkt am Rathaus", kind="tour",
                             translations={"en": {"title": "City tour", "description": "Meet at the town hall"}})
    english, _ = await fetch(client, "/calendar.ics?lang=en")
    (vevent,) = vevents(english)
    assert str(vevent["SUMMARY"]) == "City tour" and str(vevent["DESCRIPTION"]).startswith("Meet at the town hall")
    turkish, _ = await fetch(client, f"/events/{event.id}.ics?lang=tr")
    assert summaries(turkish) == {"Stadtführung"}
    unknown, _ = await fetch(client, "/calendar.ics?lang=xx")
    assert summaries(unknown) == {"Stadtführung"}
    english_name = str(english["X-WR-CALNAME"])
    assert english_name and "Gießen" in english_name


@both_databases
@pytest.mark.parametrize("url_of", [
    lambda e, r, staff: "/calendar.ics",
    lambda e, r, staff: "/calendar/workshop.ics",
    lambda e, r, staff: f"/events/{e.id}.ics",
    lambda e, r, staff: f"/r/{r.manage_token}/calendar.ics",
    lambda e, r, staff: staff.path(),
], ids=["public", "kind", "event", "personal", "staff"])
async def test_conditional_get_answers_304_without_building_the_calendar(client, db, monkeypatch, url_of):
    event = await make_event()
    reg = (await register(event.id, "A", email="a@example.org")).registration
    user = await staff_user()
    url = url_of(event, reg, await feeds.create_feed_token(user_id=user.id))
    first = await client.get(url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    builds = []
    real_build = ical.build_calendar
    monkeypatch.setattr(ical, "build_calendar", lambda *a, **k: builds.append(1) or real_build(*a, **k))
    by_etag = await client.get(url, headers={"If-None-Match": etag})
    by_date = await client.get(url, headers={"If-Modified-Since": last_modified})
    assert (by_etag.status_code, by_date.status_code) == (304, 304)
    assert by_etag.content == b"" and by_etag.headers["etag"] == etag
    assert builds == []
    other_language = await client.get(url + "?lang=en", headers={"If-None-Match": etag})
    assert other_language.status_code == 200 and other_language.headers["etag"] != etag
    # a stale validator gets the new calendar
    await events.update_event(event_id=event.id, values={"location": "Stadthaus"})
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "Stadthaus" in changed.text and builds == [1, 1]
    old_date = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert (await client.get(url, headers={"If-Modified-Since": old_date})).status_code == 200
    assert (await client.get(url, headers={"If-Modified-Since": "not a date"})).status_code == 200


@both_databases
async def test_event_leaving_a_listing_changes_the_validator(client, db):
    await make_event(title="Bleibt")
    leaving = await make_event(title="Wird Entwurf")
    first = await client.get("/calendar.ics")
    await events.update_event(event_id=leaving.id, values={"visibility": "draft"})
    again = await client.get("/calendar.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200
    assert summaries(icalendar.Calendar.from_ical(again.content)) == {"Bleibt"}


@both_databases
async def test_private_staff_feed_shows_all_but_drafts_until_revoked(client, db):
    user = await staff_user()
    await make_event(title="Öffentlich")
    await make_event(title="Nicht gelistet", visibility="unlisted")
    await make_event(title="Empfang", kind="reception", audience="invitation")
    await make_event(title="Entwurf", visibility="draft")
    await make_event(title="Geheimer Treffpunkt", location="Hallenbad Ost", location_confidential=True)
    issued = await feeds.create_feed_token(user_id=user.id)
    cal, response = await fetch(client, issued.path())
    assert summaries(cal) == {"Öffentlich", "Nicht gelistet", "Empfang", "Geheimer Treffpunkt"}
    assert "Hallenbad" not in response.text
    assert "private" in response.headers["cache-control"]
    assert await feeds.list_feed_tokens(user_id=user.id) == [issued.record]
    other = await staff_user("door", email="door@stadt-giessen.de")
    with pytest.raises(errors.FeedNotFound):
        await feeds.revoke_feed_token(token_id=issued.record.id, user_id=other.id)
    await feeds.revoke_feed_token(token_id=issued.record.id, user_id=user.id)
    assert (await client.get(issued.path())).status_code == 404
    assert (await client.get("/feeds/cal_unknown.ics")).status_code == 404
    assert (await client.get(issued.path(), headers={"If-None-Match": response.headers["etag"]})).status_code == 404


async def test_inactive_users_feed_is_404(client, db):
    user = await staff_user()
    await make_event()
    issued = await feeds.create_feed_token(user_id=user.id)
    assert (await client.get(issued.path())).status_code == 200
    user.active = False
    await user.save()
    assert (await client.get(issued.path())).status_code == 404
    with pytest.raises(errors.NotFound):
        await feeds.create_feed_token(user_id=user.id)


async def test_pages_offer_webcal_and_download_links(client, db):
    event = await make_event()
    reg = (await register(event.id, "A", email="a@example.org")).registration
    home = (await client.get("/")).text
    assert 'href="webcal://127.0.0.1:8000/calendar.ics"' in home and 'href="/calendar.ics"' in home
    kinds = set(re.findall(r'href="/calendar/(\w+)\.ics"', home))
    assert kinds == set(ical.KIND_LABELS) == {kind.value for kind in EventKind}
    for kind in kinds:  # every kind offered is a feed that answers
        assert (await client.get(f"/calendar/{kind}.ics")).status_code == 200
    page = (await client.get(f"/events/{event.id}?lang=en")).text
    assert f'href="webcal://127.0.0.1:8000/events/{event.id}.ics?lang=en"' in page
    assert f'href="/events/{event.id}.ics?lang=en"' in page
    manage = (await client.get(f"/r/{reg.manage_token}")).text
    assert f'href="webcal://127.0.0.1:8000/r/{reg.manage_token}/calendar.ics"' in manage
    assert f'href="/r/{reg.manage_token}/calendar.ics"' in manage


async def test_footer_and_account_page_offer_webcal_and_download_links(client, db):
    from tests.fixtures_backoffice import sign_in

    for path in ("/privacy", "/", "/admin/login"):
        footer = (await client.get(path)).text.split('<footer class="site-footer">', 1)[1]
        assert 'href="webcal://127.0.0.1:8000/calendar.ics"' in footer, path
        assert 'href="/calendar.ics" download' in footer, path
    me = await sign_in(client, "door")
    created = (await client.post("/admin/account/feeds", data={"csrf_token": me.csrf})).text
    path = re.search(r'href="(/feeds/cal_[^"]+\.ics)" download', created).group(1)
    assert f'href="webcal://127.0.0.1:8000{path}"' in created
    assert f'<code class="feed-url">http://127.0.0.1:8000{path}</code>' in created
    download = await client.get(path)
    assert download.status_code == 200 and download.headers["content-type"] == "text/calendar; charset=utf-8"


async def test_single_event_attachment_for_mail(db):
    event = await make_event(location="Hallenbad Ost", location_confidential=True, kind="course", audience="women")
    reg = (await register(event.id, "A", email="a@example.org")).registration
    await Registration.filter(id=reg.id).update(status=RegistrationStatus.CONFIRMED)
    loaded = await events.get_event(event.id, public=False)
    audience = ical.Audience(show_confidential_location=True, registration_status=RegistrationStatus.CONFIRMED)
    attachment = icalendar.Calendar.from_ical(
        ical.event_ics(loaded, language="de", base_url="https://termine.giessen.de", audience=audience))
    (vevent,) = vevents(attachment)
    assert str(vevent["UID"]) == ical.session_uid(event.id, loaded.sessions[0].id, "https://termine.giessen.de")
    assert str(vevent["UID"]).endswith("@termine.giessen.de") and str(vevent["LOCATION"]) == "Hallenbad Ost"
    public = icalendar.Calendar.from_ical(ical.event_ics(loaded, language="de", base_url="https://termine.giessen.de"))
    assert "LOCATION" not in vevents(public)[0]


JS_DIR = Path(__file__).resolve().parent / "js"


def icaljs_parse(document: bytes) -> dict:
    """What Thunderbird's parser (ical.js, installed by `make test`) reads from a calendar."""
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "ical.js").is_dir():
        message = "ical.js not installed (make test runs npm ci in tests/js)"
        if os.environ.get("EVENTS_REQUIRE_ICALJS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run([node, "icaljs-check.mjs"], input=document, cwd=JS_DIR, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


async def test_thunderbirds_parser_reads_the_same_dates(client, db):
    """An independent parser, using only the file's own VTIMEZONE, agrees on every date and status."""
    march = SessionSpec(berlin(2027, 3, 28, 10), berlin(2027, 3, 28, 12))
    october = SessionSpec(berlin(2027, 10, 31, 10), berlin(2027, 10, 31, 12))
    event = await make_event(title="Zeitumstellung; Test, mit Komma", sessions=[march, october])
    await events.cancel_event(event_id=event.id)
    response = await client.get(f"/events/{event.id}.ics")
    seen = icaljs_parse(response.content)
    ours = by_uid(icalendar.Calendar.from_ical(response.content))
    assert seen["method"] == "PUBLISH"
    assert {e["uid"] for e in seen["events"]} == set(ours)
    for parsed in seen["events"]:
        vevent = ours[parsed["uid"]]
        assert parsed["tzid"] == "Europe/Berlin"
        assert datetime.fromisoformat(parsed["start"]) == vevent["DTSTART"].dt.astimezone(UTC)
        assert datetime.fromisoformat(parsed["end"]) == vevent["DTEND"].dt.astimezone(UTC)
        assert (parsed["summary"], parsed["status"], parsed["sequence"]) == (
            str(vevent["SUMMARY"]), "CANCELLED", vevent["SEQUENCE"])
    offsets = sorted((e["start"], e["utcOffsetSeconds"]) for e in seen["events"])
    assert [o for _, o in offsets] == [7200, 3600]
    assert sorted(datetime.fromisoformat(e["start"]) for e in seen["events"]) == [march.starts_at, october.starts_at]


async def test_registrant_attachment_follows_the_registration(db):
    event = await make_event(kind="course", audience="women", capacity=1, location="Hallenbad Ost",
                             location_confidential=True, translations={"uk": {"title": "Курс плавання"}})
    first = (await register(event.id, "A", email="a@example.org", language="uk")).registration
    second = (await register(event.id, "B", email="b@example.org")).registration
    loaded = await events.get_event(event.id, public=False)
    mine = vevents(icalendar.Calendar.from_ical(ical.registration_ics(loaded, first, base_url="https://x.de")))[0]
    theirs = vevents(icalendar.Calendar.from_ical(ical.registration_ics(loaded, second, base_url="https://x.de")))[0]
    assert (str(mine["SUMMARY"]), str(mine["STATUS"]), str(mine["LOCATION"])) == (
        "Курс плавання", "CONFIRMED", "Hallenbad Ost")
    assert str(theirs["STATUS"]) == "TENTATIVE" and "LOCATION" not in theirs
    assert str(mine["UID"]) == str(theirs["UID"])
