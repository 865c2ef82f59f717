"""Reading request bodies safely: size limit, JSON that must be an object, form data."""

from __future__ import annotations

import json

from starlette.datastructures import FormData
from starlette.requests import Request

from events_app.core import errors
from events_app.core.errors import N_


async def read_body(request: Request) -> bytes:
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise errors.PayloadTooLarge()
    return bytes(body)


async def read_json(request: Request) -> dict:
    raw = await read_body(request)
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise errors.MalformedRequest() from None
    if not isinstance(data, dict):
        raise errors.MalformedRequest(N_("The request body must be a JSON object."))
    return data


async def read_form(request: Request, *, max_fields: int = 200) -> FormData:
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge()
    return await request.form(max_files=10, max_fields=max_fields)


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def accepts_gzip(request: Request) -> bool:
    """Whether the client takes gzip: the same test as Starlette's GZipMiddleware, so a feed from its
    cache and a page compressed on the way out are chosen alike."""
    return "gzip" in request.headers.get("accept-encoding", "")
