"""Reading request bodies safely: size limit, JSON that must be an object, form data."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
from datetime import datetime
from email.utils import parsedate_to_datetime

from starlette.datastructures import FormData
from starlette.requests import Request

from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.validation import check_text

#: Deeper JSON is refused before anything walks it (no request of ours nests more than three levels).
MAX_JSON_DEPTH = 20


async def read_body(request: Request) -> bytes:
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise errors.PayloadTooLarge()
    return bytes(body)


def _nesting_depth(raw: bytes) -> int:
    """How deep brackets nest, counted on the bytes before parsing (strings skipped), so a body of
    100,000 '[' is refused without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _shown_name(path: str) -> str:
    """The field's name as the 422 may repeat it: a name that is itself broken is replaced, never echoed."""
    return "".join(ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else "?" for ch in path)[:100] or "body"


def check_tree(value, path: str = "") -> None:
    """Every text in decoded input (keys included) passes `check_text`; the 422 names the field."""
    if isinstance(value, str):
        try:
            check_text(value)
        except ValueError as exc:
            raise errors.ValidationFailed(fields={_shown_name(path): str(exc)}) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_tree(key, f"{path}.{key}" if path else key)
            check_tree(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_tree(item, f"{path}[{index}]")


async def read_json(request: Request) -> dict:
    raw = await read_body(request)
    if _nesting_depth(raw) > MAX_JSON_DEPTH:
        raise errors.MalformedRequest(N_("The JSON in the request is nested too deeply."))
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.MalformedRequest() from None
    if not isinstance(data, dict):
        raise errors.MalformedRequest(N_("The request body must be a JSON object."))
    check_tree(data)
    return data


async def read_form(request: Request, *, max_fields: int = 200) -> FormData:
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLarge()
    form = await request.form(max_files=10, max_fields=max_fields)
    check_form(form)
    return form


def check_form(form: FormData) -> None:
    """Form fields pass the same text boundary as JSON (file uploads are read by their own readers)."""
    for key, value in form.multi_items():
        check_tree(key, key)
        if isinstance(value, str):
            check_tree(value, key)


def _networks(entries: tuple[str, ...]) -> list:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue
    return networks


def _trusted(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    """The address throttles count: the peer, unless the peer is a proxy listed in EVENTS_TRUSTED_PROXIES;
    then the nearest X-Forwarded-For entry that is not itself a trusted proxy. A header from anyone else
    is ignored, so no client can choose its own address."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(request.app.state.settings.trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    chain = [part.strip() for header in request.headers.getlist("x-forwarded-for") for part in header.split(",")]
    for address in reversed([a for a in chain if a]):
        if not _trusted(address, networks):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return peer  # garbage from the far side of the proxy: count it as the proxy's
    return peer


def throttle(request: Request):
    """The application's throttles (events_app/security/throttle.py)."""
    return request.app.state.throttle


async def throttle_registration(request: Request, email: str) -> None:
    """Public registrations per client address (generous: a shelter's shared Wi-Fi is one address) and
    per e-mail address (so nobody fills a stranger's inbox)."""
    limits = throttle(request)
    await limits.hit("registration_address", client_address(request))
    if email.strip():
        await limits.hit("registration_email", email)


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def accepts_gzip(request: Request) -> bool:
    """Whether the client takes gzip: the same test as Starlette's GZipMiddleware, so a feed from its
    cache and a page compressed on the way out are chosen alike."""
    return "gzip" in request.headers.get("accept-encoding", "")


def not_modified(*, if_none_match: str | None, if_modified_since: str | None, etag: str,
                 last_modified: datetime | None) -> bool:
    """Whether a conditional GET may be answered 304: If-None-Match against the ETag, else
    If-Modified-Since against Last-Modified (RFC 9110, 13.2.2: the first takes precedence)."""
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as the RFC asks
        if since.tzinfo is None:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False


#: Sign-ups a web process works on at once. When a course opens, thousands arrive within seconds and all
#: wait for the same event's lock anyway; the others wait their turn here, in the order they came, before
#: their bodies are read, so a waiting request holds little memory and answers come first come, first served.
SIGNUPS_AT_ONCE = 32
_signup_turns: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def taking_turns(handler):
    """For the sign-up handlers (form and API): at most SIGNUPS_AT_ONCE run at once per process."""

    @functools.wraps(handler)
    async def in_turn(request: Request):
        loop = asyncio.get_running_loop()
        turns = _signup_turns.get(loop)
        if turns is None:
            _signup_turns.clear()  # a process runs one loop; tests may start another
            turns = _signup_turns[loop] = asyncio.Semaphore(SIGNUPS_AT_ONCE)
        async with turns:
            return await handler(request)

    return in_turn

