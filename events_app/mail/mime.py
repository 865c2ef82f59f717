"""The MIME message for one outbox row: headers, text and HTML parts, an inline QR code, an .ics file.

Written directly rather than through `email.mime`, see `mime_bytes`.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from email.charset import BASE64, Charset
from email.header import Header
from email.utils import formataddr, parseaddr
from functools import lru_cache

from events_app.core import urls
from events_app.core.models import OutboxMessage
from events_app.core.settings import Settings
from events_app.mail.failures import PermanentFailure


def one_line(value: str, max_length: int = 200) -> str:
    """Header-safe text: no line breaks or control characters, whitespace collapsed."""
    cleaned = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+", " ", value)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    return cleaned[:max_length]


_PLAIN_ADDRESS = re.compile(r"[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+")


def check_recipient(address: str) -> str:
    """The address as one plain ASCII addr-spec (domain in IDNA form), else PermanentFailure.

    Addresses are validated with email-validator when people enter them; this guard keeps anything
    else (a hand-edited row, a display name, a second address) out of the envelope and headers.
    """
    if len(address) > 254 or not _PLAIN_ADDRESS.fullmatch(address):
        raise PermanentFailure(f"invalid recipient address: {address!r}")
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise PermanentFailure(f"addresses with non-ASCII local parts cannot be sent here: {address!r}")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise PermanentFailure(f"invalid recipient domain: {address!r}") from None
    return f"{local}@{domain}"


@dataclass
class MimeMail:
    """One outbox row as a MIME message: what the worker needs to send it."""

    row: OutboxMessage
    recipient: str
    message_id: str
    #: The whole message, ready for SMTP or an .eml file.
    data: bytes


def message_id_for(row: OutboxMessage, settings: Settings) -> str:
    """Stable per outbox row, so a retried message keeps its Message-ID."""
    return row.message_id or f"<outbox.{row.id}.{row.created_at:%Y%m%d%H%M%S%f}@{urls.site_host(settings.base_url)}>"


_UTF8 = Charset("utf-8")
_UTF8.header_encoding = BASE64  # not "shortest": measuring the quoted-printable length is slow


def encode_header(value: str) -> str:
    """One header value, RFC 2047-encoded when not ASCII, folded to short lines."""
    if "\r" in value or "\n" in value:
        raise ValueError("header values must be single lines")
    if value.isascii() and len(value) < 76:
        return value
    return Header(value, _UTF8 if not value.isascii() else None).encode(linesep="\n")


@lru_cache(maxsize=4)
def sender_header(mail_from: str) -> str:
    name, address = parseaddr(mail_from)
    return formataddr((one_line(name), address), charset=_UTF8) if address else one_line(mail_from)


def _part(content_type: str, payload: bytes, extra_headers: str = "") -> bytes:
    return (f"Content-Type: {content_type}\nContent-Transfer-Encoding: base64\n{extra_headers}\n".encode()
            + base64.encodebytes(payload))


def mime_bytes(headers: dict[str, str], *, text: str, html: str, ics: bytes | None, boundary: str,
               inline_png: tuple[str, bytes] | None = None) -> bytes:
    """The message as bytes: multipart/alternative (text, HTML), inside multipart/mixed with an .ics.

    `inline_png` (Content-ID, image) puts the HTML part and the image into multipart/related, so
    the HTML shows it with `<img src="cid:...">`.
    Written directly rather than through `email.mime` + the generator, which cost four times the
    rendering; the shape is fixed and every part is base64, so the result is plain ASCII.
    Tests parse it back with the standard library's parser.
    """
    html_part = _part('text/html; charset="utf-8"', html.encode())
    if inline_png is not None:
        content_id, png = inline_png
        html_part = (f'Content-Type: multipart/related; type="text/html"; boundary="{boundary}r"\n\n'.encode()
                     + f"--{boundary}r\n".encode() + html_part + f"--{boundary}r\n".encode()
                     + _part("image/png", png, f"Content-ID: <{content_id}>\n"
                                               'Content-Disposition: inline; filename="checkin.png"\n')
                     + f"--{boundary}r--\n".encode())
    alternative = (f"--{boundary}a\n".encode() + _part('text/plain; charset="utf-8"', text.encode())
                   + f"--{boundary}a\n".encode() + html_part
                   + f"--{boundary}a--\n".encode())
    head = "".join(f"{name}: {encode_header(value)}\n" for name, value in headers.items()) + "MIME-Version: 1.0\n"
    if ics is None:
        return (head + f'Content-Type: multipart/alternative; boundary="{boundary}a"\n\n').encode() + alternative
    calendar = _part('text/calendar; charset="utf-8"; method=PUBLISH', ics,
                     'Content-Disposition: attachment; filename="event.ics"\n')
    return ((head + f'Content-Type: multipart/mixed; boundary="{boundary}m"\n\n').encode()
            + f"--{boundary}m\nContent-Type: multipart/alternative; boundary=\"{boundary}a\"\n\n".encode()
            + alternative + f"--{boundary}m\n".encode() + calendar + f"--{boundary}m--\n".encode())
