"""The reception's printed documents: invitation letters (one PDF, a page per invitee) and the door list.

Builds the HTML from templates/pdf/ and hands it to `pdf.render_pdf`, which lays it out off the
event loop. Everything goes into ONE document: WeasyPrint's start-up and font loading are paid once,
not per letter.
"""

from __future__ import annotations

import segno

from events_app import events, invitations, pdf
from events_app.i18n import Formatter
from events_app.models import Invitation
from events_app.timeutil import utcnow
from events_app.web.templating import render_string

LETTER_LANGUAGE = "de"  # official letters of the city are in German


def qr_data_uri(url: str) -> str:
    """The QR code as an SVG data URI: vector, so it prints sharp at any size."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=0)


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def address_lines(invitation: Invitation) -> list[str]:
    """The DIN 5008 address block: salutation, name, street, postcode and town."""
    lines = [invitation.salutation] if invitation.salutation.lower() in ("herr", "frau") else []
    lines.append(f"{invitation.first_name} {invitation.last_name}".strip())
    lines += [invitation.street, f"{invitation.postcode} {invitation.city}".strip()]
    return [line for line in lines if line]


async def letters_html(*, event_id: int, settings, everyone: bool = False) -> tuple[str, int]:
    """(HTML, number of letters): everyone without an e-mail address, or everyone."""
    event = await events.get_event(event_id, public=False)
    letter = await invitations.get_letter(event_id)
    fmt = Formatter(LETTER_LANGUAGE, settings.timezone)
    first = events.first_start(event)
    values = {
        "event_title": event.title,
        "event_date": fmt.span(event.sessions[0].starts_at, event.sessions[0].ends_at) if first else "",
        "event_location": event.location,
        "deadline": fmt.date(event.registration_closes_at) if event.registration_closes_at else "",
        "max_companions": str(event.max_companions),
    }
    body = _fill(letter.body, values)
    people = await invitations.list_invitations(event_id)
    if not everyone:
        people = [p for p in people if not p.email]
    pages = [{
        "invitation": person,
        "address": address_lines(person),
        "greeting": invitations.greeting(person),
        "code": invitations.format_code(person.code),
        "qr": qr_data_uri(f"{settings.base_url}/rsvp/{person.token}"),
    } for person in people]
    html = render_string("pdf/invitation_letters.html", language=LETTER_LANGUAGE, settings=settings,
                         event=event, letter=letter, paragraphs=[p for p in body.split("\n\n") if p.strip()],
                         pages=pages, rsvp_url=f"{settings.base_url}/rsvp", deadline=values["deadline"],
                         today=fmt.date(utcnow()))
    return html, len(pages)


async def letters_pdf(*, event_id: int, settings, everyone: bool = False) -> bytes:
    html, _ = await letters_html(event_id=event_id, settings=settings, everyone=everyone)
    return await pdf.render_pdf(html)


async def door_list_pdf(*, event_id: int, settings, language: str = "de") -> bytes:
    event = await events.get_event(event_id, public=False)
    guests = await invitations.door_list(event_id)
    html = render_string("pdf/door_list.html", language=language, settings=settings, event=event, guests=guests,
                         persons=sum(g.registration.seats for g in guests))
    return await pdf.render_pdf(html)
