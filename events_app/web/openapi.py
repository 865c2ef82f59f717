"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

It is kept true by tests/test_security_fuzz.py: generated requests (schemathesis) against every
operation, each response validated against this document. Requests are described strictly (unknown
fields refused where the API refuses them), responses as they are: times that may be absent are null.
Every error is an application/problem+json answer (the `default` response), including 401, 403,
404, 409, 413, 422 and 429.
"""

from __future__ import annotations

_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with offset"}
#: A time in a response that may be absent.
_MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
_PROBLEM = {"description": "Problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_TOKEN = [{"bearer": []}]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(summary: str, *, secured: bool = False, body: str | None = None, ok: str = "200",
        ok_schema: str | dict | None = None, errors: tuple[str, ...] = ("400", "404")) -> dict:
    op: dict = {"summary": summary, "responses": {ok: {"description": "OK"}}}
    if ok_schema:
        schema = _ref(ok_schema) if isinstance(ok_schema, str) else ok_schema
        op["responses"][ok]["content"] = {"application/json": {"schema": schema}}
    for status in errors + (("401", "403") if secured else ()) + ("default",):
        op["responses"][status] = _PROBLEM
    if secured:
        op["security"] = _TOKEN
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    return op


#: Ids are at most nine digits and tokens at most 64 letters, digits, '-' or '_': anything else is a 404.
_ID_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 999_999_999}
_TOKEN_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
_EVENT_ID = [{"name": "event_id", "in": "path", "required": True, "schema": _ID_SCHEMA}]
_TOKEN_PARAM = [{"name": "token", "in": "path", "required": True, "schema": _TOKEN_SCHEMA}]
_SESSION_OUT = {"type": "object", "required": ["id", "starts_at", "ends_at", "status"], "properties": {
    "id": {"type": "integer"}, "starts_at": _TIME, "ends_at": _TIME, "status": {"enum": ["scheduled", "cancelled"]}}}

OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {"title": "events_app API", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "errors": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "Session": {"type": "object", "properties": {"id": {"type": "integer"}, "starts_at": _TIME, "ends_at": _TIME,
                                                          "status": {"enum": ["scheduled", "cancelled"]}}},
            "EventInput": {"type": "object", "additionalProperties": False, "properties": {
                "kind": {"enum": ["reception", "workshop", "festival", "course", "tour", "consultation"]},
                "title": {"type": "string"}, "description": {"type": "string"}, "location": {"type": "string"},
                "location_confidential": {"type": "boolean"},
                "starts_at": _TIME, "ends_at": _TIME,
                "sessions": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}},
                "capacity": {"type": "integer", "minimum": 0,
                             "description": "Seats. A change below seats_taken is refused (422)."},
                "waitlist": {"type": "boolean"},
                "offer_hours": {"type": "integer", "minimum": 0}, "max_companions": {"type": "integer", "minimum": 0},
                "phone_allowed": {"type": "boolean"},
                "registration_opens_at": _TIME, "registration_closes_at": _TIME,
                "audience": {"enum": ["public", "staff", "invitation", "women"]},
                "visibility": {"enum": ["public", "unlisted", "draft"]},
                "certificate_min_attendance": {"type": "integer", "minimum": 0, "maximum": 100},
                "retention_days": {"type": ["integer", "null"], "minimum": 0, "maximum": 3650,
                                   "description": "Days after the last date until the people's personal data is "
                                                  "anonymised; null or absent: EVENTS_RETENTION_DAYS. Dates in "
                                                  "the past are accepted (registration is then closed)."},
                "translations": {"type": "object"}}},
            "Event": {"type": "object", "required": [
                "id", "kind", "title", "capacity", "seats_taken", "seats_available", "status", "sessions", "url"],
                "properties": {
                "id": {"type": "integer"},
                "kind": {"enum": ["reception", "workshop", "festival", "course", "tour", "consultation"]},
                "title": {"type": "string"}, "description": {"type": "string"},
                "translations": {"type": "object", "additionalProperties": {"type": "object"}},
                "location": {"type": "string", "description": "empty when the meeting point is confidential"},
                "location_confidential": {"type": "boolean"},
                "starts_at": _MAYBE_TIME, "ends_at": _MAYBE_TIME,
                "sessions": {"type": "array", "items": _SESSION_OUT},
                "capacity": {"type": "integer"}, "seats_taken": {"type": "integer"},
                "seats_available": {"type": "integer", "minimum": 0},
                "waitlist": {"type": "boolean"}, "waitlist_length": {"type": "integer", "minimum": 0},
                "offer_hours": {"type": "integer"}, "max_companions": {"type": "integer"},
                "phone_allowed": {"type": "boolean"},
                "registration_opens_at": _MAYBE_TIME, "registration_closes_at": _MAYBE_TIME,
                "audience": {"enum": ["public", "staff", "invitation", "women"]},
                "visibility": {"enum": ["public", "unlisted", "draft"]},
                "status": {"enum": ["scheduled", "cancelled"]},
                "certificate_min_attendance": {"type": "integer"},
                "retention_days": {"type": ["integer", "null"]},
                "questions": {"type": "array", "items": {"type": "object", "required": ["key", "label", "kind"],
                                                         "properties": {
                    "key": {"type": "string"}, "label": {"type": "string"}, "kind": {"type": "string"},
                    "choices": {"type": "array", "items": {"type": "string"}}, "required": {"type": "boolean"},
                    "builtin": {"type": "boolean"}, "translations": {"type": "object"},
                    "choice_translations": {"type": "object"}}}},
                "url": {"type": "string"}}},
            "CancelInput": {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 1000}}},
            "RegistrationInput": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"},
                "language": {"enum": ["de", "en", "ar", "tr", "uk", "fa"]},
                "companions": {"type": "integer", "minimum": 0}, "answers": {"type": "object"},
                "postcode": {"type": "string", "description": "optional, five digits: only for the figures per "
                                                              "district"}}},
            "Registration": {"type": "object", "required": ["id", "status", "seats", "companions"], "properties": {
                "id": {"type": "integer"},
                "status": {"enum": ["pending", "confirmed", "waitlisted", "offered", "cancelled", "expired"]},
                "waitlist_position": {"type": ["integer", "null"]},
                "manage_url": {"type": "string", "description": "only to the person registering"},
                "seats": {"type": "integer"}, "companions": {"type": "integer"}, "offer_expires_at": _MAYBE_TIME,
                "name": {"type": "string", "description": "this and the rest only in the organisers' list"},
                "email": {"type": "string"}, "phone": {"type": "string"}, "language": {"type": "string"},
                "answers": {"type": "object"}, "created_at": _MAYBE_TIME}},
        },
    },
    "paths": {
        "/api/v1/events": {
            "get": {**_op("Public upcoming events, soonest first, a page at a time", errors=("400", "422"),
                          ok_schema={"type": "array", "items": _ref("Event")}),
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                                    "default": 100}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"},
                         "description": "From the previous answer's Link header (rel=\"next\")"}]},
            "post": _op("Create an event", secured=True, body="EventInput", ok="201", ok_schema="Event", errors=("400", "413", "422")),
        },
        "/api/v1/events/{event_id}": {
            "parameters": _EVENT_ID,
            "get": _op("One event with seats taken, available and waiting", ok_schema="Event"),
            "patch": _op("Change an event", secured=True, body="EventInput", ok_schema="Event", errors=("400", "404", "422")),
        },
        "/api/v1/events/{event_id}/cancel": {
            "parameters": _EVENT_ID, "post": _op("Cancel the event and tell everyone", secured=True, ok_schema="Event",
                                                 body="CancelInput")},
        "/api/v1/events/{event_id}/registrations": {
            "parameters": _EVENT_ID,
            "post": _op("Register (confirmed, or waitlisted when full; 409 when the address is registered "
                        "already; 429 beyond the limits per client address and per e-mail address)",
                        body="RegistrationInput", ok="201",
                        ok_schema="Registration", errors=("400", "403", "404", "409", "413", "422", "429")),
            "get": _op("All registrations with status and waiting position", secured=True,
                       ok_schema={"type": "array", "items": _ref("Registration")}),
        },
        "/api/v1/registrations/{token}/cancel": {
            "parameters": _TOKEN_PARAM, "post": _op("Cancel with the manage token", ok_schema="Registration", errors=("404", "409"))},
        "/api/v1/registrations/{token}/accept": {
            "parameters": _TOKEN_PARAM, "post": _op("Accept a seat offer", ok_schema="Registration", errors=("404", "409"))},
    },
}

# --- receptions ---
OPENAPI["components"]["schemas"].update({
    "RsvpInput": {"type": "object", "required": ["answer"], "properties": {
        "answer": {"enum": ["accept", "decline"]}, "companions": {"type": "integer", "minimum": 0},
        "language": {"enum": ["de", "en", "ar", "tr", "uk", "fa"]},
        "needs": {"type": "object", "properties": {"language_assistance": {"type": "string"},
                                                     "accessibility": {"type": "string"}}}}},
    "Invitation": {"type": "object", "required": ["id", "event_id", "state"], "properties": {
        "id": {"type": "integer"}, "event_id": {"type": "integer"},
        "state": {"enum": ["pending", "accepted", "declined"]}, "companions": {"type": "integer"},
        "max_companions": {"type": "integer"}, "language": {"type": "string"},
        "registration_status": {"type": ["string", "null"]}, "answered_at": _MAYBE_TIME,
        "offer_expires_at": {**_MAYBE_TIME, "description": "a seat is offered after waiting: accept it on the RSVP page"},
        "code": {"type": "string", "description": "this and the rest only in the organisers' list"},
        "file_number": {"type": ["string", "null"]}, "salutation": {"type": ["string", "null"]},
        "first_name": {"type": "string"}, "last_name": {"type": "string"},
        "birth_date": {"type": ["string", "null"], "format": "date"},
        "street": {"type": "string"}, "postcode": {"type": "string"}, "city": {"type": "string"},
        "email": {"type": "string"}, "phone": {"type": "string"}, "needs": {"type": "object"},
        "rsvp_url": {"type": "string"}, "mailed_at": _MAYBE_TIME, "reminded_at": _MAYBE_TIME}},
})
OPENAPI["paths"].update({
    "/api/v1/events/{event_id}/invitations": {
        "parameters": _EVENT_ID,
        "get": _op("Invitations with code, state and companions", secured=True,
                   ok_schema={"type": "array", "items": _ref("Invitation")})},
    "/api/v1/events/{event_id}/letters.pdf": {
        "parameters": _EVENT_ID,
        "get": _op("Invitation letters as one PDF (those without e-mail; ?all=1 for everyone)", secured=True)},
    "/api/v1/invitations/{code}/rsvp": {
        "parameters": [{"name": "code", "in": "path", "required": True, "schema": _TOKEN_SCHEMA}],
        "post": _op("Answer an invitation; the code is the credential", body="RsvpInput", ok_schema="Invitation",
                    errors=("400", "404", "409", "422", "429"))},
})

# --- courses: attendance, certificates, training record ---
_SERIAL = [{"name": "serial", "in": "path", "required": True, "schema": _TOKEN_SCHEMA}]
_CERTIFICATE = {"type": "object", "required": ["serial", "issued_at", "verify_url"], "properties": {
    "serial": {"type": "string"}, "issued_at": _TIME, "verify_url": {"type": "string"}}}
OPENAPI["components"]["schemas"]["RegistrationInput"]["properties"]["women_only"] = {
    "type": "boolean", "description": "Required true for events with audience 'women': the person confirms."}
OPENAPI["components"]["schemas"].update({
    "AttendanceInput": {"type": "object", "required": ["session", "present"], "properties": {
        "session": {"type": "integer", "description": "id of one of the event's dates"},
        "present": {"type": "boolean"}}},
    "IssueInput": {"type": "object", "properties": {
        "registration": {"type": "integer", "description": "one person; omit to issue to everyone eligible"},
        "send_mail": {"type": "boolean"}}},
    "RevokeInput": {"type": "object", "required": ["reason"], "properties": {"reason": {
        "type": "string", "description": "required; kept for the organisers, never shown on the public page"}}},
    "CertificateTemplateInput": {"type": "object", "additionalProperties": False, "properties": {
        "title": {"type": "string"},
        "body": {"type": "string", "description": "placeholders {name} {event} {dates} {hours}"},
        "content_summary": {"type": "string"}, "signer_name": {"type": "string"}, "signer_role": {"type": "string"},
        "logo": {"type": "string", "description": "data:image/png|jpeg;base64,... (PNG or JPEG, at most 300 KB and 4000 pixels a side)"},
        "signature": {"type": "string", "description": "data:image/png|jpeg;base64,... (PNG or JPEG, at most 300 KB and 4000 pixels a side)"}}},
})
_REGISTRATION_ID = [{"name": "registration_id", "in": "path", "required": True, "schema": _ID_SCHEMA}]
OPENAPI["paths"].update({
    "/api/v1/registrations/{registration_id}/attendance": {
        "parameters": _REGISTRATION_ID,
        "post": _op("Record presence on one date (organisers, or door staff at their assigned events; idempotent)",
                    secured=True, body="AttendanceInput", errors=("400", "404", "409", "422"), ok_schema={
                        "type": "object", "required": ["registration", "session", "present"], "properties": {
                            "registration": {"type": "integer"}, "session": {"type": "integer"},
                            "present": {"type": "boolean"}, "recorded_at": _TIME, "recorded_by": {"type": "integer"}}})},
    "/api/v1/events/{event_id}/certificates": {
        "parameters": _EVENT_ID,
        "get": _op("Who is eligible for a certificate, and who has one", secured=True, ok_schema={
            "type": "array", "items": {"type": "object", "properties": {
                "registration": {"type": "integer"}, "name": {"type": "string"}, "attended": {"type": "integer"},
                "dates": {"type": "integer"}, "eligible": {"type": "boolean"},
                "certificate": {"oneOf": [_CERTIFICATE, {"type": "null"}]}}}}),
        "post": _op("Issue certificates (one person or all eligible), optionally by mail", secured=True,
                    body="IssueInput", ok="201", errors=("400", "404", "409", "422"),
                    ok_schema={"type": "array", "items": _CERTIFICATE})},
    "/api/v1/events/{event_id}/certificates.pdf": {
        "parameters": _EVENT_ID,
        "get": _op("All eligible people's certificates as one PDF, one page each (issues missing ones, "
                   "without mail, audited as certificates.issued)", secured=True)},
    "/api/v1/events/{event_id}/certificates.zip": {
        "parameters": _EVENT_ID,
        "get": _op("All eligible people's certificates as a ZIP of single PDFs named by serial (issues "
                   "missing ones like the PDF)", secured=True)},
    "/api/v1/events/{event_id}/certificate-template": {
        "parameters": _EVENT_ID,
        "put": _op("The organiser's certificate texts and images", secured=True, body="CertificateTemplateInput",
                   errors=("400", "404", "422"), ok_schema={"type": "object", "additionalProperties": {"type": "string"}})},
    "/api/v1/certificates/{serial}/revoke": {
        "parameters": _SERIAL, "post": _op("Revoke a certificate, giving a reason", secured=True, body="RevokeInput",
                                           errors=("400", "404", "422"), ok_schema={
                                               "type": "object", "properties": {
                                                   "serial": {"type": "string"}, "revoked_at": _TIME,
                                                   "revoked_reason": {"type": "string"}}})},
    "/api/v1/training-record.csv": {
        "get": _op("HR training record of staff workshops for ?year= as CSV (semicolon, UTF-8 BOM)", secured=True,
                   errors=("422",))},
    "/api/v1/training-record.xlsx": {
        "get": _op("HR training record of staff workshops for ?year= as XLSX", secured=True, errors=("422",))},
})

# --- backoffice ---
_EXPORT_PARAMS = _EVENT_ID + [
    {"name": "layout", "in": "query", "schema": {"enum": ["attendees", "signatures", "door"], "default": "attendees"}},
    {"name": "include", "in": "query", "description": "who is on the attendee list: confirmed people only (default), "
     "also offers and the waiting list, or everyone; a list with more than the confirmed has a status column",
     "schema": {"enum": ["confirmed", "waiting", "all"], "default": "confirmed"}},
    {"name": "columns", "in": "query", "description": "comma-separated: name, email, phone, language, status, "
     "companions, seats, created_at, q_<question key>; default name only for women-only events",
     "schema": {"type": "string"}},
]
for _fmt, _media in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                     ("pdf", "application/pdf")):
    _export = _op(f"Attendee, signature or door list as {_fmt.upper()}", secured=True, errors=("404", "422"))
    _export["responses"]["200"]["content"] = {_media: {}}
    OPENAPI["paths"][f"/api/v1/events/{{event_id}}/export.{_fmt}"] = {"parameters": _EXPORT_PARAMS, "get": _export}

# --- privacy: people's rights ---
_SUBJECT_PARAMS = [{"name": "email", "in": "query", "schema": {"type": "string"}},
                   {"name": "phone", "in": "query", "schema": {"type": "string"}}]
OPENAPI["components"]["schemas"]["EraseInput"] = {
    "type": "object", "description": "exactly one of email or phone",
    "properties": {"email": {"type": "string"}, "phone": {"type": "string"}}}
OPENAPI["paths"].update({
    "/api/v1/personal-data": {
        "get": _op("Everything stored about a person (?email= or ?phone=): registrations, invitations, answers, "
                   "attendance, certificates, mails. Admin token; audited by a hash of the address.", secured=True,
                   errors=("403", "422"))},
    "/api/v1/personal-data/erase": {
        "post": _op("Erase a person: seats at events to come are given back first (the waiting list moves on), "
                    "then everything is anonymised as the retention job does. Admin token.", secured=True,
                    body="EraseInput", errors=("400", "403", "422"))},
})

# --- statistics ---
_STATISTICS_PARAMS = [
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "by", "in": "query", "schema": {"enum": ["quarter", "year"], "default": "quarter"}},
]
OPENAPI["paths"]["/api/v1/statistics"] = {"parameters": _STATISTICS_PARAMS, "get": _op(
    "Figures per period and kind: events, dates, registrations, confirmed_people, attended_people, "
    "attendance_rate, waited_unserved, languages, returning_people, new_people, districts (people registered "
    "and invited per district; groups of 1-4 as people null, fewer_than 5, or invited null, "
    "invited_fewer_than 5). Organiser or admin token.", secured=True, errors=("422",))}
for _fmt, _media in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                     ("pdf", "application/pdf")):
    _statistics = _op(f"The same figures as {_fmt.upper()}", secured=True, errors=("422",))
    _statistics["responses"]["200"]["content"] = {_media: {}}
    OPENAPI["paths"][f"/api/v1/statistics.{_fmt}"] = {"parameters": _STATISTICS_PARAMS, "get": _statistics}
# --- consultation hours, festival partners, interpreter pool ---
_LANGS = {"enum": ["de", "en", "ar", "tr", "uk", "fa"]}
OPENAPI["components"]["schemas"].update({
    "SlotPattern": {"type": "object", "required": ["weekday", "start", "end", "minutes", "first", "last"], "properties": {
        "weekday": {"type": "integer", "minimum": 1, "maximum": 7, "description": "1 = Monday ... 7 = Sunday"},
        "start": {"type": "string", "example": "10:00", "description": "local time (Europe/Berlin)"},
        "end": {"type": "string", "example": "12:00"}, "minutes": {"type": "integer", "minimum": 5, "maximum": 480},
        "first": {"type": "string", "format": "date"}, "last": {"type": "string", "format": "date"},
        "skip": {"type": "array", "items": {"type": "string", "format": "date"}}}},
    "Slot": {"type": "object", "properties": {"id": {"type": "integer"}, "starts_at": _TIME, "ends_at": _TIME,
                                             "free": {"type": "boolean"}}},
    "BookingInput": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string",
                                                                         "description": "e-mail or phone"},
        "language": _LANGS, "interpreter_needed": {"type": "boolean"},
        "interpreter_language": {"type": "string", "description": "a code (ar, fa, prs, ps, tr, ku, uk, ru, ti, so, "
                                 "sq, ro, bg, pl, en, fr) or the language's name"}}},
    "Booking": {"type": "object", "properties": {"id": {"type": "integer"}, "manage_url": {"type": "string"}}},
    "SlotTaken": {"allOf": [{"$ref": "#/components/schemas/Problem"}, {"type": "object", "properties": {
        "next_free_slots": {"type": "array", "items": {"$ref": "#/components/schemas/Slot"}}}}]},
    "PartnerInput": {"type": "object", "required": ["organisation", "contact_name", "email"], "properties": {
        "organisation": {"type": "string"}, "contact_name": {"type": "string"}, "email": {"type": "string"},
        "phone": {"type": "string"}, "language": _LANGS, "presents": {"type": "string"},
        "languages": {"type": "array", "items": {"type": "string"}},
        "needs": {"type": "object", "properties": {"table": {"type": "boolean"}, "power": {"type": "boolean"},
                                                    "tent": {"type": "boolean"}, "food_permit": {"type": "boolean"},
                                                    "other": {"type": "string"}}},
        "answers": {"type": "object", "description": "the event's custom questions by key"}}},
    "Partner": {"type": "object", "properties": {
        "id": {"type": "integer"}, "status": {"enum": ["pending", "accepted", "waiting", "declined", "withdrawn"]},
        "manage_url": {"type": "string", "description": "only in the answer to the applicant"},
        "stand_number": {"type": "string"}, "waiting_position": {"type": ["integer", "null"]}}},
    "DecisionInput": {"type": "object", "required": ["decision"], "properties": {
        "decision": {"enum": ["accept", "decline", "pending"]},
        "reason": {"type": "string", "description": "required to decline; the partner reads it"}}},
    "LanguageNeed": {"type": "object", "properties": {
        "language": {"type": "string"}, "day": {"type": ["string", "null"], "description": "consultation day"},
        "people": {"type": "integer"}, "interpreter": {"type": ["object", "null"]}}},
})
_SLOT_ID = [{"name": "slot_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_PARTNER_ID = [{"name": "partner_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
OPENAPI["paths"].update({
    "/api/v1/events/{event_id}/slots": {
        "parameters": _EVENT_ID,
        "get": _op("The coming slots of a consultation hour, each free or not (no names)"),
        "post": _op("Make slots from a weekly pattern in local time; answers the slots created", secured=True,
                    body="SlotPattern", ok="201", errors=("400", "404", "409", "422"))},
    "/api/v1/slots/{slot_id}/bookings": {
        "parameters": _SLOT_ID,
        "post": _op("Book a slot; 409 slot-taken lists next_free_slots, 409 one-slot-per-day", body="BookingInput",
                    ok="201", ok_schema="Booking", errors=("400", "404", "409", "422"))},
    "/api/v1/events/{event_id}/partners": {
        "parameters": _EVENT_ID,
        "post": _op("Apply for a festival stand (status pending, mail 'received')", body="PartnerInput", ok="201",
                    ok_schema="Partner", errors=("400", "404", "409", "422")),
        "get": _op("All applications with status, contact, needs and stand number", secured=True)},
    "/api/v1/partners/{partner_id}/decision": {
        "parameters": _PARTNER_ID,
        "post": _op("Accept (a stand, or waiting in order), decline with a reason, or back to pending; mails the "
                    "partner", secured=True, body="DecisionInput", ok_schema="Partner",
                    errors=("400", "404", "409", "422"))},
    "/api/v1/events/{event_id}/partners.xlsx": {
        "parameters": _EVENT_ID, "get": _op("Partner list for the site plan (accepted, then waiting)", secured=True)},
    "/api/v1/events/{event_id}/partners.pdf": {
        "parameters": _EVENT_ID, "get": _op("Partner list for the site plan as PDF", secured=True)},
    "/api/v1/events/{event_id}/language-needs": {
        "parameters": _EVENT_ID,
        "get": _op("Languages people asked assistance for, how many, and the interpreter assigned", secured=True)},
})
# --- newsletter ---
OPENAPI["components"]["schemas"].update({
    "SubscriptionInput": {"type": "object", "required": ["email"], "properties": {
        "email": {"type": "string", "format": "email"},
        "kinds": {"type": "array", "items": {"enum": ["course", "workshop", "tour", "consultation", "festival"]},
                  "description": "kinds of events to hear about when their registration opens; workshop only with "
                                 "a staff address"},
        "newsletter": {"type": "boolean", "default": False},
        "language": {"enum": ["de", "en", "ar", "tr", "uk", "fa"], "default": "de"}}},
    "SubscriptionAccepted": {"type": "object", "required": ["status", "detail"], "properties": {
        "status": {"const": "accepted"}, "detail": {"type": "string"}}},
})
OPENAPI["paths"]["/api/v1/subscriptions"] = {
    "post": _op("Ask to hear about kinds of events and/or the newsletter. Always 202, known address or not: a "
                "confirmation mail (at most one an hour) carries the link that confirms (double opt-in).",
                body="SubscriptionInput", ok="202", ok_schema="SubscriptionAccepted", errors=("400", "413", "422"))}
