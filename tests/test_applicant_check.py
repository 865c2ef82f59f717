"""One check of a registration's input reports every field problem at once (name, contact, companions,
language, answers, audience rules), for the form, the API and the back office alike; it runs once."""

from __future__ import annotations

import pytest

from events_app.core import errors
from events_app.core.models import Registration
from events_app.seats import registration
from events_app.seats.registration import Applicant, AudienceRules
from tests.fixtures_backoffice import sign_in
from tests.helpers import make_event


def _count_checks(monkeypatch) -> list[int]:
    """How often the engine's one check runs."""
    calls = []
    original = registration.check_applicant

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(registration, "check_applicant", counted)
    return calls


async def test_the_form_shows_every_problem_at_once_after_one_check(client, db, monkeypatch):
    event = await make_event(audience="staff", max_companions=1)  # "department" is a required question
    checks = _count_checks(monkeypatch)
    response = await client.post(f"/events/{event.id}/register?lang=en", data={
        "name": "  ", "email": "erika@example.org", "companions": "3"})
    assert response.status_code == 422 and checks == [1]
    for message in ("Please enter your name.", "Please use your work e-mail address (giessen.de, stadt-giessen.de).",
                    "At most 1 companions are allowed for this event.", "Please answer this question."):
        assert message in response.text
    assert 'id="e-q_department"' in response.text
    assert await Registration.all().count() == 0


async def test_the_api_reports_every_problem_at_once(client, db):
    event = await make_event(audience="women", phone_allowed=True)
    response = await client.post(f"/api/v1/events/{event.id}/registrations?lang=en", json={
        "name": "Mariam", "phone": "call me", "companions": "two", "language": "xx", "answers": {"childcare": "yes"}})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"phone", "companions", "language", "women_only"}
    typed = await client.post(f"/api/v1/events/{event.id}/registrations?lang=en",
                              json={"name": ["A"], "answers": ["childcare"]})
    assert typed.status_code == 422
    assert set(typed.json()["errors"]) == {"name", "email", "answers", "women_only"}
    assert typed.json()["errors"]["name"] == "Please enter text."  # what reading found is kept
    assert await Registration.all().count() == 0


async def test_the_back_office_gets_every_problem_at_once_without_audience_rules(client, db):
    event = await make_event(audience="staff", max_companions=1)
    me = await sign_in(client, "organiser")
    response = await client.post(f"/admin/events/{event.id}/registrations/new", data={
        "csrf_token": me.csrf, "name": "", "email": "someone@example", "companions": "3"})
    assert response.status_code == 422
    for field in ("name", "email", "companions", "q_department"):
        assert f'id="e-{field}"' in response.text, field
    assert await Registration.all().count() == 0
    added = await client.post(f"/admin/events/{event.id}/registrations/new", data={
        "csrf_token": me.csrf, "name": "Erika", "email": "someone@example.org", "q_department": "Ordnungsamt"})
    assert added.status_code == 303  # an organiser may add an address outside the staff domains
    assert (await Registration.get(event_id=event.id)).answers == {"department": "Ordnungsamt"}


async def test_one_check_normalises_and_reports_everything_at_once(db):
    event = await make_event(max_companions=2, audience="staff")
    checked = registration.check_applicant(
        event, Applicant(name="  Ayşe Yılmaz ", email=" Ayse@Stadt-Giessen.DE ", companions=2, language=""),
        languages=("de", "ar"), rules=AudienceRules(staff_domains=("stadt-giessen.de",)))
    assert (checked.name, checked.email, checked.companions, checked.language) == (
        "Ayşe Yılmaz", "Ayse@stadt-giessen.de", 2, "de")
    with pytest.raises(errors.ValidationFailed) as refused:
        registration.check_applicant(event, Applicant(name="", email="a@example.org", language="fr", companions=3),
                                     languages=("de", "ar"), rules=AudienceRules(staff_domains=("giessen.de",)),
                                     input_problems={"q_department": "Please answer this question."})
    assert set(refused.value.fields) == {"name", "email", "companions", "q_department"}
    assert refused.value.params == {"max": 2, "domains": "giessen.de"}
