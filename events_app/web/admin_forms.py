"""Back-office HTML forms -> typed values. Dates are typed in local time (Europe/Berlin) as a date
field and a time field, and stored in UTC."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from events_app.core import errors, wording
from events_app.backoffice.changes import QuestionSpec
from events_app.core.errors import N_
from events_app.seats.events import SessionSpec
from events_app.core.i18n import LANGUAGES
from events_app.core.models import Audience, Event, EventKind, Visibility
from events_app.core.timeutil import check_year
from events_app.core.validation import parse_id
from events_app.seats import recurrence
from events_app.web.forms import expand_sessions, whole_number

#: Languages besides German in which an event's title and description can be given.
OTHER_LANGUAGES = tuple(code for code in LANGUAGES if code != "de")
MAX_SESSION_ROWS = 60
MAX_QUESTION_ROWS = 30
BLANK_SESSION_ROWS = 2
BLANK_QUESTION_ROWS = 2


def form_dict(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            data.setdefault(key, value)
    data["door_user"] = [v for v in form.getlist("door_user") if isinstance(v, str)]
    data["columns"] = [v for v in form.getlist("columns") if isinstance(v, str)]
    return data


def local_datetime(day: str, clock: str, tz: ZoneInfo) -> datetime:
    """A date and time typed in local time, in UTC; ValueError when unreadable or outside 2000-2100."""
    parsed = datetime.combine(date.fromisoformat(day.strip()), time.fromisoformat((clock or "00:00").strip()))
    check_year(parsed)
    try:
        return check_year(parsed.replace(tzinfo=tz).astimezone(timezone.utc))
    except OverflowError:
        raise ValueError("year out of range") from None


def _int(data: dict, name: str, problems: dict, default: int = 0) -> int:
    return whole_number(str(data.get(name) or "").strip(), name, problems, default)


def _rows(data: dict, name: str, limit: int) -> int:
    return max(0, min(parse_id(data.get(name) or "0") or 0, limit))


def event_from_form(data: dict, *, tz: ZoneInfo) -> tuple[dict, list[SessionSpec], list[QuestionSpec], list[int]]:
    """The event form -> (values, sessions, questions, door user ids), or ValidationFailed per field."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {
        "title": str(data.get("title") or "").strip()[:200],
        "description": str(data.get("description") or "").strip(),
        "location": str(data.get("location") or "").strip()[:300],
        "location_confidential": data.get("location_confidential") == "on",
        "waitlist": data.get("waitlist") == "on",
        "phone_allowed": data.get("phone_allowed") == "on",
    }
    for name, default in (("capacity", None), ("offer_hours", 0), ("max_companions", 0),
                          ("certificate_min_attendance", 100)):
        values[name] = _int(data, name, problems, default=default if default is not None else -1)
    # empty: the default period (EVENTS_RETENTION_DAYS)
    values["retention_days"] = _int(data, "retention_days", problems) if str(
        data.get("retention_days") or "").strip() else None
    if values["capacity"] == -1 and "capacity" not in problems:
        problems["capacity"] = N_("This field is required.")
    for name, enum in (("kind", EventKind), ("audience", Audience), ("visibility", Visibility)):
        try:
            values[name] = enum(data.get(name))
        except ValueError:
            problems[name] = N_("This value is not one of the allowed options.")
    for prefix in ("registration_opens", "registration_closes"):
        day = str(data.get(f"{prefix}_date") or "").strip()
        values[f"{prefix}_at"] = None
        if day:
            try:
                values[f"{prefix}_at"] = local_datetime(day, str(data.get(f"{prefix}_time") or ""), tz)
            except ValueError:
                problems[f"{prefix}_at"] = N_("Please enter a valid date and time.")
    sessions: list[SessionSpec] = []
    for index in range(_rows(data, "session_rows", MAX_SESSION_ROWS)):
        day = str(data.get(f"s{index}_date") or "").strip()
        if not day:
            continue
        try:
            starts = local_datetime(day, str(data.get(f"s{index}_start") or ""), tz)
            ends = local_datetime(day, str(data.get(f"s{index}_end") or ""), tz)
        except ValueError:
            problems["sessions"] = N_("Please enter a valid date and time.")
            continue
        session_id = str(data.get(f"s{index}_id") or "").strip()
        sessions.append(SessionSpec(starts_at=starts, ends_at=ends, id=parse_id(session_id)))
    if not sessions and "sessions" not in problems:
        problems["sessions"] = N_("An event needs at least one date.")
    pattern = _repeat(data, problems)
    if pattern is not None and sessions and "sessions" not in problems:
        try:
            sessions = expand_sessions(sessions, pattern, tz=str(tz))
        except errors.ValidationFailed as exc:
            problems.update(exc.fields)
    questions: list[QuestionSpec] = []
    for index in range(_rows(data, "question_rows", MAX_QUESTION_ROWS)):
        key = str(data.get(f"q{index}_key") or "").strip()
        label = str(data.get(f"q{index}_label") or "").strip()
        if not key and not label:
            continue
        choices = _options(data.get(f"q{index}_choices"))
        translations = {}
        for language in OTHER_LANGUAGES:
            text = {"label": str(data.get(f"q{index}_label_{language}") or "").strip()[:300],
                    "choices": list(_options(data.get(f"q{index}_choices_{language}")))}
            text = {name: value for name, value in text.items() if value}
            if text:
                translations[language] = text
        questions.append(QuestionSpec(key=key, label=label, kind=str(data.get(f"q{index}_kind") or "text"),
                                      choices=choices, required=data.get(f"q{index}_required") == "on",
                                      translations=translations))
    values["translations"] = {}
    for language in OTHER_LANGUAGES:
        texts = {field: str(data.get(f"{field}_{language}") or "").strip()[:limit]
                 for field, limit in (("title", 200), ("description", 10_000), ("location", 300))}
        texts = {field: text for field, text in texts.items() if text}
        if texts:
            values["translations"][language] = texts
    door_users = [number for v in data.get("door_user", []) if (number := parse_id(v)) is not None]
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return values, sessions, questions, door_users


def _repeat(data: dict, problems: dict) -> recurrence.Weekly | None:
    """The form's "repeat the first date weekly" fields: N times or until a day, without listed days."""
    mode = str(data.get("repeat") or "")
    if mode not in ("count", "until"):
        return None
    skip, readable = recurrence.parse_days(str(data.get("repeat_skip") or ""))
    if not readable:
        problems["repeat_skip"] = N_("Please give the days to leave out as dates, e.g. 24.12.2026, separated by commas.")
    if mode == "count":
        count = _int(data, "repeat_count", problems, default=0)
        if not count and "repeat_count" not in problems:
            problems["repeat_count"] = N_("This field is required.")
        return recurrence.Weekly(count=count or 1, skip=skip)
    try:
        until = date.fromisoformat(str(data.get("repeat_until") or "").strip())
    except ValueError:
        problems["repeat_until"] = N_("Please enter a valid date.")
        return None
    return recurrence.Weekly(until=until, skip=skip)


def with_sessions(data: dict, sessions: list[SessionSpec], *, tz: ZoneInfo) -> dict:
    """The form again with these dates as its rows and the pattern fields cleared: the preview of a series."""
    data = {key: value for key, value in data.items()
            if not (key.startswith("s") and key[1:2].isdigit()) and not key.startswith("repeat")}
    for index, session in enumerate(sessions):
        start, end = session.starts_at.astimezone(tz), session.ends_at.astimezone(tz)
        data.update({f"s{index}_date": start.date().isoformat(), f"s{index}_start": start.strftime("%H:%M"),
                     f"s{index}_end": end.strftime("%H:%M")})
        if session.id:
            data[f"s{index}_id"] = session.id
    data["session_rows"] = len(sessions) + BLANK_SESSION_ROWS
    return data


def _options(value) -> tuple[str, ...]:
    """Options typed as one line, separated by semicolons."""
    return tuple(c.strip()[:200] for c in str(value or "").split(";") if c.strip())


def event_to_form(event: Event, *, tz: ZoneInfo, door_user_ids: list[int], language: str) -> dict:
    """The other way round, to fill the edit form (built-in questions in the organiser's language)."""
    data: dict[str, Any] = {name: getattr(event, name) for name in (
        "title", "description", "location", "capacity", "offer_hours", "max_companions", "certificate_min_attendance")}
    data["retention_days"] = "" if event.retention_days is None else event.retention_days
    data.update({"kind": event.kind.value, "audience": event.audience.value, "visibility": event.visibility.value})
    for name in ("location_confidential", "waitlist", "phone_allowed"):
        data[name] = "on" if getattr(event, name) else ""
    for prefix in ("registration_opens", "registration_closes"):
        value = getattr(event, f"{prefix}_at")
        if value:
            local = value.astimezone(tz)
            data[f"{prefix}_date"], data[f"{prefix}_time"] = local.date().isoformat(), local.strftime("%H:%M")
    live = [s for s in event.sessions if s.status.value == "scheduled"]
    for index, session in enumerate(live):
        start, end = session.starts_at.astimezone(tz), session.ends_at.astimezone(tz)
        data.update({f"s{index}_id": session.id, f"s{index}_date": start.date().isoformat(),
                     f"s{index}_start": start.strftime("%H:%M"), f"s{index}_end": end.strftime("%H:%M")})
    data["session_rows"] = len(live) + BLANK_SESSION_ROWS
    for index, question in enumerate(event.questions):
        data.update({f"q{index}_key": question.key, f"q{index}_kind": question.kind,
                     f"q{index}_label": (wording.question_label(question, language) if question.builtin
                                         else question.label),
                     f"q{index}_choices": "; ".join(question.choices),
                     f"q{index}_required": "on" if question.required else ""})
        for other, text in (question.translations or {}).items():
            data[f"q{index}_label_{other}"] = text.get("label", "")
            data[f"q{index}_choices_{other}"] = "; ".join(text.get("choices", []))
    data["question_rows"] = len(event.questions) + BLANK_QUESTION_ROWS
    data["door_user"] = [str(i) for i in door_user_ids]
    for language, texts in (event.translations or {}).items():
        for field in ("title", "description", "location"):
            if texts.get(field):
                data[f"{field}_{language}"] = texts[field]
    return data


def blank_event_form() -> dict:
    return {"kind": "workshop", "audience": "public", "visibility": "draft", "waitlist": "on", "offer_hours": 0,
            "max_companions": 0, "certificate_min_attendance": 100, "session_rows": 1 + BLANK_SESSION_ROWS,
            "question_rows": BLANK_QUESTION_ROWS, "door_user": []}


def grow_rows(data: dict) -> dict:
    """After a failed submit, keep what was typed and offer blank rows again."""
    data = dict(data)
    data["session_rows"] = _rows(data, "session_rows", MAX_SESSION_ROWS) or 1 + BLANK_SESSION_ROWS
    data["question_rows"] = _rows(data, "question_rows", MAX_QUESTION_ROWS) or BLANK_QUESTION_ROWS
    return data
