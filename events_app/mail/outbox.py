"""The outbox: mail is written as a row inside the caller's transaction and sent later by the worker
(delivery.py).

A registration and its confirmation mail commit or roll back together; SMTP being slow or down
never blocks or loses a registration.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from events_app.core.models import OutboxMessage
from events_app.core.timeutil import utcnow


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
) -> OutboxMessage | None:
    """Queue one message; people without an e-mail address get none (they are phoned or written to)."""
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
        using_db=conn,
    )
