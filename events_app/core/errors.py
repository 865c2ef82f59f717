"""Domain errors, named after the condition. The web layer maps each to a page or a JSON problem.

Titles and details are gettext message ids (marked with N_), translated when rendered, so the
domain never needs to know the user's language.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message


class DomainError(Exception):
    status = 400
    title = N_("The request could not be processed.")
    slug = "bad-request"

    def __init__(self, detail: str | None = None, *, fields: dict[str, str] | None = None, **params):
        self.detail = detail
        self.fields = fields or {}
        self.params = params
        super().__init__(detail or self.title)


class ValidationFailed(DomainError):
    status = 422
    title = N_("Please check your input.")
    slug = "validation"


class CapacityBelowSeatsTaken(ValidationFailed):
    """Lowering the capacity below the seats already given would overbook the event."""

    title = N_("The capacity cannot be lower than the seats already taken.")
    slug = "capacity-below-seats-taken"


class MalformedRequest(DomainError):
    status = 400
    title = N_("The request body is not valid JSON.")
    slug = "malformed"


class PayloadTooLarge(DomainError):
    status = 413
    title = N_("The request is too large.")
    slug = "too-large"


class NotFound(DomainError):
    status = 404
    title = N_("This page does not exist.")
    slug = "not-found"


class EventNotFound(NotFound):
    title = N_("This event does not exist or is not open to the public.")
    slug = "event-not-found"


class RegistrationNotFound(NotFound):
    title = N_("This registration link is not valid.")
    slug = "registration-not-found"


class RegistrationClosed(DomainError):
    status = 409
    title = N_("Registration for this event is closed.")
    slug = "registration-closed"


class RegistrationNotOpenYet(RegistrationClosed):
    title = N_("Registration for this event has not opened yet.")
    slug = "registration-not-open"


class EventCancelled(DomainError):
    status = 409
    title = N_("This event has been cancelled.")
    slug = "event-cancelled"


class EventFull(DomainError):
    status = 409
    title = N_("This event is fully booked and has no waiting list.")
    slug = "event-full"


class InvitationRequired(DomainError):
    status = 403
    title = N_("This event is by invitation only. Please use the code from your invitation.")
    slug = "invitation-required"


class OfferNotOpen(DomainError):
    status = 409
    title = N_("There is no open seat offer for this registration.")
    slug = "offer-not-open"


class OfferExpired(OfferNotOpen):
    title = N_("Your seat offer has expired. The seat went to the next person on the waiting list.")
    slug = "offer-expired"


class AlreadyRegistered(DomainError):
    status = 409
    title = N_("This e-mail address is already registered for this event. The mail we sent you has the link "
               "to see or change the registration.")
    slug = "already-registered"


class AlreadyCancelled(DomainError):
    status = 409
    title = N_("This registration is already cancelled.")
    slug = "already-cancelled"


class AuthenticationRequired(DomainError):
    status = 401
    title = N_("Please sign in or send a valid API token.")
    slug = "authentication-required"


class PermissionDenied(DomainError):
    status = 403
    title = N_("You are not allowed to do this.")
    slug = "permission-denied"


class TooManyAttempts(DomainError):
    status = 429
    title = N_("Too many attempts. Please wait a few minutes and try again.")
    slug = "too-many-attempts"


class FeedNotFound(NotFound):
    title = N_("This calendar address is not valid (any more).")
    slug = "feed-not-found"


# --- receptions ---


class UnreadableFile(DomainError):
    status = 422
    title = N_("This file could not be read. Please upload a CSV or Excel (.xlsx) file with a header row.")
    slug = "unreadable-file"


class ListTooLarge(UnreadableFile):
    title = N_("This list is too large: at most %(rows)d rows, %(columns)d columns and %(cell)d characters "
               "per cell. Please split it into several files.")
    slug = "list-too-large"


class InvitationNotFound(NotFound):
    title = N_("We could not find an invitation with this code. Please check the code in your letter.")
    slug = "invitation-not-found"


class MoreSeatsUnavailable(DomainError):
    status = 409
    title = N_("There are not enough free seats for more companions. Your registration stays as it was.")
    slug = "more-seats-unavailable"
# --- courses ---


class VerificationLinkInvalid(DomainError):
    status = 400
    title = N_("This confirmation link is not valid or has expired. Please register again.")
    slug = "verification-link-invalid"


class SessionNotFound(NotFound):
    title = N_("This date does not belong to the event.")
    slug = "session-not-found"


class SessionCancelled(DomainError):
    status = 409
    title = N_("This date was cancelled; attendance cannot be recorded for it.")
    slug = "session-cancelled"


class NotAParticipant(DomainError):
    status = 409
    title = N_("Only confirmed participants can be marked as present.")
    slug = "not-a-participant"


class CertificateNotFound(NotFound):
    title = N_("There is no certificate for this registration.")
    slug = "certificate-not-found"


class NotEligibleForCertificate(DomainError):
    status = 409
    title = N_("This person did not attend enough dates for a certificate.")
    slug = "not-eligible"
# --- backoffice ---


class LoginFailed(DomainError):
    status = 401
    title = N_("The e-mail address or the password is wrong.")
    slug = "login-failed"


class CsrfFailed(DomainError):
    status = 403
    title = N_("This form has expired. Please go back, reload the page and try again.")
    slug = "csrf-failed"


class NotEnoughSeats(DomainError):
    status = 409
    title = N_("There are not enough free seats for this registration.")
    slug = "not-enough-seats"


class RegistrationStateConflict(DomainError):
    status = 409
    title = N_("This action does not fit the registration's current status.")
    slug = "registration-state"


class EventNotDeletable(DomainError):
    status = 409
    title = N_("Only drafts without registrations can be deleted. Cancel the event instead.")
    slug = "event-not-deletable"


class NotCheckedIn(DomainError):
    status = 409
    title = N_("This person is not registered with a confirmed seat for this event.")
    slug = "not-checkable"


class MailNotFound(NotFound):
    title = N_("This mail does not exist (any more).")
    slug = "mail-not-found"


class MailNotFailed(DomainError):
    status = 409
    title = N_("Only a mail that could not be delivered can be sent again.")
    slug = "mail-not-failed"


class NoEmailAddress(DomainError):
    status = 409
    title = N_("This person has no e-mail address. Please phone or write to them.")
    slug = "no-email-address"


class NoDateLeft(DomainError):
    status = 409
    title = N_("This event has no date left that is not cancelled.")
    slug = "no-date-left"


class InvalidCursor(DomainError):
    """A `cursor` that we did not hand out (or that was cut short)."""

    status = 400
    title = N_("This page link is not valid. Please start again from the first page.")
    slug = "invalid-cursor"


class SeatsBusy(DomainError):
    """The event's lock stayed taken longer than EVENTS_LOCK_TIMEOUT_MS: a rush or a stuck change.
    Nothing was changed; the client may simply send the same request again."""

    status = 503
    title = N_("Many people are registering right now. Please try again in a moment.")
    slug = "seats-busy"
    #: Seconds after which trying again makes sense (sent as the Retry-After header).
    retry_after = 5
class PlaceholderEmpty(ValidationFailed):
    """A document would go out with a gap ("Bitte antworten Sie bis ,"): nothing is produced."""

    title = N_("Nothing was produced: %(placeholders)s has no value. Fill it in or change the text.")
    slug = "placeholder-empty"


class AnswerDeadlineMissing(ValidationFailed):
    """Reception letters tell the invitee until when to answer, so they need the deadline first."""

    title = N_("Please set the answer deadline of this reception before making letters.")
    slug = "answer-deadline-missing"


class DateNotBegun(ValidationFailed):
    """Attendance is a fact about the past: a date that has not begun cannot have been attended."""

    title = N_("This date has not begun yet; attendance can be recorded from its start.")
    slug = "date-not-begun"


class CourseNotOver(DomainError):
    """A certificate says someone took part: it waits until the last counted date has begun."""

    status = 409
    title = N_("Certificates can be issued after the last date of the event.")
    slug = "course-not-over"


class UndoNotPossible(DomainError):
    """The seat given back has gone to someone else (or the registration cannot come back)."""

    status = 409
    title = N_("Your place can no longer be restored: the seat has been given to someone else.")
    slug = "undo-not-possible"
# --- consultations ---


class NotConsultation(DomainError):
    status = 409
    title = N_("Slots can only be made for consultation hours.")
    slug = "not-consultation"


class SlotNotFound(NotFound):
    title = N_("This slot does not exist.")
    slug = "slot-not-found"


class SlotTaken(DomainError):
    """`next_free` lists the next free slots, so the person can choose another at once."""

    status = 409
    title = N_("This slot has just been booked by someone else.")
    slug = "slot-taken"

    def __init__(self, *, next_free: list[dict], next_text: str):
        detail = (N_("Next free slots: %(slots)s") if next_text
                  else N_("There is no free slot left. Please call the office."))
        super().__init__(detail, slots=next_text)
        self.extra = {"next_free_slots": next_free}


class SlotPast(DomainError):
    status = 409
    title = N_("This slot is in the past.")
    slug = "slot-past"


class OneSlotPerDay(DomainError):
    status = 409
    title = N_("You already have a slot on this day. One slot per person and day.")
    slug = "one-slot-per-day"


class BookingNotFound(NotFound):
    title = N_("This booking link is not valid.")
    slug = "booking-not-found"


class BookingCancelled(DomainError):
    status = 409
    title = N_("This booking is already cancelled.")
    slug = "booking-cancelled"


# --- festival ---


class NotFestival(DomainError):
    status = 409
    title = N_("Partner stands exist only for festivals.")
    slug = "not-festival"


class PartnerNotFound(NotFound):
    title = N_("This application does not exist or the link is not valid.")
    slug = "partner-not-found"


class PartnerStateConflict(DomainError):
    status = 409
    title = N_("This does not fit the application's current status.")
    slug = "partner-state"


# --- interpreters ---


class InterpreterNotFound(NotFound):
    title = N_("This interpreter is not in the pool.")
    slug = "interpreter-not-found"
class SubscriptionNotFound(NotFound):
    title = N_("This link is not valid (any more). Nothing was changed.")
    slug = "subscription-not-found"


class SubscriptionNotPossible(DomainError):
    status = 409
    title = N_("This registration cannot be turned into a subscription.")
    slug = "subscription-not-possible"


class NewsletterAlreadySent(DomainError):
    status = 409
    title = N_("This newsletter has already been sent.")
    slug = "newsletter-already-sent"
