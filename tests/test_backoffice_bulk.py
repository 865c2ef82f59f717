"""Acting on many registrations at once: a confirmation step that names how many, then confirm, move
back, message or download only the ticked people."""

from __future__ import annotations

import re
from datetime import timedelta

from events_app.core.models import AuditEntry, Event, EventSession, OutboxMessage, Registration, RegistrationStatus
from events_app.seats import registration
from events_app.seats.registration import Applicant
from tests.fixtures_backoffice import sign_in
from events_app.seats.events import SessionSpec
from tests.helpers import both_databases, in_days, make_event


async def _people(event, names):
    return [(await registration.register(event_id=event.id, applicant=Applicant(
        name=name, email=f"{name.lower()}@example.org"))).registration for name in names]


@both_databases
async def test_confirm_many_gives_free_seats_oldest_first_after_a_confirmation_step(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=2)
    anna, bernd, cem, dana = await _people(event, ["Anna", "Bernd", "Cem", "Dana"])
    await Event.filter(id=event.id).update(capacity=3)  # one seat more than taken: room for one of three
    ticked = {"csrf_token": me.csrf, "action": "confirm", "ids": [str(dana.id), str(cem.id)]}
    step = await client.post(f"/admin/events/{event.id}/registrations/bulk", data=ticked)
    assert step.status_code == 200 and "2 Anmeldungen bestätigen?" in step.text
    assert await Registration.filter(status=RegistrationStatus.CONFIRMED).count() == 2  # nothing yet

    done = await client.post(f"/admin/events/{event.id}/registrations/bulk", data={**ticked, "confirm": "yes"})
    assert done.status_code == 303
    assert (await Registration.get(id=cem.id)).status == RegistrationStatus.CONFIRMED  # waited longer
    assert (await Registration.get(id=dana.id)).status == RegistrationStatus.WAITLISTED
    page = await client.get(done.headers["location"])
    assert "1 Anmeldung wurde bestätigt." in page.text and "1 blieb" in page.text
    assert (await Event.get(id=event.id)).seats_taken == 3


@both_databases
async def test_move_many_back_and_write_to_the_ticked_people_only(client, db, smtp_settings):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=3)
    anna, bernd, cem = await _people(event, ["Anna", "Bernd", "Cem"])
    moved = await client.post(f"/admin/events/{event.id}/registrations/bulk", data={
        "csrf_token": me.csrf, "action": "waitlist", "ids": [str(anna.id), str(bernd.id)], "confirm": "yes"})
    assert moved.status_code == 303
    statuses = dict(await Registration.all().values_list("name", "status"))
    assert statuses["Cem"] == RegistrationStatus.CONFIRMED and (await Event.get(id=event.id)).seats_taken <= 3
    assert await AuditEntry.filter(action__contains="waitlist").count() + await AuditEntry.filter(
        action__contains="moved").count() >= 2

    before = await OutboxMessage.filter(template="organiser_message").count()
    missing = await client.post(f"/admin/events/{event.id}/registrations/bulk", data={
        "csrf_token": me.csrf, "action": "message", "ids": [str(cem.id)], "confirm": "yes", "subject": "Raum"})
    assert missing.status_code == 422 and await OutboxMessage.filter(template="organiser_message").count() == before
    sent = await client.post(f"/admin/events/{event.id}/registrations/bulk", data={
        "csrf_token": me.csrf, "action": "message", "ids": [str(cem.id)], "confirm": "yes", "subject": "Raum",
        "body": "Wir treffen uns in Raum 2."})
    assert sent.status_code == 303
    recipients = await OutboxMessage.filter(template="organiser_message").values_list("recipient", flat=True)
    assert recipients == ["cem@example.org"]


async def test_download_only_the_ticked_people(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=5)
    anna, bernd, cem = await _people(event, ["Anna", "Bernd", "Cem"])
    step = await client.post(f"/admin/events/{event.id}/registrations/bulk", data={
        "csrf_token": me.csrf, "action": "export", "ids": [str(anna.id), str(cem.id)]})
    assert step.status_code == 200
    link = f"/admin/events/{event.id}/export.csv?ids={anna.id},{cem.id}&amp;columns="
    assert link in step.text
    csv = await client.get(f"/admin/events/{event.id}/export.csv", params={"ids": f"{anna.id},{cem.id}",
                                                                          "columns": "name"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[1:] == ["Anna", "Cem"]


async def test_nothing_ticked_or_no_action_changes_nothing(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1)
    _, waiting = await _people(event, ["Anna", "Bernd"])
    for data, notice in (({"action": "confirm"}, "mindestens eine"), ({"action": "delete", "ids": [str(waiting.id)]},
                                                                     "was geschehen soll")):
        response = await client.post(f"/admin/events/{event.id}/registrations/bulk",
                                     data={"csrf_token": me.csrf, "confirm": "yes", **data})
        assert response.status_code == 303
        assert notice in (await client.get(response.headers["location"])).text
    other = await make_event(title="Andere Veranstaltung")
    foreign = await client.post(f"/admin/events/{other.id}/registrations/bulk", data={
        "csrf_token": me.csrf, "action": "confirm", "ids": [str(waiting.id)], "confirm": "yes"})
    assert foreign.status_code == 303  # an id of another event is not chosen here
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.WAITLISTED


async def test_event_list_searches_filters_and_sorts_in_the_database(client, db):
    await sign_in(client, "organiser")
    course = await make_event(kind="course", title="Schwimmkurs für Frauen",
                              sessions=[SessionSpec(in_days(3), in_days(3) + timedelta(hours=1))])
    await make_event(kind="workshop", title="Interkulturelle Kompetenz")
    old = await make_event(kind="course", title="Schwimmkurs im Frühjahr")
    await EventSession.filter(event_id=old.id).update(starts_at=in_days(-60), ends_at=in_days(-60) + timedelta(hours=1))

    def titles(page):
        return re.findall(r'<a href="/admin/events/\d+"><bdi>([^<]+)</bdi>', page.text)

    upcoming = await client.get("/admin/events")
    assert titles(upcoming) == ["Schwimmkurs für Frauen", "Interkulturelle Kompetenz"]  # soonest first, no past
    assert titles(await client.get("/admin/events", params={"q": "schwimm", "when": "all", "sort": "title"})) == [
        "Schwimmkurs für Frauen", "Schwimmkurs im Frühjahr"]
    assert titles(await client.get("/admin/events", params={"when": "past"})) == ["Schwimmkurs im Frühjahr"]
    assert titles(await client.get("/admin/events", params={"kind": "workshop"})) == ["Interkulturelle Kompetenz"]
    odd = await client.get("/admin/events", params={"kind": "x", "when": "y", "sort": "z", "page": "99999999"})
    assert odd.status_code == 200 and len(titles(odd)) == 2
