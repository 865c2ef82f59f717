"""Removing a person from the records while keeping what the figures count.

Retention (a whole event past its period) and erasure (one person on request) do the same to each
record, so both go through these functions. What stays: status, seats, companions, language,
dates, attendance and check-ins (which hold no personal data), district, and the `returning` and
`waited` flags decided earlier. What goes: names, contacts, postal addresses, birth dates, file
numbers, answers and needs, notes, tokens and codes (replaced by fresh random values that nobody
knows, so old links and codes lead nowhere), mails about the person (rows and `.eml` files) and
free text in audit entries.
"""

from __future__ import annotations

import email
import email.policy
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tortoise.backends.base.client import BaseDBAsyncClient

from events_app.core.models import (AuditEntry, BookingStatus, Certificate, Invitation, OutboxMessage, PartnerApplication,
                                    Registration, SlotBooking)

#: The background jobs' folders under var/ (letters, certificates): their files name the people.
JOB_FOLDERS = ("letters", "certificates")
#: Audit details that are plain words chosen by the program, never typed text or a secret.
SAFE_DETAIL_TEXT = {"status", "format", "layout", "role", "group", "action", "kind"}


@dataclass
class Removal:
    """What was (or would be) removed, per table or folder, and what identified the people."""

    counts: dict[str, int] = field(default_factory=dict)
    #: E-mail addresses and phone numbers of the people removed, to find them in files.
    identifiers: set[str] = field(default_factory=set)
    outbox_ids: set[int] = field(default_factory=set)
    event_ids: set[int] = field(default_factory=set)

    def add(self, table: str, number: int) -> None:
        if number:
            self.counts[table] = self.counts.get(table, 0) + number

    def merge(self, other: "Removal") -> None:
        for table, number in other.counts.items():
            self.add(table, number)
        self.identifiers |= other.identifiers
        self.outbox_ids |= other.outbox_ids
        self.event_ids |= other.event_ids


def _unknown_secret() -> str:
    """A value for a unique token column that no link, letter or person knows."""
    return secrets.token_urlsafe(32)


def _unknown_code() -> str:
    """An RSVP code nobody can type: lower-case hex, while typed codes are upper-case without 0 and 1."""
    return secrets.token_hex(8)


def scrub_detail(detail: dict) -> dict:
    """An audit entry's detail without typed text: ids, counts, flags and the program's own words stay."""
    kept = {}
    for key, value in (detail or {}).items():
        if value is None or isinstance(value, (bool, int, float)):
            kept[key] = value
        elif isinstance(value, str) and key in SAFE_DETAIL_TEXT:
            kept[key] = value
        elif isinstance(value, list) and key in ("fields", "columns") and all(isinstance(v, str) for v in value):
            kept[key] = value
    return kept


async def registrations(conn: BaseDBAsyncClient, found: list[Registration], *, now: datetime,
                        removal: Removal, dry_run: bool) -> None:
    """Anonymise these registrations; their certificates keep the name for the verification page."""
    todo = [r for r in found if r.anonymised_at is None]
    removal.add("registration", len(todo))
    for registration in todo:
        removal.identifiers.update(v.lower() for v in (registration.email, registration.phone) if v)
        removal.event_ids.add(registration.event_id)
    if dry_run or not todo:
        return
    ids = [r.id for r in todo]
    names = {r.id: r.name for r in todo}
    certificates = await Certificate.filter(registration_id__in=ids, details_deleted_at__isnull=True,
                                            holder_name="").using_db(conn)
    for certificate in certificates:
        certificate.holder_name = names[certificate.registration_id]
        await certificate.save(using_db=conn, update_fields=["holder_name"])
    for registration in todo:
        await Registration.filter(id=registration.id).using_db(conn).update(
            name="", email="", phone="", answers={}, postcode="", manage_token=_unknown_secret(),
            checkin_token=_unknown_secret(), anonymised_at=now)


async def invitations(conn: BaseDBAsyncClient, found: list[Invitation], *, now: datetime, removal: Removal,
                      dry_run: bool) -> None:
    todo = [i for i in found if i.anonymised_at is None]
    removal.add("invitation", len(todo))
    for invitation in todo:
        removal.identifiers.update(v.lower() for v in (invitation.email, invitation.phone) if v)
        removal.event_ids.add(invitation.event_id)
    if dry_run:
        return
    for invitation in todo:
        await Invitation.filter(id=invitation.id).using_db(conn).update(
            salutation="", first_name="", last_name="", birth_date=None, street="", postcode="", city="",
            email="", phone="", file_number=None, note="", needs={}, code=_unknown_code(),
            token=_unknown_secret(), anonymised_at=now)


async def bookings(conn: BaseDBAsyncClient, found: list[SlotBooking], *, removal: Removal, dry_run: bool) -> None:
    """Consultation bookings lose name, contact and note; the slot, status and languages stay for the figures.
    A booking still held is cancelled first, so the slot is free again (erasure before the day)."""
    todo = [b for b in found if b.name or b.email or b.phone]
    removal.add("slot_booking", len(todo))
    for booking in todo:
        removal.identifiers.update(v.lower() for v in (booking.email, booking.phone) if v)
    if dry_run:
        return
    for booking in todo:
        await SlotBooking.filter(id=booking.id).using_db(conn).update(
            name="", email="", phone="", note="", held_slot=None, held_day=None, manage_token=_unknown_secret(),
            status=BookingStatus.CANCELLED if booking.status == BookingStatus.BOOKED else booking.status)


async def partners(conn: BaseDBAsyncClient, found: list[PartnerApplication], *, removal: Removal,
                   dry_run: bool) -> None:
    """Stand applications lose the contact person, contact data, free text and answers; the association's
    name, status and stand stay (an association is not a private person)."""
    todo = [p for p in found if p.contact_name or p.email or p.phone]
    removal.add("partner_application", len(todo))
    for partner in todo:
        removal.identifiers.update(v.lower() for v in (partner.email, partner.phone) if v)
    if dry_run:
        return
    for partner in todo:
        await PartnerApplication.filter(id=partner.id).using_db(conn).update(
            contact_name="", email="", phone="", presents="", needs={}, answers={}, reason="",
            manage_token=_unknown_secret())


async def mails(conn: BaseDBAsyncClient, query, *, removal: Removal, dry_run: bool) -> None:
    """Delete outbox rows (a mail about a person is wholly about them); the figures never count mail."""
    ids = await query.using_db(conn).values_list("id", flat=True)
    removal.add("outbox_message", len(ids))
    removal.outbox_ids.update(ids)
    if ids and not dry_run:
        await OutboxMessage.filter(id__in=list(ids)).using_db(conn).delete()


async def audit_entries(conn: BaseDBAsyncClient, query, *, removal: Removal, dry_run: bool) -> None:
    """Audit entries stay (who did what, when) but lose any typed text."""
    changed = 0
    for entry in await query.using_db(conn):
        scrubbed = scrub_detail(entry.detail)
        if scrubbed != (entry.detail or {}):
            changed += 1
            if not dry_run:
                await AuditEntry.filter(id=entry.id).using_db(conn).update(detail=scrubbed)
    removal.add("audit_entry", changed)


# --- files under var/ ---------------------------------------------------------------------------------


def _mail_file_outbox_id(path: Path) -> int | None:
    """FileTransport names its files <UTC time>-<outbox id>-<kind>.eml."""
    parts = path.name.split("-")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def _mentions(path: Path, identifiers: set[str]) -> bool:
    """Whether a mail file's decoded text names one of the people (digests list undeliverable addresses)."""
    if not identifiers:
        return False
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    texts = [str(message.get("to", ""))]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            texts.append(part.get_content())
    text = "\n".join(texts).lower()
    return any(identifier in text for identifier in identifiers)


def files(var_dir: Path, removal: Removal, *, dry_run: bool) -> None:
    """Mail files of removed messages or naming removed people, and background jobs' files of the events."""
    mail_dir = var_dir / "mail"
    removed = 0
    if mail_dir.is_dir():
        for path in mail_dir.glob("*.eml"):
            if _mail_file_outbox_id(path) in removal.outbox_ids or _mentions(path, removal.identifiers):
                removed += 1
                if not dry_run:
                    path.unlink(missing_ok=True)
    removal.add("var/mail", removed)
    for folder in JOB_FOLDERS:
        job_dir = var_dir / folder
        removed = 0
        if not job_dir.is_dir():
            continue
        for status in job_dir.glob("*.json"):
            try:
                event_id = json.loads(status.read_text()).get("event_id")
            except (OSError, ValueError):
                continue
            if event_id in removal.event_ids:
                removed += 1
                if not dry_run:
                    for suffix in (".json", ".out", ".part", ".tmp"):
                        status.with_suffix(suffix).unlink(missing_ok=True)
        removal.add(f"var/{folder}", removed)
