"""How a built message leaves: over SMTP, or as an `.eml` file under var/mail/ when no server is set."""

from __future__ import annotations

import asyncio
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib

from events_app.core.settings import Settings
from events_app.core.timeutil import utcnow
from events_app.mail.failures import PermanentFailure, TransientFailure
from events_app.mail.files import mail_directory
from events_app.mail.mime import MimeMail

SMTP_TIMEOUT = 30.0


def classify(exc: BaseException) -> Exception:
    """An SMTP error as PermanentFailure (5xx) or TransientFailure (4xx, connection trouble)."""
    code = None
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code = exc.recipients[0].code
        detail = f"{code} {exc.recipients[0].message}"
    elif isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(exc, aiosmtplib.SMTPConnectError):
        code = exc.code
        detail = f"{code} {exc.message}"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    if code is not None and 500 <= code < 600:
        return PermanentFailure(detail)
    return TransientFailure(detail)


class SmtpTransport:
    """One SMTP connection reused for a batch of messages."""

    def __init__(self, settings: Settings):
        if settings.smtp_tls not in ("none", "starttls", "tls"):
            raise ValueError(f"EVENTS_SMTP_TLS must be none, starttls or tls, not {settings.smtp_tls!r}")
        self.settings = settings
        self.sender = parseaddr(settings.mail_from)[1] or settings.mail_from
        self.smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=True if settings.smtp_tls == "starttls" else False,
            timeout=SMTP_TIMEOUT,
        )

    async def open(self) -> None:
        try:
            await self.smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise classify(exc) if isinstance(exc, aiosmtplib.SMTPException) else TransientFailure(
                f"{type(exc).__name__}: {exc}") from exc

    @property
    def connected(self) -> bool:
        """False once the server closed the connection (or it broke): the next message needs a new one."""
        return self.smtp.is_connected

    async def send(self, message: MimeMail) -> None:
        """Raises PermanentFailure, TransientFailure, or ConnectionLost when the connection broke."""
        try:
            await self.smtp.sendmail(self.sender, [message.recipient], message.data)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            raise classify(exc) from exc
        except OSError as exc:
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self.smtp.is_connected:
            try:
                await self.smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.smtp.close()


class ConnectionLost(TransientFailure):
    """The connection broke (or timed out) while this message was sent: it alone waits for another try."""


class FileTransport:
    """No SMTP server configured: each message becomes an `.eml` file under var/mail/."""

    connected = True

    def __init__(self, settings: Settings):
        self.directory = mail_directory(settings)

    async def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    async def send(self, message: MimeMail) -> None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{message.row.id}-{message.row.template}.eml"
        await asyncio.to_thread(_write_atomically, path, message.data)

    async def close(self) -> None:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def transport_for(settings: Settings) -> SmtpTransport | FileTransport:
    return SmtpTransport(settings) if settings.smtp_host else FileTransport(settings)
