"""Every URL in one list."""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from events_app.config import STATIC_DIR
from events_app.web import api, feeds, pages

routes = [
    Route("/", pages.home),
    Route("/health", pages.health),
    Route("/events/{event_id:int}", pages.event_page),
    Route("/events/{event_id:int}/register", pages.register_form, methods=["POST"]),
    Route("/r/{token}", pages.manage_page),
    Route("/r/{token}/cancel", pages.manage_cancel, methods=["POST"]),
    Route("/r/{token}/accept", pages.manage_accept, methods=["POST"]),
    # --- i18n: accessibility statement and privacy notice ---
    Route("/accessibility", pages.accessibility_statement),
    Route("/privacy", pages.privacy_notice),
    Route("/api/v1/openapi.json", api.openapi),
    Route("/api/v1/events", api.list_events, methods=["GET"]),
    Route("/api/v1/events", api.create_event, methods=["POST"]),
    Route("/api/v1/events/{event_id:int}", api.get_event, methods=["GET"]),
    Route("/api/v1/events/{event_id:int}", api.patch_event, methods=["PATCH"]),
    Route("/api/v1/events/{event_id:int}/cancel", api.cancel_event, methods=["POST"]),
    Route("/api/v1/events/{event_id:int}/registrations", api.create_registration, methods=["POST"]),
    Route("/api/v1/events/{event_id:int}/registrations", api.list_registrations, methods=["GET"]),
    Route("/api/v1/registrations/{token}/cancel", api.cancel_registration, methods=["POST"]),
    Route("/api/v1/registrations/{token}/accept", api.accept_offer, methods=["POST"]),
    # --- calendar ---
    Route("/events/{event_id:int}.ics", feeds.event_calendar),
    Route("/calendar.ics", feeds.public_calendar),
    Route("/calendar/{kind}.ics", feeds.kind_calendar),
    Route("/r/{token}/calendar.ics", feeds.registration_calendar),
    Route("/feeds/{token}.ics", feeds.staff_calendar),
    # --- end calendar ---
    Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
]
