"""Every URL in one list."""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from events_app.config import STATIC_DIR
from events_app.web import api, courses, feeds, invitations_admin, pages, rsvp

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
    # --- receptions ---
    Route("/rsvp", rsvp.code_form, methods=["GET"]),
    Route("/rsvp", rsvp.code_submit, methods=["POST"]),
    Route("/rsvp/{token}", rsvp.invitation_page, methods=["GET"]),
    Route("/rsvp/{token}", rsvp.invitation_answer, methods=["POST"]),
    Route("/admin/events/{event_id:int}/invitations", invitations_admin.overview),
    Route("/admin/events/{event_id:int}/invitations/preview", invitations_admin.preview_upload, methods=["POST"]),
    Route("/admin/events/{event_id:int}/invitations/import", invitations_admin.import_upload, methods=["POST"]),
    Route("/admin/events/{event_id:int}/invitations/letter", invitations_admin.save_letter, methods=["POST"]),
    Route("/admin/events/{event_id:int}/invitations/send", invitations_admin.send_mails, methods=["POST"]),
    Route("/admin/events/{event_id:int}/invitations/remind", invitations_admin.send_reminders, methods=["POST"]),
    Route("/admin/events/{event_id:int}/invitations/letters.pdf", invitations_admin.letters_pdf),
    Route("/admin/events/{event_id:int}/invitations/letters", invitations_admin.start_letters, methods=["POST"]),
    Route("/admin/events/{event_id:int}/invitations/letters/{job_id}.pdf", invitations_admin.letters_job_pdf),
    Route("/admin/events/{event_id:int}/invitations/letters/{job_id}", invitations_admin.letters_progress),
    Route("/admin/events/{event_id:int}/invitations/door-list.pdf", invitations_admin.door_list_pdf),
    Route("/api/v1/events/{event_id:int}/invitations", invitations_admin.api_list, methods=["GET"]),
    Route("/api/v1/events/{event_id:int}/letters.pdf", invitations_admin.api_letters_pdf, methods=["GET"]),
    Route("/api/v1/invitations/{code}/rsvp", rsvp.api_rsvp, methods=["POST"]),
    # --- end receptions ---
    # --- courses: staff sign-up verification, attendance, certificates, training record ---
    Route("/r/{token}/verify", courses.verify_page, methods=["GET"]),
    Route("/r/{token}/verify", courses.verify_submit, methods=["POST"]),
    Route("/r/{token}/certificate.pdf", courses.my_certificate, methods=["GET"]),
    Route("/certificates/{serial}", courses.verification_page, methods=["GET"]),
    Route("/api/v1/registrations/{registration_id:int}/attendance", courses.record_attendance, methods=["POST"]),
    Route("/api/v1/events/{event_id:int}/certificates", courses.certificate_list, methods=["GET"]),
    Route("/api/v1/events/{event_id:int}/certificates", courses.issue_certificates, methods=["POST"]),
    Route("/api/v1/events/{event_id:int}/certificates.pdf", courses.event_certificates_pdf, methods=["GET"]),
    Route("/api/v1/events/{event_id:int}/certificates.zip", courses.event_certificates_zip, methods=["GET"]),
    Route("/api/v1/events/{event_id:int}/certificate-template", courses.certificate_template, methods=["PUT"]),
    Route("/api/v1/certificates/{serial}/revoke", courses.revoke_certificate, methods=["POST"]),
    Route("/api/v1/training-record.{format:str}", courses.training_record, methods=["GET"]),
    Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
]
