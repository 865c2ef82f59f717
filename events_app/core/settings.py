"""Settings from environment variables, with defaults that make `make run` work on a bare machine."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from events_app.core.errors import N_
from events_app.core.pg_connection import PooledConnection

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = PACKAGE_DIR.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
MIGRATIONS_DIR = PROJECT_ROOT / "alembic-free-migrations"
STATIC_DIR = PACKAGE_DIR / "static"


def _default_var_dir() -> Path:
    return Path(os.environ.get("EVENTS_VAR_DIR", PROJECT_ROOT / "var"))


def _setting(env: str, meaning: str, *, secret: bool = False, **field_options):
    """A Settings field that knows its environment variable ("" when only the code sets it) and its
    meaning (a gettext id), so the admins' settings page lists every field without a second list."""
    return field(metadata={"env": env, "meaning": meaning, "secret": secret}, **field_options)


@dataclass(frozen=True)
class Settings:
    database_url: str = _setting("EVENTS_DATABASE_URL", N_("The database: a SQLite file or a PostgreSQL server."))
    base_url: str = _setting("EVENTS_BASE_URL", N_("Public address of the site, used in links in mails, letters "
                                                   "and calendars."), default="http://127.0.0.1:8000")
    secret_key: str = _setting("EVENTS_SECRET_KEY", N_("Signs sessions and links. Generated into the local state "
                                                       "directory when not set."), secret=True, default="")
    timezone: str = _setting("EVENTS_TIMEZONE", N_("Time zone in which dates are shown (they are stored in UTC)."),
                             default="Europe/Berlin")
    default_language: str = _setting("", N_("Language of pages and mails when nothing else is known."),
                                     default="de")
    var_dir: Path = _setting("EVENTS_VAR_DIR", N_("Local state: SQLite file, secret key, mail files in "
                                                  "development."), default_factory=_default_var_dir)
    smtp_host: str = _setting("EVENTS_SMTP_HOST", N_("SMTP server. When empty, mails are written as files "
                                                     "under var/mail/."), default="")
    smtp_port: int = _setting("EVENTS_SMTP_PORT", N_("Port of the SMTP server."), default=25)
    smtp_username: str = _setting("EVENTS_SMTP_USERNAME", N_("User name at the SMTP server."), default="")
    smtp_password: str = _setting("EVENTS_SMTP_PASSWORD", N_("Password at the SMTP server."), secret=True,
                                  default="")
    smtp_tls: str = _setting("EVENTS_SMTP_TLS", N_("Encryption to the SMTP server: none, starttls or tls."),
                             default="none")
    mail_from: str = _setting("EVENTS_MAIL_FROM", N_("Sender address of all mails."),
                              default="Integrationsbüro <integration@localhost>")
    run_worker_in_server: bool = _setting("EVENTS_RUN_WORKER", N_("Run the background jobs (mail delivery, offer "
                                                                  "expiry, reminders) inside the web server."),
                                          default=True)
    staff_domains: tuple[str, ...] = _setting("EVENTS_STAFF_DOMAINS", N_("E-mail domains that may sign up for "
                                                                         "staff workshops."), default=())
    max_body_bytes: int = _setting("", N_("Largest request body accepted, in bytes."), default=1_000_000)
    reminder_hours: int = _setting("EVENTS_REMINDER_HOURS", N_("Reminder mail this many hours before an event."),
                                   default=48)
    db_connections: int = _setting("EVENTS_DB_CONNECTIONS", N_("PostgreSQL connections all web processes of this "
                                                               "machine may hold together; each process gets its "
                                                               "share."), default=20)
    web_processes: int = _setting("EVENTS_WEB_PROCESSES", N_("Web processes on this machine (set by `events-app "
                                                             "serve --workers`)."), default=1)
    db_statement_timeout: int = _setting("EVENTS_DB_STATEMENT_TIMEOUT", N_("Seconds after which PostgreSQL "
                                                                           "stops a statement (0: never)."),
                                         default=30)
    digest_hour: int = _setting("EVENTS_DIGEST_HOUR", N_("Local hour (0-23) of the organisers' daily summary "
                                                         "mail. -1 sends none."), default=-1)
    lock_timeout_ms: int = _setting("EVENTS_LOCK_TIMEOUT_MS", N_("How long a change of seats waits for the "
                                                                 "event's lock (PostgreSQL) before it asks the "
                                                                 "person to try again, in milliseconds."),
                                    default=5000)
    page_cache_seconds: float = _setting("EVENTS_PAGE_CACHE_SECONDS", N_(
        "Seconds a web process may keep a public page it built (the event list, an event's page, the public "
        "calendars) before building it again; a change to an event shows at once all the same. 0: off."),
        default=1.0)

    # --- throttling (events_app/security): limits in the `limits` notation "count/period" ---
    rate_limits: bool = _setting("EVENTS_RATE_LIMITS", N_("Throttling of sign-ins, codes, registrations and "
                                                          "certificate checks: on, or off (load tests only)."),
                                 default=True)
    rate_limit_storage: str = _setting("EVENTS_RATE_LIMIT_STORAGE", N_("Where the throttles count: empty for the "
                                                                       "database (shared by all processes), or "
                                                                       "redis://host:6379/0."), default="")
    trusted_proxies: tuple[str, ...] = _setting("EVENTS_TRUSTED_PROXIES", N_("Addresses or networks of reverse "
                                                                             "proxies whose X-Forwarded-For is "
                                                                             "believed. Empty: none."), default=())
    limit_login_address: str = _setting("EVENTS_LIMIT_LOGIN_ADDRESS", N_("Failed sign-ins from one client "
                                                                         "address, any account."),
                                        default="30/15 minutes")
    limit_login_account_address: str = _setting("EVENTS_LIMIT_LOGIN_ACCOUNT_ADDRESS", N_(
        "Failed sign-ins to one account from one client address; then that address waits."),
        default="5/15 minutes")
    limit_login_account: str = _setting("EVENTS_LIMIT_LOGIN_ACCOUNT", N_(
        "Failed sign-ins to one account from all addresses; beyond it every attempt at the account is slowed "
        "down, never refused, so the owner can still sign in."), default="20/15 minutes")
    login_slowdown_seconds: float = _setting("EVENTS_LOGIN_SLOWDOWN_SECONDS", N_(
        "Pause before each sign-in attempt at an account over its limit."), default=2.0)
    limit_rsvp_address: str = _setting("EVENTS_LIMIT_RSVP_ADDRESS", N_("Wrong invitation codes from one client "
                                                                       "address."), default="30/10 minutes")
    limit_rsvp_global: str = _setting("EVENTS_LIMIT_RSVP_GLOBAL", N_("Wrong invitation codes from all addresses "
                                                                     "together."), default="1000/hour")
    limit_registration_address: str = _setting("EVENTS_LIMIT_REGISTRATION_ADDRESS", N_(
        "Public registrations from one client address (a shelter's shared Wi-Fi counts as one)."),
        default="60/hour")
    limit_registration_email: str = _setting("EVENTS_LIMIT_REGISTRATION_EMAIL", N_(
        "Public registrations for one e-mail address, all events together."), default="10/hour")
    limit_certificate_address: str = _setting("EVENTS_LIMIT_CERTIFICATE_ADDRESS", N_(
        "Certificate verifications from one client address."), default="60/10 minutes")

    mail_lease_seconds: int = _setting("EVENTS_MAIL_LEASE_SECONDS", N_("Seconds a mail worker's claim on the mails it "
                                                                      "took lasts unless renewed; the mails of a "
                                                                      "worker that died go to another after this."),
                                       default=120)
    worker_poll_seconds: float = _setting("EVENTS_WORKER_POLL_SECONDS", N_("Seconds the background worker waits "
                                                                          "between rounds when it has nothing to "
                                                                          "do."), default=5.0)
    letter_signer_name: str = _setting("EVENTS_LETTER_SIGNER_NAME", N_("Who signs the reception letters by default "
                                                                    "(each reception can name someone else)."),
                                       default="")
    letter_signer_role: str = _setting("EVENTS_LETTER_SIGNER_ROLE", N_("The signer's role under the name on "
                                                                    "reception letters."),
                                       default="Büro für Integration")
    retention_days: int = _setting("EVENTS_RETENTION_DAYS", N_("Days after an event's last date until its "
                                                                "participants' personal data is anonymised (an "
                                                                "event may set its own). The privacy notice "
                                                                "states it."), default=90)
    certificate_retention_days: int = _setting("EVENTS_CERTIFICATE_RETENTION_DAYS",
                                               N_("Days after issue that a certificate's verification page "
                                                  "still shows the name, course and dates."), default=1826)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def pool_size(self) -> int:
        """Connections per process: the machine's budget shared by the web processes (at least 2 each)."""
        return max(2, self.db_connections // max(1, self.web_processes))

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


class EnvironmentVariables:
    """Typed reading of environment variables (the kernel needs no web framework for its settings)."""

    def __init__(self, environ):
        self.environ = environ

    def __call__(self, name: str, *, cast: type = str, default=None):
        raw = self.environ.get(name)
        if raw is None:
            return default
        if cast is bool:
            lowered = raw.strip().lower()
            if lowered not in _BOOLEANS:
                raise ValueError(f"Config '{name}' has value '{raw}'. Not a valid bool.")
            return _BOOLEANS[lowered]
        try:
            return cast(raw)
        except (TypeError, ValueError):
            raise ValueError(f"Config '{name}' has value '{raw}'. Not a valid {cast.__name__}.") from None


_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def load_settings(environ: dict | None = None) -> Settings:
    config = EnvironmentVariables(environ if environ is not None else os.environ)
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
        page_cache_seconds=config("EVENTS_PAGE_CACHE_SECONDS", cast=float, default=1.0),
        db_connections=config("EVENTS_DB_CONNECTIONS", cast=int, default=20),
        web_processes=config("EVENTS_WEB_PROCESSES", cast=int, default=1),
        db_statement_timeout=config("EVENTS_DB_STATEMENT_TIMEOUT", cast=int, default=30),
        lock_timeout_ms=config("EVENTS_LOCK_TIMEOUT_MS", cast=int, default=5000),
        rate_limits=config("EVENTS_RATE_LIMITS", default="on").strip().lower() not in ("off", "0", "false", "no"),
        rate_limit_storage=config("EVENTS_RATE_LIMIT_STORAGE", default=""),
        trusted_proxies=tuple(p.strip() for p in config("EVENTS_TRUSTED_PROXIES", default="").split(",")
                              if p.strip()),
        login_slowdown_seconds=config("EVENTS_LOGIN_SLOWDOWN_SECONDS", cast=float, default=2.0),
        **{spec.name: config(spec.metadata["env"], default=spec.default)
           for spec in fields(Settings) if spec.name.startswith("limit_")},
        mail_lease_seconds=config("EVENTS_MAIL_LEASE_SECONDS", cast=int, default=120),
        worker_poll_seconds=config("EVENTS_WORKER_POLL_SECONDS", cast=float, default=5.0),
        letter_signer_name=config("EVENTS_LETTER_SIGNER_NAME", default=""),
        letter_signer_role=config("EVENTS_LETTER_SIGNER_ROLE", default="Büro für Integration"),
        retention_days=max(config("EVENTS_RETENTION_DAYS", cast=int, default=90), 0),
        certificate_retention_days=max(config("EVENTS_CERTIFICATE_RETENTION_DAYS", cast=int, default=1826), 0),
    )


@dataclass(frozen=True)
class SettingRow:
    """One line of the admins' settings page. `value` is "" when unset and never shows a secret."""

    name: str
    env: str
    meaning: str
    value: str
    hidden: bool


def _shown(value) -> str:
    """A value written the way its environment variable takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":********@", 1)).geturl()


def describe(settings: Settings) -> list[SettingRow]:
    """Every setting in force, with its variable and meaning. Secrets and database passwords stay hidden."""
    rows = []
    for spec in fields(Settings):
        value = getattr(settings, spec.name)
        secret = spec.metadata["secret"]
        shown = "" if secret else _shown(value)
        if spec.name == "database_url":
            shown = _without_password(shown)
        rows.append(SettingRow(name=spec.name, env=spec.metadata["env"], meaning=spec.metadata["meaning"],
                               value=shown, hidden=secret and bool(value)))
    return rows


def tortoise_config(database_url: str, *, pool_size: int = 20, statement_timeout: int = 0,
                    lock_timeout_ms: int = 0) -> dict:
    """The ORM config for a database URL. SQLite uses our own client that begins transactions IMMEDIATE.

    On PostgreSQL every connection of the pool gets `statement_timeout` (seconds, 0: none), so a
    runaway query ends with an error instead of holding a connection and its locks, and
    `lock_timeout` (milliseconds, 0: none), so no statement waits for a row lock forever."""
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = {
            "engine": "events_app.core.sqlite_backend",
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
                "maxsize": pool_size,
                "connection_class": PooledConnection,
                "server_settings": {"statement_timeout": str(statement_timeout * 1000),
                                    "lock_timeout": str(lock_timeout_ms)},
            },
        }
    return {
        "connections": {"default": connection},
        "apps": {
            "events": {
                "models": ["events_app.core.models"],
                "default_connection": "default",
                "migrations": "alembic-free-migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


TORTOISE_ORM = tortoise_config(os.environ.get("EVENTS_DATABASE_URL", f"sqlite://{PROJECT_ROOT / 'var' / 'events.sqlite3'}"))
