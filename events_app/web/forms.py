"""Turning request input (HTML form or JSON) into typed values, with a message per bad field."""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from events_app.core import errors
from events_app.core.errors import N_
from events_app.backoffice.changes import QuestionSpec
from events_app.seats import recurrence
from events_app.seats.events import SessionSpec
from events_app.core.i18n import LANGUAGES
from events_app.core.models import Audience, Event, EventKind, Question, Visibility
from events_app.seats.participation import clean_postcode
from events_app.seats.registration import Applicant
from events_app.core.timeutil import parse_iso
from events_app.core.validation import bounded_text, parse_whole_number


def whole_number(value: Any, field: str, problems: dict, default: int = 0) -> int:
    """A whole number from a form or JSON field; a bad one is noted in `problems` under `field`."""
    if value in (None, ""):
        return default
    try:
        return parse_whole_number(value)
    except ValueError as exc:
        problems[field] = str(exc)
        return default


#: Longest text accepted per field; longer is a 422 naming the field, never a silent cut.
MAX_LENGTHS = {"name": 200, "email": 254, "phone": 40, "language": 10, "title": 200, "description": 10_000,
               "location": 300, "answer": 2000, "reason": 1000}


def _str(value: Any, field: str, problems: dict, *, max_length: int | None = None) -> str:
    """Text through the one input boundary: valid Unicode, no control characters, within its length."""
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems[field] = N_("Please enter text.")
        return ""
    limit = max_length or MAX_LENGTHS.get(field, 2000)
    try:
        return bounded_text(str(value), max_length=limit)
    except ValueError as exc:
        problems[field] = str(exc)
        return ""


def answers_from(data: Mapping[str, Any], questions: list[Question], problems: dict, *, prefix: str = "") -> dict:
    """Answers to an event's custom questions, checked against their kind and `required`."""
    answers: dict[str, Any] = {}
    for question in questions:
        raw = data.get(prefix + question.key)
        field = prefix + question.key
        text = raw.strip() if isinstance(raw, str) else raw
        if text in (None, ""):
            if question.required:
                problems[field] = N_("Please answer this question.")
            continue
        if question.kind == "number":
            answers[question.key] = whole_number(text, field, problems)
        elif question.kind == "yesno":
            answers[question.key] = str(text).lower() in ("1", "yes", "true", "on", "ja")
        elif question.kind == "choice":
            if not isinstance(text, str) or text not in question.choices:
                problems[field] = N_("Please choose one of the options.")
            else:
                answers[question.key] = text
        else:
            answers[question.key] = _str(text, field, problems, max_length=MAX_LENGTHS["answer"])
    return answers


def applicant_from(data: Mapping[str, Any], event: Event, *, answers_key: str | None = None) -> Applicant:
    """Form fields or a JSON object -> Applicant. JSON carries answers under "answers"."""
    problems: dict[str, str] = {}
    questions = list(event.questions) if hasattr(event, "questions") else []
    if answers_key:
        raw_answers = data.get(answers_key) or {}
        if not isinstance(raw_answers, dict):
            problems["answers"] = N_("Answers must be an object of question keys and values.")
            raw_answers = {}
        answers = answers_from(raw_answers, questions, problems)
    else:
        answers = answers_from(data, questions, problems, prefix="q_")
    applicant = Applicant(
        name=_str(data.get("name"), "name", problems),
        email=_str(data.get("email"), "email", problems),
        phone=_str(data.get("phone"), "phone", problems),
        language=_str(data.get("language"), "language", problems) or "de",
        companions=whole_number(data.get("companions"), "companions", problems),
        answers=answers,
        postcode=_str(data.get("postcode"), "postcode", problems).strip(),
    )
    if applicant.postcode and not clean_postcode(applicant.postcode):
        problems["postcode"] = N_("Please enter a postcode of five digits, or leave the field empty.")
    if applicant.language not in LANGUAGES:
        problems["language"] = N_("This language is not offered.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return applicant


def _time(value: Any, field: str, problems: dict):
    if value in (None, ""):
        return None
    try:
        return parse_iso(str(value))
    except ValueError:
        problems[field] = N_("Please give a date and time in ISO 8601 with an offset, e.g. 2026-11-24T18:00:00+01:00.")
        return None


def _choice(value: Any, enum, field: str, problems: dict):
    try:
        return enum(value)
    except ValueError:
        problems[field] = N_("This value is not one of the allowed options.")
        return None


def questions_from(raw: Any, problems: dict) -> list[QuestionSpec]:
    """API questions: [{key, label, kind, choices, required, translations: {lang: label | {label, choices}}}]."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        problems["questions"] = N_("Questions must be a list of objects with key and label.")
        return []
    specs = []
    for item in raw[:50]:
        translations: dict[str, dict] = {}
        given = item.get("translations") or {}
        if not isinstance(given, dict):
            problems["questions"] = N_("Translations must be an object keyed by language.")
            given = {}
        for lang, text in given.items():
            if lang not in LANGUAGES or lang == "de":
                continue
            if isinstance(text, str):
                text = {"label": text}
            if not isinstance(text, dict):
                problems["questions"] = N_("Translations must be an object keyed by language.")
                continue
            entry = {"label": _str(text.get("label"), "questions", problems).strip()[:300],
                     "choices": [str(c).strip()[:200] for c in (text.get("choices") or []) if str(c).strip()]
                     if isinstance(text.get("choices") or [], list) else []}
            entry = {name: value for name, value in entry.items() if value}
            if entry:
                translations[lang] = entry
        choices = item.get("choices") or []
        if not isinstance(choices, list):
            problems["questions"] = N_("Questions must be a list of objects with key and label.")
            choices = []
        if not isinstance(item.get("required", False), bool):
            problems["questions"] = N_("Please give true or false.")
        specs.append(QuestionSpec(key=_str(item.get("key"), "questions", problems).strip(),
                                  label=_str(item.get("label"), "questions", problems).strip(),
                                  kind=_str(item.get("kind") or "text", "questions", problems),
                                  choices=tuple(str(c).strip()[:200] for c in choices if str(c).strip()),
                                  required=item.get("required") is True, translations=translations))
    return specs


def recurrence_from(raw: Any, problems: dict) -> recurrence.Weekly | None:
    """{"weekly": {"count": N} | {"until": "YYYY-MM-DD"}, "skip": ["YYYY-MM-DD", ...]}"""
    message = N_('Give recurrence as {"weekly": {"count": N} or {"until": "YYYY-MM-DD"}, "skip": [dates]}.')
    if not isinstance(raw, dict) or not isinstance(raw.get("weekly"), dict) or set(raw) - {"weekly", "skip"}:
        problems["recurrence"] = message
        return None
    weekly, skip = raw["weekly"], raw.get("skip") or []
    if set(weekly) - {"count", "until"} or not isinstance(skip, list):
        problems["recurrence"] = message
        return None
    count = until = None
    try:
        if "count" in weekly:
            count = parse_whole_number(weekly["count"])
        if "until" in weekly:
            until = date.fromisoformat(str(weekly["until"]))
        days = frozenset(date.fromisoformat(str(day)) for day in skip)
    except ValueError:
        problems["recurrence"] = message
        return None
    return recurrence.Weekly(count=count, until=until, skip=days)


def expand_sessions(sessions: list[SessionSpec], pattern: recurrence.Weekly, *, tz: str) -> list[SessionSpec]:
    """The first date repeated by the pattern, then the other dates as given."""
    first, *others = sessions
    repeated = recurrence.weekly_dates(first.starts_at, first.ends_at, pattern, tz=tz)
    series = [SessionSpec(starts_at=start, ends_at=end, id=first.id if index == 0 and start == first.starts_at else None)
              for index, (start, end) in enumerate(repeated)]
    return series + others


def event_fields_from(data: Mapping[str, Any], *, creating: bool,
                      tz: str = "Europe/Berlin") -> tuple[dict, list[SessionSpec] | None]:
    """API JSON -> (event values, sessions). Unknown fields are rejected, not ignored."""
    problems: dict[str, str] = {}
    known = {"kind", "title", "description", "location", "location_confidential", "starts_at", "ends_at",
             "sessions", "capacity", "waitlist", "offer_hours", "max_companions", "phone_allowed",
             "registration_opens_at", "registration_closes_at", "audience", "visibility",
             "certificate_min_attendance", "translations", "retention_days", "questions", "recurrence"}
    for name in data:
        if name not in known:
            problems[name] = N_("Unknown field.")
    values: dict[str, Any] = {}
    for name in ("title", "description", "location"):
        if name in data:
            values[name] = _str(data[name], name, problems)
    for name in ("capacity", "offer_hours", "max_companions", "certificate_min_attendance"):
        if name in data:
            values[name] = whole_number(data[name], name, problems)
    if "retention_days" in data:  # null: the default period (EVENTS_RETENTION_DAYS)
        values["retention_days"] = None if data["retention_days"] is None else whole_number(
            data["retention_days"], "retention_days", problems)
    for name in ("waitlist", "phone_allowed", "location_confidential"):
        if name in data:
            if not isinstance(data[name], bool):
                problems[name] = N_("Please give true or false.")
            values[name] = bool(data[name])
    for name, enum in (("kind", EventKind), ("audience", Audience), ("visibility", Visibility)):
        if name in data:
            values[name] = _choice(data[name], enum, name, problems)
    for name in ("registration_opens_at", "registration_closes_at"):
        if name in data:
            values[name] = _time(data[name], name, problems)
    if "translations" in data:
        if not isinstance(data["translations"], dict):
            problems["translations"] = N_("Translations must be an object keyed by language.")
        else:
            values["translations"] = {
                lang: {k: _str(v, k, problems, max_length=MAX_LENGTHS[k]) for k, v in texts.items()
                       if k in ("title", "description", "location")}
                for lang, texts in data["translations"].items() if lang in LANGUAGES and isinstance(texts, dict)}
    if "questions" in data:
        values["questions"] = questions_from(data["questions"], problems)
    sessions: list[SessionSpec] | None = None
    if "sessions" in data:
        if not isinstance(data["sessions"], list):
            problems["sessions"] = N_("Sessions must be a list of {starts_at, ends_at}.")
        else:
            sessions = []
            for index, item in enumerate(data["sessions"]):
                if not isinstance(item, dict):
                    problems["sessions"] = N_("Sessions must be a list of {starts_at, ends_at}.")
                    continue
                starts = _time(item.get("starts_at"), "sessions", problems)
                ends = _time(item.get("ends_at"), "sessions", problems)
                session_id = whole_number(item.get("id"), "sessions", problems, default=0) or None
                if starts and ends:
                    sessions.append(SessionSpec(starts_at=starts, ends_at=ends, id=session_id))
                elif "sessions" not in problems:
                    problems["sessions"] = N_("Each date needs starts_at and ends_at.")
    elif "starts_at" in data or "ends_at" in data:
        starts = _time(data.get("starts_at"), "starts_at", problems)
        ends = _time(data.get("ends_at"), "ends_at", problems)
        if starts and ends:
            sessions = [SessionSpec(starts_at=starts, ends_at=ends)]
        elif "starts_at" not in problems and "ends_at" not in problems:
            problems["ends_at" if starts else "starts_at"] = N_("This field is required.")
    if "recurrence" in data:
        pattern = recurrence_from(data["recurrence"], problems)
        if pattern is not None and not sessions and "sessions" not in problems:
            problems["recurrence"] = N_("A repeated date needs its first date in sessions or starts_at and ends_at.")
        elif pattern is not None and sessions:
            sessions = expand_sessions(sessions, pattern, tz=tz)
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return values, sessions
