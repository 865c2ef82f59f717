"""The audit log: who changed what, when. Details name records by id, never by personal data,
so the log can be kept longer than the registrations it speaks of."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from events_app.core.models import AuditEntry, User


async def record(action: str, *, user: User | int | None, event_id: int | None = None,
                 conn: BaseDBAsyncClient | None = None, **detail) -> AuditEntry:
    """Write one entry, inside the caller's transaction when `conn` is given."""
    user_id = user.id if isinstance(user, User) else user
    return await AuditEntry.create(user_id=user_id, action=action, event_id=event_id, detail=detail, using_db=conn)


async def recent(*, limit: int = 200, event_id: int | None = None) -> list[AuditEntry]:
    query = AuditEntry.all()
    if event_id is not None:
        query = query.filter(event_id=event_id)
    return await query.order_by("-created_at", "-id").limit(limit).prefetch_related("user", "event")
