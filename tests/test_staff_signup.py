"""Staff workshops: only the city's domains, and a seat only after the address is confirmed."""

from __future__ import annotations

import re

import pytest
from tortoise.transactions import in_transaction

from events_app.core import errors, urls, wording
from events_app.seats import events, registration, signup
from events_app.core.models import Audience, Event, OutboxMessage, Question, Registration, RegistrationStatus
from events_app.seats.registration import Applicant
from events_app.core.signing import verification_code
from tests.helpers import both_databases, make_event

DOMAINS = ("giessen.de", "stadt-giessen.de")


@pytest.mark.parametrize("email, allowed", [
    ("a.beispiel@giessen.de", True),
    ("A.Beispiel@GIESSEN.DE", True),
    ("a@Stadt-Giessen.De", True),
    ("a@giessen.de.evil.org", False),
    ("a@evilgiessen.de", False),
    ("a@amt.giessen.de", False),  # sub-domains only when listed as *.giessen.de
    ("a@gießen.de", False),  # IDNA 2008: xn--gieen-nqa.de, not giessen.de
    ("a@giessen.de@evil.org", False),
    ("giessen.de", False),
    ("a@xn--gieen-nqa.de", False),
    ("", False),
])
def test_staff_domain_check(email, allowed):
    assert signup.staff_address_allowed(email, DOMAINS) is allowed


def test_wildcard_entry_accepts_sub_domains_only():
    domains = ("*.giessen.de",)
    assert signup.staff_address_allowed("a@amt.giessen.de", domains)
    assert signup.staff_address_allowed("a@x.AMT.giessen.de", domains)
    assert not signup.staff_address_allowed("a@giessen.de", domains)
    assert not signup.staff_address_allowed("a@evilgiessen.de", domains)
    assert not signup.staff_address_allowed("a@amt.giessen.de.evil.org", domains)


async def _staff_workshop(**overrides):
    return await make_event(audience="staff", **overrides)


def _applicant(email, **answers):
    return Applicant(name="Erika Muster", email=email, answers={"department": "Amt 50", **answers})


@both_databases
async def test_pending_staff_sign_up_holds_no_seat_until_verified(db):
    event = await _staff_workshop(capacity=1)
    first = (await signup.sign_up(event_id=event.id, applicant=_applicant("erika@giessen.de"),
                                  staff_domains=DOMAINS)).registration
    second = (await signup.sign_up(event_id=event.id, applicant=_applicant("max@stadt-giessen.de"),
                                   staff_domains=DOMAINS)).registration
    assert (first.status, second.status) == (RegistrationStatus.PENDING, RegistrationStatus.PENDING)
    assert (await Event.get(id=event.id)).seats_taken == 0
    mails = await OutboxMessage.filter(template="verify_email").order_by("id")
    assert [(m.recipient, m.context) for m in mails] == [
        ("erika@giessen.de", {"registration_id": first.id, "event_id": event.id}),
        ("max@stadt-giessen.de", {"registration_id": second.id, "event_id": event.id})]
    # the second verifies first and gets the only seat; the first then goes on the waiting list
    code = verification_code(registration_id=second.id, email=second.email, secret_key="k")
    outcome = await signup.verify_email(token=second.manage_token, code=code, secret_key="k")
    assert outcome.registration.status == RegistrationStatus.CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 1
    again = await signup.verify_email(token=second.manage_token, code=code, secret_key="k")  # link opened twice
    assert again.registration.status == RegistrationStatus.CONFIRMED and (await Event.get(id=event.id)).seats_taken == 1
    code = verification_code(registration_id=first.id, email=first.email, secret_key="k")
    outcome = await signup.verify_email(token=first.manage_token, code=code, secret_key="k")
    assert outcome.registration.status == RegistrationStatus.WAITLISTED and outcome.waitlist_position == 1


async def test_bad_verification_links_are_rejected(db):
    event = await _staff_workshop()
    person = (await signup.sign_up(event_id=event.id, applicant=_applicant("erika@giessen.de"),
                                   staff_domains=DOMAINS)).registration
    other = (await signup.sign_up(event_id=event.id, applicant=_applicant("max@giessen.de"),
                                  staff_domains=DOMAINS)).registration
    others_code = verification_code(registration_id=other.id, email=other.email, secret_key="k")
    for code, secret in [("garbage", "k"), (others_code, "k"),
                         (verification_code(registration_id=person.id, email=person.email, secret_key="x"), "k"),
                         (verification_code(registration_id=person.id, email="other@giessen.de", secret_key="k"), "k")]:
        with pytest.raises(errors.VerificationLinkInvalid):
            await signup.verify_email(token=person.manage_token, code=code, secret_key=secret)
    expired = verification_code(registration_id=person.id, email=person.email, secret_key="k")
    with pytest.raises(errors.VerificationLinkInvalid):
        await signup.verify_email(token=person.manage_token, code=expired, secret_key="k", max_age=-1)
    with pytest.raises(errors.RegistrationNotFound):
        await signup.verify_email(token="nope", code=expired, secret_key="k")
    await registration.cancel(token=other.manage_token)
    with pytest.raises(errors.AlreadyCancelled):
        await signup.verify_email(token=other.manage_token, code=others_code, secret_key="k")
    assert await Registration.filter(status=RegistrationStatus.PENDING).count() == 1


async def test_staff_form_rejects_other_domains_and_missing_department(client, db):
    event = await _staff_workshop()
    response = await client.post(f"/events/{event.id}/register",
                                 data={"name": "Eve", "email": "eve@giessen.de.evil.org", "q_department": "Amt 1"})
    assert response.status_code == 422 and 'id="e-email"' in response.text and "giessen.de" in response.text
    response = await client.post(f"/events/{event.id}/register", data={"name": "Erika", "email": "erika@giessen.de"})
    assert response.status_code == 422 and 'id="e-q_department"' in response.text
    api = await client.post(f"/api/v1/events/{event.id}/registrations",
                            json={"name": "Eve", "email": "eve@evilgiessen.de", "answers": {"department": "x"}})
    assert api.status_code == 422 and "email" in api.json()["errors"]
    phone_only = await client.post(f"/api/v1/events/{event.id}/registrations",
                                   json={"name": "Eve", "phone": "0641 123456", "answers": {"department": "x"}})
    assert phone_only.status_code == 422 and "email" in phone_only.json()["errors"]
    assert await Registration.all().count() == 0


async def test_staff_sign_up_by_form_then_verify_link(client, db, settings):
    event = await _staff_workshop(capacity=5)
    response = await client.post(f"/events/{event.id}/register", data={
        "name": "Erika Muster", "email": "Erika.Muster@GIESSEN.de", "q_department": "Amt für Soziales",
        "q_supervisor": "Herr Beispiel"})
    assert response.status_code == 303
    person = await Registration.get()
    assert person.status == RegistrationStatus.PENDING
    assert person.answers == {"department": "Amt für Soziales", "supervisor": "Herr Beispiel"}
    page = await client.get(response.headers["location"])
    assert "status-pending" in page.text
    assert (await client.post(f"/r/{person.manage_token}/verify", data={})).status_code == 400
    url = urls.verification_link("", person, secret_key=settings.secret_key)
    shown = await client.get(url)  # opening the link shows a button and changes nothing
    assert shown.status_code == 200 and (await Registration.get(id=person.id)).status == RegistrationStatus.PENDING
    code = re.search(r'name="code" value="([^"]+)"', shown.text).group(1)
    confirmed = await client.post(f"/r/{person.manage_token}/verify", data={"code": code})
    assert confirmed.status_code == 303 and confirmed.headers["location"].endswith("done=verified")
    assert (await Registration.get(id=person.id)).status == RegistrationStatus.CONFIRMED
    assert await OutboxMessage.filter(template="confirmed", registration_id=person.id).exists()


async def test_standard_questions_are_added_once_and_translated(db):
    event = await _staff_workshop()
    async with in_transaction() as conn:
        assert await signup.add_standard_questions(conn, event) == []  # creating the event added them
    questions = await Question.filter(event_id=event.id).order_by("position")
    assert [(q.key, q.required) for q in questions] == [("department", True), ("supervisor", False)]
    assert wording.question_label(questions[0], "en") == "Department or office"
    public = await make_event()
    assert not await Question.filter(event_id=public.id).exists()
    await events.update_event(event_id=public.id, values={"audience": Audience.WOMEN})
    keys = await Question.filter(event_id=public.id).order_by("position").values_list("key", flat=True)
    assert keys == ["childcare", "language_assistance"]


async def test_registration_engine_keeps_pending_out_of_seat_counts(db):
    event = await make_event(capacity=1, audience="staff")
    pending = await registration.register(event_id=event.id, applicant=Applicant(name="P", email="p@giessen.de"),
                                          hold_seat=False)
    assert pending.registration.status == RegistrationStatus.PENDING
    assert await registration.seat_counts(event.id) == {"confirmed": 0, "offered": 0, "waitlisted_seats": 0,
                                                        "waitlisted": 0}
