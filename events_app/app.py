"""create_app(settings): routes, middleware, one error path for HTML and JSON, ORM lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from tortoise.contrib.starlette import RegisterTortoise

from events_app.core import errors, i18n, pdf, stamps
from events_app.core.settings import Settings, load_settings, tortoise_config
from events_app.seats import seating
from events_app.security.throttle import Throttle
from events_app.web.middleware import (InputBoundaryMiddleware, LanguageMiddleware, SecurityHeadersMiddleware,
                                      security_headers)
from events_app.web import access_log
from events_app.web.page_cache import PageCacheMiddleware
from events_app.web.requests import wants_json
from events_app.web.routes import routes
from events_app.web.templating import render

log = logging.getLogger(__name__)

#: How long shutting down waits for the in-process worker's clean stop before cancelling it.
WORKER_STOP_SECONDS = 40.0

_HTTP_ERRORS = {
    404: errors.NotFound,
    405: errors.DomainError,
    413: errors.PayloadTooLarge,
}


def problem_response(request: Request, error: errors.DomainError) -> Response:
    """A domain error as application/problem+json or as a friendly page, in the user's language."""
    language = getattr(request.state, "language", i18n.DEFAULT_LANGUAGE)
    title = i18n.gettext(language, error.title, **error.params)
    detail = i18n.gettext(language, error.detail, **error.params) if error.detail else title
    fields = {name: i18n.gettext(language, message, **error.params) for name, message in error.fields.items()}
    if wants_json(request):
        body = {"type": f"/problems/{error.slug}", "title": title, "status": error.status, "detail": detail}
        if fields:
            body["errors"] = fields
        body.update(getattr(error, "extra", None) or {})
        response = JSONResponse(body, status_code=error.status, media_type="application/problem+json")
    else:
        response = render(request, "error.html", {"title": title, "detail": detail, "fields": fields,
                                                  "status": error.status}, status_code=error.status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DomainError)
    return problem_response(request, exc)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (one path may be served by several routes)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "OPTIONS-PROBE"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods.update(route.methods)
    return sorted(methods)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error_class = _HTTP_ERRORS.get(exc.status_code, errors.DomainError)
    error = error_class()
    error.status = exc.status_code
    response = problem_response(request, error)
    if exc.status_code == 405:
        response.headers["allow"] = ", ".join(allowed_methods(request))
    return response


async def server_error_handler(request: Request, exc: Exception) -> Response:
    if seating.gave_up_waiting(exc):  # lock_timeout / statement_timeout anywhere: busy, not broken
        log.warning("database busy on %s: %s", access_log.redact_path(request.url.path), exc)
        return problem_response(request, errors.SeatsBusy())
    log.exception("unhandled error on %s", access_log.redact_path(request.url.path), exc_info=exc)
    error = errors.DomainError(errors.N_("Something went wrong on our side. Please try again later."))
    error.status = 500
    try:
        response = problem_response(request, error)
    except Exception:  # the error page itself failed: a plain answer, still with the headers
        response = Response("Internal Server Error", status_code=500, media_type="text/plain")
    https = request.app.state.settings.base_url.startswith("https://")
    for name, value in security_headers(https=https).items():
        response.headers.setdefault(name, value)
    return response


def create_app(settings: Settings | None = None, *, manage_orm: bool = True) -> Starlette:
    """The application. Tests that set up the ORM themselves pass manage_orm=False."""
    settings = settings or load_settings()
    seating.set_lock_timeout(settings.lock_timeout_ms)
    access_log.install()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        background: list[asyncio.Task] = []
        stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            if manage_orm:
                await stack.enter_async_context(RegisterTortoise(app, config=tortoise_config(
                    settings.database_url, pool_size=settings.pool_size,
                    statement_timeout=settings.db_statement_timeout, lock_timeout_ms=settings.lock_timeout_ms)))
            if manage_orm and settings.run_worker_in_server:
                from events_app import worker

                background.append(asyncio.create_task(worker.run_forever(settings, stop=stop)))
            try:
                yield
            finally:
                # runs after the server answered every request in flight; the database closes after this.
                # The worker finishes the mail in flight, writes its results and hands back the rest.
                stop.set()
                if background:
                    _, late = await asyncio.wait(background, timeout=WORKER_STOP_SECONDS)
                    for task in late:
                        task.cancel()
                    await asyncio.gather(*background, return_exceptions=True)
                pdf.shutdown()
                stamps.close_readers()

    app = Starlette(
        routes=routes,
        # pages, JSON and calendars compressed when the client accepts it (level 6: nearly level 9's size for
        # a fraction of its CPU); feeds served from their cache come compressed already and pass through
        middleware=[Middleware(PageCacheMiddleware, seconds=settings.page_cache_seconds),
                    Middleware(GZipMiddleware, minimum_size=1000, compresslevel=6),
                    Middleware(SecurityHeadersMiddleware, https=settings.base_url.startswith("https://")),
                    Middleware(InputBoundaryMiddleware), Middleware(LanguageMiddleware)],
        exception_handlers={
            errors.DomainError: domain_error_handler,
            HTTPException: http_error_handler,
            Exception: server_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.throttle = Throttle(settings)
    return app
