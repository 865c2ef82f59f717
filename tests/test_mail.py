"""Mail through the outbox, delivered to a real SMTP server (aiosmtpd) and read back."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import icalendar
import PIL.Image
import pytest
import segno
from tortoise.transactions import in_transaction

from events_app.seats import events, registration, reminders
from events_app.mail import content, delivery, outbox
from events_app.mail.files import mail_files
from events_app import worker
from events_app.seats.events import SessionSpec
from events_app.core.models import DoorAssignment, Event, EventSession, OutboxMessage, OutboxState, Registration
from events_app.seats.registration import Applicant
from events_app.core.timeutil import utcnow
from tests.fixtures_mail import SmtpSink, free_port
from tests.helpers import both_databases, make_event

HOST = "events.giessen.de"


def at(day: int, hour: int, month: int = 11, year: int = 2031) -> datetime:
    """A UTC time (in November Berlin is UTC+1)."""
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def parts(message) -> tuple[str, str]:
    """The text and HTML part; the MIME structure must parse without defects."""
    assert all(not part.defects for part in message.walk()), [part.defects for part in message.walk()]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def attached_calendar(message) -> icalendar.Calendar | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            assert part.get_param("method") == "PUBLISH"
            return icalendar.Calendar.from_ical(part.get_payload(decode=True))
    return None


def person(n: int, language: str = "de") -> Applicant:
    return Applicant(name=f"Person {n}", email=f"p{n}@example.org", language=language)


async def course(**overrides):
    """Three weekly dates, Mondays 18:00–20:00 Berlin time."""
    sessions = [SessionSpec(at(3 + 7 * week, 17), at(3 + 7 * week, 19)) for week in range(3)]
    values = {"kind": "course", "title": "Schwimmkurs für Frauen", "capacity": 2, "location": "Hallenbad Ost",
              "sessions": sessions}
    values.update(overrides)
    return await make_event(**values)


async def test_confirmation_has_both_parts_all_dates_link_and_calendar(db, smtp_settings, smtp_server):
    event = await course()
    outcome = await registration.register(event_id=event.id, applicant=Applicant(
        name="Amina K.", email="amina@example.org"))
    report = await delivery.deliver_due(smtp_settings)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)

    [received] = smtp_server.received
    assert received.recipients == ["amina@example.org"]
    assert received.sender == "integration@giessen.de"
    message = received.message
    assert message["Subject"] == "Anmeldung bestätigt: Schwimmkurs für Frauen"
    assert message["To"] == "amina@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    row = await OutboxMessage.get(registration_id=outcome.registration.id)
    assert row.state == OutboxState.SENT and row.sent_at and row.message_id == message["Message-ID"]
    assert message["Message-ID"].endswith(f"@{HOST}>")

    text, html = parts(message)
    manage_url = f"https://{HOST}/r/{outcome.registration.manage_token}"
    for body in (text, html):
        assert "Guten Tag Amina K.," in body
        for day in ("03.11.2031", "10.11.2031", "17.11.2031"):
            assert f"{day}, 18:00–20:00 Uhr" in body
        assert "Ort: Hallenbad Ost" in body
        assert manage_url in body
    assert f'<a href="{manage_url}">' in html and '<html lang="de" dir="ltr">' in html

    calendar = attached_calendar(message)
    assert calendar["METHOD"] == "PUBLISH"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    vevents = calendar.walk("VEVENT")
    session_ids = [s.id for s in await EventSession.filter(event_id=event.id).order_by("starts_at")]
    assert [str(v["UID"]) for v in vevents] == [f"event-{event.id}-session-{sid}@{HOST}" for sid in session_ids]
    first = vevents[0]
    assert first["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert str(first.decoded("DTSTART").tzinfo) == "Europe/Berlin"
    assert first.decoded("DTSTART").hour == 18 and first.decoded("DTSTART") == at(3, 17)
    assert int(first["SEQUENCE"]) == 0
    assert str(first["LOCATION"]) == "Hallenbad Ost"


def qr_modules(png: bytes, size: int) -> list[list[bool]]:
    """Read a QR symbol of `size` x `size` modules back from an image: dark or light at each module's centre."""
    image = PIL.Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image = image.convert("L")
    dark = [(x, y) for y in range(image.height) for x in range(image.width) if image.getpixel((x, y)) < 128]
    left, top = min(x for x, _ in dark), min(y for _, y in dark)
    right, bottom = max(x for x, _ in dark) + 1, max(y for _, y in dark) + 1
    assert right - left == bottom - top, "the symbol is square"
    module = (right - left) / size
    return [[image.getpixel((int(left + (col + 0.5) * module), int(top + (row + 0.5) * module))) < 128
             for col in range(size)] for row in range(size)]


def encodes(png: bytes, data: str) -> bool:
    """Whether the image is a QR code of `data`, in any error level and mask segno can make."""
    for error in "lmqh":
        for mask in range(8):
            expected = [[bool(m) for m in row] for row in segno.make(data, error=error, mask=mask).matrix]
            if qr_modules(png, len(expected)) == expected:
                return True
    return False


async def test_confirmation_carries_the_checkin_qr_code_and_link_the_door_accepts(client, db, smtp_settings,
                                                                                   smtp_server):
    from tests.fixtures_backoffice import sign_in

    event = await course(capacity=1)
    outcome = await registration.register(event_id=event.id, applicant=Applicant(
        name="Amina K.", email="amina@example.org"))
    await registration.register(event_id=event.id, applicant=person(2))  # waiting: no code yet
    await delivery.deliver_due(smtp_settings)

    [message] = smtp_server.to("amina@example.org")
    text, html = parts(message)
    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image.get_content_disposition() == "inline"
    content_id = image["Content-ID"].strip("<>")
    assert f'<img src="cid:{content_id}"' in html
    related = next(part for part in message.walk() if part.get_content_type() == "multipart/related")
    assert [p.get_content_type() for p in related.iter_parts()] == ["text/html", "image/png"]

    link = re.search(r"Ihr Einlass-Link: (\S+)", text).group(1)
    assert link == f"https://{HOST}/admin/checkin/{event.id}?token={outcome.registration.checkin_token}"
    assert link not in html  # the HTML shows the code instead
    png = image.get_payload(decode=True)
    assert encodes(png, link)
    assert not encodes(png, link.replace("token=", "token=x"))  # the check reads the picture, not just any code

    waiting_text, _ = parts(smtp_server.to("p2@example.org")[0])
    assert not any(part.get_content_type() == "image/png" for part in smtp_server.to("p2@example.org")[0].walk())
    assert "Einlass-Link" not in waiting_text

    door = await sign_in(client, "door")
    await DoorAssignment.create(user_id=door.user.id, event_id=event.id)
    target = urlsplit(link)
    page = await client.get(f"{target.path}?{target.query}")
    assert page.status_code == 200
    scanned = page.text.split('scanned">', 1)[1].split("</li>", 1)[0]
    assert "Amina K." in scanned


async def test_english_registrant_gets_english_subject_title_and_dates(db, smtp_settings, smtp_server):
    event = await course(translations={"en": {"title": "Swimming course for women"}})
    await registration.register(event_id=event.id, applicant=person(1, "en"), languages=("de", "en"))
    await registration.register(event_id=event.id, applicant=person(2, "de"), languages=("de", "en"))
    await delivery.deliver_due(smtp_settings)

    [english] = smtp_server.to("p1@example.org")
    [german] = smtp_server.to("p2@example.org")
    assert english["Subject"] == "Registration confirmed: Swimming course for women"
    assert english["Content-Language"] == "en"
    assert german["Subject"] == "Anmeldung bestätigt: Schwimmkurs für Frauen"
    english_text, _ = parts(english)
    assert "Hello Person 1," in english_text and "Nov 3, 2031" in english_text and "Uhr" not in english_text
    assert "03.11.2031, 18:00–20:00 Uhr" in parts(german)[0]
    assert str(attached_calendar(english).walk("VEVENT")[0]["SUMMARY"]) == "Swimming course for women"


async def test_unknown_language_falls_back_to_german(db, smtp_settings, smtp_server):
    event = await course()
    outcome = await registration.register(event_id=event.id, applicant=person(1))
    await OutboxMessage.filter(registration_id=outcome.registration.id).update(language="xx")
    await delivery.deliver_due(smtp_settings)
    [message] = smtp_server.to("p1@example.org")
    assert message["Subject"].startswith("Anmeldung bestätigt")


async def test_changed_time_sends_updated_calendar_with_raised_sequence(db, smtp_settings, smtp_server):
    event = await course()
    await registration.register(event_id=event.id, applicant=person(1))
    await delivery.deliver_due(smtp_settings)
    sessions = await EventSession.filter(event_id=event.id).order_by("starts_at")
    moved = [SessionSpec(s.starts_at + (timedelta(hours=1) if i == 0 else timedelta()),
                         s.ends_at + (timedelta(hours=1) if i == 0 else timedelta()), id=s.id)
             for i, s in enumerate(sessions)]
    await events.update_event(event_id=event.id, values={}, sessions=moved)
    await delivery.deliver_due(smtp_settings)

    first, changed = smtp_server.to("p1@example.org")
    assert changed["Subject"] == "Geändert: Schwimmkurs für Frauen"
    assert "03.11.2031, 19:00–21:00 Uhr" in parts(changed)[0]
    before = attached_calendar(first).walk("VEVENT")
    after = attached_calendar(changed).walk("VEVENT")
    assert [str(v["UID"]) for v in before] == [str(v["UID"]) for v in after]
    assert [int(v["SEQUENCE"]) for v in after] == [2, 1, 1]  # event raised once, the moved date once more
    assert after[0].decoded("DTSTART") == at(3, 18)
    assert after[0]["DTSTART"].params["TZID"] == "Europe/Berlin"


async def test_promoted_mail_calendar_supersedes_the_earlier_one(client, db, smtp_settings, smtp_server):
    """Confirmed, moved back to the waiting list, promoted again: the new .ics must win in the calendar."""
    from events_app.backoffice import changes
    from tests.helpers import make_user

    organiser, _ = await make_user("organiser")
    event = await course(capacity=1)
    person_one = (await registration.register(event_id=event.id, applicant=person(1))).registration
    await delivery.deliver_due(smtp_settings)
    person_two = (await registration.register(event_id=event.id, applicant=person(2))).registration
    now = utcnow().replace(microsecond=0)
    await changes.move_to_waitlist(event_id=event.id, registration_id=person_one.id, by=organiser,
                                      now=now + timedelta(minutes=1))  # person 2 gets the seat
    await registration.cancel(token=person_two.manage_token, now=now + timedelta(minutes=2))  # and gives it back
    await delivery.deliver_due(smtp_settings)

    first, waiting, promoted = smtp_server.to("p1@example.org")
    assert promoted["Subject"] == "Sie haben einen Platz: Schwimmkurs für Frauen"
    assert attached_calendar(waiting) is None
    before = attached_calendar(first).walk("VEVENT")
    after = attached_calendar(promoted).walk("VEVENT")
    assert [str(v["UID"]) for v in before] == [str(v["UID"]) for v in after]
    for old, new in zip(before, after):
        assert int(new["SEQUENCE"]) > int(old["SEQUENCE"])
        assert new.decoded("DTSTAMP") > old.decoded("DTSTAMP")
        assert new.decoded("DTSTAMP") == new.decoded("LAST-MODIFIED") == now + timedelta(minutes=2)
        assert str(new["STATUS"]) == "CONFIRMED"
    feed = icalendar.Calendar.from_ical((await client.get(f"/r/{person_one.manage_token}/calendar.ics")).content)
    assert [int(v["SEQUENCE"]) for v in feed.walk("VEVENT")] == [int(v["SEQUENCE"]) for v in after]


async def test_confidential_meeting_point_only_in_confirmation(db, smtp_settings, smtp_server):
    event = await course(capacity=1, location="Treffpunkt Eingang Nord", location_confidential=True)
    await registration.register(event_id=event.id, applicant=person(1))  # confirmed
    await registration.register(event_id=event.id, applicant=person(2))  # waiting
    await events.update_event(event_id=event.id, values={"title": "Schwimmkurs (neu)"})
    await delivery.deliver_due(smtp_settings)

    confirmation, change_confirmed = smtp_server.to("p1@example.org")
    waiting, change_waiting = smtp_server.to("p2@example.org")
    assert "Treffpunkt Eingang Nord" in parts(confirmation)[0] + parts(confirmation)[1]
    assert str(attached_calendar(confirmation).walk("VEVENT")[0]["LOCATION"]) == "Treffpunkt Eingang Nord"
    for message in (change_confirmed, waiting, change_waiting):
        text, html = parts(message)
        assert "Eingang Nord" not in text + html
        assert "Den Treffpunkt erfahren nur bestätigte" in text
    assert "LOCATION" not in attached_calendar(change_confirmed).walk("VEVENT")[0]
    assert b"Eingang Nord" not in attached_calendar(change_confirmed).to_ical()
    assert attached_calendar(waiting) is None and attached_calendar(change_waiting) is None


async def test_waiting_list_offer_expiry_cancellation_and_event_cancelled(db, smtp_settings, smtp_server):
    event = await course(capacity=1, offer_hours=48)
    first = await registration.register(event_id=event.id, applicant=person(1))
    second = await registration.register(event_id=event.id, applicant=person(2))
    now = utcnow()
    await registration.cancel(token=first.registration.manage_token, now=now)
    await registration.expire_due_offers(now=now + timedelta(hours=49))
    await events.cancel_event(event_id=event.id, reason="Hallenbad geschlossen")
    await delivery.deliver_due(smtp_settings)

    subjects = {address: [m["Subject"] for m in smtp_server.to(address)]
                for address in ("p1@example.org", "p2@example.org")}
    title = "Schwimmkurs für Frauen"
    assert subjects["p1@example.org"] == [f"Anmeldung bestätigt: {title}", f"Anmeldung storniert: {title}"]
    assert subjects["p2@example.org"] == [f"Warteliste: {title}", f"Ein Platz ist für Sie frei: {title}",
                                          f"Angebot abgelaufen: {title}"]
    waiting, offered, expired = smtp_server.to("p2@example.org")
    assert "an Platz 1." in parts(waiting)[0]
    deadline = (now + timedelta(hours=48)).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert f"bis {deadline:%d.%m.%Y, %H:%M} Uhr an" in parts(offered)[0]
    assert second.registration.manage_token in parts(offered)[1]
    assert attached_calendar(offered) is None


async def test_event_cancelled_tells_everyone_with_reason(db, smtp_settings, smtp_server):
    event = await course(capacity=1)
    await registration.register(event_id=event.id, applicant=person(1))
    await registration.register(event_id=event.id, applicant=person(2))
    await events.cancel_event(event_id=event.id, reason="Hallenbad geschlossen")
    await delivery.deliver_due(smtp_settings)
    for address in ("p1@example.org", "p2@example.org"):
        last = smtp_server.to(address)[-1]
        assert last["Subject"] == "Abgesagt: Schwimmkurs für Frauen"
        assert "Grund: Hallenbad geschlossen" in parts(last)[0]
        assert attached_calendar(last) is None


async def test_headers_are_safe_against_injection(db, smtp_settings, smtp_server):
    event = await course()
    await Event.filter(id=event.id).update(title="Kurs\r\nBcc: evil@example.org\r\n\r\nbody")
    await registration.register(event_id=event.id, applicant=person(1))
    await delivery.deliver_due(smtp_settings)
    [received] = smtp_server.received
    assert received.recipients == ["p1@example.org"]
    assert received.message["Bcc"] is None
    assert received.message["Subject"] == "Anmeldung bestätigt: Kurs Bcc: evil@example.org body"


async def test_invalid_recipients_fail_permanently_and_idn_domains_are_encoded(db, smtp_settings, smtp_server):
    event = await course()
    outcome = await registration.register(event_id=event.id, applicant=person(1))
    async with in_transaction() as conn:
        for address in ("not an address", "a@example.org, b@example.org", "müller@example.org", "info@bücher.de"):
            await outbox.queue_mail(conn, template="event_changed", recipient=address, event_id=event.id,
                                    registration_id=outcome.registration.id)
    report = await delivery.deliver_due(smtp_settings)
    assert (report.sent, report.failed) == (2, 3)
    failed = await OutboxMessage.filter(state=OutboxState.FAILED).order_by("id")
    assert [row.recipient for row in failed] == ["not an address", "a@example.org, b@example.org",
                                                 "müller@example.org"]
    assert all(row.last_error for row in failed)
    assert sorted(r.recipients[0] for r in smtp_server.received) == ["info@xn--bcher-kva.de", "p1@example.org"]
    [idn] = smtp_server.to("info@xn--bcher-kva.de")
    assert idn["To"] == "info@xn--bcher-kva.de"


async def test_without_smtp_host_mail_is_written_to_eml_files(db, settings):
    event = await course()
    await registration.register(event_id=event.id, applicant=person(1))
    report = await delivery.deliver_due(settings)
    assert report.sent == 1
    [path] = mail_files(settings)
    assert path.parent == settings.var_dir / "mail" and path.suffix == ".eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "p1@example.org" and message["Subject"].startswith("Anmeldung bestätigt")
    assert attached_calendar(message) is not None
    assert (await OutboxMessage.get()).state == OutboxState.SENT


@both_databases
async def test_server_down_while_50_register_then_all_delivered_once(db, settings):
    port = free_port()  # nothing listens here yet
    down = settings.with_(smtp_host="127.0.0.1", smtp_port=port)
    event = await make_event(capacity=30)

    async def sign_up(n: int):
        return await registration.register(event_id=event.id, applicant=person(n))

    results = await asyncio.gather(*(sign_up(n) for n in range(25)), delivery.deliver_due(down),
                                   *(sign_up(n) for n in range(25, 50)))
    assert await Registration.filter(event_id=event.id).count() == 50
    report = await delivery.deliver_due(down)
    assert report.sent == 0 and results[25].sent == 0 and report.retried + results[25].retried == 50
    rows = await OutboxMessage.all()
    assert len(rows) == 50 and all(r.state == OutboxState.RETRY for r in rows)
    assert all("refused" in r.last_error.lower() or "connect" in r.last_error.lower() for r in rows)
    start = utcnow()

    sink = SmtpSink(port=port).start()
    try:
        report = await delivery.deliver_due(down, now=start + timedelta(seconds=11))
        again = await delivery.deliver_due(down, now=start + timedelta(days=1))
    finally:
        sink.stop()
    assert report.sent == 50 and again.handled == 0
    recipients = sorted(r.recipients[0] for r in sink.received)
    assert recipients == sorted(f"p{n}@example.org" for n in range(50))
    assert await OutboxMessage.filter(state=OutboxState.SENT).count() == 50


async def test_451_is_retried_after_backoff_then_delivered(db, smtp_settings, smtp_server):
    event = await course()
    await registration.register(event_id=event.id, applicant=person(1))
    smtp_server.replies.append("451 4.3.0 Please try again later")
    now = utcnow()
    report = await delivery.deliver_due(smtp_settings, now=now)
    row = await OutboxMessage.get()
    assert report.retried == 1 and row.state == OutboxState.RETRY and row.attempts == 1
    assert now + timedelta(seconds=10) <= row.next_attempt_at < now + timedelta(seconds=15)  # 10 s after the try
    assert row.last_error.startswith("451")
    assert (await delivery.deliver_due(smtp_settings, now=now + timedelta(seconds=5))).handled == 0
    report = await delivery.deliver_due(smtp_settings, now=now + timedelta(seconds=11))
    row = await OutboxMessage.get()
    assert report.sent == 1 and row.state == OutboxState.SENT and row.attempts == 2 and row.last_error == ""
    assert len(smtp_server.received) == 1


async def test_550_fails_and_is_not_retried(db, smtp_settings, smtp_server):
    event = await course()
    await registration.register(event_id=event.id, applicant=person(1))
    await registration.register(event_id=event.id, applicant=person(2))
    smtp_server.replies.append("550 5.1.1 No such user")
    report = await delivery.deliver_due(smtp_settings)
    assert (report.sent, report.failed) == (1, 1)
    failed = await OutboxMessage.get(state=OutboxState.FAILED)
    assert failed.last_error.startswith("550") and failed.attempts == 1
    later = await delivery.deliver_due(smtp_settings, now=utcnow() + timedelta(days=3))
    assert later.handled == 0
    assert (await OutboxMessage.get(id=failed.id)).state == OutboxState.FAILED
    assert len(smtp_server.received) == 1  # the other message went out on the same connection


async def test_backoff_schedule_then_failed_after_two_days(db, settings):
    down = settings.with_(smtp_host="127.0.0.1", smtp_port=free_port())
    event = await course()
    await registration.register(event_id=event.id, applicant=person(1))
    row = await OutboxMessage.get()
    now, waits = row.created_at, []
    while True:
        await delivery.deliver_due(down, now=now)
        row = await OutboxMessage.get()
        if row.state == OutboxState.FAILED:
            break
        assert row.state == OutboxState.RETRY
        waits.append(round((row.next_attempt_at - now).total_seconds()))  # counted from the try
        now = row.next_attempt_at
    assert waits[:6] == [10, 30, 60, 300, 900, 3600]
    assert set(waits[5:]) == {3600}
    assert timedelta(days=2) - timedelta(hours=1) <= now - row.created_at <= timedelta(days=2)
    assert row.attempts == len(waits) + 1 and row.last_error


async def test_abandoned_claim_is_taken_again_after_the_lease(db, smtp_settings, smtp_server):
    event = await course()
    await registration.register(event_id=event.id, applicant=person(1))
    now, lease = utcnow(), timedelta(seconds=smtp_settings.mail_lease_seconds)
    async with in_transaction() as conn:  # a worker claims, then is killed before sending
        assert len(await delivery.claim_due(conn, now=now, limit=10, lease=lease, owner="killed")) == 1
    assert (await OutboxMessage.get()).state == OutboxState.SENDING
    assert (await delivery.deliver_due(smtp_settings, now=now + lease - timedelta(seconds=5))).handled == 0
    report = await delivery.deliver_due(smtp_settings, now=now + lease + timedelta(seconds=1))
    row = await OutboxMessage.get()
    # claimed twice, tried once
    assert report.sent == 1 and row.state == OutboxState.SENT and row.attempts == 1
    assert len(smtp_server.received) == 1


@both_databases
async def test_concurrent_workers_deliver_every_message_exactly_once(db, smtp_settings, smtp_server):
    event = await make_event(capacity=100)
    for n in range(60):
        await registration.register(event_id=event.id, applicant=person(n))
    reports = await asyncio.gather(*(delivery.deliver_due(smtp_settings, worker_id=f"w{i}", batch_size=7)
                                     for i in range(3)))
    assert sum(r.sent for r in reports) == 60
    ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert sorted(r.recipients[0] for r in smtp_server.received) == sorted(f"p{n}@example.org" for n in range(60))
    assert await OutboxMessage.filter(state=OutboxState.SENT).count() == 60


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_postgres_claims_skip_rows_another_worker_holds(db, smtp_settings, smtp_server):
    event = await make_event(capacity=100)
    for n in range(10):
        await registration.register(event_id=event.id, applicant=person(n))
    now = utcnow()
    async with in_transaction() as first:
        mine = await delivery.claim_due(first, now=now, limit=4, lease=timedelta(minutes=2), owner="first")
        # while the first claim is still uncommitted, a second worker gets the other rows, without waiting
        others = await asyncio.wait_for(delivery.deliver_due(smtp_settings, worker_id="second", now=now), timeout=10)
    assert len(mine) == 4 and others.sent == 6
    delivered = {r.recipients[0] for r in smtp_server.received}
    assert not delivered & {row.recipient for row in mine}


async def test_reminder_once_per_registration_before_first_date(db, smtp_settings, smtp_server):
    now = utcnow()
    soon = await course(sessions=[SessionSpec(now + timedelta(hours=30), now + timedelta(hours=32)),
                                  SessionSpec(now + timedelta(days=7), now + timedelta(days=7, hours=2))])
    later = await course(title="Später", sessions=[SessionSpec(now + timedelta(days=5), now + timedelta(days=5, hours=2))])
    early = await registration.register(event_id=soon.id, applicant=person(1), now=now - timedelta(days=3))
    await registration.register(event_id=soon.id, applicant=person(2), now=now - timedelta(hours=2))  # inside window
    await registration.register(event_id=later.id, applicant=person(3), now=now - timedelta(days=3))
    await delivery.deliver_due(smtp_settings)
    smtp_server.received.clear()

    assert await reminders.queue_due_reminders(hours=48, now=now) == 1
    assert await reminders.queue_due_reminders(hours=48, now=now + timedelta(minutes=5)) == 0
    assert (await Registration.get(id=early.registration.id)).reminded_at is not None
    done = await worker.run_once(smtp_settings)
    assert done["mail_sent"] == 1 and done["reminders_queued"] == 0
    [message] = smtp_server.to("p1@example.org")
    start = (now + timedelta(hours=30)).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert message["Subject"] == f"Erinnerung: Schwimmkurs für Frauen am {start:%d.%m.%Y}"
    assert f"https://{HOST}/r/{early.registration.manage_token}" in parts(message)[0]
    assert len(smtp_server.received) == 1


async def test_worker_round_delivers_queued_mail(db, smtp_settings, smtp_server):
    event = await course()
    await registration.register(event_id=event.id, applicant=person(1))
    done = await worker.run_once(smtp_settings)
    assert done["mail_sent"] == 1 and len(smtp_server.received) == 1


@pytest.mark.multiprocess
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_two_worker_processes_on_postgres_send_each_message_once(db, settings, smtp_server, tmp_path):
    """Two real `events-app worker` processes compete for the same outbox."""
    event = await make_event(capacity=300)
    for n in range(120):
        await registration.register(event_id=event.id, applicant=person(n))
    env = {**os.environ, "EVENTS_DATABASE_URL": db, "EVENTS_SMTP_HOST": "127.0.0.1",
           "EVENTS_SMTP_PORT": str(smtp_server.port), "EVENTS_VAR_DIR": str(tmp_path),
           "EVENTS_SECRET_KEY": "test", "EVENTS_BASE_URL": f"https://{HOST}"}
    workers = [subprocess.Popen([sys.executable, "-m", "events_app.cli", "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        for _ in range(600):
            if await OutboxMessage.filter(state=OutboxState.SENT).count() == 120:
                break
            await asyncio.sleep(0.1)
    finally:
        for process in workers:
            process.terminate()
        errors = [process.communicate(timeout=30)[1].decode() for process in workers]
    assert await OutboxMessage.filter(state=OutboxState.SENT).count() == 120, errors
    ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert len(ids) == 120 and len(set(ids)) == 120


async def test_every_kind_renders_in_every_language(db, smtp_settings):
    from events_app.core import i18n
    event = await course(offer_hours=24)
    outcome = await registration.register(event_id=event.id, applicant=person(1))
    confirmation = await OutboxMessage.get(registration_id=outcome.registration.id)
    kinds = [kind for kind in content.KINDS if kind != "digest" and kind not in content.INVITATION_KINDS]
    async with in_transaction() as conn:
        for kind in kinds:
            for language in i18n.LANGUAGES:
                await outbox.queue_mail(conn, template=kind, recipient="p1@example.org", language=language,
                                        registration_id=outcome.registration.id, event_id=event.id,
                                        context={"position": 2, "reason": "Krankheit",
                                                 "offer_expires_at": utcnow().isoformat(),
                                                 "subject": "Schwimmkurs: neuer Treffpunkt", "body": "Bitte"})
    rows = await OutboxMessage.exclude(id=confirmation.id)
    assert len(rows) == len(kinds) * len(i18n.LANGUAGES)
    data = await content.load_data(rows)
    for row in rows:
        parsed = email.message_from_bytes(delivery.build_message(row, data, smtp_settings).data,
                                          policy=email.policy.default)
        text, html = parts(parsed)
        assert parsed["Subject"] and "Schwimmkurs" in parsed["Subject"], (row.template, row.language)
        assert "Person 1" in text and f'lang="{row.language}"' in html
        assert f'dir="{i18n.text_direction(row.language)}"' in html
        assert ("Krankheit" in text) == (row.template in ("event_cancelled", "cancelled_by_organiser"))


async def test_daily_digest_for_organisers_once_a_day_with_failed_mail(db, smtp_settings, smtp_server):
    from events_app.backoffice import digest
    from tests.helpers import make_user

    await make_user("organiser")
    await make_user("admin", email="admin@stadt-giessen.de")
    await make_user("door", email="door@stadt-giessen.de")
    assert await digest.queue_daily_digest(smtp_settings.with_(digest_hour=0)) == 0  # nothing happened yet
    event = await course()
    first = await registration.register(event_id=event.id, applicant=person(1))
    await registration.register(event_id=event.id, applicant=person(2))
    await registration.cancel(token=first.registration.manage_token)
    smtp_server.replies.append("550 5.1.1 No such user")
    await delivery.deliver_due(smtp_settings)
    smtp_server.received.clear()

    assert await digest.queue_daily_digest(smtp_settings) == 0  # off by default
    on = smtp_settings.with_(digest_hour=0)
    assert await digest.queue_daily_digest(on) == 2
    assert await digest.queue_daily_digest(on) == 0  # once a day
    await delivery.deliver_due(on)
    assert sorted(r.recipients[0] for r in smtp_server.received) == ["admin@stadt-giessen.de",
                                                                     "organiser@stadt-giessen.de"]
    message = smtp_server.received[0].message
    assert message["Subject"].startswith("Tägliche Übersicht der Anmeldungen, ")
    text, html = parts(message)
    assert "Schwimmkurs für Frauen" in text
    assert "neue Anmeldungen: 2" in text and "Stornierungen: 1" in text and "Warteliste: 0" in text
    assert "Nicht zustellbare Mails:" in text and "p1@example.org (confirmed): 550" in text
    assert "neue Anmeldungen: 2" in html


@both_databases
async def test_daily_digest_once_a_day_across_midnight_in_berlin(db, smtp_settings):
    """At 00:30 in Berlin the UTC date is still yesterday's: the digest must not go out twice."""
    from events_app.backoffice import digest
    from tests.helpers import make_user

    await make_user("organiser")
    event = await course()
    await registration.register(event_id=event.id, applicant=person(1))
    on = smtp_settings.with_(digest_hour=0, timezone="Europe/Berlin")
    half_past_midnight = utcnow().replace(hour=23, minute=30, second=0, microsecond=0)  # 00:30 or 01:30 in Berlin
    assert await digest.queue_daily_digest(on, now=half_past_midnight) == 1
    await OutboxMessage.filter(template="digest").update(created_at=half_past_midnight)
    assert await digest.queue_daily_digest(on, now=half_past_midnight + timedelta(minutes=10)) == 0
    assert await OutboxMessage.filter(template="digest").count() == 1
