"""The outbox: mail is written as a row inside the caller's transaction and sent later by the worker
(delivery.py).

A registration and its confirmation mail commit or roll back together; SMTP being slow or down
never blocks or loses a registration.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum

from tortoise.backends.base.client import BaseDBAsyncClient

from events_app.core.models import OutboxMessage
from events_app.core.timeutil import utcnow


class MailPriority(IntEnum):
    """Which mail goes first when many are due: the lower value. Bulk mail never holds up a person's own."""

    #: About a person's own registration: confirmations, waiting list, offers, cancellations, address checks.
    PERSONAL = 0
    #: A change of an event told to everyone registered, and kinds not listed below.
    NOTICE = 1
    #: Many at once and not urgent: reminders, invitations, certificates, digests, newsletters, announcements.
    BULK = 2


PERSONAL_KINDS = frozenset({"confirmed", "waitlisted", "offered", "promoted", "offer_expired", "cancelled",
                            "cancelled_by_organiser", "verify_email", "subscription_confirm",
                            "slot_booked", "slot_moved", "slot_cancelled", "interpreter_assigned",
                            "partner_received", "partner_pending", "partner_waiting", "partner_accepted",
                            "partner_declined", "partner_withdrawn"})
BULK_KINDS = frozenset({"reminder", "slot_reminder", "invitation", "invitation_reminder", "certificate",
                        "organiser_message", "digest", "newsletter", "announcement"})


def priority_for(template: str) -> MailPriority:
    if template in PERSONAL_KINDS:
        return MailPriority.PERSONAL
    return MailPriority.BULK if template in BULK_KINDS else MailPriority.NOTICE


async def queue_mail(
    conn: BaseDBAsyncClient,
    *,
    template: str,
    recipient: str,
    language: str = "de",
    context: dict | None = None,
    registration_id: int | None = None,
    event_id: int | None = None,
    send_at: datetime | None = None,
    priority: MailPriority | None = None,
) -> OutboxMessage | None:
    """Queue one message; people without an e-mail address get none (they are phoned or written to).

    `priority` defaults by kind (`priority_for`); a feature sending many mails at once passes BULK.
    """
    if not recipient:
        return None
    return await OutboxMessage.create(
        template=template,
        recipient=recipient,
        language=language,
        context=context or {},
        registration_id=registration_id,
        event_id=event_id,
        next_attempt_at=send_at or utcnow(),
        priority=int(priority_for(template) if priority is None else priority),
        using_db=conn,
    )
async def queue_bulk_mail(conn: BaseDBAsyncClient, *, template: str, messages: list[tuple[str, str, dict]],
                          event_id: int | None = None) -> int:
    """Queue one kind of mail to many people at once (announcements, newsletters) in large inserts.

    `messages` holds (recipient, language, context); returns how many rows were written.
    """
    now = utcnow()
    rows = [OutboxMessage(template=template, recipient=recipient, language=language, context=context,
                          event_id=event_id, next_attempt_at=now, priority=int(MailPriority.BULK))
            for recipient, language, context in messages if recipient]
    if rows:
        await OutboxMessage.bulk_create(rows, batch_size=500, using_db=conn)
    return len(rows)
