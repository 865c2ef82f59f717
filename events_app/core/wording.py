"""How people are written to, the same in mails, letters, pages and lists: the RSVP code, the greeting, and
the labels of an event's questions in the reader's language."""

from __future__ import annotations

from events_app.core import i18n
from events_app.core.errors import N_
from events_app.core.models import Invitation, Question


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


def _own(question: Question, language: str) -> dict:
    return (question.translations or {}).get(language) or {}


def question_label(question: Question, language: str) -> str:
    """The label in the reader's language: the organiser's translation, a built-in question's catalog
    entry, else the German label as written."""
    own = _own(question, language).get("label")
    if own:
        return own
    if question.builtin:
        return i18n.gettext(language, question.label)
    return question.label


def question_label_language(question: Question, language: str) -> str:
    """The language the shown label is really in, for a `lang` attribute (German when it falls back)."""
    return language if (_own(question, language).get("label") or question.builtin) else i18n.DEFAULT_LANGUAGE


def question_choices(question: Question, language: str) -> list[tuple[str, str]]:
    """(stored value, shown text) for each choice: answers always store the German choice."""
    shown = _own(question, language).get("choices") or []
    return [(choice, (shown[i] if i < len(shown) and shown[i] else
                      (i18n.gettext(language, choice) if question.builtin else choice)))
            for i, choice in enumerate(question.choices or [])]


#: What a person ticks to sign up for an offer for women only, in the words of its kind.
_WOMEN_ONLY = {
    "course": N_("This course is for women only. I confirm that I am a woman."),
    "tour": N_("This tour is for women only. I confirm that I am a woman."),
    "consultation": N_("This consultation hour is for women only. I confirm that I am a woman."),
}


def women_only_confirmation(kind: str) -> str:
    """The message id of the women-only confirmation for an event of this kind."""
    return _WOMEN_ONLY.get(kind, N_("This offer is for women only. I confirm that I am a woman."))


def missing_translations(event) -> list[str]:
    """Languages (besides German) in which the event's title, description, place or one of the
    organiser's own questions has no text yet: the back office shows them so nothing stays German."""
    missing = []
    for language in i18n.LANGUAGES:
        if language == i18n.DEFAULT_LANGUAGE:
            continue
        texts = (event.translations or {}).get(language) or {}
        needed = [name for name in ("title", "description", "location") if getattr(event, name)]
        if any(not texts.get(name) for name in needed) or any(
                not _own(q, language).get("label") for q in event.questions if not q.builtin):
            missing.append(language)
    return missing
