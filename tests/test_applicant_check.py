"""One pass checks a registration's input and reports every field problem at once (name, contact,
companions, language, answers, audience rules), for the form, the API and the back office alike."""

from __future__ import annotations

import pytest

from events_app.core import errors
from events_app.core.models import Registration
from events_app.seats import applicants, registration
from events_app.seats.applicants import AnswerCheck, Applicant, AudienceRules
from events_app.seats.events import get_event
from tests.fixtures_backoffice import sign_in
from tests.helpers import make_event


def _count_passes(monkeypatch) -> list[int]:
    """How often the engine's one check runs."""
    calls = []
    original = applicants.check_applicant

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(registration, "check_applicant", counted)
    return calls


async def test_the_form_shows_every_problem_at_once_after_one_check(client, db, monkeypatch):
    event = await make_event(audience="staff", max_companions=1)  # "department" is a required question
    passes = _count_passes(monkeypatch)
    response = await client.post(f"/events/{event.id}/register?lang=en", data={
        "name": "  ", "email": "erika@example.org", "companions": "3"})
    assert response.status_code == 422 and passes == [1]
    for message in ("Please enter your name.", "Please use your work e-mail address (giessen.de, stadt-giessen.de).",
                    "At most 1 companions are allowed for this event.", "Please answer this question."):
        assert message in response.text
    assert 'id="e-q_department"' in response.text
    assert await Registration.all().count() == 0


async def test_the_api_reports_every_problem_at_once(client, db):
    event = await make_event(audience="women", phone_allowed=True)
    response = await client.post(f"/api/v1/events/{event.id}/registrations?lang=en", json={
        "name": 7.5, "phone": "call me", "companions": "two", "language": "xx", "answers": {"childcare": "yes"}})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"phone", "companions", "language", "women_only"}
    typed = await client.post(f"/api/v1/events/{event.id}/registrations?lang=en", json={"name": ["A"], "answers": ["childcare"]})
    assert set(typed.json()["errors"]) == {"name", "email", "answers", "women_only"}


async def test_the_back_office_gets_every_problem_at_once_without_audience_rules(client, db):
    event = await make_event(audience="staff", max_companions=0)
    me = await sign_in(client, "organiser")
    response = await client.post(f"/admin/events/{event.id}/registrations/new", data={
        "csrf_token": me.csrf, "name": "", "email": "someone@example.org", "companions": "1"})
    assert response.status_code == 422
    assert "Bitte geben Sie Ihren Namen ein." in response.text or "Please enter your name." in response.text
    assert await Registration.all().count() == 0
    added = await client.post(f"/admin/events/{event.id}/registrations/new", data={
        "csrf_token": me.csrf, "name": "Erika", "email": "someone@example.org", "q_department": "Ordnungsamt"})
    assert added.status_code == 303  # an organiser may add an address outside the staff domains
    assert (await Registration.get(event_id=event.id)).answers == {"department": "Ordnungsamt"}


async def test_check_applicant_normalises_once_and_keeps_the_language_rule(db):
    event = await get_event((await make_event(max_companions=2)).id)
    checked = applicants.check_applicant(
        event, Applicant(name="  Ayşe Yılmaz ", email=" A@Example.ORG ", companions="2", language=""),
        languages=("de", "ar"), answers=AnswerCheck(tuple(event.questions)), rules=AudienceRules())
    assert (checked.name, checked.email, checked.companions, checked.language) == (
        "Ayşe Yılmaz", "A@example.org", 2, "de")
    with pytest.raises(errors.ValidationFailed) as refused:
        applicants.check_applicant(event, Applicant(name="A", email="a@example.org", language="fr"),
                                   languages=("de", "ar"))
    assert set(refused.value.fields) == {"language"}
