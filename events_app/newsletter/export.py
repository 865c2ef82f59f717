"""The subscriber list as CSV for the office's records (German Excel: semicolons, BOM)."""

from __future__ import annotations

import csv
import io

from events_app.backoffice.exports import GermanExcel, neutralise
from events_app.core import audit
from events_app.core.models import User
from events_app.newsletter.subscriptions import confirmed_subscribers


async def subscribers_csv(*, by: User) -> bytes:
    """Every confirmed subscriber with what they chose and how they consented; the download is audited."""
    rows = await confirmed_subscribers()
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect=GermanExcel)
    writer.writerow(["email", "language", "kinds", "newsletter", "confirmed_at", "consent"])
    for s in rows:
        writer.writerow([neutralise(s.email), s.language, ",".join(s.kinds or []), "1" if s.newsletter else "0",
                         s.confirmed_at.isoformat() if s.confirmed_at else "",
                         neutralise((s.consent or {}).get("method", ""))])
    await audit.record("subscribers.downloaded", user=by, count=len(rows))
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
