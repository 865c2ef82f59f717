"""Questions in every language: built-in ones translated and worded for their kind of event, the organiser's
own ones translated by the organiser, in the API, the back office, the public form and the lists."""

from __future__ import annotations

import re

from events_app.core.models import Event, EventKind, Question, Registration
from events_app.seats import registration
from events_app.seats.registration import Applicant
from tests.fixtures_backoffice import sign_in
from tests.helpers import make_event, make_user

def form_values(page: str) -> dict:
    """What the browser would send for the form on the page: inputs, ticked boxes, chosen options, texts."""
    values = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if not name or ('type="checkbox"' in tag or 'type="radio"' in tag) and " checked" not in tag:
            continue
        values[name.group(1)] = value.group(1) if value else "on"
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        values[name] = chosen.group(1) if chosen else (re.findall(r'<option value="([^"]*)"', options) or [""])[0]
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        values[name] = text
    return values


FESTIVAL = {"kind": "festival", "title": "Global Village", "capacity": 50,
            "starts_at": "2027-06-12T12:00:00+02:00", "ends_at": "2027-06-12T19:00:00+02:00",
            "questions": [
                {"key": "organisation", "label": "Organisation / Verein", "required": True,
                 "translations": {"ar": "المنظمة / الجمعية", "en": "Organisation / association"}},
                {"key": "stand", "label": "Standart", "kind": "choice", "choices": ["Tisch", "Zelt"],
                 "translations": {"ar": {"label": "نوع الجناح", "choices": ["طاولة", "خيمة"]}}}]}


async def test_api_questions_carry_their_translations_to_the_arabic_form(client, db):
    _, token = await make_user("organiser")
    created = await client.post("/api/v1/events", json=FESTIVAL, headers={"authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.text
    questions = {q["key"]: q for q in created.json()["questions"]}
    assert questions["organisation"]["translations"] == {"ar": "المنظمة / الجمعية",
                                                         "en": "Organisation / association"}
    assert questions["stand"]["choice_translations"] == {"ar": ["طاولة", "خيمة"]}
    event_id = created.json()["id"]
    arabic = await client.get(f"/events/{event_id}?lang=ar")
    assert "المنظمة / الجمعية" in arabic.text and "Organisation / Verein" not in arabic.text
    assert 'value="Tisch"' in arabic.text and "طاولة" in arabic.text  # the stored answer stays German
    turkish = await client.get(f"/events/{event_id}?lang=tr")
    assert '<bdi lang="de">Organisation / Verein</bdi>' in turkish.text  # German fallback, marked as German

    answered = await client.post(f"/events/{event_id}/register?lang=ar", data={
        "name": "Karim", "email": "karim@example.org", "language": "ar", "q_organisation": "نادي الجالية",
        "q_stand": "Zelt"})
    assert answered.status_code == 303
    assert (await Registration.get()).answers == {"organisation": "نادي الجالية", "stand": "Zelt"}


async def test_api_refuses_translated_options_that_do_not_match(client, db):
    _, token = await make_user("organiser")
    bad = {**FESTIVAL, "questions": [{"key": "stand", "label": "Standart", "kind": "choice",
                                       "choices": ["Tisch", "Zelt"], "translations": {"ar": {"choices": ["طاولة"]}}}]}
    response = await client.post("/api/v1/events", json=bad, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 422 and "questions" in response.json()["errors"]
    assert not await Event.exists()
    for questions in ("keine Liste", [1, 2], [{"key": "a", "label": "A", "translations": ["ar"]}]):
        response = await client.post("/api/v1/events", json={**FESTIVAL, "questions": questions},
                                     headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 422, questions
    assert not await Event.exists()


async def test_built_in_questions_speak_of_the_kind_of_event(client, db):
    tour = await make_event(kind="tour", audience="women", title="Stadtteilführung")
    course = await make_event(kind="course", audience="women", title="Schwimmkurs")
    labels = dict(await Question.filter(event_id=tour.id, key="childcare").values_list("key", "label"))
    assert labels == {"childcare": "I need childcare during the tour."}
    page = await client.get(f"/events/{tour.id}?lang=de")
    assert "Ich brauche während der Führung eine Kinderbetreuung." in page.text
    assert "Diese Führung ist nur für Frauen. Ich bestätige, dass ich eine Frau bin." in page.text
    form = page.text.split('id="form-heading"')[1].split("</form>")[0]
    assert "Kurs" not in re.sub(r"<[^>]+>", "", form)
    course_page = await client.get(f"/events/{course.id}?lang=de")
    assert "Dieser Kurs ist nur für Frauen" in course_page.text


async def test_back_office_shows_built_in_questions_in_german_and_keeps_them_built_in(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(kind="course", audience="women", title="Schwimmkurs", phone_allowed=True)
    await registration.register(event_id=event.id, applicant=Applicant(
        name="Amal", phone="+49 641 1234", answers={"childcare": True}))
    detail = await client.get(f"/admin/events/{event.id}?lang=de")
    assert "Ich brauche Kinderbetreuung während des Kurses." in detail.text
    assert "I need childcare" not in detail.text
    form = await client.get(f"/admin/events/{event.id}/edit?lang=de")
    fields = form_values(form.text)
    assert fields["q0_label"] == "Ich brauche Kinderbetreuung während des Kurses."
    # saved back as shown (German), the question stays the built-in one, translated in every language
    saved = await client.post(f"/admin/events/{event.id}/edit", data=fields)
    assert saved.status_code == 303, saved.text[:2000]
    childcare = await Question.get(event_id=event.id, key="childcare")
    assert (childcare.builtin, childcare.label) == (True, "I need childcare during the course.")
    export = await client.get(f"/admin/events/{event.id}/export.csv",
                              params={"columns": "name,q_childcare", "language": "ar"})
    header = export.content.decode("utf-8-sig").splitlines()[0]
    assert header == "الاسم;أحتاج إلى رعاية للأطفال خلال الدورة."


async def test_organiser_translates_own_questions_in_the_back_office(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(kind="festival", title="Global Village")
    form = await client.get(f"/admin/events/{event.id}/edit")
    data = form_values(form.text)
    data.update({"q0_key": "power", "q0_label": "Stromanschluss", "q0_kind": "yesno",
                 "q0_label_ar": "وصلة كهرباء", "q0_label_fa": "اتصال برق", "title_ar": "القرية العالمية",
                 "location_ar": "دار البلدية"})
    saved = await client.post(f"/admin/events/{event.id}/edit", data=data)
    assert saved.status_code == 303, saved.text[:2000]
    power = await Question.get(event_id=event.id, key="power")
    assert power.translations == {"ar": {"label": "وصلة كهرباء"}, "fa": {"label": "اتصال برق"}}
    detail = await client.get(f"/admin/events/{event.id}?lang=de")
    assert "Übersetzung fehlt oder ist unvollständig" in detail.text and "English" in detail.text
    assert "العربية" not in detail.text.split("Übersetzung fehlt")[1].split("</dd>")[0]


async def test_error_summaries_name_the_field(client, db):
    event = await make_event(kind="festival", title="Global Village")
    await Question.create(event=event, key="organisation", label="Organisation / Verein", required=True,
                          translations={"ar": {"label": "المنظمة / الجمعية"}})
    page = await client.post(f"/events/{event.id}/register?lang=de", data={"name": "", "email": "kaputt"})
    assert page.status_code == 422
    summary = page.text.split('class="error-summary"')[1].split("</ul>")[0]
    assert "<bdi>Name</bdi>: " in summary and "<bdi>E-Mail-Adresse</bdi>: " in summary
    assert "<bdi>Organisation / Verein</bdi>: " in summary
    arabic = await client.post(f"/events/{event.id}/register?lang=ar", data={"name": "", "email": ""})
    assert "<bdi>المنظمة / الجمعية</bdi>: " in arabic.text.split('class="error-summary"')[1].split("</ul>")[0]

    me = await sign_in(client, "organiser")
    by_phone = await client.post(f"/admin/events/{event.id}/registrations/new?lang=de", data={
        "csrf_token": me.csrf, "name": "Karim", "email": "", "phone": "", "language": "de"})
    assert by_phone.status_code == 422
    assert "<bdi>Organisation / Verein</bdi>: " in by_phone.text.split('class="error-summary"')[1]


async def test_staff_hint_sits_at_the_address_field(client, db):
    event = await make_event(kind="workshop", audience="staff")
    page = await client.get(f"/events/{event.id}?lang=de")
    field = page.text.split('for="f-email"')[1].split('id="f-email"')[0]
    assert "dienstliche" in field or "Dienst" in field
