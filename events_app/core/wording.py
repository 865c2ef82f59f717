"""How an invitee is written to, the same in mails, letters and pages: the RSVP code and the greeting."""

from __future__ import annotations

from events_app.core.models import Invitation


def format_code(code: str) -> str:
    """'ABCD-EFGH-JKM': groups of four are easier to read out on the phone and to type."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def greeting(invitation: Invitation) -> str:
    """The German letter greeting; without Herr/Frau it addresses the full name (diverse, unknown)."""
    salutation = invitation.salutation.strip().lower()
    if salutation in ("herr", "hr.", "mr", "mr."):
        return f"Sehr geehrter Herr {invitation.last_name},"
    if salutation in ("frau", "fr.", "mrs", "ms", "mrs.", "ms."):
        return f"Sehr geehrte Frau {invitation.last_name},"
    return f"Guten Tag {invitation.first_name} {invitation.last_name},".replace("  ", " ")
