"""The figures for the funding report: /admin/statistics (page, charts, downloads, district table) and
GET /api/v1/statistics[.csv|.xlsx|.pdf] for organisers' and admins' tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from events_app.core import errors
from events_app.core.pdf import render_pdf
from events_app.core.rendering import render_string
from events_app.core.timeutil import utcnow
from events_app.statistics import districts, figures, files, report
from events_app.web.admin_common import back, field_messages, page
from events_app.web.admin_auth import ORGANISERS, requires
from events_app.web.auth import api_user
from events_app.web.requests import read_form

FORMATS = ("json", "csv", "xlsx", "pdf")


def _query(request: Request) -> figures.Query:
    params = request.query_params
    today = utcnow().date()
    return figures.parse_query(start=params.get("from"), end=params.get("to"), by=params.get("by"), today=today)


async def _download(request: Request, fmt: str) -> Response:
    if fmt not in FORMATS:
        raise errors.NotFound()
    query = _query(request)
    settings = request.app.state.settings
    language = request.state.language
    name = f"statistics-{query.start.isoformat()}-{query.end.isoformat()}-{query.by}.{fmt}"
    headers = {"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"}
    if fmt == "pdf":
        built = await report.build(query, language=language, timezone=settings.timezone)
        html = render_string("pdf/statistics_report.html", language=language, settings=settings, report=built,
                             kind_label=files.kind_label, rate=files.rate, generated_at=utcnow())
        return Response(await render_pdf(html), media_type="application/pdf", headers=headers)
    rows = await figures.compute(query, timezone=settings.timezone)
    if fmt == "json":
        return JSONResponse([row.as_json() for row in rows], headers={"cache-control": "no-store"})
    if fmt == "csv":
        return Response(files.to_csv(rows, language=language), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(files.to_xlsx(rows, language=language), media_type=files.XLSX_TYPE, headers=headers)


async def api_statistics(request: Request) -> Response:
    await api_user(request)
    return await _download(request, request.path_params.get("fmt", "json"))


@requires(*ORGANISERS)
async def statistics_download(request: Request) -> Response:
    return await _download(request, request.path_params["fmt"])


@requires(*ORGANISERS)
async def statistics_page(request: Request) -> Response:
    """The period chosen on the page (this year per quarter by default); a bad choice is shown at its
    field, with this year's figures below."""
    settings = request.app.state.settings
    problems, status_code = {}, 200
    try:
        query = _query(request)
    except errors.ValidationFailed as exc:
        problems, status_code = field_messages(request, exc), 422
        query = figures.parse_query(start=None, end=None, by=None, today=utcnow().date())
    built = await report.build(query, language=request.state.language, timezone=settings.timezone)
    form = dict(request.query_params) if problems else {
        "from": query.start.isoformat(), "to": query.end.isoformat(), "by": query.by}
    return page(request, "admin/statistics.html", {
        "report": built, "form": form, "errors": problems, "kind_label": files.kind_label, "rate": files.rate,
        "download_query": "" if problems else
        f"from={query.start.isoformat()}&to={query.end.isoformat()}&by={query.by}"}, status_code=status_code)


@requires(*ORGANISERS)
async def districts_page(request: Request, *, text: str | None = None, field_errors: dict | None = None,
                         status_code: int = 200) -> Response:
    rows = await districts.table()
    return page(request, "admin/districts.html", {"text": districts.as_text(rows) if text is None else text,
                                                  "rows": rows, "errors": field_errors or {}}, status_code=status_code)


@requires(*ORGANISERS)
async def districts_save(request: Request) -> Response:
    form = await read_form(request)
    text = str(form.get("districts") or "")
    try:
        await districts.save(text=text, by=request.state.user)
    except errors.ValidationFailed as exc:
        return await districts_page.__wrapped__(request, text=text, field_errors=field_messages(request, exc),
                                                status_code=422)
    return back("/admin/statistics/districts", "saved")
