"""Mails whose facts travel in the outbox row: consultation bookings, festival partners, interpreters.

The row's context holds what the mail tells (times as ISO strings, the personal link's token), so the
mail reads as it was decided even if the record changes later; the event comes from the batch.
"""

from __future__ import annotations

from datetime import datetime

from events_app.calendar import ical
from events_app.core import i18n, urls
from events_app.core.languages import language_label
from events_app.core.models import Event

BOOKING_KINDS = frozenset({"slot_booked", "slot_moved", "slot_reminder", "slot_cancelled"})
PARTNER_KINDS = frozenset({"partner_received", "partner_accepted", "partner_waiting", "partner_declined",
                           "partner_pending", "partner_withdrawn", "partner_event_cancelled"})
INTERPRETER_KINDS = frozenset({"interpreter_assigned"})
KINDS = BOOKING_KINDS | PARTNER_KINDS | INTERPRETER_KINDS
#: Kinds that carry the booked slot as a calendar file.
CALENDAR_KINDS = frozenset({"slot_booked", "slot_moved", "slot_reminder", "slot_cancelled"})


def _localised(event: Event, language: str, name: str) -> str:
    return (event.translations or {}).get(language, {}).get(name) or getattr(event, name)


def context(row, event: Event, settings) -> dict:
    """Template variables of one stored-context row, plus `ics` (bytes or None)."""
    language = row.language if row.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    stored = dict(row.context or {})
    for key, value in list(stored.items()):
        if key.endswith("_at") and isinstance(value, str) and value:
            stored[key] = datetime.fromisoformat(value)
    if isinstance(stored.get("times"), list):
        stored["times"] = [(datetime.fromisoformat(start), datetime.fromisoformat(end)) for start, end in stored["times"]]
    title = _localised(event, language, "title")
    values = {**stored, "kind": row.template, "language": language, "registration": None,
              "calendar_attached": False, "event": event, "title": title,
              "event_url": urls.event_page(settings.base_url, event.id), "ics": None}
    if row.template in BOOKING_KINDS:
        values["manage_url"] = urls.booking_page(settings.base_url, stored.get("token", ""))
        values["interpreter"] = language_label(stored.get("interpreter_language", ""), language)
    if row.template in PARTNER_KINDS:
        values["manage_url"] = urls.partner_page(settings.base_url, stored.get("token", ""))
    if row.template in INTERPRETER_KINDS:
        values["language_name"] = language_label(stored.get("need_language", ""), language)
    if row.template in CALENDAR_KINDS and stored.get("starts_at"):
        values["calendar_attached"] = True
        values["ics"] = ical.appointment_ics(
            uid=ical.booking_uid(stored["booking_id"], settings.base_url), title=title,
            starts_at=stored["starts_at"], ends_at=stored["ends_at"], location=event.location,
            url=values["manage_url"], changed=row.created_at, sequence=stored.get("sequence", 0),
            cancelled=row.template == "slot_cancelled", timezone=settings.timezone)
    return values

