"""All database models.

Personal data lives in few tables on purpose (Registration, Invitation, User), so that
retention and anonymisation have few places to look. Times are stored in UTC.
"""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class EventKind(str, Enum):
    RECEPTION = "reception"
    WORKSHOP = "workshop"
    FESTIVAL = "festival"
    COURSE = "course"
    TOUR = "tour"
    CONSULTATION = "consultation"


class Audience(str, Enum):
    PUBLIC = "public"
    STAFF = "staff"
    INVITATION = "invitation"
    WOMEN = "women"


class Visibility(str, Enum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    DRAFT = "draft"


class EventStatus(str, Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class SessionStatus(str, Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RegistrationStatus(str, Enum):
    PENDING = "pending"  # e-mail not yet verified (staff workshops): holds no seat
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


#: Statuses whose seats count against capacity.
SEAT_HOLDING = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)


class Role(str, Enum):
    ADMIN = "admin"
    ORGANISER = "organiser"
    DOOR = "door"


class Event(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(EventKind, max_length=20)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    #: Per-language title and description, e.g. {"en": {"title": "..."}}. German is in the columns above.
    translations = fields.JSONField(default=dict)
    location = fields.CharField(max_length=300, default="")
    #: The meeting point is told only to confirmed participants (women's courses).
    location_confidential = fields.BooleanField(default=False)
    capacity = fields.IntField()
    #: Seats held by confirmed and offered registrations, changed only under the event lock.
    seats_taken = fields.IntField(default=0)
    waitlist = fields.BooleanField(default=True)
    offer_hours = fields.IntField(default=0)
    max_companions = fields.IntField(default=0)
    #: People may register with a phone number instead of an e-mail address.
    phone_allowed = fields.BooleanField(default=False)
    registration_opens_at = fields.DatetimeField(null=True)
    registration_closes_at = fields.DatetimeField(null=True)
    audience = fields.CharEnumField(Audience, max_length=20, default=Audience.PUBLIC)
    visibility = fields.CharEnumField(Visibility, max_length=20, default=Visibility.PUBLIC)
    status = fields.CharEnumField(EventStatus, max_length=20, default=EventStatus.SCHEDULED)
    #: Percent of (not cancelled) sessions attended that earns a certificate.
    certificate_min_attendance = fields.IntField(default=100)
    #: iCalendar SEQUENCE: raised on every change of time, place or status.
    sequence = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    sessions: fields.ReverseRelation["EventSession"]
    registrations: fields.ReverseRelation["Registration"]
    questions: fields.ReverseRelation["Question"]

    class Meta:
        table = "event"


class EventSession(Model):
    """One date of an event. A course has several, and one registration covers them all."""

    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="sessions", on_delete=fields.CASCADE)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    status = fields.CharEnumField(SessionStatus, max_length=20, default=SessionStatus.SCHEDULED)
    sequence = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "event_session"
        ordering = ["starts_at", "id"]


class Question(Model):
    """A custom question on an event's form (e.g. stand needs for Global Village partners)."""

    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="questions", on_delete=fields.CASCADE)
    key = fields.CharField(max_length=50)
    label = fields.CharField(max_length=300)
    #: text | choice | yesno | number
    kind = fields.CharField(max_length=10, default="text")
    choices = fields.JSONField(default=list)
    required = fields.BooleanField(default=False)
    position = fields.IntField(default=0)

    class Meta:
        table = "question"
        ordering = ["position", "id"]
        unique_together = (("event", "key"),)


class Registration(Model):
    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="registrations", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=50, default="")
    language = fields.CharField(max_length=5, default="de")
    companions = fields.IntField(default=0)
    seats = fields.IntField(default=1)
    status = fields.CharEnumField(RegistrationStatus, max_length=20, index=True)
    #: Waiting-list order, oldest first. Reset when a person is moved back to the list.
    queued_at = fields.DatetimeField()
    offer_expires_at = fields.DatetimeField(null=True)
    manage_token = fields.CharField(max_length=64, unique=True)
    checkin_token = fields.CharField(max_length=64, unique=True)
    answers = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    confirmed_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "registration"
        indexes = (("event_id", "status", "queued_at"),)


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200, default="")
    role = fields.CharEnumField(Role, max_length=20)
    password_hash = fields.CharField(max_length=200, default="")
    active = fields.BooleanField(default=True)
    failed_logins = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "app_user"


class ApiToken(Model):
    """An API credential. Only the SHA-256 of the token is stored."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("events.User", related_name="api_tokens", on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    label = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class OutboxState(str, Enum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


class OutboxMessage(Model):
    """A mail to send. Written in the same transaction as the change it tells about."""

    id = fields.IntField(primary_key=True)
    template = fields.CharField(max_length=100)
    recipient = fields.CharField(max_length=254)
    language = fields.CharField(max_length=5, default="de")
    context = fields.JSONField(default=dict)
    registration = fields.ForeignKeyField(
        "events.Registration", related_name="mails", null=True, on_delete=fields.SET_NULL
    )
    event = fields.ForeignKeyField("events.Event", related_name="mails", null=True, on_delete=fields.SET_NULL)
    state = fields.CharEnumField(OutboxState, max_length=10, default=OutboxState.QUEUED, index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(index=True)
    claimed_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    message_id = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"


class AuditEntry(Model):
    """Who changed what, when."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("events.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL)
    action = fields.CharField(max_length=100)
    event = fields.ForeignKeyField("events.Event", related_name="audit_entries", null=True, on_delete=fields.SET_NULL)
    detail = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, index=True)

    class Meta:
        table = "audit_entry"


# --- backoffice ---


class LoginSession(Model):
    """A signed-in back-office browser. Only the SHA-256 of the cookie's token is stored, so a
    database leak gives no usable sessions; deleting the row logs the browser out."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("events.User", related_name="login_sessions", on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    #: Bound to the session: every back-office form carries it (CSRF protection).
    csrf_token = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(index=True)

    class Meta:
        table = "login_session"


class DoorAssignment(Model):
    """A door-role user may check people in for this event."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("events.User", related_name="door_assignments", on_delete=fields.CASCADE)
    event = fields.ForeignKeyField("events.Event", related_name="door_assignments", on_delete=fields.CASCADE)

    class Meta:
        table = "door_assignment"
        unique_together = (("user", "event"),)


class CheckIn(Model):
    """Someone arrived at the door. `session` is set for courses (one row per date attended)."""

    id = fields.IntField(primary_key=True)
    registration = fields.ForeignKeyField("events.Registration", related_name="checkins", on_delete=fields.CASCADE)
    session = fields.ForeignKeyField("events.EventSession", related_name="checkins", null=True,
                                     on_delete=fields.CASCADE)
    arrived_at = fields.DatetimeField()
    companions_arrived = fields.IntField(default=0)
    by_user = fields.ForeignKeyField("events.User", related_name="checkins", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "checkin"
        unique_together = (("registration", "session"),)
