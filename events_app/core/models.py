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
    #: Registrations on the waiting list, changed only under the event lock. A newcomer's place is this number.
    waiting = fields.IntField(default=0)
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
    #: Start of the first date (of the scheduled ones, if any), kept with the dates: lists sort and page by it.
    first_starts_at = fields.DatetimeField(null=True)
    #: End of the last date (of the scheduled ones, if any): an event is upcoming until then.
    last_ends_at = fields.DatetimeField(null=True)

    sessions: fields.ReverseRelation["EventSession"]
    registrations: fields.ReverseRelation["Registration"]
    questions: fields.ReverseRelation["Question"]

    class Meta:
        table = "event"
        indexes = (("first_starts_at", "id"),)


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
    #: When the reminder mail before the event was queued (set once, so each person gets one).
    reminded_at = fields.DatetimeField(null=True)
    #: Raised on every change of status: part of the SEQUENCE of the dates in the person's own calendar.
    sequence = fields.IntField(default=0)
    #: When the status last changed after registering: LAST-MODIFIED of the person's own calendar.
    status_changed_at = fields.DatetimeField(null=True)

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


# --- calendar ---


class CalendarFeedToken(Model):
    """A private, revocable calendar feed address for a staff member or organiser.

    Calendar clients cannot sign in, so the secret in the URL is the credential: only its
    SHA-256 is stored, and revoking it makes the address answer 404 from then on.
    """

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("events.User", related_name="calendar_feed_tokens", on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "calendar_feed_token"


# --- receptions ---


class InvitationState(str, Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Invitation(Model):
    """One invitee of an invitation-only event (naturalisation reception), imported from a list.

    `code` is what a person types from the letter, and `token` is the long secret in the e-mail link
    and the QR code. Either is the credential: whoever has it answers for this invitee.
    """

    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="invitations", on_delete=fields.CASCADE)
    salutation = fields.CharField(max_length=30, default="")
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100)
    birth_date = fields.DateField(null=True)
    street = fields.CharField(max_length=200, default="")
    postcode = fields.CharField(max_length=10, default="")
    city = fields.CharField(max_length=100, default="")
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=50, default="")
    #: Aktenzeichen of the naturalisation authority, NULL when the list has none (else unique per event).
    file_number = fields.CharField(max_length=50, null=True)
    note = fields.TextField(default="")
    language = fields.CharField(max_length=5, default="de")
    max_companions = fields.IntField(default=0)
    state = fields.CharEnumField(InvitationState, max_length=10, default=InvitationState.PENDING, index=True)
    companions = fields.IntField(default=0)
    code = fields.CharField(max_length=16, unique=True)
    token = fields.CharField(max_length=64, unique=True)
    registration = fields.ForeignKeyField("events.Registration", related_name="invitations", null=True,
                                          on_delete=fields.SET_NULL)
    #: language_assistance and accessibility: only what the invitee chose to tell.
    needs = fields.JSONField(default=dict)
    mailed_at = fields.DatetimeField(null=True)
    answered_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True)
    #: What the invitee last learnt (a registration status or event_cancelled), so a change gets a phone call.
    status_told = fields.CharField(max_length=20, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "invitation"
        unique_together = (("event", "file_number"),)
        ordering = ["last_name", "first_name", "id"]


class ReceptionLetter(Model):
    """The city's letter text for one event's invitations, editable by the organisers."""

    id = fields.IntField(primary_key=True)
    event = fields.OneToOneField("events.Event", related_name="reception_letter", on_delete=fields.CASCADE)
    sender = fields.TextField(default="")
    subject = fields.CharField(max_length=200, default="")
    body = fields.TextField(default="")

    class Meta:
        table = "reception_letter"


# --- courses ---


class Attendance(Model):
    """Whether a registered person was there on one date of the event. One row per person and date."""

    id = fields.IntField(primary_key=True)
    registration = fields.ForeignKeyField("events.Registration", related_name="attendance",
                                          on_delete=fields.CASCADE)
    session = fields.ForeignKeyField("events.EventSession", related_name="attendance", on_delete=fields.CASCADE)
    present = fields.BooleanField()
    recorded_at = fields.DatetimeField()
    recorded_by = fields.ForeignKeyField("events.User", related_name="attendance_recorded", null=True,
                                         on_delete=fields.SET_NULL)

    class Meta:
        table = "attendance"
        unique_together = (("registration", "session"),)


class Certificate(Model):
    """A certificate of participation. The name is read from the registration, so it is not copied here."""

    id = fields.IntField(primary_key=True)
    registration = fields.ForeignKeyField("events.Registration", related_name="certificates",
                                          on_delete=fields.CASCADE)
    #: Printed on the certificate and part of its verification URL, e.g. TB-2026-7K3M-9QXP.
    serial = fields.CharField(max_length=40, unique=True)
    issued_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.TextField(default="")

    class Meta:
        table = "certificate"


class CertificateTemplate(Model):
    """The organiser's texts for an event's certificates. Placeholders: {name}, {event}, {dates}, {hours}."""

    id = fields.IntField(primary_key=True)
    event = fields.OneToOneField("events.Event", related_name="certificate_template", on_delete=fields.CASCADE)
    title = fields.CharField(max_length=200, default="Teilnahmebescheinigung")
    #: The name is printed large above this text, and {name} can repeat it inside.
    body = fields.TextField(default="hat an der Veranstaltung „{event}“ teilgenommen ({dates}, {hours} Stunden).")
    content_summary = fields.TextField(default="")
    signer_name = fields.CharField(max_length=200, default="")
    signer_role = fields.CharField(max_length=200, default="")
    #: Optional images as data: URIs (PNG, JPEG or SVG), so the PDF needs no file store.
    logo = fields.TextField(default="")
    signature = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "certificate_template"


class RsvpAttempt(Model):
    """A wrong RSVP code typed from one client, kept briefly to throttle guessing."""

    id = fields.IntField(primary_key=True)
    #: SHA-256 of the client address: the throttle needs no readable IP address.
    client = fields.CharField(max_length=64, index=True)
    created_at = fields.DatetimeField(index=True)

    class Meta:
        table = "rsvp_attempt"


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
    """Someone arrived at the door on one date of the event (a single-date event's one date, too).

    The session is never empty, so the uniqueness of (registration, session) holds for every row:
    two scans of the same person at once cannot both insert."""

    id = fields.IntField(primary_key=True)
    registration = fields.ForeignKeyField("events.Registration", related_name="checkins", on_delete=fields.CASCADE)
    session = fields.ForeignKeyField("events.EventSession", related_name="checkins", on_delete=fields.CASCADE)
    arrived_at = fields.DatetimeField()
    companions_arrived = fields.IntField(default=0)
    by_user = fields.ForeignKeyField("events.User", related_name="checkins", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "checkin"
        unique_together = (("registration", "session"),)
