"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with offset"}
_PROBLEM = {"description": "Problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_TOKEN = [{"bearer": []}]


def _op(summary: str, *, secured: bool = False, body: str | None = None, ok: str = "200", ok_schema: str | None = None,
        errors: tuple[str, ...] = ("400", "404")) -> dict:
    op: dict = {"summary": summary, "responses": {ok: {"description": "OK"}}}
    if ok_schema:
        op["responses"][ok]["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok_schema}"}}}
    for status in errors + (("401", "403") if secured else ()):
        op["responses"][status] = _PROBLEM
    if secured:
        op["security"] = _TOKEN
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    return op


_EVENT_ID = [{"name": "event_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_TOKEN_PARAM = [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}]

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
                "capacity": {"type": "integer", "minimum": 0}, "waitlist": {"type": "boolean"},
                "offer_hours": {"type": "integer", "minimum": 0}, "max_companions": {"type": "integer", "minimum": 0},
                "phone_allowed": {"type": "boolean"},
                "registration_opens_at": _TIME, "registration_closes_at": _TIME,
                "audience": {"enum": ["public", "staff", "invitation", "women"]},
                "visibility": {"enum": ["public", "unlisted", "draft"]},
                "certificate_min_attendance": {"type": "integer", "minimum": 0, "maximum": 100},
                "translations": {"type": "object"}}},
            "Event": {"allOf": [{"$ref": "#/components/schemas/EventInput"}, {"type": "object", "properties": {
                "id": {"type": "integer"}, "seats_taken": {"type": "integer"}, "seats_available": {"type": "integer"},
                "waitlist_length": {"type": "integer"}, "status": {"enum": ["scheduled", "cancelled"]},
                "url": {"type": "string"}}}]},
            "RegistrationInput": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"},
                "language": {"enum": ["de", "en", "ar", "tr", "uk", "fa"]},
                "companions": {"type": "integer", "minimum": 0}, "answers": {"type": "object"}}},
            "Registration": {"type": "object", "properties": {
                "id": {"type": "integer"},
                "status": {"enum": ["pending", "confirmed", "waitlisted", "offered", "cancelled", "expired"]},
                "waitlist_position": {"type": ["integer", "null"]}, "manage_url": {"type": "string"},
                "seats": {"type": "integer"}, "companions": {"type": "integer"}, "offer_expires_at": _TIME}},
        },
    },
    "paths": {
        "/api/v1/events": {
            "get": _op("Public upcoming events"),
            "post": _op("Create an event", secured=True, body="EventInput", ok="201", ok_schema="Event", errors=("400", "413", "422")),
        },
        "/api/v1/events/{event_id}": {
            "parameters": _EVENT_ID,
            "get": _op("One event with seats taken, available and waiting", ok_schema="Event"),
            "patch": _op("Change an event", secured=True, body="EventInput", ok_schema="Event", errors=("400", "404", "422")),
        },
        "/api/v1/events/{event_id}/cancel": {
            "parameters": _EVENT_ID, "post": _op("Cancel the event and tell everyone", secured=True, ok_schema="Event")},
        "/api/v1/events/{event_id}/registrations": {
            "parameters": _EVENT_ID,
            "post": _op("Register (confirmed, or waitlisted when full)", body="RegistrationInput", ok="201",
                        ok_schema="Registration", errors=("400", "403", "404", "409", "413", "422")),
            "get": _op("All registrations with status and waiting position", secured=True),
        },
        "/api/v1/registrations/{token}/cancel": {
            "parameters": _TOKEN_PARAM, "post": _op("Cancel with the manage token", ok_schema="Registration", errors=("404", "409"))},
        "/api/v1/registrations/{token}/accept": {
            "parameters": _TOKEN_PARAM, "post": _op("Accept a seat offer", ok_schema="Registration", errors=("404", "409"))},
    },
}

# --- backoffice ---
_EXPORT_PARAMS = _EVENT_ID + [
    {"name": "layout", "in": "query", "schema": {"enum": ["attendees", "signatures", "door"], "default": "attendees"}},
    {"name": "columns", "in": "query", "description": "comma-separated: name, email, phone, language, status, "
     "companions, seats, created_at, q_<question key>; default name only for women-only events",
     "schema": {"type": "string"}},
]
for _fmt, _media in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                     ("pdf", "application/pdf")):
    _export = _op(f"Attendee, signature or door list as {_fmt.upper()}", secured=True, errors=("404", "422"))
    _export["responses"]["200"]["content"] = {_media: {}}
    OPENAPI["paths"][f"/api/v1/events/{{event_id}}/export.{_fmt}"] = {"parameters": _EXPORT_PARAMS, "get": _export}
