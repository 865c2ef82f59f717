"""Demo data: one future event of each kind from the office's work. Safe to run again."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from events_app.consultations import slots
from events_app.festival import partners
from events_app.seats import events
from events_app.seats.events import SessionSpec
from events_app.core.models import Audience, Event, EventKind, Question

BERLIN = ZoneInfo("Europe/Berlin")


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    day = (datetime.now(BERLIN) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


#: Title, description and place of each demo event, and the festival's questions, in the other languages.
TRANSLATIONS = json.loads((Path(__file__).parent / "demo_translations.json").read_text(encoding="utf-8"))


def _translated(kind: str) -> dict:
    return TRANSLATIONS["events"][kind]


def _demo_events() -> list[tuple[dict, list[SessionSpec], list[dict]]]:
    return [
        ({"kind": EventKind.RECEPTION, "translations": _translated("reception"), "title": "Einbürgerungsempfang der Stadt Gießen",
          "description": "Die Stadt Gießen lädt alle neu Eingebürgerten des letzten Halbjahres herzlich ein.",
          "location": "Hermann-Levi-Saal, Rathaus, Berliner Platz 1, 35390 Gießen", "capacity": 250,
          "max_companions": 2, "audience": Audience.INVITATION, "phone_allowed": True},
         [SessionSpec(_at(40, 17), _at(40, 19, 30))], []),
        ({"kind": EventKind.WORKSHOP, "translations": _translated("workshop"), "title": "Workshop: Interkulturelle Kompetenz im Verwaltungsalltag",
          "description": "Eintägiger Workshop für Mitarbeitende der Stadtverwaltung.",
          "location": "Rathaus, Raum 2.14", "capacity": 16, "audience": Audience.STAFF,
          "certificate_min_attendance": 100},
         [SessionSpec(_at(21, 9), _at(21, 16))], []),
        ({"kind": EventKind.FESTIVAL, "translations": _translated("festival"), "title": "Global Village – Fest der Kulturen",
          "description": "Vereine und Initiativen stellen sich vor: Essen, Musik, Mitmachangebote.",
          "location": "Kirchenplatz, 35390 Gießen", "capacity": 60, "waitlist": True},
         [SessionSpec(_at(60, 12), _at(60, 19))],
         [{"key": "organisation", "label": "Organisation / Verein", "kind": "text", "required": True},
          {"key": "power", "label": "Stromanschluss benötigt", "kind": "yesno"},
          {"key": "tables", "label": "Anzahl Tische", "kind": "number"}]),
        ({"kind": EventKind.COURSE, "translations": _translated("course"), "title": "Schwimmkurs für Frauen",
          "description": "Acht Termine, jeweils montags. Eine Anmeldung gilt für alle Termine. Kinderbetreuung möglich.",
          "location": "Hallenbad Ringallee (Treffpunkt wird nach Bestätigung mitgeteilt)", "capacity": 10,
          "offer_hours": 48, "audience": Audience.WOMEN, "location_confidential": True, "phone_allowed": True,
          "certificate_min_attendance": 75},
         [SessionSpec(_at(14 + 7 * week, 18), _at(14 + 7 * week, 19, 30)) for week in range(8)], []),
        ({"kind": EventKind.TOUR, "translations": _translated("tour"), "title": "Stadtteilführung für Frauen: Nordstadt",
          "description": "Ein Spaziergang zu Beratungsstellen, Treffpunkten und Angeboten im Stadtteil.",
          "location": "Treffpunkt: Bahnhofsvorplatz", "capacity": 15, "audience": Audience.WOMEN,
          "phone_allowed": True},
         [SessionSpec(_at(10, 10), _at(10, 12))], []),
        ({"kind": EventKind.CONSULTATION, "translations": _translated("consultation"), "title": "Sprechstunde für neu angekommene Frauen",
          "description": "Offene Beratung, Terminbuchung erwünscht. Dolmetschende auf Anfrage.",
          "location": "Integrationsbüro, Berliner Platz 1", "capacity": 6, "audience": Audience.WOMEN,
          "phone_allowed": True},
         [SessionSpec(_at(7, 14), _at(7, 16))], []),
    ]


async def load(*, if_empty: bool = False) -> int:
    """Create the demo events that do not exist yet (matched by title). Returns how many were made."""
    if if_empty and await Event.exists():
        return 0
    created = 0
    for values, sessions, questions in _demo_events():
        if await Event.filter(title=values["title"]).exists():
            continue
        event = await events.create_event(values=values, sessions=sessions)
        for position, question in enumerate(questions):
            translations = {lang: {"label": label} for lang, label in TRANSLATIONS["questions"][question["key"]].items()}
            await Question.create(event=event, position=position, translations=translations, **question)
        if event.kind == EventKind.FESTIVAL:
            await partners.set_stands(event_id=event.id, stands=12)
        if event.kind == EventKind.CONSULTATION:
            first = sessions[0].starts_at.astimezone(BERLIN).date()
            await slots.create_slots(event_id=event.id, timezone="Europe/Berlin", pattern=slots.Pattern(
                weekday=first.isoweekday(), start=time(14, 0), end=time(16, 0), minutes=20, first=first,
                last=first + timedelta(weeks=7)))
        created += 1
    return created
