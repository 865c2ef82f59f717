"""ASGI middleware: language choice, security headers (strict CSP), request size limit."""

from __future__ import annotations

import functools
import re
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, unquote_to_bytes

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events_app.core import i18n

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
LANGUAGE_COOKIE = "lang"


class LanguageMiddleware:
    """Sets scope['state']['language']: ?lang=, then the cookie, then Accept-Language.

    An explicit ?lang= is remembered in a cookie so the choice follows the person.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        language, remember = choose_language(scope)
        scope.setdefault("state", {})["language"] = language

        async def send_with_cookie(message: Message) -> None:
            if remember and message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(
                    "set-cookie", f"{LANGUAGE_COOKIE}={language}; Path=/; Max-Age=31536000; SameSite=Lax")
            await send(message)

        await self.app(scope, receive, send_with_cookie if remember else send)


def choose_language(scope: Scope) -> tuple[str, bool]:
    """The request's language, and whether to remember it in the cookie (an explicit, new ?lang=)."""
    # only the two headers we read are decoded: this runs on every request, a rush included
    cookie_header = accept_language = None
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookie_header = value
        elif name == b"accept-language":
            accept_language = value
    return _choose(scope.get("query_string", b""), cookie_header, accept_language)


@functools.lru_cache(maxsize=512)
def _choose(query_string: bytes, cookie_header: bytes | None, accept_language: bytes | None) -> tuple[str, bool]:
    """Kept per distinct header values: browsers send the same few again and again."""
    chosen = (parse_qs(query_string.decode("latin-1")).get("lang") or [None])[0] if query_string else None
    cookie_lang = None
    if cookie_header:
        cookie = SimpleCookie()
        try:
            cookie.load(cookie_header.decode("latin-1"))
        except Exception:  # a malformed cookie header is ignored, not an error
            pass
        cookie_lang = cookie[LANGUAGE_COOKIE].value if LANGUAGE_COOKIE in cookie else None
    language = i18n.negotiate(chosen, cookie_lang, accept_language.decode("latin-1") if accept_language else None)
    return language, chosen in i18n.LANGUAGES and chosen != cookie_lang


HSTS = "max-age=31536000; includeSubDomains"


def security_headers(*, https: bool) -> dict[str, str]:
    """The headers every response carries, error pages included (the 500 handler adds them itself,
    because Starlette answers a crash outside the middleware stack)."""
    headers = {
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "permissions-policy": "camera=(self), microphone=(), geolocation=()",
    }
    if https:
        headers["strict-transport-security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, https: bool = False):
        self.app = app
        self.headers = security_headers(https=https)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class InputBoundaryMiddleware:
    """Paths and query strings with a NUL or a control character, or that are not UTF-8, are refused
    (400) before any handler: no database accepts them and no page needs them."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _acceptable(scope):
            body = b'{"type": "/problems/bad-request", "title": "Bad request", "status": 400}'
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/problem+json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _acceptable(scope: Scope) -> bool:
    path = scope.get("path", "")
    query = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
    try:
        query_text = query.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not _REFUSED_CHARACTERS.search(path) and not _REFUSED_CHARACTERS.search(query_text)


#: Control characters but tab and line breaks, and lone surrogates.
_REFUSED_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
