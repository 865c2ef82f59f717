"""The `.eml` files the file transport writes, listed and read for the back office."""

from __future__ import annotations

import asyncio
import email
import email.parser
import email.policy
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from events_app.core import errors
from events_app.core.settings import Settings

#: What FileTransport names its files: <UTC time>-<outbox id>-<kind>.eml. Nothing else is ever served.
MAIL_FILE_NAME = re.compile(r"(?P<stamp>[0-9]{8}T[0-9]{6})-(?P<id>[0-9]{1,12})-[a-z_]{1,100}\.eml")

#: The list reads this much of each file: the headers, not the parts.
_HEADER_BYTES = 8192


def mail_directory(settings: Settings) -> Path:
    return Path(settings.var_dir) / "mail"


def _newest_first(path: Path) -> tuple[str, int]:
    match = MAIL_FILE_NAME.fullmatch(path.name)
    return match["stamp"], int(match["id"])


def _is_mail_file(path: Path, directory: Path) -> bool:
    """Named as FileTransport names its files, and a file in the (resolved) folder itself, not a link out of it."""
    return bool(MAIL_FILE_NAME.fullmatch(path.name)) and path.resolve().parent == directory and path.is_file()


def mail_files(settings: Settings) -> list[Path]:
    """The `.eml` files written without an SMTP server, newest first (for the back office)."""
    directory = mail_directory(settings).resolve()
    if not directory.exists():
        return []
    return sorted((p for p in directory.glob("*.eml") if _is_mail_file(p, directory)), key=_newest_first,
                  reverse=True)


def mail_file(settings: Settings, name: str) -> Path:
    """The file of that name in the mail folder, else MailNotFound: a name is never a path."""
    directory = mail_directory(settings).resolve()
    path = directory / name
    if not MAIL_FILE_NAME.fullmatch(name) or not _is_mail_file(path, directory):
        raise errors.MailNotFound()
    return path


@dataclass(frozen=True)
class MailFile:
    """One written mail as the back office lists and shows it."""

    name: str
    subject: str
    recipient: str
    date: datetime | None
    #: Only when one file is read whole: the text part and the other parts as (type, file name, bytes).
    text: str = ""
    parts: tuple[tuple[str, str, int], ...] = ()


def _describe(path: Path, *, whole: bool) -> MailFile:
    if whole:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    else:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES)
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(head, headersonly=True)
    date = message["Date"]
    described = MailFile(name=path.name, subject=str(message["Subject"] or ""), recipient=str(message["To"] or ""),
                         date=date.datetime if date is not None and date.datetime else None)
    if not whole:
        return described
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    others = tuple((part.get_content_type(), part.get_filename() or "", len(part.get_payload(decode=True) or b""))
                   for part in message.walk() if not part.is_multipart() and part not in (text_part, html_part))
    return replace(described, text=text_part.get_content() if text_part is not None else "", parts=others)


async def list_mail_files(settings: Settings, *, limit: int = 200) -> tuple[list[MailFile], int]:
    """The newest `limit` written mails with subject, recipient and date, and how many there are."""
    paths = await asyncio.to_thread(mail_files, settings)
    shown = await asyncio.to_thread(lambda: [_describe(path, whole=False) for path in paths[:limit]])
    return shown, len(paths)


async def read_mail_file(settings: Settings, name: str) -> MailFile:
    return await asyncio.to_thread(_describe, mail_file(settings, name), whole=True)
