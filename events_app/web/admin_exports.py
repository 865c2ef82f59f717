"""Back-office list downloads (CSV, XLSX, PDF), shared with the API's export route."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from events_app.backoffice import exports
from events_app.core import audit, errors, i18n
from events_app.core.models import Event, User
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.admin_common import load_event, page
from events_app.core.validation import parse_id


@requires(*ORGANISERS)
async def export_page(request: Request) -> Response:
    event = await load_event(request)
    return page(request, "admin/export.html", {
        "event": event, "columns": exports.available_columns(event, request.state.language),
        "defaults": exports.default_columns(event)})


async def export_response(request: Request, event: Event, fmt: str, user: User) -> Response:
    """One file for the admin page and the API alike; every download is audited."""
    if fmt not in exports.FORMATS:
        raise errors.NotFound()
    layout = request.query_params.get("layout", "attendees")
    if layout not in exports.LAYOUTS:
        raise errors.ValidationFailed(fields={"layout": errors.N_("This value is not one of the allowed options.")})
    include = request.query_params.get("include", exports.DEFAULT_INCLUDE)
    if include not in exports.INCLUDE:
        raise errors.ValidationFailed(fields={"include": errors.N_("This value is not one of the allowed options.")})
    requested = [c for value in request.query_params.getlist("columns") for c in value.split(",") if c]
    columns = exports.chosen_columns(event, requested, layout=layout, include=include)
    only = [number for value in request.query_params.getlist("ids") for v in value.split(",")
            if (number := parse_id(v)) is not None] or None
    language = request.query_params.get("language") or request.state.language
    if language not in i18n.LANGUAGES:
        raise errors.ValidationFailed(fields={"language": errors.N_("This language is not offered.")})
    settings = request.app.state.settings
    await audit.record("export.downloaded", user=user, event_id=event.id, format=fmt, layout=layout, columns=columns,
                       include=include, selected=len(only) if only else None)
    name = exports.filename(event, layout, fmt)
    disposition = {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}
    if fmt == "csv":
        return StreamingResponse(exports.stream_csv(event, layout=layout, columns=columns, language=language,
                                                    timezone=settings.timezone, include=include, only=only),
                                 media_type="text/csv; charset=utf-8", headers=disposition)
    table = await exports.build_table(event, layout=layout, columns=columns, language=language,
                                      timezone=settings.timezone, sheet_per_status=(fmt == "xlsx"),
                                      include=include, only=only)
    if fmt == "xlsx":
        return Response(await exports.xlsx_bytes(table), headers=disposition,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(await exports.pdf_bytes(table, settings=settings), media_type="application/pdf",
                    headers=disposition)


@requires(*ORGANISERS)
async def export_download(request: Request) -> Response:
    return await export_response(request, await load_event(request), request.path_params["fmt"], request.state.user)
