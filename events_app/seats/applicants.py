"""What a person sends to register, checked in one pass that reports every field problem at once.

`check_applicant` looks at the name, the contact (e-mail, or a phone number where the event allows
it), the companions, the language, the answers to the event's questions and the audience's rules
(staff addresses, the women-only confirmation), so a bad answer never hides a missing name. The
registration engine runs it once, under the event lock, for every channel: the public form, the API,
the back office (which has no audience rules) and direct calls. Answering an invitation shares its
companion rule (`check_companions`); its name and contact come from the authority's list.

Staff domains match exactly and case-insensitively on the IDNA (ASCII) form of the domain; entries
like `*.giessen.de` admit sub-domains but not the bare domain (see `signup` for why).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from email_validator import EmailNotValidError, validate_email

from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.models import Audience, Event, Question
from events_app.core.validation import clean_text, normalise_email, normalise_phone, parse_whole_number


@dataclass(frozen=True)
class Applicant:
    """What a person tells us when registering, as sent (strings from a form, values from JSON);
    `check_applicant` returns it normalised."""

    name: Any
    email: Any = ""
    phone: Any = ""
    language: Any = "de"
    companions: Any = 0
    answers: Any = None


@dataclass(frozen=True)
class AudienceRules:
    """The public channels' rules for staff workshops and women's courses. The back office adds by hand
    without them (None)."""

    staff_domains: tuple[str, ...] = ()
    women_confirmed: bool = False


@dataclass(frozen=True)
class AnswerCheck:
    """Check the answers against these questions; a form names its fields `<prefix><key>`."""

    questions: tuple[Question, ...]
    field_prefix: str = ""


def email_domain(email: str) -> str | None:
    """The ASCII (IDNA 2008) form of the address's domain, lower case; None if the address is invalid."""
    try:
        return validate_email(email.strip(), check_deliverability=False).ascii_domain.lower()
    except (EmailNotValidError, UnicodeError, AttributeError):
        return None


def staff_address_allowed(email: str, domains: Iterable[str]) -> bool:
    """Whether the address belongs to one of the staff domains (see the module docstring for the rule)."""
    domain = email_domain(email)
    if not domain:
        return False
    for entry in domains:
        entry = entry.strip().lower()
        if entry.startswith("*."):
            if domain.endswith(entry[1:]):
                return True
        elif entry and domain == entry:
            return True
    return False


def _text(value: Any, field: str, problems: dict) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems[field] = N_("Please enter text.")
        return ""
    return str(value)


def _whole_number(value: Any, field: str, problems: dict) -> int:
    if value in (None, ""):
        return 0
    try:
        return parse_whole_number(value)
    except ValueError as exc:
        problems[field] = str(exc)
        return 0


def check_companions(value: Any, maximum: int, problems: dict) -> int:
    """The number of companions, 0..maximum; a problem under "companions" otherwise."""
    companions = _whole_number(value, "companions", problems)
    if "companions" in problems:
        return 0
    if companions < 0:
        problems["companions"] = N_("The number of companions cannot be negative.")
    elif companions > maximum:
        problems["companions"] = N_("At most %(max)d companions are allowed for this event.")
    return companions


def _answers(raw: Any, check: AnswerCheck, problems: dict) -> dict:
    """Answers to the event's questions, checked against their kind and `required`."""
    if not isinstance(raw, Mapping):
        problems["answers"] = N_("Answers must be an object of question keys and values.")
        raw = {}
    answers: dict[str, Any] = {}
    for question in check.questions:
        field = check.field_prefix + question.key
        value = raw.get(question.key)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            if question.required:
                problems[field] = N_("Please answer this question.")
            continue
        if question.kind == "number":
            answers[question.key] = _whole_number(value, field, problems)
        elif question.kind == "yesno":
            answers[question.key] = str(value).lower() in ("1", "yes", "true", "on", "ja")
        elif question.kind == "choice":
            if value not in question.choices:
                problems[field] = N_("Please choose one of the options.")
            else:
                answers[question.key] = value
        else:
            answers[question.key] = _text(value, field, problems)[:2000]
    return answers


def _audience_problems(event: Event, email: str, rules: AudienceRules, problems: dict) -> None:
    if event.audience == Audience.STAFF:
        if not email:
            problems["email"] = N_("Please enter your work e-mail address.")
        elif not staff_address_allowed(email, rules.staff_domains):
            problems["email"] = N_("Please use your work e-mail address (%(domains)s).")
    if event.audience == Audience.WOMEN and not rules.women_confirmed:
        problems["women_only"] = N_("Please confirm that you are a woman: this course is for women only.")


def check_applicant(event: Event, applicant: Applicant, *, languages: tuple[str, ...],
                    answers: AnswerCheck | None = None, rules: AudienceRules | None = None) -> Applicant:
    """The applicant normalised, or ValidationFailed with every field's problem at once.

    The language is the one sent if offered (none sent: the first of `languages`); answers are
    checked when `answers` says against which questions (else kept as given); audience rules apply
    when `rules` are given."""
    problems: dict[str, str] = {}
    name = clean_text(_text(applicant.name, "name", problems), max_length=200)
    if not name and "name" not in problems:
        problems["name"] = N_("Please enter your name.")
    email = phone = ""
    typed_email = _text(applicant.email, "email", problems).strip()
    typed_phone = _text(applicant.phone, "phone", problems).strip()
    if typed_email:
        try:
            email = normalise_email(typed_email)
        except ValueError as exc:
            problems["email"] = str(exc)
    if typed_phone:
        try:
            phone = normalise_phone(typed_phone)
        except ValueError as exc:
            problems["phone"] = str(exc)
    if not email and "email" not in problems:
        if not event.phone_allowed:
            problems["email"] = N_("Please enter an e-mail address.")
        elif not phone and "phone" not in problems:
            problems["email"] = N_("Please enter an e-mail address or a phone number.")
    companions = check_companions(applicant.companions, event.max_companions, problems)
    language = _text(applicant.language, "language", problems) or languages[0]
    if language not in languages and "language" not in problems:
        problems["language"] = N_("This language is not offered.")
    given = applicant.answers if applicant.answers is not None else {}
    checked_answers = _answers(given, answers, problems) if answers is not None else dict(given or {})
    params: dict[str, Any] = {"max": event.max_companions}
    if rules is not None:
        _audience_problems(event, typed_email, rules, problems)
        params["domains"] = ", ".join(rules.staff_domains)
    if problems:
        raise errors.ValidationFailed(fields=problems, **params)
    return replace(applicant, name=name, email=email, phone=phone, language=language, companions=companions,
                   answers=checked_answers)
