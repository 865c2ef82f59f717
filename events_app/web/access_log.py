"""Access logs without personal data: secrets in paths (manage links, RSVP and feed tokens, certificate
serials, codes) and query values are replaced, and the client's address is not written."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"
#: Paths whose segment after the prefix is a credential or names a person.
_SECRET_SEGMENTS = re.compile(
    r"^(?P<prefix>/r/|/rsvp/|/feeds/|/certificates/|/api/v1/registrations/|/api/v1/invitations/|"
    r"/api/v1/certificates/|/admin/mail/files/)(?P<secret>[^/?]+)")
#: Query values that are plain choices and may stay.
_PLAIN_QUERY = {"lang", "by", "from", "to", "year", "layout", "done", "new", "format", "all", "columns", "next"}


def redact_path(path: str) -> str:
    """/r/SECRET/cancel?code=X&lang=de -> /r/[redacted]/cancel?code=[redacted]&lang=de"""
    path, _, query = path.partition("?")
    match = _SECRET_SEGMENTS.match(path)
    if match:
        rest = path[match.end():]
        suffix = ".ics" if match["secret"].endswith(".ics") else ""
        path = f"{match['prefix']}{REDACTED}{suffix}{rest}"
    if not query:
        return path
    pairs = [(k, v if k in _PLAIN_QUERY else REDACTED) for k, v in parse_qsl(query, keep_blank_values=True)]
    return f"{path}?{urlencode(pairs, safe='[]')}"


class RedactingFilter(logging.Filter):
    """For uvicorn's access log, whose arguments are (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = ("-", method, redact_path(str(path)), version, status)
        return True


def install() -> None:
    """Attach the filter to the access logger (idempotent)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
