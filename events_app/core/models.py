"""All database models.

Personal data lives in few tables on purpose (Registration, Invitation, User, and for the
office's other activities SlotBooking, PartnerApplication, Interpreter), so that retention and
anonymisation have few places to look. Times are stored in UTC.
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
    #: Days after the last date until the personal data is anonymised (NULL: EVENTS_RETENTION_DAYS).
    retention_days = fields.IntField(null=True)
    #: When the retention job first anonymised the people of this event (only figures remain).
    anonymised_at = fields.DatetimeField(null=True)
    #: Partner stands a festival has (kind festival). Accepted applications beyond them wait in order.
    stands = fields.IntField(default=0)
    #: Stands held by accepted partner applications, changed only under the event lock.
    stands_taken = fields.IntField(default=0)
    #: When subscribers of its kind were told that its registration is open (once per event).
    announced_at = fields.DatetimeField(null=True)
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
    #: A built-in question (standard for the audience): its label is a message id, shown translated.
    builtin = fields.BooleanField(default=False)
    #: The organiser's label and choices per language, e.g. {"ar": {"label": "...", "choices": [...]}};
    #: German is in `label` and `choices`, and answers always store the German choice.
    translations = fields.JSONField(default=dict)

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
    #: When the contact was shown to reach the person (a mailed link opened, or an organiser who phoned
    #: them): only then does a confidential meeting point appear on their page and in their calendar.
    contact_verified_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    #: When the reminder mail before the event was queued (set once, so each person gets one).
    reminded_at = fields.DatetimeField(null=True)
    #: Raised on every change of status: part of the SEQUENCE of the dates in the person's own calendar.
    sequence = fields.IntField(default=0)
    #: When the status last changed after registering: LAST-MODIFIED of the person's own calendar.
    status_changed_at = fields.DatetimeField(null=True)
    #: Optional, for the figures per district; the district is derived when registering and kept.
    postcode = fields.CharField(max_length=10, default="", db_default="")
    district = fields.CharField(max_length=100, default="", db_default="")
    #: The person had taken part in an earlier event, decided when registering (kept after anonymisation).
    returning = fields.BooleanField(default=False, db_default=False)
    #: The registration was on the waiting list at some point (with confirmed_at: whether it got a seat).
    waited = fields.BooleanField(default=False, db_default=False)
    #: When the name, contacts, answers and tokens were removed (retention or erasure).
    anonymised_at = fields.DatetimeField(null=True)

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
    #: Lower goes first: 0 a person's own registration, 1 notices about an event, 2 bulk (outbox.MailPriority).
    priority = fields.SmallIntField(default=1, db_default=1)
    attempts = fields.IntField(default=0, description="Times the message was actually tried.")
    next_attempt_at = fields.DatetimeField(index=True)
    claimed_until = fields.DatetimeField(null=True)
    #: The worker round holding the claim; only it may write the result or renew the lease.
    claimed_by = fields.CharField(max_length=100, default="", db_default="")
    #: Tries in a row that ended with the SMTP connection lost; from 2 on the message is sent on its own.
    connection_breaks = fields.SmallIntField(default=0, db_default=0)
    last_error = fields.TextField(default="")
    message_id = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"
        indexes = (("state", "priority", "next_attempt_at"),)


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
    #: From the postcode when the list is imported (statistics/districts.py): kept after anonymisation,
    #: for the figures of where the invited live.
    district = fields.CharField(max_length=100, default="", db_default="")
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
    anonymised_at = fields.DatetimeField(null=True)
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
    #: The closing formula above the signature, e.g. "Mit freundlichen Grüßen".
    closing = fields.TextField(default="")
    #: Who signs: empty means the names from EVENTS_LETTER_SIGNER_NAME / _ROLE.
    signer_name = fields.CharField(max_length=200, default="")
    signer_role = fields.CharField(max_length=200, default="")
    #: An optional scanned signature as a data: URI (PNG or JPEG), so the PDF needs no file store.
    signature_image = fields.TextField(default="")

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
    """A certificate of participation. The name is read from the registration while it exists; when the
    registration is anonymised, the name is copied here for the verification page (the course and its
    dates stay with the event) and kept for EVENTS_CERTIFICATE_RETENTION_DAYS after issue, then cleared."""

    id = fields.IntField(primary_key=True)
    registration = fields.ForeignKeyField("events.Registration", related_name="certificates",
                                          on_delete=fields.CASCADE)
    #: Printed on the certificate and part of its verification URL, e.g. TB-2026-7K3M-9QXP.
    serial = fields.CharField(max_length=40, unique=True)
    issued_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.TextField(default="")
    holder_name = fields.CharField(max_length=200, default="", db_default="")
    #: The details above were deleted: the verification page says only that the certificate existed.
    details_deleted_at = fields.DatetimeField(null=True)

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


# --- security ---


class ThrottleCounter(Model):
    """One throttle's count in its current window (events_app/security/throttle.py), in the database so
    that every server process counts in the same place. The bucket is a hash: no address or e-mail in it."""

    bucket = fields.CharField(max_length=128, primary_key=True)
    hits = fields.IntField()
    #: Seconds since the epoch (UTC) when the window ends and the count starts again.
    expires_at = fields.FloatField(index=True)

    class Meta:
        table = "throttle_counter"


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


# --- statistics ---


class PostcodeDistrict(Model):
    """Which district (Stadtteil) of the city a postcode belongs to, editable by the office."""

    id = fields.IntField(primary_key=True)
    postcode = fields.CharField(max_length=10, unique=True)
    district = fields.CharField(max_length=100)

    class Meta:
        table = "postcode_district"
# --- consultations ---


class ConsultationSlot(Model):
    """One bookable time of a consultation hour, made from the organiser's weekly pattern."""

    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="slots", on_delete=fields.CASCADE)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consultation_slot"
        unique_together = (("event", "starts_at"),)
        ordering = ["starts_at", "id"]


class BookingStatus(str, Enum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class SlotBooking(Model):
    """A person's booking of one slot. Personal data (name, contact) sits here and in few other tables."""

    id = fields.IntField(primary_key=True)
    slot = fields.ForeignKeyField("events.ConsultationSlot", related_name="bookings", on_delete=fields.CASCADE)
    event = fields.ForeignKeyField("events.Event", related_name="slot_bookings", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=50, default="")
    language = fields.CharField(max_length=5, default="de")
    #: The language an interpreter should speak, empty when none is needed (a code from the list or free text).
    interpreter_language = fields.CharField(max_length=50, default="")
    note = fields.TextField(default="")
    status = fields.CharEnumField(BookingStatus, max_length=10, default=BookingStatus.BOOKED, index=True)
    #: The slot's id while booked, NULL once cancelled: unique, so the database refuses a second booking.
    held_slot = fields.IntField(null=True, unique=True)
    #: "<event>:<contact>:<local day>" while booked, NULL once cancelled: one slot per person and day.
    held_day = fields.CharField(max_length=400, null=True, unique=True)
    manage_token = fields.CharField(max_length=64, unique=True)
    #: iCalendar SEQUENCE of the appointment: raised when it is moved or cancelled.
    sequence = fields.IntField(default=0)
    booked_by = fields.ForeignKeyField("events.User", related_name="slot_bookings", null=True,
                                       on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    cancelled_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "slot_booking"


# --- festival ---


class PartnerStatus(str, Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"  # holds a stand
    WAITING = "waiting"  # accepted, waiting in order for a stand to come free
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class PartnerApplication(Model):
    """A local association's application for a stand at a festival."""

    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="partners", on_delete=fields.CASCADE)
    organisation = fields.CharField(max_length=200)
    contact_name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254)
    phone = fields.CharField(max_length=50, default="")
    language = fields.CharField(max_length=5, default="de")
    presents = fields.TextField(default="")
    #: Languages spoken at the stand, as typed.
    languages = fields.JSONField(default=list)
    #: {"table": bool, "power": bool, "tent": bool, "food_permit": bool, "other": str}
    needs = fields.JSONField(default=dict)
    answers = fields.JSONField(default=dict)
    status = fields.CharEnumField(PartnerStatus, max_length=10, default=PartnerStatus.PENDING, index=True)
    #: Order among applications waiting for a stand: when they were accepted.
    queued_at = fields.DatetimeField(null=True)
    #: Printed on the site plan, assigned by the organisers.
    stand_number = fields.CharField(max_length=20, default="")
    reason = fields.TextField(default="")
    manage_token = fields.CharField(max_length=64, unique=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "partner_application"
        ordering = ["created_at", "id"]


# --- interpreters ---


class Interpreter(Model):
    """A staff member or volunteer of the interpreter pool (Sprachbörse)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=50, default="")
    #: Language keys (codes from the list, or free text).
    languages = fields.JSONField(default=list)
    note = fields.TextField(default="")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "interpreter"
        ordering = ["name", "id"]


class InterpreterAssignment(Model):
    """An interpreter assigned to one language needed at an event (or on one consultation day)."""

    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="interpreter_assignments", on_delete=fields.CASCADE)
    language = fields.CharField(max_length=50)
    #: The local day (YYYY-MM-DD) for consultation hours, empty for the whole event.
    day = fields.CharField(max_length=10, default="")
    interpreter = fields.ForeignKeyField("events.Interpreter", related_name="assignments", on_delete=fields.CASCADE)
    #: The organiser chose to tell the interpreter the participants' names.
    share_names = fields.BooleanField(default=False)
    assigned_by = fields.ForeignKeyField("events.User", related_name="interpreter_assignments", null=True,
                                         on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "interpreter_assignment"
        unique_together = (("event", "language", "day"),)
# --- newsletter ---


class Subscription(Model):
    """An e-mail address that asked to hear about kinds of events and/or the newsletter.

    Nothing but the confirmation mail is sent until `confirmed_at` is set (double opt-in). What a
    request asked for waits in `pending` until its link is followed, so nobody can change another
    person's subscription. Unsubscribing deletes the row: no address is kept as a flag.
    """

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    language = fields.CharField(max_length=5, default="de")
    #: Kinds of events (EventKind values) whose announcements this address receives.
    kinds = fields.JSONField(default=list)
    newsletter = fields.BooleanField(default=False)
    #: The secret in the confirmation and unsubscribe links.
    token = fields.CharField(max_length=64, unique=True)
    #: {"kinds", "newsletter", "language"} asked for and not yet confirmed.
    pending = fields.JSONField(default=dict)
    confirmed_at = fields.DatetimeField(null=True, index=True)
    #: How consent was given: {"method", "source", "asked_at", "confirmed_at"}.
    consent = fields.JSONField(default=dict)
    confirmation_sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, index=True)

    class Meta:
        table = "subscription"


class Announcement(Model):
    """One subscriber was told about one event: never twice for the same event and person."""

    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="announcements", on_delete=fields.CASCADE)
    subscription = fields.ForeignKeyField("events.Subscription", related_name="announcements",
                                          on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "announcement"
        unique_together = (("event", "subscription"),)


class Newsletter(Model):
    """A newsletter written by an organiser: subject and text per language (German required)."""

    id = fields.IntField(primary_key=True)
    #: {"de": {"subject": "...", "body": "..."}, "ar": {...}}
    texts = fields.JSONField(default=dict)
    created_by = fields.ForeignKeyField("events.User", related_name="newsletters", null=True,
                                        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    recipients = fields.IntField(default=0)

    class Meta:
        table = "newsletter"


# --- mail texts ---


class MailText(Model):
    """An organiser's own wording of one kind of mail for one event in one language: the subject and the
    opening paragraph. The facts (dates, place, links, QR code) stay the built-in ones; a language
    without its own text gets the built-in text in that language."""

    id = fields.IntField(primary_key=True)
    event = fields.ForeignKeyField("events.Event", related_name="mail_texts", on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=30)
    language = fields.CharField(max_length=5)
    subject = fields.CharField(max_length=200, default="")
    body = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "mail_text"
        unique_together = (("event", "kind", "language"),)
