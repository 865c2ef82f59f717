"""The progress page of a background job (events_app/core/jobs.py), the same for every kind of job: the
template extends admin/job.html and words the steps for its kind."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from events_app.core import errors, jobs
from events_app.core.models import Event
from events_app.core.timeutil import utcnow
from events_app.web.admin_common import page


def progress_page(request: Request, template: str, *, kind: str, event: Event) -> Response:
    """The job's state and progress, refreshing itself while it runs; 404 for a job of another event."""
    job_id = request.path_params["job_id"]
    status = jobs.status(request.app.state.settings, kind=kind, event_id=event.id, job_id=job_id)
    if status is None:
        raise errors.NotFound()
    return page(request, template, {
        "event": event, "status": status, "job_id": job_id,
        "elapsed": int((utcnow() - datetime.fromisoformat(status["started"])).total_seconds()),
    })
