"""Answering invitations: by code and by link, on the web and through the API; companions against the
capacity, also when many accept at once; wrong codes are friendly and throttled."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from events_app.core import errors
from events_app.receptions import invitations
from events_app.seats import registration
from events_app.receptions.invitations import Reply
from events_app.core.models import Event, Invitation, InvitationState, OutboxMessage, Registration, RegistrationStatus, ThrottleCounter
from events_app.core.timeutil import utcnow
from events_app.core.wording import format_code
from events_app.security.throttle import Throttle
from tests.fixtures_receptions import invite, make_reception
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_user


async def test_rsvp_by_code_on_the_web_accept_with_companions_then_change(client, reception):
    person = (await invite(reception, 1))[0]
    form = await client.get("/rsvp")
    assert form.status_code == 200 and 'name="code"' in form.text
    typed = format_code(person.code).lower().replace("-", " ")  # as typed from the letter
    found = await client.post("/rsvp", data={"code": typed})
    assert found.status_code == 303 and found.headers["location"] == f"/rsvp/{person.token}"
    page = await client.get(found.headers["location"])
    assert page.status_code == 200 and "Nummer000" in page.text
    accepted = await client.post(f"/rsvp/{person.token}", data={
        "answer": "accept", "companions": "2", "language": "tr", "accessibility": "Rollstuhl"})
    assert accepted.status_code == 303
    person = await Invitation.get(id=person.id).prefetch_related("registration")
    assert (person.state, person.companions, person.language) == (InvitationState.ACCEPTED, 2, "tr")
    assert person.needs == {"accessibility": "Rollstuhl"}
    assert (person.registration.status, person.registration.seats) == (RegistrationStatus.CONFIRMED, 3)
    assert (await Event.get(id=reception.id)).seats_taken == 3
    assert await OutboxMessage.filter(template="confirmed", recipient="gast0@example.org").count() == 1
    shown = await client.get(accepted.headers["location"])
    assert shown.status_code == 200 and "Ihre Antwort ist gespeichert" in shown.text
    await sign_in(client)
    overview = await client.get(f"/admin/events/{reception.id}/invitations")
    assert "Rollstuhl" in overview.text
    # fewer companions: the same registration keeps its seat, the surplus is freed
    await client.post(f"/rsvp/{person.token}", data={"answer": "accept", "companions": "0", "language": "tr"})
    assert (await Registration.get(id=person.registration_id)).seats == 1
    assert (await Event.get(id=reception.id)).seats_taken == 1
    assert await Registration.all().count() == 1
    # too many companions: the page says so next to the field, nothing changes
    too_many = await client.post(f"/rsvp/{person.token}", data={"answer": "accept", "companions": "5"})
    assert too_many.status_code == 422 and 'aria-invalid="true"' in too_many.text
    no_answer = await client.post(f"/rsvp/{person.token}", data={"companions": "1"})
    assert no_answer.status_code == 422
    # decline cancels the registration
    declined = await client.post(f"/rsvp/{person.token}", data={"answer": "decline"})
    assert declined.status_code == 303
    assert (await Registration.get(id=person.registration_id)).status == RegistrationStatus.CANCELLED
    assert (await Invitation.get(id=person.id)).state == InvitationState.DECLINED
    assert (await Event.get(id=reception.id)).seats_taken == 0
    # and accepting again after a decline registers anew
    await client.post(f"/rsvp/{person.token}", data={"answer": "accept", "companions": "1"})
    assert await Registration.filter(status=RegistrationStatus.CONFIRMED, seats=2).count() == 1


async def test_wrong_codes_are_friendly_then_throttled(client, reception, app):
    app.state.throttle = Throttle(app.state.settings.with_(limit_rsvp_address="10/10 minutes"))
    person = (await invite(reception, 1))[0]
    wrong = await client.post("/rsvp", data={"code": "AAAA-BBBB-CCC"})
    assert wrong.status_code == 404 and "<form" in wrong.text and 'aria-invalid="true"' in wrong.text
    for _ in range(8):
        await client.post("/rsvp", data={"code": "nonsense"})
    assert (await client.post("/rsvp", data={"code": ""})).status_code == 404  # the tenth
    throttled = await client.post("/rsvp", data={"code": person.code})
    assert throttled.status_code == 429 and "<form" in throttled.text
    api = await client.post(f"/api/v1/invitations/{person.code}/rsvp", json={"answer": "accept"})
    assert api.status_code == 429 and api.headers["content-type"].startswith("application/problem+json")
    assert await Registration.all().count() == 0
    # old attempts stop counting after the window (other addresses: tests/test_security_throttle.py)
    await ThrottleCounter.all().update(expires_at=0)
    assert (await client.post("/rsvp", data={"code": person.code})).status_code == 303


async def test_unknown_link_is_a_friendly_404(client, reception):
    page = await client.get("/rsvp/not-a-token")
    assert page.status_code == 404 and "<html" in page.text


async def test_api_rsvp_by_code_and_the_organisers_list(client, reception):
    people = await invite(reception, 2)
    url = f"/api/v1/invitations/{format_code(people[0].code)}/rsvp"
    accepted = await client.post(url, json={"answer": "accept", "companions": 1, "language": "ar"})
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["state"], body["companions"], body["registration_status"]) == ("accepted", 1, "confirmed")
    assert "code" not in body and "email" not in body
    cases = [
        (await client.post(url, json={"answer": "maybe"}), 422),
        (await client.post(url, json={"answer": "accept", "companions": 3}), 422),
        (await client.post(url, json={"answer": "accept", "companions": "two"}), 422),
        (await client.post(url, json={"answer": "accept", "language": "xx"}), 422),
        (await client.post(url, content=b"{oops", headers={"content-type": "application/json"}), 400),
        (await client.post("/api/v1/invitations/WRONGCODE22/rsvp", json={"answer": "accept"}), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    declined = await client.post(f"/api/v1/invitations/{people[1].code}/rsvp", json={"answer": "decline"})
    assert declined.json()["state"] == "declined"

    listing_url = f"/api/v1/events/{reception.id}/invitations"
    assert (await client.get(listing_url)).status_code == 401
    _, token = await make_user()
    listing = await client.get(listing_url, headers={"authorization": f"Bearer {token}"})
    assert listing.status_code == 200
    by_code = {item["code"]: item for item in listing.json()}
    assert by_code[people[0].code]["companions"] == 1 and by_code[people[0].code]["state"] == "accepted"
    assert by_code[people[1].code]["state"] == "declined"
    pdf = await client.get(f"/api/v1/events/{reception.id}/letters.pdf?all=1", headers={"authorization": f"Bearer {token}"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await client.get(f"/api/v1/events/{reception.id}/letters.pdf")).status_code == 401


async def test_answers_end_at_the_deadline_and_public_sign_up_is_refused(client, db):
    event = await make_reception(registration_closes_at=utcnow() + timedelta(hours=1))
    person = (await invite(event, 1))[0]
    await invitations.answer(invitation_id=person.id, reply=Reply(accept=True))
    with pytest.raises(errors.RegistrationClosed):
        await invitations.answer(invitation_id=person.id, reply=Reply(accept=False), now=utcnow() + timedelta(hours=2))
    assert (await Invitation.get(id=person.id)).state == InvitationState.ACCEPTED
    await Event.filter(id=event.id).update(registration_closes_at=utcnow() - timedelta(minutes=1))
    late = await client.post(f"/api/v1/invitations/{person.code}/rsvp", json={"answer": "decline"})
    assert late.status_code == 409
    page = await client.get(f"/rsvp/{person.token}")
    assert page.status_code == 200 and 'name="answer"' not in page.text
    public = await client.post(f"/api/v1/events/{event.id}/registrations", json={"name": "X", "email": "x@example.org"})
    assert public.status_code == 403


async def test_a_full_hall_means_the_waiting_list_and_more_companions_only_if_free(reception):
    await registration.set_capacity(event_id=reception.id, capacity=4)
    first, second, third = await invite(reception, 3)
    await invitations.answer(invitation_id=first.id, reply=Reply(accept=True, companions=1))  # 2 seats
    await invitations.answer(invitation_id=third.id, reply=Reply(accept=True, companions=1))  # 2 seats: full
    await invitations.answer(invitation_id=second.id, reply=Reply(accept=True, companions=2))
    second = await Invitation.get(id=second.id).prefetch_related("registration")
    assert second.registration.status == RegistrationStatus.WAITLISTED
    with pytest.raises(errors.MoreSeatsUnavailable):
        await invitations.answer(invitation_id=first.id, reply=Reply(accept=True, companions=2))
    assert (await Registration.get(id=(await Invitation.get(id=first.id)).registration_id)).seats == 2
    with pytest.raises(errors.ValidationFailed):
        await invitations.answer(invitation_id=third.id, reply=Reply(accept=True, companions=3))
    # third declines: 2 seats free, but the waiting invitee needs 3 and keeps waiting
    await invitations.answer(invitation_id=third.id, reply=Reply(accept=False))
    second = await Invitation.get(id=second.id).prefetch_related("registration")
    assert second.registration.status == RegistrationStatus.WAITLISTED
    # with one companion fewer they fit and are promoted
    await invitations.answer(invitation_id=second.id, reply=Reply(accept=True, companions=1))
    second = await Invitation.get(id=second.id).prefetch_related("registration")
    assert second.registration.status == RegistrationStatus.CONFIRMED
    event = await Event.get(id=reception.id)
    seats = await Registration.filter(status=RegistrationStatus.CONFIRMED).values_list("seats", flat=True)
    assert event.seats_taken == 4 == sum(seats)
    counts = await invitations.counts(reception.id)
    assert (counts["accepted"], counts["accepted_persons"], counts["declined"], counts["waiting"]) == (2, 4, 1, 0)


@both_databases
async def test_concurrent_acceptances_with_companions_never_overbook(db):
    event = await make_reception(capacity=10)
    people = await invite(event, 12)
    outcomes = await asyncio.gather(*(
        invitations.answer(invitation_id=p.id, reply=Reply(accept=True, companions=2)) for p in people),
        return_exceptions=True)
    assert not [o for o in outcomes if isinstance(o, BaseException)]
    confirmed = await Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED)
    waiting = await Registration.filter(event_id=event.id, status=RegistrationStatus.WAITLISTED)
    assert len(confirmed) == 3 and len(waiting) == 9  # 3 x 3 seats fit in 10, a fourth does not
    event = await Event.get(id=event.id)
    assert event.seats_taken == sum(r.seats for r in confirmed) == 9
    assert await Invitation.filter(state=InvitationState.ACCEPTED, registration_id__isnull=False).count() == 12
    # concurrent declines and acceptances keep the count exact
    accepted_ids = [r.id for r in confirmed]
    holders = await Invitation.filter(registration_id__in=accepted_ids)
    await asyncio.gather(*(
        invitations.answer(invitation_id=h.id, reply=Reply(accept=False)) for h in holders[:2]))
    event = await Event.get(id=event.id)
    confirmed = await Registration.filter(event_id=event.id, status=RegistrationStatus.CONFIRMED)
    assert event.seats_taken == sum(r.seats for r in confirmed) == 9 and len(confirmed) == 3
