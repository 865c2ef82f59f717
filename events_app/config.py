"""Settings from environment variables, with defaults that make `make run` work on a bare machine."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from starlette.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
MIGRATIONS_DIR = PROJECT_ROOT / "alembic-free-migrations"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def _default_var_dir() -> Path:
    return Path(os.environ.get("EVENTS_VAR_DIR", PROJECT_ROOT / "var"))


@dataclass(frozen=True)
class Settings:
    database_url: str
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    timezone: str = "Europe/Berlin"
    default_language: str = "de"
    var_dir: Path = field(default_factory=_default_var_dir)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: str = "none"  # none | starttls | tls
    mail_from: str = "Integrationsbüro <integration@localhost>"
    run_worker_in_server: bool = True
    staff_domains: tuple[str, ...] = ()
    max_body_bytes: int = 1_000_000
    reminder_hours: int = 48
    #: Local hour (0-23) of the organisers' daily digest mail; -1 sends none.
    digest_hour: int = -1

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))


def _secret_key(var_dir: Path, configured: str) -> str:
    """Use the configured key; in development keep a generated one under var/ so sessions survive restarts."""
    if configured:
        return configured
    var_dir.mkdir(parents=True, exist_ok=True)
    key_file = var_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_settings(environ: dict | None = None) -> Settings:
    config = Config(environ=environ if environ is not None else os.environ)
    var_dir = Path(config("EVENTS_VAR_DIR", default=str(PROJECT_ROOT / "var")))
    database_url = config("EVENTS_DATABASE_URL", default=f"sqlite://{var_dir / 'events.sqlite3'}")
    domains = config("EVENTS_STAFF_DOMAINS", default="giessen.de,stadt-giessen.de")
    return Settings(
        database_url=database_url,
        base_url=config("EVENTS_BASE_URL", default="http://127.0.0.1:8000").rstrip("/"),
        secret_key=_secret_key(var_dir, config("EVENTS_SECRET_KEY", default="")),
        timezone=config("EVENTS_TIMEZONE", default="Europe/Berlin"),
        var_dir=var_dir,
        smtp_host=config("EVENTS_SMTP_HOST", default=""),
        smtp_port=config("EVENTS_SMTP_PORT", cast=int, default=25),
        smtp_username=config("EVENTS_SMTP_USERNAME", default=""),
        smtp_password=config("EVENTS_SMTP_PASSWORD", default=""),
        smtp_tls=config("EVENTS_SMTP_TLS", default="none"),
        mail_from=config("EVENTS_MAIL_FROM", default="Integrationsbüro <integration@localhost>"),
        run_worker_in_server=config("EVENTS_RUN_WORKER", cast=bool, default=True),
        staff_domains=tuple(d.strip().lower() for d in domains.split(",") if d.strip()),
        reminder_hours=config("EVENTS_REMINDER_HOURS", cast=int, default=48),
        digest_hour=config("EVENTS_DIGEST_HOUR", cast=int, default=-1),
    )


def tortoise_config(database_url: str) -> dict:
    """The ORM config for a database URL. SQLite uses our own client that begins transactions IMMEDIATE."""
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = {
            "engine": "events_app.sqlite_backend",
            "credentials": {"file_path": path, "busy_timeout": 30000, "synchronous": "NORMAL"},
        }
    else:
        parts = urlsplit(database_url)
        connection = {
            "engine": "tortoise.backends.asyncpg",
            "credentials": {
                "host": parts.hostname or "127.0.0.1",
                "port": parts.port or 5432,
                "user": parts.username or "postgres",
                "password": parts.password or "",
                "database": parts.path.lstrip("/") or "events",
                "minsize": 1,
                "maxsize": 20,
            },
        }
    return {
        "connections": {"default": connection},
        "apps": {
            "events": {
                "models": ["events_app.models"],
                "default_connection": "default",
                "migrations": "alembic-free-migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


TORTOISE_ORM = tortoise_config(os.environ.get("EVENTS_DATABASE_URL", f"sqlite://{PROJECT_ROOT / 'var' / 'events.sqlite3'}"))
