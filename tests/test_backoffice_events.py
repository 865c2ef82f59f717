"""Event management through the back-office forms: create, edit, duplicate, cancel, delete drafts, dashboard."""

from __future__ import annotations

from datetime import timedelta

from events_app.core.models import AuditEntry, DoorAssignment, Event, EventSession, OutboxMessage, OutboxState, Question, Registration, RegistrationStatus, SessionStatus, Visibility
from events_app.seats.registration import Applicant, register
from events_app.core.timeutil import utcnow
from tests.fixtures_backoffice import sign_in
from tests.helpers import both_databases, make_event, make_user

COURSE_FORM = {
    "title": "Schwimmkurs für Frauen", "kind": "course", "description": "Acht Termine", "location": "Hallenbad",
    "capacity": "10", "waitlist": "on", "offer_hours": "48", "max_companions": "0", "audience": "women",
    "visibility": "public", "certificate_min_attendance": "75", "registration_closes_date": "2030-02-28",
    "registration_closes_time": "12:00", "session_rows": "4",
    "s0_date": "2030-03-04", "s0_start": "18:00", "s0_end": "19:30",
    "s1_date": "2030-03-11", "s1_start": "18:00", "s1_end": "19:30",
    "s2_date": "2030-03-18", "s2_start": "18:00", "s2_end": "19:30",
    "question_rows": "3",
    "q0_key": "childcare", "q0_label": "Kinderbetreuung benötigt", "q0_kind": "yesno",
    "q1_key": "swim_level", "q1_label": "Schwimmerfahrung", "q1_kind": "choice", "q1_choices": "keine; etwas; gut",
    "q1_required": "on",
}


async def test_create_a_course_with_dates_and_questions(client, db):
    me = await sign_in(client, "organiser")
    door, _ = await make_user("door")
    organiser_id = me.user.id
    form = {**COURSE_FORM, "csrf_token": me.csrf, "door_user": [str(door.id), str(organiser_id)],
            "title_en": "Swimming course for women", "title_ar": "دورة سباحة للنساء", "description_ar": "ثمانية مواعيد"}
    response = await client.post("/admin/events/new", data=form)
    assert response.status_code == 303
    event = await Event.get(title="Schwimmkurs für Frauen")
    assert response.headers["location"].startswith(f"/admin/events/{event.id}")
    assert (event.capacity, event.offer_hours, event.audience.value, event.certificate_min_attendance) == (10, 48, "women", 75)
    sessions = await EventSession.filter(event_id=event.id).order_by("starts_at")
    assert len(sessions) == 3
    assert sessions[0].starts_at == sessions[0].starts_at.replace(hour=17, minute=0)  # 18:00 in Berlin (CET) is 17:00 UTC
    assert event.registration_closes_at.hour == 11
    questions = await Question.filter(event_id=event.id).order_by("position")
    assert [(q.key, q.kind, q.required) for q in questions] == [
        ("childcare", "yesno", False), ("swim_level", "choice", True), ("language_assistance", "text", False)]
    assert questions[1].choices == ["keine", "etwas", "gut"]
    assert await AuditEntry.filter(action="event.created", event_id=event.id, user_id=me.user.id).exists()
    assert event.translations == {"en": {"title": "Swimming course for women"},
                                  "ar": {"title": "دورة سباحة للنساء", "description": "ثمانية مواعيد"}}
    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert 'value="Swimming course for women"' in edit.text
    # only door-role users are assigned for check-in
    assert await DoorAssignment.filter(event_id=event.id).values_list("user_id", flat=True) == [door.id]
    page = await client.get(f"/admin/events/{event.id}")
    assert "Schwimmerfahrung" in page.text and "04.03.2030, 18:00–19:30 Uhr" in page.text


async def test_create_with_bad_input_shows_errors_and_keeps_input(client, db):
    me = await sign_in(client, "organiser")
    form = {**COURSE_FORM, "csrf_token": me.csrf, "capacity": "zehn", "s0_date": "", "s1_date": "", "s2_date": "",
            "q1_choices": ""}
    response = await client.post("/admin/events/new", data=form)
    assert response.status_code == 422
    assert "Schwimmkurs für Frauen" in response.text and 'aria-invalid="true"' in response.text
    assert await Event.all().count() == 0
    bad_question = {**COURSE_FORM, "csrf_token": me.csrf, "q1_choices": ""}
    assert (await client.post("/admin/events/new", data=bad_question)).status_code == 422
    bad_key = {**COURSE_FORM, "csrf_token": me.csrf, "q0_key": "Kinder betreuung"}
    assert (await client.post("/admin/events/new", data=bad_key)).status_code == 422
    backwards = {**COURSE_FORM, "csrf_token": me.csrf, "s0_end": "17:00"}
    assert (await client.post("/admin/events/new", data=backwards)).status_code == 422
    bad_date = {**COURSE_FORM, "csrf_token": me.csrf, "s0_date": "2030-02-30"}
    assert (await client.post("/admin/events/new", data=bad_date)).status_code == 422
    assert await Event.all().count() == 0


async def test_edit_raises_capacity_and_the_waiting_list_moves(client, db):
    me = await sign_in(client, "organiser")
    await client.post("/admin/events/new", data={**COURSE_FORM, "csrf_token": me.csrf, "capacity": "1",
                                                  "offer_hours": "0", "registration_closes_date": ""})
    event = await Event.get(title="Schwimmkurs für Frauen")
    for name in ("Amina", "Olena"):
        await register(event_id=event.id, applicant=Applicant(name=name, phone="0641 12345", email=f"{name}@example.org",
                                                              answers={"swim_level": "keine"}))
    edit_page = await client.get(f"/admin/events/{event.id}/edit")
    assert 'value="2030-03-11"' in edit_page.text
    sessions = await EventSession.filter(event_id=event.id).order_by("starts_at")
    form = {**COURSE_FORM, "csrf_token": me.csrf, "capacity": "2", "offer_hours": "0", "registration_closes_date": "",
            "s0_id": str(sessions[0].id), "s1_id": str(sessions[1].id), "s2_id": str(sessions[2].id),
            "s2_date": ""}  # the third date is dropped
    response = await client.post(f"/admin/events/{event.id}/edit", data=form)
    assert response.status_code == 303
    statuses = await Registration.filter(event_id=event.id).values_list("status", flat=True)
    assert sorted(statuses) == [RegistrationStatus.CONFIRMED] * 2
    assert (await EventSession.get(id=sessions[2].id)).status == SessionStatus.CANCELLED
    assert await AuditEntry.filter(action="event.changed", event_id=event.id).exists()


async def test_duplicate_makes_a_draft_with_dates_moved(client, db):
    me = await sign_in(client, "organiser")
    await client.post("/admin/events/new", data={**COURSE_FORM, "csrf_token": me.csrf})
    source = await Event.get(title="Schwimmkurs für Frauen").prefetch_related("sessions")
    response = await client.post(f"/admin/events/{source.id}/duplicate", data={"csrf_token": me.csrf,
                                                                               "shift_weeks": "26"})
    assert response.status_code == 303
    copy = await Event.exclude(id=source.id).get().prefetch_related("sessions", "questions")
    assert copy.visibility == Visibility.DRAFT and copy.seats_taken == 0
    assert [s.starts_at - timedelta(weeks=26) for s in copy.sessions] == [s.starts_at for s in source.sessions]
    assert [q.key for q in copy.questions] == ["childcare", "swim_level", "language_assistance"]
    bad = await client.post(f"/admin/events/{source.id}/duplicate", data={"csrf_token": me.csrf, "shift_weeks": "x"})
    assert bad.status_code == 422


async def test_cancel_needs_confirmation_and_tells_everyone(client, db):
    me = await sign_in(client, "organiser")
    event = await make_event(capacity=1)
    for name in ("A", "B"):
        await register(event_id=event.id, applicant=Applicant(name=name, email=f"{name}@example.org"))
    unconfirmed = await client.post(f"/admin/events/{event.id}/cancel", data={"csrf_token": me.csrf})
    assert unconfirmed.status_code == 422
    assert (await Event.get(id=event.id)).status.value == "scheduled"
    done = await client.post(f"/admin/events/{event.id}/cancel", data={"csrf_token": me.csrf, "confirm": "yes",
                                                                      "reason": "Hallenbad geschlossen"})
    assert done.status_code == 303
    assert (await Event.get(id=event.id)).status.value == "cancelled"
    mails = await OutboxMessage.filter(template="event_cancelled")
    assert sorted(m.recipient for m in mails) == ["A@example.org", "B@example.org"]
    assert mails[0].context["reason"] == "Hallenbad geschlossen"


@both_databases
async def test_only_empty_drafts_can_be_deleted(client, db):
    me = await sign_in(client, "organiser")
    draft = await make_event(visibility="draft")
    published = await make_event()
    taken = await make_event(visibility="draft")
    await Registration.create(event_id=taken.id, name="X", status=RegistrationStatus.CANCELLED, queued_at=utcnow(),
                              manage_token="m1", checkin_token="c1")
    assert (await client.post(f"/admin/events/{published.id}/delete", data={"csrf_token": me.csrf})).status_code == 409
    assert (await client.post(f"/admin/events/{taken.id}/delete", data={"csrf_token": me.csrf})).status_code == 409
    assert (await client.post(f"/admin/events/{draft.id}/delete", data={"csrf_token": me.csrf})).status_code == 303
    assert sorted(await Event.all().values_list("id", flat=True)) == sorted([published.id, taken.id])
    entry = await AuditEntry.get(action="event.deleted")
    assert entry.detail["deleted_event_id"] == draft.id
    assert (await client.post("/admin/events/9999/delete", data={"csrf_token": me.csrf})).status_code == 404


@both_databases
async def test_dashboard_shows_fill_and_what_needs_attention(client, db):
    await sign_in(client, "organiser")
    event = await make_event(title="Global Village", capacity=4, offer_hours=24)
    for name in ("A", "B", "C"):
        await register(event_id=event.id, applicant=Applicant(name=name, email=f"{name.lower()}@example.org"))
    waiting = await Registration.create(event_id=event.id, name="Offen", email="o@example.org",
                                        status=RegistrationStatus.OFFERED,
                                        queued_at=utcnow(), offer_expires_at=utcnow() + timedelta(hours=3),
                                        manage_token="mt", checkin_token="ct")
    await OutboxMessage.create(template="confirmed", recipient="kaputt@example.org", event_id=event.id,
                               state=OutboxState.FAILED, next_attempt_at=utcnow())
    past = await make_event(title="Vergangen")
    await EventSession.filter(event_id=past.id).update(starts_at=utcnow() - timedelta(days=3),
                                                       ends_at=utcnow() - timedelta(days=3, hours=-2))
    page = await client.get("/admin")
    assert page.status_code == 200
    assert 'max="4"' in page.text and 'value="4"' in page.text  # the fill bar: 3 confirmed + 1 offered of 4
    assert "Global Village" in page.text and "Vergangen" not in page.text
    assert waiting.name in page.text and "kaputt@example.org" in page.text


async def test_back_office_speaks_german_by_default_and_english_on_request(client, db):
    await sign_in(client, "organiser")
    german = await client.get("/admin")
    assert 'lang="de"' in german.text and "Übersicht" in german.text and "Veranstaltung anlegen" in german.text
    english = await client.get("/admin", params={"lang": "en"})
    assert "Dashboard" in english.text and "Create an event" in english.text


async def test_events_made_in_the_back_office_get_their_audiences_standard_questions(client, db):
    """Staff workshops ask for department and supervisor, women's courses for childcare and language
    assistance, whichever way the event was made (form, copy, change of audience)."""
    me = await sign_in(client, "organiser")
    workshop = {**COURSE_FORM, "csrf_token": me.csrf, "title": "Interkulturelle Kompetenz", "kind": "workshop",
                "audience": "staff", "question_rows": "0", "q0_key": "", "q1_key": ""}
    course = {**COURSE_FORM, "csrf_token": me.csrf, "question_rows": "0", "q0_key": "", "q1_key": ""}
    for form, labels in ((workshop, ("Department or office", "Supervisor (optional)")),
                         (course, ("I need childcare during the course.",
                                   "Language assistance: which language would help you?"))):
        assert (await client.post("/admin/events/new", data=form)).status_code == 303
        event = await Event.get(title=form["title"])
        public_form = await client.get(f"/events/{event.id}?lang=en")
        assert all(label in public_form.text for label in labels), labels
    source = await Event.get(title="Interkulturelle Kompetenz")
    await Question.filter(event_id=source.id).delete()  # made before events got them
    copied = await client.post(f"/admin/events/{source.id}/duplicate", data={"csrf_token": me.csrf, "shift_weeks": "1"})
    copy = await Event.get(id=int(copied.headers["location"].split("/")[3]))
    assert await Question.filter(event_id=copy.id).order_by("position").values_list("key", flat=True) == [
        "department", "supervisor"]
