"""A composite change commits once: the back office's create, update and duplicate write the event, its
dates, questions, door staff and audit entry in one transaction. A failure injected after the first
write leaves nothing half-written, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events_app.backoffice import changes
from events_app.backoffice.changes import QuestionSpec
from events_app.core.models import AuditEntry, DoorAssignment, Event, EventSession, OutboxMessage, Question
from events_app.seats.events import SessionSpec
from events_app.seats.registration import Applicant, register
from tests.helpers import both_databases, in_days, make_user


class Injected(Exception):
    """The failure a test puts between two writes."""


def fail_after(monkeypatch, name: str) -> None:
    """Let `changes.<name>` write, then fail, as a lost connection or a bug would."""
    original = getattr(changes, name)

    async def failing(*args, **kwargs):
        await original(*args, **kwargs)
        raise Injected(name)

    monkeypatch.setattr(changes, name, failing)


async def _rows() -> dict[str, int]:
    return {"events": await Event.all().count(), "sessions": await EventSession.all().count(),
            "questions": await Question.all().count(), "door": await DoorAssignment.all().count(),
            "audit": await AuditEntry.all().count(), "mails": await OutboxMessage.all().count()}


VALUES = {"kind": "workshop", "title": "Interkulturelle Kompetenz", "capacity": 12, "location": "Rathaus",
          "waitlist": True}
DATES = [SessionSpec(in_days(10), in_days(10) + timedelta(hours=3))]
QUESTIONS = [QuestionSpec("department", "Amt", required=True)]


@both_databases
@pytest.mark.parametrize("failing", ["_write_questions", "_write_door_staff"])
async def test_create_event_leaves_nothing_when_a_later_write_fails(db, monkeypatch, failing):
    organiser, _ = await make_user("organiser")
    door, _ = await make_user("door", "tuer@stadt-giessen.de")
    before = await _rows()
    fail_after(monkeypatch, failing)
    with pytest.raises(Injected):
        await changes.create_event(values=VALUES, sessions=DATES, questions=QUESTIONS, door_user_ids=[door.id],
                                   by=organiser)
    assert await _rows() == before
    monkeypatch.undo()
    event = await changes.create_event(values=VALUES, sessions=DATES, questions=QUESTIONS, door_user_ids=[door.id],
                                       by=organiser)
    assert await Question.filter(event_id=event.id, key="department").exists()
    assert await DoorAssignment.filter(event_id=event.id, user_id=door.id).exists()


@both_databases
async def test_update_event_leaves_the_event_as_it_was_when_a_later_write_fails(db, monkeypatch):
    organiser, _ = await make_user("organiser")
    event = await changes.create_event(values=VALUES, sessions=DATES, questions=QUESTIONS, by=organiser)
    await register(event_id=event.id, applicant=Applicant(name="Ayşe", email="a@example.org"))
    before = await _rows()
    fail_after(monkeypatch, "_write_questions")
    later = [SessionSpec(in_days(12), in_days(12) + timedelta(hours=3), id=(await EventSession.get(event_id=event.id)).id)]
    with pytest.raises(Injected):
        await changes.update_event(event_id=event.id, values={**VALUES, "title": "Neuer Titel", "location": "Stadthaus"},
                                   sessions=later, questions=[QuestionSpec("unit", "Abteilung")], by=organiser)
    assert await _rows() == before  # no change notice queued, no audit entry
    stored = await Event.get(id=event.id)
    assert (stored.title, stored.location, stored.sequence) == ("Interkulturelle Kompetenz", "Rathaus", event.sequence)
    assert (await EventSession.get(event_id=event.id)).starts_at == DATES[0].starts_at
    assert await Question.filter(event_id=event.id).values_list("key", flat=True) == ["department"]


@both_databases
async def test_duplicate_event_leaves_no_copy_when_a_later_write_fails(db, monkeypatch):
    organiser, _ = await make_user("organiser")
    event = await changes.create_event(values=VALUES, sessions=DATES, questions=QUESTIONS, by=organiser)
    before = await _rows()
    fail_after(monkeypatch, "_write_questions")
    with pytest.raises(Injected):
        await changes.duplicate_event(event_id=event.id, shift_days=7, by=organiser)
    assert await _rows() == before
