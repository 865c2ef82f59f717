"""Every URL in one list."""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from events_app.core.settings import STATIC_DIR
from events_app.web import (
    admin_account, admin_attendance, admin_certificates, admin_checkin, admin_events, admin_exports, admin_mail,
    admin_registrations, admin_signin, admin_training, admin_users, api, courses, feeds, invitations_admin, pages,
    rsvp,
)

class IdConvertor(IntegerConvertor):
    """A database id: at most nine digits, so an absurd number is a plain 404, not an overflow."""

    regex = "[0-9]{1,9}"


register_url_convertor("id", IdConvertor())

routes = [
    Route("/", pages.home),
    Route("/health", pages.health),
    Route("/events/{event_id:id}", pages.event_page),
    Route("/events/{event_id:id}/register", pages.register_form, methods=["POST"]),
    Route("/r/{token}", pages.manage_page),
    Route("/r/{token}/cancel", pages.manage_cancel, methods=["POST"]),
    Route("/r/{token}/accept", pages.manage_accept, methods=["POST"]),
    # --- i18n: accessibility statement and privacy notice ---
    Route("/accessibility", pages.accessibility_statement),
    Route("/privacy", pages.privacy_notice),
    Route("/api/v1/openapi.json", api.openapi),
    Route("/api/v1/events", api.list_events, methods=["GET"]),
    Route("/api/v1/events", api.create_event, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}", api.get_event, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}", api.patch_event, methods=["PATCH"]),
    Route("/api/v1/events/{event_id:id}/cancel", api.cancel_event, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/registrations", api.create_registration, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/registrations", api.list_registrations, methods=["GET"]),
    Route("/api/v1/registrations/{token}/cancel", api.cancel_registration, methods=["POST"]),
    Route("/api/v1/registrations/{token}/accept", api.accept_offer, methods=["POST"]),
    # --- calendar ---
    Route("/events/{event_id:id}.ics", feeds.event_calendar),
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
    Route("/rsvp/{token}/accept-seat", rsvp.accept_seat, methods=["POST"]),
    Route("/admin/events/{event_id:id}/invitations", invitations_admin.overview),
    Route("/admin/events/{event_id:id}/invitations/preview", invitations_admin.preview_upload, methods=["POST"]),
    Route("/admin/events/{event_id:id}/invitations/import", invitations_admin.import_upload, methods=["POST"]),
    Route("/admin/events/{event_id:id}/invitations/letter", invitations_admin.save_letter, methods=["POST"]),
    Route("/admin/events/{event_id:id}/invitations/send", invitations_admin.send_mails, methods=["POST"]),
    Route("/admin/events/{event_id:id}/invitations/remind", invitations_admin.send_reminders, methods=["POST"]),
    Route("/admin/events/{event_id:id}/invitations/{invitation_id:id}/told", invitations_admin.mark_told,
          methods=["POST"]),
    Route("/admin/events/{event_id:id}/invitations/letters.pdf", invitations_admin.letters_pdf),
    Route("/admin/events/{event_id:id}/invitations/letters", invitations_admin.start_letters, methods=["POST"]),
    Route("/admin/events/{event_id:id}/invitations/letters/{job_id}.pdf", invitations_admin.letters_job_pdf),
    Route("/admin/events/{event_id:id}/invitations/letters/{job_id}", invitations_admin.letters_progress),
    Route("/admin/events/{event_id:id}/invitations/door-list.pdf", invitations_admin.door_list_pdf),
    Route("/api/v1/events/{event_id:id}/invitations", invitations_admin.api_list, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/letters.pdf", invitations_admin.api_letters_pdf, methods=["GET"]),
    Route("/api/v1/invitations/{code}/rsvp", rsvp.api_rsvp, methods=["POST"]),
    # --- end receptions ---
    # --- courses: staff sign-up verification, attendance, certificates, training record ---
    Route("/r/{token}/verify", courses.verify_page, methods=["GET"]),
    Route("/r/{token}/verify", courses.verify_submit, methods=["POST"]),
    Route("/r/{token}/certificate.pdf", courses.my_certificate, methods=["GET"]),
    Route("/certificates/{serial}", courses.verification_page, methods=["GET"]),
    Route("/api/v1/registrations/{registration_id:id}/attendance", courses.record_attendance, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/certificates", courses.certificate_list, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/certificates", courses.issue_certificates, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/certificates.pdf", courses.event_certificates_pdf, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/certificates.zip", courses.event_certificates_zip, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/certificate-template", courses.certificate_template, methods=["PUT"]),
    Route("/api/v1/certificates/{serial}/revoke", courses.revoke_certificate, methods=["POST"]),
    Route("/api/v1/training-record.{format:str}", courses.training_record, methods=["GET"]),
    # --- backoffice ---
    Route("/api/v1/events/{event_id:id}/export.{fmt}", api.export_event, methods=["GET"]),
    Route("/admin/login", admin_signin.login_page, methods=["GET"]),
    Route("/admin/login", admin_signin.login_submit, methods=["POST"]),
    Route("/admin/logout", admin_signin.logout, methods=["POST"]),
    Route("/admin/account", admin_account.account_page, methods=["GET"]),
    Route("/admin/account/password", admin_account.change_password, methods=["POST"]),
    Route("/admin", admin_events.dashboard, methods=["GET"]),
    Route("/admin/events", admin_events.event_list, methods=["GET"]),
    Route("/admin/events/new", admin_events.event_new, methods=["GET"]),
    Route("/admin/events/new", admin_events.event_create, methods=["POST"]),
    Route("/admin/events/{event_id:id}", admin_registrations.event_detail, methods=["GET"]),
    Route("/admin/events/{event_id:id}/edit", admin_events.event_edit, methods=["GET"]),
    Route("/admin/events/{event_id:id}/edit", admin_events.event_update, methods=["POST"]),
    Route("/admin/events/{event_id:id}/duplicate", admin_events.event_duplicate, methods=["POST"]),
    Route("/admin/events/{event_id:id}/cancel", admin_events.event_cancel, methods=["POST"]),
    Route("/admin/events/{event_id:id}/delete", admin_events.event_delete, methods=["POST"]),
    Route("/admin/events/{event_id:id}/registrations/new", admin_registrations.registration_new, methods=["GET"]),
    Route("/admin/events/{event_id:id}/registrations/new", admin_registrations.registration_add, methods=["POST"]),
    Route("/admin/events/{event_id:id}/registrations/{registration_id:id}", admin_registrations.registration_page,
          methods=["GET"]),
    Route("/admin/events/{event_id:id}/registrations/{registration_id:id}/contact", admin_registrations.registration_contact,
          methods=["POST"]),
    Route("/admin/events/{event_id:id}/registrations/{registration_id:id}/cancel", admin_registrations.registration_cancel,
          methods=["POST"]),
    Route("/admin/events/{event_id:id}/registrations/{registration_id:id}/promote", admin_registrations.registration_promote,
          methods=["POST"]),
    Route("/admin/events/{event_id:id}/registrations/{registration_id:id}/waitlist", admin_registrations.registration_waitlist,
          methods=["POST"]),
    Route("/admin/events/{event_id:id}/registrations/{registration_id:id}/resend", admin_registrations.registration_resend,
          methods=["POST"]),
    Route("/admin/events/{event_id:id}/message", admin_registrations.message_page, methods=["GET"]),
    Route("/admin/events/{event_id:id}/message", admin_registrations.message_send, methods=["POST"]),
    Route("/admin/events/{event_id:id}/export", admin_exports.export_page, methods=["GET"]),
    Route("/admin/events/{event_id:id}/export.{fmt}", admin_exports.export_download, methods=["GET"]),
    Route("/admin/checkin", admin_checkin.checkin_events, methods=["GET"]),
    Route("/admin/checkin/{event_id:id}", admin_checkin.checkin_page, methods=["GET"]),
    Route("/admin/checkin/{event_id:id}/arrive", admin_checkin.checkin_arrive, methods=["POST"]),
    Route("/admin/checkin/{event_id:id}/undo", admin_checkin.checkin_undo, methods=["POST"]),
    Route("/admin/events/{event_id:id}/attendance", admin_attendance.attendance_page, methods=["GET"]),
    Route("/admin/events/{event_id:id}/attendance", admin_attendance.attendance_save, methods=["POST"]),
    Route("/admin/users", admin_users.users_page, methods=["GET"]),
    Route("/admin/users", admin_users.user_create, methods=["POST"]),
    Route("/admin/users/{user_id:id}/unlock", admin_users.user_unlock, methods=["POST"]),
    Route("/admin/users/{user_id:id}/active", admin_users.user_active, methods=["POST"]),
    Route("/admin/users/{user_id:id}/role", admin_users.user_role, methods=["POST"]),
    Route("/admin/tokens", admin_users.tokens_page, methods=["GET"]),
    Route("/admin/tokens", admin_users.token_create, methods=["POST"]),
    Route("/admin/tokens/{token_id:id}/revoke", admin_users.token_revoke, methods=["POST"]),
    Route("/admin/audit", admin_users.audit_page, methods=["GET"]),
    Route("/admin/settings", admin_users.settings_page, methods=["GET"]),
    # --- end backoffice ---
    # --- back office: certificates ---
    Route("/admin/events/{event_id:id}/certificates", admin_certificates.overview),
    Route("/admin/events/{event_id:id}/certificates/issue", admin_certificates.issue, methods=["POST"]),
    Route("/admin/events/{event_id:id}/certificates/revoke", admin_certificates.revoke, methods=["POST"]),
    Route("/admin/events/{event_id:id}/certificates/template", admin_certificates.save_template, methods=["POST"]),
    Route("/admin/events/{event_id:id}/certificates/preview.pdf", admin_certificates.preview),
    Route("/admin/events/{event_id:id}/certificates.{fmt:str}", admin_certificates.download),
    Route("/admin/events/{event_id:id}/certificates/jobs", admin_certificates.start_bulk, methods=["POST"]),
    Route("/admin/events/{event_id:id}/certificates/jobs/{job_id}.{fmt:str}", admin_certificates.bulk_file),
    Route("/admin/events/{event_id:id}/certificates/jobs/{job_id}", admin_certificates.bulk_progress),
    # --- back office: training record ---
    Route("/admin/training", admin_training.training_page),
    Route("/admin/training/record.{fmt:str}", admin_training.training_download),
    # --- back office: mail ---
    Route("/admin/mail", admin_mail.mail_files_page, methods=["GET"]),
    Route("/admin/mail/files/{name}", admin_mail.mail_file_page, methods=["GET"]),
    Route("/admin/mail/files/{name}/download", admin_mail.mail_file_download, methods=["GET"]),
    Route("/admin/mail/{message_id:id}/requeue", admin_mail.mail_requeue, methods=["POST"]),
    # --- back office: private calendar feed ---
    Route("/admin/account/feeds", admin_account.feed_create, methods=["POST"]),
    Route("/admin/account/feeds/{token_id:id}/revoke", admin_account.feed_revoke, methods=["POST"]),
    Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
]
