"""Back office: the training record of staff workshops per year, per person, with CSV and XLSX downloads."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from events_app.courses import training
from events_app.web.admin_common import page
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.courses import training_record_file


@requires(*ORGANISERS)
async def training_page(request: Request) -> Response:
    timezone = request.app.state.settings.timezone
    year = training.year_from(request.query_params.get("year"), timezone=timezone)
    rows = await training.record_for_year(year=year, timezone=timezone)
    return page(request, "admin/training.html", {"year": year, "years": await training.years(timezone=timezone),
                                                 "people": training.by_person(rows)})


@requires(*ORGANISERS)
async def training_download(request: Request) -> Response:
    return await training_record_file(request, fmt=request.path_params["fmt"], user=request.state.user)
