"""Public addresses built in one place, for pages, mails and the API alike."""

from __future__ import annotations


def booking_url(base_url: str, token: str) -> str:
    """A consultation booking's personal page (see and cancel)."""
    return f"{base_url.rstrip('/')}/b/{token}"


def partner_url(base_url: str, token: str) -> str:
    """A festival partner application's personal page (status, withdraw)."""
    return f"{base_url.rstrip('/')}/p/{token}"


def event_url(base_url: str, event_id: int) -> str:
    return f"{base_url.rstrip('/')}/events/{event_id}"
